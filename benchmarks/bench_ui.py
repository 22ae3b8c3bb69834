"""UI benchmark: what a person's browser gets from the served app (headless Chromium, ``panel serve`` + API).

Measured against ``panel serve apps/kl_explorer.py --plugins klpanel.server.api`` on a free port, one page:

* time to first complete render: navigation start -> every section's models present, readouts painted,
  formulas typeset, both dynamics panels labelled (recorded in the page by a requestAnimationFrame hook);
* animating 2 runs (the default forward/reverse KL) and 4 runs (+ JSD, TV), with Monte-Carlo gradients
  (reparameterization, so no run converges and frames keep coming), then 4 runs with exact gradients (the default
  estimator) from a reset, the dynamics section scrolled into view:
  - frames delivered per second = updates of the landscape's ``dynamics-now`` source (the run positions) the
    page received and applied (all PATCH-DOC messages per second in brackets: Bokeh 3.10's server sends one
    message per changed model when a locked callback changes several);
  - frames painted per second = repaints of the landscape plot that show positions it had not painted yet
    (its view's ``repainted`` signal); the page's requestAnimationFrame rate in brackets;
  - server CPU per frame = CPU time of the server process in the window / frames delivered (in brackets: of its
    event-loop thread alone, without the background workers' spectrum curves and landscape grids);
  - websocket bytes per frame = bytes received on the websocket in the window / frames delivered;
* ``--sessions`` pages at once (default 10), each its own session animating 4 runs: delivered and painted frames
  per second in every page, counted concurrently (min and median), and the server's CPU per delivered frame;
* μ slider -> repaint latency (animation paused): set the slider in the page, time until the Explore plot has
  repainted with the new q column (the plot view's ``repainted`` signal; the readouts' HTML is replaced when the
  patch is applied, before that paint) and, for the breakdown, until the patch was applied; median and p95;
  websocket bytes per μ step. (Until session 3 the end was two animation frames after the frame in which the new
  column was first seen, which added one to two frames, ~20-35 ms, to every figure.)
* new target (the Spread slider, targets not seen before) -> the optimal-q plot repainted with its new columns;
  changes 1.5 s apart (the previous target's landscape and α curves still being computed), and back to back;
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

from pagetools import CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, AppServer, js, loop_thread_cpu, \
    show_every_section, wait_until  # noqa: E402

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- bench_ui:start -->", "<!-- bench_ui:end -->"

#: records, from navigation start, when the page is completely rendered (see the module docstring)
FIRST_RENDER_JS = """
(() => {
  const names = ['klpanel-optimal-plot', 'klpanel-explore-plot', 'dynamics-now', 'run-1-line-2'];
  const deep = (sel, root = document) => {
    if (root.querySelector(sel)) return true;
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot && deep(sel, el.shadowRoot)) return true;
    return false;
  };
  const complete = () => {
    if (!window.Bokeh || Bokeh.documents.length === 0) return false;
    const doc = Bokeh.documents[0];
    if (!names.every(n => doc.get_model_by_name(n))) return false;
    return deep('td.kl-readout') && deep('.katex') && doc.get_model_by_name('run-1-line-2').text !== '';
  };
  const firstScreen = () => {
    if (!window.Bokeh || Bokeh.documents.length === 0) return false;
    const doc = Bokeh.documents[0];
    return names.slice(0, 2).every(n => doc.get_model_by_name(n)) && deep('td.kl-readout');
  };
  const poll = () => {
    if (window.klFirstScreen === undefined && firstScreen()) window.klFirstScreen = performance.now();
    if (complete()) { window.klFirstRender = performance.now(); } else { requestAnimationFrame(poll); }
  };
  requestAnimationFrame(poll);
})();
"""

#: frames delivered (updates of the landscape's run positions applied in the page) and frames painted (repaints
#: of the landscape plot showing positions it had not painted yet), and the page's animation frames, for ``seconds``
FPS_JS = """(seconds) => new Promise(resolve => {
  const src = Bokeh.documents[0].get_model_by_name('dynamics-now');
  const fig = Bokeh.documents[0].get_model_by_name('dynamics-landscape');
  const view = [...Bokeh.index.query(v => v.model === fig)][0];
  let applied = 0, painted = 0, raf = 0, shown = src.data;
  src.connect(src.properties.data.change, () => applied++);
  const onPaint = () => { if (src.data !== shown) { shown = src.data; painted++; } };
  view.repainted.connect(onPaint);
  const t0 = performance.now();
  const frame = () => {
    raf++;
    if (performance.now() - t0 < seconds * 1000) { requestAnimationFrame(frame); }
    else { view.repainted.disconnect(onPaint); resolve({painted, applied, raf, seconds: (performance.now() - t0) / 1000}); }
  };
  requestAnimationFrame(frame);
})"""

#: sets a slider, resolves with the ms until the changed column of ``source`` has been applied in the page and until
#: ``plot`` has then been repainted (its view's ``repainted`` signal: BokehJS has drawn the new data on the canvas
#: in that animation frame, and the readouts' HTML, replaced when the patch was applied, is painted in the same frame)
SLIDER_JS = """async ([title, value, source_name, column, plot_name]) => {
  const slider = klTitled('Slider', title);
  const source = klNamed(source_name);
  const view = Bokeh.index.find_one(klNamed(plot_name));
  const col = () => source.data instanceof Map ? source.data.get(column) : source.data[column];
  const before = col();
  const r = {};
  let done, fail;
  const finished = new Promise((resolve, reject) => { done = resolve; fail = reject; });
  const onPaint = () => {
    if (r.applied === undefined && col() !== before) { r.applied = performance.now() - t0; }
    if (r.applied !== undefined) { r.painted = performance.now() - t0; done(); }
  };
  const onData = () => { if (r.applied === undefined && col() !== before) { r.applied = performance.now() - t0; } };
  view.repainted.connect(onPaint);
  source.change.connect(onData);
  source.properties.data.change.connect(onData);
  const timer = setTimeout(() => fail(new Error('no repaint within 30 s')), 30000);
  const t0 = performance.now();
  slider.value = value;
  slider.value_throttled = value;
  try { await finished; } finally {
    clearTimeout(timer);
    view.repainted.disconnect(onPaint);
    source.change.disconnect(onData);
    source.properties.data.change.disconnect(onData);
  }
  return r;
}"""


#: ms between two timed target changes: a person's next change, with the previous target's follow-up work (its
#: landscape, α curves) still under way
TARGET_GAP_MS = 1500

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
    """Choose the first option of the labelled select whose text contains ``option``."""
    box = page.locator(".bk-input-group", has=page.locator("label", has_text=label)).locator("select")
    texts = box.locator("option").all_inner_texts()
    box.select_option(label=next(t for t in texts if option in t))


def animate(page, server: AppServer, wire: Wire, seconds: float) -> dict:
    """Animate for ``seconds``; frames painted per second, server CPU and websocket bytes per frame."""
    proc = psutil.Process(server.proc.pid)
    set_playing(page, True)
    wait_until(lambda: js(page, "() => klColumn(klNamed('dynamics-now'), 'mu').length") > 0, what="runs on screen")
    cpu0, loop0, (b0, m0) = proc.cpu_times(), loop_thread_cpu(proc), wire.snapshot()
    counts = page.evaluate(FPS_JS, seconds)
    cpu1, loop1, (b1, m1) = proc.cpu_times(), loop_thread_cpu(proc), wire.snapshot()
    frames = max(counts["applied"], 1)  # frames of run positions the browser received and applied
    cpu_ms = 1e3 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
    return {"fps": counts["painted"] / counts["seconds"], "applied": counts["applied"] / counts["seconds"],
            "raf": counts["raf"] / counts["seconds"], "cpu_per_frame": cpu_ms / frames,
            "loop_cpu_per_frame": 1e3 * (loop1 - loop0) / frames,
            "bytes_per_frame": (b1 - b0) / frames, "messages_per_s": (m1 - m0) / counts["seconds"]}


def timed_steps(page, wire: Wire, title: str, values, source: str, column: str, plot: str, gap_ms: int = 80) -> dict:
    """Move a slider to each value in turn, ``gap_ms`` after the previous repaint: ms until the change was applied
    and repainted, websocket bytes received per move (in the gap)."""
    out = {"painted": [], "applied": [], "bytes": []}
    for value in values:
        b0 = wire.snapshot()[0]
        r = js(page, SLIDER_JS, [title, float(value), source, column, plot])
        out["painted"].append(r["painted"])
        out["applied"].append(r["applied"])
        page.wait_for_timeout(gap_ms)  # >= 80: the URL/location update that follows a change arrives too
        out["bytes"].append(wire.snapshot()[0] - b0)
    return out


SESSION_APP = """
import panel as pn
from klpanel import KLExplorer
pn.extension("katex", notifications=True)
app = KLExplorer()
for name in ("jsd", "tv"):
    app.dynamics.model.add_run(name)
app.dynamics.model.estimator = "reparameterization"   # noisy runs never converge: frames keep coming
app.servable()
"""


def sessions(n: int, window: float) -> dict:
    """``n`` pages of the full app at once, each animating 4 runs (its own session): frames delivered and painted
    per second in each page, counted concurrently over ``window`` seconds, and the server's CPU per frame."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "bench_sessions.py"
        app.write_text(SESSION_APP)
        server = AppServer(Path(tmp) / "server.log", app=app)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = []
                for _ in range(n):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.goto(server.app_url, timeout=LOAD_TIMEOUT_MS)
                    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                                           "Bokeh.documents[0].get_model_by_name('dynamics-landscape')",
                                           timeout=LOAD_TIMEOUT_MS)
                    pages.append(page)
                for page in pages:  # as a person watching it would (10 busy pages may not answer within 30 s)
                    page.evaluate("() => { const s = [...document.querySelectorAll('*')].find(e => e.shadowRoot"
                                  " && e.shadowRoot.querySelector('.kl-dynamics-status')); if (s) s.scrollIntoView(); }")
                time.sleep(5.0)
                proc = psutil.Process(server.proc.pid)
                cpu0 = proc.cpu_times()
                handles = [page.evaluate_handle(FPS_JS, window) for page in pages]  # all count at once
                counts = [h.json_value() for h in handles]
                cpu1 = proc.cpu_times()
                browser.close()
        finally:
            server.stop()
        errors = server.errors()
    frames = sum(c["applied"] for c in counts) or 1
    return {"delivered": [c["applied"] / c["seconds"] for c in counts],
            "painted": [c["painted"] / c["seconds"] for c in counts],
            "cpu_per_frame": 1e3 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / frames,
            "errors": errors}


def settled(server: AppServer, timeout: float = 90.0) -> float:
    """Wait until the server is idle (under 5 % of a core over 0.5 s, twice in a row): the page's follow-up work
    after a load (the spectrum's curves, computed in the background once their section is shown) is done, so that
    the latencies timed next are the page's own, not a share of that start-up. Returns the seconds waited."""
    proc, start, quiet = psutil.Process(server.proc.pid), time.monotonic(), 0
    while quiet < 2 and time.monotonic() - start < timeout:
        quiet = quiet + 1 if proc.cpu_percent(interval=0.5) < 5 else 0
    return time.monotonic() - start


def load_page(page, server: AppServer) -> tuple[float, float]:
    """Open the page: ms from navigation start to the first screen (section 1 and Explore drawn, readouts painted),
    and to every section drawn once the page is scrolled through (sections below the first screen arrive when
    scrolled near, as a reader's scroll brings them)."""
    page.goto(server.app_url, timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function("() => window.klFirstScreen !== undefined", timeout=LOAD_TIMEOUT_MS)
    show_every_section(page)
    page.wait_for_function("() => window.klFirstRender !== undefined", timeout=LOAD_TIMEOUT_MS)
    return page.evaluate("() => window.klFirstScreen"), page.evaluate("() => window.klFirstRender")


def measure_narrow(n_slider: int) -> dict:
    """The page at a phone's width (390 px): load times and the μ slider's latency."""
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = AppServer(Path(tmp) / "server.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                warm = browser.new_page(viewport={"width": 390, "height": 844})  # a warm server, as at 1400 px
                warm.add_init_script(FIRST_RENDER_JS)
                load_page(warm, server)
                warm.close()
                page = browser.new_page(viewport={"width": 390, "height": 844})
                page.set_default_timeout(60_000)
                page.add_init_script(FIRST_RENDER_JS)
                wire = Wire(page)
                results["first_screen_ms"], results["first_render_ms"] = load_page(page, server)
                set_playing(page, False)
                settled(server)
                values = -5 + 0.05 * ((np.arange(n_slider) * 37 + 11) % 200 + 1)
                page.locator(".kl-readout").first.scroll_into_view_if_needed()
                results["slider"] = timed_steps(page, wire, "μ (mean of q)", np.round(values, 2),
                                                "klpanel-explore-curves", "q", "klpanel-explore-plot")
                browser.close()
        finally:
            server.stop()
    return results


def measure(minutes: float, window: float, n_slider: int, n_targets: int) -> dict:
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = AppServer(Path(tmp) / "server.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                warm = browser.new_page(viewport={"width": 1400, "height": 1000})  # the figure: a warm server
                warm.add_init_script(FIRST_RENDER_JS)
                results["cold_first_screen_ms"], results["cold_first_render_ms"] = load_page(warm, server)
                warm.close()
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                page.add_init_script(FIRST_RENDER_JS)
                wire = Wire(page)
                results["first_screen_ms"], results["first_render_ms"] = load_page(page, server)

                # slider -> repaint and new target -> repaint, animation paused, with the plot that answers on
                # screen (as for a person moving the slider; load_page left the page scrolled to its end)
                set_playing(page, False)
                settled(server)
                values = -5 + 0.05 * ((np.arange(n_slider) * 37 + 11) % 200 + 1)  # on the 0.05 grid, all differ
                page.locator(".kl-readout").first.scroll_into_view_if_needed()
                results["slider"] = timed_steps(page, wire, "μ (mean of q)", np.round(values, 2),
                                                "klpanel-explore-curves", "q", "klpanel-explore-plot")
                # new targets (optima not cached), TARGET_GAP_MS apart (the page's follow-up work for the previous
                # one, landscape and α curves, still running), then back to back (80 ms apart)
                spreads = np.round(np.linspace(1.6, 4.9, n_targets), 1)
                page.evaluate("() => window.scrollTo(0, 0)")  # the optimal-q plot (section 1) on screen
                results["target"] = timed_steps(page, wire, "Spread", spreads, "klpanel-optimal-curves", "p",
                                                "klpanel-optimal-plot", gap_ms=TARGET_GAP_MS)
                spreads = np.round(np.linspace(1.65, 4.85, n_targets), 2)
                results["target_burst"] = timed_steps(page, wire, "Spread", spreads, "klpanel-optimal-curves", "p",
                                                      "klpanel-optimal-plot")
                page.locator(".kl-dynamics-status").first.scroll_into_view_if_needed()  # the section on screen

                select(page, "Gradient estimator", "reparameterization")  # noisy: no run converges
                results["2 runs"] = animate(page, server, wire, window)
                set_playing(page, False)
                n_runs = lambda: js(page, "() => klColumn(klNamed('dynamics-now'), 'mu').length")  # noqa: E731
                for n, name in enumerate(("JSD(p‖q)", "TV(p, q)"), start=3):
                    select(page, "Add a run of", name)
                    page.wait_for_timeout(500)  # the choice reaches the server before the button press
                    page.locator("button", has_text="+ Add run").click()
                    wait_until(lambda: n_runs() == n, timeout=60, what=f"{n} runs on screen")
                rss0 = psutil.Process(server.proc.pid).memory_info().rss
                results["4 runs"] = animate(page, server, wire, window)
                # the default estimator (exact gradients) from a reset: the runs move for the whole window
                set_playing(page, False)
                select(page, "Gradient estimator", "exact")
                page.wait_for_timeout(500)
                page.locator("button", has_text="Reset").first.click()
                page.wait_for_timeout(500)
                results["4 runs, exact"] = animate(page, server, wire, window)
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
    s, t = r["slider"], r["target"]
    pct = lambda xs: f"{statistics.median(xs):.1f} / {np.percentile(xs, 95):.1f} ms"  # noqa: E731
    rows = [("first visitor after start, 1400 px: first screen / every section drawn (scrolled through)",
             f"{r['cold_first_screen_ms']:.0f} / {r['cold_first_render_ms']:.0f} ms", "—"),
            ("warm server, 1400 px: first screen / every section drawn (scrolled through)",
             f"{r['first_screen_ms']:.0f} / {r['first_render_ms']:.0f} ms", "≤ 2000 ms")]
    if "narrow" in r:
        n = r["narrow"]
        rows += [("warm server, 390 px: first screen / every section drawn (scrolled through)",
                  f"{n['first_screen_ms']:.0f} / {n['first_render_ms']:.0f} ms", "≤ 2000 ms"),
                 ("390 px: μ slider -> repainted: median / p95", pct(n["slider"]["painted"]), "p95 ≤ 50 ms")]
    for label in ("2 runs", "4 runs", "4 runs, exact"):
        a = r[label]
        four = label.startswith("4 runs")
        rows += [
            (f"animating {label}: frames delivered per second (PATCH-DOC msgs/s)",
             f"{a['applied']:.1f} ({a['messages_per_s']:.1f})", "≥ 30" if four else "—"),
            # the target is frames delivered; painted is what this page's compositor shows of them
            (f"animating {label}: frames painted per second (page rAF/s)", f"{a['fps']:.1f} ({a['raf']:.0f})", "—"),
            (f"animating {label}: server CPU per frame: all threads (event-loop thread)",
             f"{a['cpu_per_frame']:.2f} ({a['loop_cpu_per_frame']:.2f}) ms", "≤ 3 ms"),
            (f"animating {label}: websocket bytes per frame", f"{a['bytes_per_frame']:.0f} B", "≤ 10 KB"),
        ]
    if "sessions" in r:
        m = r["sessions"]
        n = len(m["delivered"])
        rows += [
            (f"{n} sessions animating 4 runs: frames delivered per second, min / median",
             f"{min(m['delivered']):.1f} / {statistics.median(m['delivered']):.1f}", "each ≥ 20"),
            (f"{n} sessions animating 4 runs: frames painted per second, min / median",
             f"{min(m['painted']):.1f} / {statistics.median(m['painted']):.1f}", "each ≥ 20"),
            (f"{n} sessions animating 4 runs: server CPU per frame", f"{m['cpu_per_frame']:.2f} ms", "≤ 3 ms"),
        ]
    rows += [
        ("μ slider -> repainted: median / p95", pct(s["painted"]), "p95 ≤ 50 ms"),
        ("μ slider -> patch applied in the page: median / p95", pct(s["applied"]), "—"),
        ("websocket bytes per μ step: median / max",
         f"{statistics.median(s['bytes']):.0f} / {max(s['bytes']):.0f} B", "≤ 20 KB"),
        (f"new target (spread), {TARGET_GAP_MS / 1000:g} s apart -> optima repainted: median / p95", pct(t["painted"]),
         "p95 ≤ 150 ms"),
        ("new target (spread) -> patch applied in the page: median / p95", pct(t["applied"]), "—"),
        ("new targets back to back (80 ms apart) -> optima repainted: median / p95",
         pct(r["target_burst"]["painted"]), "—"),
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
    parser.add_argument("--targets", type=int, default=12, help="target changes (spread slider) timed")
    parser.add_argument("--sessions", type=int, default=10, help="pages animating at once (0: skip)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md alone")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("bench_ui: chromium is not installed (Debian package 'chromium')")
    load = os.getloadavg()[0]
    r = measure(args.minutes, args.window, args.slider_steps, args.targets)
    r["narrow"] = measure_narrow(args.slider_steps)
    print(render(table(r), "one page:"), flush=True)  # before the sessions' figures, which take minutes
    if args.sessions:
        r["sessions"] = sessions(args.sessions, args.window)
        r["server_errors"] += r["sessions"]["errors"]
    header = (f"UI benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}, {platform.node()}: {os.cpu_count()} cores, "
              f"{psutil.virtual_memory().total / 2**30:.0f} GB, load average {load:.1f} at the start, "
              f"Python {platform.python_version()}, headless Chromium; "
              f"`bench_ui.py --minutes {args.minutes:g} --window {args.window:g} --sessions {args.sessions}`. "
              "Animation with reparameterization gradients (no run converges) unless \"exact\" (the default estimator, "
              "measured from a reset), the dynamics section scrolled into view; delivered = updates of the run positions applied in the page, painted = landscape repaints "
              "showing new positions; slider and target latency with the animation paused, once the server is idle "
              "after the page load (its background start-up work, the spectrum's curves, done).")
    text = render(table(r), header)
    if r["server_errors"]:
        text += "\n\nServer log showed exceptions:\n" + "\n".join(r["server_errors"])
    print(text)
    if not args.no_write:
        write_readme(text)


if __name__ == "__main__":
    main()
