import numpy as np
import pytest
from scipy import integrate, stats

from klpanel import Approximation, Target


def test_generator_defaults_match_original_page():
    p = Target()
    np.testing.assert_allclose(p.means, [-3, 0, 3])
    np.testing.assert_allclose(p.weights, [0.540, 0.297, 0.163], atol=1e-3)
    np.testing.assert_allclose(p.sigmas, 0.35)
    assert Target(n_modes=1).means.tolist() == [0.0]


def test_generator_updates_on_param_change():
    p = Target()
    p.n_modes = 5
    np.testing.assert_allclose(p.means, [-3, -1.5, 0, 1.5, 3])
    p.spread = 2.0
    np.testing.assert_allclose(p.means[[0, -1]], [-2, 2])


def test_custom_components_are_normalised_and_validated():
    p = Target(weights=[2, 2], means=[-1, 1], sigmas=[0.5, 1])
    np.testing.assert_allclose(p.weights, [0.5, 0.5])
    assert p.mode == "custom"
    for bad, msg in [(dict(weights=[1, -1], means=[0, 1], sigmas=[1, 1]), "weights must be > 0"),
                     (dict(weights=[1, 1], means=[0, np.nan], sigmas=[1, 1]), "finite"),
                     (dict(weights=[1, 1], means=[0, 1], sigmas=[1, 0]), "sigmas must be > 0"),
                     (dict(weights=[1], means=[0, 1], sigmas=[1, 1]), "same length"),
                     (dict(weights=[1] * 9, means=list(range(9)), sigmas=[1] * 9), "at most 8"),
                     (dict(weights="abc", means=[0], sigmas=[1]), "list of numbers")]:
        with pytest.raises(ValueError, match=msg):
            Target(**bad)


def test_invalid_update_keeps_previous_components():
    p = Target()
    before = p.means.copy()
    with pytest.raises(ValueError):
        p.set_components([1, 1], [0, 1], [1, -1])
    np.testing.assert_array_equal(p.means, before)


def test_densities_moments_and_sampling():
    p = Target(n_modes=4, spread=2.5, decay=0.7)
    x = np.linspace(-10, 10, 7)
    ref = sum(w * stats.norm.pdf(x, m, s) for w, m, s in zip(p.weights, p.means, p.sigmas))
    np.testing.assert_allclose(p.pdf(x), ref, rtol=1e-13)
    np.testing.assert_allclose(p.cdf(x), sum(w * stats.norm.cdf(x, m, s) for w, m, s in
                                             zip(p.weights, p.means, p.sigmas)), rtol=1e-12)
    assert np.isfinite(p.logpdf(1e4))  # far tail stays finite in log space
    mean = integrate.quad(lambda t: t * p.pdf(t), -20, 20, limit=200)[0]
    var = integrate.quad(lambda t: (t - mean) ** 2 * p.pdf(t), -20, 20, limit=200)[0]
    assert p.mean == pytest.approx(mean, abs=1e-10) and p.var == pytest.approx(var, rel=1e-9)
    ent = integrate.quad(lambda t: -p.pdf(t) * p.logpdf(t), -20, 20, limit=400, points=list(p.means))[0]
    assert p.entropy == pytest.approx(ent, rel=1e-10)
    a, b = p.sample(1000, seed=3), p.sample(1000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert abs(p.sample(200_000, seed=1).mean() - p.mean) < 0.02


def test_approximation_validation():
    with pytest.raises(ValueError, match="sigma must be > 0"):
        Approximation(mu=0.0, sigma=0.0)
    with pytest.raises(ValueError, match="finite"):
        Approximation(mu=float("nan"), sigma=1.0)
    q = Approximation()
    for bad in (float("nan"), float("inf"), 1e300):
        with pytest.raises(ValueError):
            q.mu = bad
    assert q.mu == 0.0
    np.testing.assert_allclose(Target(weights=[1e308, 1e308], means=[0, 1], sigmas=[1, 1]).weights, [0.5, 0.5])
    q = Approximation(mu=1.0, sigma=2.0)
    assert q.pdf(1.0) == pytest.approx(stats.norm.pdf(1.0, 1.0, 2.0))


def test_watchers_see_the_new_target():
    p = Target()
    seen = []
    p.param.watch(lambda e: seen.append((p.means.size, p.mean, p.entropy)), "weights")
    _ = (p.mean, p.entropy)  # warm the caches
    p.n_modes = 5
    p.set_components([1, 1], [0, 4], [1, 1])
    assert seen[0][0] == 5 and seen[0][1] == pytest.approx(Target(n_modes=5).mean)
    assert seen[1] == (2, pytest.approx(2.0), pytest.approx(Target(weights=[1, 1], means=[0, 4], sigmas=[1, 1]).entropy))
