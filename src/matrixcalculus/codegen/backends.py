"""What each array library calls things: one small table per backend (the emitter is
shared; each function's code is in its row in ops/, as a template per backend).

Helpers (prefixed `_`) are copied into the generated module only when used, and modules
beyond the array library (`scipy.special`) imported only when named, so the module
depends on nothing it does not use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..ops import row, rows


@dataclass(frozen=True)
class Backend:
    name: str
    imports: str
    xp: str                                  # module alias used in expressions
    helpers: dict[str, str] = field(default_factory=dict)   # the backend's own: name -> source
    gram: str = "_gram({0}, {1})"            # a' * diag(d) * a (not a function of the language)
    # a two-factor product summing shared labels ({spec}: its einsum spec); a sum over axes
    contract: str = "{xp}.einsum('{spec}', {0}, {1})"
    sum_axis: str = "{xp}.sum({0}, axis={1})"
    ones: str = "{xp}.ones({n})"
    eye: str = "{xp}.eye({n})"
    zeros: str = "{xp}.zeros({shape})"
    asarray: str = "{xp}.asarray({0})"
    literal: str = "{0}"        # a number given to a function (torch.log(0) needs a tensor)
    # sums of outer products over a 4-index output as one batched `@` (codegen/outer.py);
    # else one einsum over the stacked terms
    outer_matmul: bool = True
    prologue: str = ""          # first line of the body, when its names are used ({first}:
                                # the first array parameter)

    def template(self, name: str, own: tuple = (), symmetric: bool = False) -> str:
        """The code of a function or primitive, from its row in ops/; own: a primitive's
        own parameters (Node.own, detd's k), written in as literals; symmetric: its first
        argument is known symmetric (the row's code_symmetric, where it has one)."""
        r = row(name)
        code = (r.code_symmetric.get(self.name) if symmetric else None) or r.code[self.name]
        code = code.replace("{xp}", self.xp)
        for p, v in zip(r.own, own):
            code = code.replace("{" + p + "}", repr(v))
        return code

    @cached_property
    def all_helpers(self) -> dict[str, str]:
        """Every helper a generated module may need, name -> source: the backend's own and
        its rows' (gathered once per backend, not at each call of the emitter)."""
        out = dict(self.helpers)
        for r in rows():
            out.update(r.helpers.get(self.name, {}))
        return out


# modules a template may name beyond the backend's own: imported only when used
OPTIONAL_IMPORTS = {
    "scipy.special.": "import scipy.special",
    "scipy.linalg.": "import scipy.linalg",
    "jax.scipy.special.": "import jax.scipy.special",
    "jax.scipy.linalg.": "import jax.scipy.linalg",
}


# np.einsum runs its own loop for two factors unless it can hand them to tensordot, which
# knows no batch labels: a batched product (the row-wise outer products of a softmax
# Hessian) is one `@` on reshaped views; x is y (Z' Z) stays one symmetric product (syrk)
_CONTRACT = '''def _contract(spec, x, y):
    # a two-factor einsum whose labels are distinct and each shared and summed, shared and
    # kept (a batch) or one factor's and kept: one (batched) matrix product, BLAS
    ins, out = spec.split("->")
    tx, ty = ins.split(",")
    size = dict(zip(tx, x.shape))
    size.update(zip(ty, y.shape))
    batch = [c for c in out if c in tx and c in ty]
    summed = [c for c in tx if c in ty and c not in out]
    fx = [c for c in tx if c not in ty]
    fy = [c for c in ty if c not in tx]
    if list(out) == batch + fy + fx:            # y's labels first: y @ x writes them in order
        x, tx, y, ty, fx, fy = y, ty, x, tx, fy, fx

    def flat(labels):
        return int(np.prod([size[c] for c in labels]))

    def blas(a):                                # BLAS needs one unit-stride axis of two
        return a if a.itemsize in a.strides[-2:] else np.ascontiguousarray(a)
    a = np.transpose(x, [tx.index(c) for c in batch + fx + summed])
    b = np.transpose(y, [ty.index(c) for c in batch + summed + fy])
    lead = (flat(batch),) if batch else ()
    r = blas(a.reshape(lead + (flat(fx), flat(summed)))) @ \
        blas(b.reshape(lead + (flat(summed), flat(fy))))
    r = r.reshape([size[c] for c in batch + fx + fy])
    return np.transpose(r, [(batch + fx + fy).index(c) for c in out])'''


NUMPY = Backend(
    name="numpy",
    imports="import numpy as np",
    xp="np",
    helpers={"_gram": '''def _gram(a, d):
    # a' * D * a, D the diagonal matrix of d: one symmetric product (BLAS syrk,
    # half the flops) when d >= 0
    if np.all(d >= 0):
        z = a * np.sqrt(d)[:, None]
        return z.T @ z
    return a.T @ (a * d[:, None])''', "_contract": _CONTRACT},
    contract="_contract('{spec}', {0}, {1})",
)

# PyTorch and JAX: no `if` on the data anywhere (torch.func.vmap, torch.compile with
# fullgraph=True, jax.jit and jax.vmap trace the code); a' * D * a is the general product
# (NumPy's symmetric one for d >= 0 needs a test of d, and torch has no syrk to gain)
TORCH = Backend(
    name="torch",
    imports="import torch",
    xp="torch",
    gram="{0}.T @ ({0} * {1}[:, None])",
    # new tensors on the arguments' device (a GPU) and in their precision
    ones="torch.ones({n}, dtype=_dtype, device=_device)",
    eye="torch.eye({n}, dtype=_dtype, device=_device)",
    zeros="torch.zeros({shape}, dtype=_dtype, device=_device)",
    asarray="torch.as_tensor({0}, dtype=_dtype, device=_device)",
    literal="torch.tensor({0}, dtype=_dtype, device=_device)",
    prologue="_dtype, _device = {first}.dtype, {first}.device",
    sum_axis="torch.sum({0}, dim={1})",
)

JAX = Backend(
    name="jax",
    imports="import jax\nimport jax.numpy as jnp",
    xp="jnp",
    gram="{0}.T @ ({0} * {1}[:, None])",
)

# Dask: the same code on chunked arrays.  Every step stays lazy and blockwise: `@` over a
# row-chunked axis is a sum of per-chunk products, elementwise functions map over chunks,
# and reductions (sum, max) are tree reductions.  inv/det/logdet are meant for small
# (k x k) operands: the operand becomes one chunk and NumPy runs on it in one task.
DASK = Backend(
    name="dask",
    imports="import dask.array as da\nimport numpy as np",
    xp="da",
    outer_matmul=False,
    helpers={"_gram": '''def _gram(a, d):
    # a' * D * a, D the diagonal matrix of d: with a chunked by rows, the sum over the
    # rows is a sum of per-chunk k x k products (the rows are never gathered)
    return a.T @ (a * d[:, None])'''},
)
