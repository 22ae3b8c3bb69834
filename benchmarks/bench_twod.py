"""The 2-D picture's benchmark (issue 20): each figure beside its target.
Run: .venv/bin/python benchmarks/bench_twod.py

* both KLs with gradients at one q (Gaussian p: closed forms; 4-component mixture: the cubature);
* both optimal q's for a new target (fresh mixture: its entropy and every reverse-KL start);
* server time per drag event of the served section (the handles' data arriving after a drag: q moved, both KLs,
  the ellipse, handles and readouts written to a Bokeh document), p95 over many drags.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import panel as pn
from bokeh.document import Document

from klpanel.models.twod import PRESETS, Target2D
from klpanel.numerics import gauss2d as g


def percentile(times, q):
    return float(np.percentile(np.array(times), q))


def timings(fn, args_list):
    fn(*args_list[0])  # warm (numba's cache loaded)
    times = []
    for args in args_list:
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return times


def random_qs(n, rng, full=True):
    return [g.Gaussian2D(*rng.uniform(-2, 2, 2), *rng.uniform(0.3, 2.0, 2), rng.uniform(-0.8, 0.8) if full else 0.0)
            for _ in range(n)]


def fresh(mixture):
    return g.Mixture2D(mixture.weights, mixture.means, mixture.sigmas, mixture.rhos)


def drag_times(n=200, preset="ring of 4"):
    """Server time of the section's drag callback with the page's document attached (what a drag costs the server)."""
    from klpanel.views.twod import TwoDSection
    section = TwoDSection()
    section.model.target.preset = preset
    doc = Document()
    pn.panel(section).get_root(doc)
    rng = np.random.default_rng(1)
    handles = section.sources["twod-q-handles"]
    times = []
    for i in range(n):
        data = {k: list(v) for k, v in handles.data.items()}
        if i % 2:  # a σ handle
            data["x1"][1] = data["x1"][0] + rng.uniform(0.3, 1.5)
        else:  # the centre
            data["x1"][0], data["x2"][0] = rng.uniform(-2.5, 2.5, 2)
        t = time.perf_counter()
        with pn.io.hold(doc):  # Bokeh's server holds a callback's events and sends them once
            section._on_drag("data", None, data)
        times.append(time.perf_counter() - t)
    return times


def main():
    rng = np.random.default_rng(0)
    gaussian = Target2D().mixture
    ring = Target2D(preset="ring of 4").mixture
    qs = random_qs(100, rng)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; times in ms (median, p95, max)")
    rows = []
    both = lambda p, q: g.evaluate(p, q, gradient=True)  # noqa: E731
    rows.append(("both KLs + gradients, Gaussian p", timings(both, [(gaussian, q) for q in qs]), 1.0))
    rows.append(("both KLs + gradients, 4-component ring", timings(both, [(ring, q) for q in qs]), 20.0))
    for preset in PRESETS:
        for family in g.FAMILIES:
            mixture = Target2D(preset=preset).mixture
            optima = lambda m, f: [g.optimal_q(fresh(m), d, f) for d in g.DIRECTIONS]  # noqa: E731
            rows.append((f"both optima, new target: {preset}, {family}", timings(optima, [(mixture, family)] * 5),
                         200.0))
    rows.append(("drag event, server time (ring of 4)", drag_times(), 50.0))
    rows.append(("drag event, server time (correlated)", drag_times(preset="correlated"), 50.0))
    for name, times, target in rows:
        ms = [1e3 * t for t in times]
        p95 = percentile(ms, 95)
        check = "ok" if (p95 if name.startswith("drag") else statistics.median(ms)) <= target else "OVER"
        print(f"{name:<48} {statistics.median(ms):8.2f} {p95:8.2f} {max(ms):8.2f}   target ≤ {target:g} ms  {check}")


if __name__ == "__main__":
    main()
