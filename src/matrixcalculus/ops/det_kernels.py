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
_TABLES = '''def _detd_tables(n, k):
    # combinations, the complement of each, every ordering of each (index into c) and
    # the signed permutations of the j axes
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
    return combos, rest, orders, owner, axes, spec'''

_NUMPY = '''def _detd(x, k):
    # the k-th derivative tensor of det at x, axes (i1, j1, ..., ik, jk), from an SVD:
    # smooth where x is singular: det(x + e) = det(u v') det(s + u'e v), s diagonal
    n = x.shape[0]
    if k > n:
        return np.zeros((n,) * (2 * k))
    combos, rest, orders, owner, axes, spec = _detd_tables(n, k)
    u, s, vt = np.linalg.svd(x)
    prods = np.prod(s[np.array(rest, dtype=np.intp).reshape(len(combos), n - k)], axis=1)
    c = np.zeros((n,) * k)
    c[tuple(np.array(orders, dtype=np.intp).T)] = prods[np.array(owner, dtype=np.intp)]
    p = u[:, None, :] * vt.T[None, :, :]
    t = np.einsum(spec, c, *([p] * k), optimize=True)
    d = sum(sign * t.transpose(perm) for sign, perm in axes)
    return (np.linalg.det(u) * np.linalg.det(vt)) * d'''

_TORCH = '''def _detd(x, k):
    # the k-th derivative tensor of det at x, axes (i1, j1, ..., ik, jk), from an SVD:
    # smooth where x is singular: det(x + e) = det(u v') det(s + u'e v), s diagonal
    n = x.shape[0]
    if k > n:
        return torch.zeros((n,) * (2 * k), dtype=x.dtype, device=x.device)
    combos, rest, orders, owner, axes, spec = _detd_tables(n, k)
    u, s, vh = torch.linalg.svd(x)
    index = torch.tensor(rest, dtype=torch.long, device=x.device).reshape(len(combos), n - k)
    prods = torch.prod(s[index], dim=1)
    where = tuple(torch.tensor(orders, dtype=torch.long, device=x.device).T)
    c = torch.zeros((n,) * k, dtype=x.dtype, device=x.device).index_put(
        where, prods[torch.tensor(owner, dtype=torch.long, device=x.device)])
    p = u[:, None, :] * vh.T[None, :, :]
    t = torch.einsum(spec, c, *([p] * k))
    d = sum(sign * t.permute(perm) for sign, perm in axes)
    return (torch.linalg.det(u) * torch.linalg.det(vh)) * d'''

_JAX = '''def _detd(x, k):
    # the k-th derivative tensor of det at x, axes (i1, j1, ..., ik, jk), from an SVD:
    # smooth where x is singular: det(x + e) = det(u v') det(s + u'e v), s diagonal
    n = x.shape[0]
    if k > n:
        return jnp.zeros((n,) * (2 * k), dtype=x.dtype)
    combos, rest, orders, owner, axes, spec = _detd_tables(n, k)
    u, s, vt = jnp.linalg.svd(x)
    prods = jnp.prod(s[jnp.array(rest, dtype=jnp.int32).reshape(len(combos), n - k)], axis=1)
    where = tuple(jnp.array(orders, dtype=jnp.int32).T)
    c = jnp.zeros((n,) * k, dtype=x.dtype).at[where].set(
        prods[jnp.array(owner, dtype=jnp.int32)])
    p = u[:, None, :] * vt.T[None, :, :]
    t = jnp.einsum(spec, c, *([p] * k))
    d = sum(sign * t.transpose(perm) for sign, perm in axes)
    return (jnp.linalg.det(u) * jnp.linalg.det(vt)) * d'''

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
