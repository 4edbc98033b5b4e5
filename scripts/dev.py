#!/usr/bin/env python3
"""Developer commands that work on a fresh machine with only Python 3.11+ (stdlib only).

    python3 scripts/dev.py examples   # set up .venv, derive the reference examples, verify them
    python3 scripts/dev.py test       # set up .venv, run the whole test suite (args go to pytest)
                                      # (installs Debian's chromium first, as root, if missing)

Both first make sure `.venv` exists and holds the project (`pip install -e ".[test]"`);
a stamp file named after pyproject.toml's hash skips the install when nothing changed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def run(*cmd: str | Path) -> int:
    return subprocess.run([str(c) for c in cmd], cwd=ROOT).returncode


def ensure_venv() -> None:
    """Create .venv and install the project into it, unless pyproject.toml is unchanged."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists() and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV.relative_to(ROOT)} with Python {sys.version.split()[0]}",
              flush=True)
        if run(sys.executable, "-m", "venv", VENV) != 0:
            sys.exit("could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)")
    print('installing the project: pip install -e ".[test]"', flush=True)
    if run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[test]") != 0:
        sys.exit('pip install -e ".[test]" failed')
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def examples(_args: list[str]) -> int:
    return run(PYTHON, "-m", "matrixcalculus.examples")


def ensure_chromium() -> None:
    """The browser test (tests/test_web.py) drives Debian's Chromium: install it if missing."""
    if Path("/usr/bin/chromium").exists():
        return
    if not shutil.which("apt-get") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("no /usr/bin/chromium: install it as root (apt-get install chromium) to run the "
              "browser test", flush=True)
        return
    print("installing chromium for the browser test: apt-get install chromium", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
            print(f"warning: {' '.join(cmd)} failed", flush=True)
            return


def test(args: list[str]) -> int:
    ensure_chromium()
    tests = run(PYTHON, "-m", "pytest", *args)
    lint = run(PYTHON, "-m", "ruff", "check", "src", "tests")
    return tests or lint


COMMANDS = {"examples": examples, "test": test}


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be run by any python3
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("args", nargs=argparse.REMAINDER,
                        help="passed on (to pytest for 'test')")
    ns = parser.parse_args(argv)
    ensure_venv()
    return COMMANDS[ns.command](ns.args)


if __name__ == "__main__":
    sys.exit(main())
