"""Helpers of the reliability tests and benchmarks: the browser tests' server and page helpers
(``tests/ui/pagetools.py``) plus the ``klpanel.server.admin`` plugin, whose ``GET /status/sessions`` counts live
sessions and periodic callbacks, and a short Bokeh session expiry.

Scale knobs (CI runs the small numbers; the full runs are documented in each test module):

* ``KLPANEL_LEAK_TABS`` — tabs opened and closed by ``test_session_leak.py`` (CI 4, full run 50);
  ``KLPANEL_LEAK_APP=full`` serves the whole app instead of the light dynamics page
* ``KLPANEL_SOAK_SECONDS`` — length of ``test_soak.py``'s animation soak (CI 30); ``benchmarks/soak.py
  --minutes 5`` is the full soak
* ``KLPANEL_NGINX_APP=full`` — ``test_nginx.py`` serves the whole app
"""

from __future__ import annotations

import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))

from pagetools import (  # noqa: E402,F401
    APP, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, ROOT, AppServer, free_port, loop_thread_cpu, wait_ready,
    wait_until, watch_console)

#: ``panel serve`` flags of every reliability server: the admin plugin, and a closed tab's session expiring
#: ~2 s after its websocket closed (Bokeh's defaults: checks every 17 s, 15 s lifetime)
ADMIN_ARGS = ("--plugins", "klpanel.server.admin", "--check-unused-sessions", "1000", "--unused-session-lifetime", "2000")


def status(url: str) -> dict:
    """The server's ``/status/sessions`` counts."""
    r = requests.get(f"{url}/status/sessions", timeout=30)
    r.raise_for_status()
    return r.json()


#: in the page: a run's loss curve holds streamed points beyond the step-0 point the page is built with, i.e.
#: frames of the periodic callback arrived over the websocket
FRAMES_ARRIVED_JS = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0
    && [...Bokeh.documents[0]._all_models.values()].some(m => m.type === 'ColumnDataSource'
        && ((m.data instanceof Map ? m.data.get('step') : m.data.step) || []).length > 1)"""


def wait_animating(page, timeout_ms: float = 2 * LOAD_TIMEOUT_MS) -> None:
    """The page's dynamics section is animating: frames from its server callback have arrived (a page load
    and its first frames can take minutes when other test runs load the 2 cores)."""
    page.wait_for_function(FRAMES_ARRIVED_JS, timeout=timeout_ms)
