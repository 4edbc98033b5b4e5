"""Hessian-vector products: H[dX] = sum over k,l of H[i,j,k,l] dX[k,l], in closed form.

A Hessian wrt a matrix is a 4-index tensor, (m, k, m, k) for U in the matrix
factorisation norm2(R - U*V')^2; its product with a direction dU is the matrix
2*dU*V'*V.  It is the gradient's directional derivative along dU, built forward over
reverse (Pearlmutter's R-operator): the gradient by reverse mode (differentiate.py), then
its tangent along the direction (forward.py), one tangent per node of the gradient's DAG,
simplified and raised like any answer.  So its size and its cost grow like the
gradient's, never like the Hessian's (a deep composition's Hessian is a hundred times
longer), and its code never forms the tensor: O(m k^2) work instead of O(m^2 k^2) memory.

A mixed second derivative D wrt [V1, V2] (of any expression) has the product along a
direction dV2 of V2: sum over b of D[o..., a..., b...] dV2[b...], the derivative wrt V1's
tangent along dV2, the same way.  hessian_vector_product() builds one without the dense
second derivative; Derivative.hvp() from a Derivation that has it (check() compares).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from . import differentiate, verify
from .compiled import Compiled
from .derivation import Derivation, Printed, front, grouping
from .errors import EvaluationError, NumericalError, UnsupportedDerivativeError, guarded
from .forward import tangent
from .ir import build as B
from .ir.nodes import Node, Op, walk
from .language.declarations import is_identifier
from .language.typecheck import Typed
from .ops import row
from .points import dimension_sizes, draw_inputs, parse_domains, spd_arguments
from .references import FD_STEP, central_difference, rel_error, torch_available, torch_inputs
from .rules import EVAL_VJP, VJP, Rules
from .simplify import simplify
from .variables import VariableInfo, shape_text
from .verify import CheckResult
from .wrt import names as wrt_names
from .wrt import text as wrt_text
from .wrt import validate

_SIMPLIFIED_NODES = 32      # a tangent simplified up to this many IR nodes (along())


def direction_name(d: Derivation, name: str | None, last: str | None = None) -> str:
    """The direction's variable name: `name`, or d<wrt> (dU; the last variable of a mixed
    derivative, `last` where d is the lower-order derivative), made unique."""
    if name is not None:
        if not isinstance(name, str) or not is_identifier(name):
            raise UnsupportedDerivativeError(f"the direction must be a variable name, got "
                                             f"{name!r}")
    taken = set(d.variables) | set(d.free_dims) | set(d.typed.bindings) \
        | set(d.typed.constants)
    if name is not None:
        if name in taken:
            raise UnsupportedDerivativeError(f"the direction {name} is already a name in the "
                                             "expression: choose another")
        return name
    out = "d" + (last or d.wrt_list[-1])
    while out in taken:
        out += "_"
    return out


def along(expression: Node, wrt: Sequence[Node], v: Node, rules: Rules = VJP) -> Node:
    """Forward over reverse: the derivative of `expression` wrt wrt[:-1] (reverse mode),
    its tangent along v in the variable wrt[-1] (forward mode), simplified.  For a
    symmetric wrt[-1] (and so a symmetric v) the symmetrised second derivative's product
    with v is the same: <sym(J), v> = <J, v>."""
    first = differentiate.mixed(expression, wrt[:-1], rules)
    out = tangent(first, {wrt[-1]: v}, rules)
    # the tangent is already in the einsum normal form, and as short as the gradient
    # allows; the simplifier's searches are superlinear (seconds past a few dozen nodes,
    # and they seldom shorten a deep composition's tangent), so only a small one is
    # simplified (t^2*dexpm(...), a scalar gathered from two terms)
    return simplify(out) if len(walk(out)) <= _SIMPLIFIED_NODES else out


def _second(order: int, rank: int, mixed: bool, kind: str, shape: tuple) -> None:
    if order != 2 or (rank != 0 and not mixed):
        raise UnsupportedDerivativeError(
            "a Hessian-vector product needs the Hessian (order 2) of a scalar "
            "expression, or a mixed second derivative; this is the "
            f"order-{order} {kind} of {shape_text(shape) if shape else 'a scalar'}")


def _no_grouping() -> UnsupportedDerivativeError:
    # printing and shaping over a product dimension (m*p) is the Derivation's grouped
    # path, which the product with a direction does not have yet
    return UnsupportedDerivativeError(
        "a Hessian-vector product over a product dimension (kron, vec, a variable declared "
        "vector(m*p)) is not built; the Hessian itself is")


class HessianVectorProduct(Printed, Compiled):
    """H[v] for the Hessian H of a scalar expression and a direction v shaped like the
    variable (or a mixed second derivative wrt [V1, V2] and v shaped like V2):
    str / latex() / code() / evaluate(**arrays, <direction>=...) / check().

    HessianVectorProduct(hessian) from a second derivative (check() compares with it too);
    hessian_vector_product(expr, wrt, vars) without one (.hessian derives it if asked)."""

    by_work = True           # X'*(v.*(X*dw)): printed in the order that never forms H

    def __init__(self, hessian: Derivation | None = None, direction: str | None = None, *,
                 first: Derivation | None = None, last: Node | None = None):
        if hessian is not None:
            _second(hessian.order, hessian.expression_ir.rank, hessian.is_mixed,
                    hessian.kind, hessian.expression_shape)
            if hessian._grouping is not None:
                raise _no_grouping()
            last = hessian.wrt_irs[-1]
            xs = hessian.wrt_irs
            first = Derivation(hessian.source, hessian.wrt_list[:-1], hessian.typed,
                               hessian.expression_ir, xs[:-1],
                               differentiate.mixed(hessian.expression_ir, xs[:-1]))
        assert first is not None and last is not None
        self._dense = hessian
        self.first = first               # the lower-order derivative: the gradient
        self.source = first.source
        self.typed: Typed = first.typed
        self.wrt_list = (*first.wrt_list, last.name)
        self.wrt_irs = (*first.wrt_irs, last)
        self.is_mixed = len(set(self.wrt_list)) > 1
        self.wrt = self.wrt_list if self.is_mixed else self.wrt_list[0]
        self.direction = direction_name(first, direction, last.name)
        info = first.variables[last.name]
        v = B.var(self.direction, last.shape, last.symmetric)
        ir = along(first.expression_ir, self.wrt_irs, v)
        if hessian is None and grouping(first.typed, self.wrt_list, ir) is not None:
            raise _no_grouping()
        super().__init__(ir, {**first.variables, self.direction:
                         VariableInfo(self.direction, info.kind, info.shape)},
                         first.free_dims, "hvp")

    @cached_property
    def hessian(self) -> Derivation:
        """The second derivative itself (the dense tensor's IR): the one given, or derived
        now."""
        if self._dense is None:
            f = self.first
            self._dense = Derivation(self.source, self.wrt_list, self.typed,
                                     f.expression_ir, self.wrt_irs,
                                     differentiate.mixed(f.expression_ir, self.wrt_irs))
        return self._dense

    @property
    def wrt_text(self) -> str:
        return wrt_text(self.wrt_list)

    @cached_property
    def eval_ir(self) -> Node:
        """Evaluated through the rows' eval_vjp where the answer holds such a primitive
        (det's derivatives stably)."""
        if not any(n.op == Op.PRIM and row(n.name).eval_vjp is not None
                   for n in walk(self.ir)):
            return self.ir
        v = B.var(self.direction, self.wrt_irs[-1].shape, self.wrt_irs[-1].symmetric)
        return along(self.first.expression_ir, self.wrt_irs, v, EVAL_VJP)

    @property
    def kind(self) -> str:
        return "Hessian-vector product"

    @property
    def second_kind(self) -> str:
        """What the product is of: 'Hessian' or 'mixed derivative'."""
        return "mixed derivative" if self.is_mixed else "Hessian"

    def code_what(self) -> str:
        return f"Hessian-vector product of {' '.join(self.source.split())} with respect to " \
               f"{self.wrt_text} along {self.direction}"

    def code_returns(self) -> str:
        return f"the {self.second_kind} wrt {self.wrt_text} times {self.direction}"

    @property
    def shape(self) -> tuple[str | int, ...]:
        return tuple(self.ir.shape)

    def __repr__(self) -> str:
        return f"<HessianVectorProduct of {self.source!r} wrt {self.wrt_text} along " \
               f"{self.direction}: {self}>"

    def check(self, domains=None, points: int = 5, seed: int = 0) -> CheckResult:
        """Compare with torch autograd's Hessian-vector product of the expression (or,
        without torch, with central differences of the gradient along the direction) and,
        where this product was made from it, with the dense Hessian contracted with the
        direction, at random points."""
        return guarded(lambda: _check(self, domains, points, seed), self.source)


def hessian_vector_product(expr: str, wrt: str | Sequence[str],
                           vars: Mapping[str, Any] | None = None,
                           direction: str | None = None,
                           make: type[HessianVectorProduct] = HessianVectorProduct
                           ) -> HessianVectorProduct:
    """The product of the Hessian of `expr` wrt the variable `wrt` (or of the mixed second
    derivative wrt a list [V1, V2]) with a direction, never deriving the dense second
    derivative (unguarded, no time limit: api.py)."""
    names = wrt_names(wrt, 2 if isinstance(wrt, str) and "," not in wrt else None)
    typed, y, var_nodes = front(expr, vars, names)
    validate(typed, names, expr)
    xs = tuple(var_nodes[w] for w in names)
    mixed = len(set(names)) > 1
    if len(names) != 2 or (y.rank != 0 and not mixed):
        kind = "mixed derivative" if mixed else "hessian" if y.rank == 0 else "derivative"
        _second(len(names), y.rank, mixed, kind, tuple(y.shape))
    first = Derivation(expr, names[:-1], typed, y, xs[:-1], differentiate.mixed(y, xs[:-1]))
    return make(direction=direction, first=first, last=xs[-1])


def _check(h: HessianVectorProduct, domains, points: int, seed: int) -> CheckResult:
    d = h.first                           # the gradient (wrt V1 for a mixed derivative)
    dense = h._dense                      # compared with where it was given
    # logm(S), sqrtm(S) of a symmetric S: drawn SPD, as Derivative.check() does
    doms = {**spd_arguments(d.expression_ir), **parse_domains(domains, d.variables)}
    sizes = dimension_sizes(d.variables, d.free_dims)
    last = h.wrt_list[-1]                 # the direction's variable
    r = h.wrt_irs[-1].rank
    symmetric = d.variables[last].kind == "symmetric"
    value = d.value                       # from the IR, not parsed again
    torch_fn = value.compiled("torch") if torch_available() else None
    method = "torch autograd (hvp)" if torch_fn is not None else \
        "central differences of the gradient"
    rng = np.random.default_rng(seed)
    worst, used = 0.0, 0
    for _ in range(points * verify.MAX_DRAWS):
        if used == points:
            break
        inputs = draw_inputs(d.variables, sizes, doms, rng, d.free_dims)
        v = rng.standard_normal(np.shape(inputs[last]))
        if symmetric:
            v = (v + v.T) / 2
        try:                  # evaluate() raises where a value is not finite
            f0 = np.asarray(value.evaluate(**inputs))
            got = np.asarray(h.evaluate(**inputs, **{h.direction: v}))
            full = None if dense is None else np.tensordot(dense.evaluate(**inputs), v,
                                                            axes=r)
        except NumericalError:
            continue
        if torch_fn is not None and h.is_mixed:
            first = h.wrt_list[0]
            ref = _autograd_mixed_hvp(torch_fn, value.parameters, inputs, first, last, v,
                                      d.variables[first].kind == "symmetric")
        elif torch_fn is not None:
            ref = _autograd_hvp(torch_fn, value.parameters, inputs, last, v, symmetric)
        else:
            ref = _fd_hvp(d, inputs, last, v)
        mag = max(1.0, float(np.max(np.abs(f0), initial=0.0)))
        errs = [rel_error(got, ref, verify.AUTOGRAD_FLOOR * mag),
                0.0 if full is None else rel_error(got, full, verify.AUTOGRAD_FLOOR * mag)]
        tol = verify.AUTOGRAD_RTOL if torch_fn is not None else verify.FD_RTOL
        if errs[0] > tol or errs[1] > verify.AUTOGRAD_RTOL:
            also = "" if full is None else f" or from the dense Hessian (rel. error " \
                f"{verify._fmt(errs[1])})"
            return CheckResult(
                False, max(errs), method,
                f"FAILED at random point {used + 1}: the Hessian-vector product differs from "
                f"{method} (rel. error {verify._fmt(errs[0])}){also}", used)
        worst = max(worst, *errs)
        used += 1
    if used == 0:
        return CheckResult(False, float("nan"), method,
                           "not verified: the expression is not finite at any random "
                           "point; give domains", 0)
    both = method if dense is None else f"{method} and the dense Hessian"
    return CheckResult(True, worst, method,
                       f"verified at {used} random points against {both}: max rel. error "
                       f"{verify._fmt(worst)}", used)


def _autograd_hvp(fn, params: Mapping[str, str], inputs: dict[str, Any], wrt: str, v: np.ndarray,
                  symmetric: bool) -> np.ndarray:
    import torch
    from torch.autograd.functional import hvp

    tens = torch_inputs(inputs)

    def f(w):
        if symmetric:     # the derivative on symmetric matrices: f(sym(W))
            w = (w + w.T) / 2
        kw = {**tens, wrt: w}
        return fn(**{py: kw[p] for p, py in params.items()})

    _, out = hvp(f, tens[wrt], torch.tensor(v, dtype=torch.float64))
    return out.detach().numpy().astype(np.float64)


def _autograd_mixed_hvp(fn, params: Mapping[str, str], inputs: dict[str, Any], first: str,
                        last: str, v: np.ndarray, symmetric: bool) -> np.ndarray:
    """The derivative wrt `first` (by autograd), differentiated along v in `last` (a jvp);
    `first`'s index pair symmetrised when it is symmetric (v, for a symmetric `last`, is)."""
    import torch
    from torch.autograd.functional import jacobian, jvp

    tens = torch_inputs(inputs)

    def f(w1, w2):
        kw = {**tens, first: w1, last: w2}
        r = fn(**{py: kw[p] for p, py in params.items()})
        return r if torch.is_tensor(r) else torch.tensor(float(r), dtype=torch.float64)

    def gradient(w2):
        return jacobian(lambda w1: f(w1, w2), tens[first], create_graph=True)

    _, out = jvp(gradient, tens[last], torch.tensor(v, dtype=torch.float64))
    if symmetric:
        out = (out + out.transpose(-1, -2)) / 2
    return out.detach().numpy().astype(np.float64)


def _fd_hvp(gradient: Compiled, inputs: dict[str, Any], wrt: str, v: np.ndarray) -> np.ndarray:
    x = np.asarray(inputs[wrt], dtype=np.float64)
    h = FD_STEP * max(1.0, float(np.max(np.abs(x))))
    with np.errstate(all="ignore"):
        out = central_difference(gradient.evaluate, inputs, wrt, h * v, h)
    if not np.all(np.isfinite(out)):
        raise EvaluationError("the gradient is not finite near the point")
    return out
