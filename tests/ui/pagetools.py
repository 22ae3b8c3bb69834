"""Helpers of the browser tests and the UI benchmark: the served app in a subprocess, wait-until polling,
console watching and reading/driving the Bokeh models in a page (``Bokeh.documents[0]``).

Panel renders into shadow DOM: Playwright's CSS locators pierce it; values are read from the Bokeh models
through ``js``/``columns``/``slider_value``, never from the page's ``inner_text``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:  # tests/support.py, also for scripts that put only tests/ui on the path
    sys.path.insert(0, str(ROOT / "tests"))

from support import answering, free_port, wait_serving, wait_until  # noqa: E402,F401 (tests import them from here)
APP = ROOT / "apps" / "kl_explorer.py"
SETUP = ROOT / "apps" / "server_setup.py"  # what `klpanel serve` runs before the first session
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: this machine has 2 loaded cores: a first page load can take ~30 s
LOAD_TIMEOUT_MS = 120_000
#: a server round trip (widget -> server -> model -> browser)
CHANGE_TIMEOUT_MS = 30_000
#: what a server log must never contain
LOG_ERRORS = ("Traceback", "error handling message", "Exception in callback")
#: Bokeh/Tornado races on a tab that closes while messages are in flight, not ours: a message that arrives after
#: the tab closed is handled once the connection was detached from its session, and Bokeh logs an AssertionError
#: from ``ServerConnection.session``; a frame written as the socket closes leaves Tornado's "Task exception was
#: never retrieved ... WebSocketClosedError". Either way the session is discarded normally (the session-leak
#: test proves it).
CLOSED_TAB_RACES = ("assert self._session is not None", "WebSocketClosedError", "StreamClosedError: Stream is closed")


class AppServer:
    """``panel serve apps/kl_explorer.py --plugins klpanel.server.api --plugins klpanel.server.assets --setup
    apps/server_setup.py`` on a free port (as ``klpanel serve``, without the admin plugin); the log goes to a file."""

    def __init__(self, log_path: Path, app: Path = APP, extra_args=(), env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app_url = f"{self.url}/{app.stem}"
        self.log_path = log_path
        self._log = open(log_path, "w")
        cmd = [sys.executable, "-m", "panel", "serve", str(app), "--plugins", "klpanel.server.api", "--plugins",
               "klpanel.server.assets", "--port", str(self.port), "--address", "127.0.0.1",
               "--allow-websocket-origin", f"127.0.0.1:{self.port}", "--setup", str(SETUP), *extra_args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                                          **(env or {})})
        wait_serving(self.proc, f"{self.url}/api/health", "panel serve", self.log)

    def log(self, since: int = 0) -> str:
        return self.log_path.read_text(errors="replace")[since:]

    def log_size(self) -> int:
        return len(self.log())

    def errors(self, since: int = 0) -> list[str]:
        """Every server-side exception in the log (each with the 3000 characters after it), minus the closed-tab
        races (CLOSED_TAB_RACES). Bokeh's "error handling message" line is judged with the traceback after it."""
        text = self.log(since)
        starts = sorted(m.start() for m in re.finditer("|".join(map(re.escape, LOG_ERRORS)), text))
        ends = [*starts[1:], len(text)]
        errors = []
        for i, (a, b) in enumerate(zip(starts, ends)):
            with_next = text.startswith("error handling message", a) and i + 1 < len(starts)
            whole = text[a:ends[i + 1]] if with_next else text[a:b]
            if not any(race in whole for race in CLOSED_TAB_RACES):
                errors.append(whole[:3000])
        return errors

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def loop_thread_cpu(proc) -> float:
    """CPU seconds of a server process's main thread (its event loop: every session's callbacks and messages),
    without the background workers (spectrum curves, landscape grids, API computations); ``proc`` a psutil
    Process."""
    return next((t.user_time + t.system_time for t in proc.threads() if t.id == proc.pid), 0.0)


def watch_console(page) -> list[str]:
    """Record the page's console errors and uncaught exceptions in ``page.console_errors``."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.console_errors = errors
    return errors


READY_JS = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0
    && [...Bokeh.documents[0]._all_models.values()].some(m => (m.css_classes || []).includes('klpanel-readouts'))
    && document.querySelector('#main') !== null"""


#: every section placeholder in the page (klpanel.views.lazy: sections below the first screen are built when they
#: first come into view); with ``show`` the first one is scrolled into view. Returns how many are left.
PLACEHOLDERS_JS = """(show) => {
  const found = [];
  const walk = (node) => { for (const el of node.querySelectorAll('*')) {
    if (el.classList.contains('kl-lazy-placeholder')) found.push(el);
    if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document);
  if (show && found.length) found[0].scrollIntoView({block: 'start'});
  return found.length;
}"""
TOP_JS = "() => { for (const el of [document.scrollingElement, document.querySelector('#main')]) if (el) el.scrollTop = 0; }"


def wait_first_screen(page) -> None:
    """The page's Bokeh document has arrived and the readout values are painted (the first screen)."""
    page.wait_for_function(READY_JS, timeout=LOAD_TIMEOUT_MS)
    page.locator("td.kl-readout").first.wait_for(timeout=LOAD_TIMEOUT_MS)


def placeholders(page) -> int:
    """How many sections are still placeholders (not yet scrolled to)."""
    return page.evaluate(PLACEHOLDERS_JS, False)


def show_every_section(page) -> None:
    """Scroll down through the page, as a reader would, until every section has arrived; then back to the top."""
    wait_until(lambda: page.evaluate(PLACEHOLDERS_JS, True) == 0, timeout=LOAD_TIMEOUT_MS / 1e3, interval=0.25,
               what="every section to arrive as the page is scrolled through")
    page.evaluate(TOP_JS)


def wait_ready(page) -> None:
    """The page's first screen is painted and every section below it has arrived (scrolled through)."""
    wait_first_screen(page)
    show_every_section(page)


# -- reading and driving the Bokeh models in the page -----------------------------------------------------
MODELS_JS = """
window.klModels = () => [...Bokeh.documents[0]._all_models.values()];
window.klNamed = (name) => klModels().find(m => m.name === name);
window.klTitled = (type, title) => klModels().find(m => m.type === type && m.title === title);
window.klColumn = (source, key) => {
  const data = source.data instanceof Map ? source.data.get(key) : source.data[key];
  return Array.from(data);
};
"""


def js(page, expression: str, arg=None):
    """Evaluate ``expression`` (a JS function source) with the helpers above defined."""
    page.evaluate(f"() => {{ {MODELS_JS} }}")
    return page.evaluate(expression, arg)


def columns(page, source_name: str, keys) -> dict:
    """Columns of the named ColumnDataSource, as the browser holds them."""
    return js(page, "([name, keys]) => { const s = klNamed(name); "
                    "return Object.fromEntries(keys.map(k => [k, klColumn(s, k)])); }", [source_name, list(keys)])


def slider_value(page, title: str) -> float:
    return js(page, "(title) => klTitled('Slider', title).value", title)


def set_slider(page, title: str, value: float) -> None:
    """Set a slider as a drag would end (``value`` then ``value_throttled``)."""
    js(page, "([title, v]) => { const s = klTitled('Slider', title); s.value = v; s.value_throttled = v; }",
       [title, value])
