"""The derivative tensors of det, evaluated stably: the kernels of detd(X, k), per backend.

detd(X, k)[i1, j1, ..., ik, jk] = d^k det(X) / dX[i1,j1] ... dX[ik,jk] (k = 1: the cofactor
matrix, adj(X)').  Each is a polynomial in X, smooth where X is singular, so it is computed
from an SVD X = U diag(s) V', never from inv(X):

    det(X + E) = det(U V') det(diag(s) + U'EV)

and at a diagonal matrix the k-th derivative is nonzero only at distinct a1..ak with {b} a
permutation of {a}: sign(perm) * prod_{m not in {a}} s_m.  So with c[a1..ak] that product
(zero unless the a's are distinct) and P[i,j,a] = U[i,a] V[j,a],

    T[i1,j1,...] = sum_a c[a1..ak] prod_m P[i_m, j_m, a_m]
    detd(X, k)   = det(U V') sum_tau sign(tau) T[i1, j_tau(1), ..., ik, j_tau(k)].

The products are taken per combination (no division by a singular value), and every
branch is on the sizes n and k, never on data: the torch and JAX kernels trace.

Each kernel is source text: a helper of detd's row, copied into the generated modules that
call it (and compiled, like every row's template, for the evaluator's diagnosis).
"""

from __future__ import annotations

# the index tables depend only on (n, k): shared by every backend's kernel
_TABLES = '''_DETD_TABLES = {}


def _detd_tables(n, k):
    # combinations, the complement of each, every ordering of each (index into c) and
    # the signed permutations of the j axes; computed once per (n, k)
    if (n, k) in _DETD_TABLES:
        return _DETD_TABLES[n, k]
    import itertools
    combos = list(itertools.combinations(range(n), k))
    rest = [[m for m in range(n) if m not in c] for c in combos]
    orders, owner = [], []
    for j, c in enumerate(combos):
        for p in itertools.permutations(c):
            orders.append(p)
            owner.append(j)
    axes = []
    for t in itertools.permutations(range(k)):
        inversions = sum(t[a] > t[b] for a in range(k) for b in range(a + 1, k))
        perm = [q for m in range(k) for q in (2 * m, 2 * t[m] + 1)]
        axes.append((-1.0 if inversions % 2 else 1.0, perm))
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    a, ij = letters[:k], letters[k:3 * k]
    spec = a + "," + ",".join(ij[2 * m:2 * m + 2] + a[m] for m in range(k)) + "->" + ij
    _DETD_TABLES[n, k] = combos, rest, orders, owner, axes, spec
    return _DETD_TABLES[n, k]'''

_NUMPY = '''def _detd(x, k):
    # the k-th derivative tensor of det at x, axes (i1, j1, ..., ik, jk), from an SVD:
    # smooth where x is singular: det(x + e) = det(u v') det(s + u'e v), s diagonal
    n = x.shape[0]
    if k > n:
        return np.zeros((n,) * (2 * k))
    u, s, vt = np.linalg.svd(x)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    if k == 1:
        # the cofactor matrix u c v', c[a] the product of the other singular values (the
        # products before a times those after: no division by a singular value)
        c = np.concatenate(([1.0], np.cumprod(s[:-1]))) * \\
            np.concatenate((np.cumprod(s[::-1][:-1])[::-1], [1.0]))
        return sign * ((u * c) @ vt)
    combos, rest, orders, owner, axes, spec = _detd_tables(n, k)
    prods = np.prod(s[np.array(rest, dtype=np.intp).reshape(len(combos), n - k)], axis=1)
    c = np.zeros((n,) * k)
    c[tuple(np.array(orders, dtype=np.intp).T)] = prods[np.array(owner, dtype=np.intp)]
    p = u[:, None, :] * vt.T[None, :, :]
    t = np.einsum(spec, c, *([p] * k), optimize=True)
    return sign * sum(pm * t.transpose(perm) for pm, perm in axes)'''

_TORCH = '''def _detd(x, k):
    # the k-th derivative tensor of det at x, axes (i1, j1, ..., ik, jk), from an SVD:
    # smooth where x is singular: det(x + e) = det(u v') det(s + u'e v), s diagonal
    n = x.shape[0]
    if k > n:
        return torch.zeros((n,) * (2 * k), dtype=x.dtype, device=x.device)
    u, s, vh = torch.linalg.svd(x)
    sign = torch.linalg.det(u) * torch.linalg.det(vh)
    if k == 1:      # the cofactor matrix (see the NumPy kernel)
        one = torch.ones(1, dtype=x.dtype, device=x.device)
        c = torch.cat([one, torch.cumprod(s[:-1], 0)]) * \\
            torch.cat([torch.flip(torch.cumprod(torch.flip(s, [0])[:-1], 0), [0]), one])
        return sign * ((u * c) @ vh)
    combos, rest, orders, owner, axes, spec = _detd_tables(n, k)
    index = torch.tensor(rest, dtype=torch.long, device=x.device).reshape(len(combos), n - k)
    prods = torch.prod(s[index], dim=1)
    where = tuple(torch.tensor(orders, dtype=torch.long, device=x.device).T)
    c = torch.zeros((n,) * k, dtype=x.dtype, device=x.device).index_put(
        where, prods[torch.tensor(owner, dtype=torch.long, device=x.device)])
    p = u[:, None, :] * vh.T[None, :, :]
    t = torch.einsum(spec, c, *([p] * k))
    return sign * sum(pm * t.permute(perm) for pm, perm in axes)'''

_JAX = '''def _detd(x, k):
    # the k-th derivative tensor of det at x, axes (i1, j1, ..., ik, jk), from an SVD:
    # smooth where x is singular: det(x + e) = det(u v') det(s + u'e v), s diagonal
    n = x.shape[0]
    if k > n:
        return jnp.zeros((n,) * (2 * k), dtype=x.dtype)
    u, s, vt = jnp.linalg.svd(x)
    sign = jnp.linalg.det(u) * jnp.linalg.det(vt)
    if k == 1:      # the cofactor matrix (see the NumPy kernel)
        one = jnp.ones(1, dtype=x.dtype)
        c = jnp.concatenate([one, jnp.cumprod(s[:-1])]) * \\
            jnp.concatenate([jnp.cumprod(s[::-1][:-1])[::-1], one])
        return sign * ((u * c) @ vt)
    combos, rest, orders, owner, axes, spec = _detd_tables(n, k)
    prods = jnp.prod(s[jnp.array(rest, dtype=jnp.int32).reshape(len(combos), n - k)], axis=1)
    where = tuple(jnp.array(orders, dtype=jnp.int32).T)
    c = jnp.zeros((n,) * k, dtype=x.dtype).at[where].set(
        prods[jnp.array(owner, dtype=jnp.int32)])
    p = u[:, None, :] * vt.T[None, :, :]
    t = jnp.einsum(spec, c, *([p] * k))
    return sign * sum(pm * t.transpose(perm) for pm, perm in axes)'''

# Dask: the operand is small (n x n); one chunk, the NumPy kernel in one task
_DASK = '''def _detd(x, k):
    x = da.asarray(x).rechunk(-1)
    n = x.shape[0]
    return x.map_blocks(_detd_np, k, new_axis=list(range(2, 2 * k)),
                        chunks=((n,),) * (2 * k), dtype=np.float64)'''


_NUMPY_NP = _NUMPY.replace("def _detd(", "def _detd_np(", 1)

# backend -> {helper name: source}: detd's row helpers (ops/matrix.py); a generated module
# gets _detd and what it calls (_detd_tables, Dask's _detd_np)
HELPERS: dict[str, dict[str, str]] = {
    "numpy": {"_detd": _NUMPY, "_detd_tables": _TABLES},
    "torch": {"_detd": _TORCH, "_detd_tables": _TABLES},
    "jax": {"_detd": _JAX, "_detd_tables": _TABLES},
    # (_detd_np is passed to map_blocks, not called: one helper with the Dask kernel)
    "dask": {"_detd": _NUMPY_NP + "\n\n\n" + _DASK, "_detd_tables": _TABLES},
}
