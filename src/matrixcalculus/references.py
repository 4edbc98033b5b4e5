"""The numerical references a derivative is checked against: central differences (entrywise
and along a direction) and torch autograd, and the normwise relative error.

Errors are normwise relative: max|got - ref| / max(max|ref|, floor), where the floor (a
small fraction of the magnitude of the function differentiated) keeps the noise of a
reference that is zero from counting as a large relative error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

FD_STEP = 1e-6          # relative to max(1, |entry|)


def rel_error(got: np.ndarray, ref: np.ndarray, floor: float = 1e-12) -> float:
    """max|got - ref| / max(max|ref|, floor); inf on a shape mismatch or non-finite values."""
    if got.shape != ref.shape:
        return float("inf")
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(ref))):
        return float("inf")
    if got.size == 0:
        return 0.0
    diff = float(np.max(np.abs(got - ref)))
    scale = max(float(np.max(np.abs(ref))), floor, 1e-300)
    return diff / scale


class OutOfTime(Exception):
    """The check's time budget ran out in the middle of a point."""


def central_difference(f: Callable[..., np.ndarray], arrays: Mapping[str, Any], wrt: str,
                       e: np.ndarray, step: float) -> np.ndarray:
    """(f(wrt + e) - f(wrt - e)) / (2 step): the central difference of f along e."""
    x = np.asarray(arrays[wrt], dtype=np.float64)
    fp = np.asarray(f(**{**arrays, wrt: x + e}), dtype=np.float64)
    fm = np.asarray(f(**{**arrays, wrt: x - e}), dtype=np.float64)
    return (fp - fm) / (2 * step)


def central_differences(f: Callable[..., np.ndarray], arrays: Mapping[str, np.ndarray],
                        wrt: str, symmetric: bool = False, h: float = FD_STEP,
                        stop_at: float = float("inf")) -> np.ndarray:
    """d f / d wrt by central differences, shaped f's shape + wrt's shape.

    For a symmetric variable only symmetric perturbations are taken (E_ii, and E_ij + E_ji
    halved): the result is sym(G), the derivative on symmetric matrices."""
    x = np.asarray(arrays[wrt], dtype=np.float64)
    out: np.ndarray | None = None
    for idx in np.ndindex(*x.shape):
        if symmetric and idx[0] > idx[1]:
            continue
        if time.monotonic() > stop_at:
            raise OutOfTime
        step = h * max(1.0, abs(float(x[idx])))
        e = np.zeros_like(x)
        e[idx] = step
        if symmetric:
            e[idx[::-1]] = step
        g = central_difference(f, {**arrays, wrt: x}, wrt, e, step)
        if not np.all(np.isfinite(g)):       # outside the domain: no reference here
            return np.full(x.shape, np.nan)
        if symmetric and idx[0] != idx[1]:
            g = g / 2
        if out is None:
            out = np.zeros(g.shape + x.shape)
        out[(...,) + idx] = g
        if symmetric:
            out[(...,) + idx[::-1]] = g
    assert out is not None
    return out


def torch_available() -> bool:
    try:
        import torch  # noqa: F401, PLC0415
    except Exception:  # noqa: BLE001 - any failure to import means: not available
        return False
    return True


def torch_inputs(arrays: Mapping[str, Any]) -> dict[str, Any]:
    """float64 tensors of the arrays; a free dimension's size (an integer) stays an int."""
    import torch  # noqa: PLC0415
    return {k: int(v) if isinstance(v, np.integer) else
            torch.tensor(np.asarray(v), dtype=torch.float64) for k, v in arrays.items()}


def autograd_reference(fn: Callable[..., Any], params: Mapping[str, str],
                       arrays: Mapping[str, np.ndarray], wrt: str, order: int,
                       symmetric: bool = False) -> np.ndarray:
    """The order-`order` derivative of fn (params: each argument -> its keyword) by torch
    autograd, shaped out + wrt * order; each of wrt's index pairs symmetrised when
    symmetric."""
    import torch  # noqa: PLC0415
    from torch.autograd.functional import hessian, jacobian  # noqa: PLC0415

    tens = torch_inputs(arrays)

    def f(w):
        kw = dict(tens)
        kw[wrt] = w
        r = fn(**{py: kw[p] for p, py in params.items()})
        if not torch.is_tensor(r):
            r = torch.tensor(float(r), dtype=torch.float64)
        return r

    w0 = tens[wrt].clone()
    out_rank = f(w0).dim()
    if order == 1:
        res = jacobian(f, w0, strict=False, vectorize=False)
    elif order == 2 and out_rank == 0:
        res = hessian(f, w0, strict=False)
    else:
        g = f
        for _ in range(order - 1):
            g = (lambda inner: (lambda w: jacobian(inner, w, create_graph=True)))(g)
        res = jacobian(g, w0, strict=False, vectorize=False)
    if symmetric:
        for k in range(order):
            a, b = out_rank + 2 * k, out_rank + 2 * k + 1
            res = (res + res.transpose(a, b)) / 2
    return res.detach().numpy().astype(np.float64).copy()


def autograd_mixed(fn: Callable[..., Any], params: Mapping[str, str],
                   arrays: Mapping[str, np.ndarray], wrt: Sequence[str],
                   symmetric: set[str]) -> np.ndarray:
    """The mixed derivative of fn (params: each argument -> its keyword) wrt wrt[0], then
    wrt[1], ... by nested torch autograd, shaped out + wrt[0].shape + wrt[1].shape + ...;
    the index pair of each variable in `symmetric` symmetrised."""
    import torch  # noqa: PLC0415
    from torch.autograd.functional import jacobian  # noqa: PLC0415

    tens = torch_inputs(arrays)

    def f(vals: dict[str, Any]) -> Any:
        r = fn(**{py: vals[p] for p, py in params.items()})
        return r if torch.is_tensor(r) else torch.tensor(float(r), dtype=torch.float64)

    def along(g: Callable[[dict[str, Any]], Any], name: str, last: bool):
        # d g / d name, itself a function of every variable (so it can be differentiated
        # again with respect to another)
        return lambda vals: jacobian(lambda w: g({**vals, name: w}), vals[name],
                                     create_graph=not last, strict=False, vectorize=False)

    g = f
    for k, name in enumerate(wrt):
        g = along(g, name, k == len(wrt) - 1)
    res = g(dict(tens))
    axis = f(tens).dim()
    for name in wrt:
        rank = tens[name].dim()
        if name in symmetric:
            res = (res + res.transpose(axis, axis + 1)) / 2
        axis += rank
    return res.detach().numpy().astype(np.float64).copy()
