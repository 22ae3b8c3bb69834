"""The product page as served (``panel serve apps/kl_explorer.py``, autoplay on): once loaded, the runs keep
animating in the browser, frame after frame, not just for the first few (a stalled write path once left the
page with a handful of frames and the server stepping on for nobody)."""

import pytest
from pagetools import (CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, AppServer, js, wait_ready, wait_until,
                       watch_console)

pytestmark = pytest.mark.ui

#: counts, in the page, the updates of the run positions (the landscape's ``dynamics-now`` source)
COUNT_JS = """() => { const src = Bokeh.documents[0].get_model_by_name('dynamics-now');
  window.klFrames = 0; src.connect(src.properties.data.change, () => window.klFrames++); }"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_served_page_keeps_animating(tmp_path):
    from playwright.sync_api import sync_playwright

    server = AppServer(tmp_path / "server.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors = watch_console(page)
            page.goto(server.app_url, timeout=LOAD_TIMEOUT_MS)
            wait_ready(page)
            js(page, COUNT_JS)
            wait_until(lambda: js(page, "() => window.klFrames") >= 5, timeout=60, what="the animation to start")
            # a rate, so a fixed window: at the default 30 frames a second, at least a third must arrive even on a
            # loaded machine (the stall this guards against let ~3 a second through)
            js(page, "() => { window.klFrames = 0; }")
            page.wait_for_timeout(5000)
            frames = js(page, "() => window.klFrames")
            browser.close()
    finally:
        server.stop()
    assert frames >= 50, f"{frames} frames in 5 s"
    assert not errors, errors
    assert not server.errors(), server.errors()
