"""matrixcalculus: closed-form, verified matrix and vector derivatives for machine learning.

    import matrixcalculus as mc
    d = mc.derivative("x'*A*x", wrt="x")
    str(d), d.latex(), d.shape, d.evaluate(A=..., x=...)
"""

from .api import Derivative, Expression, VariableInfo, check_claim, derivative, expression
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
    "UnsupportedDerivativeError", "VariableInfo", "derivative", "Expression", "expression",
]
__version__ = "0.1.0"
