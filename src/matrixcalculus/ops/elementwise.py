"""The elementwise functions: one row each (HIPS autograd's style: the table is the
documentation).  `d` is f'(x) as IR, from x and y = f(x), written with the elementwise
operators on nodes; `code` is a template per backend ({xp}: np, torch, jnp, da);
`oracle(torch, x)` is the tests' independent reference."""

from __future__ import annotations

import math

from ..ir.build import power
from ..ir.functions import call, const
from .row import Row, elementwise, elementwise2

exp, sin, cos, sigmoid, sign, step, normcdf, normpdf = (call(f) for f in (
    "exp", "sin", "cos", "sigmoid", "sign", "step", "normcdf", "normpdf"))

_SQRT_2PI = math.sqrt(2 * math.pi)


def _normcdf(v: float) -> float:
    return 0.5 * math.erfc(-v / math.sqrt(2))


def _normpdf(v: float) -> float:
    return math.exp(-0.5 * v * v) / _SQRT_2PI


_OUTSIDE_UNIT = ((lambda x: abs(x) > 1, "a number outside [-1, 1]"),)


def _zero(x, y):
    return 0 * x


_SIGMOID_NUMPY = '''def _sigmoid(x):
    # exp(-x) overflows to inf for x < -709, which gives the right limit 0: no warning
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))'''
_SIGMOID_DASK = '''def _sigmoid(x):
    return da.exp(-da.logaddexp(0.0, -x))'''


def _pdf_helper(xp: str) -> dict[str, str]:
    return {"_normpdf": f'''def _normpdf(x):
    return {xp}.exp(-0.5 * x * x) * {1 / _SQRT_2PI!r}'''}


def _gelu_helper(xp: str) -> dict[str, str]:
    return {"_gelu": f'''def _gelu(x):
    return x * {xp}.ndtr(x)'''}


ROWS: list[Row] = [
    elementwise("exp", fold=math.exp, d=lambda x, y: y, code="{xp}.exp({0})", latex=r"\exp",
                oracle=lambda t, x: t.exp(x), domain="bounded", letter="e"),
    elementwise("log", fold=math.log, d=lambda x, y: 1 / x, code="{xp}.log({0})",
                latex=r"\log", oracle=lambda t, x: t.log(x), domain="positive", letter="l",
                undefined=((lambda x: x < 0, "a negative number"), (lambda x: x == 0, "zero"))),
    elementwise("sqrt", fold=math.sqrt, d=lambda x, y: 0.5 / y, code="{xp}.sqrt({0})",
                latex=r"\sqrt{{{0}}}", oracle=lambda t, x: t.sqrt(x), domain="positive",
                letter="r", lower=lambda x, shape: power(x, const(0.5))),
    elementwise("sin", fold=math.sin, d=lambda x, y: cos(x), code="{xp}.sin({0})",
                latex=r"\sin", oracle=lambda t, x: t.sin(x)),
    elementwise("cos", fold=math.cos, d=lambda x, y: -sin(x), code="{xp}.cos({0})",
                latex=r"\cos", oracle=lambda t, x: t.cos(x)),
    elementwise("tan", fold=math.tan, d=lambda x, y: 1 + y ** 2, code="{xp}.tan({0})",
                latex=r"\tan", oracle=lambda t, x: t.tan(x), domain="bounded"),
    elementwise("tanh", fold=math.tanh, d=lambda x, y: 1 - y ** 2, code="{xp}.tanh({0})",
                latex=r"\tanh", oracle=lambda t, x: t.tanh(x), letter="t",
                saturates=(-1.0, 1.0)),
    elementwise("sigmoid", fold=lambda v: 1 / (1 + math.exp(-v)), d=lambda x, y: y * (1 - y),
                code={"numpy": "_sigmoid({0})", "torch": "torch.sigmoid({0})",
                      "jax": "jax.nn.sigmoid({0})", "dask": "_sigmoid({0})"},
                helpers={"numpy": {"_sigmoid": _SIGMOID_NUMPY},
                         "dask": {"_sigmoid": _SIGMOID_DASK}},
                latex=r"\sigma", oracle=lambda t, x: t.sigmoid(x), letter="s",
                saturates=(0.0, 1.0)),
    elementwise("softplus", fold=lambda v: math.log1p(math.exp(v)), d=lambda x, y: sigmoid(x),
                code={"*": "{xp}.logaddexp(0.0, {0})",
                      "torch": "torch.nn.functional.softplus({0})",
                      "jax": "jax.nn.softplus({0})"},
                latex=r"\operatorname{softplus}",
                oracle=lambda t, x: t.nn.functional.softplus(x), letter="g"),
    elementwise("abs", fold=abs, d=lambda x, y: sign(x), code="{xp}.abs({0})",
                latex=r"\left|{0}\right|", oracle=lambda t, x: t.abs(x)),
    elementwise("relu", fold=lambda v: max(v, 0.0), d=lambda x, y: step(x),
                code={"*": "{xp}.maximum({0}, 0.0)", "torch": "torch.relu({0})",
                      "jax": "jax.nn.relu({0})"},
                latex=r"\operatorname{relu}", oracle=lambda t, x: t.relu(x)),
    elementwise("sign", fold=lambda v: float((v > 0) - (v < 0)), d=_zero,
                code="{xp}.sign({0})", latex=r"\operatorname{sign}",
                oracle=lambda t, x: t.sign(x)),
    elementwise("step", fold=lambda v: float(v > 0), d=_zero,
                code={"*": "np.heaviside({0}, 0.0)", "torch": "(({0}) > 0).to(_dtype)",
                      "jax": "jnp.heaviside({0}, 0.0)"},   # np.heaviside is a ufunc: lazy on dask
                latex=r"\operatorname{step}", oracle=lambda t, x: (x > 0).to(x.dtype)),
    # ---- v2
    elementwise("asin", aliases=("arcsin",), fold=math.asin, d=lambda x, y: (1 - x ** 2) ** -0.5,
                code="{xp}.arcsin({0})", latex=r"\arcsin", oracle=lambda t, x: t.asin(x),
                domain="unit", undefined=_OUTSIDE_UNIT),
    elementwise("acos", aliases=("arccos",), fold=math.acos,
                d=lambda x, y: -(1 - x ** 2) ** -0.5, code="{xp}.arccos({0})",
                latex=r"\arccos", oracle=lambda t, x: t.acos(x), domain="unit",
                undefined=_OUTSIDE_UNIT),
    elementwise("atan", aliases=("arctan",), fold=math.atan, d=lambda x, y: 1 / (1 + x ** 2),
                code="{xp}.arctan({0})", latex=r"\arctan", oracle=lambda t, x: t.atan(x)),
    elementwise("log1p", fold=math.log1p, d=lambda x, y: 1 / (1 + x), code="{xp}.log1p({0})",
                latex=r"\operatorname{log1p}", oracle=lambda t, x: t.log1p(x),
                domain="positive", undefined=((lambda x: x < -1, "a number below -1"),
                                              (lambda x: x == -1, "-1"))),
    elementwise("expm1", fold=math.expm1, d=lambda x, y: exp(x), code="{xp}.expm1({0})",
                latex=r"\operatorname{expm1}", oracle=lambda t, x: t.expm1(x),
                domain="bounded"),
    # max and min: the derivative where defined, as for relu; a tie goes to b, so the
    # partials always sum to 1 (max(a, a) = a has derivative 1)
    elementwise2("max", fold=max, d=lambda a, b, y: (step(a - b), 1 - step(a - b)),
                 code="{xp}.maximum({0}, {1})", latex=r"\max",
                 oracle=lambda t, a, b: t.maximum(a, b)),
    elementwise2("min", fold=min, d=lambda a, b, y: (step(b - a), 1 - step(b - a)),
                 code="{xp}.minimum({0}, {1})", latex=r"\min",
                 oracle=lambda t, a, b: t.minimum(a, b)),
    elementwise("erf", fold=math.erf, d=lambda x, y: 2 / math.sqrt(math.pi) * exp(-x ** 2),
                code={"*": "scipy.special.erf({0})", "torch": "torch.special.erf({0})",
                      "jax": "jax.scipy.special.erf({0})"},
                latex=r"\operatorname{erf}", oracle=lambda t, x: t.erf(x), saturates=(-1.0, 1.0)),
    elementwise("normcdf", fold=_normcdf, d=lambda x, y: normpdf(x),
                code={"*": "scipy.special.ndtr({0})", "torch": "torch.special.ndtr({0})",
                      "jax": "jax.scipy.special.ndtr({0})"},
                latex=r"\Phi", oracle=lambda t, x: 0.5 * t.erfc(-x / math.sqrt(2)),
                saturates=(0.0, 1.0)),
    elementwise("normpdf", fold=_normpdf, d=lambda x, y: -x * y, code="_normpdf({0})",
                helpers={"numpy": _pdf_helper("np"), "torch": _pdf_helper("torch"),
                         "jax": _pdf_helper("jnp"), "dask": _pdf_helper("da")},
                latex=r"\varphi", oracle=lambda t, x: t.exp(-x * x / 2) / _SQRT_2PI),
    # the exact GELU, x .* normcdf(x) (LANGUAGE.md), not the tanh approximation
    elementwise("gelu", fold=lambda v: v * _normcdf(v), d=lambda x, y: normcdf(x) + x * normpdf(x),
                code={"numpy": "_gelu({0})", "dask": "_gelu({0})",
                      "torch": "torch.nn.functional.gelu({0})",
                      "jax": "jax.nn.gelu({0}, approximate=False)"},
                helpers={"numpy": _gelu_helper("scipy.special"),
                         "dask": _gelu_helper("scipy.special")},
                latex=r"\operatorname{GELU}",
                oracle=lambda t, x: x * 0.5 * t.erfc(-x / math.sqrt(2))),
]
