"""Bad inputs: each is rejected with one MatrixCalculusError subclass, a message saying what
and where, and a caret under the right place.  Nothing else ever escapes derivative()."""

from __future__ import annotations

import pytest

import matrixcalculus as mc
from matrixcalculus.errors import MatrixCalculusError

M2 = {"X": "matrix(n,d)"}
M = {"A": "matrix(m,n)"}
# the types a declaration error lists (LANGUAGE.md "Variables and their types")
TYPES_TEXT = ("scalar, vector(n), matrix(m,n), symmetric(n), tensor(n,d,h), spd(n), simplex(n) "
              "or simplex(n,c)")
OPERAND_OR_OP = ("unexpected 'b': expected an operator between operands "
                 "(products are written with '*')")

# (expr, wrt, vars, order, exception, message, pos)
# A message ending in "..." is a prefix; otherwise it is the exact first line.
BAD = [
    # --- empty input, parentheses
    ("", "x", None, 1, mc.ParseError, "the expression is empty", 0),
    ("   ", "x", None, 1, mc.ParseError, "the expression is empty", 0),
    ("(x", "x", None, 1, mc.ParseError, "missing ')': the input ends inside parentheses", 2),
    ("((x)", "x", None, 1, mc.ParseError, "missing ')': the input ends inside parentheses", 4),
    ("x)", "x", None, 1, mc.ParseError, "unbalanced ')': no '(' to close", 1),
    ("(x))", "x", None, 1, mc.ParseError, "unbalanced ')': no '(' to close", 3),
    (")x(", "x", None, 1, mc.ParseError, "unexpected ')': expected an operand before it", 0),
    ("()", "x", None, 1, mc.ParseError, "unexpected ')': expected an operand before it", 1),
    # --- missing operands and operators
    ("A*", "A", None, 1, mc.ParseError, "the expression ends too early: expected an operand", 2),
    ("x+", "x", None, 1, mc.ParseError, "the expression ends too early: expected an operand", 2),
    ("*x", "x", None, 1, mc.ParseError, "unexpected '*': expected an operand", 0),
    # --- habits from NumPy, PyTorch and LaTeX: the spelling this language uses
    ("x**2", "x", None, 1, mc.ParseError,
     "unexpected '**': powers are written x^2 for scalars, x.^2 elementwise (not x**2)", 1),
    ("x.T @ A @ x", "x", None, 1, mc.ParseError,
     "unexpected '.T': write x' for the transpose (not x.T)", 1),
    ("x'*A @ x", "x", None, 1, mc.ParseError,
     "unexpected '@': products are written with '*' (x'*A*x, not x.T @ A @ x)", 5),
    ("sum(np.exp(x))", "x", None, 1, mc.ParseError, "unexpected 'np.': functions are "
     "written without a module: exp(x), not np.exp(x) or torch.exp(x)", 4),
    ("torch.sum(x)", "x", None, 1, mc.ParseError, "unexpected 'torch.': functions are "
     "written without a module: exp(x), not np.exp(x) or torch.exp(x)", 0),
    ("X^\\top", "X", None, 1, mc.ParseError,
     "unexpected '^\\top': write X' for the transpose (not X^\\top)", 1),
    ("\\frac{1}{2}*x'*x", "x", None, 1, mc.ParseError, "unexpected '\\frac': LaTeX is not "
     "input: write a/b for a fraction, a./b elementwise", 0),
    ("trace(X)", "X", None, 1, mc.UnknownNameError,
     "unknown function 'trace' (the trace is written tr(X))", 0),
    ("transpose(x)*x", "x", None, 1, mc.UnknownNameError,
     "unknown function 'transpose' (the transpose is written x')", 0),
    ("tr(dexpm(X, B))", "X", {"X": "matrix(n,n)", "B": "matrix(m,m)"}, 1, mc.ShapeError,
     "dexpm needs two square matrices of one size, but X is a matrix (n x n) and B is a "
     "matrix (m x m)", 3),
    ("tr(dexpm(X))", "X", None, 1, mc.ParseError, "dexpm takes 2 to 9 arguments, got 1", 3),
    ("max(x)", "x", None, 1, mc.ParseError, "max(a, b) is elementwise, of two arguments; "
     "the largest entry of one is not a function of the language (logsumexp(x) is a smooth "
     "max)", 0),
    ("a b", "a", None, 1, mc.ParseError, OPERAND_OR_OP, 2),
    ("2 x", "x", None, 1, mc.ParseError,
     "unexpected 'x': expected an operator between operands (products are written with '*')", 2),
    ("x .", "x", None, 1, mc.ParseError, "unexpected character '.'", 2),
    ("x..*x", "x", None, 1, mc.ParseError, "unexpected character '.'", 1),
    ("x,y", "x", None, 1, mc.ParseError,
     "unexpected ',': commas only separate function arguments and where-bindings", 1),
    # --- functions
    ("sumx(x)", "x", None, 1, mc.UnknownNameError,
     "unknown function 'sumx' (did you mean sum?)", 0),
    ("expp(x)", "x", None, 1, mc.UnknownNameError,
     "unknown function 'expp' (did you mean exp?)", 0),
    ("2*sigmod(x)", "x", None, 1, mc.UnknownNameError,
     "unknown function 'sigmod' (did you mean sigmoid?)", 2),
    ("foo(x)", "x", None, 1, mc.UnknownNameError, "unknown function 'foo'", 0),
    ("x (y)", "x", None, 1, mc.UnknownNameError,
     "unknown function 'x' (a product is written x*(...))", 0),
    ("x'*A(x)", "x", M, 1, mc.UnknownNameError,
     "'A' is a variable, not a function (a product is written A*(...))", 3),
    ("sum(x, y)", "x", None, 1, mc.ShapeError, "the axis of sum(X, k) is a number written "
     "out, 1 or 2 (k = 1 down each column, k = 2 along each row), not y", 7),
    ("exp(x, 2)", "x", None, 1, mc.ParseError, "exp takes 1 argument, got 2", 0),
    ("ones()", "x", None, 1, mc.ParseError, "ones takes 1 or 2 arguments, got 0", 0),
    ("x + exp()", "x", None, 1, mc.ParseError, "exp takes 1 argument, got 0", 4),
    ("eye(2,3)", "x", None, 1, mc.ParseError, "eye takes 1 argument, got 2", 0),
    ("ones(1,2,3)", "x", None, 1, mc.ParseError, "ones takes 1 or 2 arguments, got 3", 0),
    ("sum", "x", None, 1, mc.ParseError, "'sum' is a function: call it as sum(...)", 0),
    ("x + sum(,)", "x", None, 1, mc.ParseError, "unexpected ',': expected an operand", 8),
    ("ones(2.5)", "x", None, 1, mc.ShapeError, "ones() takes positive integer dimensions", 5),
    ("eye(0)", "x", None, 1, mc.ShapeError, "eye() takes positive integer dimensions", 4),
    ("ones(n+1)", "x", None, 1, mc.ShapeError,
     "ones() takes dimensions: names like n or integers", 5),
    # --- shape clashes: both shapes are named
    ("A*x", "x", {"A": "matrix(m,n)", "x": "vector(p)"}, 1, mc.ShapeError,
     "shape mismatch in A*x: A is a matrix (m x n) but x is a vector (p); the inner "
     "dimensions n and p differ", 0),
    ("b + A*x", "x", {"A": "matrix(m,n)", "x": "vector(p)"}, 1, mc.ShapeError,
     "shape mismatch in A*x: A is a matrix (m x n) but x is a vector (p)...", 4),
    ("x+y", "x", {"x": "vector(n)", "y": "vector(m)"}, 1, mc.ShapeError,
     "shape mismatch in x+y: x is a vector (n) but y is a vector (m); '+' needs equal shapes "
     "or a scalar on one side (or a row, or an axis-reduced column, beside a matrix)", 0),
    ("x'*y", "x", {"x": "vector(n)", "y": "vector(m)"}, 1, mc.ShapeError,
     "shape mismatch in x'*y: x' is a row vector (1 x n) but y is a vector (m); the inner "
     "dimensions n and m differ", 0),
    ("A.*B", "A", {"A": "matrix(m,n)", "B": "matrix(n,m)"}, 1, mc.ShapeError,
     "shape mismatch in A.*B: A is a matrix (m x n) but B is a matrix (n x m); '.*' needs "
     "equal shapes or a scalar on one side (or a row, or an axis-reduced column, beside a "
     "matrix)", 0),
    ("x*y", "x", {"x": "vector(n)", "y": "vector(n)"}, 1, mc.ShapeError,
     "shape mismatch in x*y: x is a vector (n) but y is a vector (n); the inner dimensions 1 "
     "and n differ (for an inner product write x'*y, elementwise x.*y)", 0),
    ("A*x", "x", {"A": "matrix(2,3)", "x": "vector(4)"}, 1, mc.ShapeError,
     "shape mismatch in A*x: A is a matrix (2 x 3) but x is a vector (4)...", 0),
    ("x/y", "x", {"x": "vector(n)", "y": "vector(n)"}, 1, mc.ShapeError,
     "'/' divides by a scalar, but y is a vector (n) (use ./ for elementwise division)", 0),
    ("x^2", "x", {"x": "vector(n)"}, 1, mc.ShapeError,
     "'^' of a vector: x is a vector (n); write x.^2 for elementwise powers or x'*x for the "
     "squared norm", 0),
    ("2^x", "x", {"x": "vector(n)"}, 1, mc.ShapeError,
     "the exponent of '^' must be a scalar, but x is a vector (n) (use .^ for elementwise "
     "powers)", 0),
    # --- matrix powers (v2): a square matrix and an integer literal only
    ("X^0.5", "X", None, 1, mc.ShapeError,
     "a matrix power needs an integer exponent written as a number (|k| <= 16), but the "
     "exponent of X is 0.5; use .^ for elementwise powers (sqrtm and expm(t*logm(X)) for "
     "fractional powers)", 0),
    ("X^k", "X", None, 1, mc.ShapeError, "a matrix power needs an integer exponent...", 0),
    ("X^17", "X", None, 1, mc.ShapeError, "matrix powers go up to |k| = 16, not 17", 0),
    ("A^2", "A", M, 1, mc.ShapeError,
     "a matrix power needs a square matrix, but A is a matrix (m x n) (use .^ for "
     "elementwise powers)", 0),
    ("X^T", "X", None, 1, mc.ShapeError,
     "'^T' is not a transpose here: write X' for the transpose", 0),
    ("x*A*x", "x", None, 1, mc.ShapeError,
     "x*A*x multiplies a column vector x from the left: did you mean x'*A*x? (or declare x "
     "a scalar or a matrix)", 0),
    ("eye(n)*x", "x", {"x": "vector(k)"}, 1, mc.ShapeError,
     "shape mismatch in eye(n)*x: eye(n) is a matrix (n x n) but x is a vector (k)...", 0),
    # --- det / tr / inv / softmax of the wrong shape
    ("det(A)", "A", M, 1, mc.ShapeError, "det needs a square matrix, but A is a matrix (m x n)", 0),
    ("tr(A)", "A", M, 1, mc.ShapeError, "tr needs a square matrix, but A is a matrix (m x n)", 0),
    ("2*inv(A)", "A", M, 1, mc.ShapeError,
     "inv needs a square matrix, but A is a matrix (m x n)", 2),
    ("logdet(A)", "A", M, 1, mc.ShapeError,
     "logdet needs a square matrix, but A is a matrix (m x n)", 0),
    ("diag(A)", "A", M, 1, mc.ShapeError,
     "diag needs a square matrix, but A is a matrix (m x n)", 0),
    ("tr(x)", "x", {"x": "vector(n)"}, 1, mc.ShapeError,
     "tr needs a square matrix, but x is a vector (n)", 0),
    ("det(x)", "x", {"x": "vector(n)"}, 1, mc.ShapeError,
     "det needs a square matrix, but x is a vector (n)", 0),
    ("inv(x)", "x", {"x": "vector(n)"}, 1, mc.ShapeError,
     "inv needs a square matrix, but x is a vector (n)", 0),
    ("softmax(A)", "A", M, 1, mc.ShapeError,
     "softmax takes a vector, but A is a matrix (m x n) without an axis; choose one: "
     "softmax(A, 2) along each row (each row sums to 1) or softmax(A, 1) down each column", 0),
    ("softmax(x')", "x", None, 1, mc.ShapeError,
     "softmax takes a vector, but x' is a row vector (1 x n); softmax(x', 2) runs along the "
     "row", 0),
    # --- along one axis, expansion (v2)
    ("sum(x, 2)", "x", {"x": "vector(n)"}, 1, mc.ShapeError,
     "sum(x, 2) reduces axis 2, but x is a vector (n): that axis has size 1 (did you mean "
     "sum(x, 1)?)", 0),
    ("sum(X, 3)", "X", M2, 1, mc.ShapeError,
     "sum(X, 3): X is a matrix (n x d), whose axes are 1 (down the columns) and 2 (along the "
     "rows)", 0),
    ("mean(X, k)", "X", M2, 1, mc.ShapeError,
     "the axis of mean(X, k) is a number written out, 1 or 2...", 8),
    ("logsumexp(X, 1.5)", "X", M2, 1, mc.ShapeError,
     "the axis of logsumexp(X, k) is a number written out...", 13),
    ("X - m", "X", {**M2, "m": "vector(d)"}, 1, mc.ShapeError,
     "shape mismatch in X - m: m is a vector (d) and the other side a matrix (n x d); a "
     "column vector never expands over a matrix (a row does, and an axis-reduced column such "
     "as sum(X, 2)): X - m' subtracts m from each row", 0),
    ("X + b'", "X", {**M2, "b": "vector(n)"}, 1, mc.ShapeError,
     "shape mismatch in X + b': b' is a row vector (1 x n) but the matrix is a matrix (n x "
     "d); expanding it needs as many columns (n and d differ)", 0),
    ("X - sum(X, 1)'", "X", M2, 1, mc.ShapeError,
     "shape mismatch in X - sum(X, 1)': sum(X, 1)' is a vector (d) and the other side a "
     "matrix (n x d); a column vector never expands over a matrix...", 0),
    ("max(x)", "x", None, 1, mc.ParseError, "max(a, b) is elementwise, of two arguments...", 0),
    # --- what the derivative is taken with respect to
    ("sum(x)", "y", None, 1, mc.UnsupportedDerivativeError,
     "y is not a variable of the expression (its variables: x)", None),
    ("sum(x)", "2", None, 1, mc.UnsupportedDerivativeError,
     "'with respect to' must be a variable name, got '2'", None),
    ("sum(x)", "x y", None, 1, mc.UnsupportedDerivativeError,
     "'with respect to' must be a variable name, got 'x y'", None),
    ("sum(x)", "", None, 1, mc.UnsupportedDerivativeError,
     "'with respect to' must be a variable name, got ''", None),
    ("sum(x)", "sum", None, 1, mc.UnsupportedDerivativeError,
     "sum is not a variable of the expression (its variables: x)", None),
    ("3", "x", None, 1, mc.UnsupportedDerivativeError,
     "x is not a variable of the expression (its variables: none)", None),
    ("sum(s) where s = x", "s", None, 1, mc.UnsupportedDerivativeError,
     "s is a named subexpression (where s = ...), not a variable", None),
    ("sum(x)", None, None, 1, mc.UnsupportedDerivativeError,
     "'with respect to' must be a variable name or a list of variable names, got None", None),
    ("sum(x)", 3, None, 1, mc.UnsupportedDerivativeError,
     "'with respect to' must be a variable name or a list of variable names, got 3", None),
    # --- order
    ("sum(x)", "x", None, 0, mc.UnsupportedDerivativeError,
     "order must be a positive integer, got 0", None),
    ("sum(x)", "x", None, -1, mc.UnsupportedDerivativeError,
     "order must be a positive integer, got -1", None),
    ("sum(x)", "x", None, "2", mc.UnsupportedDerivativeError,
     "order must be a positive integer, got '2'", None),
    ("sum(x)", "x", None, 2.0, mc.UnsupportedDerivativeError,
     "order must be a positive integer, got 2.0", None),
    ("sum(x)", "x", None, True, mc.UnsupportedDerivativeError,
     "order must be a positive integer, got True", None),
    # (order None: 1 for a name, the list's length for a list)
    ("sum(x .* y)", ["x", "y"], None, 3, mc.UnsupportedDerivativeError,
     "order 3 does not match the wrt list x, y: a mixed derivative's order is the length of "
     "its list (2); leave order out", None),
    ("sum(x)", ["x", 2], None, None, mc.UnsupportedDerivativeError,
     "entry 2 of the wrt list must be a variable name, got 2", None),
    ("sum(x)", [], None, None, mc.UnsupportedDerivativeError,
     "the list of variables to differentiate by is empty", None),
    ("sum(x)", ["x"] * 5, None, None, mc.LimitError, "order 5 is above the limit of 4", None),
    ("sum(x)", "x", None, 5, mc.LimitError, "order 5 is above the limit of 4", None),
    # --- declarations (the caret points into the declaration text)
    ("sum(x)", "x", {"x": "matrix(n)"}, 1, mc.DeclarationError,
     "matrix takes two dimensions for x, got 1 in 'matrix(n)'", 7),
    ("sum(x)", "x", {"x": "vector(-3)"}, 1, mc.DeclarationError,
     "dimension -3 for x must be a positive integer", 7),
    ("sum(x)", "x", {"x": "vector(0)"}, 1, mc.DeclarationError,
     "dimension 0 for x must be a positive integer", 7),
    ("sum(x)", "x", {"x": "array(n)"}, 1, mc.DeclarationError,
     "unknown type 'array(n)' for x: expected " + TYPES_TEXT, 0),
    ("sum(x)", "x", {"x": "tensor()"}, 1, mc.DeclarationError,
     "tensor takes one or more dimensions for x, got none in 'tensor()'", 0),
    ("sum(x)", "x", {"x": "matrix(m,)"}, 1, mc.DeclarationError,
     "a dimension is missing in 'matrix(m,)' for x", 9),
    ("sum(x)", "x", {"x": "matrix(,n)"}, 1, mc.DeclarationError,
     "a dimension is missing in 'matrix(,n)' for x", 7),
    ("sum(x)", "x", {"x": "vector(n"}, 1, mc.DeclarationError,
     "missing ')' in the type for x", 8),
    ("sum(x)", "x", {"x": "vector(n))"}, 1, mc.DeclarationError,
     "unbalanced ')' in the type for x", 8),
    ("sum(x)", "x", {"x": "scalar(n)"}, 1, mc.DeclarationError,
     "scalar takes no dimensions for x, got 1 in 'scalar(n)'", 7),
    ("sum(x)", "x", {"x": "symmetric(m, n)"}, 1, mc.DeclarationError,
     "symmetric takes one dimension for x, got 2 in 'symmetric(m, n)'", 10),
    ("sum(x)", "x", {"x": "vector(2.5)"}, 1, mc.DeclarationError,
     "bad dimension '2.5' for x: use a name like n or a positive integer", 7),
    ("sum(x)", "x", {"x": "vector(where)"}, 1, mc.DeclarationError,
     "bad dimension 'where' for x: use a name like n or a positive integer", 7),
    ("sum(x)", "x", {"x": ""}, 1, mc.DeclarationError,
     "empty type for x: expected " + TYPES_TEXT, 0),
    ("sum(x)", "x", {"x": 3}, 1, mc.DeclarationError,
     "the type of x must be text like 'matrix(m,n)', not int", None),
    ("sum(x)", "x", {"x": None}, 1, mc.DeclarationError,
     "the type of x must be text like 'matrix(m,n)', not NoneType", None),
    ("sum(x)", "x", {"x": ["vector", "n"]}, 1, mc.DeclarationError,
     "the type of x must be text like 'matrix(m,n)', not list", None),
    ("x'*x", "x", {"x": "vector(x)"}, 1, mc.DeclarationError,
     "'x' is both a dimension (of x) and a variable; rename one of them", 0),
    ("A*n", "n", {"A": "matrix(m,n)"}, 1, mc.UnsupportedDerivativeError,
     "n is a dimension (of A): used as a value it is that dimension's size, and a "
     "derivative cannot be taken with respect to it", None),
    ("ones(n)'*n", "n", None, 1, mc.UnsupportedDerivativeError,
     "n is a dimension: used as a value it is that dimension's size, and a derivative "
     "cannot be taken with respect to it", None),
    ("sum(sin(pi*x))", "pi", None, 1, mc.UnsupportedDerivativeError,
     "pi, undeclared, is the constant 3.14159...; declare it (e.g. pi: vector(k)) to "
     "differentiate with respect to a variable named pi", None),
    ("norm2(weight)^2", "weight", {"weights": "vector(n)"}, 1, mc.DeclarationError,
     "weights is declared but not used in the expression (did you mean weight?)", None),
    ("s'*x", "x", {"S": "vector(n)"}, 1, mc.DeclarationError,
     "S is declared but not used in the expression (did you mean s?)", None),
    ("sum(x)", "x", {3: "scalar"}, 1, mc.MatrixCalculusError, "bad variable name 3 in vars", None),
    ("sum(x)", "x", {"1x": "scalar"}, 1, mc.MatrixCalculusError,
     "bad variable name '1x' in vars", None),
    # --- where misuse
    ("x = 3", "x", None, 1, mc.ParseError,
     "unexpected '=': named subexpressions are written 'EXPR where NAME = EXPR'", 2),
    ("where", "x", None, 1, mc.ParseError,
     "unexpected 'where': it follows the whole expression, as in 'EXPR where NAME = EXPR'", 0),
    ("where(x)", "x", None, 1, mc.ParseError,
     "unexpected 'where': it follows the whole expression, as in 'EXPR where NAME = EXPR'", 0),
    ("where s = x", "x", None, 1, mc.ParseError,
     "unexpected 'where': an expression must come before it", 0),
    ("x where", "x", None, 1, mc.ParseError, "the expression ends too early: expected a name", 7),
    ("x where s", "x", None, 1, mc.ParseError, "the expression ends too early: expected '='", 9),
    ("x where s =", "x", None, 1, mc.ParseError,
     "the expression ends too early: expected an operand", 11),
    ("x where 3 = x", "x", None, 1, mc.ParseError, "unexpected '3': expected a name", 8),
    ("s where s = x, s = 2*x", "x", None, 1, mc.ParseError,
     "'s' is defined twice in the where clause", 15),
    ("s where s = t, t = x", "x", None, 1, mc.ParseError,
     "'t' is used before its definition in the where clause", 12),
    ("s where s = s + x", "x", None, 1, mc.ParseError, "'s' is used in its own definition", 12),
    ("sum(x) where sum = x", "x", None, 1, mc.ParseError,
     "'sum' is a function name and cannot be defined", 13),
    ("(x where s = x)", "x", None, 1, mc.ParseError,
     "unexpected 'where': it may only follow the whole expression", 3),
    ("x where s = x where t = x", "x", None, 1, mc.ParseError,
     "unexpected 'where': it may only follow the whole expression", 14),
    # --- characters that are not part of the language
    ("x²", "x", None, 1, mc.ParseError,
     "unexpected character '²' (write powers with ^, as in x^2)", 1),
    ("α*x", "x", None, 1, mc.ParseError,
     "unexpected character 'α' (write Greek letters by name, as in alpha)", 0),
    ("x·y", "x", None, 1, mc.ParseError,
     "unexpected character '·' (products are written with '*')", 1),
    ("xᵀ*y", "x", None, 1, mc.ParseError,
     "unexpected character 'ᵀ' (the transpose is written x')", 1),
    ("x − y", "x", None, 1, mc.ParseError,
     "unexpected character '−' (the minus sign is written '-')", 2),
    ("x[1]", "x", None, 1, mc.ParseError,
     "unexpected character '[' (use ( ) for grouping; indexing is not supported)", 1),
    ("x; y", "x", None, 1, mc.ParseError, "unexpected character ';'...", 1),
    ("x\x00", "x", None, 1, mc.ParseError, "unexpected character '\\x00'", 1),
    ("__import__('os')", "x", None, 1, mc.ParseError, "unexpected \"'\": expected an operand", 11),
    # a quoted text is einsum's subscripts only (so the call parses, and the '.' does not)
    ("__import__(\"os\").system(\"true\")", "x", None, 1, mc.ParseError,
     "unexpected character '.'", 16),
    ("x + \"ij\"", "x", None, 1, mc.ParseError,
     "unexpected '\"ij\"': strings are not part of the language outside einsum's first "
     "argument, as in einsum(\"ij,jk->ik\", A, B)", 4),
    ("sum(x) * \"i->i\"", "x", None, 1, mc.ParseError,
     "unexpected '\"i->i\"': strings are not part of the language outside einsum's...", 9),
    ("1e999*x", "x", None, 1, mc.ParseError, "the number 1e999 is too large", 0),
    # --- not text at all
    (None, "x", None, 1, mc.ParseError, "an expression must be text, not NoneType", None),
    (b"x", "x", None, 1, mc.ParseError, "an expression must be text, not bytes", None),
    (42, "x", None, 1, mc.ParseError, "an expression must be text, not int", None),
]


def _id(case) -> str:
    expr, wrt, vars_, order, exc, *_ = case
    return f"{exc.__name__}:{expr!r}:{wrt!r}:{vars_!r}:{order!r}"[:80]


def _raise(expr, wrt, vars_, order) -> MatrixCalculusError:
    with pytest.raises(MatrixCalculusError) as info:
        mc.derivative(expr, wrt, vars=vars_, order=order)
    return info.value


def test_table_is_large_enough():
    assert len(BAD) >= 40


@pytest.mark.parametrize("expr, wrt, vars_, order, exc, message, pos", BAD,
                         ids=[_id(c) for c in BAD])
def test_bad_input(expr, wrt, vars_, order, exc, message, pos):
    e = _raise(expr, wrt, vars_, order)
    assert type(e) is exc, (type(e).__name__, e.message)
    if message.endswith("..."):
        assert e.message.startswith(message[:-3]), e.message
    else:
        assert e.message == message
    assert e.pos == pos
    assert "\n" not in e.message                  # one line; the source follows in str(e)
    assert str(e).splitlines()[0] == e.message
    if pos is not None:
        assert e.end is not None and e.end > e.pos
        assert len(str(e).splitlines()) == 3      # message, source line, caret line


# ------------------------------------------------------------------ rendering
def test_shape_error_caret_under_the_product():
    src = "sum(x) + b'*(A*x)"
    with pytest.raises(mc.ShapeError) as info:
        mc.derivative(src, "x", vars={"A": "matrix(m,n)", "x": "vector(p)"})
    e = info.value
    msg, line, caret = str(e).splitlines()
    assert msg == e.message
    assert msg.startswith("shape mismatch in A*x: A is a matrix (m x n) but x is a vector (p)")
    assert line == "  " + src
    assert caret == "  " + " " * src.index("(A*x)") + "^^^^^"
    assert src[e.pos:e.end] == "(A*x)"


def test_caret_under_a_function_call_span():
    src = "x'*x + det(A)"
    e = _raise(src, "x", {"A": "matrix(m,n)"}, 1)
    assert str(e).splitlines()[1:] == ["  " + src, "  " + " " * 7 + "^" * len("det(A)")]


def test_caret_on_the_right_line_of_multiline_input():
    src = "x'*x +\n  y)"
    e = _raise(src, "x", None, 1)
    assert e.message == "unbalanced ')': no '(' to close"
    assert str(e).splitlines()[1:] == ["    y)", "     ^"]


def test_caret_keeps_tabs_aligned():
    src = "x\t+\ty)"
    e = _raise(src, "x", None, 1)
    assert str(e).splitlines()[1:] == ["  x\t+\ty)", "   \t \t ^"]


def test_caret_at_end_of_input():
    e = _raise("exp(x) +", "x", None, 1)
    assert str(e).splitlines()[1:] == ["  exp(x) +", "  " + " " * 8 + "^"]


def test_declaration_error_shows_the_declaration():
    e = _raise("sum(x)", "x", {"x": "vector(-3)"}, 1)
    assert str(e).splitlines() == ["dimension -3 for x must be a positive integer",
                                   "  vector(-3)", "         ^^"]


def test_where_binding_error_points_at_the_name():
    src = "s + t where s = x, t = 2*x, s = x"
    e = _raise(src, "x", None, 1)
    assert e.message == "'s' is defined twice in the where clause"
    assert (e.pos, e.end) == (src.rindex("s ="), src.rindex("s =") + 1)


def test_long_operands_are_shortened_in_messages():
    left = "+".join(["x"] * 30)
    src = f"A*({left})"
    e = _raise(src, "A", {"A": "matrix(m,n)", "x": "vector(p)"}, 1)
    assert len(e.message) < 200
    assert "..." in e.message
    assert e.message.startswith("shape mismatch in A*(x+x+")


def test_long_line_is_windowed_around_the_error():
    src = "x + " * 60 + "foo(x)" + " + x" * 60
    e = _raise(src, "x", None, 1)
    msg, line, caret = str(e).splitlines()
    assert msg == "unknown function 'foo'"
    assert len(line) < 120 and "foo(x)" in line
    assert line[caret.index("^"):].startswith("foo(x)")


def test_error_attributes():
    e = _raise("A*x", "x", {"A": "matrix(m,n)", "x": "vector(p)"}, 1)
    assert e.source == "A*x" and (e.pos, e.end) == (0, 3)
    assert isinstance(e, mc.MatrixCalculusError) and isinstance(e, Exception)
    assert e.kind == "shape error"


def test_error_without_position_renders_message_only():
    e = _raise("sum(x)", "x", None, 0)
    assert str(e) == e.message
    assert e.pos is None


# ------------------------------------------------------------------ limits
def test_deep_parentheses_are_a_limit_error():
    src = "(" * 10_000 + "x" + ")" * 10_000
    e = _raise(src, "x", None, 1)
    assert isinstance(e, mc.LimitError)


def test_deep_parentheses_within_the_length_limit(monkeypatch):
    # the depth check, not the length check, must catch it
    monkeypatch.setattr(mc.LIMITS, "max_input_length", 100_000)
    src = "(" * 10_000 + "x" + ")" * 10_000
    e = _raise(src, "x", None, 1)
    assert isinstance(e, mc.LimitError)
    assert e.message == f"parentheses are nested more than {mc.LIMITS.max_depth} deep"
    assert e.pos == mc.LIMITS.max_depth


@pytest.mark.parametrize("src", [
    "-" * 5_000 + "x",
    "x" + "'" * 5_000,
    "x" + "^x" * 3_000,
    "exp(" * 3_000 + "x" + ")" * 3_000,
    "x" + ".^2" * 3_000,
], ids=["minus", "transpose", "power", "calls", "epower"])
def test_deep_nesting_without_parentheses_is_a_limit_error(src):
    e = _raise(src, "x", None, 1)
    assert isinstance(e, mc.LimitError), e.message
    assert e.message in (f"the expression is nested more than {mc.LIMITS.max_depth} deep",
                         f"parentheses are nested more than {mc.LIMITS.max_depth} deep",
                         f"the expression chains more than {mc.LIMITS.max_depth} operators; "
                         f"the nesting limit is {mc.LIMITS.max_depth}")


def test_megabyte_input_is_a_limit_error():
    src = "x+" * 500_000 + "x"
    e = _raise(src, "x", None, 1)
    assert isinstance(e, mc.LimitError)
    assert e.message == (f"the expression is {len(src)} characters long; the limit is "
                         f"{mc.LIMITS.max_input_length}")
    assert len(str(e).splitlines()[1]) < 120      # the source line is windowed, not 1 MB


def test_long_sum_works_or_is_a_limit_error():
    src = "+".join(["x"] * 5_000)
    try:
        d = mc.derivative(src, "x")
    except mc.LimitError as e:
        assert e.message == (f"the expression chains more than {mc.LIMITS.max_depth} "
                             f"operators; the nesting limit is {mc.LIMITS.max_depth}")
    else:
        assert len(d.shape) == 2


def test_long_product_of_scalars_works_or_is_a_limit_error():
    src = "*".join(["alpha"] * 5_000)
    try:
        mc.derivative(src, "alpha")
    except mc.LimitError:
        pass


def test_nesting_at_the_limit_is_accepted():
    depth = mc.LIMITS.max_depth - 1
    d = mc.derivative("(" * depth + "x" + ")" * depth, "x")
    assert len(d.shape) == 2


def test_many_where_bindings():
    src = "sum(x) where " + ", ".join(f"s{i} = x" for i in range(500))
    assert mc.derivative(src, "x").shape == mc.derivative("sum(x)", "x").shape


# ------------------------------------------------------------------ nothing is evaluated
def test_python_code_is_never_evaluated(tmp_path, monkeypatch):
    marker = tmp_path / "evaluated"
    monkeypatch.chdir(tmp_path)
    for src in [
        f"__import__('os').system('touch {marker}')",
        "open('evaluated', 'w')",
        "exec('x')",
        "lambda: x",
        "x if x else x",
        "[x for x in x]",
    ]:
        with pytest.raises(mc.MatrixCalculusError):
            mc.derivative(src, "x")
    assert not marker.exists()
    assert not (tmp_path / "evaluated").exists()


@pytest.mark.parametrize("vars_", ["x: vector(n)", [("x", "vector(n)")], 5],
                         ids=["str", "list", "int"])
def test_vars_that_is_not_a_mapping(vars_):
    # the contract: a MatrixCalculusError (the message is an API matter)
    _raise("sum(x)", "x", vars_, 1)
