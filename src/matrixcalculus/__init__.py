"""matrixcalculus: closed-form, verified matrix and vector derivatives for machine learning.

    import matrixcalculus as mc
    d = mc.derivative("x'*A*x", wrt="x")
    str(d), d.latex(), d.shape, d.evaluate(A=..., x=...)
    v = mc.value_and_grad("sum(log(1 + exp(-y.*(X*w))))", wrt="w"); f, g = v.evaluate(...)
    mc.minimize(expr, "w", data={"X": X, "y": y}, method="trust-exact")   # SciPy's result
    h = mc.hvp("norm2(R - U*V')^2", wrt="U"); str(h) == "2*dU*V'*V"   # no dense Hessian
"""

from .api import (
    Derivative,
    Expression,
    ValueAndGrad,
    VariableInfo,
    check_claim,
    derivative,
    expression,
    hvp,
    minimize,
    value_and_grad,
)
from .claims import ClaimResult
from .errors import (
    DeclarationError,
    DomainError,
    EvaluationError,
    LimitError,
    MatrixCalculusError,
    NumericalError,
    ParseError,
    ShapeError,
    SingularMatrixError,
    UnknownNameError,
    UnsupportedDerivativeError,
)
from .limits import LIMITS
from .verify import CheckResult

__all__ = [
    "LIMITS", "CheckResult", "ClaimResult", "check_claim", "DeclarationError", "Derivative",
    "DomainError", "EvaluationError", "LimitError", "NumericalError", "SingularMatrixError",
    "MatrixCalculusError", "ParseError", "ShapeError", "UnknownNameError",
    "UnsupportedDerivativeError", "ValueAndGrad", "VariableInfo", "derivative", "Expression",
    "expression", "hvp", "minimize", "value_and_grad",
]
__version__ = "0.1.0"
