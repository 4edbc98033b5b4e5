"""The chain-rule steps as data (Step, Steps) and as text and LaTeX (steps.py makes them)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .latex import name as latex_name


@dataclass(frozen=True)
class Step:
    """One line of the derivation: df/d(expr) = value, by rule (applied to G)."""

    expr_text: str            # the intermediate e, in the input language
    expr_latex: str
    shape_text: str           # e's shape: 'scalar', 'n', '1 x n', 'm x k'
    rule_text: str            # chain: the local rule applied to G; sum: the terms summed
    rule_latex: str
    value_text: str           # df/de, simplified, in matrix (or index) notation
    value_latex: str
    value_shape_text: str = ""     # df/de's shape (e's shape for a scalar f)
    through_text: str = ""         # chain: the enclosing expression G belongs to
    through_latex: str = ""
    kind: str = "chain"            # chain | sum | symmetric | result | again
    occurrence: int | None = None  # the variable's occurrence number when it has several


@dataclass(frozen=True)
class Steps(Sequence[Step]):
    """The derivation: a sequence of Step, with text() and latex() to show it."""

    expr_text: str
    expr_latex: str
    expr_shape_text: str
    wrt: str
    wrt_shape_text: str
    order: int
    occurrences: int
    steps: tuple[Step, ...] = field(default=())
    placeholder: str = "G"         # the name G of the rules (another where G is taken)
    variables_text: str = ""       # every variable with type, dims and origin
    notes: tuple[str, ...] = ()    # LANGUAGE.md's notes on how undeclared names were read
    wrt_list: tuple[str, ...] = () # a mixed derivative's variables (wrt is the first)

    def __getitem__(self, i: Any) -> Any:
        return self.steps[i]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def _lhs(self, s: Step) -> str:
        if s.kind == "again":
            k = self.order
            if self.wrt_list:
                return f"d^{k}f/{' '.join('d' + w for w in self.wrt_list)}"
            return f"d^{k}f/d{self.wrt}^{k}"
        if s.kind == "chain" and s.occurrence:    # a part of df/dx, not the whole of it
            return f"contribution of the {ordinal(s.occurrence)} {self.wrt}"
        return f"df/d{_paren_text(s.expr_text)}"

    def text(self) -> str:
        lines = [f"f = {self.expr_text}   ({self.expr_shape_text})",
                 f"derivative with respect to {self.wrt} ({self.wrt_shape_text}) by the "
                 "chain rule, from the outside in",
                 f"({self.placeholder}: the derivative of f with respect to the expression "
                 "a rule goes through)"]
        if self.variables_text:
            lines.insert(1, self.variables_text)
        lines[2:2] = [f"note: {n}" for n in self.notes]
        for k, s in enumerate(self.steps, 1):
            shape = s.value_shape_text
            if s.shape_text != shape and s.kind == "chain":
                shape += f"; {s.expr_text} is {s.shape_text}"
            head = f"{k}. {self._lhs(s)} = {s.value_text}   ({shape})"
            lines += [head, "     " + self._note_text(s)]
        return "\n".join(lines)

    def latex_rows(self) -> list[tuple[str, str, str, str]]:
        """The lines of latex() as (left side, value, shape, note): the web page sets them
        as a table whose notes wrap within its column."""
        rows = [("f", self.expr_latex, _shape_latex(self.expr_shape_text), "")]
        for s in self.steps:
            if s.kind == "again":
                k = self.order
                wrt = latex_name(self.wrt)
                by = rf"\partial {wrt}^{{{k}}}" if not self.wrt_list else \
                    r"\,".join(rf"\partial {latex_name(w)}" for w in self.wrt_list)
                lhs = rf"\frac{{\partial^{{{k}}} f}}{{{by}}}"
            elif s.kind == "chain" and s.occurrence:
                lhs = rf"\text{{contribution of the {ordinal(s.occurrence)} }} {s.expr_latex}"
            else:
                e = s.expr_latex if s.expr_text.isidentifier() else rf"\left({s.expr_latex}\right)"
                lhs = rf"\frac{{\partial f}}{{\partial {e}}}"
            rows.append((lhs, s.value_latex, _shape_latex(s.value_shape_text),
                         self._note_latex(s)))
        return rows

    def latex(self) -> str:
        lines = []
        for k, (lhs, rhs, shape, note) in enumerate(self.latex_rows()):
            lines.append(rf"{lhs} &= {rhs} && {shape}" + (rf" && {note}" if k else ""))
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def __str__(self) -> str:
        return self.text()

    def as_dicts(self) -> list[dict[str, Any]]:
        """The steps as plain dicts (for JSON)."""
        return [asdict(s) for s in self.steps]


    def _note_text(self, s: Step) -> str:
        if s.kind == "chain":
            return f"through {s.through_text}: {self.placeholder} -> {s.rule_text}"
        if s.kind == "sum":
            what = f"sum of the contributions of the {self.occurrences} occurrences"
            return what if s.rule_text == s.value_text else f"{what}: {s.rule_text}"
        return s.rule_text

    def _note_latex(self, s: Step) -> str:
        if s.kind == "chain":
            g = latex_name(self.placeholder)
            return rf"\text{{through }} {s.through_latex}:\ {g} \mapsto {s.rule_latex}"
        if s.kind == "sum":
            what = rf"\text{{sum of the {self.occurrences} contributions}}"
            return what if s.rule_latex == s.value_latex else rf"{what}:\ {s.rule_latex}"
        return s.rule_latex


def ordinal(k: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    last = "th" if k % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{last}"


def _paren_text(t: str) -> str:
    return t if t.isidentifier() else f"({t})"


def _shape_latex(shape: str) -> str:
    return r"\text{scalar}" if shape == "scalar" else shape.replace(" x ", r" \times ")
