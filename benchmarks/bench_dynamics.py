"""Benchmark of the optimisation-dynamics section (issue 4): figures printed against the targets.

Server side (no browser): a ``DynamicsSection`` in a Bokeh document with four runs (forward KL, reverse KL,
JSD, TV) and 8 random restarts on the landscape; every frame's CPU time and the size of the one PATCH-DOC
message it produces (header + content + binary buffers, as sent on the websocket). Also the time for the
landscape of a new target to be computed and sent.
Browser side (``--browser``, headless Chromium via Playwright): the app served by ``panel serve``; frames
per second delivered = websocket messages received per second while animating, for 1 and for 10 sessions.

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

from klpanel.explorer import Explorer
from klpanel.views.dynamics import DynamicsSection


def message_bytes(events) -> int:
    if not events:
        return 0
    msg = Protocol().create("PATCH-DOC", events)
    return len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json) + sum(
        len(b.to_bytes()) for b in msg.buffers)


def server_side(frames: int = 300):
    doc = Document()
    events = []
    with pn.io.server.set_curdoc(doc):
        explorer = Explorer()
        section = DynamicsSection(explorer=explorer, autoplay=False)
        for name in ("jsd", "tv"):
            section.model.add_run(name)
        section.model.start_restarts()
        root = section.__panel__().get_root(doc)
        doc.add_root(root)
        doc.on_change(lambda event: events.append(event))
        cpu, sizes = [], []
        for _ in range(frames):
            events.clear()
            t0 = time.process_time()
            section.step()
            cpu.append(1e3 * (time.process_time() - t0))
            sizes.append(message_bytes(list(events)))
        t0 = time.perf_counter()
        events.clear()
        explorer.target.n_modes = 4
        landscape_s = time.perf_counter() - t0
        landscape_kb = message_bytes(list(events)) / 1024
        t0 = time.perf_counter()
        section.model.landscape_divergence = "jsd"
        switch_s = time.perf_counter() - t0
    runs = [len(section.model.runs), len(section.model.restarts)]
    return cpu, sizes, landscape_s, landscape_kb, switch_s, runs


def pct(values, q):
    return float(np.percentile(values, q))


def browser(sessions: int, seconds: float = 4.0):
    import shutil
    import socket
    import subprocess

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", "apps/kl_explorer.py", "--port", str(port),
                               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            pages, counts = [], []
            for _ in range(sessions):
                page = b.new_page(viewport={"width": 1400, "height": 2400})
                box = {"n": 0, "t": []}
                page.on("websocket", lambda ws, box=box: ws.on(
                    "framereceived", lambda payload, box=box: box["t"].append(time.perf_counter())))
                for _ in range(100):
                    try:
                        page.goto(f"http://127.0.0.1:{port}/kl_explorer", timeout=60000)
                        break
                    except Exception:
                        time.sleep(0.3)
                pages.append(page)
                counts.append(box)
            page.wait_for_selector(".kl-run", timeout=60000)
            time.sleep(2.0)  # warm up
            t0 = time.perf_counter()
            time.sleep(seconds)
            t1 = time.perf_counter()
            rates = []
            for box in counts:
                # a Bokeh message arrives as header + content (+ buffers) frames: count header-spaced bursts
                ts = [t for t in box["t"] if t0 <= t <= t1]
                bursts = sum(1 for i, t in enumerate(ts) if i == 0 or t - ts[i - 1] > 0.004)
                rates.append(bursts / (t1 - t0))
            b.close()
            return rates
    finally:
        server.terminate()
        server.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--browser", action="store_true", help="also measure delivered fps in headless Chromium")
    args = ap.parse_args()
    cpu, sizes, landscape_s, landscape_kb, switch_s, runs = server_side(args.frames)
    print(f"dynamics: {runs[0]} side-by-side runs + {runs[1]} restarts, {args.frames} frames, 1 step per frame")
    print(f"  server CPU per frame   median {statistics.median(cpu):.2f} ms  p95 {pct(cpu, 95):.2f} ms   "
          f"(target <= 3 ms)")
    print(f"  bytes per frame        median {statistics.median(sizes) / 1024:.2f} KB  max {max(sizes) / 1024:.2f} KB"
          f"   (target <= 10 KB)")
    print(f"  landscape, new target  {landscape_s * 1e3:.0f} ms server, {landscape_kb:.0f} KB   (target <= 1 s)")
    print(f"  landscape, new divergence {switch_s * 1e3:.0f} ms server")
    if args.browser:
        for n in (1, 10):
            rates = browser(n)
            print(f"  browser, {n:2d} session(s): delivered fps min {min(rates):.1f} median "
                  f"{statistics.median(rates):.1f}   (target >= {30 if n == 1 else 20})")


if __name__ == "__main__":
    main()
