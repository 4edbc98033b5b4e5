"""What each array library calls things.  One table per backend; the emitter is shared.

Helpers (prefixed `_`) are copied into the generated module only when used, so
the module depends on nothing but its array library.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backend:
    name: str
    imports: str
    xp: str                                  # module alias used in expressions
    funcs: dict[str, str]                    # elementwise function -> template on {0}
    prims: dict[str, str]                    # inv det logdet softmax logsumexp
    helpers: dict[str, str] = field(default_factory=dict)   # name -> source
    ones: str = "{xp}.ones({n})"
    eye: str = "{xp}.eye({n})"
    zeros: str = "{xp}.zeros({shape})"
    asarray: str = "{xp}.asarray({0})"
    literal: str = "{0}"        # a number given to a function (torch.log(0) needs a tensor)
    prologue: str = ""          # first line of the body, when its names are used ({first}:
                                # the first array parameter)


_NUMPY_HELPERS = {
    "_sigmoid": '''def _sigmoid(x):
    # exp(-x) overflows to inf for x < -709, which gives the right limit 0: no warning
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))''',
    "_softmax": '''def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)''',
    "_logsumexp": '''def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))''',
    "_logdet": '''def _logdet(x):
    sign, value = np.linalg.slogdet(x)
    return value if sign > 0 else np.nan''',
    "_gram": '''def _gram(a, d):
    # a' * D * a, D the diagonal matrix of d: one symmetric product (BLAS syrk,
    # half the flops) when d >= 0
    if np.all(d >= 0):
        z = a * np.sqrt(d)[:, None]
        return z.T @ z
    return a.T @ (a * d[:, None])''',
}

NUMPY = Backend(
    name="numpy",
    imports="import numpy as np",
    xp="np",
    funcs={
        "exp": "np.exp({0})", "log": "np.log({0})", "sin": "np.sin({0})", "cos": "np.cos({0})",
        "tan": "np.tan({0})", "tanh": "np.tanh({0})", "sigmoid": "_sigmoid({0})",
        "softplus": "np.logaddexp(0.0, {0})", "abs": "np.abs({0})",
        "relu": "np.maximum({0}, 0.0)", "sign": "np.sign({0})",
        "step": "np.heaviside({0}, 0.0)", "sqrt": "np.sqrt({0})",
    },
    prims={
        "inv": "np.linalg.inv({0})", "det": "np.linalg.det({0})", "logdet": "_logdet({0})",
        "softmax": "_softmax({0})", "logsumexp": "_logsumexp({0})", "gram": "_gram({0}, {1})",
    },
    helpers=_NUMPY_HELPERS,
)

TORCH = Backend(
    name="torch",
    imports="import torch",
    xp="torch",
    funcs={
        "exp": "torch.exp({0})", "log": "torch.log({0})", "sin": "torch.sin({0})",
        "cos": "torch.cos({0})", "tan": "torch.tan({0})", "tanh": "torch.tanh({0})",
        "sigmoid": "torch.sigmoid({0})", "softplus": "torch.nn.functional.softplus({0})",
        "abs": "torch.abs({0})", "relu": "torch.relu({0})", "sign": "torch.sign({0})",
        "step": "(({0}) > 0).to(_dtype)", "sqrt": "torch.sqrt({0})",
    },
    prims={
        "inv": "torch.linalg.inv({0})", "det": "torch.linalg.det({0})",
        "logdet": "torch.logdet({0})", "softmax": "torch.softmax({0}, 0)",
        "logsumexp": "torch.logsumexp(({0}).reshape(-1), 0)", "gram": "_gram({0}, {1})",
    },
    helpers={"_gram": '''def _gram(a, d):
    # a' * D * a, D the diagonal matrix of d: one symmetric product when d >= 0
    if bool(torch.all(d >= 0)):
        z = a * torch.sqrt(d)[:, None]
        return z.T @ z
    return a.T @ (a * d[:, None])'''},
    # new tensors on the arguments' device (a GPU) and in their precision
    ones="torch.ones({n}, dtype=_dtype, device=_device)",
    eye="torch.eye({n}, dtype=_dtype, device=_device)",
    zeros="torch.zeros({shape}, dtype=_dtype, device=_device)",
    asarray="torch.as_tensor({0}, dtype=_dtype, device=_device)",
    literal="torch.tensor({0}, dtype=_dtype, device=_device)",
    prologue="_dtype, _device = {first}.dtype, {first}.device",
)

JAX = Backend(
    name="jax",
    imports="import jax\nimport jax.numpy as jnp",
    xp="jnp",
    funcs={
        "exp": "jnp.exp({0})", "log": "jnp.log({0})", "sin": "jnp.sin({0})",
        "cos": "jnp.cos({0})", "tan": "jnp.tan({0})", "tanh": "jnp.tanh({0})",
        "sigmoid": "jax.nn.sigmoid({0})", "softplus": "jax.nn.softplus({0})",
        "abs": "jnp.abs({0})", "relu": "jax.nn.relu({0})", "sign": "jnp.sign({0})",
        "step": "jnp.heaviside({0}, 0.0)", "sqrt": "jnp.sqrt({0})",
    },
    prims={
        "inv": "jnp.linalg.inv({0})", "det": "jnp.linalg.det({0})",
        "logdet": "_logdet({0})", "softmax": "jax.nn.softmax({0})",
        "logsumexp": "jax.nn.logsumexp({0})", "gram": "{0}.T @ ({0} * {1}[:, None])",
    },
    helpers={"_logdet": '''def _logdet(x):
    sign, value = jnp.linalg.slogdet(x)
    return jnp.where(sign > 0, value, jnp.nan)'''},
)

# Dask: the same code on chunked arrays.  Every step stays lazy and blockwise: `@` over a
# row-chunked axis is a sum of per-chunk products, elementwise functions map over chunks,
# and reductions (sum, max) are tree reductions.  inv/det/logdet are meant for small
# (k x k) operands: the operand becomes one chunk and NumPy runs on it in one task.
_DASK_HELPERS = {
    "_sigmoid": '''def _sigmoid(x):
    return da.exp(-da.logaddexp(0.0, -x))''',
    "_softmax": '''def _softmax(x):
    e = da.exp(x - da.max(x))
    return e / da.sum(e)''',
    "_logsumexp": '''def _logsumexp(x):
    m = da.max(x)
    return m + da.log(da.sum(da.exp(x - m)))''',
    "_inv": '''def _inv(x):
    # a small matrix: one chunk, inverted by NumPy in one task
    return da.asarray(x).rechunk(-1).map_blocks(np.linalg.inv, dtype=np.float64)''',
    "_det": '''def _det(x):
    return da.asarray(x).rechunk(-1).map_blocks(np.linalg.det, drop_axis=[0, 1],
                                                  dtype=np.float64)''',
    "_logdet": '''def _logdet(x):
    def block(b):
        sign, value = np.linalg.slogdet(b)
        return value if sign > 0 else np.nan
    return da.asarray(x).rechunk(-1).map_blocks(block, drop_axis=[0, 1], dtype=np.float64)''',
    "_gram": '''def _gram(a, d):
    # a' * D * a, D the diagonal matrix of d: with a chunked by rows, the sum over the
    # rows is a sum of per-chunk k x k products (the rows are never gathered)
    return a.T @ (a * d[:, None])''',
}

DASK = Backend(
    name="dask",
    imports="import dask.array as da\nimport numpy as np",
    xp="da",
    funcs={
        "exp": "da.exp({0})", "log": "da.log({0})", "sin": "da.sin({0})", "cos": "da.cos({0})",
        "tan": "da.tan({0})", "tanh": "da.tanh({0})", "sigmoid": "_sigmoid({0})",
        "softplus": "da.logaddexp(0.0, {0})", "abs": "da.abs({0})",
        "relu": "da.maximum({0}, 0.0)", "sign": "da.sign({0})",
        "step": "np.heaviside({0}, 0.0)", "sqrt": "da.sqrt({0})",   # a ufunc: lazy on dask
    },
    prims={
        "inv": "_inv({0})", "det": "_det({0})", "logdet": "_logdet({0})",
        "softmax": "_softmax({0})", "logsumexp": "_logsumexp({0})", "gram": "_gram({0}, {1})",
    },
    helpers=_DASK_HELPERS,
)
