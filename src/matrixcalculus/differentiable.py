"""An expression as a differentiable op of PyTorch or JAX whose backward is its closed form.

    vector_jacobian(e) -> Compiled: (G, arrays) -> the closed-form VJP wrt every variable
    torch_function(e) -> f(**tensors), a torch.autograd.Function
    jax_function(e)   -> f(**arrays), a jax.custom_vjp

The VJP is derived, not traced: the scalar <G, y> (G the cotangent, shaped like the
expression y; for a scalar y, G*y) differentiated wrt each variable, so the backward pass is
the simplified closed form (g * the gradient for a scalar), every variable's in one
generated function that computes their shared parts once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from . import differentiate, evaluation
from .compiled import Compiled
from .derivation import Expression
from .errors import EvaluationError, UnsupportedDerivativeError
from .ir import build as B
from .language.dims import is_product
from .lower import lower
from .valgrad import by_keyword
from .variables import VariableInfo

KIND = {0: "scalar", 1: "vector", 2: "matrix"}


def cotangent_name(e: Expression) -> str:
    """The cotangent's parameter name: g, made unique among the expression's names."""
    taken = set(e.variables) | set(e.free_dims) | set(e.typed.bindings) \
        | set(e.typed.constants)
    out = "g"
    while out in taken:
        out += "_"
    return out


def vector_jacobian(e: Expression) -> Compiled:
    """One function of the variables and the cotangent G (then free dimensions' sizes)
    returning the VJP wrt each variable, in the variables' order."""
    cached = e.__dict__.get("_vjp")
    if cached is not None:
        return cached
    if any(map(is_product, e.shape)):
        raise UnsupportedDerivativeError("the expression is over a product dimension "
                                         "(kron, vec): its VJP is not built yet")
    # lowered again with every variable differentiated by (no simplex fact folded)
    typed = dataclasses.replace(e.typed, differentiated=set(e.variables))
    y, var_nodes = lower(typed)
    g = cotangent_name(e)
    ix = tuple(range(y.rank))
    cot = B.var(g, y.shape, False)
    inner = B.einsum([cot, y], [ix, ix], ())
    roots = []
    for name, info in e.variables.items():
        x = var_nodes.get(name)
        if x is None:                       # folded away: no effect on the value
            roots.append(B.zero(info.shape))
            continue
        d = differentiate.mixed(inner, (x,))
        roots.append(evaluation.evaluation_ir(inner, (x,), d))
    variables = {**e.variables, g: VariableInfo(g, KIND.get(y.rank, "tensor"), y.shape)}
    out = Compiled(tuple(roots), variables, e.free_dims, "vjp",  # type: ignore[arg-type]
                   out_shape=tuple(None for _ in roots))
    e.__dict__["_vjp"] = out
    return out


def _split(e: Expression, given: dict[str, Any]) -> tuple[list[Any], tuple[int, ...]]:
    """The keyword arguments as the variables' values (in order) and the free sizes."""
    names = list(e.variables)
    free = [d for d in e.free_dims if d not in e.variables]
    missing = [n for n in names + free if n not in given]
    extra = [n for n in given if n not in names and n not in free]
    if missing or extra:
        raise EvaluationError(
            (f"missing {', '.join(missing)}" if missing else "") +
            ("; " if missing and extra else "") +
            (f"unknown {', '.join(extra)}" if extra else "") +
            f": the function takes {', '.join(names + free)} (by keyword)")
    return [given[n] for n in names], tuple(int(given[d]) for d in free)


def torch_function(e: Expression) -> Callable[..., Any]:
    """The expression as f(**tensors): a torch.autograd.Function whose backward is the
    derived VJP (generated PyTorch code both ways; any device and float dtype)."""
    import torch

    value = by_keyword(e.compiled("torch"), e.argument_names)
    program = vector_jacobian(e)
    vjp = by_keyword(program.compiled("torch"), program.argument_names)
    n = len(e.variables)

    class ClosedForm(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            ctx.save_for_backward(*args[:n])
            ctx.sizes = args[n:]
            return value(*args)

        @staticmethod
        def backward(ctx, grad):
            grads = vjp(*ctx.saved_tensors, grad, *ctx.sizes)
            return (*grads, *(None for _ in ctx.sizes))

    def f(**tensors: Any) -> Any:
        xs, sizes = _split(e, tensors)
        like = next((x for x in xs if torch.is_tensor(x)), None)
        dtype = like.dtype if like is not None else torch.float64
        device = like.device if like is not None else None
        xs = [x if torch.is_tensor(x) else torch.as_tensor(x, dtype=dtype, device=device)
              for x in xs]
        return ClosedForm.apply(*xs, *sizes)

    f.__doc__ = f"{e.source}, differentiable (closed-form backward); arguments " \
                f"{', '.join(list(e.variables) + list(e.free_dims))} by keyword"
    return f


def jax_function(e: Expression) -> Callable[..., Any]:
    """The expression as f(**arrays): a jax.custom_vjp whose VJP is the derived one
    (generated JAX code both ways; jit, grad and vmap compose with it)."""
    import jax
    import jax.numpy as jnp

    value = by_keyword(e.compiled("jax"), e.argument_names)
    program = vector_jacobian(e)
    vjp = by_keyword(program.compiled("jax"), program.argument_names)

    @lru_cache(maxsize=64)
    def op(sizes: tuple[int, ...]) -> Callable[..., Any]:
        @jax.custom_vjp
        def f(*xs):
            return value(*xs, *sizes)

        def fwd(*xs):
            return f(*xs), xs

        def bwd(xs, g):
            grads = vjp(*xs, g, *sizes)
            return tuple(jnp.asarray(d, dtype=jnp.result_type(x)).reshape(jnp.shape(x))
                         for d, x in zip(grads, xs))

        f.defvjp(fwd, bwd)
        return f

    def call(**arrays: Any) -> Any:
        xs, sizes = _split(e, arrays)
        return op(sizes)(*(jnp.asarray(x) for x in xs))

    call.__doc__ = f"{e.source}, differentiable (closed-form VJP); arguments " \
                   f"{', '.join(list(e.variables) + list(e.free_dims))} by keyword"
    return call
