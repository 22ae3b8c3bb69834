"""The example notebook executes headless with no error cell, and the app cell renders a Panel view."""

import html
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from klpanel import Approximation, Target, divergences

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


def texts(node):
    """Every ``text`` property in a Bokeh document's JSON (what Markdown and HTML panes show), HTML unescaped."""
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            yield html.unescape(node["text"])
        for value in node.values():
            yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def test_app_displays_inline(executed):
    """The app cell's output is a live Panel view (Panel's exec bundle) whose document holds the page a reader
    sees: the five sections in order and the Explore readouts of the default q, equal to the library's values."""
    app_cell = next(c for c in executed.cells if c.cell_type == "code" and c.source.strip().endswith("app"))
    (result,) = [o for o in app_cell.outputs if o.output_type == "execute_result"]
    assert "application/vnd.holoviews_exec.v0+json" in result["data"]
    docs_json = re.search(r"var docs_json = (\{.*?\});\n", result["data"]["text/html"], re.S)
    assert docs_json, "the output embeds no Bokeh document"
    shown = "\n".join(texts(json.loads(docs_json.group(1))))
    titles = ["1. Optimal approximations", "2. The divergences", "3. Explore", "4. Optimization dynamics",
              "5. The α spectrum"]
    where = [shown.find(f">{title}") for title in titles]
    assert -1 not in where and where == sorted(where), dict(zip(titles, where))
    p, q = Target(), Approximation(mu=0.0, sigma=0.8)
    for name, value in divergences.evaluate(p, q, list(divergences.DEFAULT_NAMES)).items():
        assert re.search(rf'data-divergence="{name}"[^>]*>{value:.3f}<', shown), name


def test_numbers_in_the_notebook_come_from_the_library(executed):
    readouts = next(c for c in executed.cells if "e.readouts()" in c.source)
    text = readouts.outputs[0]["data"]["text/plain"]
    assert "'reverse_kl'" in text and "nan" not in text.lower()
