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
