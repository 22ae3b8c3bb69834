"""No leaked sessions: open and close many browser tabs — some closed mid-load, some reloaded before their
document was ready, the rest closed mid-animation — then within 60 s the server holds 0 live sessions and 0
running periodic callbacks and, soon after, no Explorer or DynamicsSection in memory. The counts come from the
server itself (``klpanel.server.admin``'s ``/status/sessions``); a closed tab's session expires after 2 s here
(``KLPANEL_LEAK_EXPIRY=default``: Bokeh's defaults, a check every 17 s for sessions unused for 15 s).

Tabs go through a pipeline: up to ``KLPANEL_LEAK_BATCH`` (default 5) load at once, spread over 3 browser
contexts, and each tab closes as soon as its animation frames arrive (its document was ready and its periodic
callback running), so that no finished tab keeps animating while the others load. CI opens 4 tabs of a light
page, ``dynamics_page.py`` (the explorer with only its animated dynamics section). The full run opens 50 tabs of
the whole app (``apps/kl_explorer.py``)::

    KLPANEL_LEAK_TABS=50 KLPANEL_LEAK_APP=full .venv/bin/python -m pytest -q -s --timeout 1800 \
        tests/reliability/test_session_leak.py

(``-s`` prints the figures: time to open and close the tabs, peak counts, seconds from the last close to 0
sessions and 0 callbacks.)
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from reltools import APP as APP_FILE
from reltools import ADMIN_ARGS, FRAMES_ARRIVED_JS, LOAD_TIMEOUT_MS, AppServer, status, wait_until

pytestmark = pytest.mark.ui

TABS = int(os.environ.get("KLPANEL_LEAK_TABS", "4"))
APP = APP_FILE if os.environ.get("KLPANEL_LEAK_APP") == "full" else Path(__file__).with_name("dynamics_page.py")
#: tabs loading at the same time, and the browser contexts they are spread over
BATCH = int(os.environ.get("KLPANEL_LEAK_BATCH", "5"))
CONTEXTS = 3
KINDS = ("load", "animate", "reload", "animate")
#: the longest a tab may take to animate (a full page load under load on 2 cores)
TAB_TIMEOUT = 2 * LOAD_TIMEOUT_MS / 1000


@pytest.fixture
def leak_server(artifacts):
    # KLPANEL_LEAK_EXPIRY=default keeps Bokeh's own expiry (checks every 17 s, 15 s lifetime) instead of 2 s
    args = ADMIN_ARGS[:2] if os.environ.get("KLPANEL_LEAK_EXPIRY") == "default" else ADMIN_ARGS
    server = AppServer(artifacts / "reliability-session-leak.log", app=APP, extra_args=args)
    yield server
    server.stop()
    errors = server.errors()
    assert not errors, "server log shows an exception:\n" + "\n".join(errors)


def animating(page) -> bool:
    """Whether the tab's animation frames have arrived (False while it is still navigating)."""
    try:
        return bool(page.evaluate(FRAMES_ARRIVED_JS))
    except PlaywrightError:  # the page's context went away mid-navigation: not yet
        return False


def test_closed_tabs_leave_no_session_and_no_periodic_callback(browser, leak_server):
    url, admin_server = leak_server.url, leak_server
    kinds = [KINDS[i % len(KINDS)] for i in range(TABS)]
    peak = {"sessions": 0, "periodic_callbacks": 0}
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(CONTEXTS)]
    todo, loading = list(kinds), []  # loading: (page, opened at)
    last_status = -math.inf
    t0 = time.monotonic()

    def advance() -> bool:
        """Open tabs up to BATCH loading; close every loading tab that animates. True once all are closed."""
        nonlocal last_status, peak
        while todo and len(loading) < BATCH:
            kind = todo.pop(0)
            page = contexts[len(todo) % CONTEXTS].new_page()
            page.goto(admin_server.app_url, wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            if kind == "reload":  # the tab navigates to the page again before its document was ready
                page.goto(admin_server.app_url, wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            if kind == "load":  # gone before the document even arrived (leaves the page: Playwright's
                page.goto("about:blank", timeout=LOAD_TIMEOUT_MS)  # page.close() mid-load can hang)
                page.close()
            else:
                loading.append((page, time.monotonic()))
        for page, opened in list(loading):
            if animating(page):
                if time.monotonic() - last_status > 5:  # the counts while tabs animate (a heap walk: not per tab)
                    now = status(url)
                    peak = {k: max(peak[k], now[k]) for k in peak}
                    last_status = time.monotonic()
                page.close()  # mid-animation
                loading.remove((page, opened))
            elif time.monotonic() - opened > TAB_TIMEOUT:
                raise AssertionError(f"a tab did not animate within {TAB_TIMEOUT:.0f} s")
        return not todo and not loading

    wait_until(advance, timeout=TABS * TAB_TIMEOUT, interval=0.25, what="every tab to animate and close")
    for context in contexts:
        context.close()
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
        # but the kept pages' (klpanel.server.reuse: one per theme, the server's own, never a visitor's; each holds
        # its page's Explorer and, where the page shows it at once, its DynamicsSection)
        wait_until(lambda: seen.append(s := status(url)) or (s["explorers"] == s["kept_sessions"]
                                                             and s["dynamics_sections"] <= s["kept_sessions"]),
                   timeout=30, interval=1.0, what="every session's Explorer and DynamicsSection to be collected")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; the server's counts: {seen[-1]}") from None
    print(f"\nsession leak: {TABS} tabs ({kinds.count('load')} closed mid-load, {kinds.count('reload')} reloaded "
          f"before ready, {kinds.count('animate')} loaded; every loaded one closed mid-animation) opened and closed "
          f"in {closed - t0:.0f} s; peak {peak}; "
          f"0 sessions and 0 callbacks {drained:.1f} s after the last close; final {seen[-1]}")
    assert peak["periodic_callbacks"] >= 1  # the counts do see live sessions
    assert final["connections"] == 0 and final["session_callbacks"] == 0
    # with the heap speedup the startup heap was frozen before the first session (apps/server_setup.py), and no
    # session with it: the collected sessions above were created after the freeze
    if "heap" in final["speedups"]:
        assert final["gc_frozen"] > 50_000
    else:
        assert final["gc_frozen"] == 0
