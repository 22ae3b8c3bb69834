"""Fixtures of the browser tests: the served app (``panel serve apps/kl_explorer.py --plugins klpanel.server.api``) on
a free port, Debian's Chromium driven by Playwright, and pages that record every console error.

* ``app_server`` (session): the app and its API in a subprocess (``KLPANEL_AUTOPLAY=0``), its log in a
  file; after every test that used it, the new part of the log must hold no traceback (autouse).
* ``browser`` (module): headless Chromium; every test here is skipped, with the reason, when
  ``chromium`` is not installed (``./dev test`` installs it from Debian when it can).
* ``open_app(query)``: a new page on the app (``?query`` carries URL state), waited for until its Bokeh
  document holds the readouts; ``page.console_errors`` lists console errors and uncaught exceptions.

Helpers (wait-until, reading the Bokeh models) live in ``pagetools.py``, shared with ``benchmarks/bench_ui.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pagetools import ARTIFACTS, CHANGE_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, AppServer, \
    wait_ready, watch_console


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def app_server(artifacts):
    # no autoplay: an animation started by every page load would slow all the other cases down on this
    # machine; the dynamics case presses Play (tests/ui/test_dynamics_session.py covers autoplay)
    server = AppServer(artifacts / "server.log", env={"KLPANEL_AUTOPLAY": "0"})
    yield server
    server.stop()
    assert not server.errors(), "server log shows an exception:\n" + "\n".join(server.errors())


@pytest.fixture(autouse=True)
def no_server_traceback(request):
    """Every test that talks to the served app leaves no exception in its log."""
    if "app_server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("app_server")
    start = server.log_size()
    yield
    errors = server.errors(start)
    assert not errors, "server log shows an exception during this test:\n" + "\n".join(errors)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; ./dev test installs it as root)")
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=CHANGE_TIMEOUT_MS)  # a server round trip on this loaded machine, not 5 s
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def open_app(browser, app_server):
    """``open_app(query="")`` -> a new, loaded page on the app (``?query`` in its URL)."""
    contexts = []

    def open_(query: str = "", viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(CHANGE_TIMEOUT_MS)
        watch_console(page)
        page.goto(app_server.app_url + (f"?{query}" if query else ""), timeout=LOAD_TIMEOUT_MS)
        wait_ready(page)
        return page

    yield open_
    for context in contexts:
        context.close()


