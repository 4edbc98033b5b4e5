"""Random tensor expressions with einsum (orders 3 and 4, repeated labels in a term, an
output label placed twice, outputs of order 0 to 4), each as text and as a torch function
written from NumPy's einsum semantics (torch.einsum, an eye for an output label placed
twice), so torch autograd is an oracle independent of the engine.

Operands are variables or expressions: elementwise functions, scalings, products of two
tensors, sums, means and softmax along an axis (the einsum sees the axes left), and einsums
nested in einsums.  The einsum sits inside larger expressions: sums, norms, logsumexp,
traces and inner products written as einsums, sums along an axis, where-names used twice,
expansion along an axis a reduction made 1.

    pytest tests/test_tensors.py                      40 expressions
    pytest tests/test_tensors.py --long               5,000 (--long-examples N: N)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

SIZES = {"n": 3, "d": 2, "h": 4, "m": 3}
VARS = {"T": ("n", "d", "h"), "P": ("n", "d", "h"), "U": ("h", "d", "n", "m"),
        "S": ("n", "n", "h"), "A": ("n", "d"), "x": ("h",), "y": ("n",)}
_FUNCS = {"tanh": torch.tanh, "sin": torch.sin, "exp": torch.exp}
_LETTER = dict(zip(SIZES, "ijkl"))          # one label per dimension name: shared ones contract
_FRESH = "abcefg"                           # labels of their own (a repeated dimension)


def _decl(dims: tuple[str, ...]) -> str:
    return {1: "vector", 2: "matrix"}.get(len(dims), "tensor") + f"({', '.join(dims)})"


@dataclass
class Part:
    text: str
    fn: object                  # torch function of the named inputs
    dims: tuple[str, ...]       # the dimension names of its axes (einsum's view)
    names: set[str]


@dataclass
class TensorCase:
    text: str
    vars: dict[str, str]
    wrt: str
    fn: object                      # torch function of the named inputs

    def inputs(self, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {v: rng.standard_normal([SIZES[d] for d in VARS[v]]) for v in self.vars}


def _var(v: str) -> Part:
    return Part(v, lambda e, v=v: e[v], VARS[v], {v})


class TensorGenerator:
    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def operand(self, depth: int) -> Part:
        """A variable, or an expression of variables, or a nested einsum."""
        r = self.r
        v = r.choice(list(VARS))
        p = _var(v)
        k = r.random()
        order = len(p.dims)
        if k < 0.15 and depth > 0:
            return self.einsum(depth - 1, least=1)
        if k < 0.3:
            f = r.choice(list(_FUNCS))
            return Part(f"{f}({v})", lambda e, f=f, v=v: _FUNCS[f](e[v]), p.dims, {v})
        if k < 0.36:
            return Part(f"2*{v}", lambda e, v=v: 2 * e[v], p.dims, {v})
        if k < 0.44 and v in ("T", "P"):             # a product of two tensors
            w = r.choice(["T", "P"])
            return Part(f"{v}.*{w}", lambda e, v=v, w=w: e[v] * e[w], p.dims, {v, w})
        if k < 0.58 and order >= 2:                 # along an axis: one axis fewer
            f, a = r.choice(["sum", "mean"]), r.randint(1, order)
            dims = p.dims[:a - 1] + p.dims[a:]
            return Part(f"{f}({v}, {a})", lambda e, f=f, v=v, a=a: getattr(e[v], f)(a - 1),
                        dims, {v})
        if k < 0.64 and order >= 3:
            a = r.randint(1, order)
            return Part(f"softmax({v}, {a})", lambda e, v=v, a=a: torch.softmax(e[v], a - 1),
                        p.dims, {v})
        return p

    def einsum(self, depth: int = 1, least: int = 0) -> Part:
        """An einsum of 1-3 operands, its labels one per dimension name (a repeated
        dimension a diagonal, or sometimes a label of its own), its output some labels, one
        maybe twice; at least `least` output labels."""
        r = self.r
        parts = [self.operand(depth) for _ in range(r.randint(1, 3))]
        dim_of = {c: d for d, c in _LETTER.items()}
        terms = []
        for p in parts:
            term = []
            for j, d in enumerate(p.dims):
                lab = _LETTER[d]
                if d in p.dims[:j] and r.random() < 0.5:     # not a diagonal
                    lab = next(c for c in _FRESH if c not in dim_of)
                    dim_of[lab] = d
                term.append(lab)
            terms.append("".join(term))
        labels = sorted(set("".join(terms)))
        out = r.sample(labels, r.randint(min(least, len(labels)), min(4, len(labels))))
        if out and len(out) < 4 and r.random() < 0.15:
            out.insert(r.randrange(len(out) + 1), out[0])     # placed twice: a diagonal
        spec = ",".join(terms) + "->" + "".join(out)
        text = f"einsum(\"{spec}\", {', '.join(p.text for p in parts)})"
        size = {c: SIZES[d] for c, d in dim_of.items()}

        def fn(e, parts=parts, terms=terms, out=out, size=size):
            ops = [p.fn(e) for p in parts]
            o, extra, seen = [], [], set()
            for c in out:
                if c in seen:
                    z = "zyxw"[len(extra)]
                    extra.append((c + z, torch.eye(size[c], dtype=torch.float64)))
                    o.append(z)
                else:
                    seen.add(c)
                    o.append(c)
            sp = ",".join(terms + [t for t, _ in extra]) + "->" + "".join(o)
            return torch.einsum(sp, *ops, *[m for _, m in extra])
        return Part(text, fn, tuple(dim_of[c] for c in out), set().union(*(p.names
                                                                            for p in parts)))

    def case(self) -> TensorCase:
        r = self.r
        p = self.einsum(depth=1)
        text, fn, order = p.text, p.fn, len(p.dims)
        labels = "pqrs"[:order]             # one label per axis (none a diagonal)
        wrap = r.randrange(10)
        if wrap == 1:
            text, f = f"sum(tanh({text}))", (lambda e, fn=fn: torch.tanh(fn(e)).sum())
        elif wrap == 2:
            text, f = f"sum(({text}).^2)", (lambda e, fn=fn: (fn(e) ** 2).sum())
        elif wrap == 3 and order >= 1:
            k = r.randint(1, order) if order >= 3 else 1
            if order >= 3:      # along any axis of a tensor, expanded back along it
                text = f"sum(E.*sum(E, {k})) where E = {text}"

                def f(e, fn=fn, k=k):
                    return (fn(e) * fn(e).sum(k - 1, keepdim=True)).sum()
            else:
                text, f = f"logsumexp({text})", (lambda e, fn=fn: torch.logsumexp(
                    fn(e).reshape(-1), 0))
        elif wrap == 4 and order >= 3:
            k = r.randint(1, order)
            text = f"sum(sin(E).*softmax(E, {k})) where E = {text}"

            def f(e, fn=fn, k=k):
                return (torch.sin(fn(e)) * torch.softmax(fn(e), k - 1)).sum()
        elif wrap == 5:         # a norm of any order
            text, f = f"norm2({text})^2", (lambda e, fn=fn: (fn(e) ** 2).sum())
        elif wrap == 6 and order >= 1:   # an inner product written as an einsum, E twice
            spec = f"{labels},{labels}->"
            text = f"einsum(\"{spec}\", E, sin(E)) where E = {text}"

            def f(e, fn=fn):
                return (fn(e) * torch.sin(fn(e))).sum()
        elif wrap == 7 and order >= 2 and p.dims[0] == p.dims[1]:   # a trace via einsum
            spec = "ii" + labels[2:] + "->"
            text = f"einsum(\"{spec}\", {text})"

            def f(e, fn=fn):
                return torch.diagonal(fn(e), 0, 0, 1).sum()
        elif wrap == 8 and order >= 2:   # a sum along an axis, squared, then summed
            k = r.randint(1, order)
            text = f"sum(sum({text}, {k}).^2)"

            def f(e, fn=fn, k=k):
                return (fn(e).sum(k - 1) ** 2).sum()
        elif wrap == 9 and order >= 1:   # a mean along an axis inside exp
            k = r.randint(1, order)
            text = f"sum(exp(mean({text}, {k})))"

            def f(e, fn=fn, k=k):
                return torch.exp(fn(e).mean(k - 1)).sum()
        else:
            text, f = f"sum({text})", (lambda e, fn=fn: fn(e).sum())
        wrt = r.choice(sorted(p.names))
        return TensorCase(text, {v: _decl(VARS[v]) for v in sorted(p.names)}, wrt, f)


def autograd(case: TensorCase, inputs: dict[str, np.ndarray]) -> np.ndarray:
    env = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k == case.wrt)
           for k, v in inputs.items()}
    (g,) = torch.autograd.grad(case.fn(env), env[case.wrt])
    return g.numpy()
