"""Random tensor expressions with einsum (orders 3 and 4, repeated labels in a term, an
output label placed twice, elementwise functions, reductions and softmax along an axis,
expansion along an axis a reduction made 1), each as text and as a torch function written
from NumPy's einsum semantics (torch.einsum, an eye for an output label placed twice), so
torch autograd is an oracle independent of the engine."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

SIZES = {"n": 3, "d": 2, "h": 4, "m": 3}
VARS = {"T": ("n", "d", "h"), "U": ("h", "d", "n", "m"), "S": ("n", "n", "h"),
        "A": ("n", "d"), "x": ("h",), "y": ("n",)}
_FUNCS = {"tanh": torch.tanh, "sin": torch.sin, "exp": torch.exp}


def _decl(dims: tuple[str, ...]) -> str:
    return {1: "vector", 2: "matrix"}.get(len(dims), "tensor") + f"({', '.join(dims)})"


@dataclass
class TensorCase:
    text: str
    vars: dict[str, str]
    wrt: str
    fn: object                      # torch function of the named inputs

    def inputs(self, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {v: rng.standard_normal([SIZES[d] for d in VARS[v]]) for v in self.vars}


class TensorGenerator:
    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def operand(self):
        """(text, torch fn, dims) of a variable, maybe under an elementwise function."""
        v = self.r.choice(list(VARS))
        dims = VARS[v]
        if self.r.random() < 0.3:
            f = self.r.choice(list(_FUNCS))
            return f"{f}({v})", (lambda e, f=f, v=v: _FUNCS[f](e[v])), dims, {v}
        return v, (lambda e, v=v: e[v]), dims, {v}

    def einsum(self):
        """An einsum of 1-3 operands, its labels one per dimension name (a repeated
        dimension a diagonal, sometimes), its output some labels, one maybe twice."""
        k = self.r.randint(1, 3)
        parts = [self.operand() for _ in range(k)]
        letter = {d: c for d, c in zip(SIZES, "ijkl")}
        terms = []
        for _, _, dims, _ in parts:
            term = [letter[d] for d in dims]
            if len(set(dims)) < len(dims) and self.r.random() < 0.5:   # S: tensor(n,n,h)
                term[1] = self.r.choice("ab")       # not a diagonal: a label of its own
                letter_b = term[1]
                letter[f"_{letter_b}"] = letter_b
            terms.append("".join(term))
        size = {c: SIZES[d] for d, c in letter.items() if not d.startswith("_")}
        for t, (_, _, dims, _) in zip(terms, parts):
            for c, d in zip(t, dims):
                size.setdefault(c, SIZES[d])
        labels = sorted(set("".join(terms)))
        out = self.r.sample(labels, self.r.randint(0, min(4, len(labels))))
        if out and len(out) < 4 and self.r.random() < 0.15:
            out.insert(self.r.randrange(len(out) + 1), out[0])     # placed twice: a diagonal
        spec = ",".join(terms) + "->" + "".join(out)
        text = f"einsum(\"{spec}\", {', '.join(p[0] for p in parts)})"
        names = set().union(*(p[3] for p in parts))

        def fn(e, parts=parts, terms=terms, out=out, size=size):
            ops = [p[1](e) for p in parts]
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
        return text, fn, len(out), names

    def case(self) -> TensorCase:
        text, fn, order, names = self.einsum()
        wrap = self.r.randrange(5)
        if wrap == 1:
            text, f = f"sum(tanh({text}))", (lambda e, fn=fn: torch.tanh(fn(e)).sum())
        elif wrap == 2:
            text, f = f"sum(({text}).^2)", (lambda e, fn=fn: (fn(e) ** 2).sum())
        elif wrap == 3 and order >= 1:
            k = self.r.randint(1, order) if order >= 3 else 1
            if order >= 3:      # along any axis of a tensor, expanded back along it
                text = f"sum(E.*sum(E, {k})) where E = {text}"

                def f(e, fn=fn, k=k):
                    return (fn(e) * fn(e).sum(k - 1, keepdim=True)).sum()
            else:
                text, f = f"logsumexp({text})", (lambda e, fn=fn: torch.logsumexp(
                    fn(e).reshape(-1), 0))
        elif wrap == 4 and order >= 3:
            k = self.r.randint(1, order)
            text = f"sum(sin(E).*softmax(E, {k})) where E = {text}"

            def f(e, fn=fn, k=k):
                return (torch.sin(fn(e)) * torch.softmax(fn(e), k - 1)).sum()
        else:
            text, f = f"sum({text})", (lambda e, fn=fn: fn(e).sum())
        wrt = self.r.choice(sorted(names))
        return TensorCase(text, {v: _decl(VARS[v]) for v in sorted(names)}, wrt, f)


def autograd(case: TensorCase, inputs: dict[str, np.ndarray]) -> np.ndarray:
    env = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k == case.wrt)
           for k, v in inputs.items()}
    (g,) = torch.autograd.grad(case.fn(env), env[case.wrt])
    return g.numpy()
