"""The rows of ops/: each complete (checked at import), each elementwise function's
folding, derivative and code agreeing with its independent torch oracle."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch

import matrixcalculus as mc
from matrixcalculus import ops
from matrixcalculus.language.parser import parse
from matrixcalculus.ops.row import check_rows
from matrixcalculus.printers.latex import to_latex

ELEMENTWISE = [r for r in ops.rows() if r.kind == "elementwise"]
POINTS = {"any": [-1.3, -0.2, 0.4, 1.7], "positive": [0.3, 0.9, 1.6, 2.5],
          "unit": [-0.8, -0.1, 0.3, 0.7], "bounded": [-1.1, -0.3, 0.2, 0.9]}


def test_every_row_is_complete():
    check_rows(ops.rows())


@pytest.mark.parametrize("fact", ["d", "fold", "oracle", "vjp", "latex"])
def test_a_row_missing_a_fact_is_caught(fact):
    r = ops.row("atan") if fact not in ("vjp",) else ops.row("inv")
    broken = dataclasses.replace(r, **{fact: None if fact != "latex" else ""})
    with pytest.raises(RuntimeError, match=r.name):
        check_rows([broken])


def test_a_row_missing_a_backend_is_caught():
    r = ops.row("erf")
    broken = dataclasses.replace(r, code={k: v for k, v in r.code.items() if k != "jax"})
    with pytest.raises(RuntimeError, match="code for jax"):
        check_rows([broken])


def test_aliases_are_the_same_function():
    for alias, name in [("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan")]:
        assert ops.row(alias) is ops.row(name)
        d = mc.derivative(f"{alias}(a)", "a", vars={"a": "scalar"})
        assert str(d) == str(mc.derivative(f"{name}(a)", "a", vars={"a": "scalar"}))
        # answers print the canonical name
        assert f"{name}(" in str(mc.derivative(f"{alias}(a)^2", "a", vars={"a": "scalar"}))


@pytest.mark.parametrize("r", [r for r in ELEMENTWISE if r.arity == (1,)], ids=lambda r: r.name)
def test_fold_and_derivative_agree_with_the_oracle(r):
    xs = POINTS[r.domain]
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = r.oracle(torch, t)
    g = torch.autograd.grad(y.sum(), t)[0] if y.requires_grad else torch.zeros_like(t)
    for v, want in zip(xs, y.detach().numpy()):
        assert r.fold(v) == pytest.approx(float(want), rel=1e-12, abs=1e-14), r.name
    d = mc.derivative(f"sum({r.name}(x))", "x", vars={"x": "vector(n)"})
    np.testing.assert_allclose(d.evaluate(x=np.array(xs)), g.numpy(), rtol=1e-10, atol=1e-14,
                               err_msg=f"{r.name}: {d}")
    value = mc.expression(f"{r.name}(x)", vars={"x": "vector(n)"})
    np.testing.assert_allclose(value.evaluate(x=np.array(xs)), y.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("r", [r for r in ELEMENTWISE if r.arity == (2,)], ids=lambda r: r.name)
def test_functions_of_two_agree_with_the_oracle(r):
    a, b = np.array([0.3, -1.2, 2.0]), np.array([0.5, -1.5, 1.0])
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ga, gb = torch.autograd.grad(r.oracle(torch, ta, tb).sum(), (ta, tb))
    vars = {"a": "vector(n)", "b": "vector(n)"}
    for wrt, want in (("a", ga), ("b", gb)):
        d = mc.derivative(f"sum({r.name}(a, b))", wrt, vars=vars)
        np.testing.assert_allclose(d.evaluate(a=a, b=b), want.numpy(), err_msg=str(d))


@pytest.mark.parametrize("name", ["atan", "erf", "gelu", "sin", "asin", "sign", "log1p"])
def test_constants_fold(name):
    """f(0*a) is the number f(0): no function node is left."""
    e = mc.expression(f"{name}(0*a)", vars={"a": "scalar"})
    assert e.ir.op == "const" or e.ir.op == "zero"


def test_latex_of_the_v2_functions():
    tex = to_latex(parse("atan(x) + asin(x) + erf(x) + normcdf(x) + gelu(x)"))
    for part in (r"\arctan", r"\arcsin", r"\operatorname{erf}", r"\Phi", r"\operatorname{GELU}"):
        assert part in tex, tex


def test_the_readme_lists_every_function():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## The language, briefly", 1)[1].split("\n## ", 1)[0]
    missing = [n for n in ops.ALL if not re.search(rf"[`\s]{n}[`\s(]", section)]
    assert not missing, f"README's language section does not name {missing}"
