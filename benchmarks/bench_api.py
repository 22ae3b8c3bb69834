"""Benchmark of the JSON API over loopback with keep-alive connections (bounded in time, loopback only).

Starts ``panel serve apps/kl_explorer.py --plugins klpanel.server.api`` on a free port, then for each scenario runs a
closed-loop load generator (asyncio, raw HTTP/1.1 keep-alive sockets, one request in flight per connection) for a
fixed time and prints latency percentiles and requests/s next to the targets of the API issue
(``/api/evaluate``: p50 ≤ 2 ms, ≥ 500 requests/s). A last scenario measures ``/api/health`` latency (the event
loop's responsiveness) while ``/api/landscape`` requests are hammered, which must stay low because heavy work
runs in the worker processes.

With ``--browser``: the app's dynamics section animating in headless Chromium (the page of
``bench_dynamics.py``, 4 noisy runs) served with the API by one ``panel serve --plugins klpanel.server.api``; frames per
second applied in the page, alone and while ``/api/landscape`` is hammered (target ≥ 20 fps).

    python benchmarks/bench_api.py [--seconds 5] [--connections 4] [--browser]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support import free_port  # noqa: E402
APP = ROOT / "apps" / "kl_explorer.py"


def start_server(port: int, log, app: Path = APP):
    cmd = [sys.executable, "-m", "panel", "serve", str(app), "--plugins", "klpanel.server.api", "--port", str(port),
           "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("panel serve exited; see its log")
            time.sleep(0.1)
    proc.kill()
    raise TimeoutError("the server did not answer /api/health within 60 s")


async def _request(reader, writer, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return status


async def load(port: int, paths, seconds: float, connections: int) -> dict:
    """Closed loop: each connection sends the next path as soon as the previous answer is read."""
    latencies, errors = [], 0
    cycle = itertools.cycle(paths)
    stop = time.perf_counter() + seconds

    async def worker():
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _request(reader, writer, paths[0])  # warm the connection
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            status = await _request(reader, writer, next(cycle))
            latencies.append(time.perf_counter() - t0)
            errors += status != 200
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - t0
    ms = np.array(latencies) * 1e3
    return {"n": ms.size, "p50": np.percentile(ms, 50), "p90": np.percentile(ms, 90), "p99": np.percentile(ms, 99),
            "rps": ms.size / elapsed, "errors": errors}


async def under_landscape_load(port: int, seconds: float) -> dict:
    """/api/health latency while two clients request landscapes back to back (503s count as hammering too)."""
    stop = time.perf_counter() + seconds
    done = {"landscapes": 0}

    async def hammer():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            await _request(reader, writer, "/api/landscape?divergence=reverse_kl&n=60")
            done["landscapes"] += 1
        writer.close()

    hammering = [asyncio.create_task(hammer()) for _ in range(2)]
    await asyncio.sleep(0.5)
    result = await load(port, ["/api/health"], seconds - 1.0, 1)
    await asyncio.gather(*hammering)
    return {**result, "landscapes": done["landscapes"]}


def fps_under_landscape_load(seconds: float) -> tuple[float, float, int]:
    """Frames per second applied in an animating page, alone and while 3 clients request landscapes."""
    import shutil
    import threading

    from playwright.sync_api import sync_playwright

    from bench_dynamics import BENCH_APP, COUNT_JS  # the dynamics benchmark's page and frame counter

    port = free_port()
    app = Path(tempfile.mkdtemp()) / "bench_dynamics_app.py"
    app.write_text(BENCH_APP)
    ready = ("() => window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].get_model_by_name('dynamics-now')"
             " && Bokeh.documents[0].get_model_by_name('dynamics-now').data.mu.length > 0")
    with tempfile.TemporaryFile("w+") as log:
        proc = start_server(port, log, app)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/bench_dynamics_app", timeout=120_000)
                page.wait_for_function(ready, timeout=120_000)
                time.sleep(2.0)
                alone = page.evaluate(COUNT_JS, seconds)
                stop = threading.Event()
                count = {"landscapes": 0}

                def hammer():
                    async def client():
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                        while not stop.is_set():
                            await _request(reader, writer, "/api/landscape?divergence=reverse_kl&n=100")
                            count["landscapes"] += 1
                        writer.close()
                    async def clients():
                        await asyncio.gather(*(client() for _ in range(3)))
                    asyncio.run(clients())

                thread = threading.Thread(target=hammer)
                thread.start()
                time.sleep(1.0)
                loaded = page.evaluate(COUNT_JS, seconds)
                stop.set()
                thread.join()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return alone, loaded, count["landscapes"]


def row(name, r, target=""):
    print(f"{name:<46} {r['n']:>7} {r['p50']:>8.2f} {r['p90']:>8.2f} {r['p99']:>8.2f} {r['rps']:>9.0f} "
          f"{r['errors']:>6}  {target}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each scenario")
    parser.add_argument("--connections", type=int, default=4, help="connections for the throughput scenarios")
    parser.add_argument("--browser", action="store_true", help="also measure an animating page's fps under API load")
    args = parser.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        proc = start_server(port, log)
        try:
            rng = np.random.default_rng(0)
            varied = [f"/api/evaluate?mu={m:.6f}&sigma={s:.6f}" for m, s in
                      zip(rng.uniform(-4, 4, 5000), rng.uniform(0.2, 3, 5000))]
            varied4 = [p + "&divergences=forward_kl,reverse_kl,jsd,tv" for p in varied]
            same = ["/api/evaluate?mu=0.5&sigma=0.8"]
            c = args.connections
            print(f"klpanel API benchmark: loopback, keep-alive, closed loop, {args.seconds:g} s per scenario, "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; latencies in ms")
            print(f"{'scenario':<46} {'requests':>7} {'p50':>8} {'p90':>8} {'p99':>8} {'req/s':>9} {'errors':>6}  target")
            run = lambda paths, conns: asyncio.run(load(port, paths, args.seconds, conns))
            row("health, 1 connection", run(["/api/health"], 1))
            row("evaluate same q (cached), 1 connection", run(same, 1), "p50 ≤ 2 ms")
            row(f"evaluate same q (cached), {c} connections", run(same, c), "≥ 500 req/s")
            row("evaluate all 10 + gradients, new q, 1 conn", run(varied, 1), "p50 ≤ 2 ms")
            row(f"evaluate all 10 + gradients, new q, {c} conns", run(varied[::-1], c), "≥ 500 req/s")
            row("evaluate 4 default names, new q, 1 conn", run(varied4, 1), "p50 ≤ 2 ms")
            row(f"evaluate 4 default names, new q, {c} conns", run(varied4[::-1], c), "≥ 500 req/s")
            r = asyncio.run(under_landscape_load(port, args.seconds + 1.0))
            row(f"health while landscapes hammered ({r['landscapes']} done)", r, "loop stays responsive")
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    if args.browser:
        alone, loaded, landscapes = fps_under_landscape_load(args.seconds)
        print(f"app page fps (dynamics, 4 runs): alone {alone:.1f}; while /api/landscape is hammered by 3 clients "
              f"({landscapes} landscapes of 100x100 served) {loaded:.1f}   (target >= 20 fps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
