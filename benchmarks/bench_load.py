"""Bounded loopback load test: N browser-less websocket sessions animate the dynamics section while API clients
ask for evaluations and landscapes. Prints frames per second per session, API latency p50/p99 per endpoint,
and errors (must be 0; the exit status is 1 otherwise). Stops by itself.

    .venv/bin/python benchmarks/bench_load.py                       # 10 sessions, 2 API clients, 60 s
    .venv/bin/python benchmarks/bench_load.py --sessions 4 --seconds 20 --app dynamics   # a quick look

A session is Bokeh's Python client (``bokeh.client.pull_session``) on the served app: it pulls the document
over the websocket and sends the ``document_ready`` event a browser sends, so the page's ``pn.state.onload``
starts the dynamics callback; every PATCH-DOC the server pushes is then applied to the client's copy, and
those that move the runs (change the ``dynamics-now`` source) are counted as frames. The server's CPU per
frame is its CPU time over the window divided by all sessions' frames. The server runs ``panel serve`` with
the API and ``klpanel.server.admin`` plugins on a free
loopback port, and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
sys.path.insert(0, str(ROOT))
from reltools import ADMIN_ARGS, ARTIFACTS, AppServer, loop_thread_cpu, status  # noqa: E402

APPS = {"full": ROOT / "apps" / "kl_explorer.py", "dynamics": ROOT / "tests" / "reliability" / "dynamics_page.py",
        "four": ROOT / "tests" / "reliability" / "four_runs_page.py"}


def load_panel_models() -> None:
    """Register every Panel Bokeh model and klpanel's own components' data models, so that the Python client can
    deserialize the page's document."""
    import panel.models
    for module in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{module.name}")
        except Exception:  # an optional model whose dependency is missing: not in our page
            pass
    import klpanel.views.lazy  # noqa: F401  (the section placeholders)


def placeholders(document) -> list:
    """The section placeholders in a client's copy of the page (klpanel.views.lazy)."""
    return [m for m in document.models if getattr(m, "class_name", None) == "Placeholder"]


def show_sections(session, until: float) -> None:
    """Report every section placeholder as in view, as a browser does when the page is scrolled through (each one
    that joins the page too: a section after one still waiting joins when that one is shown), and wait until the
    sections have replaced them (or ``until``)."""
    def unreported():
        return [p for p in placeholders(session.document) if not p.data.shown]
    # in slices of 50 messages, as Session.run loops: Bokeh's client handles each message one call deeper
    while time.monotonic() < until and placeholders(session.document):
        for placeholder in unreported():
            placeholder.data.shown = True
        budget = iter(range(50))
        session._connection._loop_until(lambda: time.monotonic() >= until or not placeholders(session.document)
                                        or bool(unreported()) or next(budget, None) is None)


PLAY_LABELS = ("Play", "Pause")


class Session(threading.Thread):
    """One websocket session in its own thread and event loop; ``frames`` holds the arrival time of every
    document patch the server sent after the page was ready. With ``replay`` the session presses Play again
    whenever the animation has stopped (every run converged: ~40 s at 30 fps), as a user would, so that it
    animates for the whole measurement."""

    def __init__(self, url: str, until: float, replay: bool = True):
        super().__init__(daemon=True)
        self.url, self.until, self.replay = url, until, replay
        self.frames: list[float] = []
        self.ready_at: float | None = None
        self.error: str | None = None
        self.replays = 0

    def run(self):
        from bokeh.client import pull_session
        from bokeh.events import DocumentReady
        from tornado.ioloop import IOLoop, PeriodicCallback
        asyncio.set_event_loop(asyncio.new_event_loop())
        loop = IOLoop.current()
        try:
            session = pull_session(url=self.url, io_loop=loop)
            show_sections(session, time.monotonic() + 120)
            handle = session._handle_patch

            play = next((m for m in session.document.models
                         if type(m).__name__ == "Toggle" and m.label in PLAY_LABELS), None)
            now = session.document.get_model_by_name("dynamics-now")

            def counted(message):
                events = message.content.get("events", []) if isinstance(message.content, dict) else []
                if now is None or any(e.get("model", {}).get("id") == now.id for e in events
                                      if isinstance(e, dict) and isinstance(e.get("model"), dict)):
                    self.frames.append(time.monotonic())  # a frame: the run positions moved
                handle(message)
                if self.replay and play is not None and not play.active and self.ready_at is not None:
                    play.active = True  # sent to the server like a click: Play restarts the finished runs
                    self.replays += 1

            session._handle_patch = counted
            self.ready_at = time.monotonic()
            session.document.callbacks.send_event(DocumentReady())  # what BokehJS sends once the page is ready
            # the loop below checks ``until`` on every patch; this stops it too when no patch comes
            PeriodicCallback(lambda: loop.stop() if time.monotonic() >= self.until else None, 250).start()
            # Bokeh's client handles each message one call deeper than the last (_next -> _handle_messages ->
            # _next ...) until its predicate holds: loop in slices of 100 patches so the stack unwinds
            while time.monotonic() < self.until:
                n = len(self.frames)
                session._connection._loop_until(lambda: time.monotonic() >= self.until or len(self.frames) >= n + 100)
            session.close()
        except Exception as exc:  # reported in the table, counted as an error
            self.error = f"{type(exc).__name__}: {exc}"


class APIClient(threading.Thread):
    """Alternates evaluate (light) and landscape (heavy, process pool) requests until ``until``."""

    def __init__(self, base: str, until: float, seed: int):
        super().__init__(daemon=True)
        self.base, self.until, self.rng = base, until, random.Random(seed)
        self.latency: dict[str, list[float]] = {"evaluate": [], "landscape": []}
        self.errors: list[str] = []

    def run(self):
        http = requests.Session()
        i = 0
        while time.monotonic() < self.until:
            kind = "landscape" if i % 4 == 3 else "evaluate"
            i += 1
            params = ({"mu": round(self.rng.uniform(-4, 4), 3), "sigma": round(self.rng.uniform(0.2, 2.5), 3)}
                      if kind == "evaluate" else
                      {"divergence": self.rng.choice(["forward_kl", "reverse_kl", "jsd"]), "n": 40,
                       "spread": round(self.rng.uniform(2, 4), 2)})
            t = time.perf_counter()
            try:
                r = http.get(f"{self.base}/api/{kind}", params=params, timeout=120)
                ok = r.status_code == 200
                if not ok:
                    self.errors.append(f"{kind} {r.status_code}: {r.text[:200]}")
            except requests.RequestException as exc:
                ok = False
                self.errors.append(f"{kind}: {exc}")
            if ok:
                self.latency[kind].append((time.perf_counter() - t) * 1e3)


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--api-clients", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time, after every session is ready")
    parser.add_argument("--app", choices=list(APPS), default="full")
    args = parser.parse_args(argv)
    load_panel_models()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = AppServer(ARTIFACTS / "bench-load-server.log", app=APPS[args.app], extra_args=ADMIN_ARGS)
    app_url = f"{server.url}/{APPS[args.app].stem}"
    try:
        requests.get(f"{server.url}/api/landscape", params={"n": 5}, timeout=120)  # warm the worker pool
        t0 = time.monotonic()
        # sessions connect one after another (a page load is seconds of server work); the measured window
        # opens once all are animating
        horizon = t0 + 3600
        sessions = [Session(app_url, horizon) for _ in range(args.sessions)]
        for s in sessions:
            s.start()
            while s.ready_at is None and s.error is None and s.is_alive():
                time.sleep(0.1)
        start = time.monotonic() + 2.0
        stop = start + args.seconds
        for s in sessions:
            s.until = stop
        clients = [APIClient(server.url, stop, seed) for seed in range(args.api_clients)]
        for c in clients:
            c.start()
        time.sleep(max(0.0, start - time.monotonic()))
        proc = psutil.Process(server.proc.pid)
        cpu0, loop0 = proc.cpu_times(), loop_thread_cpu(proc)
        during = status(server.url)
        time.sleep(max(0.0, stop - time.monotonic()))
        cpu1, loop1 = proc.cpu_times(), loop_thread_cpu(proc)
        for t in (*sessions, *clients):
            t.join(timeout=args.seconds + 120)
        setup = start - t0
    finally:
        server.stop()

    print(f"\nbench_load: {args.sessions} websocket sessions ({args.app} page) + {args.api_clients} API clients, "
          f"{args.seconds:.0f} s measured after {setup:.0f} s of connecting; server counts while loaded: "
          f"{during['sessions']} sessions, {during['periodic_callbacks']} running callbacks")
    print(f"\n{'session':>8} {'frames':>7} {'fps':>6}  note")
    fps = []
    errors = 0
    for i, s in enumerate(sessions):
        n = sum(start <= t < stop for t in s.frames)
        fps.append(n / args.seconds)
        errors += s.error is not None
        print(f"{i:>8} {n:>7} {fps[-1]:>6.1f}  {s.error or (f'Play pressed again {s.replays}x' if s.replays else '')}")
    print(f"{'all':>8} {'':>7} {statistics.mean(fps):>6.1f}  mean (min {min(fps):.1f}, max {max(fps):.1f})")
    total = sum(fps) * args.seconds
    cpu_ms = 1e3 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
    print(f"server CPU {cpu_ms / args.seconds / 10:.0f} % of a core; per frame {cpu_ms / max(total, 1):.2f} ms "
          f"(event-loop thread {1e3 * (loop1 - loop0) / max(total, 1):.2f} ms; frames = updates of the run positions; "
          "the API clients' and background workers' work included in the first)")
    print(f"\n{'endpoint':>10} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in ("evaluate", "landscape"):
        lat = [x for c in clients for x in c.latency[kind]]
        print(f"{kind:>10} {len(lat):>9} {percentile(lat, 50):>8.1f} {percentile(lat, 99):>8.1f}")
    api_errors = [e for c in clients for e in c.errors]
    log_errors = server.errors()
    errors += len(api_errors) + len(log_errors)
    print(f"\nerrors: {errors} (sessions {sum(s.error is not None for s in sessions)}, API {len(api_errors)}, "
          f"server log {len(log_errors)})")
    for e in (api_errors + log_errors)[:5]:
        print("  ", e[:300])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
