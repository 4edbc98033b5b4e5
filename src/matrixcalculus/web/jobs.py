"""What the web workers run: plain functions from a JSON-like request to a JSON-like answer.

They import no web framework (they run in worker processes) and never raise: each returns
`{"status": HTTP status, "body": dict}`.  `d.steps()` and `d.check()` are used when the
Derivative has them, and reported as unavailable otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from ..api import Derivative, VariableInfo, derivative, expression
from ..errors import LimitError, MatrixCalculusError
from ..limits import deadline, time_left
from ..variables import declaration, shape_text
from ..wrt import option as wrt_option

BACKENDS = ("numpy", "torch", "jax")
MAX_OUTPUT_CHARS = 200_000        # text + LaTeX + code of one answer


def variables_list(variables: Mapping[str, VariableInfo]) -> list[dict[str, Any]]:
    # kind as declared: spd and simplex rather than the symmetric / vector / matrix they type as
    return [{"name": v.name, "kind": v.fact or v.kind, "shape": list(v.shape),
             "declaration": declaration(v), "origin": v.origin} for v in variables.values()]


def error_body(e: MatrixCalculusError, expr: str) -> dict[str, Any]:
    """{error, message, pos, end, caret, source, in}: `in` says whether pos points into the
    expression ("expr") or into a declaration ("vars")."""
    where = "expr" if e.source is None or e.source == expr else "vars"
    return {"error": e.kind, "message": e.message, "pos": e.pos, "end": e.end,
            "caret": "\n".join(e.caret_lines()), "source": e.source, "in": where}


def internal_error(e: Exception) -> dict[str, Any]:
    return {"error": "internal error", "message": f"internal error ({type(e).__name__}: {e}); "
            "please report this expression", "pos": None, "end": None, "caret": "",
            "source": None, "in": "expr"}


def _steps(d: Derivative) -> dict[str, str] | None:
    fn = getattr(d, "steps", None)
    if not callable(fn):
        return None
    try:
        s = fn()
        out = {"text": str(s.text()), "latex": str(s.latex())}
        rows = getattr(s, "latex_rows", None)
        if callable(rows):          # the page's table: (left side, value, shape, note)
            out["rows"] = [[str(x) for x in r] for r in rows()]
        return out
    except Exception:  # noqa: BLE001 - steps are an extra: without them the answer stands
        return None


def _check(d: Derivative) -> dict[str, Any]:
    fn = getattr(d, "check", None)
    if not callable(fn):
        return {"ok": None, "max_rel_error": None, "message": "not available"}
    left = time_left()
    if left is not None and left <= 0:
        return {"ok": None, "max_rel_error": None,
                "message": "not checked: the derivation used up the time limit"}
    try:
        r = fn()
    except MatrixCalculusError as e:
        return {"ok": None, "max_rel_error": None, "message": f"not checked: {e.message}"}
    except Exception as e:  # noqa: BLE001 - the verdict is an extra: report, never fail
        return {"ok": None, "max_rel_error": None,
                "message": f"not checked ({type(e).__name__}: {e})"}
    err = getattr(r, "max_rel_error", None)
    try:
        err = float(err) if err is not None and math.isfinite(float(err)) else None
    except (TypeError, ValueError):
        err = None
    ok = getattr(r, "ok", None)
    return {"ok": None if ok is None else bool(ok), "max_rel_error": err,
            "message": str(getattr(r, "message", "") or r)}


def _hvp(d: Derivative) -> dict[str, Any] | None:
    """For a Hessian (or a mixed second derivative): its product with a direction, which
    never forms the Hessian."""
    if d.kind != "hessian" and not (d.is_mixed and d.order == 2):
        return None
    h = d.hvp()
    return {"direction": h.direction, "text": str(h), "latex": h.latex(),
            "shape_text": shape_text(h.shape), "code": h.code("numpy")}


def _code(d: Derivative) -> dict[str, str]:
    out = {}
    for backend in BACKENDS:
        try:
            out[backend] = d.code(backend)
        except MatrixCalculusError as e:
            out[backend] = f"# no {backend} code for this answer: {e.message}\n"
    return out


def _time_limit(req: Mapping[str, Any]) -> float | None:
    """The request's own time limit (set by the server, a little below its hard limit);
    None: LIMITS.max_seconds."""
    t = req.get("time_limit")
    return float(t) if isinstance(t, int | float) and t > 0 else None


def derive(req: Mapping[str, Any]) -> dict[str, Any]:
    """POST /api/derivative: {expr, wrt, vars, order, check} -> the answer, or an error
    (wrt: a name, or a list of names, or "U, V": the mixed derivative; order: default 1).
    `time_limit` (seconds), when given, bounds the engine's work (LimitError past it)."""
    with deadline(_time_limit(req)):
        return _derive(req)


def _derive(req: Mapping[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    expr = req.get("expr", "")
    try:
        wrt = req.get("wrt") or None
        if isinstance(wrt, str):        # "U, V": the mixed derivative wrt U, then V
            wrt = wrt_option(wrt)
        vars = req.get("vars") or {}
        if wrt is None:         # the first variable, as the page would choose it
            names = list(expression(expr, vars=vars).variables)
            if not names:
                raise MatrixCalculusError("the expression has no variable to differentiate by",
                                          expr)
            wrt = names[0]
        d = derivative(expr, wrt, vars=vars, order=req.get("order"))
        text, latex = str(d), d.latex()
        multiline = d.text(multiline=True)
        code = _code(d)
        size = len(text) + len(latex) + len(multiline) + sum(map(len, code.values()))
        if size > MAX_OUTPUT_CHARS:
            raise LimitError(f"the answer is too large to show ({size} characters; the limit "
                             f"is {MAX_OUTPUT_CHARS})", expr)
        body = {
            "expr": expr, "wrt": d.wrt, "order": d.order, "kind": d.kind,
            "title": d.title,
            "text": text, "text_multiline": multiline, "latex": latex,
            "einsum": d.einsum(), "vec_form": d.vec_form(), "extras": d.extras(),
            "shape": list(d.shape), "shape_text": shape_text(d.shape),
            "expression_shape": list(d.expression_shape),
            "variables": variables_list(d.variables), "notes": d.notes,
            "steps": _steps(d), "code": code, "hvp": _hvp(d),
            "check": _check(d) if req.get("check", True)
            else {"ok": None, "max_rel_error": None, "message": "not asked for"},
        }
    except MatrixCalculusError as e:
        return {"status": 400, "body": error_body(e, expr)}
    except Exception as e:  # noqa: BLE001 - a bug: one JSON answer, never a dead worker
        return {"status": 500, "body": internal_error(e)}
    body["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    return {"status": 200, "body": body}


def variables(req: Mapping[str, Any]) -> dict[str, Any]:
    """POST /api/variables: {expr, vars} -> the variables with their (inferred) types."""
    expr = req.get("expr", "")
    try:
        with deadline(_time_limit(req)):
            e = expression(expr, vars=req.get("vars") or {})
        body = {"expr": expr, "variables": variables_list(e.variables), "notes": e.notes,
                "shape": list(e.shape), "shape_text": shape_text(e.shape)}
    except MatrixCalculusError as e:
        return {"status": 400, "body": error_body(e, expr)}
    except Exception as e:  # noqa: BLE001
        return {"status": 500, "body": internal_error(e)}
    return {"status": 200, "body": body}


def ping(_req: Any = None) -> dict[str, Any]:
    return {"status": 200, "body": {"ok": True}}


def warm_up() -> None:
    """Worker initializer: import and run everything once, so the first request is fast."""
    try:
        derive({"expr": "x'*A*x", "wrt": "x", "order": 1, "check": True})
    except Exception:  # noqa: BLE001 - a failed warm-up only costs the first request time
        pass
