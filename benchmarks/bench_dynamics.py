"""Benchmark of the optimisation-dynamics section (issue 4): figures printed against the targets.

Server side (no browser): a ``DynamicsSection`` in a Bokeh document with four runs (forward KL, reverse KL,
JSD, TV), alone, with 8 random restarts, and with Monte-Carlo gradients; every frame's CPU time and the size
of the one PATCH-DOC message it produces (header + content + binary buffers, as sent on the websocket). Also
the time until the landscape of a new target or divergence is on screen (preview) and refined.
Browser side (``--browser``, headless Chromium via Playwright): the app served by ``panel serve`` with four
noisy (never converging) runs; frames per second delivered = updates of the landscape's current-position
source applied per second in each page, for 1 and for 10 pages at once.

Targets: ≥ 30 fps delivered (4 runs + landscape), ≤ 3 ms server CPU per frame, ≤ 10 KB per frame,
landscape within 1 s, 10 sessions each ≥ 20 fps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import panel as pn
from bokeh.document import Document
from bokeh.protocol import Protocol

from klpanel.models.explorer import Explorer
from klpanel.views.dynamics import DynamicsSection


def message_bytes(events) -> int:
    if not events:
        return 0
    msg = Protocol().create("PATCH-DOC", events)
    return len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json) + sum(
        len(b.to_bytes()) for b in msg.buffers)


def server_side(frames: int, restarts: bool, estimator: str = "exact"):
    """Per-frame server CPU (ms) and PATCH-DOC bytes for 4 runs (+ 8 restarts)."""
    doc = Document()
    events = []
    with pn.io.server.set_curdoc(doc):
        explorer = Explorer()
        section = DynamicsSection(explorer=explorer, autoplay=False)
        for name in ("jsd", "tv"):
            section.model.add_run(name)
        section.model.estimator = estimator
        if restarts:
            section.model.start_restarts()
        doc.add_root(section.__panel__().get_root(doc))
        doc.on_change(lambda event: events.append(event))
        cpu, sizes = [], []
        for _ in range(frames):
            events.clear()
            t0 = time.process_time()
            section.step()
            cpu.append(1e3 * (time.process_time() - t0))
            sizes.append(message_bytes(list(events)))
    return cpu, sizes


def landscape_latency():
    """Time until a new target's / divergence's landscape is on screen: the preview grid is computed in the
    change's own callback (after the explorer's work), the full grid in a worker thread."""
    doc = Document()
    jobs = []
    with pn.io.server.set_curdoc(doc):
        explorer = Explorer()
        section = DynamicsSection(explorer=explorer, autoplay=False)
        section.model.landscape.defer = lambda compute, done: jobs.append((compute, done))
        doc.add_root(section.__panel__().get_root(doc))
        out = {}
        for label, change in (("new target (n_modes 3 -> 5)", lambda: setattr(explorer.target, "n_modes", 5)),
                              ("new divergence (JSD)", lambda: setattr(section.model, "landscape_divergence", "jsd"))):
            jobs.clear()
            t0 = time.perf_counter()
            change()
            preview = time.perf_counter() - t0
            t1 = time.perf_counter()
            for compute, done in jobs:
                done(compute())
            out[label] = (preview, time.perf_counter() - t1, section.model.landscape.grid.values.shape)
    return out


def pct(values, q):
    return float(np.percentile(values, q))


BENCH_APP = """
import panel as pn
from klpanel import KLExplorer
pn.extension("katex", design="fast")
app = KLExplorer()
for name in ("jsd", "tv"):
    app.dynamics.model.add_run(name)
app.dynamics.model.estimator = "reparameterization"   # noisy runs never converge: frames keep coming
app.servable()
"""

COUNT_JS = """(seconds) => new Promise(resolve => {
  const src = Bokeh.documents[0].get_model_by_name('dynamics-now');
  let n = 0; src.connect(src.properties.data.change, () => n++);
  setTimeout(() => resolve(n / seconds), seconds * 1000);
})"""


def browser(sessions: int, seconds: float = 5.0):
    """Frames per second each page receives and applies (changes of the landscape's current-position source),
    4 runs animating, ``sessions`` browser pages at once."""
    import shutil
    import socket
    import subprocess
    import tempfile
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Path(tempfile.mkdtemp()) / "bench_dynamics_app.py"
    app.write_text(BENCH_APP)
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(app), "--port", str(port),
                               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = ("() => window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].get_model_by_name('dynamics-now')"
             " && Bokeh.documents[0].get_model_by_name('dynamics-now').data.mu.length > 0")
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            pages = []
            for _ in range(sessions):
                page = b.new_page(viewport={"width": 1400, "height": 1000})
                for _ in range(200):
                    try:
                        page.goto(f"http://127.0.0.1:{port}/bench_dynamics_app", timeout=120_000)
                        break
                    except Exception:
                        time.sleep(0.3)
                page.wait_for_function(ready, timeout=120_000)
                pages.append(page)
            time.sleep(10.0)  # the page's first layout and KaTeX take seconds in headless Chromium: measure after
            handles = [page.evaluate_handle(COUNT_JS, seconds) for page in pages]  # all count concurrently
            rates = [h.json_value() for h in handles]
            b.close()
            return rates
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--browser", action="store_true", help="also measure delivered fps in headless Chromium")
    ap.add_argument("--sessions", type=int, nargs="*", default=[1, 10], help="browser pages at once")
    args = ap.parse_args()
    print("dynamics section (issue 4): 4 side-by-side runs (forward KL, reverse KL, JSD, TV), 1 step per frame")
    for label, restarts, estimator in (("4 runs, exact gradients", False, "exact"),
                                       ("4 runs + 8 random restarts", True, "exact"),
                                       ("4 runs, reparameterization MC (64 samples)", False, "reparameterization")):
        cpu, sizes = server_side(args.frames, restarts, estimator)
        print(f"  {label}:")
        print(f"    server CPU per frame  median {statistics.median(cpu):.2f} ms  p95 {pct(cpu, 95):.2f} ms"
              f"   (target <= 3 ms)")
        print(f"    bytes per frame       median {statistics.median(sizes) / 1024:.2f} KB  "
              f"max {max(sizes) / 1024:.2f} KB   (target <= 10 KB)")
    for label, (preview, full, shape) in landscape_latency().items():
        print(f"  landscape, {label}: preview on screen after {preview * 1e3:.0f} ms server time "
              f"(incl. the explorer's own update), full {shape[1]}x{shape[0]} grid {full * 1e3:.0f} ms later "
              f"in a worker thread   (target <= 1 s)")
    if args.browser:
        for n in args.sessions:
            rates = browser(n)
            print(f"  browser, {n:2d} session(s), 4 runs at 30 fps: frames applied per second per page "
                  f"min {min(rates):.1f} median {statistics.median(rates):.1f}   (target >= {30 if n == 1 else 20})")


if __name__ == "__main__":
    main()
