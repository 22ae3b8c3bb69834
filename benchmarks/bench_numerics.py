"""Numerics benchmark (issue 2): prints each figure beside its target. Run: .venv/bin/python benchmarks/bench_numerics.py"""

import os
import platform
import statistics
import time

import numpy as np

from klpanel import Approximation, Target, divergences as dv, optimal_q

FOUR = list(dv.DEFAULT_NAMES)


def timed(fn, repeat):
    fn()  # warm (compiled kernel loaded from numba's cache)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def main():
    p = Target(n_modes=5)
    q = Approximation(mu=0.3, sigma=0.8)
    mu, sigma = np.meshgrid(np.linspace(-5, 5, 200), np.linspace(0.15, 3.0, 200))

    def optima():
        p2 = Target(n_modes=5)  # fresh target: no cached entropy/knots
        for n in FOUR:
            optimal_q(p2, n)

    rows = [
        ("4 divergences + gradients at one (mu, sigma)", timed(lambda: dv.evaluate_grid(p, q.mu, q.sigma, FOUR, gradients=True), 200), 0.5e-3),
        ("whole registry + gradients at one (mu, sigma)", timed(lambda: dv.evaluate_grid(p, q.mu, q.sigma, None, gradients=True), 200), 2e-3),
        ("global optimum, 4 divergences (fresh target)", timed(optima, 5), 50e-3),
        ("landscape 200x200, 4 divergences", timed(lambda: dv.evaluate_grid(p, mu, sigma, FOUR), 3), 1.0),
    ]
    print(f"klpanel numerics benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores,"
          f" load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, target n_modes=5"
          " (figures are wall time: other work on the machine slows them)")
    print(f"{'figure':50s} {'median':>10s} {'best':>10s} {'target':>10s}  ok")
    for label, (med, best), target in rows:
        print(f"{label:50s} {med * 1e3:8.2f}ms {best * 1e3:8.2f}ms {target * 1e3:8.1f}ms  {'yes' if med <= target else 'NO'}")


if __name__ == "__main__":
    main()
