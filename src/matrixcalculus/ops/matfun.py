"""Matrix functions (principal branch) and their Fréchet derivatives: one row each.

expm, logm, sqrtm are primitives of one square argument; dexpm(X, E), dlogm(X, E),
dsqrtm(X, E) are their Fréchet derivatives L_f(X, E) (Higham, *Functions of Matrices*,
2008), primitives of two, linear in the direction E.  E may carry leading (Jacobian) axes:
L is then applied to each of its matrices, so an adjoint with extra axes stays one node.

The VJP of f(X) is L_f(X', G) (<G, L(X, E)> = <L(X', G), E>), which is also the VJP of
L_f(X, E) with respect to E.  The VJP of L_f(X, E) with respect to X, the second Fréchet
derivative, has no form in the language: it raises UnsupportedDerivativeError (the
rewrites of simplify.py often remove L before a second derivative is asked, as for
x'*expm(t*A)*x wrt t, order 2).

Code: NumPy by SciPy (expm, expm_frechet, logm, sqrtm, solve_sylvester) and the
block-triangular identity f([[X, E], [0, X]]) = [[f(X), L(X, E)], [0, f(X)]] (Al-Mohy &
Higham 2009) for dlogm; PyTorch by torch.linalg.matrix_exp (of the block matrix for
dexpm); logm and sqrtm in PyTorch and JAX by an eigendecomposition (eigh for a symmetric
argument, eig else) with the Daleckii-Krein formula for their derivatives; JAX's expm by
jax.scipy.linalg (expm_frechet); Dask: one chunk, NumPy in one task.  logm and sqrtm of a
matrix with an eigenvalue on (-inf, 0] are NaN in the generated code, which evaluate()
reports as a DomainError naming the row's `undefined`, never a complex number.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedDerivativeError
from ..ir.build import scale
from ..ir.functions import func, inv, prim, transpose
from ..ir.nodes import Node
from .row import Row, primitive


def _off_branch(x: np.ndarray) -> bool:
    """An eigenvalue on (-inf, 0]: no real principal logarithm or square root."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        return False
    w = np.linalg.eigvals(x)
    tol = 1e-12 * max(1.0, float(np.max(np.abs(w), initial=0.0)))
    return bool(np.any((np.abs(w.imag) <= tol) & (w.real <= tol)))


_UNDEFINED = ((_off_branch, "a matrix with an eigenvalue on (-inf, 0]"),)

# ------------------------------------------------------------------ the helpers' code
# Each backend's helper sources, name -> source, and which helpers each one calls
# (_NEEDS): _helpers(backend, name) gathers a helper with everything it calls.  PyTorch
# and JAX share one source for all but the eigendecomposition and dexpm, written over
# {xp}, the backend's array module.  Nothing branches in Python on a value: the helpers
# trace under jax.jit (a NaN for an argument off the branch is a where, the eigh/eig
# choice a lax.cond).
_NEEDS: dict[str, tuple[str, ...]] = {
    "_logm": ("_mfun",), "_sqrtm": ("_mfun",), "_dexpm": (),
    "_dlogm": ("_dk", "_dd_log"), "_dsqrtm": ("_dk", "_dd_sqrt"),
    "_mfun": ("_spectral", "_off_spectrum"), "_dk": ("_spectral", "_off_spectrum"),
}
_NP_NEEDS: dict[str, tuple[str, ...]] = {
    "_logm": ("_off_branch",), "_sqrtm": ("_off_branch",), "_dexpm": ("_each",),
    "_dlogm": ("_each", "_logm"), "_dsqrtm": ("_each", "_sqrtm"),
}

_NP = {
    "_off_branch": '''def _off_branch(x):
    # an eigenvalue on (-inf, 0]: no real principal logarithm or square root
    w = np.linalg.eigvals(x)
    tol = 1e-12 * max(1.0, float(np.max(np.abs(w), initial=0.0)))
    return bool(np.any((np.abs(w.imag) <= tol) & (w.real <= tol)))''',
    "_each": '''def _each(f, x, e):
    # L(X, E) for each matrix of E (its leading axes: a Jacobian's)
    e = np.asarray(e, dtype=np.float64)
    n = x.shape[-1]
    return np.reshape([f(x, b) for b in e.reshape(-1, n, n)], e.shape)''',
    "_logm": '''def _logm(x):
    if _off_branch(x):
        return np.full(x.shape, np.nan)
    return np.real(scipy.linalg.logm(x))''',
    "_sqrtm": '''def _sqrtm(x):
    if _off_branch(x):
        return np.full(x.shape, np.nan)
    return np.real(scipy.linalg.sqrtm(x))''',
    "_dexpm": '''def _dexpm(x, e):
    return _each(lambda x, b: scipy.linalg.expm_frechet(x, b, compute_expm=False), x, e)''',
    "_dlogm": '''def _dlogm(x, e):
    # logm([[X, E], [0, X]]) = [[logm(X), L], [0, logm(X)]]
    def one(x, b):
        n = x.shape[0]
        return _logm(np.block([[x, b], [np.zeros_like(x), x]]))[:n, n:]
    return _each(one, x, e)''',
    "_dsqrtm": '''def _dsqrtm(x, e):
    # sqrtm(X)*L + L*sqrtm(X) = E
    s = _sqrtm(x)
    return _each(lambda x, b: scipy.linalg.solve_sylvester(s, s, b), x, e)''',
}

# PyTorch and JAX: one source over {xp}; the spectrum is complex in both (eigh's too)
_SHARED = {
    "_off_spectrum": '''def _off_spectrum(w):
    # an eigenvalue on (-inf, 0]: no real principal logarithm or square root
    return {xp}.any(({xp}.abs(w.imag) <= 1e-12) & (w.real <= 0))''',
    "_mfun": '''def _mfun(x, f):
    w, v, vi = _spectral(x)
    y = {xp}.real((v * f(w)) @ vi)
    return {xp}.where(_off_spectrum(w), {xp}.full_like(y, float("nan")), y)''',
    "_dk": '''def _dk(x, e, dd):
    # Daleckii-Krein: L(X, E) = V (D .* (inv(V) E V)) inv(V), D the divided differences
    w, v, vi = _spectral(x)
    n = x.shape[-1]
    b = {xp}.reshape(e, (-1, n, n)) + 0j
    y = v @ (dd(w[:, None], w[None, :]) * (vi @ b @ v)) @ vi
    y = {xp}.reshape({xp}.real(y), e.shape)
    return {xp}.where(_off_spectrum(w), {xp}.full_like(y, float("nan")), y)''',
    # divided differences (f(a) - f(b))/(a - b), written without cancellation where a ~ b
    "_dd_log": '''def _dd_log(a, b):
    d = a - b
    small = {xp}.abs(d) <= 1e-8 * {xp}.abs(b)
    return {xp}.where(small, 1 / b - d / (2 * b * b),
                      {xp}.log(a / b) / {xp}.where(small, {xp}.ones_like(d), d))''',
    "_dd_sqrt": '''def _dd_sqrt(a, b):
    return 1 / ({xp}.sqrt(a) + {xp}.sqrt(b))''',
    "_logm": "def _logm(x):\n    return _mfun(x, {xp}.log)",
    "_sqrtm": "def _sqrtm(x):\n    return _mfun(x, {xp}.sqrt)",
    "_dlogm": "def _dlogm(x, e):\n    return _dk(x, e, lambda a, b: _dd_log(a, b))",
    "_dsqrtm": "def _dsqrtm(x, e):\n    return _dk(x, e, lambda a, b: _dd_sqrt(a, b))",
}
_XP = {"torch": "torch", "jax": "jnp"}
_OWN = {
    "torch": {
        "_spectral": '''def _spectral(x):
    # x = V diag(w) inv(V), complex: eigh's for a symmetric x, eig's else; both computed
    # and one taken by torch.where, never an `if` on the data (vmap, compile trace it)
    ws, vs = torch.linalg.eigh((x + x.mT) / 2)
    w, v = torch.linalg.eig(x)
    sym = torch.all(torch.abs(x - x.mT) <= 1e-14 + 1e-12 * torch.abs(x.mT))
    return (torch.where(sym, ws + 0j, w), torch.where(sym, vs + 0j, v),
            torch.where(sym, vs.mT + 0j, torch.linalg.inv_ex(v)[0]))''',
        "_dexpm": '''def _dexpm(x, e):
    # expm([[X, E], [0, X]]) = [[expm(X), L], [0, expm(X)]]
    n = x.shape[-1]
    b = e.reshape(-1, n, n)
    xs = x.expand_as(b)
    top = torch.cat([xs, b], -1)
    bottom = torch.cat([torch.zeros_like(b), xs], -1)
    return torch.linalg.matrix_exp(torch.cat([top, bottom], -2))[:, :n, n:].reshape(e.shape)''',
    },
    "jax": {
        "_spectral": '''def _spectral(x):
    # x = V diag(w) inv(V), complex: eigh for a symmetric x, eig else (lax.cond: jit-able)
    xt = jnp.swapaxes(x, -1, -2)

    def symmetric(x):
        w, v = jnp.linalg.eigh((x + xt) / 2)
        return w + 0j, v + 0j, jnp.swapaxes(v, -1, -2) + 0j

    def general(x):
        w, v = jnp.linalg.eig(x)
        return w, v, jnp.linalg.inv(v)
    return jax.lax.cond(jnp.allclose(x, xt, rtol=1e-12, atol=1e-14), symmetric, general, x)''',
        "_dexpm": '''def _dexpm(x, e):
    n = x.shape[-1]
    b = jnp.reshape(e, (-1, n, n))
    one = lambda m: jax.scipy.linalg.expm_frechet(x, m, compute_expm=False)
    return jnp.reshape(jax.vmap(one)(b), jnp.shape(e))''',
    },
}


def _source(backend: str, name: str) -> str:
    if backend == "numpy":
        return _NP[name]
    own = _OWN[backend].get(name)
    return own if own is not None else _SHARED[name].format(xp=_XP[backend])


def _helpers(backend: str, name: str) -> dict[str, str]:
    """The helper `name` of a backend (numpy, torch, jax) and every helper it calls."""
    needs = _NP_NEEDS if backend == "numpy" else _NEEDS
    out: dict[str, str] = {}
    todo = [name]
    while todo:
        n = todo.pop()
        if n not in out:
            out[n] = _source(backend, n)
            todo.extend(needs.get(n, ()))
    return out


def _dask(name: str, np_name: str, two: bool) -> dict[str, str]:
    """The NumPy helper in one task on one chunk (meant for small matrices)."""
    if two:
        src = f'''def {name}(x, e):
    # small matrices: one chunk each, NumPy in one task
    x, e = da.asarray(x).rechunk(-1), da.asarray(e).rechunk(-1)
    return da.map_blocks(lambda a, b: {np_name}(a, b), x, e, dtype=np.float64)'''
    else:
        src = f'''def {name}(x):
    # a small matrix: one chunk, NumPy in one task
    return da.asarray(x).rechunk(-1).map_blocks(lambda a: {np_name}(a), dtype=np.float64)'''
    return {name: src}


# ------------------------------------------------------------------ nodes and rules
_SCALAR = {"expm": "exp", "logm": "log", "sqrtm": "sqrt"}


def matfun(name: str, x: Node) -> Node:
    """f(X); of a scalar, the elementwise f."""
    return func(_SCALAR[name], x) if x.rank == 0 else prim(name, x)


def frechet(name: str, x: Node, e: Node) -> Node:
    """L_f(X, E) (name: its row, dexpm); of a scalar x, f'(x)*e."""
    if e.op == "zero":
        return e
    f = name[1:]
    if x.rank == 0:
        return _FPRIME[f](x) * e
    return prim(name, x, more=(e,))


_FPRIME = {     # f'(X), the derivative along a direction E that commutes with X: f'(X)*E
    "expm": lambda x: matfun("expm", x),
    "logm": inv,
    "sqrtm": lambda x: scale(0.5, inv(matfun("sqrtm", x))),
}


def fprime(name: str, x: Node) -> Node:
    return _FPRIME[name](x)


def _vjp(name: str):
    """The adjoint of f(X), and of L_f(X, E) wrt E: L_f(X', G)."""
    return lambda y, g: frechet("d" + name, transpose(y.args[0]), g)


def _second(name: str):
    def vjp(y: Node, g: Node) -> Node:
        # the person wrote f(X), never dname: name what they asked for
        f = name[1:]
        raise UnsupportedDerivativeError(
            f"the second derivative through {f}(X) needs {f}'s second Fréchet derivative, "
            f"which is not built yet (derivatives along a direction are: {f}(t*A) wrt t "
            f"works)")
    return vjp


def _cubic(sizes: tuple[int, ...]) -> int:
    return 20 * sizes[0] ** 3


def _rows(name: str, np_code: str, np_helpers: dict, torch_code: str, torch_helpers: dict,
          jax_code: str, jax_helpers: dict, undefined: tuple = ()) -> list[Row]:
    d = "d" + name
    domain = "spd" if undefined else "any"      # where check() draws a symmetric argument
    return [
        primitive(name, typing="square", shape=lambda s: s,
                  lower=lambda x, shape=None, name=name: matfun(name, x),
                  vjp=_vjp(name), undefined=undefined, symmetric=True, flops=_cubic,
                  domain=domain,
                  code={"numpy": np_code.format("{0}"), "torch": torch_code.format("{0}"),
                        "jax": jax_code.format("{0}"), "dask": f"_{name}_dask({{0}})"},
                  helpers={"numpy": np_helpers.get(name, {}),
                           "torch": torch_helpers.get(name, {}),
                           "jax": jax_helpers.get(name, {}),
                           "dask": {**_dask(f"_{name}_dask", _np_name(name), False),
                                    **np_helpers.get(name, {})}},
                  latex=rf"\operatorname{{{name}}}", letter="F", frechet=d,
                  fprime=_FPRIME[name]),
        primitive(d, typing="square2", arity=(2,), shape=lambda s, e: e,
                  lower=lambda x, e, shape=None, d=d: frechet(d, x, e),
                  vjp=(_second(d), _vjp(name)), undefined=undefined, symmetric=True,
                  domain=domain,
                  flops=lambda s: 3 * _cubic(s),
                  code={"numpy": f"_{d}({{0}}, {{1}})", "torch": f"_{d}({{0}}, {{1}})",
                        "jax": f"_{d}({{0}}, {{1}})", "dask": f"_{d}_dask({{0}}, {{1}})"},
                  helpers={"numpy": _helpers("numpy", f"_{d}"),
                           "torch": _helpers("torch", f"_{d}"),
                           "jax": _helpers("jax", f"_{d}"),
                           "dask": {**_dask(f"_{d}_dask", f"_{d}", True),
                                    **_helpers("numpy", f"_{d}")}},
                  latex=rf"L_{{\operatorname{{{name}}}}}", letter="L"),
    ]


def _np_name(name: str) -> str:
    return "scipy.linalg.expm" if name == "expm" else f"_{name}"


ROWS: list[Row] = [
    *_rows("expm", "scipy.linalg.expm({})", {}, "torch.linalg.matrix_exp({})", {},
           "jax.scipy.linalg.expm({})", {}),
    *_rows("logm", "_logm({})", {"logm": _helpers("numpy", "_logm")}, "_logm({})",
           {"logm": _helpers("torch", "_logm")}, "_logm({})",
           {"logm": _helpers("jax", "_logm")}, _UNDEFINED),
    *_rows("sqrtm", "_sqrtm({})", {"sqrtm": _helpers("numpy", "_sqrtm")}, "_sqrtm({})",
           {"sqrtm": _helpers("torch", "_sqrtm")}, "_sqrtm({})",
           {"sqrtm": _helpers("jax", "_sqrtm")}, _UNDEFINED),
]
