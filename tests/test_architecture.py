"""Habits of the code base, checked: no import cycles, small modules and classes, the facade
only a facade, generated code compiled in one place, README's layout table up to date.

The import graph is read with `ast`, not by importing: module-level and function-level
imports both count (a lazy import inside a function runs too, and is the usual way a cycle
is hidden).  Imports under `if TYPE_CHECKING:` do not count for cycles: they never run
(annotations are strings under `from __future__ import annotations`), so they cannot make
one module wait on another; the facade test below counts them too.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "matrixcalculus"

MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250

# path relative to the package -> why it may be longer, for now
LONG_MODULES: dict[str, str] = {}   # none today
# (path, class name) -> why it may be longer, for now
LONG_CLASSES: dict[tuple[str, str], str] = {}   # none today
# the interfaces on top of the engine: only they may import api.py
INTERFACES = {"matrixcalculus", "matrixcalculus.__main__", "matrixcalculus.cli",
              "matrixcalculus.examples", "matrixcalculus.web", "matrixcalculus.web.app",
              "matrixcalculus.web.jobs"}
COMPILES_CODE = {"compiled.py"}      # the one place generated source is compiled


@dataclass(frozen=True)
class Import:
    target: str              # a module of the package
    line: int
    type_checking: bool      # under `if TYPE_CHECKING:`


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The package's modules that `name` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    out: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from . import ast` imports the module matrixcalculus.ast; `from .api import
            # derivative` the module matrixcalculus.api
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module
                       for a in node.names]
        for t in dict.fromkeys(targets):         # each module once per statement
            if t in modules and t != name:
                out.append(Import(t, node.lineno, id(node) in guarded))
    return out


def _graph(count_type_checking: bool) -> dict[str, set[str]]:
    modules = _modules()
    return {name: {i.target for i in _imports(name, path, modules)
                   if count_type_checking or not i.type_checking}
            for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}          # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_no_import_cycle():
    cycle = _cycle(_graph(count_type_checking=False))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_but_the_interfaces_imports_api():
    modules = _modules()
    offenders = [f"{name} (line {i.line})" for name, path in modules.items()
                 if name not in INTERFACES
                 for i in _imports(name, path, modules) if i.target == "matrixcalculus.api"]
    assert not offenders, f"api.py is the facade; the engine must not import it: {offenders}"


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_no_module_over_400_lines():
    sizes = {_relative(p): len(p.read_text(encoding="utf-8").splitlines())
             for p in _modules().values()}
    too_long = {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES and p not in LONG_MODULES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them): {too_long}"
    healed = [p for p in LONG_MODULES if sizes.get(p, 0) <= MAX_MODULE_LINES]
    assert not healed, f"no longer over {MAX_MODULE_LINES} lines: drop from LONG_MODULES: {healed}"


def test_no_class_over_250_lines():
    sizes = {}
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                sizes[(_relative(path), node.name)] = node.end_lineno - node.lineno + 1
    too_long = {k: n for k, n in sizes.items() if n > MAX_CLASS_LINES and k not in LONG_CLASSES}
    assert not too_long, f"classes over {MAX_CLASS_LINES} lines (split them): {too_long}"
    healed = [k for k in LONG_CLASSES if sizes.get(k, 0) <= MAX_CLASS_LINES]
    assert not healed, f"no longer over {MAX_CLASS_LINES} lines: drop from LONG_CLASSES: {healed}"


def test_generated_code_is_compiled_in_one_place():
    calls = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("exec", "eval", "compile"):
                calls.append((_relative(path), node.lineno))
    assert {p for p, _ in calls} <= COMPILES_CODE, f"exec/eval/compile outside compiled.py: {calls}"


def test_readme_layout_table_is_current():
    spec = importlib.util.spec_from_file_location("layout", ROOT / "scripts" / "layout.py")
    assert spec is not None and spec.loader is not None
    layout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layout)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert layout.rendered(readme) == readme, \
        "README.md's layout table is stale: run python3 scripts/layout.py"
    listed = {name for name, _ in layout.rows()}
    assert "api.py" in listed and "ir/" in listed      # every module, packages included
