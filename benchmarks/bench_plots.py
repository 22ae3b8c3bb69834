"""Benchmark: what a klpanel.plots picture costs to build (``plots.<fn>(...)``) and to render to a Bokeh figure
(``hv.render``), for the default target, cold (models not cached) and warm (median of repeats); and, for the
explore picture, one q step done the HoloViews way (build + render) against the direct write of the rendered
figure's sources (``plots.sources``) a 30 fps view uses. Informs how the views should use the plots.

    .venv/bin/python benchmarks/bench_plots.py [--repeat 5]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import holoviews as hv
import numpy as np

from klpanel import Approximation, Target, plots
from klpanel.models.explorer import normal_pdf
from klpanel.models.runs import Run, random_restarts, step_runs


def ms(fn, repeat=1):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times), out


def main(repeat=5):
    p, q = Target(), Approximation(mu=0.0, sigma=0.8)
    runs = [Run(target=p, divergence=d, mu0=0.0, sigma0=0.8) for d in ("forward_kl", "reverse_kl")]
    restarts = random_restarts(8, p, "reverse_kl")
    step_runs(runs + restarts, 300)
    cases = {
        "optima (4 divergences)": lambda: plots.optima(p),
        "explore (4 divergences)": lambda: plots.explore(p, q),
        "landscape reverse KL n=81": lambda: plots.landscape(p, "reverse_kl"),
        "trajectories (2 runs + 8 restarts)": lambda: plots.trajectories(runs, restarts=restarts),
        "landscape * trajectories": lambda: plots.landscape(p, "reverse_kl") * plots.trajectories(runs),
        "spectrum α (61 orders)": lambda: plots.spectrum(p),
        "phase (4 divergences x 41 spreads)": lambda: plots.phase(p),
        "distillation (3 losses x 41)": lambda: plots.distillation(p),
    }
    print(f"load average {os.getloadavg()[0]:.2f}; milliseconds; warm = median of {repeat}")
    print(f"{'picture':38s} {'build cold':>10s} {'build warm':>10s} {'render':>8s}")
    for name, build in cases.items():
        cold, obj = ms(build)
        warm, obj = ms(build, repeat)
        render, _ = ms(lambda: hv.render(obj, backend="bokeh"), repeat)
        print(f"{name:38s} {cold:10.1f} {warm:10.1f} {render:8.1f}")

    fig = hv.render(plots.explore(p, q), backend="bokeh")
    src = plots.sources(fig)
    x, px = src["p"].data["x"], src["p"].data["p"]
    steps = iter(np.linspace(-3, 3, 1000))

    def hv_step():
        return hv.render(plots.explore(p, Approximation(mu=float(next(steps)), sigma=0.8)), backend="bokeh")

    def direct_step():
        qx = normal_pdf(x, float(next(steps)), 0.8)
        lo = np.minimum(px, qx)
        src["q"].data.update(q=qx)
        src["forward-cost"].data.update(plots.area_columns(x, lo, px))
        src["reverse-cost"].data.update(plots.area_columns(x, lo, qx))

    print(f"explore, one q step: build + hv.render {ms(hv_step, repeat)[0]:.1f} ms; "
          f"direct source write {ms(direct_step, 50)[0]:.3f} ms (no document attached)")


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 5)
