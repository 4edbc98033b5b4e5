"""The command line, called in-process.  Answers' text is checked for presence, not wording."""

from __future__ import annotations

import io
import json
import sys

import pytest

from matrixcalculus import examples
from matrixcalculus.cli import main

QUAD = "x'*A*x"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def blocks(out: str) -> list[list[str]]:
    """Text output split into blocks of lines (one block per --wrt)."""
    return [b.splitlines() for b in out.strip("\n").split("\n\n")]


def assert_answer(lines: list[str]) -> None:
    assert len(lines) >= 2
    assert all(line.startswith("  ") and line.strip() for line in lines[1:])


def test_gradient(capsys):
    rc, out, err = run(capsys, QUAD, "--wrt", "x")
    assert rc == 0 and err == ""
    [block] = blocks(out)
    assert block[0] == "derivative of x'*A*x with respect to x   (shape: n)"
    assert_answer(block)


def test_declarations(capsys):
    rc, out, _ = run(capsys, "sum(A*X)", "--wrt", "X",
                     "--var", "A: matrix(m,n)", "--var", "X: matrix(n,k)")
    assert rc == 0
    [block] = blocks(out)
    assert block[0] == "derivative of sum(A*X) with respect to X   (shape: n x k)"
    assert_answer(block)


def test_scalar_shape(capsys):
    rc, out, _ = run(capsys, "sigmoid(u'*v + b)", "--wrt", "b", "--var", "b: scalar")
    assert rc == 0
    assert out.splitlines()[0].endswith("with respect to b   (shape: scalar)")


def test_hessian(capsys):
    rc, out, _ = run(capsys, QUAD, "--wrt", "x", "--order", "2")
    assert rc == 0
    [block] = blocks(out)
    assert block[0] == "hessian of x'*A*x with respect to x   (shape: n x n)"
    assert_answer(block)


def test_higher_order_heading(capsys):
    rc, out, _ = run(capsys, "b^4", "--wrt", "b", "--var", "b: scalar", "--order", "3")
    assert rc == 0
    assert out.startswith("order 3 derivative of b^4 with respect to b   (shape: scalar)\n")


def test_json(capsys):
    rc, out, _ = run(capsys, QUAD, "--wrt", "x", "--format", "json")
    assert rc == 0
    d = json.loads(out)
    assert set(d) == {"expr", "wrt", "order", "text", "latex", "shape", "kind", "variables",
                      "notes", "einsum", "vec_form"}
    assert d["einsum"] is None and d["vec_form"] is None      # a matrix-form answer
    assert (d["expr"], d["wrt"], d["order"], d["shape"], d["kind"]) == \
        (QUAD, "x", 1, ["n"], "gradient")
    assert d["text"] and d["latex"]
    assert d["notes"] == [] and set(d["variables"]) == {"x", "A"}
    assert d["variables"]["x"] == {"kind": "vector", "shape": ["n"], "origin": "spelling"}


def test_every_answer_lists_its_variables_and_notes(capsys):
    rc, out, _ = run(capsys, "norm2(A*w - y)^2 + lam*norm2(w)^2", "--wrt", "w")
    assert rc == 0
    lines = out.splitlines()
    assert lines[2] == ("  variables: A: matrix(n, m) (spelling); w: vector(m) (spelling); "
                        "y: vector(n) (spelling); lam: scalar (a loss is a scalar)")
    assert lines[3].startswith("note: lam is read as a scalar") and "declare lam: " in lines[3]
    rc, out, _ = run(capsys, "norm2(A*w - y)^2 + lam*norm2(w)^2", "--wrt", "w", "--format",
                     "json")
    d = json.loads(out)
    assert d["variables"]["lam"]["origin"] == "a loss is a scalar" and len(d["notes"]) == 1


def test_json_lines_for_several_wrt(capsys):
    rc, out, _ = run(capsys, QUAD, "--wrt", "x", "--wrt", "A", "--format", "json")
    assert rc == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["wrt"], r["shape"]) for r in rows] == [("x", ["n"]), ("A", ["n", "n"])]


def test_latex(capsys):
    rc, out, _ = run(capsys, QUAD, "--wrt", "x", "--format", "latex")
    assert rc == 0 and out.strip()


def test_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(QUAD + "\n"))
    rc, out, _ = run(capsys, "-", "--wrt", "x")
    assert rc == 0
    assert out.startswith("derivative of x'*A*x with respect to x   (shape: n)\n")


def test_file(capsys, tmp_path):
    f = tmp_path / "expr.txt"
    f.write_text(QUAD + "\n", encoding="utf-8")
    rc, out, _ = run(capsys, "--file", str(f), "--wrt", "x")
    assert rc == 0
    assert out.startswith("derivative of x'*A*x with respect to x")


def test_missing_file(capsys, tmp_path):
    rc, out, err = run(capsys, "--file", str(tmp_path / "nope"), "--wrt", "x")
    assert rc == 2 and out == ""
    assert err.startswith("error: cannot read")


def test_expression_starting_with_minus(capsys):
    rc, out, _ = run(capsys, "-x'*x", "--wrt", "x")
    assert rc == 0
    assert out.startswith("derivative of -x'*x with respect to x   (shape: n)\n")


def test_syntax_error_shows_caret(capsys):
    rc, out, err = run(capsys, "x'*A*", "--wrt", "x")
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error: ")
    assert "  x'*A*" in lines
    assert lines[-1].strip() == "^" and lines[-1].index("^") == len("  x'*A*")
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    [QUAD, "--wrt", "y"],                                # not a variable
    [QUAD, "--wrt", "x", "--var", "A matrix"],           # malformed declaration
    [QUAD, "--wrt", "x", "--var", "x: vector(n)", "--var", "x: scalar"],
    [QUAD, "--wrt", "x", "--order", "0"],
    ["A*x + x", "--wrt", "x", "--var", "A: matrix(m,n)"],  # shapes do not fit
])
def test_errors_exit_2(capsys, argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["--wrt", "x"],                          # no expression
    [QUAD],                                  # no --wrt
    [QUAD, "--wrt", "x", "--file", "f"],     # both an expression and a file
    [QUAD, "--wrt", "x", "--bogus"],
])
def test_usage_errors_exit_2(capsys, argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert "usage: matrixcalculus" in err


def test_several_wrt(capsys):
    rc, out, _ = run(capsys, QUAD, "--wrt", "x", "--wrt", "A")
    assert rc == 0
    first, second = blocks(out)
    assert first[0] == "derivative of x'*A*x with respect to x   (shape: n)"
    assert second[0] == "derivative of x'*A*x with respect to A   (shape: n x n)"
    assert_answer(first)
    assert_answer(second)


def test_help(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0
    assert "examples:" in out and "--wrt" in out


def test_colour_only_on_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\033[" not in run(capsys, QUAD, "--wrt", "x")[1]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert run(capsys, QUAD, "--wrt", "x")[1].startswith("\033[1mderivative of")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in run(capsys, QUAD, "--wrt", "x")[1]


def test_reference_examples_verify(capsys):
    assert examples.main() == 0
    out = capsys.readouterr().out
    assert out.count("verified: max rel. error") == len(examples.EXAMPLES)


def test_code_option_prints_a_runnable_module(capsys, tmp_path):
    """--code: stdout is the module alone (`> f.py` imports and runs), the answer in its
    comment header."""
    import importlib.util

    import numpy as np
    assert main(["x'*A*x", "--wrt", "x", "--code", "numpy", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# gradient of x'*A*x with respect to x   (shape: n)\n#   (A + A')*x")
    assert "#   A: matrix(n, n) (spelling), shape (n, n)" in out and "# check: verified" in out
    path = tmp_path / "f.py"
    path.write_text(out)
    spec = importlib.util.spec_from_file_location("f", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    A, x = np.arange(9.0).reshape(3, 3), np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(module.gradient(x=x, A=A), (A + A.T) @ x)
    with pytest.raises(TypeError):           # keyword-only
        module.gradient(A, x)
    # dimension names bind across arguments: n is x's length, so A must be n x n
    with pytest.raises(ValueError, match=r"gradient\(\): argument A should have shape \(n, n\) "
                                         r"with n = 3 \(as in x\), got shape \(2, 2\)"):
        module.gradient(A=A[:2, :2], x=x, check_shapes=True)
    with pytest.raises(ValueError, match=r"argument x should have shape \(n,\) \(1 axis\), "
                                         r"got shape \(3, 1\)"):
        module.gradient(A=A, x=x[:, None], check_shapes=True)
    # json keeps the module in its "code" field; latex and several --wrt refuse --code
    assert main(["x'*A*x", "--wrt", "x", "--code", "torch", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["code"].startswith("# gradient of x'*A*x")
    assert main(["x'*A*x", "--wrt", "x", "--code", "numpy", "--format", "latex"]) == 2
    assert "--format text" in capsys.readouterr().err
    assert main(["x'*A*x", "--wrt", "x", "--wrt", "A", "--code", "numpy"]) == 2
    assert "one --wrt" in capsys.readouterr().err


def test_steps_option(capsys):
    assert main(["sum(A*X)", "--wrt", "X", "--var", "A: matrix(m,n)", "--var", "X: matrix(n,k)",
                 "--steps"]) == 0
    out = capsys.readouterr().out
    assert "df/d(A*X) = ones(m, k)" in out and "df/dX = A'*ones(m, k)" in out


def test_the_kind_in_words_is_said_once():
    """Derivation.kind_text / title: the CLI, code headers, claims, the web page and Jupyter
    all read them (the page no longer spells the kind itself)."""
    import matrixcalculus as mc
    d3 = mc.derivative("x'*A*x", "x", vars={"A": "matrix(n, n)"}, order=3)
    h = mc.derivative("x'*A*x", "x", vars={"A": "matrix(n, n)"}, order=2)
    assert (d3.kind_text, d3.title) == ("derivative", "Derivative (order 3)")
    assert (h.kind_text, h.title) == ("Hessian", "Hessian")
    assert h._repr_html_().startswith("<div class='matrixcalculus'><div>Hessian of ")
    assert h.heading().startswith("hessian of ") and d3.heading().startswith("order 3 ")
