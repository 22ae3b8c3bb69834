"""Helpers of the JupyterLab browser test and benchmark: ``jupyter lab`` in a subprocess on a free port (no token,
a temporary root, settings and workspaces, no news or update checks), notebooks written there, a page driven through
JupyterLab's own menus, a kernel client on the notebook's kernel (to ask the kernel what it runs), and reading the
Bokeh models of every output (in JupyterLab each Panel output is its own ``Bokeh.documents`` entry).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from pagetools import LOAD_TIMEOUT_MS, ROOT, free_port, wait_serving, wait_until

#: user settings of the temporary JupyterLab: no news/update prompts, every cell in the DOM (no windowing: the
#: outputs are laid out and painted wherever they are on the page), no autosave (a notebook file stays as written)
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def notebook(*cells: str) -> dict:
    """A notebook (nbformat 4 JSON) of code ``cells`` on the ``python3`` kernel."""
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}},
            "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "execution_count": None,
                       "outputs": [], "source": source} for i, source in enumerate(cells)]}


class JupyterLab:
    """``jupyter lab`` serving ``root`` on a free port, its log in ``log_path``; the kernels import klpanel from
    this checkout."""

    def __init__(self, root: Path, log_path: Path, env=None):
        self.root = Path(root)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime = self.root / ".runtime"  # kernels' connection files (kernel_client reads them)
        settings = self.root / ".settings"
        for name, values in SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self._log = open(log_path, "w")
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={self.port}",
               "--ServerApp.ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={self.root}", "--ServerApp.disable_check_xsrf=True",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.expose_app_in_browser=True"]
        self.proc = subprocess.Popen(cmd, cwd=self.root, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                                          "JUPYTER_RUNTIME_DIR": str(self.runtime),
                                          "JUPYTERLAB_SETTINGS_DIR": str(settings),
                                          "JUPYTERLAB_WORKSPACES_DIR": str(self.root / ".workspaces"),
                                          **(env or {})})
        wait_serving(self.proc, f"{self.url}/api/status", "jupyter lab", self.log)

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def write(self, name: str, nb: dict) -> str:
        """Write notebook ``nb`` as ``name`` in the root; its URL path."""
        (self.root / name).write_text(json.dumps(nb))
        return name

    def kernel_client(self, name: str):
        """A started blocking client on the kernel of notebook ``name`` (its session must exist)."""
        from jupyter_client import BlockingKernelClient

        def kernel_id():
            sessions = requests.get(f"{self.url}/api/sessions", timeout=5).json()
            return next((s["kernel"]["id"] for s in sessions if s["path"] == name), None)

        kid = wait_until(kernel_id, timeout=60, what=f"a kernel session for {name}")
        client = BlockingKernelClient(connection_file=str(self.runtime / f"kernel-{kid}.json"))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        return client

    def shutdown(self, name: str) -> None:
        """End notebook ``name``'s session and its kernel."""
        for session in requests.get(f"{self.url}/api/sessions", timeout=5).json():
            if session["path"] == name:
                requests.delete(f"{self.url}/api/sessions/{session['id']}", timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def kernel_value(client, expression: str, setup: str = "", timeout: float = 60.0):
    """The value of ``expression`` in the kernel (after running ``setup``), from a client of its own: the notebook
    shows nothing of it. The value travels as JSON (numbers, strings, lists, dicts). An error in the kernel raises
    RuntimeError with its message."""
    import ast

    msg_id = client.execute(setup, silent=True, store_history=False,
                            user_expressions={"value": f"__import__('json').dumps({expression})"})
    while True:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    content = reply["content"]
    if content["status"] != "ok":
        raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
    value = content["user_expressions"]["value"]
    if value["status"] != "ok":
        raise RuntimeError(f"{value.get('ename')}: {value.get('evalue')}")
    return json.loads(ast.literal_eval(value["data"]["text/plain"]))


# -- the JupyterLab page ----------------------------------------------------------------------------------------
#: the open notebook's cells: execution count, whether it is queued/running, and its error outputs
CELLS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.widgets) return null;
  return panel.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    count: c.model.executionCount,
    busy: c.promptNode ? c.promptNode.textContent.includes('*') : false,
    errors: [...Array(c.model.outputs.length).keys()].map(i => c.model.outputs.get(i).toJSON())
      .filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
  }));
}"""


def open_notebook(page, lab: JupyterLab, name: str) -> None:
    """Open notebook ``name`` in JupyterLab (alone: ``reset`` drops the tabs a previous page left open) and wait for
    its kernel to be idle."""
    page.goto(f"{lab.url}/lab/tree/{name}?reset", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function("""(name) => window.jupyterapp && window.jupyterapp.shell.currentWidget
        && window.jupyterapp.shell.currentWidget.context && window.jupyterapp.shell.currentWidget.context.path === name
        && window.jupyterapp.shell.currentWidget.sessionContext.session
        && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
        && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'""",
                           arg=name, timeout=LOAD_TIMEOUT_MS)


def run_all_cells(page) -> None:
    """Run every cell through the main menu (Run -> Run All Cells) and wait until each has run."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    wait_cells(page)


def wait_cells(page, timeout_ms: int = 300_000) -> list[dict]:
    """Wait until every code cell has run and none is queued; the cells (``CELLS_JS``)."""
    page.wait_for_function(f"() => {{ const cells = ({CELLS_JS})(); "
                           "return cells && cells.every(c => c.count !== null && !c.busy); }", timeout=timeout_ms)
    return page.evaluate(CELLS_JS)


def errors_in_cells(page) -> list[str]:
    return [e for cell in page.evaluate(CELLS_JS) for e in cell["errors"]]


def run_cell(page, index: int) -> None:
    """Select code cell ``index`` and run it again (Run -> Run Selected Cell), waiting until it has run."""
    before = page.evaluate(CELLS_JS)[index]["count"]
    page.evaluate("""(i) => { const nb = window.jupyterapp.shell.currentWidget.content;
        const code = nb.widgets.map((c, k) => [c, k]).filter(([c]) => c.model.type === 'code');
        nb.activeCellIndex = code[i][1]; nb.deselectAll(); }""", index)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run Selected Cell").first.click()
    page.wait_for_function(f"() => {{ const c = ({CELLS_JS})()[{index}]; "
                           f"return c.count !== null && c.count !== {json.dumps(before)} && !c.busy; }}",
                           timeout=120_000)


#: every model named ``name`` in every Bokeh document of the page (one document per Panel output)
NAMED_JS = """window.klAllNamed = (name) => Bokeh.documents.flatMap(d => [...d._all_models.values()]
    .filter(m => m.name === name));
window.klColumnOf = (source, key) => Array.from((source.data instanceof Map ? source.data.get(key)
    : source.data[key]) || []);"""


def page_js(page, expression: str, arg=None):
    """Evaluate ``expression`` (a JS function) with ``klAllNamed``/``klColumnOf`` defined (no Bokeh yet: None)."""
    page.evaluate(f"() => {{ if (window.Bokeh) {{ {NAMED_JS} }} }}")
    return page.evaluate(expression, arg)


def named_columns(page, name: str, key: str) -> list[list]:
    """Column ``key`` of every data source named ``name`` on the page (one list per output showing it)."""
    return page_js(page, "([n, k]) => window.Bokeh ? klAllNamed(n).map(s => klColumnOf(s, k)) : []", [name, key])


def select_cell(page, index: int) -> None:
    """Make code cell ``index`` the notebook's active cell."""
    page.evaluate("""(i) => { const nb = window.jupyterapp.shell.currentWidget.content;
        const code = nb.widgets.map((c, k) => [c, k]).filter(([c]) => c.model.type === 'code');
        nb.activeCellIndex = code[i][1]; nb.deselectAll(); }""", index)


def clear_output(page, index: int) -> None:
    """Clear code cell ``index``'s output (Edit -> Clear Cell Output)."""
    select_cell(page, index)
    page.locator(".lm-MenuBar-itemLabel", has_text="Edit").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Clear Cell Output").first.click()
    page.wait_for_function(f"() => window.jupyterapp.shell.currentWidget.content.widgets"
                           f".filter(c => c.model.type === 'code')[{index}].model.outputs.length === 0")


def close_notebook(page) -> None:
    """Close the open notebook's tab (File -> Close Tab), leaving its kernel running, and drop unsaved changes."""
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Close Tab").first.click()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:  # a notebook that has run is modified: JupyterLab asks whether to save it
        page.locator(".jp-Dialog button", has_text="Discard").first.click(timeout=5_000)
    except PlaywrightTimeout:
        pass
    page.wait_for_function("() => !(window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.content && "
                           "window.jupyterapp.shell.currentWidget.content.widgets)")


#: the Explore readouts as the page shows them: {divergence name: text} from every readouts pane's HTML
READOUTS_JS = """() => {
  const out = [];
  for (const m of Bokeh.documents.flatMap(d => [...d._all_models.values()]))
    if ((m.css_classes || []).includes('klpanel-readouts')) {
      // the pane's text is its HTML escaped: parsed once to unescape it, then as HTML
      const raw = new DOMParser().parseFromString(m.text, 'text/html').documentElement.textContent;
      const html = new DOMParser().parseFromString(raw, 'text/html');
      out.push(Object.fromEntries([...html.querySelectorAll('td.kl-readout')].map(
        td => [td.dataset.divergence, td.textContent.trim()])));
    }
  return out;
}"""


def readouts(page) -> list[dict]:
    """The Explore readouts of every output on the page, each {divergence name: text}."""
    return page.evaluate(READOUTS_JS) if page.evaluate("() => !!window.Bokeh") else []


def focus_slider(page, title: str) -> None:
    """Give the keyboard focus to the handle of the (first) slider titled ``title``."""
    page.evaluate("""(title) => {
      const slider = Bokeh.documents.flatMap(d => [...d._all_models.values()])
        .find(m => m.type === 'Slider' && m.title === title);
      Bokeh.index.find_one(slider).shadow_el.querySelector('.noUi-handle').focus();
    }""", title)
