"""The kinds of undeclared names (LANGUAGE.md "Undeclared names", "Names that are not
variables"): use decides before spelling, a loss is a scalar, and every inference is shown.

One reading is one assignment of kinds to the undeclared names, type-checked by
typecheck.check_kinds.  The names a use decides are fixed first (a transposed name is not a
scalar, `inv(S)` makes S a matrix, the divisor of `/` and the base of `c^2` are scalars);
then readings are tried in order of (number of names changed from their spelling, number
of those that are not lowercase Greek), the first that type-checks winning; then "a loss
is a scalar" turns the fewest lone vector names that a scalar spreads into scalars, where
that makes the expression a scalar.  Each variable gets an origin and the answer a note
for each name whose kind is not its spelling's, and for each scalar spread by + or -.
"""

from __future__ import annotations

from itertools import combinations, product

from .. import ast
from ..errors import ShapeError
from .declarations import GREEK, Declaration, default_kind
from .dims import factor_names
from .source import elementwise_power, power_nodes
from .typecheck import Typed, check_kinds
from .uses import ALL_KINDS, base_kind, names_and_dims, use_constraints

DECLARED, USE, LOSS, SPELLING = "declared", "use", "a loss is a scalar", "spelling"
_MAX_CHANGES = 3            # names a reading may change from their spelling
_MAX_READINGS = 400         # readings tried before the spelling reading's error is raised


def typecheck(root: ast.Node, source: str, decls: dict[str, Declaration]) -> Typed:
    """The typed expression under the reading LANGUAGE.md's rules choose.  The reading never
    depends on what a derivative is taken with respect to: `mc.expression(e)` and
    `mc.derivative(e, x)` read e alike (`alpha*x + beta`: x a scalar, with a note)."""
    typed, free = _read(root, source, decls)
    bases = _vector_powers(typed, decls, free)
    typed.notes = _notes(typed, bases)
    return typed


def _read(root: ast.Node, source: str, decls: dict[str, Declaration]
          ) -> tuple[Typed, list[str]]:
    """Rules 2-4: the reading, with each variable's origin; and the undeclared names."""
    names, dims = names_and_dims(root)
    for d in decls.values():
        dims |= set(factor_names(d.dims))
    bound = {n for n, _ in root.bindings} if isinstance(root, ast.Where) else set()
    undeclared = [n for n in names if n not in decls and n not in bound]
    constants = {n: "dimension" for n in undeclared if n in dims}
    if "pi" in undeclared and "pi" not in dims:
        constants["pi"] = "pi"
    free = [n for n in undeclared if n not in constants]
    _habits(root, source, free)
    allowed = use_constraints(root, set(free))
    base = {n: base_kind(n, allowed.get(n)) for n in free}

    def attempt(kinds: dict[str, str]) -> Typed | None:
        try:
            return check_kinds(root, source, decls, kinds, constants)
        except ShapeError:
            return None

    typed, kinds = _search(root, source, decls, constants, free, base, allowed, attempt)
    typed, loss = _a_loss_is_a_scalar(typed, kinds, set(allowed), attempt)
    typed = _scalar_before_matrix(typed, base, allowed, loss, attempt)
    _origins(typed, base, allowed, loss)
    return typed, free


def _loss_left_non_scalar(typed: Typed) -> list[str]:
    """Names by spelling that keep a loss from being a scalar (`sum(...) + C*norm2(w)^2`
    with C a matrix): a note each."""
    if typed.is_scalar(typed.type_of(typed.root)) or not _is_a_loss(typed.spread_events):
        return []
    what = typed.describe(typed.type_of(typed.root))
    out = []
    for name in dict.fromkeys(n for _, literal, names, _ in typed.spread_events
                              if not literal for n in names):
        v = typed.variables.get(name)
        if v is not None and v.origin == SPELLING and v.name in typed.factors \
                and v.kind != "scalar":
            out.append(f"the expression is {what}, not a scalar, because {name} is a "
                       f"{v.kind} by its spelling; declare {_declare_as(name, 'scalar')} if "
                       "it is one")
    return out


def _alternatives(name: str) -> tuple[str, ...]:
    """The kinds a use may change a name to, in order (rule 2): a lowercase name becomes
    a vector, if that fails a matrix; an uppercase one stays a matrix.  A vector by
    spelling is never made a scalar here (`A*x + x` is an error, not a scalar x): only a
    use that decides (`x'*x/n`) or rule 3 does that."""
    if name[0].isupper():
        return ()
    if name in GREEK:
        return ("vector", "matrix")
    return ("matrix",)


def _scalar_before_matrix(typed: Typed, base: dict[str, str], allowed: dict[str, set[str]],
                          loss: set[str], attempt) -> Typed:
    """A lowercase Latin name that rule 2's search made a matrix is a scalar instead where
    that reading type-checks too: `expm(t*A)` has t a scalar, as papers write it, not an
    n x m matrix beside an m x n A (issue 16's examples; LANGUAGE.md rule 2 says "a
    matrix": the issue's words win).  Runs after rule 3, so a loss's names keep that
    origin; the note says how the name was read."""
    kinds = {n: typed.variables[n].kind for n in base}
    for name in [n for n in base if kinds[n] == "matrix" and base[n] == "vector"
                 and n not in loss and n not in GREEK and not n[0].isupper()
                 and "scalar" in allowed.get(n, {"scalar"})]:
        t = attempt({**kinds, name: "scalar"})
        if t is not None:
            typed, kinds = t, {**kinds, name: "scalar"}
    return typed


def _habits(root: ast.Node, source: str, free: list[str]) -> None:
    """`x*A*x` with x a vector by spelling: an error that says what was probably meant,
    rather than reading x as a matrix or a scalar."""
    stack = [root]
    while stack:
        n = stack.pop()
        stack.extend(ast.children(n))
        if (isinstance(n, ast.Binary) and n.op == "*" and isinstance(n.right, ast.Name)
                and isinstance(n.left, ast.Binary) and n.left.op == "*"
                and isinstance(n.left.left, ast.Name) and n.left.left.name == n.right.name
                and n.right.name in free and default_kind(n.right.name) == "vector"):
            x, mid = n.right.name, source[n.left.right.pos:n.left.right.end] \
                if n.left.right.pos is not None else "A"
            raise ShapeError(f"{x}*{mid}*{x} multiplies a column vector {x} from the left: "
                             f"did you mean {x}'*{mid}*{x}? (or declare {x} a scalar or a "
                             "matrix)", source, n.pos, n.end)


# ------------------------------------------------------------------ the search
def _search(root, source, decls, constants, free, base, allowed, attempt):
    """The first reading that type-checks, fewest changes from `base` first (lowercase
    Greek names changing before the others); the spelling reading's error when none."""
    first = attempt(base)
    if first is not None:
        return first, base
    options = {n: [k for k in _alternatives(n) if k != base[n] and
                   (n not in allowed or k in allowed[n])] for n in free}
    movable = [n for n in free if options[n]]
    tried = 0
    capped = len(movable) > _MAX_CHANGES
    for size in range(1, min(_MAX_CHANGES, len(movable)) + 1):
        subsets = sorted(combinations(movable, size),
                         key=lambda s: sum(n.lower() not in GREEK for n in s))
        for subset in subsets:
            for choice in product(*(options[n] for n in subset)):
                tried += 1
                if tried > _MAX_READINGS:
                    capped = True
                    break
                kinds = {**base, **dict(zip(subset, choice))}
                typed = attempt(kinds)
                if typed is not None:
                    return typed, kinds
    # no reading type-checks: the error of the reading the person wrote, saying where the
    # search stopped short of trying every reading
    try:
        check_kinds(root, source, decls, base, constants)
    except ShapeError as e:
        if not capped:
            raise
        raise ShapeError(f"{e.message} (the search for kinds of the undeclared names "
                         f"{', '.join(movable)} stopped after {min(tried, _MAX_READINGS)} "
                         f"readings of up to {_MAX_CHANGES} changes from their spelling; "
                         "declare their types, e.g. x: vector(n), A: matrix(m, n), "
                         "c: scalar)", e.source, e.pos, e.end) from None
    raise AssertionError("the base reading type-checked the second time")


def _a_loss_is_a_scalar(typed: Typed, kinds: dict[str, str], fixed: set[str], attempt):
    """Rule 3: where the expression is a loss but not a scalar, the fewest undeclared
    lowercase names changed (a Latin one to a scalar, a Greek one to a vector) that make it
    a scalar: first the vector names that a scalar spreads (`u'*v + b`, `lam*norm2(w)^2`),
    then the others.  It applies to a loss: where a scalar that is not a number is added
    to a vector (`u'*v + b`, `t*c'*x - sum(...)`), or a name is both added to a number and
    multiplied by a scalar (`y*log(p) + (1-y)*...`); not to `alpha*x` or `1 + x`.  A name
    made a scalar may spread the next (`u'*v + c + d`): each reading tried adds its
    candidates.  Returns the reading and the names changed."""
    if typed.is_scalar(typed.type_of(typed.root)) or not _is_a_loss(typed.spread_events):
        return typed, set()

    def spread(t: Typed) -> list[str]:
        out = []
        for additive, literal, names, lone in t.spread_events:
            out += names if not literal else ([lone] if additive and lone else [])
        return [n for n in dict.fromkeys(out) if n in kinds and n not in fixed
                and not n[0].isupper()]

    def change(name: str) -> str:
        return "vector" if kinds[name] == "scalar" else "scalar"

    others = [n for n in kinds if n not in fixed and not n[0].isupper()]
    pool = spread(typed)
    pool += [n for n in others if n not in pool]
    tried: set[frozenset[str]] = set()
    for size in range(1, 5):
        for subset in combinations(list(pool), size):
            key = frozenset(subset)
            if key in tried or len(tried) > 120:
                continue
            tried.add(key)
            t = attempt({**kinds, **{n: change(n) for n in subset}})
            if t is None:
                continue
            if t.is_scalar(t.type_of(t.root)):
                return t, set(subset)
            pool += [n for n in spread(t) if n not in pool]
    return typed, set()


def _is_a_loss(events) -> bool:
    if any(additive and not literal for additive, literal, _, _ in events):
        return True
    added = {lone for additive, literal, _, lone in events if additive and literal and lone}
    return any(lone in added for additive, literal, _, lone in events
               if not additive and not literal)


# ------------------------------------------------------------------ what the answer shows
def _origins(typed: Typed, base: dict[str, str], allowed, loss: set[str]) -> None:
    for v in typed.variables.values():
        if v.declared:
            v.origin = DECLARED
        elif v.name in loss:
            v.origin = LOSS
        elif v.kind != default_kind(v.name) or len(allowed.get(v.name, ALL_KINDS)) == 1:
            v.origin = USE
        else:
            v.origin = SPELLING


def _declare_as(name: str, kind: str) -> str:
    """`name: kind(...)` with placeholder dimensions that are not the name itself."""
    n, m = [d for d in ("n", "m", "k") if d != name][:2]
    return {"scalar": f"{name}: scalar", "vector": f"{name}: vector({n})",
            "matrix": f"{name}: matrix({m}, {n})"}[kind]


def _notes(typed: Typed, power_bases: set[str]) -> list[str]:
    notes = []
    for v in typed.variables.values():
        if v.declared:
            continue
        spelled = default_kind(v.name)
        kind = "matrix" if v.kind == "symmetric" else v.kind
        if kind != spelled and v.name in power_bases and v.origin == USE:
            notes.append(f"{v.name} is read as a scalar (the base of ^; by its spelling it "
                         f"would be a {spelled}); write {v.name}.^2 for an elementwise square "
                         f"of a vector, or declare {_declare_as(v.name, spelled)}")
        elif kind != spelled:
            why = ("the expression is a loss, a scalar, only so" if v.origin == LOSS
                   else "its use needs one")
            notes.append(f"{v.name} is read as a {kind} ({why}; by its spelling it would be "
                         f"a {spelled}); declare {_declare_as(v.name, spelled)} or another "
                         "type to say otherwise")
    notes += _loss_left_non_scalar(typed)
    for name in dict.fromkeys(typed.reduced_scalars):
        v = typed.variables[name]
        if v.origin == SPELLING and v.kind == "scalar":
            notes.append(f"{name} is a scalar (by its spelling) inside a sum, norm or softmax "
                         f"of a scalar; declare {_declare_as(name, 'vector')} if it is a vector")
    for name in dict.fromkeys(typed.spread_scalars):
        v = typed.variables[name]
        if v.kind == "scalar" and default_kind(name) == "scalar" and v.origin == SPELLING:
            notes.append(f"{name} is a scalar (by its spelling) added to every entry; "
                         f"declare {_declare_as(name, 'vector')} if it is a vector")
    noted = {n.split(" ", 1)[0] for n in notes}      # one note a name
    for name, how in dict.fromkeys(typed.scaled):
        v = typed.variables[name]
        if name not in noted and v.kind == "scalar" and default_kind(name) == "scalar" \
                and v.origin == SPELLING:
            notes.append(f"{name} is a scalar (by its spelling) {how}; declare "
                         f"{_declare_as(name, 'vector')} if it is a vector")
    return notes


# ------------------------------------------------------------------ `x^2` of a vector
def _vector_powers(typed: Typed, decls: dict[str, Declaration],
                   free: list[str]) -> set[str]:
    """The lowercase Latin names read as scalars as the base of `^` (`c^2`).  Where the
    expression, with `^` of the name made `.^` and the name a vector (its spelling), is a
    scalar too, and no other use makes it a scalar (`sum(x^2)`), the guess cannot be made
    safely: an error with the hint `x.^2` or `x'*x` (issue 12).  The others get a note."""
    root = typed.root
    bases = [n for n in dict.fromkeys(p.left.name for p in power_nodes(root)) if n in free
             and n in typed.variables and typed.variables[n].kind == "scalar" and n not in GREEK
             and default_kind(n) == "vector"]
    if not bases:
        return set()
    for name in bases:
        # the reading of the expression with name.^k: another use may still make name a
        # scalar (`x'*y/x^2`), and the other names follow name's kind (`A*w - y`)
        try:
            t, _ = _read(elementwise_power(root, name), typed.source, decls)
        except ShapeError:
            continue
        if t.variables[name].kind == "vector" and t.is_scalar(t.type_of(t.root)):
            node = next(power_nodes(root, name))
            raise ShapeError(f"'^' of a vector: {name} is a vector by its spelling; write "
                             f"{name}.^2 for elementwise powers or {name}'*{name} for the "
                             f"squared norm (or declare {name}: scalar)", typed.source,
                             node.pos, node.end)
    return set(bases)
