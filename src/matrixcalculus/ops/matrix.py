"""Reductions, matrix primitives, structure and constants: one row each.

A primitive (inv, det, logdet, softmax, logsumexp) is one IR node kind (Op.PRIM); its row
carries the VJP, written as einsums whose `...` is the adjoint's extra (Jacobian) axes:
the adjoint of X from G = d(out)/d(node) is `vjp(node, G)`.  The other rows lower to
einsums, powers and primitives, which carry their own rules.
"""

from __future__ import annotations

import math

from ..ir import kron as K
from ..ir.build import const, delta, einsum, full, power, sub
from ..ir.functions import (
    det,
    detd,
    ein,
    func,
    inv,
    logdet,
    logsumexp,
    mean_along,
    softmax,
    spread,
    sum_all,
    sum_along,
)
from ..ir.nodes import Node
from .det_kernels import HELPERS as DETD_HELPERS
from .row import Row, function, primitive

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _softmax_vjp(node: Node, g: Node) -> Node:
    """y .* (g - sum_a(g .* y)) along the softmax's axis a."""
    axes = _LETTERS[:node.rank]
    a = node.own[0]
    summed = axes[:a] + "z" + axes[a + 1:]       # the axis summed over, relabelled
    return sub(ein(f"...{axes},{axes}->...{axes}", g, node),
               ein(f"...{summed},{summed},{axes}->...{axes}", g, node, node))


def _logsumexp_vjp(node: Node, g: Node) -> Node:
    """The gradient of logsumexp over some axes is the softmax over them (along one axis:
    softmax(X, k), the node the answers print)."""
    x, (reduced,) = node.args[0], node.own
    if len(reduced) == 1:
        p = softmax(x, reduced[0])
    else:
        p = func("exp", sub(x, spread(node, x, reduced)))
    axes = _LETTERS[:x.rank]
    kept_axes = "".join(c for i, c in enumerate(axes) if i not in reduced)
    return ein(f"...{kept_axes},{axes}->...{axes}", g, p)


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


# softmax and logsumexp along axes: SciPy's (shifted by the maximum, no overflow); Dask's
# own, reduced blockwise
_DASK_SOFTMAX = {"_softmax": '''def _softmax(x, axis):
    e = da.exp(x - da.max(x, axis=axis, keepdims=True))
    return e / da.sum(e, axis=axis, keepdims=True)'''}
_DASK_LOGSUMEXP = {"_logsumexp": '''def _logsumexp(x, axes):
    m = da.max(x, axis=axes, keepdims=True)
    return da.squeeze(m, axis=axes) + da.log(da.sum(da.exp(x - m), axis=axes))'''}


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
    primitive("softmax", typing="vector", own=("axis",), arity=(1, 2),
              shape=lambda s, axis: s, lower=lambda x, axis=0, shape=None: softmax(x, axis),
              along=softmax, vjp=_softmax_vjp,
              shows=lambda n: (n.own[0] + 1,) if n.rank >= 2 else (),
              code={"numpy": "scipy.special.softmax({0}, axis={axis})",
                    "torch": "torch.softmax({0}, {axis})",
                    "jax": "jax.nn.softmax({0}, axis={axis})", "dask": "_softmax({0}, {axis})"},
              helpers={"dask": _DASK_SOFTMAX}, flops=lambda s, axis: _linear(s),
              latex=r"\operatorname{softmax}", letter="p"),
    primitive("logsumexp", typing="scalar", own=("axes",), arity=(1, 2),
              shape=lambda s, axes: tuple(d for i, d in enumerate(s) if i not in axes),
              lower=lambda x, axes=None, shape=None: logsumexp(x, axes),
              along=lambda x, a: logsumexp(x, (a,)), vjp=_logsumexp_vjp,
              shows=lambda n: () if len(n.own[0]) == n.args[0].rank else (n.own[0][0] + 1,),
              reduces_along=True,
              code={"numpy": "scipy.special.logsumexp({0}, axis={axes})",
                    "torch": "torch.logsumexp({0}, {axes})",
                    "jax": "jax.nn.logsumexp({0}, axis={axes})",
                    "dask": "_logsumexp({0}, {axes})"},
              helpers={"dask": _DASK_LOGSUMEXP}, flops=lambda s, axes: _linear(s),
              latex=r"\operatorname{logsumexp}", letter="z"),
    # ---- reductions and structure, lowered to einsums, powers and primitives
    function("sum", kind="reduction", typing="scalar", lower=lambda x, shape: sum_all(x),
             along=sum_along, latex=r"\operatorname{sum}"),
    function("mean", kind="reduction", typing="scalar",
             lower=lambda x, shape: mean_along(x, tuple(range(x.rank))),
             along=lambda x, a: mean_along(x, (a,)), latex=r"\operatorname{mean}"),
    function("tr", kind="reduction", typing="square->scalar",
             lower=lambda x, shape: einsum([x], [(0, 0)], ()) if x.rank == 2 else x,
             latex=r"\operatorname{tr}"),
    function("norm2", kind="reduction", typing="scalar", lower=_norm2,
             latex=r"\left\|{0}\right\|_2", letter="r"),
    function("norm1", kind="reduction", typing="scalar",
             lower=lambda x, shape: sum_all(func("abs", x)), latex=r"\left\|{0}\right\|_1"),
    function("diag", kind="structure", typing="diag", lower=_diag,
             latex=r"\operatorname{diag}"),
    # kron and vec: `rows` says how many IR axes of each argument are row axes (a product
    # dimension is a group of axes, ir/kron.py)
    function("kron", kind="structure", typing="kron", arity=(2,),
             lower=lambda a, b, shape, rows: K.kron(a, b, *rows),
             latex=r"\left({0} \otimes {1}\right)"),
    function("vec", kind="structure", typing="vec",
             lower=lambda x, shape, rows: K.swap(x, rows[0]), latex=r"\operatorname{vec}"),
    # ---- constants: their arguments are dimensions
    function("ones", kind="constant", typing="dims", arity=(1, 2),
             lower=lambda *dims, shape: full(shape, 1.0), latex=r"\mathbf{{1}}_{{{args}}}"),
    function("eye", kind="constant", typing="dims",
             lower=lambda *dims, shape: delta(shape[0]) if shape else const(1.0),
             latex=r"I_{{{0}}}"),
]
