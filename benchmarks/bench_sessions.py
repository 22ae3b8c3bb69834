"""What a new visitor costs (issue 21): the server's time to create a session, the first request after a start, the
time to interactive in Chromium, and new sessions sustained beside animating ones. Prints each figure beside its
target, with the load average (the machine is shared: compare checkouts alternately, not one run with another day's).

    .venv/bin/python benchmarks/bench_sessions.py                           # every part, this checkout
    .venv/bin/python benchmarks/bench_sessions.py --root /tmp/work/base     # another checkout, same venv
    .venv/bin/python benchmarks/bench_sessions.py --parts profile,requests  # some parts

Parts:
* ``profile`` (a subprocess on the checkout, no server): per section the Python build, ``get_root``, ``to_json``
  and its Bokeh models; the same for the first screen a served visitor receives.
* ``requests``: 50 sequential ``GET /kl_explorer`` (each creates a session: the app runs), then 20 at once.
* ``visitors``: 20 browser-less visitors one after another: GET, websocket, pull the document (the server
  serialises it), ``document_ready`` (the page's onload work); server CPU per visitor, with and without reading
  the whole page (every section placeholder reported in view).
* ``first``: fresh servers: start to ready (``/api/health`` 200), then the first GET.
* ``tti``: Chromium at 1400 and 390 px, a fresh context per load: section 1 drawn and the μ slider answering
  (a readout changed), from navigation start; the server's CPU per load, unscrolled (the sections within reach
  of the first screen load too: what a real visitor who does not scroll costs).
* ``sustain``: 10 sessions animating the dynamics section (``bench_load.Session``) while new browser-less visitors
  arrive at 6 a second for 30 s, each on its own (open loop): visits completed a second (target 6), each visit's time
  from its arrival to its page's ready round trip, the animations' frames per second.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_load import Session, load_panel_models  # noqa: E402

PARTS = ("profile", "requests", "visitors", "first", "tti", "sustain")
MU = "μ (mean of q)"


def root_pagetools(root: Path):
    """The checkout's own test helpers (its ``AppServer`` knows its app, setup and plugins), under a private name."""
    spec = importlib.util.spec_from_file_location(f"pagetools_{abs(hash(str(root)))}", root / "tests/ui/pagetools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else float("nan")


def row(what, value, target=""):
    print(f"  {what:<62} {value:>22}  {target}")


def cpu(proc) -> float:
    t = proc.cpu_times()
    return t.user + t.system


# -- a browser-less visitor ------------------------------------------------------------------------------------------
PLACEHOLDER_ID = re.compile(r'"name": "Placeholder\d*", "id": "([^"]+)"')  # a section placeholder in Bokeh's JSON


class _Stub:
    """What Bokeh's ClientConnection asks of its session: a token, a patch handler (patches are timed, not applied:
    the visitor never deserialises the page, so its own CPU stays off the server's two cores). With ``report`` set,
    each section placeholder that arrives in a patch is reported in view (a section after one still waiting joins
    the page when that one is shown, as the reader scrolls on)."""

    def __init__(self, token):
        self.token, self.patches, self.report, self.reported = token, [], None, set()
        self.last_report = time.perf_counter()

    def _handle_patch(self, message):
        self.patches.append(time.perf_counter())
        if self.report is not None:
            ids = self.unreported(json.dumps(message.content))
            if ids:
                self.report(ids)

    def unreported(self, text: str) -> list:
        """The placeholders in ``text`` not reported yet (now counted as reported)."""
        ids = [i for i in dict.fromkeys(PLACEHOLDER_ID.findall(text)) if i not in self.reported]
        self.reported.update(ids)
        if ids:
            self.last_report = time.perf_counter()
        return ids

    def _notify_disconnected(self):
        pass


def _shown(ids) -> list:
    """The browser's reports that placeholders ``ids`` came into view."""
    return [{"kind": "ModelChanged", "model": {"id": i}, "attr": "shown", "new": True} for i in ids]


def _ready_event() -> dict:
    from bokeh.document import Document
    from bokeh.document.events import MessageSentEvent
    from bokeh.events import DocumentReady
    from bokeh.protocol import Protocol
    return Protocol().create("PATCH-DOC", [MessageSentEvent(Document(), "bokeh_event", DocumentReady())]).content


def visit(app_url: str, http: requests.Session, read_all: bool = False, linger: float = 0.3) -> dict:
    """One visitor: GET the page, open its websocket, pull the document, send ``document_ready``; with
    ``read_all`` report every section placeholder in view and take the sections. Wall times in ms."""
    import asyncio

    from bokeh.client.connection import ClientConnection
    from bokeh.protocol import Protocol
    from bokeh.protocol.messages.patch_doc import patch_doc
    from tornado.ioloop import IOLoop
    asyncio.set_event_loop(asyncio.new_event_loop())
    out = {}
    t0 = time.perf_counter()
    page = http.get(app_url, timeout=120)
    page.raise_for_status()
    out["get"] = (time.perf_counter() - t0) * 1e3
    stub = _Stub(re.search(r'"token":\s*"([^"]+)"', page.text).group(1))
    loop = IOLoop.current()
    conn = ClientConnection(stub, app_url.replace("http", "ws", 1) + "/ws", io_loop=loop)
    try:
        conn.connect()
        t1 = time.perf_counter()
        reply = conn._send_message_wait_for_reply(Protocol().create("PULL-DOC-REQ"))
        out["pull"] = (time.perf_counter() - t1) * 1e3
        refs = reply.content["doc"]
        text = json.dumps(refs)
        out["models"] = text.count('"type": "object"') + text.count('"type":"object"')
        events = _ready_event()["events"]
        if read_all:
            events += _shown(stub.unreported(text))
            stub.report = lambda ids: loop.add_callback(
                conn.send_message, patch_doc(patch_doc.create_header(), {}, {"events": _shown(ids)}))
        t2 = stub.last_report = time.perf_counter()
        loop.add_callback(conn.send_message, patch_doc(patch_doc.create_header(), {}, {"events": events}))
        conn.request_server_info()  # a round trip: the server has handled the ready event (and the reports)
        out["ready"] = (time.perf_counter() - t2) * 1e3

        def stop_when_quiet():  # ``linger`` after the last report (the sections further down arrive one by one)
            wait = stub.last_report + linger - time.perf_counter()
            loop.call_later(wait, stop_when_quiet) if wait > 0 else loop.stop()
        loop.call_later(linger, stop_when_quiet)
        conn._loop_until(lambda: False)
        out["sections"] = len(stub.reported)
        out["first_patch"] = (stub.patches[0] - t2) * 1e3 if stub.patches else float("nan")
    finally:
        conn.close()
    out["total"] = (time.perf_counter() - t0) * 1e3
    return out


# -- the parts ---------------------------------------------------------------------------------------------------------
def profile(root: Path) -> None:
    out = subprocess.run([sys.executable, __file__, "--profile-worker", str(root)], cwd=root, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(root)})
    if out.returncode:
        print(out.stderr[-3000:])
        return
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nprofile (in process, medians of {rows.pop('_repeats')}; ms)")
    print(f"  {'part':<28} {'build':>7} {'get_root':>9} {'to_json':>8} {'models':>7}")
    for name, r in rows.items():
        print(f"  {name:<28} {r['build']:7.0f} {r['get_root']:9.0f} {r['to_json']:8.0f} {r['models']:7d}")


def profile_worker(root: Path, repeats: int = 5) -> None:
    sys.path.insert(0, str(root))
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    import klpanel.views.app as app_module
    pn.extension("katex")
    app_module.KLExplorer()  # first use: imports, numba, caches

    class Request:
        arguments, cookies, headers = {}, {}, {}

    class Context:
        server_context, id, request = None, "profile", Request()

    def measure(make):
        times = {"build": [], "get_root": [], "to_json": []}
        for _ in range(repeats):
            doc = Document()
            doc._session_context = lambda: Context()  # a served session's document (served_doc() is not None)
            with set_curdoc(doc):
                t = time.perf_counter()
                viewable = make()
                times["build"].append(time.perf_counter() - t)
                t = time.perf_counter()
                if hasattr(viewable, "server_doc"):  # a template: its roots, as the served page adds them
                    viewable.server_doc(doc)
                else:
                    doc.add_root(pn.panel(viewable).get_root(doc))
                times["get_root"].append(time.perf_counter() - t)
                t = time.perf_counter()
                doc.to_json()
                times["to_json"].append(time.perf_counter() - t)
        return {**{k: 1e3 * statistics.median(v) for k, v in times.items()}, "models": len(doc.models)}

    Explorer = app_module.Explorer
    rows = {name: measure(lambda cls=cls: cls(explorer=Explorer())) for name, cls in app_module.SECTIONS.items()}
    rows["whole page (served)"] = measure(lambda: app_module.KLExplorer().template())
    rows["_repeats"] = repeats
    print(json.dumps(rows))


def sequential_and_concurrent(server, n: int = 50, at_once: int = 20) -> None:
    proc = psutil.Process(server.proc.pid)
    http = requests.Session()
    for _ in range(3):
        http.get(server.app_url, timeout=120)  # warm: first-use costs are the "first" part's
    c0 = cpu(proc)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        http.get(server.app_url, timeout=120).raise_for_status()
        times.append((time.perf_counter() - t) * 1e3)
    per = (cpu(proc) - c0) / n * 1e3
    print(f"\nrequests: GET /kl_explorer (a new session each)")
    row(f"{n} sequential: median / p95 ms", f"{statistics.median(times):.0f} / {pct(times, 95):.0f}",
        "target ≤ 150 / ≤ 250")
    row("  server CPU per request ms", f"{per:.0f}")

    def one(_):
        t = time.perf_counter()
        requests.get(server.app_url, timeout=300).raise_for_status()
        return (time.perf_counter() - t) * 1e3
    c0 = cpu(proc)
    with ThreadPoolExecutor(at_once) as pool:
        t = time.perf_counter()
        times = list(pool.map(one, range(at_once)))
        wall = time.perf_counter() - t
    row(f"{at_once} at once: median / p95 ms", f"{statistics.median(times):.0f} / {pct(times, 95):.0f}",
        "target ≤ 150 / ≤ 250")
    row("  all answered in s; server CPU per request ms", f"{wall:.1f}; {(cpu(proc) - c0) / at_once * 1e3:.0f}")


def visitors(server, n: int = 20) -> None:
    proc = psutil.Process(server.proc.pid)
    http = requests.Session()
    visit(server.app_url, http)
    print("\nvisitors, one after another (ms; server CPU per visitor from the process's CPU time)")
    for read_all in (False, True):
        c0 = cpu(proc)
        rows = [visit(server.app_url, http, read_all=read_all, linger=1.5 if read_all else 0.3) for _ in range(n)]
        per = (cpu(proc) - c0) / n * 1e3
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        patched = [r["first_patch"] for r in rows if r["first_patch"] == r["first_patch"]]
        first_patch = f"{statistics.median(patched):.0f}" if patched else "none"
        what = "reading the whole page" if read_all else "first screen"
        row(f"{what}: GET / pull / ready round trip / first patch", f"{med['get']:.0f} / {med['pull']:.0f} / "
            f"{med['ready']:.0f} / {first_patch}")
        row("  models pulled; sections reported in view; server CPU per visitor ms",
            f"{med['models']:.0f}; {med['sections']:.0f}; {per:.0f}")


def first_request(pagetools, artifacts: Path, starts: int = 3, env=None) -> None:
    print("\nfirst request after a server start" + (" (empty numba cache)" if env else ""))
    for i in range(starts):
        t = time.perf_counter()
        server = pagetools.AppServer(artifacts / f"bench-sessions-first-{i}.log", env=env)
        up = time.perf_counter() - t
        try:
            t = time.perf_counter()
            requests.get(server.app_url, timeout=300).raise_for_status()
            first = time.perf_counter() - t
        finally:
            server.stop()
        row(f"start {i + 1}: start to ready s; first GET s", f"{up:.1f}; {first:.2f}", "target first GET ≤ 2 s")


TTI_JS = """async (muTitle) => {
  const deadline = performance.now() + 120000;
  const frame = () => { if (performance.now() > deadline) throw new Error('no answer in 120 s');
                        return new Promise(r => requestAnimationFrame(r)); };
  const models = () => [...Bokeh.documents[0]._all_models.values()];
  const found = (test) => window.Bokeh && Bokeh.documents.length ? models().find(test) : undefined;
  let plot, view;
  while (!((plot = found(m => m.name === 'klpanel-optimal-plot')) && (view = Bokeh.index.find_one(plot))
           && view.has_finished())) await frame();
  const drawn = performance.now();
  let readouts, slider;
  while (!((readouts = found(m => (m.css_classes || []).includes('klpanel-readouts')))
           && (slider = found(m => m.type === 'Slider' && m.title === muTitle)))) await frame();
  const before = readouts.text;
  slider.value = -1.5; slider.value_throttled = -1.5;
  while (readouts.text === before) await frame();
  await frame();
  return {drawn, answered: performance.now()};
}"""


SETTLE_MS = 1500  # after the μ slider answered: the sections within reach of the unscrolled page have loaded


def tti(server, pagetools, loads: int = 5) -> None:
    from playwright.sync_api import sync_playwright
    proc = psutil.Process(server.proc.pid)
    print(f"\ntime to interactive in Chromium (median of {loads} loads, a fresh context each; ms from navigation)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=pagetools.CHROMIUM, args=pagetools.CHROMIUM_ARGS)
        try:
            for width, height in ((1400, 1000), (390, 844)):
                drawn, answered, used, fetched = [], [], [], []
                for _ in range(loads + 1):  # the first load warms the server's and the browser's first-use paths
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    finished = []
                    page.on("requestfinished", lambda request: finished.append(request))
                    c0 = cpu(proc)
                    page.goto(server.app_url, wait_until="commit", timeout=120_000)
                    result = page.evaluate(TTI_JS, MU)
                    page.wait_for_timeout(SETTLE_MS)  # what the page asks for unscrolled (a section in reach) arrives
                    used.append((cpu(proc) - c0) * 1e3)
                    fetched.append(sum(max(r.sizes()["responseBodySize"], 0) for r in finished
                                       if r.url.startswith(server.url)))
                    context.close()
                    drawn.append(result["drawn"])
                    answered.append(result["answered"])
                drawn, answered, used, fetched = drawn[1:], answered[1:], used[1:], fetched[1:]
                row(f"{width} px: section 1 drawn / μ answering", f"{statistics.median(drawn):.0f} / "
                    f"{statistics.median(answered):.0f}", "target ≤ 1500 (μ answering)")
                row(f"  server CPU per load, unscrolled (to {SETTLE_MS / 1e3:g} s after μ answered): median (mean) ms",
                    f"{statistics.median(used):.0f} ({statistics.mean(used):.0f})", "(title: ≤ 200)")
                row("  fetched from the server per load (page, scripts, styles; websocket excluded) MB",
                    f"{statistics.median(fetched) / 1e6:.2f}")
        finally:
            browser.close()


def sustain(server, rate: float = 6.0, seconds: float = 30.0, animators: int = 10, most_at_once: int = 12) -> None:
    """New visitors arriving at ``rate`` a second, each on its own (open loop: a visit starts on time whether or not
    the ones before it are done, as independent visitors do; at most ``most_at_once`` in flight) while ``animators``
    sessions animate: whether the server keeps up (visits completed a second, each visit's time from its arrival to
    its page's ready round trip) and the animations' frame rate."""
    proc = psutil.Process(server.proc.pid)
    sessions = [Session(server.app_url, time.monotonic() + 3600) for _ in range(animators)]
    for s in sessions:  # one after another, as bench_load does
        s.start()
        started = time.monotonic()
        while s.ready_at is None and s.error is None and s.is_alive() and time.monotonic() - started < 300:
            time.sleep(0.1)
    time.sleep(2.0)
    start = time.monotonic()
    stop = start + seconds
    for s in sessions:
        s.until = stop + 1.0
    done, lock, local = [], threading.Lock(), threading.local()

    def one(due):
        http = getattr(local, "http", None) or requests.Session()
        local.http = http
        try:
            r = visit(server.app_url, http, linger=0.1)
        except Exception as exc:  # counted as a failed visit
            r = {"error": repr(exc)}
        r["late"] = (time.monotonic() - due) * 1e3  # from its arrival to its page's ready round trip (and linger)
        with lock:
            done.append((time.monotonic(), r))
    c0 = cpu(proc) + sum(cpu(c) for c in proc.children(recursive=True))
    with ThreadPoolExecutor(most_at_once) as pool:
        arrivals = 0
        while (due := start + arrivals / rate) < stop:
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(one, due)
            arrivals += 1
        used = cpu(proc) + sum(cpu(c) for c in proc.children(recursive=True)) - c0
    for s in sessions:
        s.join(timeout=120)
    ok = [r for t, r in done if "error" not in r]
    failed = [r["error"] for t, r in done if "error" in r]
    in_time = [r for t, r in done if "error" not in r and t <= stop + 1.0]
    fps = [sum(start <= f < stop for f in s.frames) / seconds for s in sessions]
    print(f"\nsustained: new visitors arriving at {rate:g} a second for {seconds:.0f} s (open loop) beside {animators} "
          "animating sessions")
    row("visits arrived; completed within 1 s of the end, per s", f"{arrivals}; {len(in_time) / seconds:.1f}",
        f"target ≥ {rate:g}")
    if ok:
        row("visit from arrival to ready: median / p95 ms; failed", f"{statistics.median(r['late'] for r in ok):.0f} / "
            f"{pct([r['late'] for r in ok], 95):.0f}; {len(failed)}")
    if failed:
        print(f"  first failure: {failed[0][:300]}")
    row("animations fps: mean (min)", f"{statistics.mean(fps):.1f} ({min(fps):.1f})", "target ≥ 20 each")
    row("server CPU, % of a core (all its processes)", f"{100 * used / seconds:.0f}")
    errors = [s.error for s in sessions if s.error]
    if errors:
        print("  animating session errors:", errors)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE.parent, help="the checkout to serve")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    parser.add_argument("--empty-numba-cache", action="store_true", help="the 'first' part with no numba cache")
    parser.add_argument("--server-args", default="", help="further `panel serve` flags for the served parts (A/B)")
    parser.add_argument("--loads", type=int, default=5, help="Chromium loads per width in the 'tti' part (the CPU "
                        "per load is read in 10 ms ticks: more loads for an A/B)")
    parser.add_argument("--profile-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile_worker:
        profile_worker(args.profile_worker)
        return 0
    sys.stdout.reconfigure(line_buffering=True)  # each figure as soon as it is measured
    root = args.root.resolve()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    load = os.getloadavg()
    print(f"bench_sessions: {root} ({subprocess.run(['git', 'log', '--oneline', '-1'], cwd=root, capture_output=True, text=True).stdout.strip()}); "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    pagetools = root_pagetools(root)
    artifacts = HERE.parent / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    load_panel_models()
    if "profile" in parts:
        profile(root)
    if "first" in parts:
        env = None
        if args.empty_numba_cache:
            import tempfile
            env = {"NUMBA_CACHE_DIR": tempfile.mkdtemp(prefix="numba-empty-")}
        first_request(pagetools, artifacts, env=env)
    served = [p for p in parts if p in ("requests", "visitors", "tti", "sustain")]
    for part in served:  # a fresh server per part: one part's sessions do not weigh on the next
        server = pagetools.AppServer(artifacts / f"bench-sessions-{part}.log", env={"KLPANEL_AUTOPLAY": "1"},
                                     extra_args=args.server_args.split())
        try:
            {"requests": sequential_and_concurrent, "visitors": visitors, "sustain": sustain,
             "tti": lambda s: tti(s, pagetools, loads=args.loads)}[part](server)
        finally:
            server.stop()
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
