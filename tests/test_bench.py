"""Smoke run of the benchmark suite: `python bench/run.py --quick` writes its report with
every table (no timing assertions: the quick sizes are too small to mean anything)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "run.py"

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory) -> tuple[str, str]:
    out = tmp_path_factory.mktemp("bench") / "RESULTS.md"
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out.read_text(), proc.stdout


SECTIONS = ["1a. Logistic regression gradient", "1b. Logistic regression Hessian",
            "2a. Least squares Hessian", "2b. Quadratic form Hessian",
            "3. Matrix factorization gradient", "4a. Hessian of `logdet(X)`",
            "4b. Gaussian NLL Hessian", "4c. Gaussian NLL Hessian",
            "5a. Jacobian of `sigmoid(W*x)`", "5b. Jacobian of `softmax(W*x)`",
            "6a. Two-layer MLP gradient", "6b. Two-layer MLP gradient",
            "7a. Softmax regression gradient", "7b. Softmax regression Hessian-vector product",
            "7c. Softmax regression Hessian", "8. Attention gradients",
            "9. Layer norm backward", "10. Multi-head attention gradient with einsum",
            "12a. ODE fit gradient", "12b. Matrix logarithm gradient",
            "12c. Hessian-vector product through expm",
            "Engine: derivation time per corpus case", "Engine: growth with expression size"]


def _section(text: str, start: str) -> str:
    i = text.index("## " + start)
    j = text.find("\n## ", i + 1)
    return text[i:] if j < 0 else text[i:j]


def test_report_has_machine_and_targets(quick_report):
    text, stdout = quick_report
    assert text.startswith("# Benchmarks")
    assert "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py" in text
    machine = _section(text, "Machine")
    for key in ("CPU", "cores available", "NumPy", "NumPy BLAS", "torch", "jax",
                "threadpoolctl (BLAS kernel)"):
        assert f"| {key} |" in machine
    # every problem's A/A controls are summarised; the header explains them
    assert "**The A/A control.**" in text
    controls = _section(text, "A/A controls")
    assert "| problem | controls | held | held after re-timing | noisy |" in controls
    assert re.search(r"\| logistic \| [1-9]", controls) and re.search(r"\| corpus \| 1 \|",
                                                                     controls)
    targets = _section(text, "Targets")
    assert re.search(r"\| (met|\*\*missed\*\*|n/a) \|", targets)
    assert re.search(r"\d+ met, \d+ missed, \d+ noisy", targets)
    assert "wrote" in stdout


@pytest.mark.parametrize("title", SECTIONS)
def test_every_problem_has_its_tables(quick_report, title):
    text, _ = quick_report
    sec = _section(text, title)
    if title.startswith("Engine"):
        assert "| ours ms |" in sec or "| cases | median |" in sec
        return
    assert "Median time (ms" in sec
    assert "| size | ours NumPy | ours torch |" in sec
    assert "Ratios" in sec and "ours / limit" in sec
    assert "Peak memory" in sec
    assert "Generated NumPy code" in sec
    assert "Targets:" in sec
    # the A/A control: our function timed again as the last method, judged at every size
    assert "| ours NumPy (A/A) |" in sec.split("Ratios", 1)[0]
    assert "ours NumPy (A/A) / ours" in sec and "A/A control (`ours NumPy (A/A)`" in sec
    # one row per size, with a time for our code
    table = sec.split("Median time", 1)[1].split("Ratios", 1)[0]
    rows = [r.split("|")[1:-1] for r in table.splitlines() if r.startswith("| n=")]
    assert rows
    for cells in rows:
        float(cells[1].strip().split()[0])


def test_engine_tables(quick_report):
    text, _ = quick_report
    corpus = _section(text, "Engine: derivation time per corpus case")
    assert re.search(r"\d+ of \d+ corpus cases derived", corpus)
    assert "SymPy can do" in corpus or "SymPy is not installed" in corpus
    growth = _section(text, "Engine: growth with expression size")
    assert "sum of k quadratic forms" in growth and "nesting depth d" in growth
    assert "Growth exponent" in growth
    assert corpus.count("A/A control") == 1 and growth.count("A/A control (ours timed") == 5
    assert "product of k factors" in growth and "Hessian of a chain" in growth
    block = _section(text, "Engine: a transformer block's gradients")
    assert "| W2 |" in block and "Total:" in block and "A/A control" in block


def test_gpu_script_smoke_run_on_cpu(tmp_path):
    """bench/gpu.py is prepared for a session lent an accelerator; here it runs on the CPU
    at tiny sizes: every method agrees with ours and every table is written (all sizes:
    the smoke run has no time budget)."""
    out = tmp_path / "GPU_RESULTS.md"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--device", "cpu",
                           "--quick", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text()
    assert text.count("### 1b logistic Hessian") == 2 and text.count("### 4b Gaussian") == 2
    assert "disagrees" not in text and "failed" not in text, text
    rows = [r for r in text.splitlines() if re.match(r"\| \d+ \|", r)]
    assert len(rows) == 8 and all(re.match(r"\| \d+ \| [\d.]+ \|", r) for r in rows), text
    # our torch code under vmap and torch.compile, and its value-and-gradient function
    assert "### Generated torch code under vmap / compile" in text and "DIFFERS" not in text
    assert text.count("| `") == 3, text
    # the newer problems (bench/gpu_problems.py): a table per dtype, a row per quick size,
    # our time and each reference's ratio
    for title in ("7a softmax regression gradient", "7b softmax regression Hessian-vector",
                  "8 attention gradients", "M1 ODE fit gradient through expm",
                  "M2 tr(C*logm(S)) gradient"):
        assert text.count(f"### {title}") == 2, title
    new = [r for r in text.splitlines() if r.startswith("| n=")]
    assert len(new) == 10, text
    assert all(re.match(r"\| n=[^|]+ \| [\d.e+-]+ \|", r) and r.count("x |") >= 2
               for r in new), text
    assert "time budget" not in text, text


@pytest.mark.parametrize("title,table", [
    ("11a. Value and gradient in one function", "| ours NumPy (A/A) |"),
    ("11b. Value and gradient in one function", "| ours NumPy (A/A) |"),
    ("11c. mc.minimize: logistic regression", "| ours trust-exact |"),
    ("11d. mc.minimize: ridge regression", "| ours trust-exact |"),
])
def test_plugging_in_sections(quick_report, title, table):
    """bench/plugin.py: value-and-gradient against its parts apart, jax and torch; the
    solvers against scikit-learn (when installed), the closed form and finite differences."""
    sec = _section(quick_report[0], title)
    assert table in sec and "Targets:" in sec
    assert "finite-difference gradient" in sec or "A/A" in sec


@pytest.mark.parametrize("title", ["13a. Hessian-vector product of a residual tanh MLP",
                                   "13b. Hessian-vector product of a softmax stack"])
def test_hvp_depth_tables(quick_report, title):
    # one row per depth: the answers' sizes and derivation times, then the evaluations
    sec = _section(quick_report[0], title)
    assert "| blocks k | gradient chars | HVP chars | HVP / gradient |" in sec
    assert "torch.func jvp(grad)" in sec and "Targets:" in sec
    assert "HVP answer <= 3x the gradient's" in sec
