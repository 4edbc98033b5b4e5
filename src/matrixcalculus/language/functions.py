"""The functions of the language and how many arguments each takes."""

from __future__ import annotations

# LANGUAGE.md's elementwise functions, plus sign and step (the derivatives of
# abs and relu), which answers need so that they parse back.
ELEMENTWISE = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "softplus",
               "abs", "relu", "sign", "step")
REDUCTIONS = ("sum", "tr", "det", "logdet", "norm2", "norm1", "logsumexp")
MATRIX_FUNCTIONS = ("inv", "diag")
VECTOR_FUNCTIONS = ("softmax",)
CONSTANTS = ("ones", "eye")

ARITY: dict[str, tuple[int, ...]] = {
    **{f: (1,) for f in ELEMENTWISE + REDUCTIONS + MATRIX_FUNCTIONS + VECTOR_FUNCTIONS},
    "ones": (1, 2),
    "eye": (1,),
}
ALL = frozenset(ARITY)
