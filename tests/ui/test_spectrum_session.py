"""The spectrum section in a real server with a real browser: the α curve is computed off the UI thread after
the page loads and shown; a target change in the browser brings the new curve; the phase plot computes on
request (in its tab) and its progress bar goes away when it is drawn; the distillation tab shows."""

import re

import pytest
from pagetools import CHROMIUM, CHROMIUM_ARGS as ARGS, answering, free_port, wait_until

pytestmark = pytest.mark.ui


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_curves_arrive_in_the_browser_and_follow_the_target():
    import panel as pn
    from playwright.sync_api import sync_playwright

    from klpanel.models import spectrum as sp
    from klpanel.models.explorer import Explorer
    from klpanel.views.spectrum import SpectrumSection
    from klpanel.views.target_controls import TargetControls

    sections = []

    def app():
        explorer = Explorer()
        section = SpectrumSection(explorer=explorer)
        sections.append(section)
        return pn.Column(TargetControls(explorer=explorer), section)

    port = free_port()
    server = pn.serve(app, port=port, address="127.0.0.1", threaded=True, show=False,
                      websocket_origin=f"127.0.0.1:{port}", liveness=True)
    errors = []
    try:
        wait_until(lambda: answering(f"http://127.0.0.1:{port}/liveness"), timeout=30)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # this bare test page is served in-process, where Panel's global state left by earlier tests can add
            # an external font stylesheet (unreachable offline); the product page is checked for every console
            # error by tests/ui/test_e2e.py. Here: no console error except that, and no failed local request.
            page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                    and "ERR_NAME_NOT_RESOLVED" not in m.text else None)
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}") if "127.0.0.1" in r.url else None)
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            page.get_by_text("The global optimum jumps between modes at α ≈ 0.53").wait_for(timeout=120_000)
            page.get_by_text("α = 0.50: optimal q = N(-3.000, 0.350²)").wait_for(timeout=30_000)
            section = sections[-1]
            assert section._mode == "background" and section.alpha_curve is not None
            points_shown = ("() => { const r = [...Bokeh.documents[0]._all_models.values()]"
                            ".find(m => m.name === 'klpanel-spectrum-mu'); const d = r.data_source.data; "
                            "return (d instanceof Map ? d.get('alpha') : d.alpha).length; }")
            wait_until(lambda: page.evaluate(points_shown) == sp.ALPHA_POINTS + 1,  # one break: one jump
                       timeout=30, what="the α curve drawn in the browser")

            page.locator("button.bk-btn").filter(has_text=re.compile(r"^\s*2\s*$")).first.click()
            wait_until(lambda: section.explorer.target.n_modes == 2, timeout=30)
            wait_until(lambda: section.alpha_curve is not None
                       and section.alpha_curve is sp.CURVES.get(("alpha", section.explorer.target.key, "alpha",
                                                                  tuple(sp.alpha_grid("alpha")))), timeout=120)
            assert not section.distill_curves  # computed when their tab is shown

            # the phase plot and the distillation cards live in tabs rendered when shown
            page.get_by_text("Spread phase plot", exact=True).click()
            page.get_by_text("Compute phase plot").click()
            page.get_by_text("Computed for 2 modes").wait_for(timeout=120_000)
            assert set(section.phase_curves) == set(sp.PHASE_NAMES)
            assert not section.phase_progress.shown and section.phase_progress.pane.object == ""
            page.get_by_text("Distillation losses", exact=True).click()
            page.get_by_text("PyTorch").first.wait_for(timeout=30_000)
            wait_until(lambda: section.distill_curves, timeout=120)
            browser.close()
    finally:
        server.stop()
    assert not errors
