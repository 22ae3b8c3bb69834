"""Memory soak: N websocket sessions animate the dynamics section for M minutes; the server's RSS must grow by
less than 10 % between minute 1 and minute M. Prints the RSS samples; exit status 1 over the bound.

    .venv/bin/python benchmarks/soak.py --minutes 5              # the full run: 10 sessions, whole app
    .venv/bin/python benchmarks/soak.py --minutes 1 --sessions 3 --app dynamics   # a quick look
    .venv/bin/python benchmarks/soak.py --minutes 5 --diagnose   # + what grew (tracemalloc, gc types, mappings)

Sessions are ``bench_load.Session`` (Bokeh's Python client sending ``document_ready``, pressing Play again when
every run has converged, so the sessions animate throughout); the server is
``panel serve`` with the API and ``klpanel.server.admin`` plugins on a free loopback port; RSS is read from the server
process (``/proc/<pid>/statm``), the session counts from ``/status/sessions``. ``tests/reliability/
test_soak.py`` runs a short version of :func:`soak` in CI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import APPS, Session, load_panel_models  # noqa: E402
from reltools import ADMIN_ARGS, ARTIFACTS, AppServer, status  # noqa: E402

from klpanel.server.admin import rss_bytes  # noqa: E402

BOUND = 0.10


def memory_report(url: str, baseline: bool = False) -> dict:
    """The server's ``/status/memory`` (``KLPANEL_MEMORY_DEBUG=1``): growth since its baseline."""
    r = requests.get(f"{url}/status/memory", params={"baseline": int(baseline)}, timeout=120)
    r.raise_for_status()
    return r.json()


def print_memory_report(m: dict, echo=print) -> None:
    mib = 2**20
    heap = m["c_heap"]
    echo(f"  RSS {m['rss_bytes'] / mib:.1f} MiB; traced by tracemalloc {m['traced_bytes'] / mib:.1f} MiB; C heap in "
         f"use {heap.get('in_use', 0) / mib:.1f} MiB, free but kept {heap.get('free_kept', 0) / mib:.1f} MiB, mmapped "
         f"{heap.get('mmapped', 0) / mib:.1f} MiB; {m['objects']} gc objects; {m['documents']} documents with "
         f"{m['models_per_document']} models; websocket bytes queued {m['websocket_write_pending_bytes']}; "
         f"asyncio tasks {m['asyncio_tasks']}; busy indicators {m['busy_indicators']}")
    echo("  resident memory grown per mapping since the baseline (KiB):")
    for g in m["mappings_grown"][:8]:
        echo(f"    {g['diff'] / 1024:+9.1f}  of {g['rss'] / 1024:9.1f}  {g['mapping']}")
    echo("  allocation sites grown since the baseline (KiB, blocks):")
    for s in m["sites"][:15]:
        echo(f"    {s['size_diff'] / 1024:+9.1f} {s['count_diff']:+8d}  {s['site']}")
    echo("  object types grown: " + ", ".join(f"{t['type']} {t['diff']:+d}" for t in m["types_grown"][:12]))


def soak(seconds: float, sessions: int = 10, app: str = "full", baseline: float = 60.0, sample: float = 10.0,
         echo=print, diagnose: bool = False) -> dict:
    """Run the soak; returns ``{"baseline_rss", "final_rss", "growth", "samples", "frames", "errors", ...}``.
    ``baseline``: seconds after every session is animating at which the reference RSS is taken. ``diagnose``
    serves with ``KLPANEL_MEMORY_DEBUG=1`` and prints what grew between the baseline and the end."""
    load_panel_models()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = AppServer(ARTIFACTS / "soak-server.log", app=APPS[app], extra_args=ADMIN_ARGS,
                       env={"KLPANEL_MEMORY_DEBUG": "1"} if diagnose else None)
    url = f"{server.url}/{APPS[app].stem}"
    try:
        clients = [Session(url, time.monotonic() + 36000) for _ in range(sessions)]
        for c in clients:
            c.start()
            while c.ready_at is None and c.error is None and c.is_alive():
                time.sleep(0.1)
        t0 = time.monotonic()
        stop = t0 + seconds
        for c in clients:
            c.until = stop
        samples, base = [], None
        while (now := time.monotonic()) < stop:
            rss = rss_bytes(server.proc.pid)
            samples.append((now - t0, rss))
            if base is None and now - t0 >= baseline:
                if diagnose:  # the report's heap walk itself grows the RSS: the baseline is taken after it
                    print_memory_report(memory_report(server.url, baseline=True), echo)
                    rss = rss_bytes(server.proc.pid)
                base = rss
            echo(f"  t={now - t0:6.0f} s  RSS {rss / 2**20:7.1f} MiB  frames so far "
                 f"{sum(len(c.frames) for c in clients)}")
            time.sleep(min(sample, max(0.0, stop - time.monotonic())))
        final = rss_bytes(server.proc.pid)
        if diagnose:
            print_memory_report(memory_report(server.url), echo)
        counts = status(server.url)
        for c in clients:
            c.join(timeout=60)
    finally:
        server.stop()
    base = base or samples[0][1]
    return {"baseline_rss": base, "final_rss": final, "growth": final / base - 1, "samples": samples,
            "frames": sum(len(c.frames) for c in clients), "replays": sum(c.replays for c in clients), "counts": counts,
            "errors": [c.error for c in clients if c.error] + server.errors()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--app", choices=list(APPS), default="full")
    parser.add_argument("--diagnose", action="store_true",
                        help="trace the server's allocations and print what grew (slower server)")
    args = parser.parse_args(argv)
    print(f"soak: {args.sessions} sessions ({args.app} page) for {args.minutes} min; load average "
          f"{os.getloadavg()[0]:.2f}")
    r = soak(args.minutes * 60, args.sessions, args.app, baseline=min(60.0, args.minutes * 12),
             diagnose=args.diagnose)
    print(f"\nRSS at minute {min(1.0, args.minutes / 5):g}: {r['baseline_rss'] / 2**20:.1f} MiB; at minute "
          f"{args.minutes:g}: {r['final_rss'] / 2**20:.1f} MiB; growth {100 * r['growth']:+.1f} % "
          f"(bound {100 * BOUND:.0f} %); {r['frames']} frames (Play pressed again {r['replays']}x); server counts at the end {r['counts']['sessions']} "
          f"sessions, {r['counts']['periodic_callbacks']} callbacks; errors {len(r['errors'])}")
    for e in r["errors"][:5]:
        print("  ", e[:300])
    return 0 if r["growth"] < BOUND and not r["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
