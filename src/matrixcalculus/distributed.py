"""Derivatives on data bigger than one machine: the generated code, run by Dask.

`evaluate_dask(d, arrays)` runs the code generated for the "dask" backend with the
big arrays as chunked `dask.array`s (a data matrix chunked by rows), on a
`dask.distributed` cluster when a client is given.  Nothing here distributes anything
itself: the generated function builds a lazy Dask graph in which every step is
blockwise (X'*diag(d)*X is a sum of per-chunk k x k products, X'*r a sum of per-chunk
vectors), and Dask schedules it.  Only the result, and NumPy inputs, pass through the
driver.  Needs the `dask` extra: pip install "matrixcalculus[dask]".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import EvaluationError
from .variables import VariableInfo, check_arrays


def _dask_array():
    try:
        import dask.array as da
    except ImportError:   # pragma: no cover - depends on the installation
        raise EvaluationError('the dask backend needs dask: pip install "dask[array]" '
                              'distributed (or matrixcalculus[dask])') from None
    return da


def dask_inputs(d, arrays: Mapping[str, Any], client=None) -> tuple[list, dict[str, int]]:
    """The arguments of d's generated function, as dask arrays, and the dimension sizes.

    Dask arrays are checked by shape and dtype, without computing them (but for one Dask
    pass over a dask array declared symmetric, to check it is); NumPy arrays and scalars
    are checked as evaluate() checks them, then chunked like the dask arrays that share
    their dimensions (a label vector y of the n data rows gets the row chunks of X)."""
    da = _dask_array()
    lazy = {name: a for name, a in arrays.items() if isinstance(a, da.Array)}
    for name, a in lazy.items():
        if a.dtype.kind not in "biuf":
            raise EvaluationError(f"the value for {name} is not a numeric array "
                                  f"(a dask array of {a.dtype})")
        if any(np.isnan(s) for s in a.shape):
            raise EvaluationError(
                f"the dask array for {name} has unknown chunk sizes (shape {a.shape}): "
                "call its .compute_chunk_sizes() first, or to_dask_array(lengths=True)")
    # check_arrays sees stand-ins of the dask arrays' shapes (zero-stride, no memory),
    # declared plain matrices: the symmetry of a dask array is checked lazily below
    standins = {name: (np.broadcast_to(np.float64(0.0), a.shape) if name in lazy else a)
                for name, a in arrays.items()}
    declared = {name: (VariableInfo(name, "matrix", info.shape)
                       if name in lazy and info.kind == "symmetric" else info)
                for name, info in d.variables.items()}
    values, sizes = check_arrays(declared, standins)

    chunks: dict[object, tuple[int, ...]] = {}     # dimension -> chunks along it
    for name, a in lazy.items():
        for dim, c in zip(d.variables[name].shape, a.chunks):
            chunks.setdefault(dim, c)
    out = []
    for (name, info), value in zip(d.variables.items(), values):
        if name in lazy:
            a = lazy[name]
            if a.dtype != np.float64:
                a = a.astype(np.float64)
            if info.kind == "symmetric":
                same = da.allclose(a, a.T, rtol=1e-10, atol=1e-12)
                if not (client.compute(same).result() if client else same.compute()):
                    raise EvaluationError(f"{name} is declared symmetric but the array is not")
            out.append(a)
        elif value.ndim == 0:
            out.append(float(value))
        else:
            out.append(da.from_array(value, chunks=tuple(
                chunks.get(dim, -1) for dim in info.shape)))
    return out, sizes


def evaluate_dask(d, arrays: Mapping[str, Any], /, client=None,
                  scheduler: str | None = None) -> np.ndarray:
    """The value of d at arrays (name -> dask array, NumPy array or number), computed
    by Dask.  (A mapping, not keywords: a variable may be called d, client, ...)

    client: a dask.distributed Client to compute on (without one, Dask's default
    scheduler: the active Client if there is one, else threads); scheduler: a local
    scheduler name ("threads", "sync", "processes") when no client is given.
    Returns a NumPy array shaped as evaluate() shapes it."""
    import dask

    inputs, sizes = dask_inputs(d, arrays, client)
    fn = d.compiled("dask", sizes)
    lazy = fn(**dict(zip(d.parameters.values(), inputs)))
    if not dask.is_dask_collection(lazy):     # a constant answer
        return np.asarray(lazy, dtype=np.float64)
    if client is not None:
        result = client.compute(lazy).result()
    else:
        (result,) = dask.compute(lazy, scheduler=scheduler)
    return np.asarray(result, dtype=np.float64)


def lazy_dask(d, arrays: Mapping[str, Any], /):
    """The lazy dask array of d at arrays (to inspect its graph, or to
    compute it together with other results)."""
    inputs, sizes = dask_inputs(d, arrays)
    return d.compiled("dask", sizes)(**dict(zip(d.parameters.values(), inputs)))
