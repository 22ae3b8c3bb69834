"""Memory stays flat while sessions animate: a short version of ``benchmarks/soak.py`` (3 sessions of the
light dynamics page; RSS growth < 10 % from 10 s to the end). The full soak — 10 sessions of the whole app,
minute 1 against minute 5 — is::

    .venv/bin/python benchmarks/soak.py --minutes 5

``KLPANEL_SOAK_SECONDS`` lengthens this test (default 30)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from soak import BOUND, soak  # noqa: E402

SECONDS = float(os.environ.get("KLPANEL_SOAK_SECONDS", "30"))


def test_rss_stays_flat_while_sessions_animate():
    r = soak(SECONDS, sessions=3, app="dynamics", baseline=10.0, sample=5.0, echo=lambda *a: None)
    mib = [round(rss / 2**20, 1) for _, rss in r["samples"]]
    print(f"\nsoak {SECONDS:.0f} s, 3 sessions: RSS MiB {mib}; growth {100 * r['growth']:+.1f} %; {r['frames']} frames")
    assert not r["errors"], r["errors"]
    assert r["frames"] > 0  # the sessions did animate
    # work is not queued faster than it runs (Panel's busy state flipped per frame once queued an update on every
    # other session's document per frame: thousands of pending tasks)
    assert r["counts"]["asyncio_tasks"] < 100, r["counts"]
    assert r["growth"] < BOUND, f"RSS grew {100 * r['growth']:.1f} % (samples in MiB: {mib})"
