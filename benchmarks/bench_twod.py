"""The 2-D picture's benchmark (issue 20): each figure beside its target.
Run: .venv/bin/python benchmarks/bench_twod.py

* both KLs with gradients at one q (Gaussian p: closed forms; 4-component mixture: the cubature);
* both optimal q's for a new target (fresh mixture: its entropy and every reverse-KL start);
* server time per drag event of the served section (the handles' data arriving after a drag: q moved, both KLs,
  the ellipse, handles and readouts written to a Bokeh document), p95 over many drags;
* with ``--browser``: in Chromium against ``panel serve``, mouse drags of q's σ₁ handle, each timed from the mouse's
  release to the frame after the readouts' new text arrived (the server's answer included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import panel as pn
from bokeh.document import Document

from klpanel.models.twod import PRESETS, Target2D
from klpanel.numerics import gauss2d as g


def percentile(times, q):
    return float(np.percentile(np.array(times), q))


def timings(fn, args_list):
    fn(*args_list[0])  # warm (numba's cache loaded)
    times = []
    for args in args_list:
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return times


def random_qs(n, rng, full=True):
    return [g.Gaussian2D(*rng.uniform(-2, 2, 2), *rng.uniform(0.3, 2.0, 2), rng.uniform(-0.8, 0.8) if full else 0.0)
            for _ in range(n)]


def fresh(mixture):
    return g.Mixture2D(mixture.weights, mixture.means, mixture.sigmas, mixture.rhos)


def drag_times(n=200, preset="ring of 4"):
    """Server time of the section's drag callback with the page's document attached (what a drag costs the server)."""
    from klpanel.views.twod import TwoDSection
    section = TwoDSection()
    section.model.target.preset = preset
    doc = Document()
    pn.panel(section).get_root(doc)
    rng = np.random.default_rng(1)
    handles = section.sources["twod-q-handles"]
    times = []
    for i in range(n):
        data = {k: list(v) for k, v in handles.data.items()}
        if i % 2:  # a σ handle
            data["x1"][1] = data["x1"][0] + rng.uniform(0.3, 1.5)
        else:  # the centre
            data["x1"][0], data["x2"][0] = rng.uniform(-2.5, 2.5, 2)
        t = time.perf_counter()
        with pn.io.hold(doc):  # Bokeh's server holds a callback's events and sends them once
            section._on_drag("data", None, data)
        times.append(time.perf_counter() - t)
    return times


BROWSER_JS = """([x, y]) => {
    const fig = [...Bokeh.documents[0]._all_models.values()].find(m => m.name === 'klpanel-twod-plot');
    const view = Bokeh.index.find_one(fig);
    const box = view.el.getBoundingClientRect();
    return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
}"""
WATCH_JS = """() => {
    const deep = (root) => {  // the readout cell, through Panel's shadow roots
        const hit = root.querySelector('td.kl2d-readout');
        if (hit) return hit;
        for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) { const found = deep(el.shadowRoot); if (found) return found; }
        }
        return null;
    };
    const table = deep(document).closest('table');
    window.klTwodChanged = null;
    const observer = new MutationObserver(() => {
        observer.disconnect();
        requestAnimationFrame(() => { window.klTwodChanged = performance.now(); });
    });
    observer.observe(table.getRootNode(), {subtree: true, childList: true, characterData: true});
}"""


def browser_drags(n: int = 30, preset: str = "ring of 4") -> list[float]:
    """Mouse drags of q's σ₁ handle in Chromium; seconds from mouse up to the readouts' new text."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))
    from pagetools import CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, AppServer, wait_ready, wait_until
    from playwright.sync_api import sync_playwright
    times = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server = AppServer(Path(tmp) / "server.log", env={"KLPANEL_AUTOPLAY": "0"})
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.app_url, timeout=LOAD_TIMEOUT_MS)
            wait_ready(page)
            page.locator("h2", has_text="6. Two dimensions").first.scroll_into_view_if_needed()
            if preset != "correlated":
                page.locator("button", has_text=preset).first.click()
                page.wait_for_timeout(1000)  # the new target's optima and contours arrive
            page.evaluate("() => { const f = [...Bokeh.documents[0]._all_models.values()].find("
                          "m => m.name === 'klpanel-twod-plot'); Bokeh.index.find_one(f).el.scrollIntoView("
                          "{block: 'center'}); }")
            shape = lambda: page.evaluate(  # noqa: E731
                "() => { const s = [...Bokeh.documents[0]._all_models.values()].find("
                "m => m.name === 'klpanel-twod-q-shape'); return Array.from(s.data instanceof Map ? s.data.get('q') "
                ": s.data.q); }")
            for i in range(n):
                mu1, mu2, s1 = shape()[:3]
                target = (1.4, 0.4)[i % 2]  # σ₁ back and forth by ~1 (~60 px): every drag is a pan and changes q
                start = page.evaluate(BROWSER_JS, [mu1 + s1, mu2])
                end = page.evaluate(BROWSER_JS, [mu1 + target, mu2])
                page.evaluate(WATCH_JS)
                page.mouse.move(*start)
                page.mouse.down()
                for i in range(1, 6):
                    page.mouse.move(start[0] + (end[0] - start[0]) * i / 5, start[1])
                released = page.evaluate("() => performance.now()")
                page.mouse.up()
                wait_until(lambda: page.evaluate("() => window.klTwodChanged") is not None, timeout=30,
                           what="the readouts to change")
                times.append((page.evaluate("() => window.klTwodChanged") - released) / 1e3)
                wait_until(lambda: abs(shape()[2] - target) < 0.05, timeout=30, what="q to follow")  # noqa: B023
                page.mouse.move(5, 5)  # off the plot: the handle's hover tooltip would cover it
            browser.close()
        finally:
            server.stop()
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also time mouse drags in Chromium (served app)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    gaussian = Target2D().mixture
    ring = Target2D(preset="ring of 4").mixture
    qs = random_qs(100, rng)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; times in ms (median, p95, max)")
    rows = []
    both = lambda p, q: g.evaluate(p, q, gradient=True)  # noqa: E731
    rows.append(("both KLs + gradients, Gaussian p", timings(both, [(gaussian, q) for q in qs]), 1.0))
    rows.append(("both KLs + gradients, 4-component ring", timings(both, [(ring, q) for q in qs]), 20.0))
    for preset in PRESETS:
        for family in g.FAMILIES:
            mixture = Target2D(preset=preset).mixture
            optima = lambda m, f: [g.optimal_q(fresh(m), d, f) for d in g.DIRECTIONS]  # noqa: E731
            rows.append((f"both optima, new target: {preset}, {family}", timings(optima, [(mixture, family)] * 5),
                         200.0))
    rows.append(("drag event, server time (ring of 4)", drag_times(), 50.0))
    rows.append(("drag event, server time (correlated)", drag_times(preset="correlated"), 50.0))
    if args.browser:
        rows.append(("drag, mouse up to new readout (ring of 4)", browser_drags(), 50.0))
    for name, times, target in rows:
        ms = [1e3 * t for t in times]
        p95 = percentile(ms, 95)
        check = "ok" if (p95 if name.startswith("drag") else statistics.median(ms)) <= target else "OVER"
        print(f"{name:<48} {statistics.median(ms):8.2f} {p95:8.2f} {max(ms):8.2f}   target ≤ {target:g} ms  {check}")


if __name__ == "__main__":
    main()
