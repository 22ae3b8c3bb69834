"""Explorer app benchmark: server cost and websocket bytes per change, and browser repaint latency.

Server side (in-process, a real Bokeh Document, changes made through the widgets as a browser would):
  * a new session: the page built and rendered to Bokeh models (CPU time), and its number of models;
  * slider step (μ/σ)   -> model -> readouts + plot columns patched; time and PATCH-DOC bytes;
  * target change       -> all optima recomputed (uncached targets) -> plots patched;
  * target change to a target seen before (optima cache).
Browser side (headless Chromium against `panel serve`, optional: skipped when chromium is missing):
  * μ slider set in the page -> server -> q column changed in the browser -> next animation frame;
  * spread slider -> new optimal curves in the browser -> next animation frame;
  * websocket bytes received per μ step.

Run: .venv/bin/python benchmarks/bench_app.py [--quick] [--no-browser]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from support import free_port  # noqa: E402

TARGETS = {"slider": (50.0, "ms p95"), "target": (150.0, "ms p95"), "bytes": (20_000, "B/step")}
# Numbers of the optimum cache would hide the optimiser's cost: clear it between configurations.


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


# -- server side --------------------------------------------------------------------------------
def message_bytes(events) -> int:
    """Size of the PATCH-DOC message the server would send for these events (JSON parts + buffers)."""
    from bokeh.protocol import Protocol
    if not events:
        return 0
    msg = Protocol().create("PATCH-DOC", events)
    return (len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
            + sum(len(b.to_bytes()) for b in msg.buffers))


def server_side(n_steps: int, n_targets: int, sections) -> dict:
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from klpanel import KLExplorer

    doc = Document()
    with set_curdoc(doc):
        app = KLExplorer(sections=list(sections))
        pn.panel(app).server_doc(doc)
    events = []
    doc.on_change(lambda event: events.append(event))

    def timed(change):
        events.clear()
        with set_curdoc(doc):
            t0 = time.perf_counter()
            change()
            dt = (time.perf_counter() - t0) * 1e3
        return dt, message_bytes(list(events))

    explore, controls = app.explore, app.optimal.controls
    rng = np.random.default_rng(0)
    slider = [timed(lambda v=v: setattr(explore.mu, "value", round(float(v), 2)))
              for v in rng.uniform(-5, 5, n_steps)]
    slider += [timed(lambda v=v: setattr(explore.sigma, "value", round(float(v), 2)))
               for v in rng.uniform(0.15, 3, n_steps // 2)]
    spreads = np.round(np.linspace(1.5, 5.0, 36), 1)[:n_targets]
    fresh = [timed(lambda s=s: setattr(controls.spread, "value", float(s))) for s in spreads]
    modes = [timed(lambda m=m: setattr(controls.modes, "value", int(m))) for m in (2, 4, 5, 6, 8)]
    timed(lambda: setattr(controls.modes, "value", 3))  # back to the spreads measured above
    seen = [timed(lambda s=s: setattr(controls.spread, "value", float(s))) for s in spreads[::-1]]
    return {"slider": slider, "fresh": fresh + modes, "seen": seen}


def session_cost(sections, n: int = 7) -> dict:
    """A new session's server CPU (``KLExplorer`` built and rendered to Bokeh models, as ``panel serve`` does for
    each visitor; process CPU time, so other load on the machine counts less) and its number of Bokeh models,
    after one warm-up session."""
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from klpanel import KLExplorer

    def one():
        doc = Document()
        with set_curdoc(doc):
            t0 = time.process_time()
            doc.add_root(pn.panel(KLExplorer(sections=list(sections))).get_root(doc))
            return (time.process_time() - t0) * 1e3, len(doc.models)

    one()
    runs = [one() for _ in range(n)]
    return {"cpu": [c for c, _ in runs], "models": runs[-1][1]}


# -- browser side -------------------------------------------------------------------------------
JS_FIND = """
() => {
  const doc = Bokeh.documents[0];
  const models = [...doc._all_models.values()];
  const sliders = models.filter(m => m.type === "Slider" || (m.title !== undefined && m.start !== undefined
                                                                 && m.end !== undefined && m.step !== undefined));
  window._mu = sliders.find(m => m.title === "μ (mean of q)");
  window._spread = sliders.find(m => m.title === "Spread");
  window._col = (s, k) => (s.data instanceof Map ? s.data.get(k) : s.data[k]);
  window._explore = models.find(m => m.name === "klpanel-explore-curves");
  window._optimal = models.find(m => m.name === "klpanel-optimal-curves");
  return [!!window._mu, !!window._spread, !!window._explore, !!window._optimal];
}
"""

JS_STEP = """
async ([which, value, column]) => {
  const slider = which === "mu" ? window._mu : window._spread;
  const source = which === "mu" ? window._explore : window._optimal;
  const before = window._col(source, column);
  const t0 = performance.now();
  slider.value = value;
  if (which !== "mu") { slider.value_throttled = value; }
  await new Promise((resolve, reject) => {
    const deadline = t0 + 30000;
    const poll = () => {
      if (window._col(source, column) !== before) { requestAnimationFrame(() => resolve()); }
      else if (performance.now() > deadline) { reject(new Error("no update")); }
      else { requestAnimationFrame(poll); }
    };
    poll();
  });
  return performance.now() - t0;
}
"""


def browser_side(n_steps: int, n_targets: int, sections, tmpdir) -> dict | None:
    chromium = shutil.which("chromium")
    if not chromium:
        print("chromium not found: browser figures skipped", file=sys.stderr)
        return None
    import requests
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    port = free_port()
    app_file = Path(tmpdir) / "kl_explorer.py"  # the real app file, limited to the measured sections
    app_file.write_text((ROOT / "apps" / "kl_explorer.py").read_text().replace(
        "KLExplorer()", f"KLExplorer(sections={list(sections)!r})"))
    proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(app_file),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/kl_explorer"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(url, timeout=30).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not answer")
            time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            received = []
            page.on("websocket", lambda ws: ws.on(
                "framereceived", lambda payload: received.append(len(payload) if payload else 0)))
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60000)
            page.wait_for_function(f"() => ({JS_FIND})().every(Boolean)", timeout=60000)
            first_render = (time.perf_counter() - t0) * 1e3
            found = page.evaluate(JS_FIND)
            if not all(found):
                print(f"browser: models not found {found}", file=sys.stderr)
                return None
            page.wait_for_timeout(1000)
            # μ values on the slider's 0.05 grid, each different from the one before
            values = -5 + 0.05 * ((np.arange(n_steps) * 37 + 11) % 200 + 1)
            slider, step_bytes, lost = [], [], 0
            for v in values:
                received.clear()
                try:
                    slider.append(page.evaluate(JS_STEP, ["mu", round(float(v), 2), "q"]))
                except PlaywrightError:  # no repaint within 30 s: counted, not timed
                    lost += 1
                page.wait_for_timeout(60)  # let the location/URL update arrive too
                step_bytes.append(sum(received))
            target = []
            for s in np.round(np.linspace(1.6, 4.9, n_targets), 1):
                try:
                    target.append(page.evaluate(JS_STEP, ["spread", float(s), "p"]))
                except PlaywrightError:
                    lost += 1
            browser.close()
        return {"slider": slider, "target": target, "bytes": step_bytes, "first_render": first_render,
                "lost": lost}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


CONFIGS = {
    "explorer": ["optimal", "cards", "explore", "export"],  # the sections this benchmark owns
    "full page": None,                                      # + optimisation dynamics and α-spectrum
}


def rows_for(label, n_steps, n_targets, sections, browser, tmpdir):
    from klpanel.views.app import SECTIONS
    sections = sections or list(SECTIONS)
    print(f"[bench_app] measuring {label} ...", file=sys.stderr, flush=True)
    server = server_side(n_steps, n_targets, sections)
    st, sb = [t for t, _ in server["slider"]], [b for _, b in server["slider"]]
    ft, fb = [t for t, _ in server["fresh"]], [b for _, b in server["fresh"]]
    seen = [t for t, _ in server["seen"]]
    session = session_cost(sections)
    rows = [
        (label, "server: slider step (model + patch)", f"{statistics.median(st):.1f}", f"{pct(st, 95):.1f}", "ms",
         f"≤ {TARGETS['slider'][0]:.0f} p95 end to end"),
        (label, "server: PATCH-DOC bytes per slider step", f"{statistics.median(sb):.0f}", f"{max(sb):.0f}", "B",
         f"≤ {TARGETS['bytes'][0]}"),
        (label, "server: new target (all optima + patch)", f"{statistics.median(ft):.1f}", f"{pct(ft, 95):.1f}",
         "ms", f"≤ {TARGETS['target'][0]:.0f} p95 end to end"),
        (label, "server: PATCH-DOC bytes per target change", f"{statistics.median(fb):.0f}", f"{max(fb):.0f}", "B",
         "—"),
        (label, "server: target seen before (cached optima)", f"{statistics.median(seen):.1f}",
         f"{pct(seen, 95):.1f}", "ms", "—"),
        (label, "server: new session (build + render), CPU", f"{statistics.median(session['cpu']):.0f}",
         f"{max(session['cpu']):.0f}", "ms", "—"),
        (label, "server: Bokeh models per session", f"{session['models']}", "", "", "—"),
    ]
    if browser:
        b = browser_side(n_steps, n_targets, sections, tmpdir)
        if b:
            rows += [
                (label, "browser: μ slider -> repainted", f"{statistics.median(b['slider'] or [math.nan]):.1f}",
                 f"{pct(b['slider'], 95):.1f}", "ms", f"≤ {TARGETS['slider'][0]:.0f} p95"),
                (label, "browser: websocket bytes per μ step", f"{statistics.median(b['bytes']):.0f}",
                 f"{max(b['bytes']):.0f}", "B", f"≤ {TARGETS['bytes'][0]}"),
                (label, "browser: new target -> repainted", f"{statistics.median(b['target'] or [math.nan]):.1f}",
                 f"{pct(b['target'], 95):.1f}", "ms", f"≤ {TARGETS['target'][0]:.0f} p95"),
                (label, "browser: page load -> first render", f"{b['first_render']:.0f}", "", "ms", "—"),
                (label, "browser: changes never repainted (30 s)", f"{b['lost']}", "", "", "0"),
            ]
    return rows


def main():
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--config", choices=list(CONFIGS), action="append",
                        help="what to measure (default: all of %(choices)s)")
    args = parser.parse_args()
    n_steps, n_targets = (30, 6) if args.quick else (60, 10)
    print(f"klpanel explorer benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {platform.node()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}",
          flush=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        for label in args.config or CONFIGS:  # a table per page, printed as soon as it is measured
            print_table(rows_for(label, n_steps, n_targets, CONFIGS[label], not args.no_browser, tmpdir))


def print_table(rows):
    header = ("page", "measure", "median", "p95/max", "unit", "target")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print(flush=True)


if __name__ == "__main__":
    main()
