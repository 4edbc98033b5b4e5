"""Built-in verification: a derivative checked numerically against independent references.

    check(d, domains=None, points=5, seed=0) -> CheckResult(ok, max_rel_error, method, message)

The derivative's generated code is evaluated at random points and compared with

* central finite differences of the expression's own value, or, for order k > 1, of the
  order k-1 derivative (both built from d's IR: nothing is parsed again);
* torch autograd applied to the expression's generated PyTorch code, when torch imports.

Points (points.py) honor domains; for a symmetric variable the reference is
sym(G) = (G + G')/2 of the unconstrained derivative G, per index pair (the gradient on
symmetric matrices with the Frobenius inner product).  The references and the normwise
relative error are in references.py.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compiled import Compiled
from .derivation import Derivation
from .errors import MatrixCalculusError, NumericalError
from .points import concrete_shape, dimension_sizes, draw_inputs, parse_domains, spd_arguments
from .references import (
    OutOfTime,
    autograd_mixed,
    autograd_reference,
    central_differences,
    rel_error,
    torch_available,
)

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



# ------------------------------------------------------------------ the check
def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if not np.isfinite(x):
        return "inf"
    return f"{x:.2g}" if x >= 1e-3 else f"{x:.0e}"


def _work(d: Derivation, sizes: Mapping[str, int]) -> int:
    size = 1
    for dim in d.ir.shape:          # the IR splits a product dimension m*p
        size *= dim if isinstance(dim, int) else sizes[dim]
    wrt = d.variables[d.wrt_list[-1]]        # differences are taken along the last one
    return size * max(1, int(np.prod(concrete_shape(wrt, sizes), dtype=np.int64)))


def _safe(fn: Callable[..., Any], arrays: Mapping[str, np.ndarray],
          strict: bool = False) -> np.ndarray:
    """fn at copies of the arrays; a value that is not finite (evaluate() raises
    NumericalError) is returned as such unless strict: the point is outside the domain."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(fn(**{k: v.copy() for k, v in arrays.items()}),
                              dtype=np.float64)
    except NumericalError as e:
        if strict:
            raise
        return np.asarray(np.nan) if e.value is None else e.value


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


def domain_sizes(value, d: Derivation, sizes: dict[str, int], doms, seed: int,
                 draws: int = 4) -> dict[str, int]:
    """Sizes of the symbolic dimensions at which the expression has finite values: the
    usual ones first, then the same numbers permuted among the dimensions (`logdet(X'*X)`
    needs X with at least as many rows as columns); the usual ones when none works."""
    names = sorted(sizes)
    seen = set()
    for perm in itertools.islice(itertools.permutations([sizes[n] for n in names]), 24):
        candidate = dict(zip(names, perm))
        key = tuple(perm)
        if key in seen:
            continue
        seen.add(key)
        rng = np.random.default_rng(seed)
        for _ in range(draws):
            inputs = draw_inputs(d.variables, candidate, doms, rng, d.free_dims)
            try:
                if np.all(np.isfinite(_safe(value.evaluate, inputs))):
                    return candidate
            except Exception:  # noqa: BLE001 - outside the domain: try other sizes
                continue
    return sizes


def check(d: Derivation, domains: Mapping[str, str] | None = None, points: int = 5,
          seed: int = 0, max_seconds: float | None = None) -> CheckResult:
    """Compare d with finite differences (and torch autograd) at `points` random points,
    for at most about max_seconds (then with the points compared so far).  A point where
    the expression itself is not finite is outside its domain: another is drawn."""
    max_seconds = MAX_SECONDS if max_seconds is None else max_seconds
    stop_at = time.monotonic() + max_seconds
    if points < 1:
        raise MatrixCalculusError(f"points must be at least 1, got {points}")
    doms = {**spd_arguments(d.expression_ir), **parse_domains(domains, d.variables)}
    sizes = dimension_sizes(d.variables, d.free_dims)
    wrt = d.wrt_list[-1]            # differences of the lower order along the last variable
    symmetric = d.variables[wrt].kind == "symmetric"
    order = d.order

    if _work(d, sizes) > MAX_WORK:
        return CheckResult(False, float("inf"), "none",
                           "not verified: the derivative is too large to check at these sizes")

    value = d.value                 # built from d's IR, not by parsing d.source again
    sizes = domain_sizes(value, d, sizes, doms, seed)
    lower = value.evaluate if order == 1 else d.lower_order().evaluate
    fd_method = FD_NAME if order == 1 else \
        f"{FD_NAME} of the {'first' if order == 2 else f'order-{order - 1}'} derivative"
    if d.is_mixed:
        fd_method = f"{FD_NAME} of the derivative with respect to {', '.join(d.wrt_list[:-1])}"

    notes: list[str] = [f"{name} was drawn symmetric positive definite, the domain of "
                        f"logm and sqrtm (domains={{'{name}': ...}} draws otherwise)"
                        for name in spd_arguments(d.expression_ir)
                        if name not in (domains or {}) and d.variables[name].fact != "spd"]
    torch_fn = None
    if torch_available():
        try:
            torch_fn = value.compiled("torch")
        except Exception as e:  # noqa: BLE001 - autograd is an extra reference, not required
            notes.append(f"torch autograd skipped ({type(e).__name__}: {e})")
    params = value.parameters
    # nested autograd takes one backward pass per entry of each lower derivative: beyond a
    # few hundred (order 4 wrt a 3 x 3 matrix: 729) it takes minutes; differences suffice
    passes = int(np.prod([sizes.get(s, s) if isinstance(s, str) else s
                          for s in d.expression_shape], dtype=np.int64))
    for w in d.wrt_list[:-1]:
        passes *= int(np.prod(concrete_shape(d.variables[w], sizes), dtype=np.int64))
    if torch_fn is not None and order > 2 and passes > 300:
        torch_fn = None
        notes.append(f"torch autograd skipped (order {order}: too many nested backward passes)")
    refs = [FD_NAME] + ([AUTOGRAD_NAME] if torch_fn is not None else [])
    printed = Compiled(d.ir, d.variables, d.free_dims) if d.eval_ir is not d.ir else None
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
            got = _safe(d.evaluate, inputs, strict=True)
        except Exception as e:  # noqa: BLE001 - a failing derivative is a failed check
            return fail(f"FAILED {where}: evaluating the derivative raised "
                        f"{type(e).__name__}: {e}", inputs, {})
        if got.shape != ref_fd.shape:
            return fail(f"FAILED {where}: the derivative has shape {got.shape} but "
                        f"{FD_NAME} give {ref_fd.shape}", inputs, {FD_NAME: float("inf")})
        if not np.all(np.isfinite(got)):
            return fail(f"FAILED {where}: the derivative is not finite where the expression is",
                        inputs, {FD_NAME: float("inf")})
        if printed is not None:
            # the answer is evaluated through a stable form (det's derivatives): the printed
            # formula must give the same numbers wherever it can be evaluated at all
            shown = _safe(printed.evaluate, inputs)
            if np.all(np.isfinite(shown)) and rel_error(shown, got, FD_FLOOR) > FD_RTOL:
                return fail(f"FAILED {where}: the printed formula differs from its stable "
                            f"evaluation (relative error {rel_error(shown, got, FD_FLOOR):.3g})",
                            inputs, {})
        mag = max(1.0, float(np.max(np.abs(f0), initial=0.0)))
        # an answer that cancels large terms (a polynomial in a saturated tanh) carries
        # rounding noise above the references' floors: measured by evaluating it again at
        # the inputs scaled by 1 + 1e-12, it raises the floor against autograd
        noise = _noise(d.evaluate, inputs, got)
        errs = {FD_NAME: rel_error(got, ref_fd, FD_FLOOR * mag)}
        if torch_fn is not None:
            try:
                ref_ad = autograd_mixed(torch_fn, params, inputs, d.wrt_list, {
                    w for w in d.wrt_list if d.variables[w].kind == "symmetric"}) \
                    if d.is_mixed else \
                    autograd_reference(torch_fn, params, inputs, wrt, order, symmetric)
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
        at = "; ".join(f"{v.name} {' x '.join(str(sizes.get(x, x)) for x in v.shape)}"
                       for v in d.variables.values() if v.shape)
        return CheckResult(False, float("nan"), method(),
                           "not verified: the expression is not finite at any of "
                           f"{skipped} random points at these sizes ({at}); give domains "
                           f"(e.g. {d.wrt_list[0]}=positive), or declare sizes where it is defined "
                           "(logdet(X'*X) needs at least as many rows as columns)",
                           0, {}, None, notes)
    worst = max(errors.values())
    msg = (f"verified at {used} random point{'s' if used != 1 else ''} against {method()}: "
           f"max rel. error {_fmt(worst)}")
    if skipped:
        msg += f" ({skipped} other points were outside the expression's domain)"
    if notes:
        msg += "; " + "; ".join(notes)
    return CheckResult(True, worst, method(), msg, used, dict(errors), None, notes)
