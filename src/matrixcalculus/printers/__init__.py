"""Printers: answers as text (the input language), LaTeX, and index notation."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir.debug import show
from ..ir.nodes import Node


@dataclass(frozen=True)
class Answer:
    text: str
    latex: str
    matrix_form: bool


def render(root: Node) -> Answer:
    s = show(root)
    return Answer(s, s, False)
