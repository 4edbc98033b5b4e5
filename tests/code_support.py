"""Generated modules as tests read them: the code alone, without the comment header and
the docstrings (which quote the answer: `diag(`, `-X'*...`, `kron(`)."""

from __future__ import annotations

import ast


def code_only(src: str) -> str:
    """src without comment lines and docstrings, its code lines as they are."""
    drop: set[int] = set()
    for node in ast.walk(ast.parse(src)):
        first = node.body[0] if isinstance(node, ast.FunctionDef | ast.Module) and node.body \
            else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
                isinstance(first.value.value, str):
            drop.update(range(first.lineno, first.end_lineno + 1))
    return "\n".join(line for k, line in enumerate(src.splitlines(), 1)
                     if k not in drop and not line.lstrip().startswith("#")) + "\n"
