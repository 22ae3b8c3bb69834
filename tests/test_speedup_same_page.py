"""The speedups that change how a session's page is built (``defaults``: Bokeh defaults worked out once per class;
``stylesheets``: Panel's stylesheet models taken from the document's cache when made; ``copies``: the cached figures
decoded without the defaults their JSON replaces; ``panelayout``: a pane's own row made on first use): the served
page each builds is
the page Bokeh and Panel build without it, model for model and value for value, in the light and the dark theme (a
set's entries in any order)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PAGE = """
import json, sys
import panel as pn
from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from panel.io.state import set_curdoc
import klpanel.views.app as app
from klpanel.server.speedups import install_all
pn.extension("katex")
if sys.argv[1] != "off":
    assert install_all(sys.argv[1]) == [sys.argv[1]]

class Request:
    arguments, cookies, headers = {"theme": [sys.argv[2].encode()]}, {}, {}

class Context:
    server_context, id, request = None, "test", Request()

pages = []
for _ in range(2):  # the second page reads what the first one kept
    doc = Document()
    doc._session_context = lambda: Context()
    with set_curdoc(doc):
        pn.state._session_args = Request.arguments
        app.KLExplorer().template().server_doc(doc)
        pages.append(serialize_json(doc.to_json(deferred=False)))
print(pages[-1])
"""


def _page(switch: str, theme: str) -> str:
    out = subprocess.run([sys.executable, "-c", PAGE, switch, theme], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-5000:]
    return out.stdout.strip().splitlines()[-1]


def _canonical(text: str) -> dict:
    """The page's JSON with its model ids (also where a tag names one: ``__ref:p123``) and Panel's object ids in
    names (``Row01004``: param numbers every object it names, so a build that makes fewer objects draws other
    numbers) numbered in order of appearance (each build draws new ones)."""
    ids: dict = {}
    text = re.sub(r'(?<=")p\d+(?=")|(?<=__ref:)p\d+|\b\d{10,}\b', lambda m: f'{ids.setdefault(m.group(0), len(ids))}',
                  text)
    names: dict = {}
    text = re.sub(r'("name":\s*"[A-Za-z_]\w*?)(\d{5})(?=")',
                  lambda m: f'{m.group(1)}#{names.setdefault(m.group(2), len(names))}', text)
    return _sets_sorted(json.loads(text))


def _sets_sorted(value):
    """Bokeh's sets (``{"type": "set", "entries": [...]}``, e.g. a widget's subscribed events) in one order."""
    if isinstance(value, list):
        return [_sets_sorted(v) for v in value]
    if isinstance(value, dict):
        out = {k: _sets_sorted(v) for k, v in value.items()}
        if out.get("type") == "set":
            out["entries"] = sorted(out["entries"], key=json.dumps)
        return out
    return value


@pytest.fixture(scope="module")
def stock_pages():
    return {theme: _canonical(_page("off", theme)) for theme in ("dark", "default")}


@pytest.mark.parametrize("speedup", ["defaults", "stylesheets", "copies", "panelayout"])
@pytest.mark.parametrize("theme", ["dark", "default"])
def test_the_page_is_the_same_with_the_speedup(stock_pages, speedup, theme):
    stock, kept = stock_pages[theme], _canonical(_page(speedup, theme))
    assert len(json.dumps(kept)) > 100_000  # the whole first screen
    assert kept == stock
