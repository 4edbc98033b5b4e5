"""Matrix functions (principal branch) and their Fréchet derivatives: one row each.

expm, logm, sqrtm are primitives of one square argument; dexpm(X, E1, ..., Ek) (dlogm,
dsqrtm) is the k-th Fréchet derivative L_f^(k)(X; E1, ..., Ek) (Higham, *Functions of
Matrices*, 2008; Higham & Relton 2014), symmetric and linear in each direction: k = 1 is
L_f(X, E).  A direction may carry leading (Jacobian) axes: L is then applied to each of its
matrices, so an adjoint with extra axes stays one node; several directions' leading axes
broadcast, aligned from the right (the VJP below pairs them).

The VJP of f(X) is L_f(X', G) (<G, L(X, E)> = <L(X', G), E>); of L^(k)(X; E...), with
respect to a direction, L^(k)(X'; E'..., G) (G in its place), and with respect to X the
next order, L^(k+1)(X'; E1', ..., Ek', G): one rule for every order, so Hessians and third
derivatives through a matrix function are the same code.

Code (ops/matfun_code.py): NumPy by SciPy (expm, expm_frechet, logm, sqrtm,
solve_sylvester) and the block-triangular identity f([[X, E], [0, X]]) = [[f(X), L], [0,
f(X)]] (Al-Mohy & Higham 2009), one block level per direction for L^(k); PyTorch by
torch.linalg.matrix_exp (of the block matrix for dexpm); logm and sqrtm in PyTorch and JAX
by an eigendecomposition (eigh for a symmetric argument, eig else) with the Daleckii-Krein
formula for their first derivatives, the k-th from their defining identities; JAX's expm
by jax.scipy.linalg (expm_frechet); Dask: one chunk, NumPy in one task.  logm and sqrtm of
a matrix with an eigenvalue on (-inf, 0] are NaN in the generated code, which evaluate()
reports as a DomainError naming the row's `undefined`, never a complex number.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import UnsupportedDerivativeError
from ..ir.build import const, einsum, power, scale, zero
from ..ir.functions import func, hadamard, inv, prim, transpose
from ..ir.nodes import Node
from . import matfun_code as code
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

# ------------------------------------------------------------------ nodes and rules
_SCALAR = {"expm": "exp", "logm": "log", "sqrtm": "sqrt"}
MAX_DIRECTIONS = 8      # dexpm(X, E1, ..., E8): f of a 256n x 256n block matrix


def matfun(name: str, x: Node) -> Node:
    """f(X); of a scalar, the elementwise f."""
    return func(_SCALAR[name], x) if x.rank == 0 else prim(name, x)


def lead_shape(*shapes: tuple) -> tuple:
    """The directions' leading (Jacobian) axes, broadcast from the right (a VJP pairs
    them: G's are the node's, after the adjoint's own)."""
    out: tuple = ()
    for s in shapes:
        lead = tuple(s[:-2])
        if len(lead) > len(out):
            out = lead
    return out


def _shape(x: tuple, *es: tuple) -> tuple:
    return lead_shape(*es) + tuple(es[-1][-2:])


def frechet(name: str, x: Node, *es: Node) -> Node:
    """L_f^(k)(X; E1, ..., Ek), the k-th Fréchet derivative (name: its row, dexpm), linear
    in each direction; of a scalar x, f^(k)(x)*E1*...*Ek."""
    if any(e.op == "zero" for e in es):
        return zero(_shape(x.shape, *(e.shape for e in es)) if x.rank else
                    max((e.shape for e in es), key=len))
    f = name[1:]
    if x.rank == 0:
        if len(es) > 1 and len({e.shape for e in es}) > 1:
            raise UnsupportedDerivativeError(f"{name} of a scalar along directions of "
                                             "different shapes")
        out = derivative_k(f, x, len(es))
        for e in es:
            out = out * e
        return out
    return prim(name, x, more=es)


_FPRIME = {     # f'(X) of a matrix as printed (expm's: derivative_k), f'(X)*E along E
    "logm": inv,
    "sqrtm": lambda x: scale(0.5, inv(matfun("sqrtm", x))),
}


def _falling(p: float, k: int) -> float:
    """p (p - 1) ... (p - k + 1): the k-th derivative of x^p is that times x^(p - k)."""
    return math.prod(p - j for j in range(k))


# f^(k), k >= 1: expm's is expm; logm's and sqrtm's are c_k x^(p - k), x^p's k-th
# derivative (logm: p = 0 and c_k = (-1)(-2)...(-(k - 1)), from log's x^-1)
_POWER_LIKE = {"logm": (0.0, lambda k: _falling(-1.0, k - 1)),
               "sqrtm": (0.5, lambda k: _falling(0.5, k))}


def derivative_k(name: str, x: Node, k: int = 1) -> Node:
    """f^(k)(x) of a scalar x, or of a matrix X: L^(k)(X; E1, ..., Ek) is f^(k)(X)*E1*...*Ek
    for directions that commute with X (X^(p - k) there is sqrtm(X) for p's half, then
    inv(X) k times; k = 1 is f'(X) as _FPRIME writes it)."""
    if name == "expm":
        return func("exp", x) if x.rank == 0 else prim("expm", x)
    if x.rank and k == 1:
        return _FPRIME[name](x)
    p, c = _POWER_LIKE[name]
    if x.rank == 0:
        return scale(c(k), power(x, const(p - k)))
    mats = ([prim("sqrtm", x)] if p else []) + [inv(x)] * k
    return einsum(mats, [(j, j + 1) for j in range(len(mats))], (0, len(mats)), c(k))


def _t(e: Node) -> Node:
    """E' over the last two axes (a direction's leading axes stay)."""
    ix = tuple(range(e.rank))
    return einsum([e], [ix], ix[:-2] + (ix[-1], ix[-2])) if e.rank >= 2 else e


def _vjp(name: str, j: int):
    """The adjoint of argument j of L^(k)(X; E1, ..., Ek) (j = 0: X; f(X) is k = 0), by
    <G, L^(k+1)(X; E1, ..., Ek, F)> = <L^(k+1)(X'; E1', ..., Ek', G), F> (term by term of
    f's power series), and the same with G in Ej's place for a direction: higher Fréchet
    derivatives by the one rule (Higham & Relton 2014).  The node's leading axes P pair
    with G's last ones; the adjoint sums those that argument j lacks."""
    def vjp(y: Node, g: Node) -> Node:
        x, es = y.args[0], y.args[1:]
        others = [_t(e) for i, e in enumerate(es, 1) if i != j]
        out = frechet("d" + name, transpose(x), *others, g)
        pre = g.rank - y.rank                       # the adjoint's own axes
        summed = y.rank - y.args[j].rank            # P's axes that argument j lacks
        if summed == 0 or out.op == "zero":
            return out if out.op != "zero" else zero(g.shape[:pre] + y.args[j].shape)
        ix = tuple(range(out.rank))
        return einsum([out], [ix], ix[:pre] + ix[pre + summed:])
    return vjp


def _jvp(name: str):
    """The tangent of L^(k)(X; E1, ..., Ek) (f(X) is k = 0) from the tangent T of argument
    j: along X the next order, L^(k+1)(X; E1, ..., Ek, T); along a direction Ej, T in its
    place (L is linear in each).  Forward mode (forward.py) needs no transposition here."""
    def jvp(y: Node, j: int, t: Node) -> Node:
        x, es = y.args[0], y.args[1:]
        c, t = _scalar_factors(t)      # t*dA: t*L(X, dA), as the Hessian's product prints
        if j == 0:
            out = frechet("d" + name, x, *es, t)
        else:
            out = frechet("d" + name, x, *(t if i == j else e for i, e in enumerate(es, 1)))
        return out if c is None else hadamard(c, out)
    return jvp


def _scalar_factors(e: Node) -> tuple[Node | None, Node]:
    """e as c * rest, c its scalar factors (None where it has none): L is linear in
    each direction, so they move outside."""
    if e.op != "einsum" or not any(a.rank == 0 for a in e.args):
        return None, e
    keep = [(a, ix) for a, ix in zip(e.args, e.indices) if a.rank]
    scalars = [a for a in e.args if a.rank == 0]
    rest = einsum([a for a, _ in keep], [ix for _, ix in keep], e.out)
    c = einsum(scalars, [()] * len(scalars), (), e.coef)
    return c, rest


def _cubic(sizes: tuple[int, ...]) -> int:
    return 20 * sizes[0] ** 3


def _frechet_flops(x: tuple, *es: tuple) -> int:
    """f of the 2^k n block matrix, for each matrix of the directions."""
    lead = math.prod(lead_shape(*es)) if lead_shape(*es) else 1
    return lead * _cubic((2 ** len(es) * x[0],))


def _rows(name: str, np_code: str, np_helpers: dict, torch_code: str, torch_helpers: dict,
          jax_code: str, jax_helpers: dict, undefined: tuple = ()) -> list[Row]:
    d = "d" + name
    domain = "spd" if undefined else "any"      # where check() draws a symmetric argument
    return [
        primitive(name, typing="square", shape=lambda s: s,
                  lower=lambda x, shape=None, name=name: matfun(name, x),
                  vjp=_vjp(name, 0), jvp=_jvp(name), undefined=undefined, symmetric=True,
                  flops=_cubic, domain=domain,
                  code={"numpy": np_code.format("{0}"), "torch": torch_code.format("{0}"),
                        "jax": jax_code.format("{0}"), "dask": f"_{name}_dask({{0}})"},
                  helpers={"numpy": np_helpers.get(name, {}),
                           "torch": {**torch_helpers.get(name, {}),
                                     **_symmetric_helpers("torch", name)},
                           "jax": {**jax_helpers.get(name, {}),
                                   **_symmetric_helpers("jax", name)},
                           "dask": {**code.dask(f"_{name}_dask", _np_name(name), False),
                                    **np_helpers.get(name, {})}},
                  latex=rf"\operatorname{{{name}}}", letter="F", frechet=d,
                  fprime=lambda x, k=1, name=name: derivative_k(name, x, k),
                  code_symmetric=_symmetric_code(name, "{0}")),
        # dexpm(X, E1, ..., Ek): one row for every order k, each order's VJP the next's
        primitive(d, typing="square2", arity=tuple(range(2, MAX_DIRECTIONS + 2)),
                  shape=_shape,
                  lower=lambda x, *es, shape=None, d=d: frechet(d, x, *es),
                  vjp=tuple(_vjp(name, j) for j in range(MAX_DIRECTIONS + 1)),
                  jvp=_jvp(name),
                  undefined=undefined, symmetric=True, domain=domain,
                  flops=_frechet_flops,
                  code={b: f"_{d}({{args}})" for b in ("numpy", "torch", "jax")}
                  | {"dask": f"_{d}_dask({{args}})"},
                  helpers={"numpy": code.helpers("numpy", f"_{d}"),
                           "torch": {**code.helpers("torch", f"_{d}"),
                                     **_symmetric_helpers("torch", d)},
                           "jax": {**code.helpers("jax", f"_{d}"),
                                   **_symmetric_helpers("jax", d)},
                           "dask": {**code.dask(f"_{d}_dask", f"_{d}", True),
                                    **code.helpers("numpy", f"_{d}")}},
                  latex=rf"L_{{\operatorname{{{name}}}}}", letter="L",
                  code_symmetric=_symmetric_code(d, "{args}")),
    ]


def _symmetric_code(name: str, args: str) -> dict[str, str]:
    """PyTorch and JAX where the argument is known symmetric: eigh alone (NumPy tests the
    data itself); expm's value has none (matrix_exp is no slower than eigh)."""
    if name == "expm":
        return {}
    return {b: f"_{name}_sym({args})" for b in ("torch", "jax")}


def _symmetric_helpers(backend: str, name: str) -> dict[str, str]:
    return code.helpers(backend, f"_{name}_sym") if name != "expm" else {}


def _np_name(name: str) -> str:
    return "scipy.linalg.expm" if name == "expm" else f"_{name}"


def _h(backend: str, name: str) -> dict[str, dict[str, str]]:
    return {name: code.helpers(backend, f"_{name}")}


ROWS: list[Row] = [
    *_rows("expm", "scipy.linalg.expm({})", {}, "torch.linalg.matrix_exp({})", {},
           "jax.scipy.linalg.expm({})", {}),
    *_rows("logm", "_logm({})", _h("numpy", "logm"), "_logm({})", _h("torch", "logm"),
           "_logm({})", _h("jax", "logm"), _UNDEFINED),
    *_rows("sqrtm", "_sqrtm({})", _h("numpy", "sqrtm"), "_sqrtm({})", _h("torch", "sqrtm"),
           "_sqrtm({})", _h("jax", "sqrtm"), _UNDEFINED),
]
