"""Built-in verification: a derivative checked numerically against independent references.

    check(d, domains=None, points=5, seed=0) -> CheckResult(ok, max_rel_error, method, message)

The derivative's generated code is evaluated at random points and compared with

* central finite differences of the expression's own value (`expression(d.source, ...)`),
  or, for order k > 1, of the order k-1 derivative;
* torch autograd applied to the expression's generated PyTorch code, when torch imports.

Points honor domains as the corpus oracle does (`positive`, `prob`, `binary`, `spd`,
`invertible`); symmetric variables are drawn symmetric, and for a symmetric variable the
reference is sym(G) = (G + G')/2 of the unconstrained derivative G, per index pair (the
gradient on symmetric matrices with the Frobenius inner product).  Symbolic dimensions
get small distinct sizes (n=3, m=4, k=2, p=5, others from 6, 7, 3...) so that a
transposed answer shows.

Errors are normwise relative: max|got - ref| / max(max|ref|, floor), where the floor (a
small fraction of the magnitude of the function differentiated) keeps the noise of a
reference that is zero from counting as a large relative error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import MatrixCalculusError

if TYPE_CHECKING:
    from .api import Derivative, VariableInfo

DOMAINS = ("positive", "prob", "binary", "spd", "invertible")
PREFERRED_SIZES = {"n": 3, "m": 4, "k": 2, "p": 5}
OTHER_SIZES = (6, 7, 3, 4, 5, 2, 8, 9)

FD_STEP = 1e-6          # relative to max(1, |entry|)
FD_RTOL = 1e-5
FD_FLOOR = 1e-3         # times max(1, |f|): below this the noise of differences dominates
AUTOGRAD_RTOL = 1e-8
AUTOGRAD_FLOOR = 1e-6
MAX_WORK = 20_000_000   # entries of result x entries of wrt: beyond this, too large to check
MAX_DRAWS = 10          # draws per wanted point, for points outside the expression's domain
MAX_SECONDS = 20.0      # a check stops (with the points done so far) after this long

FD_NAME = "central finite differences"
AUTOGRAD_NAME = "torch autograd"


@dataclass
class CheckResult:
    """The verdict of check(): truthy when the derivative matched every reference."""

    ok: bool
    max_rel_error: float
    method: str                                  # the references used, in words
    message: str                                 # one line for people
    points: int = 0                              # random points compared
    errors: dict[str, float] = field(default_factory=dict)   # reference -> worst error
    counterexample: dict[str, np.ndarray] | None = None      # inputs where it failed
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message


# ------------------------------------------------------------------ declarations, sizes
def declaration(info: VariableInfo) -> str:
    """A VariableInfo as declaration text: 'scalar', 'vector(n)', 'matrix(m,n)', 'symmetric(n)'."""
    dims = [str(d) for d in info.shape]
    if not dims:
        return "scalar"
    if info.kind == "symmetric":
        return f"symmetric({dims[0]})"
    if len(dims) == 1:
        return f"vector({dims[0]})"
    return f"matrix({','.join(dims)})"


def declarations(variables: Mapping[str, VariableInfo]) -> dict[str, str]:
    """Declarations that reproduce these variables (and their dimension names) exactly."""
    return {name: declaration(info) for name, info in variables.items()}


def dimension_sizes(variables: Mapping[str, VariableInfo],
                    free_dims: tuple[str, ...] = ()) -> dict[str, int]:
    """Small, distinct sizes for the symbolic dimensions (n=3, m=4, k=2, p=5, others 6, 7...),
    those of the variables and free_dims (carried by no variable)."""
    names: list[str] = []
    for info in variables.values():
        for d in info.shape:
            if isinstance(d, str) and d not in names:
                names.append(d)
    names += [d for d in free_dims if d not in names]
    sizes = {d: PREFERRED_SIZES[d] for d in names if d in PREFERRED_SIZES}
    used = set(sizes.values())
    for d in names:
        if d in sizes:
            continue
        free = [s for s in OTHER_SIZES if s not in used]
        sizes[d] = free[0] if free else OTHER_SIZES[len(sizes) % len(OTHER_SIZES)]
        used.add(sizes[d])
    return sizes


def concrete_shape(info: VariableInfo, sizes: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else sizes[d] for d in info.shape)


def parse_domains(domains: Mapping[str, str] | None,
                  variables: Mapping[str, VariableInfo]) -> dict[str, str]:
    """Validated {variable: domain}; raises MatrixCalculusError on a bad name or domain."""
    out: dict[str, str] = {}
    for name, dom in (domains or {}).items():
        dom_s = str(dom).strip().lower()
        if dom_s not in DOMAINS:
            raise MatrixCalculusError(f"unknown domain {dom!r} for {name}: choose one of "
                                      f"{', '.join(DOMAINS)}")
        if name not in variables:
            known = ", ".join(variables) or "none"
            raise MatrixCalculusError(f"a domain is given for {name}, which is not a variable "
                                      f"of the expression (its variables: {known})")
        info = variables[name]
        if dom_s in ("spd", "invertible"):
            square = len(info.shape) == 2 and info.shape[0] == info.shape[1]
            if not square:
                raise MatrixCalculusError(f"domain {dom_s} needs a square matrix, but {name} is "
                                          f"{declaration(info)}")
        out[name] = dom_s
    return out


def parse_domain_option(text: str) -> tuple[str, str]:
    """CLI form 'S=spd' (or 'S: spd') -> ('S', 'spd')."""
    for sep in ("=", ":"):
        if sep in text:
            name, _, dom = text.partition(sep)
            name, dom = name.strip(), dom.strip().lower()
            if name and dom:
                if dom not in DOMAINS:
                    raise MatrixCalculusError(f"unknown domain {dom!r} for {name}: choose one "
                                              f"of {', '.join(DOMAINS)}")
                return name, dom
    raise MatrixCalculusError(f"a domain is written NAME=DOMAIN (e.g. S=spd), got {text!r}")


# ------------------------------------------------------------------ random points
def _draw(kind: str, shape: tuple[int, ...], domain: str | None,
          rng: np.random.Generator) -> np.ndarray:
    if domain is None:
        a = rng.standard_normal(shape)
    elif domain == "positive":
        a = rng.uniform(0.5, 2.0, shape)
    elif domain == "prob":
        if shape == ():
            a = rng.uniform(0.1, 0.9)
        else:
            a = rng.uniform(0.2, 1.0, shape)
            a = a / a.sum(axis=0, keepdims=True)
    elif domain == "binary":
        a = rng.integers(0, 2, shape).astype(np.float64)
    elif domain == "spd":
        n = shape[0]
        g = rng.standard_normal(shape)
        a = g @ g.T / n + 0.5 * np.eye(n)
    elif domain == "invertible":
        n = shape[0]
        a = 2.0 * np.eye(n) + 0.5 * rng.standard_normal(shape) / np.sqrt(n)
    else:  # pragma: no cover - parse_domains rejects these
        raise MatrixCalculusError(f"unknown domain {domain!r}")
    a = np.asarray(a, dtype=np.float64)
    if kind == "symmetric":
        if domain in ("binary", "invertible", "prob"):
            a = np.triu(a) + np.triu(a, 1).T     # mirror: keeps the entries' domain
        else:
            a = (a + a.T) / 2
    return a


def draw_inputs(variables: Mapping[str, VariableInfo], sizes: Mapping[str, int],
                domains: Mapping[str, str], rng: np.random.Generator,
                free_dims: tuple[str, ...] = ()) -> dict[str, Any]:
    """One random point: an array for every variable (sorted by name for stable draws),
    and the size of each of free_dims (the dimensions no variable carries)."""
    out = {}
    for name in sorted(variables):
        info = variables[name]
        out[name] = _draw(info.kind, concrete_shape(info, sizes), domains.get(name), rng)
    return {**{name: out[name] for name in variables},
            **{d: np.int64(sizes[d]) for d in free_dims if d not in variables}}


# ------------------------------------------------------------------ references
def rel_error(got: np.ndarray, ref: np.ndarray, floor: float = 1e-12) -> float:
    """max|got - ref| / max(max|ref|, floor); inf on a shape mismatch or non-finite values."""
    if got.shape != ref.shape:
        return float("inf")
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(ref))):
        return float("inf")
    if got.size == 0:
        return 0.0
    diff = float(np.max(np.abs(got - ref)))
    scale = max(float(np.max(np.abs(ref))), floor, 1e-300)
    return diff / scale


class OutOfTime(Exception):
    """The check's time budget ran out in the middle of a point."""


def central_differences(f: Callable[..., np.ndarray], arrays: Mapping[str, np.ndarray],
                        wrt: str, symmetric: bool = False, h: float = FD_STEP,
                        stop_at: float = float("inf")) -> np.ndarray:
    """d f / d wrt by central differences, shaped f's shape + wrt's shape.

    For a symmetric variable only symmetric perturbations are taken (E_ii, and E_ij + E_ji
    halved): the result is sym(G), the derivative on symmetric matrices."""
    x = np.asarray(arrays[wrt], dtype=np.float64)
    out: np.ndarray | None = None
    for idx in np.ndindex(*x.shape):
        if symmetric and idx[0] > idx[1]:
            continue
        if time.monotonic() > stop_at:
            raise OutOfTime
        step = h * max(1.0, abs(float(x[idx])))
        e = np.zeros_like(x)
        e[idx] = step
        if symmetric:
            e[idx[::-1]] = step
        fp = np.asarray(f(**{**arrays, wrt: x + e}), dtype=np.float64)
        fm = np.asarray(f(**{**arrays, wrt: x - e}), dtype=np.float64)
        g = (fp - fm) / (2 * step)
        if symmetric and idx[0] != idx[1]:
            g = g / 2
        if out is None:
            out = np.zeros(g.shape + x.shape)
        out[(...,) + idx] = g
        if symmetric:
            out[(...,) + idx[::-1]] = g
    assert out is not None
    return out


def torch_available() -> bool:
    try:
        import torch  # noqa: F401, PLC0415
    except Exception:  # noqa: BLE001 - any failure to import means: not available
        return False
    return True


def torch_function(source: str, func_name: str = "value") -> Callable[..., Any]:
    """The function defined by generated PyTorch source, exec'd in a fresh namespace."""
    ns: dict[str, Any] = {}
    # generated by codegen: validated identifiers and numeric literals only
    exec(compile(source, "<matrixcalculus torch>", "exec"), ns)  # noqa: S102
    return ns[func_name]


def torch_inputs(arrays: Mapping[str, Any]) -> dict[str, Any]:
    """float64 tensors of the arrays; a free dimension's size (an integer) stays an int."""
    import torch  # noqa: PLC0415
    return {k: int(v) if isinstance(v, np.integer) else
            torch.tensor(np.asarray(v), dtype=torch.float64) for k, v in arrays.items()}


def autograd_reference(fn: Callable[..., Any], params: list[str],
                       arrays: Mapping[str, np.ndarray], wrt: str, order: int,
                       symmetric: bool = False) -> np.ndarray:
    """The order-`order` derivative of fn(*params) by torch autograd, shaped out + wrt * order;
    each of wrt's index pairs symmetrised when symmetric."""
    import torch  # noqa: PLC0415
    from torch.autograd.functional import hessian, jacobian  # noqa: PLC0415

    tens = torch_inputs(arrays)

    def f(w):
        kw = dict(tens)
        kw[wrt] = w
        r = fn(*(kw[p] for p in params))
        if not torch.is_tensor(r):
            r = torch.tensor(float(r), dtype=torch.float64)
        return r

    w0 = tens[wrt].clone()
    out_rank = f(w0).dim()
    if order == 1:
        res = jacobian(f, w0, strict=False, vectorize=False)
    elif order == 2 and out_rank == 0:
        res = hessian(f, w0, strict=False)
    else:
        g = f
        for _ in range(order - 1):
            g = (lambda inner: (lambda w: jacobian(inner, w, create_graph=True)))(g)
        res = jacobian(g, w0, strict=False, vectorize=False)
    if symmetric:
        for k in range(order):
            a, b = out_rank + 2 * k, out_rank + 2 * k + 1
            res = (res + res.transpose(a, b)) / 2
    return res.detach().numpy().astype(np.float64).copy()


# ------------------------------------------------------------------ the check
def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if not np.isfinite(x):
        return "inf"
    return f"{x:.2g}" if x >= 1e-3 else f"{x:.0e}"


def _work(d: Derivative, sizes: Mapping[str, int]) -> int:
    size = 1
    for dim in d.shape:
        size *= dim if isinstance(dim, int) else sizes[dim]
    wrt = d.variables[d.wrt]
    return size * max(1, int(np.prod(concrete_shape(wrt, sizes), dtype=np.int64)))


def _safe(fn: Callable[..., Any], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(fn(**{k: v.copy() for k, v in arrays.items()}), dtype=np.float64)


def nudged(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs scaled by 1 + 1e-12 (domains kept: signs, symmetry, positivity)."""
    return {k: v * (1 + 1e-12) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in inputs.items()}


def _noise(fn: Callable[..., Any], inputs: Mapping[str, Any], got: np.ndarray) -> float:
    """How much fn's value moves when its inputs are scaled by 1 + 1e-12: its rounding
    noise (a real derivative moves by ~1e-12 relative)."""
    again = _safe(fn, nudged(inputs))
    if again.shape != got.shape or not np.all(np.isfinite(again)):
        return 0.0
    return float(np.max(np.abs(again - got), initial=0.0))


def check(d: Derivative, domains: Mapping[str, str] | None = None, points: int = 5,
          seed: int = 0, max_seconds: float | None = None) -> CheckResult:
    """Compare d with finite differences (and torch autograd) at `points` random points,
    for at most about max_seconds (then with the points compared so far).  A point where
    the expression itself is not finite is outside its domain: another is drawn."""
    max_seconds = MAX_SECONDS if max_seconds is None else max_seconds
    stop_at = time.monotonic() + max_seconds
    from .api import derivative, expression  # noqa: PLC0415 - api imports nothing from here

    if points < 1:
        raise MatrixCalculusError(f"points must be at least 1, got {points}")
    doms = parse_domains(domains, d.variables)
    decls = declarations(d.variables)
    sizes = dimension_sizes(d.variables, d.free_dims)
    wrt = d.wrt
    symmetric = d.variables[wrt].kind == "symmetric"
    order = d.order

    if _work(d, sizes) > MAX_WORK:
        return CheckResult(False, float("inf"), "none",
                           "not verified: the derivative is too large to check at these sizes")

    value = expression(d.source, vars=decls)
    lower = value.evaluate if order == 1 else \
        derivative(d.source, wrt, vars=decls, order=order - 1).evaluate
    fd_method = FD_NAME if order == 1 else \
        f"{FD_NAME} of the {'first' if order == 2 else f'order-{order - 1}'} derivative"

    notes: list[str] = []
    torch_fn = None
    if torch_available():
        try:
            torch_fn = torch_function(value.code("torch"))
        except Exception as e:  # noqa: BLE001 - autograd is an extra reference, not required
            notes.append(f"torch autograd skipped ({type(e).__name__}: {e})")
    params = value.argument_names
    # nested autograd takes one backward pass per entry of each lower derivative: beyond a
    # few hundred (order 4 wrt a 3 x 3 matrix: 729) it takes minutes; differences suffice
    wrt_size = int(np.prod(concrete_shape(d.variables[wrt], sizes), dtype=np.int64))
    out_size = int(np.prod([sizes.get(s, s) if isinstance(s, str) else s
                            for s in d.expression_shape], dtype=np.int64))
    if torch_fn is not None and order > 2 and out_size * wrt_size ** (order - 1) > 300:
        torch_fn = None
        notes.append(f"torch autograd skipped (order {order}: too many nested backward passes)")
    refs = [FD_NAME] + ([AUTOGRAD_NAME] if torch_fn is not None else [])
    errors = {r: 0.0 for r in refs}
    rng = np.random.default_rng(seed)
    used = skipped = 0

    def fail(msg: str, inputs, errs) -> CheckResult:
        for r, e in errs.items():
            errors[r] = max(errors.get(r, 0.0), e)
        worst = max(errors.values(), default=0.0) if errs else float("inf")
        return CheckResult(False, worst, method(), msg, used, dict(errors),
                           {k: v.copy() for k, v in inputs.items()}, notes)

    def method() -> str:
        return " and ".join([fd_method] + ([AUTOGRAD_NAME] if torch_fn is not None else []))

    for _ in range(points * MAX_DRAWS):
        if used == points:
            break
        if time.monotonic() > stop_at:
            notes.append(f"stopped after {max_seconds:g} s")
            break
        inputs = draw_inputs(d.variables, sizes, doms, rng, d.free_dims)
        f0 = _safe(lower, inputs)
        # the expression's own domain (logdet of a matrix with det < 0 has a finite
        # gradient but no value): outside it, references disagree on what to return
        inside = np.all(np.isfinite(_safe(value.evaluate, inputs))) if order > 1 else True
        if not (inside and np.all(np.isfinite(f0))):
            skipped += 1
            continue
        try:
            ref_fd = central_differences(lambda **a: _safe(lower, a), inputs, wrt, symmetric,
                                         stop_at=stop_at)
        except OutOfTime:
            notes.append(f"stopped after {max_seconds:g} s")
            break
        if not np.all(np.isfinite(ref_fd)):
            skipped += 1
            continue
        where = f"at random point {used + 1}"
        try:
            got = _safe(d.evaluate, inputs)
        except Exception as e:  # noqa: BLE001 - a failing derivative is a failed check
            return fail(f"FAILED {where}: evaluating the derivative raised "
                        f"{type(e).__name__}: {e}", inputs, {})
        if got.shape != ref_fd.shape:
            return fail(f"FAILED {where}: the derivative has shape {got.shape} but "
                        f"{FD_NAME} give {ref_fd.shape}", inputs, {FD_NAME: float("inf")})
        if not np.all(np.isfinite(got)):
            return fail(f"FAILED {where}: the derivative is not finite where the expression is",
                        inputs, {FD_NAME: float("inf")})
        mag = max(1.0, float(np.max(np.abs(f0), initial=0.0)))
        # an answer that cancels large terms (a polynomial in a saturated tanh) carries
        # rounding noise above the references' floors: measured by evaluating it again at
        # the inputs scaled by 1 + 1e-12, it raises the floor against autograd
        noise = _noise(d.evaluate, inputs, got)
        errs = {FD_NAME: rel_error(got, ref_fd, FD_FLOOR * mag)}
        if torch_fn is not None:
            try:
                ref_ad = autograd_reference(torch_fn, params, inputs, wrt, order, symmetric)
            except Exception as e:  # noqa: BLE001 - e.g. an op torch cannot differentiate
                notes.append(f"torch autograd skipped ({type(e).__name__}: {e})")
                torch_fn = None
                errors.pop(AUTOGRAD_NAME, None)
            else:
                if np.all(np.isfinite(ref_ad)):
                    errs[AUTOGRAD_NAME] = rel_error(            # up to 100 x the noise
                        got, ref_ad, max(AUTOGRAD_FLOOR * mag, 100 * noise / AUTOGRAD_RTOL))
        bad = [r for r, e in errs.items()
               if e > (FD_RTOL if r == FD_NAME else AUTOGRAD_RTOL)]
        if bad:
            detail = " and ".join(f"{r} (rel. error {_fmt(errs[r])})" for r in bad)
            return fail(f"FAILED {where}: the derivative differs from {detail}", inputs, errs)
        for r, e in errs.items():
            errors[r] = max(errors[r], e)
        used += 1

    if used == 0 and notes and notes[-1].startswith("stopped"):
        return CheckResult(False, float("nan"), method(),
                           f"not verified: no random point could be compared within "
                           f"{max_seconds:g} s (the derivative is too costly to check)",
                           0, {}, None, notes)
    if used == 0:
        return CheckResult(False, float("nan"), method(),
                           "not verified: the expression is not finite at any of "
                           f"{skipped} random points; give domains (e.g. {wrt}=positive)",
                           0, {}, None, notes)
    worst = max(errors.values())
    msg = (f"verified at {used} random point{'s' if used != 1 else ''} against {method()}: "
           f"max rel. error {_fmt(worst)}")
    if skipped:
        msg += f" ({skipped} other points were outside the expression's domain)"
    if notes:
        msg += "; " + "; ".join(notes)
    return CheckResult(True, worst, method(), msg, used, dict(errors), None, notes)
