"""No leaked sessions: open and close many browser tabs — some closed mid-load, some reloaded before their
document was ready, the rest closed mid-animation — then within 60 s the server holds 0 live sessions and 0
running periodic callbacks and, soon after, no Explorer or DynamicsSection in memory. The counts come from the
server itself (``klpanel.admin``'s ``/status/sessions``); a closed tab's session expires after 2 s here.

CI opens 4 tabs in one batch (~1 min on the loaded 2-core machine) of a light page, ``dynamics_page.py`` (the
explorer with only its animated dynamics section; the whole page costs ~15-60 s of server time per load
there). The full run opens 50 tabs of the whole app (``apps/kl_explorer.py``)::

    KLPANEL_LEAK_TABS=50 KLPANEL_LEAK_APP=full .venv/bin/python -m pytest -q -s --timeout 3600 \
        tests/reliability/test_session_leak.py

(``-s`` prints the figures: peak counts, seconds from the last close to 0 sessions and 0 callbacks.)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reltools import APP as APP_FILE
from reltools import ADMIN_ARGS, LOAD_TIMEOUT_MS, AppServer, server_errors, status, wait_animating, wait_until

pytestmark = pytest.mark.ui

TABS = int(os.environ.get("KLPANEL_LEAK_TABS", "4"))
APP = APP_FILE if os.environ.get("KLPANEL_LEAK_APP") == "full" else Path(__file__).with_name("dynamics_page.py")
#: tabs loading at the same time
BATCH = int(os.environ.get("KLPANEL_LEAK_BATCH", "4"))
KINDS = ("load", "animate", "reload", "animate")


@pytest.fixture
def leak_server(artifacts):
    server = AppServer(artifacts / "reliability-session-leak.log", app=APP, extra_args=ADMIN_ARGS)
    yield server
    server.stop()
    errors = server_errors(server)
    assert not errors, "server log shows an exception:\n" + "\n".join(errors)


def test_closed_tabs_leave_no_session_and_no_periodic_callback(browser, leak_server):
    url, admin_server = leak_server.url, leak_server
    kinds = [KINDS[i % len(KINDS)] for i in range(TABS)]
    peak = {"sessions": 0, "periodic_callbacks": 0}
    t0 = time.monotonic()
    for start in range(0, TABS, BATCH):
        batch = kinds[start:start + BATCH]
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pages = []
        for kind in batch:
            page = context.new_page()
            page.goto(admin_server.app_url, wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            if kind == "reload":  # the tab navigates to the page again before its document was ready
                page.goto(admin_server.app_url, wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            if kind == "load":  # gone before the document even arrived (leaves the page: Playwright's
                page.goto("about:blank", timeout=LOAD_TIMEOUT_MS)  # page.close() mid-load can hang)
            else:
                pages.append(page)
        for page in pages:  # each loaded tab's dynamics callback started on page load: frames arrive
            wait_animating(page)
        if pages:
            now = status(url)
            peak = {k: max(peak[k], now[k]) for k in peak}
        context.close()  # closes the batch's tabs mid-animation
    closed = time.monotonic()
    seen = []
    try:
        final = wait_until(lambda: seen.append(s := status(url)) or (s["sessions"] == 0
                           and s["periodic_callbacks"] == 0 and s), timeout=60, interval=0.5,
                           what="0 sessions and 0 running periodic callbacks")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; the server's counts: {seen[-1]}") from None
    drained = time.monotonic() - closed
    # the destroyed sessions' views are garbage: no callback, watcher or cache holds them
    try:
        wait_until(lambda: seen.append(s := status(url)) or s["explorers"] == s["dynamics_sections"] == 0,
                   timeout=30, interval=1.0, what="every session's Explorer and DynamicsSection to be collected")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; the server's counts: {seen[-1]}") from None
    print(f"\nsession leak: {TABS} tabs ({kinds.count('load')} closed mid-load, {kinds.count('reload')} reloaded "
          f"before ready, {kinds.count('animate')} loaded; every loaded one closed mid-animation) opened and closed "
          f"in {closed - t0:.0f} s; peak {peak}; "
          f"0 sessions and 0 callbacks {drained:.1f} s after the last close; final {seen[-1]}")
    assert peak["periodic_callbacks"] >= 1  # the counts do see live sessions
    assert final["connections"] == 0 and final["session_callbacks"] == 0
