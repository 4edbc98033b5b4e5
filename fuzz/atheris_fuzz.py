"""Coverage-guided fuzzing of the front door with atheris (libFuzzer for Python).

Run by hand, not in the test suite (it needs `pip install atheris==3.0.0`):

    .venv/bin/python fuzz/atheris_fuzz.py -max_total_time=300 -rss_limit_mb=4096
    .venv/bin/python fuzz/atheris_fuzz.py my_corpus/ -runs=100000   # keep the corpus

Each input's bytes are split into an expression (decoded leniently), the name of the
variable to differentiate by, an order and optional declarations, and go through
derivative() and expression(), and a derived answer is printed.  Anything but a
MatrixCalculusError is a crash; so are the API's catch-all "internal error", a parse or
shape error without a position, and an answer that does not parse back.  Seeds: the
public corpus expressions (pass a directory to keep what atheris finds).
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

with atheris.instrument_imports(include=["matrixcalculus", "lark"]):
    import matrixcalculus as mc
    from matrixcalculus.language.functions import ALL
    from matrixcalculus.limits import deadline
from randexpr import declarations  # noqa: E402

NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
POSITIONED = (mc.ParseError, mc.ShapeError, mc.UnknownNameError)
DECLS = ["scalar", "vector(n)", "vector(m)", "matrix(n,n)", "matrix(m,n)", "symmetric(n)",
         "vector(3)", "matrix(2,3)"]
COUNT = 0


def check_error(e: mc.MatrixCalculusError, text: str) -> None:
    if e.message.startswith("internal error"):
        raise AssertionError(f"internal error for {text!r}: {e.message}")
    str(e)
    if isinstance(e, POSITIONED) and e.source == text and e.pos is None:
        raise AssertionError(f"{type(e).__name__} without a position for {text!r}")


def one_input(data: bytes) -> None:
    global COUNT
    COUNT += 1
    fdp = atheris.FuzzedDataProvider(data)
    order = 1 + fdp.ConsumeIntInRange(0, 2) // 2          # mostly 1, sometimes 2
    k = fdp.ConsumeIntInRange(0, 7)
    declare = fdp.ConsumeBool()
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    names = sorted({n for n in NAME.findall(text) if n not in ALL and n != "where"}) or ["x"]
    wrt = names[k % len(names)]
    vars_ = {n: DECLS[(k + i) % len(DECLS)] for i, n in enumerate(names[:3])} \
        if declare else None
    try:
        with deadline(1.0):
            d = mc.derivative(text, wrt, vars=vars_, order=order)
            answer = str(d)
            if d.is_matrix_form:
                again = mc.expression(answer, vars=declarations(d))
                if again.shape != d.shape:
                    raise AssertionError(f"{text!r}: the answer {answer!r} parses back with "
                                         f"shape {again.shape}, not {d.shape}")
    except mc.MatrixCalculusError as e:
        check_error(e, text)
    try:
        with deadline(1.0):
            mc.expression(text, vars=vars_)
    except mc.MatrixCalculusError as e:
        check_error(e, text)


def seeds(directory: Path) -> None:
    from corpus_support import load
    cases, _ = load()
    directory.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(cases.public()):
        (directory / f"seed{i:03d}").write_bytes(b"\x00\x00\x00" + c["expr"].encode())


def main() -> None:
    argv = list(sys.argv)
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    if not dirs:
        corpus = Path(tempfile.mkdtemp(prefix="matrixcalculus-fuzz-"))
        seeds(corpus)
        argv.append(str(corpus))
    else:
        seeds(Path(dirs[0]))
    atexit.register(lambda: print(f"inputs run: {COUNT}", file=sys.stderr))
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
