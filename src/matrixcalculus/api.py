"""The Python surface, a facade over the engine: derivative(), expression(), check_claim(),
value_and_grad(), minimize().

Only a facade: the engine (derivation.py, verify.py, claims.py, hvp.py, steps.py) does the
work and never imports this module; the CLI, the web page and Jupyter sit on top of it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from . import claims, derivation, differentiable, solvers, verify
from .claims import ClaimResult
from .derivation import Derivation, derive
from .errors import guarded
from .hvp import HessianVectorProduct, hessian_vector_product
from .limits import deadline
from .steps import Steps, derivation_steps
from .valgrad import ValueAndGrad, value_and_gradient
from .variables import VariableInfo, check_arrays, shape_text, variables_line
from .verify import CheckResult

__all__ = ["Derivative", "Expression", "HessianVectorProduct", "ValueAndGrad", "VariableInfo",
           "check_arrays", "check_claim", "derivative", "expression", "hvp", "minimize",
           "value_and_grad"]


class Expression(derivation.Expression):
    """A parsed, type-checked expression: its shape and value (evaluate(**arrays)); as a
    differentiable PyTorch or JAX op with torch_function() / jax_function()."""

    def torch_function(self):
        """The expression as f(**tensors), a torch.autograd.Function whose backward is the
        derived closed form (the VJP g*gradient for a scalar expression, <G, y>'s gradient
        for any other), so a model can train on it."""
        return guarded(lambda: differentiable.torch_function(self), self.source)

    def jax_function(self):
        """The expression as f(**arrays), a jax.custom_vjp with the derived closed-form VJP
        (jax.grad, jit and vmap compose with it)."""
        return guarded(lambda: differentiable.jax_function(self), self.source)


def expression(expr: str, *, vars: Mapping[str, Any] | None = None) -> Expression:
    """Parse and type-check an expression; evaluate it with .evaluate(**arrays), or use it
    as a differentiable op: .torch_function(), .jax_function()."""
    return derivation.expression(expr, vars=vars, make=Expression)


def value_and_grad(expr: str, wrt: str, *, vars: Mapping[str, Any] | None = None,
                   order: int = 1) -> ValueAndGrad:
    """The value of `expr` and its gradient wrt the variable `wrt` as ONE function (the
    forward pass's subexpressions computed once for both): v.evaluate(**arrays) returns
    (value, gradient), v.code(backend) its source; order=2 adds the Hessian:
    (value, gradient, hessian).  Raises MatrixCalculusError on bad input."""
    def run() -> ValueAndGrad:
        with deadline():
            return value_and_gradient(expr, wrt, vars, order)
    return guarded(run, expr if isinstance(expr, str) else "")


def minimize(expr: str, wrt: str, *, data: Mapping[str, Any], x0: Any = None,
             vars: Mapping[str, Any] | None = None, method: str = "L-BFGS-B",
             bounds: Any = None, tol: float | None = None,
             options: Mapping[str, Any] | None = None):
    """Minimize the scalar `expr` over the variable `wrt`, the other variables fixed to
    `data`, with scipy.optimize.minimize given the derived value and gradient (one
    function), and for Newton methods the Hessian (trust-exact) or the closed-form
    Hessian-vector product (trust-ncg, Newton-CG, trust-krylov).  x0: the start (default
    zeros); bounds: passed on (L-BFGS-B, ...).  Returns SciPy's OptimizeResult, its x
    shaped like the variable."""
    return guarded(lambda: solvers.minimize(expr, wrt, data=data, x0=x0, vars=vars,
                                            method=method, bounds=bounds, tol=tol,
                                            options=options),
                   expr if isinstance(expr, str) else "")


class Derivative(Derivation):
    """A derivative: its closed form (str, latex), shape, and evaluation; check(),
    check_claim(), hvp() and steps() on top."""

    def __repr__(self) -> str:
        return f"<Derivative d{'^' + str(self.order) if self.order > 1 else ''} of " \
               f"{self.source!r} wrt {self.wrt_text}: {self}>"

    def check(self, domains=None, points: int = 5, seed: int = 0,
              max_seconds: float | None = None) -> CheckResult:
        """Verify numerically against finite differences (and torch autograd when
        installed) at random points honoring `domains` ({"S": "spd", "x": "positive"}),
        for at most about max_seconds (default verify.MAX_SECONDS)."""
        return guarded(lambda: verify.check(self, domains=domains, points=points, seed=seed,
                                            max_seconds=max_seconds), self.source)

    def check_claim(self, claim: str, domains=None, points: int = 5,
                    seed: int = 0) -> ClaimResult:
        """Compare a hand-derived answer with this derivative (see check_claim)."""
        return guarded(lambda: claims.compare(self, claim, domains=domains, points=points,
                                              seed=seed), self.source)

    def hvp(self, direction: str | None = None) -> HessianVectorProduct:
        """This Hessian's product with a direction shaped like the variable (named
        `direction`, default d<wrt>), in closed form: for norm2(R - U*V')^2 wrt U,
        2*dU*V'*V.  Its code never forms the Hessian (HessianVectorProduct).  For a mixed
        second derivative wrt [V1, V2], the product along a direction of V2 (dV2)."""
        return guarded(lambda: HessianVectorProduct(self, direction), self.source)

    def steps(self) -> Steps:
        """The chain-rule derivation, step by step (.text(), .latex())."""
        return guarded(lambda: derivation_steps(self), self.source)

    # Jupyter shows this and Printed._repr_latex_ (duck-typed: no IPython dependency)
    def _repr_html_(self) -> str:
        return (f"<div class='matrixcalculus'><div>{html.escape(self.title)} of "
                f"<code>{html.escape(self.source)}</code> with respect to "
                f"<code>{html.escape(self.wrt_text)}</code> (shape: "
                f"{html.escape(shape_text(self.shape))})</div>"
                f"<div>$${html.escape(self.latex())}$$</div>"
                f"<pre>{html.escape(self.text(multiline=True))}</pre>"
                + "".join(f"<pre>{label}: {html.escape(t)}</pre>"
                          for label, t in self.extras())
                + f"<div class='variables'>{html.escape(variables_line(self.variables))}</div>"
                + "".join(f"<div class='note'>note: {html.escape(n)}</div>" for n in self.notes)
                + "</div>")


def derivative(expr: str, wrt: str | Sequence[str], *, vars: Mapping[str, Any] | None = None,
               order: int | None = None) -> Derivative:
    """The order-`order` derivative (default 1) of `expr` with respect to the variable
    `wrt`; or, wrt a list ["U", "V"], the mixed derivative: wrt U, then the result wrt V,
    shaped out + U's shape + V's shape (order: the list's length; ["x", "x"] is the Hessian).

    vars: declarations such as {"A": "matrix(m,n)", "x": "vector(n)", "S": "symmetric(n)"},
    and those stating a fact, "P": "spd(n)", "y": "simplex(n)" (sum(y) = 1), "Y":
    "simplex(n,c)" (each row sums to 1); undeclared names get a type by spelling
    (LANGUAGE.md).  Raises MatrixCalculusError,
    and nothing else, on any bad input."""
    def run() -> Derivative:
        with deadline():          # LIMITS.max_seconds for the whole derivation
            out = derive(expr, wrt, vars, order, Derivative)
            out._answer  # noqa: B018 - print now, under the time limit and inside the guard
            return out
    return guarded(run, expr if isinstance(expr, str) else "")


def hvp(expr: str, wrt: str | Sequence[str], *, vars: Mapping[str, Any] | None = None,
        direction: str | None = None) -> HessianVectorProduct:
    """The product of the Hessian of the scalar `expr` wrt the variable `wrt` with a
    direction shaped like it (named `direction`, default d<wrt>), in closed form, without
    deriving the Hessian: forward over reverse, so it grows like the gradient, however deep
    the expression (mc.derivative(expr, wrt, order=2).hvp() is the same product, from the
    dense Hessian, which its check() compares with too).  wrt a list [V1, V2]: the mixed
    second derivative's product along a direction of V2.  Raises MatrixCalculusError on
    bad input."""
    def run() -> HessianVectorProduct:
        with deadline():
            out = hessian_vector_product(expr, wrt, vars, direction)
            out._answer  # noqa: B018 - print now, under the time limit and inside the guard
            return out
    return guarded(run, expr if isinstance(expr, str) else "")


def check_claim(expr: str, wrt: str | Sequence[str], claim: str,
                vars: Mapping[str, Any] | None = None, order: int | None = None,
                domains: Mapping[str, str] | None = None,
                points: int = claims.POINTS, seed: int = 0) -> ClaimResult:
    """Is `claim` the order-`order` derivative of `expr` with respect to `wrt`?

    Raises MatrixCalculusError when the expression, the claim or a domain is malformed;
    a claim that is well formed but not the derivative gives a result with correct False."""
    d = derivative(expr, wrt, vars=vars, order=order)
    return claims.compare(d, claim, domains=domains, points=points, seed=seed)
