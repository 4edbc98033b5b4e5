"""Random expressions around matrix functions (tests/test_matfun_random.py): randexpr's
Generator, with every case built around at least one of expm, logm, sqrtm, dexpm, dlogm,
dsqrtm inside a larger expression (a trace, a norm, a quadratic form, products with other
matrices and vectors, t*A scalings), and the Fréchet derivatives also at a point that
depends on the variables (dexpm(X, E) wrt X, dlogm(S, E) wrt S: higher Fréchet
derivatives), with one or two directions.

The torch oracle of L_f^(k)(X; E1, ..., Ek) is f of a block matrix, one block level per
direction (f([[X, E], [0, X]]) = [[f(X), L_f(X, E)], [0, f(X)]], applied to X -> L^(k-1)(X;
E1, ..., Ek-1) for the last direction), f being torch.linalg.matrix_exp or randexpr's
logm and sqrtm by products and inverses: plain autograd differentiates it at any point,
so the derivatives with respect to the point are checked too.  expm's arguments are
bounded (entries in [-1, 1], or t*A with moderate t and A), logm's and sqrtm's SPD.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from randexpr import ATOM, DIMS, SCALAR, E, Generator, _logm, _norm2, _sqrtm, col

_F: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "expm": torch.linalg.matrix_exp, "logm": _logm, "sqrtm": _sqrtm}


def frechet(f: str, x: torch.Tensor, es: list[torch.Tensor]) -> torch.Tensor:
    """L_f^(k)(X; E1, ..., Ek) by the block identity, the last direction first."""
    if not es:
        return _F[f](x)
    n = x.shape[0]
    z = torch.zeros_like(x)
    big = torch.cat([torch.cat([x, es[-1]], 1), torch.cat([z, x], 1)], 0)
    lower = [torch.block_diag(e, e) for e in es[:-1]]
    return frechet(f, big, lower)[:n, n:]


class MatfunGenerator(Generator):
    """Cases whose root holds a matrix function; nested square subexpressions draw the
    matrix functions below (with the point-dependent Fréchet derivatives) too."""

    def __init__(self, choice: Callable[[int], int], max_depth: int = 3):
        super().__init__(choice, max_depth)
        self.drawn: set[str] = set()        # the forms drawn (for the coverage test)

    # ------------------------------------------------------------ the case
    def case(self):
        d = self.pick(DIMS)
        depth = self.choice(self.max_depth)
        f = self.matrix_function(d, depth)
        k = self.choice(16)
        if k < 11:
            e = self.scalar_of(f, d, depth)
        elif k < 13:
            e = self.vector_of(f, d, depth)
        else:
            e = self.matrix_of(f, d, depth)
        if self.coin(1, 5):             # beside another random term of the same type
            e = self.sum_op(e, self.gen(e.type, 1), self.pick(["+", "-"]))
        return self.finish(e)

    def scalar_of(self, f: E, d: str, depth: int) -> E:
        """tr, norms, quadratic forms, inner products of f."""
        k = self.choice(9)
        self.drawn.add(f"scalar {k}")
        if k == 0:
            return self.call("tr", f, SCALAR, torch.trace)
        if k == 1:          # tr(M*f)
            return self.call("tr", self.prod_op(self.gen((d, d), depth - 1), f, "*"),
                             SCALAR, torch.trace)
        if k == 2:          # the Frobenius norm, squared or not
            n = self.call("norm2", f, SCALAR, _norm2)
            return self.caret(n, self.num(2.0)) if self.coin() else n
        if k == 3:          # a least-squares residual: norm2(f*x - y)^2
            r = self.sum_op(self.prod_op(f, self.vec(d, depth), "*"), self.vec(d, depth), "-")
            return self.caret(self.call("norm2", r, SCALAR, _norm2), self.num(2.0))
        if k == 4:          # x'*f*y
            left = self.transpose(self.vec(d, depth))
            return self.prod_op(self.prod_op(left, f, "*"), self.vec(d, depth), "*")
        if k == 5:          # <M, f>
            return self.call("sum", self.prod_op(f, self.gen((d, d), depth - 1), ".*"),
                             SCALAR, torch.sum)
        if k == 6:          # a product of two matrix functions
            g = self.matrix_function(d, max(depth - 1, 0))
            return self.call("tr", self.prod_op(f, g, "*"), SCALAR, torch.trace)
        if k == 7:          # a scalar function of a trace
            s = self.call("tr", f, SCALAR, torch.trace)
            g = self.pick(["tanh", "sin"])
            return self.call(g, s, SCALAR, {"tanh": torch.tanh, "sin": torch.sin}[g])
        return self.call("sum", f, SCALAR, torch.sum)

    def vector_of(self, f: E, d: str, depth: int) -> E:
        if self.coin():
            return self.prod_op(f, self.vec(d, depth), "*")
        return self.prod_op(self.transpose(self.vec(d, depth)), f, "*")      # a row

    def matrix_of(self, f: E, d: str, depth: int) -> E:
        k = self.choice(4)
        if k == 0:
            return f
        if k == 1:
            return self.prod_op(f, self.gen((d, self.pick(DIMS)), max(depth - 1, 0)), "*")
        if k == 2:
            return self.prod_op(self.gen(SCALAR, max(depth - 1, 0)), f, "*")
        return self.prod_op(f, self.gen((d, d), max(depth - 1, 0)), ".*")

    def vec(self, d: str, depth: int) -> E:
        return self.gen(col(d), max(depth - 1, 0)) if self.coin(1, 3) else self.var(col(d))

    # ------------------------------------------------------------ matrix functions
    def matrix_function(self, d: str, depth: int) -> E:
        k = self.choice(12)
        self.drawn.add(f"matfun {k}")
        t = (d, d)
        if k <= 2:          # expm of a bounded form, t*A, c*X or c*S
            return self.call("expm", self.expm_point(d, depth), t, torch.linalg.matrix_exp)
        if k <= 4:          # logm, sqrtm of an SPD form (a symmetric variable now and then)
            f = self.pick(["logm", "sqrtm"])
            return self.call(f, self.spd_point(d, depth), t, _F[f])
        if k == 5:          # logm, sqrtm of expm of a symmetric form (SPD)
            f = self.pick(["logm", "sqrtm"])
            s = self.prod_op(self.num(self.pick([0.5, 1.0])), self.var(t, "sym"), "*")
            return self.call(f, self.call("expm", s, t, torch.linalg.matrix_exp), t, _F[f])
        if k == 6:          # at a point free of variables
            f = self.pick(["expm", "logm", "sqrtm"])
            return self.frechet(f, self.spd_constant(d), [self.direction(d, depth)])
        if k == 7:          # along a direction that commutes with the point
            f = self.pick(["expm", "logm", "sqrtm"])
            x = self.expm_point(d, 0) if f == "expm" else self.spd_point(d, 0)
            return self.frechet(f, x, [self.commuting(x, d)])
        # the point depends on the variables: the derivatives are higher Fréchet ones
        f = self.pick(["expm", "logm", "sqrtm"])
        x = self.expm_point(d, depth) if f == "expm" else self.spd_point(d, depth)
        es = [self.direction(d, depth) for _ in range(1 + (k >= 10))]
        return self.frechet(f, x, es)

    def frechet(self, f: str, x: E, es: list[E]) -> E:
        text = f"d{f}({x.text}, {', '.join(e.text for e in es)})"
        return E(text, ATOM, lambda env: frechet(f, x.fn(env), [e.fn(env) for e in es]),
                 x.type, x.size + sum(e.size for e in es) + 1)

    def expm_point(self, d: str, depth: int) -> E:
        """A moderate argument of expm: bounded entries, t*A, c*X, a symmetric c*S."""
        t = (d, d)
        k = self.choice(5)
        if k == 0 and depth > 0:
            return self.bounded(t, depth - 1)
        if k <= 1:          # a linear ODE's solution expm(t*A), t signed or positive
            s = self.pos(SCALAR, 0) if self.coin() else self.var(SCALAR)
            a = self.var(t, "sym" if self.coin(1, 4) else None)
            return self.prod_op(s, a, "*")
        if k == 2:
            return self.var(t, "sym")
        c = self.pick([0.5, -1.0, 0.3])
        x = self.var(t) if self.coin() else self.transpose(self.var(t))
        return self.prod_op(self.num(c) if c > 0 else self.neg(self.num(-c)), x, "*")

    def spd_point(self, d: str, depth: int) -> E:
        return self.var((d, d), "spd") if depth <= 0 or self.coin(1, 3) else \
            self.spd(d, depth - 1)

    def direction(self, d: str, depth: int) -> E:
        t = (d, d)
        k = self.choice(4)
        if k == 0 or depth <= 0:
            return self.leaf(t)
        if k == 1:          # a rank-one direction x*y'
            return self.prod_op(self.var(col(d)), self.transpose(self.var(col(d))), "*")
        return self.gen(t, depth - 1)

    def commuting(self, x: E, d: str) -> E:
        """eye, the point itself, or a multiple of the point's matrix (t*A -> A)."""
        k = self.choice(3)
        if k == 0:
            return E(f"eye({self.dim(d)})", ATOM,
                     lambda env: torch.eye(env["#"][d], dtype=torch.float64), (d, d))
        if k == 1:
            return x
        return self.prod_op(self.num(self.pick([2.0, 0.5])), x, "*")

