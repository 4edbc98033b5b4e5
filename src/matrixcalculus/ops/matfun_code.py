"""The generated code's helpers for the matrix functions of matfun.py, per backend.

Each backend's helper sources, name -> source, and which helpers each one calls (_NEEDS):
helpers(backend, name) gathers a helper with everything it calls.  PyTorch and JAX share
one source for all but the eigendecomposition and the exponential of a block matrix,
written over {xp}, the backend's array module.  Nothing branches in Python on a value:
the helpers trace under jax.jit (a NaN for an argument off the branch is a where, the
eigh/eig choice a lax.cond).

The k-th Fréchet derivative L^(k)(X; E1, ..., Ek) (Higham & Relton 2014) is f of the
block upper triangular matrix built once per direction, B <- [[B, I (x) E], [0, B]]: its
top-right n x n block (2^k n in all; NumPy, and expm everywhere).  logm and sqrtm in
PyTorch and JAX instead differentiate their defining identities k times, so only
first-order Daleckii-Krein solves at X itself are needed (the block matrix is never
diagonalisable): S*S = X gives S*L(A) + L(A)*S = -(sum over the splits of the directions A
into two nonempty parts B, C of L(B)*L(C)), and expm(logm(X)) = X gives
L_exp(Y; L(A)) = -(sum over the partitions of A into two or more blocks of
L_exp^(m)(Y; L(block 1), ..., L(block m))), Y = logm(X) (Faà di Bruno).  A direction may
carry leading (Jacobian) axes; those of several directions broadcast, aligned from the
right, as in the VJPs that pair them.
"""

from __future__ import annotations

_NEEDS: dict[str, tuple[str, ...]] = {
    "_logm": ("_mfun",), "_sqrtm": ("_mfun",), "_dexpm": ("_directions", "_expm_block"),
    "_dlogm": ("_dk", "_dd_log", "_directions", "_partitions", "_expm_block", "_logm"),
    "_dsqrtm": ("_dk", "_dd_sqrt", "_directions", "_submasks"),
    "_mfun": ("_spectral", "_off_spectrum"), "_dk": ("_spectral", "_off_spectrum"),
    "_partitions": ("_submasks",), "_expm_block": ("_kron_eye",),
    # a symmetric argument, known when the code is written (symmetric_helpers)
    "_logm_sym": ("_mfun_sym",), "_sqrtm_sym": ("_mfun_sym",),
    "_mfun_sym": ("_eigh_sym",), "_dk_sym": ("_eigh_sym",),
    "_dexpm_sym": ("_directions", "_expm_block", "_dk_sym", "_dd_exp"),
    "_dlogm_sym": ("_dk_sym", "_dd_log", "_directions", "_partitions", "_expm_block",
                   "_logm_sym"),
    "_dsqrtm_sym": ("_dk_sym", "_dd_sqrt", "_directions", "_submasks"),
}
_NP_NEEDS: dict[str, tuple[str, ...]] = {
    "_spectral": ("_off_branch", "_eigh_sym", "_positive"), "_dk": ("_positive",),
    "_logm": ("_spectral",), "_sqrtm": ("_spectral",),
    "_dexpm": ("_each", "_block", "_eigh_sym", "_dk", "_dd_exp"),
    "_dlogm": ("_each", "_logm", "_block", "_eigh_sym", "_dk", "_dd_log"),
    "_dsqrtm": ("_each", "_sqrtm", "_block", "_eigh_sym", "_dk", "_dd_sqrt"),
}

_NP = {
    "_off_branch": '''def _off_branch(x):
    # an eigenvalue on (-inf, 0]: no real principal logarithm or square root
    w = np.linalg.eigvals(x)
    tol = 1e-12 * max(1.0, float(np.max(np.abs(w), initial=0.0)))
    return bool(np.any((np.abs(w.imag) <= tol) & (w.real <= tol)))''',
    "_each": '''def _each(f, x, es):
    # f(x, [E1, ..., Ek]) for each matrix of the directions: their leading (Jacobian)
    # axes broadcast, aligned from the right
    x = np.asarray(x, dtype=np.float64)
    es = [np.asarray(e, dtype=np.float64) for e in es]
    n = x.shape[-1]
    lead = np.broadcast_shapes(*(e.shape[:-2] for e in es))
    flat = [np.broadcast_to(e, lead + (n, n)).reshape(-1, n, n) for e in es]
    out = [f(x, [b[i] for b in flat]) for i in range(flat[0].shape[0])]
    return np.reshape(out, lead + (n, n))''',
    "_block": '''def _block(x, es):
    # [[B, I (x) E], [0, B]] once per direction: f of it holds L^(k)(X; E1, ..., Ek) in
    # its top-right block (Higham & Relton 2014)
    b = x
    for e in es:
        z = np.kron(np.eye(b.shape[0] // x.shape[0]), e)
        b = np.block([[b, z], [np.zeros_like(b), b]])
    return b''',
    # a symmetric argument (to rounding; NumPy may test the data): eigh and the
    # Daleckii-Krein formula, several times cheaper than the Schur forms, expm_frechet
    # or f of the 2n block matrix
    "_eigh_sym": '''def _eigh_sym(x):
    # (w, V) of a symmetric x = V diag(w) V', None for any other x
    if x.ndim != 2 or not np.all(np.abs(x - x.T) <= 1e-14 + 1e-12 * np.abs(x)):
        return None
    return np.linalg.eigh((x + x.T) / 2)''',
    "_dk": '''def _dk(wv, e, dd, positive):
    # Daleckii-Krein: L(X, E) = V (D .* (V' E V)) V' for X = V diag(w) V' (E may carry
    # leading axes), D the divided differences of f; NaN off f's domain (positive: w > 0)
    w, v = wv
    if positive and not _positive(w):
        return np.full(np.shape(e), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = dd(w[:, None], w[None, :])
    return v @ (d * (v.T @ e @ v)) @ v.T''',
    # divided differences (f(a) - f(b))/(a - b), without cancellation where a ~ b
    "_dd_log": '''def _dd_log(a, b):
    d = a - b
    small = np.abs(d) <= 1e-8 * np.abs(b)
    return np.where(small, 1 / b - d / (2 * b * b), np.log1p(d / b) / np.where(small, 1, d))''',
    "_dd_sqrt": '''def _dd_sqrt(a, b):
    return 1 / (np.sqrt(a) + np.sqrt(b))''',
    "_dd_exp": '''def _dd_exp(a, b):
    # exp(max) (1 - exp(-|a - b|)) / |a - b|: no overflow, no cancellation
    d = np.abs(a - b)
    small = d <= 1e-8
    return np.exp(np.maximum(a, b)) * np.where(small, 1 - d / 2,
                                               -np.expm1(-d) / np.where(small, 1, d))''',
    "_positive": '''def _positive(w):
    # every eigenvalue of a symmetric matrix positive, to rounding: logm/sqrtm defined
    return bool(np.all(w > 1e-12 * max(1.0, float(np.max(np.abs(w))))))''',
    "_spectral": '''def _spectral(x, f, general):
    # f of a symmetric x through eigh (NaN unless positive definite); general(x), real,
    # for any other x (NaN with an eigenvalue on (-inf, 0])
    sym = _eigh_sym(x)
    if sym is not None:
        w, v = sym
        return (v * f(w)) @ v.T if _positive(w) else np.full(x.shape, np.nan)
    if _off_branch(x):
        return np.full(x.shape, np.nan)
    return np.real(general(x))''',
    "_logm": '''def _logm(x):
    return _spectral(x, np.log, scipy.linalg.logm)''',
    "_sqrtm": '''def _sqrtm(x):
    return _spectral(x, np.sqrt, scipy.linalg.sqrtm)''',
    "_dexpm": '''def _dexpm(x, *es):
    x = np.asarray(x, dtype=np.float64)
    sym = _eigh_sym(x) if len(es) == 1 else None
    if sym is not None:
        return _dk(sym, np.asarray(es[0], dtype=np.float64),
                   lambda a, b: _dd_exp(a, b), False)

    def one(x, bs):
        if len(bs) == 1:
            return scipy.linalg.expm_frechet(x, bs[0], compute_expm=False)
        # L^(k)(X; E1..Ek) = the top-right block of L(B, I (x) Ek), B the block matrix of
        # E1..E(k-1): expm_frechet's ~3 products of that size, not expm of twice its size
        # (8 products)
        n, b = x.shape[0], _block(x, bs[:-1])
        e = np.kron(np.eye(b.shape[0] // n), bs[-1])
        return scipy.linalg.expm_frechet(b, e, compute_expm=False)[:n, -n:]
    return _each(one, x, es)''',
    "_dlogm": '''def _dlogm(x, *es):
    x = np.asarray(x, dtype=np.float64)
    sym = _eigh_sym(x) if len(es) == 1 else None
    if sym is not None:
        return _dk(sym, np.asarray(es[0], dtype=np.float64),
                   lambda a, b: _dd_log(a, b), True)

    # logm([[X, E], [0, X]]) = [[logm(X), L], [0, logm(X)]]
    def one(x, bs):
        n = x.shape[0]
        return _logm(_block(x, bs))[:n, -n:]
    return _each(one, x, es)''',
    "_dsqrtm": '''def _dsqrtm(x, *es):
    x = np.asarray(x, dtype=np.float64)
    sym = _eigh_sym(x) if len(es) == 1 else None
    if sym is not None:
        return _dk(sym, np.asarray(es[0], dtype=np.float64),
                   lambda a, b: _dd_sqrt(a, b), True)
    # sqrtm(X)*L + L*sqrtm(X) = E at order 1
    s = _sqrtm(x)

    def one(x, bs):
        if len(bs) == 1:
            return scipy.linalg.solve_sylvester(s, s, bs[0])
        n = x.shape[0]
        return _sqrtm(_block(x, bs))[:n, -n:]
    return _each(one, x, es)''',
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
    "_directions": '''def _directions(x, es):
    # the directions as batches (b, n, n), their leading axes broadcast from the right
    n = x.shape[-1]
    lead = tuple({xp}.broadcast_shapes(*(tuple(e.shape[:-2]) for e in es)))
    flat = [{xp}.reshape({xp}.broadcast_to(e, lead + (n, n)), (-1, n, n)) for e in es]
    return flat, lead + (n, n)''',
    "_kron_eye": '''def _kron_eye(m, e):
    # I_m (x) E for each matrix E of a batch (b, n, n)
    n = e.shape[-1]
    eye = {xp}.eye(m, dtype=e.dtype{on_device})
    return {xp}.reshape({xp}.einsum("ij,bkl->bikjl", eye, e), (-1, m * n, m * n))''',
    "_submasks": '''def _submasks(mask):
    # the nonempty proper subsets of the bits of mask
    a = (mask - 1) & mask
    while a:
        yield a
        a = (a - 1) & mask''',
    "_partitions": '''def _partitions(mask):
    # the set partitions of the bits of mask, as lists of masks
    if mask == 0:
        return [[]]
    low = mask & -mask
    rest = mask ^ low
    out = [[mask]]
    for a in [rest ^ b for b in _submasks(rest)] + [0] * (rest != 0):
        out += [[a | low] + p for p in _partitions(rest ^ a)]
    return out''',
    "_dexpm": '''def _dexpm(x, *es):
    bs, shape = _directions(x, es)
    return {xp}.reshape(_expm_block(x, bs), shape)''',
    # a symmetric argument, known when the code is written: eigh alone, real arithmetic
    # (the general code runs eigh and eig both and picks one with a where)
    "_eigh_sym": '''def _eigh_sym(x):
    return {xp}.linalg.eigh((x + {xp}.swapaxes(x, -1, -2)) / 2)''',
    "_mfun_sym": '''def _mfun_sym(x, f):
    w, v = _eigh_sym(x)
    y = (v * f(w)) @ {xp}.swapaxes(v, -1, -2)
    return {xp}.where({xp}.any(w <= 0), {xp}.full_like(y, float("nan")), y)''',
    "_logm_sym": "def _logm_sym(x):\n    return _mfun_sym(x, {xp}.log)",
    "_sqrtm_sym": "def _sqrtm_sym(x):\n    return _mfun_sym(x, {xp}.sqrt)",
    "_dk_sym": '''def _dk_sym(x, e, dd, positive=True):
    # Daleckii-Krein for X = V diag(w) V': L(X, E) = V (D .* (V' E V)) V'; NaN off f's
    # domain (positive: w > 0)
    w, v = _eigh_sym(x)
    n = x.shape[-1]
    vt = {xp}.swapaxes(v, -1, -2)
    b = {xp}.reshape(e, (-1, n, n))
    y = {xp}.reshape(v @ (dd(w[:, None], w[None, :]) * (vt @ b @ v)) @ vt, e.shape)
    if not positive:
        return y
    return {xp}.where({xp}.any(w <= 0), {xp}.full_like(y, float("nan")), y)''',
    "_dd_exp": '''def _dd_exp(a, b):
    # exp(max) (1 - exp(-|a - b|)) / |a - b|: no overflow, no cancellation
    d = {xp}.abs(a - b)
    small = d <= 1e-8
    return {xp}.exp({xp}.maximum(a, b)) * {xp}.where(
        small, 1 - d / 2, -{xp}.expm1(-d) / {xp}.where(small, {xp}.ones_like(d), d))''',
    "_dexpm_sym": '''def _dexpm_sym(x, *es):
    # order 1 by Daleckii-Krein (not expm of the 2n block matrix), higher by the block
    bs, shape = _directions(x, es)
    if len(bs) > 1:
        return {xp}.reshape(_expm_block(x, bs), shape)
    return {xp}.reshape(_dk_sym(x, bs[0], lambda a, b: _dd_exp(a, b), False), shape)''',
    "_dlogm": '''def _dlogm(x, *es):
    # order k >= 2 by differentiating expm(logm(X)) = X (see the module)
    bs, shape = _directions(x, es)
    y, memo = _logm(x) if len(bs) > 1 else None, {{}}     # y for order k >= 2 only

    def d(mask):
        if mask not in memo:
            if mask & (mask - 1) == 0:
                memo[mask] = _dk(x, bs[mask.bit_length() - 1], lambda a, b: _dd_log(a, b))
            else:
                c = sum(_expm_block(y, [d(b) for b in p]) for p in _partitions(mask)
                        if len(p) > 1)
                memo[mask] = -_dk(x, c, lambda a, b: _dd_log(a, b))
        return memo[mask]
    return {xp}.reshape(d((1 << len(bs)) - 1), shape)''',
    "_dsqrtm": '''def _dsqrtm(x, *es):
    # order k >= 2 by differentiating sqrtm(X)^2 = X (see the module)
    bs, shape = _directions(x, es)
    memo = {{}}

    def d(mask):
        if mask not in memo:
            if mask & (mask - 1) == 0:
                memo[mask] = _dk(x, bs[mask.bit_length() - 1], lambda a, b: _dd_sqrt(a, b))
            else:
                c = sum(d(a) @ d(mask ^ a) for a in _submasks(mask))
                memo[mask] = -_dk(x, c, lambda a, b: _dd_sqrt(a, b))
        return memo[mask]
    return {xp}.reshape(d((1 << len(bs)) - 1), shape)''',
}


def _symmetric(src: str) -> str:
    """The order-k code of dlogm / dsqrtm for a symmetric X: the same recursion, its
    first-order solves and logm by eigh alone."""
    for a, b in (("_dk(x,", "_dk_sym(x,"), ("_logm(x)", "_logm_sym(x)"),
                 ("def _dlogm(", "def _dlogm_sym("), ("def _dsqrtm(", "def _dsqrtm_sym(")):
        src = src.replace(a, b)
    return src


_SHARED["_dlogm_sym"] = _symmetric(_SHARED["_dlogm"])
_SHARED["_dsqrtm_sym"] = _symmetric(_SHARED["_dsqrtm"])
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
        "_expm_block": '''def _expm_block(x, bs):
    # L_exp^(k)(X; E1, ..., Ek) for batches of directions: the top-right block of expm of
    # the block matrix (Higham & Relton 2014)
    n = x.shape[-1]
    b = x.expand_as(bs[0])
    for e in bs:
        z = _kron_eye(b.shape[-1] // n, e)
        b = torch.cat([torch.cat([b, z], -1), torch.cat([torch.zeros_like(b), b], -1)], -2)
    return torch.linalg.matrix_exp(b)[:, :n, -n:]''',
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
        "_expm_block": '''def _expm_block(x, bs):
    # order 1: expm_frechet; else the top-right block of expm of the block matrix
    n = x.shape[-1]
    if len(bs) == 1:
        one = lambda m: jax.scipy.linalg.expm_frechet(x, m, compute_expm=False)
        return jax.vmap(one)(bs[0])
    b = jnp.broadcast_to(x, bs[0].shape)
    for e in bs:
        z = _kron_eye(b.shape[-1] // n, e)
        b = jnp.concatenate([jnp.concatenate([b, z], -1),
                             jnp.concatenate([jnp.zeros_like(b), b], -1)], -2)
    return jax.vmap(jax.scipy.linalg.expm)(b)[:, :n, -n:]''',
    },
}


def _source(backend: str, name: str) -> str:
    if backend == "numpy":
        return _NP[name]
    own = _OWN[backend].get(name)
    # (a torch tensor made here goes where the data is: a CPU eye beside CUDA data fails)
    return own if own is not None else _SHARED[name].format(
        xp=_XP[backend], on_device=", device=e.device" if backend == "torch" else "")


def helpers(backend: str, name: str) -> dict[str, str]:
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


def dask(name: str, np_name: str, directions: bool) -> dict[str, str]:
    """The NumPy helper in one task on one chunk (meant for small matrices)."""
    if directions:
        src = f'''def {name}(x, *es):
    # small matrices: one chunk each, NumPy in one task
    x, es = da.asarray(x).rechunk(-1), [da.asarray(e).rechunk(-1) for e in es]
    return da.map_blocks(lambda a, *b: {np_name}(a, *b), x, *es, dtype=np.float64)'''
    else:
        src = f'''def {name}(x):
    # a small matrix: one chunk, NumPy in one task
    return da.asarray(x).rechunk(-1).map_blocks(lambda a: {np_name}(a), dtype=np.float64)'''
    return {name: src}
