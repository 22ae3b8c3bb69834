"""UI benchmark: what a person's browser gets from the served app (headless Chromium, ``panel serve`` + API).

Measured against ``panel serve apps/kl_explorer.py --plugins klpanel.api`` on a free port, one page:

* time to first complete render: navigation start -> every section's models present, readouts painted,
  formulas typeset, both dynamics panels labelled (recorded in the page by a requestAnimationFrame hook);
* animating 2 runs (the default forward/reverse KL) and 4 runs (+ JSD, TV), with Monte-Carlo gradients
  (reparameterization, so no run converges and frames keep coming):
  - frames per second delivered = animation frames the browser painted with new run positions (the
    landscape's ``dynamics-now`` source changed since the last painted frame);
  - frames applied per second = updates of ``dynamics-now`` the browser received and applied (all PATCH-DOC
    messages per second in brackets: readout and status updates travel in their own messages);
  - server CPU per frame = CPU time of the server process in the window / frames applied;
  - websocket bytes per frame = bytes received on the websocket in the window / frames applied;
* μ slider -> repaint latency (animation paused): set the slider in the page, wait until the Explore plot's q
  column has changed and the next animation frame is painted; median and p95;
* server RSS after ``--minutes`` of animation (4 runs), with its growth from the start of the animation.

Run: ``.venv/bin/python benchmarks/bench_ui.py`` (1 minute of animation), ``--minutes 5`` for the issue's
5-minute memory figure. Prints a table and writes it into ``benchmarks/README.md`` (between the
``bench_ui`` markers; other sections of that file are kept) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from pagetools import CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, AppServer, js, wait_until  # noqa: E402

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- bench_ui:start -->", "<!-- bench_ui:end -->"

#: records, from navigation start, when the page is completely rendered (see the module docstring)
FIRST_RENDER_JS = """
(() => {
  const names = ['klpanel-optimal-plot', 'klpanel-explore-plot', 'klpanel-readouts', 'dynamics-now', 'run-1-line-2'];
  const complete = () => {
    if (!window.Bokeh || Bokeh.documents.length === 0) return false;
    const doc = Bokeh.documents[0];
    if (!names.every(n => doc.get_model_by_name(n))) return false;
    const deep = (sel, root = document) => {
      if (root.querySelector(sel)) return true;
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot && deep(sel, el.shadowRoot)) return true;
      return false;
    };
    return deep('td.kl-readout') && deep('.katex') && doc.get_model_by_name('run-1-line-2').text !== '';
  };
  const poll = () => { if (complete()) { window.klFirstRender = performance.now(); } else { requestAnimationFrame(poll); } };
  requestAnimationFrame(poll);
})();
"""

#: counts painted frames with new run positions, and applied updates, for ``seconds``
FPS_JS = """(seconds) => new Promise(resolve => {
  const src = Bokeh.documents[0].get_model_by_name('dynamics-now');
  let applied = 0, painted = 0, last = src.data;
  src.connect(src.properties.data.change, () => applied++);
  const t0 = performance.now();
  const frame = () => {
    if (src.data !== last) { last = src.data; painted++; }
    if (performance.now() - t0 < seconds * 1000) { requestAnimationFrame(frame); }
    else { resolve({painted, applied, seconds: (performance.now() - t0) / 1000}); }
  };
  requestAnimationFrame(frame);
})"""

#: sets the μ slider, resolves with the ms until the changed q column has been painted
SLIDER_JS = """async (value) => {
  const slider = klTitled('Slider', 'μ (mean of q)');
  const source = klNamed('klpanel-explore-curves');
  const before = source.data;
  const t0 = performance.now();
  slider.value = value;
  await new Promise((resolve, reject) => {
    const poll = () => {
      if (source.data !== before) { requestAnimationFrame(() => requestAnimationFrame(resolve)); }
      else if (performance.now() - t0 > 20000) { reject(new Error('no repaint within 20 s')); }
      else { requestAnimationFrame(poll); }
    };
    poll();
  });
  return performance.now() - t0;
}"""


PATCH_DOC = re.compile(r'"msgtype":\s*"PATCH-DOC"')


class Wire:
    """Websocket traffic the page receives: bytes, and PATCH-DOC messages (counted by their header frame)."""

    def __init__(self, page):
        self.bytes = 0
        self.messages = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload):
        size = len(payload) if payload else 0
        self.bytes += size
        if isinstance(payload, str) and PATCH_DOC.search(payload[:300]):
            self.messages += 1

    def snapshot(self):
        return self.bytes, self.messages


def toggle(page) -> tuple[str, bool]:
    return tuple(js(page, "() => { const t = klModels().find(m => m.type === 'Toggle'); return [t.label, t.active]; }"))


def set_playing(page, playing: bool) -> None:
    if toggle(page)[1] != playing:
        page.locator("button", has_text="Pause" if not playing else "Play").first.click()
    wait_until(lambda: toggle(page)[1] == playing, timeout=60, what=f"playing={playing}")


def select(page, label: str, option: str) -> None:
    page.locator(".bk-input-group", has=page.locator("label", has_text=label)).locator("select").select_option(option)


def animate(page, server: AppServer, wire: Wire, seconds: float) -> dict:
    """Animate for ``seconds``; frames painted per second, server CPU and websocket bytes per frame."""
    proc = psutil.Process(server.proc.pid)
    set_playing(page, True)
    wait_until(lambda: js(page, "() => klColumn(klNamed('dynamics-now'), 'mu').length") > 0, what="runs on screen")
    cpu0, (b0, m0) = proc.cpu_times(), wire.snapshot()
    counts = page.evaluate(FPS_JS, seconds)
    cpu1, (b1, m1) = proc.cpu_times(), wire.snapshot()
    frames = max(counts["applied"], 1)  # frames of run positions the browser received and applied
    cpu_ms = 1e3 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
    return {"fps": counts["painted"] / counts["seconds"], "applied": counts["applied"] / counts["seconds"],
            "cpu_per_frame": cpu_ms / frames, "bytes_per_frame": (b1 - b0) / frames,
            "messages_per_s": (m1 - m0) / counts["seconds"]}


def measure(minutes: float, window: float, n_slider: int) -> dict:
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = AppServer(Path(tmp) / "server.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                page.add_init_script(FIRST_RENDER_JS)
                wire = Wire(page)
                page.goto(server.app_url, timeout=LOAD_TIMEOUT_MS)
                page.wait_for_function("() => window.klFirstRender !== undefined", timeout=LOAD_TIMEOUT_MS)
                results["first_render_ms"] = page.evaluate("() => window.klFirstRender")

                # slider -> repaint, animation paused
                set_playing(page, False)
                rng = np.random.default_rng(0)
                latencies = []
                for value in np.round(rng.uniform(-5, 5, n_slider), 2):
                    latencies.append(js(page, SLIDER_JS, float(value)))
                results["slider_ms"] = latencies

                select(page, "Gradient estimator", "reparameterization")  # noisy: no run converges
                results["2 runs"] = animate(page, server, wire, window)
                set_playing(page, False)
                for name in ("JSD(p‖q)", "TV(p, q)"):
                    select(page, "Add a run of", name)
                    page.locator("button", has_text="+ Add run").click()
                n_runs = lambda: js(page, "() => klColumn(klNamed('dynamics-now'), 'mu').length")  # noqa: E731
                wait_until(lambda: n_runs() == 4, timeout=60, what="4 runs on screen")
                rss0 = psutil.Process(server.proc.pid).memory_info().rss
                results["4 runs"] = animate(page, server, wire, window)
                # keep animating for the memory figure (Play again whenever the runs stop)
                deadline = time.monotonic() + 60 * minutes - window
                while time.monotonic() < deadline:
                    set_playing(page, True)
                    page.wait_for_timeout(1000)
                results["rss_start_mb"] = rss0 / 2**20
                results["rss_end_mb"] = psutil.Process(server.proc.pid).memory_info().rss / 2**20
                results["minutes"] = minutes
                results["server_errors"] = server.errors()
                browser.close()
        finally:
            server.stop()
    return results


def table(r: dict) -> list[tuple]:
    s = r["slider_ms"]
    rows = [("page load -> first complete render", f"{r['first_render_ms']:.0f} ms", "—")]
    for label in ("2 runs", "4 runs"):
        a = r[label]
        rows += [
            (f"animating {label}: frames painted per second", f"{a['fps']:.1f}",
             "≥ 30 (4 runs)" if label == "4 runs" else "—"),
            (f"animating {label}: frames applied per second (PATCH-DOC msgs/s)",
             f"{a['applied']:.1f} ({a['messages_per_s']:.1f})", "app default 30"),
            (f"animating {label}: server CPU per frame", f"{a['cpu_per_frame']:.2f} ms", "≤ 3 ms"),
            (f"animating {label}: websocket bytes per frame", f"{a['bytes_per_frame']:.0f} B", "≤ 10 KB"),
        ]
    rows += [
        ("μ slider -> repainted: median", f"{statistics.median(s):.1f} ms", "—"),
        ("μ slider -> repainted: p95", f"{np.percentile(s, 95):.1f} ms", "≤ 50 ms"),
        (f"server RSS after {r['minutes']:g} min of animation (4 runs)",
         f"{r['rss_end_mb']:.0f} MB (+{r['rss_end_mb'] - r['rss_start_mb']:.0f} MB)", "no growth"),
    ]
    return rows


def render(rows, header: str) -> str:
    widths = [max(len(row[i]) for row in rows + [("measure", "value", "target")]) for i in range(3)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [header, "", line(("measure", "value", "target")), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(out + [line(row) for row in rows])


def write_readme(text: str) -> None:
    block = f"{START}\n{text}\n{END}"
    old = README.read_text() if README.exists() else "# Benchmarks\n\nFigures measured on this machine; each script prints its own table.\n"
    if START in old and END in old:
        new = old[:old.index(START)] + block + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n## UI (`bench_ui.py`)\n\n" + block + "\n"
    README.write_text(new)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0,
                        help="minutes of animation before the server's RSS is read (the issue asks --minutes 5)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds each fps/CPU/bytes figure averages over")
    parser.add_argument("--slider-steps", type=int, default=40, help="μ slider moves timed")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md alone")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("bench_ui: chromium is not installed (Debian package 'chromium')")
    load = os.getloadavg()[0]
    r = measure(args.minutes, args.window, args.slider_steps)
    header = (f"UI benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}, {platform.node()}: {os.cpu_count()} cores, "
              f"{psutil.virtual_memory().total / 2**30:.0f} GB, load average {load:.1f} at the start, "
              f"Python {platform.python_version()}, headless Chromium; "
              f"`bench_ui.py --minutes {args.minutes:g} --window {args.window:g}`. Animation with "
              "reparameterization gradients (no run converges); slider latency with the animation paused.")
    text = render(table(r), header)
    if r["server_errors"]:
        text += "\n\nServer log showed exceptions:\n" + "\n".join(r["server_errors"])
    print(text)
    if not args.no_write:
        write_readme(text)


if __name__ == "__main__":
    main()
