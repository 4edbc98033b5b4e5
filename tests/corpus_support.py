"""Load the acceptance corpus from ../shared/corpus (never copied into the project)."""

from __future__ import annotations

import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def load():
    if not CORPUS.is_dir():
        raise RuntimeError(f"the acceptance corpus is missing: expected it at {CORPUS}")
    if str(CORPUS) not in sys.path:
        sys.path.insert(0, str(CORPUS))
    import cases  # noqa: PLC0415
    import oracle  # noqa: PLC0415
    return cases, oracle


def load_v2():
    """The v2 cases (cases_v2.py) and the same oracle."""
    load()
    import cases_v2  # noqa: PLC0415
    import oracle  # noqa: PLC0415
    return cases_v2, oracle


def runner(d, backend: str):
    """d's generated code in a backend, called with NumPy inputs by name, NumPy out."""
    ns: dict = {}
    exec(compile(d.code(backend), "<generated>", "exec"), ns)  # noqa: S102 - our own code
    return call_by_name(d, ns[d.func_name], backend)


def call_by_name(d, fn, backend: str):
    """fn (d's generated function in a backend, keyword-only) as a function of NumPy inputs
    by variable name, NumPy out."""
    import numpy as np  # noqa: PLC0415

    params = d.parameters          # a variable -> its keyword (lambda -> lambda_)
    if backend == "torch":
        import torch  # noqa: PLC0415

        def run(**inputs):
            return fn(**{params[n]: torch.tensor(inputs[n], dtype=torch.float64)
                         for n in d.variables}).numpy()
    elif backend == "jax":
        import jax  # noqa: PLC0415
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp  # noqa: PLC0415

        def run(**inputs):
            return np.asarray(fn(**{params[n]: jnp.asarray(inputs[n]) for n in d.variables}))
    elif backend == "dask":
        import dask.array as da  # noqa: PLC0415

        def run(**inputs):
            return np.asarray(fn(**{params[n]: da.asarray(inputs[n])
                                    for n in d.variables}).compute())
    else:
        def run(**inputs):
            return fn(**{params[n]: inputs[n] for n in d.variables})
    return run
