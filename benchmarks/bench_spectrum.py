"""Benchmark: time from a target change to the α curve, the spread phase plot and the distillation curves.

Each row is a fresh target (nothing cached): the α-divergence curve (61 α), the Rényi curve (61 orders),
the spread phase plot (41 spreads × reverse KL, JSD, Hellinger, TV, on two workers) and the three distillation
curves (41 values each). Goal (issue 8): α curve and phase plot each ≤ 2 s on this machine. Also prints the
load average, since the machine is shared.

    .venv/bin/python benchmarks/bench_spectrum.py [--quick]
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

from klpanel import Target, optimal_q
from klpanel.models import spectrum as sp

warnings.simplefilter("ignore", RuntimeWarning)

TARGETS = [dict(n_modes=3, spread=3.0, decay=0.55), dict(n_modes=3, spread=3.4, decay=0.55),
           dict(n_modes=2, spread=2.5, decay=0.7), dict(n_modes=4, spread=3.5, decay=0.65),
           dict(n_modes=5, spread=4.0, decay=0.8)]


CPU = []  # CPU seconds of each timed call (all threads): what the call costs on an idle machine


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    CPU.append(time.process_time() - c)
    return time.perf_counter() - t, out


def main(quick=False):
    optimal_q(Target(), "alpha", alpha=0.3)  # compile/load the kernels once
    rows = []
    for settings in TARGETS[:2] if quick else TARGETS:
        sp.CURVES.clear()
        p = Target(**settings)
        a, curve = timed(lambda: sp.alpha_curve(p, "alpha"))
        r, _ = timed(lambda: sp.alpha_curve(p, "renyi"))
        phase = sp.SpreadPhase(n_modes=p.n_modes, decay=p.decay, names=list(sp.PHASE_NAMES))
        f, curves = timed(phase.curves)
        d, _ = timed(sp.Distillation(target=p).curves)
        cpu = CPU[-4:]
        cached, _ = timed(lambda: (sp.alpha_curve(p, "alpha"), phase.curves()))
        rows.append((settings, a, r, f, d, cached, cpu, int(curve.jump.sum()),
                     sum(c.t.size for c in curves.values())))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("wall seconds (CPU seconds over all threads in brackets)")
    head = (f"{'target':<36} {'α curve':>15} {'Rényi':>15} {'phase':>15} {'distil':>15} {'cached':>8}"
            "  jumps  phase pts")
    print(head)
    print("-" * len(head))
    for settings, a, r, f, d, c, cpu, jumps, n in rows:
        name = ", ".join(f"{k}={v}" for k, v in settings.items())
        cells = " ".join(f"{w:6.2f}s ({u:5.2f})" for w, u in zip((a, r, f, d), cpu))
        print(f"{name:<36} {cells} {c * 1e3:6.1f}ms  {jumps:5d}  {n:9d}")
    wall, cpu = np.array([row[1:5] for row in rows]), np.array([row[6] for row in rows])
    for label, fn in (("median", np.median), ("max", np.max)):
        print(f"{label:<36} " + " ".join(f"{w:6.2f}s ({u:5.2f})" for w, u in zip(fn(wall, axis=0), fn(cpu, axis=0))))
    print(f"goal: α curve ≤ 2 s and phase plot ≤ 2 s after a target change "
          f"({sp.ALPHA_POINTS} α values; {sp.SPREAD_POINTS} spreads × {len(sp.PHASE_NAMES)} divergences)")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
