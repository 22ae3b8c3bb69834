"""Drag benchmark: dragging on the Explore plot in headless Chromium against the served app (``panel serve
apps/kl_explorer.py`` with ``klpanel serve``'s setup, speedups on), real mouse events.

* a mode of p dragged sideways and up, and q's peak dragged sideways, one mouse move every ``--gap`` ms: for each
  repaint of the Explore plot showing a curve it had not painted yet, the ms since the first mouse move it had not
  yet shown (the plot view's ``repainted`` signal; the browser redraws the curve from the handles itself, so no
  server round trip sits in this path). Target: p95 ≤ 50 ms, the μ slider's.
  The start of each drag is reported apart: Bokeh starts its pan gesture only once the pointer has travelled 5 px
  from the press (its ``UIGestures.move_threshold``), so the first moves (2-5 px each here) are shown together once
  that distance is passed, and the tool's pick of the handle happens then too.
* during the drag, the readouts: ms from a move to the next readouts' text arriving (the browser sends the dragged
  p's components or q's (μ, σ) every 40 ms at most; the server answers with that position's values).
* the release: ms from the mouse button going up to the server's answer applied in the page (the handles put where
  the model now is, sent with the readouts in one message; for p the server computes the new target's optima first,
  once per drag).

Run: ``.venv/bin/python benchmarks/bench_drag.py`` (``--drags 6 --steps 20``). Prints a table.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from pagetools import CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, AppServer, js, wait_ready  # noqa: E402

PLOT = "klpanel-explore-plot"

#: listeners recording, in the page, each move-to-repaint latency and each release-to-readouts latency
PROBE_JS = """() => {
  const doc = Bokeh.documents[0];
  const curves = doc.get_model_by_name('klpanel-explore-curves');
  const view = Bokeh.index.find_one(doc.get_model_by_name('PLOT'));
  const sources = [...doc._all_models.values()].filter(m => m.type === 'ColumnDataSource'
                                                         && /^klpanel-explore-[pq]-handles$/.test(m.name));
  const col = (k) => curves.data instanceof Map ? curves.data.get(k) : curves.data[k];
  const readouts = [...doc._all_models.values()].find(m => (m.css_classes || []).includes('klpanel-readouts'));
  const probe = window.klDrag = {paints: [], releases: [], reads: [], pending: null, reading: null, up: null};
  let shown = [col('p'), col('q')];
  document.addEventListener('pointermove', (ev) => {  // a move with the button down: a drag step to show
    if ((ev.buttons & 1) && probe.pending === null) probe.pending = performance.now();
    if ((ev.buttons & 1) && probe.reading === null) probe.reading = performance.now();
  }, {capture: true});
  readouts.properties.text.change.connect(() => {  // during a drag: the server's readouts for a dragged position
    if (probe.reading !== null && probe.up === null) { probe.reads.push(performance.now() - probe.reading); }
    probe.reading = null;
  });
  document.addEventListener('pointerup', () => { probe.up = performance.now(); probe.reading = null; },
                            {capture: true});
  view.repainted.connect(() => {
    const now = [col('p'), col('q')];
    if (now[0] !== shown[0] || now[1] !== shown[1]) {
      shown = now;
      if (probe.pending !== null) { probe.paints.push(performance.now() - probe.pending); probe.pending = null; }
    }
  });
  for (const s of sources) s.properties.data.change.connect(() => {  // the server's answer to the release
    if (probe.up !== null && s.data.x0 !== s.__kl_x0) { probe.releases.push(performance.now() - probe.up); probe.up = null; }
    s.__kl_x0 = s.data.x0;
  });
  for (const s of sources) s.__kl_x0 = s.data.x0;
}""".replace("PLOT", PLOT)


def screen_point(page, x: float, y: float) -> tuple[float, float]:
    return tuple(js(page, """([name, x, y]) => {
        const view = Bokeh.index.find_one(klNamed(name));
        const box = view.canvas_view.el.getBoundingClientRect();
        return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
    }""", [PLOT, x, y]))


def handles(page, name: str) -> dict:
    return js(page, """(name) => { const s = klModels().find(m => m.name === name && m.type === 'ColumnDataSource');
                                   return {x: klColumn(s, 'x'), y: klColumn(s, 'y')}; }""", name)


def drag(page, start, end, steps: int, gap_ms: int) -> None:
    """A drag from data point ``start`` to ``end``: hover, press, ``steps`` moves ``gap_ms`` apart, release."""
    a, b = screen_point(page, *start), screen_point(page, *end)
    page.mouse.move(a[0] - 3, a[1])
    page.mouse.move(*a, steps=3)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
        page.wait_for_timeout(gap_ms)
    page.evaluate("() => { window.klDrag.pending = null; }")  # the release's own pointer events paint nothing new
    page.mouse.up()


def take(page) -> tuple[list, list, list]:
    r = page.evaluate("() => { const d = window.klDrag, r = [d.paints, d.releases, d.reads]; "
                      "d.paints = []; d.releases = []; d.reads = []; return r; }")
    return r[0], r[1], r[2]


def settle(page, timeout_s: float = 20.0) -> bool:
    """Wait until the server's answer to the release has arrived; False if none came within ``timeout_s``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_function("() => window.klDrag.releases.length > 0", timeout=timeout_s * 1e3)
        return True
    except PlaywrightTimeout:
        return False


def measure(drags: int, steps: int, gap_ms: int) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"p": ([], [], [], []), "q": ([], [], [], []), "missed": 0}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server = AppServer(Path(tmp) / "server.log", env={"KLPANEL_AUTOPLAY": "0"})
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(server.app_url, timeout=LOAD_TIMEOUT_MS)
            wait_ready(page)
            js(page, f"() => Bokeh.index.find_one(klNamed('{PLOT}')).el.scrollIntoView({{block: 'center'}})")
            page.evaluate(PROBE_JS)
            for i in range(drags):
                # the first mode (mean −3 at first) right and up a little, then back (a new target each time); q's
                # peak right, then back
                sign = 1 if i % 2 == 0 else -1
                for key in ("p", "q"):  # each read just before its drag: a new p may have changed the plot's range
                    h = handles(page, f"klpanel-explore-{key}-handles")
                    start = (h["x"][0], h["y"][0])
                    end = ((start[0] + sign * 0.6, start[1] * (1.1 if sign > 0 else 0.9)) if key == "p"
                           else (start[0] + sign * 1.2, start[1]))
                    drag(page, start, end, steps, gap_ms)
                    out["missed"] += not settle(page)
                    page.wait_for_timeout(300)  # the rest of the release's answer (URL, other sections)
                    paints, releases, reads = take(page)
                    out[key][0].extend(paints[1:])
                    out[key][1].extend(paints[:1])
                    out[key][2].extend(releases[:1])
                    out[key][3].extend(reads)
            browser.close()
            out["errors"] = server.errors()
        finally:
            server.stop()
    return out


def pct(values) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.1f} / {float(np.percentile(values, 95)):.1f} ms (n={len(values)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drags", type=int, default=6, help="drags of p's mode and of q's peak, each")
    parser.add_argument("--steps", type=int, default=20, help="mouse moves per drag")
    parser.add_argument("--gap", type=int, default=30, help="ms between two mouse moves (a hand's ~30 Hz)")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("bench_drag: chromium is not installed (Debian package 'chromium')")
    load = os.getloadavg()[0]
    r = measure(args.drags, args.steps, args.gap)
    rows = [("drag a mode of p, once started -> repainted: median / p95", pct(r["p"][0]), "p95 ≤ 50 ms"),
            ("drag q's peak, once started -> repainted: median / p95", pct(r["q"][0]), "p95 ≤ 50 ms"),
            ("drag of p -> readouts of a dragged position: median / p95", pct(r["p"][3]), "—"),
            ("drag of q -> readouts of a dragged position: median / p95", pct(r["q"][3]), "—"),
            ("start of a drag (Bokeh's pan waits for 5 px) -> repainted: median / p95", pct(r["p"][1] + r["q"][1]),
             "—"),
            ("release p (new target, optima) -> answer applied: median / p95", pct(r["p"][2]), "—"),
            ("release q -> answer applied: median / p95", pct(r["q"][2]), "—")]
    width = max(len(a) for a, _, _ in rows)
    print(f"bench_drag, {time.strftime('%Y-%m-%d %H:%M %Z')}: {os.cpu_count()} cores, load average {load:.1f} at the "
          f"start; {args.drags} drags of each, {args.steps} moves {args.gap} ms apart")
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:<28}  {target}")
    if r["missed"]:
        print(f"  {r['missed']} release(s) had no answer from the server within 20 s")
    if r["errors"]:
        print("Server log showed exceptions:\n" + "\n".join(r["errors"]))


if __name__ == "__main__":
    main()
