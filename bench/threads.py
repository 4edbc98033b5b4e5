"""Thread-pool settings for every bench process, applied before NumPy, SciPy or torch load
(each library reads them once, when it starts its pool); a value the caller set is kept.

On few cores, worker threads that spin after a call steal a core from whatever runs next:
- OMP_WAIT_POLICY=PASSIVE parks OpenMP workers (torch's): on an idle 2-core machine the
  same function timed 25-35% slower right after torch than elsewhere.
- OPENBLAS_THREAD_TIMEOUT=22 lets OpenBLAS workers spin 2^22 cycles (~2 ms) before they
  sleep, instead of 2^28.  pip's NumPy and SciPy wheels each bring their own OpenBLAS, so a
  NumPy matmul followed by a SciPy LAPACK call (the LU inside expm_frechet) ran against the
  other pool's spinning threads: at 256 x 256 one matmul then one LU took 8.0 ms against
  1.6 ms for the two alone, and expm_frechet 93-106 ms against 28-31 ms.  The shortest
  timeout (4) cured that but made every small BLAS call wake its threads (a logistic
  gradient at n = 1000: 0.56 ms against 0.34-0.39 ms at 22).  Any user of pip's wheels on
  few cores gains the same from it.

Both are shown in the report's Machine table."""

from __future__ import annotations

import os

DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "22"}

for _name, _value in DEFAULTS.items():
    os.environ.setdefault(_name, _value)
