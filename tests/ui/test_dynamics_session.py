"""The dynamics section's periodic callback in a real server with a real browser: it starts when the page
has loaded, animates the runs, and is stopped when the browser goes and the session is destroyed."""

import math
import time

import pytest
from pagetools import CHROMIUM, CHROMIUM_ARGS as ARGS, answering, free_port, wait_until

pytestmark = pytest.mark.ui


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_callback_runs_while_the_page_is_open_and_stops_when_the_session_is_destroyed():
    import panel as pn
    from playwright.sync_api import sync_playwright

    from klpanel.models.explorer import Explorer
    from klpanel.views.dynamics import DynamicsSection

    sections, destroyed = [], []

    def app():
        section = DynamicsSection(explorer=Explorer())
        pn.state.on_session_destroyed(lambda ctx: destroyed.append(ctx.id))
        sections.append(section)
        return section

    port = free_port()
    server = pn.serve(app, port=port, address="127.0.0.1", threaded=True, show=False,
                      websocket_origin=f"127.0.0.1:{port}", liveness=True, check_unused_sessions_milliseconds=250,
                      unused_session_lifetime_milliseconds=5000)
    try:
        wait_until(lambda: answering(f"http://127.0.0.1:{port}/liveness"), timeout=30)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            wait_until(lambda: any(s.running for s in sections), timeout=90)
            section = next(s for s in sections if s.running)
            run = section.model.runs[0]  # forward KL: ~1200 steps to converge, so it keeps animating
            wait_until(lambda: run.n_steps >= 5, timeout=30)
            assert section._frame_ms  # frames were produced by the callback
            # each card's q is drawn in the browser from its run's (mu, sigma): its peak sits at mu with height
            # 1 / (sigma sqrt(2 pi)), the run position the page received
            drawn = page.evaluate("""() => {
              const doc = Bokeh.documents[0], now = doc.get_model_by_name('dynamics-now');
              return [0, 1].map(i => {
                const model = doc.get_model_by_name(`run-${i}-q`);
                const view = [...Bokeh.index.query(v => v.model === model)][0];
                const y = Array.from(view.glyph.y), k = y.indexOf(Math.max(...y));
                return {x: view.glyph.x[k], y: y[k], mu: now.get_column('mu')[i], sigma: now.get_column('sigma')[i]};
              });
            }""")
            for card in drawn:
                assert card["x"] == pytest.approx(card["mu"], abs=1e-9)
                assert card["y"] == pytest.approx(1 / (card["sigma"] * (2 * math.pi) ** 0.5), rel=1e-9)
            page.close()
            browser.close()
        wait_until(lambda: destroyed, timeout=60)
        wait_until(lambda: not section.running and section._callback is None, timeout=10)
        steps = run.n_steps
        time.sleep(0.3)
        assert run.n_steps == steps  # nothing ticks any more
    finally:
        server.stop()
