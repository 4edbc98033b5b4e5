"""examples/reference_post.ipynb runs top to bottom in a fresh kernel, and every Derivative
it shows displays as the rendered LaTeX of the answer (`_repr_latex_`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import matrixcalculus as mc

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "reference_post.ipynb"


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:                 # run it afresh, whatever outputs were saved
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    return nb


def test_notebook_runs_without_errors(executed):
    errors = [o for c in executed.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_derivatives_display_as_latex(executed):
    cells = [c for c in executed.cells if "matrixcalculus" in c.metadata]
    assert len(cells) >= 7                 # the post's examples and a Hessian
    for cell in cells:
        m = cell.metadata["matrixcalculus"]
        d = mc.derivative(m["expr"], m["wrt"], vars=m["vars"], order=m["order"])
        [shown] = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert shown["data"]["text/latex"] == f"$${d.latex()}$$", m
        assert "text/html" in shown["data"]
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert d.text(multiline=True) in printed


def test_reference_answers(executed):
    """The post's answers, in this language (LANGUAGE.md, last section)."""
    answers = {(c.metadata["matrixcalculus"]["expr"], c.metadata["matrixcalculus"]["wrt"]):
               "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
               for c in executed.cells if "matrixcalculus" in c.metadata}
    compact = {k: "".join(v.split()) for k, v in answers.items()}
    assert any(k[0] == "sum(A*X)" and "ones(m,k)" in v for k, v in compact.items())
    assert any(k[1] == "b" and "-y" in v for k, v in compact.items())


def test_error_displays_with_a_caret(executed):
    last = [c for c in executed.cells if c.cell_type == "code"][-1]
    [shown] = [o for o in last.outputs if o.output_type == "execute_result"]
    html = shown["data"]["text/html"]
    assert "ends too early" in html and "^" in html
