"""Checking a hand-derived claim against the derivative, with a diagnosis.

    compare(d, claim, domains=None) -> ClaimResult     (d: a Derivation; api.check_claim
                                                       derives it from text first)

The claim is parsed with the derivative's own variable declarations (so dimension names
line up) and compared symbolically (after simplification its IR is the derivative's
node, or claim - derivative simplifies to zero) and numerically at random points that
honor domains.  When it is not equal, the most specific explanation is sought:

    equal        the claim is the derivative
    scaled       it is a constant multiple of it (a missing 2, a wrong sign, a 0.5): .factor
    transposed   it is its transpose: numerator vs. denominator layout (a row vector for a
                 column gradient, the Jacobian's transpose, A' for A); .factor when also scaled
    shape        its shape differs and no transposition explains it
    wrong        anything else; .counterexample holds the inputs of a point where it differs
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from . import ast, verify
from .compiled import Compiled
from .derivation import Derivation, Expression, expression
from .errors import MatrixCalculusError, NumericalError
from .ir import build as B
from .points import dimension_sizes, draw_inputs, parse_domains
from .references import rel_error
from .simplify import simplify
from .variables import declarations, shape_text

KINDS = ("equal", "transposed", "scaled", "shape", "wrong")
RTOL = 1e-7            # two closed forms evaluated in float64
FLOOR = 1e-9           # times max(1, |derivative|): below this, differences are roundoff
POINTS = 5


@dataclass
class ClaimResult:
    """The verdict on a claim: truthy when it is correct.

    diagnosis is the sentence without the verdict; message (and str()) prefixes it with
    'correct: ' or 'wrong: '."""

    correct: bool
    kind: str                                   # one of KINDS
    diagnosis: str
    max_rel_error: float                        # claim vs. derivative (after the fix named
                                                # by kind: transposed / scaled)
    factor: float | None = None                 # claim = factor * derivative (scaled)
    counterexample: dict[str, np.ndarray] | None = None   # inputs where it differs (wrong)
    symbolic: bool = False                      # equal as simplified expressions (kind equal)
    points: int = 0                             # random points compared
    answer: str = ""                            # the derivative, as text
    claim_shape: tuple[str | int, ...] = ()
    answer_shape: tuple[str | int, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return ("correct: " if self.correct else "wrong: ") + self.diagnosis

    def __str__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.correct


# ------------------------------------------------------------------ helpers
def _fmt(x: float) -> str:
    return verify._fmt(x)


def _factor_text(c: float) -> str:
    r = round(c)
    if abs(c - r) < 1e-9 * max(1.0, abs(c)):
        return str(int(r))
    return f"{c:.6g}"


def parse_claim(d: Derivation, claim: str) -> Expression:
    """The claim as an Expression over the derivative's variables (same declarations)."""
    if not isinstance(claim, str) or not claim.strip():
        raise MatrixCalculusError("the claim is empty: give the derivative you expect, e.g. "
                                  "--claim \"2*x\"")
    c = expression(claim, vars=declarations(d.variables))
    extra = [n for n in c.variables if n not in d.variables]
    if extra:
        names = ", ".join(extra)
        verb = "is not a variable" if len(extra) == 1 else "are not variables"
        known = ", ".join(d.variables) or "none"
        raise MatrixCalculusError(f"the claim uses {names}, which {verb} of the expression "
                                  f"(its variables: {known})", claim)
    return c


def _claim_function(d: Derivation, c: Expression) -> Callable[..., np.ndarray]:
    """The claim's value as a function of all of the derivative's variables."""
    program = Compiled(c.ir, d.variables, d.free_dims, "claim")
    try:
        fn = program.compiled()
    except MatrixCalculusError as e:
        raise MatrixCalculusError(f"the claim cannot be evaluated: {e.message}",
                                  c.source) from None
    params = program.parameters

    def value(**arrays: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(**{py: arrays[n] for n, py in params.items()}),
                              dtype=np.float64)
    return value


def _is_row_vector(c: Expression) -> bool:
    """The claim is written as a row vector (1 x n), e.g. v' or x'*A."""
    typed = c.typed
    root = typed.root
    if isinstance(root, ast.Where):
        root = root.body
    try:
        r, k = typed.type_of(root)
    except KeyError:
        return False
    return typed.dims.is_one(r) and not typed.dims.is_one(k)


def _symbolically_equal(d: Derivation, c: Expression) -> bool:
    if tuple(c.ir.shape) != tuple(d.ir.shape):
        return False
    try:
        if c.ir is d.ir or simplify(c.ir) is d.ir:
            return True
        return simplify(B.add([c.ir, B.scale(-1.0, d.ir)])).op == "zero"
    except Exception:  # noqa: BLE001 - symbolic comparison is best effort; numbers decide
        return False


def _transpositions(d: Derivation) -> list[tuple[str, tuple[int, ...]]]:
    """Axis permutations of the derivative that a layout confusion produces."""
    rank = len(d.shape)
    out_rank = rank - sum(x.rank for x in d.wrt_irs)
    wrt_rank = rank - out_rank
    perms: list[tuple[str, tuple[int, ...]]] = []
    if rank == 2:
        perms.append(("transpose", (1, 0)))
    elif rank > 2:
        if out_rank and wrt_rank:
            perms.append(("layout", tuple(range(out_rank, rank)) + tuple(range(out_rank))))
        perms.append(("reverse", tuple(reversed(range(rank)))))
    seen, unique = set(), []
    for name, p in perms:
        if p != tuple(range(rank)) and p not in seen:
            seen.add(p)
            unique.append((name, p))
    return unique


def _permuted_shape(shape: tuple, perm: tuple[int, ...]) -> tuple:
    return tuple(shape[i] for i in perm)


@dataclass
class _Points:
    inputs: list[dict[str, np.ndarray]]
    answer: list[np.ndarray]
    claim: list[np.ndarray]
    skipped: int = 0


def _sample(d: Derivation, claim_fn, domains: Mapping[str, str], points: int,
            seed: int) -> _Points:
    """Random points inside the expression's domain (its value and the derivative finite)."""
    value = d.value                 # from d's IR, not parsed again
    sizes = dimension_sizes(d.variables, d.free_dims)
    rng = np.random.default_rng(seed)
    pts = _Points([], [], [])
    for _ in range(points * verify.MAX_DRAWS):
        if len(pts.inputs) == points:
            break
        inputs = draw_inputs(d.variables, sizes, domains, rng, d.free_dims)
        try:
            f = value.evaluate(**{k: v.copy() for k, v in inputs.items()})
            a = np.asarray(d.evaluate(**{k: v.copy() for k, v in inputs.items()}),
                           dtype=np.float64)
        except NumericalError:        # not finite there: outside the domain
            pts.skipped += 1
            continue
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(a))):
            pts.skipped += 1
            continue
        pts.inputs.append(inputs)
        pts.answer.append(a)
        pts.claim.append(claim_fn(**{k: v.copy() for k, v in inputs.items()}))
    return pts


def _errors(claims: list[np.ndarray], refs: list[np.ndarray]) -> list[float]:
    out = []
    for c, r in zip(claims, refs):
        mag = max(1.0, float(np.max(np.abs(r), initial=0.0)))
        out.append(rel_error(c, r, FLOOR * mag))
    return out


def _fit_factor(claims: list[np.ndarray], refs: list[np.ndarray]) -> tuple[float, float] | None:
    """(c, worst error) when claim = c * ref at every point for one constant c != 0, 1."""
    cs = []
    for c, r in zip(claims, refs):
        if c.shape != r.shape or not np.all(np.isfinite(c)):
            return None
        rr = float(np.vdot(r, r))
        if rr <= 1e-300:
            continue
        cs.append(float(np.vdot(c, r)) / rr)
    if not cs:
        return None
    c0 = float(np.median(cs))
    if abs(c0) < 1e-9:
        return None
    snapped = round(c0 * 12) / 12         # 2, -1, 0.5, 1/3 ... exactly when they fit
    if abs(snapped - c0) <= 1e-9 * abs(c0):
        c0 = snapped
    errs = _errors([c for c in claims], [c0 * r for r in refs])
    worst = max(errs)
    if worst > RTOL or abs(c0 - 1) < 1e-9:
        return None
    return c0, worst


def _sym(t: np.ndarray) -> np.ndarray:
    return (t + np.swapaxes(t, -1, -2)) / 2


# ------------------------------------------------------------------ the comparison
def compare(d: Derivation, claim: str, domains: Mapping[str, str] | None = None,
            points: int = POINTS, seed: int = 0) -> ClaimResult:
    """Compare a claim with the derivative d; see the module docstring for the kinds."""
    if points < 1:
        raise MatrixCalculusError(f"points must be at least 1, got {points}")
    doms = parse_domains(domains, d.variables)
    c = parse_claim(d, claim)
    what = d.kind_text
    answer = str(d)
    ds, cs = tuple(d.shape), tuple(c.shape)
    base = dict(answer=answer, claim_shape=cs, answer_shape=ds)
    the_answer = f"the {what} is {answer}"

    perms = [(name, p) for name, p in _transpositions(d) if _permuted_shape(ds, p) == cs]
    if cs != ds and not perms:
        return ClaimResult(False, "shape",
                           f"the claim has shape {shape_text(cs)} but the {what} has shape "
                           f"{shape_text(ds)}; {the_answer}", float("inf"), **base)

    symbolic = _symbolically_equal(d, c)
    claim_fn = _claim_function(d, c)
    pts = _sample(d, claim_fn, doms, points, seed)
    n = len(pts.inputs)
    if n == 0:
        raise MatrixCalculusError(f"the expression or its {what} is not finite at any of "
                                  f"{pts.skipped} random points; give domains (e.g. "
                                  f"{d.wrt_list[0]}=positive)")
    at = f"at {n} random point{'s' if n != 1 else ''}"
    row = _is_row_vector(c) and len(ds) == 1

    if cs == ds:
        errs = _errors(pts.claim, pts.answer)
        worst = max(errs)
        if worst <= RTOL or symbolic:
            if row:
                return ClaimResult(False, "transposed",
                                   f"the claim is a row vector, the transpose of the {what} "
                                   "(numerator vs. denominator layout); the "
                                   f"{what} is the column vector {answer}", worst,
                                   points=n, **base)
            how = (f"symbolically; also {at}, max rel. error {_fmt(worst)}" if symbolic
                   else f"numerically {at}, max rel. error {_fmt(worst)}")
            return ClaimResult(True, "equal", f"the claim equals the derivative ({how})", worst,
                               symbolic=symbolic, points=n, **base)
        fit = _fit_factor(pts.claim, pts.answer)
        if fit is not None:
            f, ferr = fit
            if row:
                return ClaimResult(False, "transposed",
                                   f"the claim is a row vector, {_factor_text(f)} times the "
                                   f"transpose of the {what} (numerator vs. denominator "
                                   f"layout); the {what} is the column vector {answer}", ferr,
                                   factor=f, points=n, **base)
            return ClaimResult(False, "scaled", _scaled_text(f, what, the_answer), ferr,
                               factor=f, points=n, **base)
    else:
        worst, errs = float("inf"), [float("inf")] * n

    for name, p in perms:
        refs = [np.transpose(a, p) for a in pts.answer]
        terrs = _errors(pts.claim, refs)
        layout = (f"the transpose of the {what}" if name == "transpose" else
                  f"the {what} with its axes in the other order" if name == "layout" else
                  f"the {what} with its axes reversed")
        if max(terrs) <= RTOL:
            return ClaimResult(False, "transposed",
                               f"the claim is {layout} (numerator vs. denominator layout); "
                               f"{the_answer}", max(terrs), points=n, **base)
        fit = _fit_factor(pts.claim, refs)
        if fit is not None:
            f, ferr = fit
            return ClaimResult(False, "transposed",
                               f"the claim is {_factor_text(f)} times {layout} (numerator vs. "
                               f"denominator layout, and off by a constant factor); "
                               f"{the_answer}", ferr, factor=f, points=n, **base)

    if cs != ds:
        return ClaimResult(False, "shape",
                           f"the claim has shape {shape_text(cs)} but the {what} has shape "
                           f"{shape_text(ds)} (nor is it the {what}'s transpose); "
                           f"{the_answer}", float("inf"), points=n, **base)

    k = int(np.argmax(errs))
    counter = {name: v.copy() for name, v in pts.inputs[k].items()}
    convention = _symmetric_convention(d, pts)
    if convention:
        diagnosis = f"{convention}; {the_answer}"
    elif all(float(np.max(np.abs(x), initial=0.0)) == 0 for x in pts.claim):
        diagnosis = f"the claim is zero but the {what} is not; {the_answer}"
    else:
        diagnosis = (f"the claim differs from the {what} (rel. error {_fmt(errs[k])} at a "
                     f"random point: see the counterexample); {the_answer}")
    return ClaimResult(False, "wrong", diagnosis, worst, counterexample=counter, points=n,
                       **base)


def _scaled_text(f: float, what: str, the_answer: str) -> str:
    if f == -1:
        return f"the claim has the wrong sign (it is -1 times the {what}); {the_answer}"
    if f == 0.5:
        hint = " (a missing factor 2?)"
    elif f == 2:
        hint = " (a factor 2 too many?)"
    elif f < 0:
        hint = " (and the wrong sign)"
    else:
        hint = ""
    return (f"the claim is {_factor_text(f)} times the {what}, off by a constant factor"
            f"{hint}; {the_answer}")


def _symmetric_convention(d: Derivation, pts: _Points) -> str | None:
    """For a gradient with respect to a symmetric matrix: is the claim the unconstrained
    gradient G (sym(claim) = answer), or the Matrix Cookbook's G + G' - diag(G)?"""
    if d.order != 1 or d.variables[d.wrt_list[0]].kind != "symmetric" or len(d.shape) != 2:
        return None
    name = d.wrt
    if max(_errors([_sym(c) for c in pts.claim], pts.answer)) <= RTOL:
        return (f"the claim is the gradient G for a general matrix {name}, not symmetrised: "
                f"{name} is declared symmetric, and the gradient on symmetric matrices is "
                "(G + G')/2")
    cookbook = [2 * a - np.diag(np.diag(a)) for a in pts.answer]
    if max(_errors(pts.claim, cookbook)) <= RTOL:
        return (f"the claim follows the Matrix Cookbook's G + G' - diag(G) for symmetric "
                f"{name}; the gradient on symmetric matrices (Frobenius inner product) is "
                "(G + G')/2")
    return None
