"""The example notebook executes headless with no error cell, and the app cell renders a Panel view."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "kl_explorer.ipynb"


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return nb


def test_no_error_cells(executed):
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.get("outputs", []) if o.output_type == "error"], cell.source


def test_app_displays_inline(executed):
    app_cell = next(c for c in executed.cells if c.cell_type == "code" and c.source.strip().endswith("app"))
    bundles = [o.get("data", {}) for o in app_cell.outputs if o.output_type in ("display_data", "execute_result")]
    assert any("application/vnd.holoviews_exec.v0+json" in b or "text/html" in b for b in bundles)


def test_numbers_in_the_notebook_come_from_the_library(executed):
    readouts = next(c for c in executed.cells if "e.readouts()" in c.source)
    text = readouts.outputs[0]["data"]["text/plain"]
    assert "'reverse_kl'" in text and "nan" not in text.lower()
