"""Background workers yield the CPU (lower priority) and keep their quadrature on their own thread, with the
same numbers as interactive work."""

import os
import threading

import numpy as np

from klpanel import Target, divergences
from klpanel.models.background import NICENESS, background_pool, is_background


def test_workers_are_marked_and_niced():
    pool = background_pool(1, "test-background")
    try:
        flag, nice, base = pool.submit(lambda: (is_background(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
                                                os.getpriority(os.PRIO_PROCESS, os.getpid()))).result()
    finally:
        pool.shutdown()
    assert flag and not is_background()
    assert nice == min(19, base + NICENESS)  # Linux: a thread may always lower its own priority


def test_background_quadrature_matches_the_pool():
    p = Target(n_modes=4, spread=3.0)
    mu, sigma = np.meshgrid(np.linspace(-4, 4, 30), np.linspace(0.2, 2.5, 20))  # 600 rows: the pooled path
    here = divergences.evaluate_grid(p, mu, sigma, gradients=True)
    pool = background_pool(1, "test-background")
    try:
        there = pool.submit(divergences.evaluate_grid, p, mu, sigma, None, True).result()
    finally:
        pool.shutdown()
    for name in here:
        np.testing.assert_array_equal(np.asarray(here[name]), np.asarray(there[name]))
