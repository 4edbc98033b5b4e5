"""Hessian-vector products: H[dX] = sum over k,l of H[i,j,k,l] dX[k,l], in closed form.

A Hessian wrt a matrix is a 4-index tensor, (m, k, m, k) for U in the matrix
factorisation norm2(R - U*V')^2; its product with a direction dU is the matrix
2*dU*V'*V.  The product is built on the symbolic Hessian (its δ factors vanish in
the contraction), simplified and raised like any answer, so its code never forms
the tensor: O(m k^2) work instead of O(m^2 k^2) memory.

A mixed second derivative D wrt [V1, V2] (of any expression) has the product along a
direction dV2 of V2: sum over b of D[o..., a..., b...] dV2[b...], the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np

from . import verify
from .compiled import Compiled
from .derivation import Derivation, Printed
from .errors import EvaluationError, NumericalError, UnsupportedDerivativeError, guarded
from .ir import build as B
from .ir.nodes import Node
from .language.declarations import is_identifier
from .matfun_rewrites import along_jacobian_axes
from .points import dimension_sizes, draw_inputs, parse_domains, spd_arguments
from .references import FD_STEP, central_difference, rel_error, torch_available, torch_inputs
from .simplify import simplify
from .variables import VariableInfo, shape_text
from .verify import CheckResult


def direction_name(d: Derivation, name: str | None) -> str:
    """The direction's variable name: `name`, or d<wrt> (dU; the last variable of a mixed
    derivative), made unique."""
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
    out = "d" + d.wrt_list[-1]
    while out in taken:
        out += "_"
    return out


class HessianVectorProduct(Printed, Compiled):
    """H[v] for the Hessian H of a scalar expression and a direction v shaped like the
    variable (or a mixed second derivative wrt [V1, V2] and v shaped like V2):
    str / latex() / code() / evaluate(**arrays, <direction>=...) / check()."""

    by_work = True           # X'*(v.*(X*dw)): printed in the order that never forms H

    def __init__(self, hessian: Derivation, direction: str | None = None):
        if hessian.order != 2 or (hessian.expression_ir.rank != 0 and not hessian.is_mixed):
            shape = hessian.expression_shape
            raise UnsupportedDerivativeError(
                "a Hessian-vector product needs the Hessian (order 2) of a scalar "
                "expression, or a mixed second derivative; this is the "
                f"order-{hessian.order} {hessian.kind} of "
                f"{shape_text(shape) if shape else 'a scalar'}")
        if hessian._grouping is not None:
            # printing and shaping over a product dimension (m*p) is the Derivation's
            # grouped path, which the product with a direction does not have yet
            raise UnsupportedDerivativeError(
                "a Hessian-vector product over a product dimension (kron, vec, a variable "
                "declared vector(m*p)) is not built; the Hessian itself is")
        self.hessian = hessian
        self.source = hessian.source
        self.typed = hessian.typed
        self.wrt = hessian.wrt
        self.direction = direction_name(hessian, direction)
        info = hessian.variables[hessian.wrt_list[-1]]
        super().__init__(self._along(hessian.ir), {**hessian.variables, self.direction:
                         VariableInfo(self.direction, info.kind, info.shape)},
                         hessian.free_dims, "hvp")

    def _along(self, hessian: Node) -> Node:
        """The Hessian's IR contracted with the direction over its last variable's axes,
        simplified."""
        x = self.hessian.wrt_irs[-1]
        n, r = hessian.rank, x.rank
        v = B.var(self.direction, x.shape, x.symmetric)
        out = simplify(B.einsum([hessian, v], [tuple(range(n)), tuple(range(n - r, n))],
                                tuple(range(n - r))))
        # the direction meets a Fréchet derivative along the Hessian's axes only once a
        # pass has gathered the product: the next swaps the adjoint (no n^4 tensor), one
        # level of nesting per pass
        for _ in range(4):
            if not along_jacobian_axes(out):
                break
            again = simplify(out)
            if again is out:
                break
            out = again
        return out

    @cached_property
    def eval_ir(self) -> Node:
        """Evaluated through the Hessian's own evaluation IR (det's derivatives stably)."""
        h = self.hessian
        return self.ir if h.eval_ir is h.ir else self._along(h.eval_ir)

    @property
    def kind(self) -> str:
        return "Hessian-vector product"

    def code_what(self) -> str:
        return f"Hessian-vector product of {' '.join(self.source.split())} with respect to " \
               f"{self.hessian.wrt_text} along {self.direction}"

    def code_returns(self) -> str:
        return f"the {self.hessian.kind_text} wrt {self.hessian.wrt_text} times {self.direction}"

    @property
    def shape(self) -> tuple[str | int, ...]:
        return tuple(self.ir.shape)

    def __repr__(self) -> str:
        return f"<HessianVectorProduct of {self.source!r} wrt {self.hessian.wrt_text} along " \
               f"{self.direction}: {self}>"

    def check(self, domains=None, points: int = 5, seed: int = 0) -> CheckResult:
        """Compare with torch autograd's Hessian-vector product of the expression (or,
        without torch, with central differences of the gradient along the direction) and
        with the dense Hessian contracted with the direction, at random points."""
        return guarded(lambda: _check(self, domains, points, seed), self.source)


def _check(h: HessianVectorProduct, domains, points: int, seed: int) -> CheckResult:
    d = h.hessian
    # logm(S), sqrtm(S) of a symmetric S: drawn SPD, as Derivative.check() does
    doms = {**spd_arguments(d.expression_ir), **parse_domains(domains, d.variables)}
    sizes = dimension_sizes(d.variables, d.free_dims)
    last = d.wrt_list[-1]                 # the direction's variable
    r = d.wrt_irs[-1].rank
    symmetric = d.variables[last].kind == "symmetric"
    value = d.value                       # from the Hessian's IR, not parsed again
    gradient = d.lower_order()
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
            dense = np.tensordot(d.evaluate(**inputs), v, axes=r)
        except NumericalError:
            continue
        if torch_fn is not None and d.is_mixed:
            first = d.wrt_list[0]
            ref = _autograd_mixed_hvp(torch_fn, value.parameters, inputs, first, last, v,
                                      d.variables[first].kind == "symmetric")
        elif torch_fn is not None:
            ref = _autograd_hvp(torch_fn, value.parameters, inputs, last, v, symmetric)
        else:
            ref = _fd_hvp(gradient, inputs, last, v)
        mag = max(1.0, float(np.max(np.abs(f0), initial=0.0)))
        errs = [rel_error(got, ref, verify.AUTOGRAD_FLOOR * mag),
                rel_error(got, dense, verify.AUTOGRAD_FLOOR * mag)]
        tol = verify.AUTOGRAD_RTOL if torch_fn is not None else verify.FD_RTOL
        if errs[0] > tol or errs[1] > verify.AUTOGRAD_RTOL:
            return CheckResult(
                False, max(errs), method,
                f"FAILED at random point {used + 1}: the Hessian-vector product differs from "
                f"{method} (rel. error {verify._fmt(errs[0])}) or from the dense Hessian "
                f"(rel. error {verify._fmt(errs[1])})", used)
        worst = max(worst, *errs)
        used += 1
    if used == 0:
        return CheckResult(False, float("nan"), method,
                                  "not verified: the expression is not finite at any random "
                                  "point; give domains", 0)
    return CheckResult(True, worst, method,
                              f"verified at {used} random points against {method} and the "
                              f"dense Hessian: max rel. error {verify._fmt(worst)}", used)


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
