"""The loss landscape grid: values from the registry, minima from optimal_q, cached."""

import numpy as np
import pytest

from klpanel import Target, divergences, optimal_q
from klpanel.models.landscape import Landscape, landscape_grid


def test_grid_values_match_the_registry():
    p = Target()
    g = landscape_grid(p, "jsd", n_mu=11, n_sigma=7)
    assert g.values.shape == (7, 11)
    i, j = 3, 4
    direct = divergences.evaluate_grid(p, g.mu[j], g.sigma[i], ["jsd"])["jsd"]
    assert g.values[i, j] == pytest.approx(float(direct), rel=1e-12)
    assert g.minima == optimal_q(p, "jsd").local_minima


def test_grid_is_cached_and_log_sigma_axis():
    p = Target()
    a = landscape_grid(p, "reverse_kl", n_mu=9, n_sigma=5)
    assert landscape_grid(p, "reverse_kl", n_mu=9, n_sigma=5) is a
    b = landscape_grid(p, "reverse_kl", n_mu=9, n_sigma=5, log_sigma=True)
    np.testing.assert_allclose(b.y, np.log(b.sigma))
    np.testing.assert_allclose(np.diff(b.y), np.diff(b.y)[0])
    assert b.sigma[0] == pytest.approx(0.15) and b.sigma[-1] == pytest.approx(3.0)


def test_reverse_kl_landscape_has_three_minima_and_global_at_minus_three():
    g = landscape_grid(Target(), "reverse_kl", n_mu=9, n_sigma=5)
    assert len(g.minima) >= 3
    assert g.minima[0].mu == pytest.approx(-3.0, abs=0.01)


def test_landscape_model_follows_target_and_divergence():
    p = Target()
    land = Landscape(target=p, divergence="tv", n_mu=9, n_sigma=5)
    first = land.grid
    p.spread = 4.0
    assert land.grid is not first and land.grid.values.shape == (5, 9)
    land.param.update(divergence="alpha", divergence_params={"alpha": 0.3})
    assert land.grid.divergence == "alpha" and land.grid.params == {"alpha": 0.3}
    with pytest.raises(ValueError, match="alpha must be in"):
        landscape_grid(p, "alpha", {"alpha": 7})


def test_preview_then_full_grid_through_defer():
    jobs = []
    p = Target(n_modes=2)
    land = Landscape(target=p, n_mu=12, n_sigma=9, preview=3, defer=lambda compute, done: jobs.append((compute, done)))
    assert land.grid.values.shape == (3, 4) and land.grid.minima == [] and len(jobs) == 1
    compute, done = jobs.pop()
    done(compute())
    assert land.grid.values.shape == (9, 12) and land.grid.minima
    p.n_modes = 3
    stale = jobs.pop()
    land.divergence = "jsd"  # changed again before the full grid arrived: the stale one is dropped
    stale[1](stale[0]())
    assert land.grid.divergence == "jsd" and land.grid.values.shape == (3, 4)
