"""The rewrite driver (ir/rewrite.py) and the rewrites the simplifier and the code generator
share: rows applied bottom up, each node once, kept only where `keep` says so."""

from __future__ import annotations

from matrixcalculus.codegen.optimize import fewer_flops, optimize, total_flops
from matrixcalculus.ir import build as B
from matrixcalculus.ir.rewrite import Factoring, Rewrite, distribute, factor, run
from matrixcalculus.simplify import Pricer, shorter

A, C, V = (B.var(v, ("n", "n")) for v in "ACV")
x = B.var("x", ("n",))


def matmul(p, q):
    return B.einsum([p, q], [(0, 2), (2, 1)], (0, 1))


def test_rows_are_applied_bottom_up_once_per_node_and_kept_by_keep():
    seen = []

    def note(n):
        seen.append(n)
        return None
    shared = B.add([A, C])
    root = matmul(shared, shared)
    swap = Rewrite("A -> C", {"var"}, lambda n: C if n is A else None)
    refuse = Rewrite("C -> A, never kept", {"var"}, lambda n: A if n is C else None,
                 keep=lambda new, old: False)
    assert run(root, [swap, refuse, Rewrite("note", {"add", "einsum"}, note)]) is \
        matmul(B.add([C, C]), B.add([C, C]))
    # the shared sum seen once, rebuilt over its rewritten terms (A + C is now 2*C)
    assert seen == [B.add([C, C]), matmul(B.add([C, C]), B.add([C, C]))]


def test_one_distribute_two_keeps():
    # (A + C)*V: distributed, it is longer to read and costs two products instead of one
    n = matmul(B.add([A, C]), V)

    def sums(m):
        return [k for k, a in enumerate(m.args) if a.op == "add"]
    keep_all = distribute(n, sums)
    assert keep_all is B.add([matmul(A, V), matmul(C, V)])
    assert shorter(Pricer())(keep_all, n) is False
    assert distribute(n, sums, keep=shorter(Pricer())) is n
    assert distribute(n, sums, keep=fewer_flops({"n": 1000}, {})) is n
    assert distribute(n, sums, most_terms=1) is None


def test_one_factor_two_keeps():
    # A*x + C*x: pulled out, (A + C)*x is shorter and costs fewer flops
    s = B.add([B.einsum([A, x], [(0, 1), (1,)], (0,)), B.einsum([C, x], [(0, 1), (1,)], (0,))])
    want = B.einsum([B.add([A, C]), x], [(0, 1), (1,)], (0,))
    assert factor(s, Factoring(shorter(Pricer()))) is want
    cheaper = fewer_flops({"n": 100}, {})
    assert factor(s, Factoring(cheaper)) is want
    assert total_flops(want, {"n": 100}) < total_flops(s, {"n": 100})


def test_code_generator_pass_pulls_a_free_factor():
    # P[l,i]*A[j,k] + P[l,i]*C[j,k] -> P[l,i]*(A + C)[j,k]
    outer = [(3, 0), (1, 2)]
    s = B.add([B.einsum([V, A], outer, (0, 1, 2, 3)), B.einsum([V, C], outer, (0, 1, 2, 3))])
    assert optimize(s, {"n": 50}) is B.einsum([V, B.add([A, C])], outer, (0, 1, 2, 3))
