"""Reductions, matrix primitives, structure and constants: one row each.

A primitive (inv, det, logdet, softmax, logsumexp) is one IR node kind (Op.PRIM); its row
carries the VJP, written as einsums whose `...` is the adjoint's extra (Jacobian) axes:
the adjoint of X from G = d(out)/d(node) is `vjp(node, G)`.  The other rows lower to
einsums, powers and primitives, which carry their own rules.
"""

from __future__ import annotations

import math

from ..ir.build import broadcast, const, delta, einsum, full, power, sub
from ..ir.functions import (
    det,
    detd,
    ein,
    func,
    inv,
    logdet,
    logsumexp,
    softmax,
    sum_all,
)
from ..ir.nodes import Node
from .det_kernels import HELPERS as DETD_HELPERS
from .row import Row, function, primitive

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _logsumexp_vjp(node: Node, g: Node) -> Node:
    """The gradient of logsumexp over all entries is the softmax over all entries."""
    x = node.args[0]
    p = softmax(x) if x.rank == 1 else func("exp", sub(x, broadcast(node, x.shape)))
    axes = _LETTERS[:x.rank]
    return ein(f"...,{axes}->...{axes}", g, p)


def _detd_vjp(node: Node, g: Node) -> Node:
    """d detd(X, k) = detd(X, k + 1): one rule for every order."""
    own = _LETTERS[:node.rank]          # (i1, j1, ..., ik, jk); k <= LIMITS.max_order
    return ein(f"...{own},{own}yz->...yz", g, detd(node.args[0], node.own[0] + 1))


def _detd_flops(sizes: tuple[int, ...], k: int) -> int:
    # an SVD, then k contractions to the n^2k result (det_kernels.py)
    n = sizes[0]
    return n ** 3 + n * k * n ** (2 * k)


def _cubic(sizes: tuple[int, ...]) -> int:
    return sizes[0] ** 3


def _linear(sizes: tuple[int, ...]) -> int:
    return 4 * math.prod(sizes)


_LOGDET = {
    "numpy": '''def _logdet(x):
    sign, value = np.linalg.slogdet(x)
    return value if sign > 0 else np.nan''',
    "jax": '''def _logdet(x):
    sign, value = jnp.linalg.slogdet(x)
    return jnp.where(sign > 0, value, jnp.nan)''',
    "dask": '''def _logdet(x):
    def block(b):
        sign, value = np.linalg.slogdet(b)
        return value if sign > 0 else np.nan
    return da.asarray(x).rechunk(-1).map_blocks(block, drop_axis=[0, 1], dtype=np.float64)''',
}


def _stable(xp: str) -> dict[str, dict[str, str]]:
    """softmax and logsumexp over all entries, shifted by the maximum (no overflow)."""
    return {
        "softmax": {"_softmax": f'''def _softmax(x):
    e = {xp}.exp(x - {xp}.max(x))
    return e / {xp}.sum(e)'''},
        "logsumexp": {"_logsumexp": f'''def _logsumexp(x):
    m = {xp}.max(x)
    return m + {xp}.log({xp}.sum({xp}.exp(x - m)))'''},
    }


_NP, _DA = _stable("np"), _stable("da")

# Dask: inv/det are meant for small (k x k) operands: one chunk, NumPy in one task
_DASK_INV = {"_inv": '''def _inv(x):
    # a small matrix: one chunk, inverted by NumPy in one task
    return da.asarray(x).rechunk(-1).map_blocks(np.linalg.inv, dtype=np.float64)'''}
_DASK_DET = {"_det": '''def _det(x):
    return da.asarray(x).rechunk(-1).map_blocks(np.linalg.det, drop_axis=[0, 1],
                                                  dtype=np.float64)'''}


def _diag(x: Node, shape) -> Node:
    if x.rank == 1:
        return einsum([x, delta(x.shape[0])], [(0,), (0, 1)], (0, 1))
    if x.rank == 2:
        return einsum([x], [(0, 0)], (0,))
    return x


def _norm2(x: Node, shape) -> Node:
    r = tuple(range(x.rank))
    return power(einsum([x, x], [r, r], ()), const(0.5))


ROWS: list[Row] = [
    # ---- primitives
    primitive("inv", typing="square", shape=lambda s: s, lower=lambda x, shape: inv(x),
              vjp=lambda y, g: ein("...kl,ki,jl->...ij", g, y, y, coef=-1.0),
              code={"numpy": "np.linalg.inv({0})", "torch": "torch.linalg.inv({0})",
                    "jax": "jnp.linalg.inv({0})", "dask": "_inv({0})"},
              helpers={"dask": _DASK_INV}, flops=_cubic, symmetric=True,
              latex="{atom}^{{-1}}", letter="Y"),
    primitive("det", typing="square->scalar", shape=lambda s: (), lower=lambda x, shape: det(x),
              # d det(X) = det(X) inv(X)'
              vjp=lambda y, g: ein("...,,ji->...ij", g, y, inv(y.args[0])),
              # evaluated as the cofactor matrix, from an SVD: also at a singular X
              eval_vjp=lambda y, g: ein("...,ij->...ij", g, detd(y.args[0], 1)),
              code={"numpy": "np.linalg.det({0})", "torch": "torch.linalg.det({0})",
                    "jax": "jnp.linalg.det({0})", "dask": "_det({0})"},
              helpers={"dask": _DASK_DET}, flops=_cubic, latex=r"\det"),
    # det's k-th derivative tensor, axes (i1, j1, ..., ik, jk): only evaluation IR holds it
    primitive("detd", typing="", own=("k",), language=False,
              shape=lambda s, k: tuple(s) * k, lower=lambda x, k, shape: detd(x, k),
              vjp=_detd_vjp,
              code="_detd({0}, {k})", helpers=DETD_HELPERS, flops=_detd_flops,
              latex=r"\det^{{({k})}}"),
    primitive("logdet", typing="square->scalar", shape=lambda s: (),
              lower=lambda x, shape: logdet(x),
              vjp=lambda y, g: ein("...,ji->...ij", g, inv(y.args[0])),
              code={"*": "_logdet({0})", "torch": "torch.logdet({0})"},
              helpers={"numpy": {"_logdet": _LOGDET["numpy"]}, "jax": {"_logdet": _LOGDET["jax"]},
                       "dask": {"_logdet": _LOGDET["dask"]}},
              flops=_cubic, latex=r"\log\det"),
    primitive("softmax", typing="vector", shape=lambda s: s, lower=lambda x, shape: softmax(x),
              # y .* (g - (g . y))
              vjp=lambda y, g: sub(ein("...i,i->...i", g, y), ein("...j,j,i->...i", g, y, y)),
              code={"*": "_softmax({0})", "torch": "torch.softmax({0}, 0)",
                    "jax": "jax.nn.softmax({0})"},
              helpers={"numpy": _NP["softmax"], "dask": _DA["softmax"]}, flops=_linear,
              latex=r"\operatorname{softmax}", letter="p"),
    primitive("logsumexp", typing="scalar", shape=lambda s: (),
              lower=lambda x, shape: logsumexp(x), vjp=_logsumexp_vjp,
              code={"*": "_logsumexp({0})", "torch": "torch.logsumexp(({0}).reshape(-1), 0)",
                    "jax": "jax.nn.logsumexp({0})"},
              helpers={"numpy": _NP["logsumexp"], "dask": _DA["logsumexp"]}, flops=_linear,
              latex=r"\operatorname{logsumexp}", letter="z"),
    # ---- reductions and structure, lowered to einsums, powers and primitives
    function("sum", kind="reduction", typing="scalar", lower=lambda x, shape: sum_all(x),
             latex=r"\operatorname{sum}"),
    function("tr", kind="reduction", typing="square->scalar",
             lower=lambda x, shape: einsum([x], [(0, 0)], ()) if x.rank == 2 else x,
             latex=r"\operatorname{tr}"),
    function("norm2", kind="reduction", typing="scalar", lower=_norm2,
             latex=r"\left\|{0}\right\|_2", letter="r"),
    function("norm1", kind="reduction", typing="scalar",
             lower=lambda x, shape: sum_all(func("abs", x)), latex=r"\left\|{0}\right\|_1"),
    function("diag", kind="structure", typing="diag", lower=_diag,
             latex=r"\operatorname{diag}"),
    # ---- constants: their arguments are dimensions
    function("ones", kind="constant", typing="dims", arity=(1, 2),
             lower=lambda *dims, shape: full(shape, 1.0), latex=r"\mathbf{{1}}_{{{args}}}"),
    function("eye", kind="constant", typing="dims",
             lower=lambda *dims, shape: delta(shape[0]) if shape else const(1.0),
             latex=r"I_{{{0}}}"),
]
