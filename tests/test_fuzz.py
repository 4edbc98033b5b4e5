"""Fuzzing the front door: random bytes, token soups, mutated corpus expressions and
random declarations go through derivative() and expression().

The contract: the only exception that leaves is MatrixCalculusError; a parse or shape
error points into the text (a position); the API's catch-all "internal error" (a bug
turned into a MatrixCalculusError) never happens; an answer, once derived, prints.

    pytest tests/test_fuzz.py            a few hundred inputs per strategy, derandomized
    pytest tests/test_fuzz.py --long     thousands per strategy
    python fuzz/atheris_fuzz.py          coverage-guided fuzzing (atheris), run by hand
"""

from __future__ import annotations

import re

import pytest
from corpus_support import load, load_v2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matrixcalculus as mc
from matrixcalculus.limits import deadline
from matrixcalculus.ops import ALL

cases, _ = load()
cases_v2, _ = load_v2()          # v2's axis functions and expansions are mutated too
SEED_CASES = [*cases.public(), *cases_v2.public()]
SEEDS = sorted({c["expr"] for c in SEED_CASES})
SEED_VARS = {c["expr"]: c["vars"] for c in SEED_CASES}
NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
POSITIONED = (mc.ParseError, mc.ShapeError, mc.UnknownNameError)
SECONDS = 2.0          # each fuzzed derivation runs under this time limit


def _settings(long_mode: bool, normal: int = 200, long: int = 5_000):
    return settings(max_examples=long if long_mode else normal, deadline=None,
                    derandomize=not long_mode, database=None,
                    suppress_health_check=list(HealthCheck))


def front_door(text, wrt="x", vars=None, order=1) -> None:
    """derivative() and expression() on one input: only MatrixCalculusError may leave,
    with a position for parse and shape errors; a derived answer must print."""
    for call in (lambda: mc.derivative(text, wrt, vars=vars, order=order),
                 lambda: mc.expression(text, vars=vars)):
        try:
            with deadline(SECONDS):
                result = call()
                if isinstance(result, mc.Derivative):
                    str(result)
                    result.latex()
        except mc.MatrixCalculusError as e:
            check_error(e, text)


def check_error(e: mc.MatrixCalculusError, text) -> None:
    assert isinstance(e.message, str) and e.message
    assert not e.message.startswith("internal error"), (text, e.message)
    str(e)                                   # rendering with the caret never fails
    if isinstance(e, POSITIONED) and isinstance(text, str) and e.source == text:
        assert e.pos is not None, (type(e).__name__, e.message, text)
        assert 0 <= e.pos <= len(text), (e.pos, text)
        assert e.end is None or e.pos < e.end <= len(text) + 1, (e.pos, e.end, text)


def names_in(text: str) -> list[str]:
    found = [n for n in NAME.findall(text) if n not in ALL and n != "where"]
    return sorted(set(found)) or ["x"]


# ------------------------------------------------------------------ strategies
TOKENS = [
    "x", "y", "A", "B", "S", "a", "b", "alpha", "lambda", "s", "n", "m", "k", "where",
    *sorted(ALL), "0", "1", "2", "0.5", ".5", "3.", "1e-3", "2e5", "1e999", "1e-999",
    "+", "-", "*", "/", ".*", "./", "^", ".^", "'", "(", ")", ",", "=", " ", "  ",
    "\t", "\n", ".", "..", ";", "[", "]", "{", "}", "#", "!", "@", "$", "%", "&", "|",
    "~", "?", ":", "\\", '"', "`", "\x00", "\x7f", "²", "α", "·", "−", "ᵀ", "\u200b",
    "\ud7ff", "é", "x1", "_", "__", "A_1", "ones(n)", "eye(3)", "ones(m,n)",
    "einsum(", "\"ij,jk->ik\"", "\"ii->i\"", "\"i->ii\"", "ij->", "->", "\"ij\"", "T", "\"\"",
]


@st.composite
def token_soups(draw) -> str:
    return "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=30)))


@st.composite
def random_bytes(draw) -> str:
    raw = draw(st.binary(max_size=80))
    codec = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    return raw.decode(codec, errors="replace")


@st.composite
def mutants(draw) -> tuple[str, dict | None]:
    """A corpus expression with a few random edits: deletions, insertions of tokens,
    duplications and swaps of slices, replaced characters."""
    text = draw(st.sampled_from(SEEDS))
    vars_ = SEED_VARS[text] if draw(st.booleans()) else None
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 8)))
        kind = draw(st.integers(0, 5))
        if kind == 0:                                       # delete a slice
            text = text[:i] + text[j:]
        elif kind == 1:                                     # insert a token
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif kind == 2:                                     # duplicate a slice
            text = text[:j] + text[i:j] + text[j:]
        elif kind == 3 and j < n:                           # replace a character
            text = text[:j] + draw(st.sampled_from("()+-*/.^',=xyAa1 ")) + text[j + 1:]
        elif kind == 4:                                     # swap two slices
            k = draw(st.integers(j, n))
            text = text[:i] + text[j:k] + text[i:j] + text[k:]
        else:                                               # wrap a slice in a call
            f = draw(st.sampled_from(sorted(ALL)))
            text = text[:i] + f + "(" + text[i:j] + ")" + text[j:]
    return text, vars_


DECL_TOKENS = ["scalar", "vector", "matrix", "symmetric", "(", ")", ",", "n", "m", "3", "0",
               "-1", "2.5", " ", "where", "x", "", "((", "))", "1e3", "tensor", "\x00"]


@st.composite
def declarations(draw) -> dict:
    names = draw(st.lists(st.sampled_from(["x", "y", "A", "B", "a", "S", "n", "1x", ""]),
                          max_size=3, unique=True))
    out = {}
    for name in names:
        out[name] = "".join(draw(st.lists(st.sampled_from(DECL_TOKENS), max_size=6)))
    return out


# axis functions, 2-argument calls and expansion (LANGUAGE.md v2 "along one axis", "Expansion")
AXIS_VARS = {"X": "matrix(n, m)", "Y": "matrix(n, m)", "W": "matrix(m, k)", "x": "vector(n)",
             "y": "vector(m)", "a": "scalar", "S": "symmetric(n)"}
AXIS_ATOMS = ["X", "Y", "W", "x", "y", "x'", "y'", "a", "S", "X'", "X*W", "ones(n)",
              "ones(n, m)", "eye(n)", "sum(X, 1)", "sum(X, 2)", "mean(X, 2)", "2*sum(X, 2)",
              "logsumexp(X, 2)", "softmax(X, 2)", "sum(X, 2)'", "n", "m", "sqrt(k)", "1", "0.5",
              "s", "pi", "u"]
AXES = ["1", "2", "0", "3", "-1", "2.5", "1e0", "1.0", "k", "n", "a", "x", "(1)", "1 + 1", "2'",
        "", "X", "sum(X, 2)", "1e999", "-0", "4"]
FUNCS = sorted(ALL)
ALONG = ["sum", "mean", "logsumexp", "softmax"]


def axis_expressions() -> st.SearchStrategy[str]:
    def extend(inner):
        return st.one_of(
            st.tuples(st.sampled_from(ALONG * 4 + FUNCS), inner,
                      st.sampled_from(["1", "2"] * 6 + AXES))
            .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),                  # f(X, k), any k
            st.tuples(st.sampled_from(["max", "min"] * 4 + FUNCS), inner, inner)
            .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),                  # f(a, b) of every f
            st.tuples(st.sampled_from(FUNCS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, st.sampled_from(["+", "-", ".*", "./", ".^", "*", "/", "^"]),
                      inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),  # expansions
            st.tuples(inner, inner).map(lambda t: f"{t[0]}'*{t[1]}"),
        )
    return st.recursive(st.sampled_from(AXIS_ATOMS), extend, max_leaves=6)


@st.composite
def axis_forms(draw) -> tuple[str, dict | None]:
    text = draw(axis_expressions())
    if draw(st.booleans()):                                         # a where-name
        text = f"{text} where s = {draw(axis_expressions())}"
    pick = draw(st.integers(0, 3))          # undeclared, the names used declared, or all
    vars_ = None if pick == 0 else (
        {k: v for k, v in AXIS_VARS.items() if re.search(rf"\b{k}\b", text)} if pick < 3
        else dict(AXIS_VARS))
    return text, vars_


# einsum: subscripts valid or broken (a wrong term length, a label of two sizes, '->'
# missing or doubled, non-letters, an output label no input has, too few or many
# operands), on tensors of order 3 and 4, inside larger expressions
TENSOR_VARS = {"T": "tensor(n, d, h)", "U": "tensor(h, d, n, m)", "S": "tensor(n, n, h)",
               "A": "matrix(n, d)", "x": "vector(h)", "y": "vector(n)", "a": "scalar"}
EINSUM_OPERANDS = ["T", "U", "S", "A", "x", "y", "a", "tanh(T)", "T.*T", "sum(T, 2)",
                   "softmax(T, 3)", "A'", "2*U", "ones(n)", "E"]
TERM_CHARS = "ijklab" * 4 + "1 _.>-"


@st.composite
def einsum_forms(draw) -> tuple[str, dict | None]:
    k = draw(st.integers(0, 4))
    terms = [draw(st.text(alphabet=TERM_CHARS, max_size=5)) for _ in range(max(k, 1))]
    out = draw(st.text(alphabet=TERM_CHARS[:24], max_size=5))
    arrow = draw(st.sampled_from(["->"] * 6 + ["", "->->", "-", ">"]))
    spec = ",".join(terms) + arrow + out
    spec = f'"{spec}"' if draw(st.integers(0, 3)) else spec     # mostly quoted
    ops = [draw(st.sampled_from(EINSUM_OPERANDS)) for _ in range(k + draw(st.integers(-1, 1)))]
    text = f"einsum({', '.join([spec, *ops])})"
    wrap = draw(st.integers(0, 6))
    if wrap == 1:
        text = f"sum({text})"
    elif wrap == 2:
        text = f"norm2({text})^2"
    elif wrap == 3:
        text = f"sum(E.*sum(E, {draw(st.integers(0, 5))})) where E = {text}"
    elif wrap == 4:
        text = f"tr({text})"
    elif wrap == 5:
        text = f"sum(softmax({text}, 2).*T)"
    pick = draw(st.integers(0, 2))
    vars_ = None if pick == 0 else dict(TENSOR_VARS) if pick == 1 else {
        v: d for v, d in TENSOR_VARS.items() if re.search(rf"\b{v}\b", text)}
    return text, vars_


# ------------------------------------------------------------------ the tests
@pytest.mark.long
def test_einsum_forms(long_mode):
    """Valid and broken einsum subscripts over tensors, inside larger expressions: one
    MatrixCalculusError with a position in the text, or an answer that prints."""
    @_settings(long_mode, normal=300, long=10_000)
    @given(einsum_forms(), st.integers(0, 3), st.sampled_from([1, 1, 1, 2]))
    def run(form, k, order):
        text, vars_ = form
        names = [n for n in names_in(text) if n != "E"] or ["T"]
        front_door(text, names[k % len(names)], vars_, order)
    run()



@pytest.mark.long
def test_random_bytes(long_mode):
    @_settings(long_mode)
    @given(random_bytes())
    def run(text):
        front_door(text, "x")
        front_door(text, names_in(text)[0])
    run()


@pytest.mark.long
def test_token_soups(long_mode):
    @_settings(long_mode, normal=300, long=10_000)
    @given(token_soups(), st.integers(0, 3))
    def run(text, k):
        names = names_in(text)
        front_door(text, "x")
        front_door(text, names[k % len(names)])
    run()


@pytest.mark.long
def test_mutated_corpus_expressions(long_mode):
    @_settings(long_mode, normal=300, long=10_000)
    @given(mutants(), st.integers(0, 3), st.sampled_from([1, 1, 1, 2]))
    def run(mutant, k, order):
        text, vars_ = mutant
        names = names_in(text)
        front_door(text, names[k % len(names)], vars_, order)
        front_door(text, "x", vars_, order)
    run()


@pytest.mark.long
def test_axis_forms_and_expansions(long_mode):
    """f(X, k) with every k (bad ones too), two arguments to every function, rows, columns
    and matrices side by side, where-names; declared, partly declared or not."""
    @_settings(long_mode, normal=300, long=10_000)
    @given(axis_forms(), st.integers(0, 3), st.sampled_from([1, 1, 1, 2]))
    def run(form, k, order):
        text, vars_ = form
        names = names_in(text)
        front_door(text, names[k % len(names)], vars_, order)
    run()


@pytest.mark.long
def test_random_declarations(long_mode):
    @_settings(long_mode)
    @given(declarations(), st.sampled_from(SEEDS))
    def run(vars_, text):
        front_door(text, names_in(text)[0], vars_)
    run()


@pytest.mark.long
def test_random_arguments(long_mode):
    """Not only text: anything may be passed for expr, wrt, vars and order."""
    junk = st.one_of(st.none(), st.integers(-3, 10), st.floats(allow_nan=True),
                     st.text(max_size=10), st.binary(max_size=10), st.booleans(),
                     st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=3), st.text(max_size=8), max_size=2))

    @_settings(long_mode)
    @given(st.one_of(st.sampled_from(SEEDS), junk), junk, junk, junk)
    def run(expr, wrt, vars_, order):
        try:
            with deadline(SECONDS):
                d = mc.derivative(expr, wrt, vars=vars_, order=order)
                str(d)
        except mc.MatrixCalculusError as e:
            check_error(e, expr)
    run()


@pytest.mark.parametrize("text", [
    "(" * 300 + "x" + ")" * 300,
    "-" * 3000 + "x",
    "x" + "'" * 3000,
    "x" + ".^x" * 2000,
    "exp(" * 1000 + "x" + ")" * 1000,
    "x" + "+x" * 9000,
    "x where " + ", ".join(f"s{i} = x" for i in range(2000)),
    "s0 where " + ", ".join(f"s{i} = s{i + 1}" for i in range(1500)) + ", s1500 = x",
    "((((((((((" * 30,
    "x" * 19_999,
    "1" * 5000 + "*x",
    "0." + "0" * 5000 + "1*x",
], ids=["parens", "minus", "transposes", "epowers", "calls", "sum", "bindings",
        "binding-chain", "open-parens", "long-name", "long-number", "tiny-number"])
def test_pathological_inputs(text):
    front_door(text, "x")
