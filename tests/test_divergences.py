"""Divergence values against closed forms, an independent mpmath computation, limits and finite differences."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from klpanel import Approximation, Target, divergences as dv
from reference import reference

ALL = list(dv.REGISTRY)
FAR = Target(weights=[0.5, 0.5], means=[-5, 5], sigmas=[0.35, 0.35])


def gauss_target(m, s):
    return Target(weights=[1.0], means=[m], sigmas=[s])


def test_registry_entries_are_complete():
    assert list(dv.DEFAULT_NAMES) == ["forward_kl", "reverse_kl", "jsd", "tv"]
    for d in dv.REGISTRY.values():
        assert d.label and d.latex and d.behaviour and d.distillation
        for spec in d.params:
            assert spec.bounds[0] <= spec.default <= spec.bounds[1]
        assert d.to_dict()["name"] == d.name


def test_labels_are_plain_unicode_and_unique():
    """The registry label is what every checkbox, select, legend and card shows: no TeX markup in it."""
    labels = [d.label for d in dv.REGISTRY.values()]
    assert len(set(labels)) == len(labels)
    assert not [s for s in labels if any(c in s for c in "^_\\{}$")]


def test_default_readouts_match_the_original_page():
    values = dv.evaluate(Target(), Approximation(mu=0.0, sigma=0.8))
    assert list(values) == ALL
    assert values["forward_kl"] == pytest.approx(4.38, abs=5e-3)
    assert values["reverse_kl"] == pytest.approx(2.02, abs=5e-3)
    assert values["jsd"] == pytest.approx(0.377, abs=5e-4)
    assert values["tv"] == pytest.approx(0.691, abs=5e-4)


def test_kl_between_gaussians_closed_form():
    v = dv.evaluate(gauss_target(0, 1), Approximation(mu=1.0, sigma=2.0), ["forward_kl", "reverse_kl"])
    assert v["forward_kl"] == pytest.approx(0.4431471805599453, rel=1e-12)
    # KL(N(1,4)||N(0,1)) = log(1/2) + (4 + 1)/2 - 1/2
    assert v["reverse_kl"] == pytest.approx(math.log(0.5) + 2.5 - 0.5, rel=1e-10)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 2), (-3, 0.35, 2, 0.9), (0, 0.01, 0.005, 0.02), (0, 5, 30, 1)])
def test_single_gaussian_closed_forms(m1, s1, m2, s2):
    p, q = gauss_target(m1, s1), Approximation(mu=m2, sigma=s2)
    v = dv.evaluate(p, q, ["hellinger", "alpha", "renyi"], alpha=0.3)
    bc = math.sqrt(2 * s1 * s2 / (s1**2 + s2**2)) * math.exp(-(m1 - m2) ** 2 / (4 * (s1**2 + s2**2)))
    assert v["hellinger"] == pytest.approx(1 - bc, rel=1e-9, abs=1e-12)
    a = 0.3
    var_a = a * s2**2 + (1 - a) * s1**2
    renyi = a * (m1 - m2) ** 2 / (2 * var_a) - math.log(var_a / (s1 ** (2 * (1 - a)) * s2 ** (2 * a))) / (2 * (a - 1))
    assert v["renyi"] == pytest.approx(renyi, rel=1e-9)
    integral = math.exp((a - 1) * renyi)
    assert v["alpha"] == pytest.approx((1 - integral) / (a * (1 - a)), rel=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_zero_when_q_equals_p(name):
    v = dv.evaluate(gauss_target(0.7, 1.3), Approximation(mu=0.7, sigma=1.3), [name])[name]
    assert abs(v) < 1e-9


@pytest.mark.parametrize("name", ["jsd", "tv", "hellinger"])
def test_symmetric_divergences_are_symmetric(name):
    a = dv.evaluate(gauss_target(0.0, 0.5), Approximation(mu=1.2, sigma=2.0), [name])[name]
    b = dv.evaluate(gauss_target(1.2, 2.0), Approximation(mu=0.0, sigma=0.5), [name])[name]
    assert a == pytest.approx(b, rel=1e-9)


HARD = [
    ("far-modes q at 0", FAR, 0.0, 0.5, ALL),
    ("far-modes narrow q", FAR, -5.0, 0.15, ALL),
    ("sigma 1e-3", Target(), 0.7, 1e-3, ["forward_kl", "reverse_kl", "jsd", "tv", "hellinger", "skew_kl"]),
    ("sigma 50", Target(), 3.0, 50.0, ["forward_kl", "reverse_kl", "jsd", "tv", "renyi"]),
    ("8 modes spread 5", Target(n_modes=8, spread=5.0), 0.4, 0.6, ["reverse_kl", "jsd", "tv", "gkd_jsd"]),
]


@pytest.mark.parametrize("label,target,mu,sigma,names", HARD, ids=[h[0] for h in HARD])
def test_against_high_precision_reference(label, target, mu, sigma, names):
    ours = dv.evaluate(target, Approximation(mu=mu, sigma=sigma), names)
    for name in names:
        ref = float(reference(target, mu, sigma, name))
        assert ours[name] == pytest.approx(ref, rel=1e-6, abs=1e-9), name


WIDE_Q = [  # q much wider than p's narrow components: p's shape still matters under q (log p, √p), and p's
    # breakpoints far out have long exponential transitions; a rule that pruned p's knots under q, or stopped the
    # transition knots at 4 widths, was off by 1e-6 (Hellinger) and 2e-7 (reverse KL) here
    ("7 modes, q 20 wide", Target(n_modes=7), 4.285714285714285, 20.0, ["hellinger", "reverse_kl"]),
    ("narrow components, q 5.8 wide", Target(weights=[0.084, 0.341, 0.323, 0.116, 0.136],
                                              means=[5.485, -1.656, -2.532, 2.64, -4.405],
                                              sigmas=[0.362, 0.217, 0.464, 0.591, 0.687]), 4.1025695887358005,
     5.799767431736451, ["reverse_kl", "hellinger", "skew_rkl"]),
]


@pytest.mark.parametrize("label,target,mu,sigma,names", WIDE_Q, ids=[h[0] for h in WIDE_Q])
def test_wide_q_against_high_precision_reference(label, target, mu, sigma, names):
    ours = dv.evaluate(target, Approximation(mu=mu, sigma=sigma), names)
    for name in names:
        ref = float(reference(target, mu, sigma, name))
        assert ours[name] == pytest.approx(ref, rel=1e-8), name


@pytest.mark.parametrize("name,params", [(n, {}) for n in ALL if n not in ("alpha", "renyi")]
                         + [("alpha", {"alpha": a}) for a in (-0.5, 0.3, 0.8, 1.6)]
                         + [("renyi", {"alpha": a}) for a in (0.3, 1.0, 1.5)])
@pytest.mark.parametrize("mu,sigma", [(0.3, 0.8), (-2.0, 0.4), (1.0, 2.5)])
def test_hessian_matches_central_differences_of_the_gradient(name, params, mu, sigma):
    p = Target(n_modes=4, spread=2.5)
    v, dmu, dsig, hmm, hms, hss = dv.evaluate_grid(p, mu, sigma, [name], hessian=True, **params)[name]
    if not np.isfinite(v):
        assert hmm == hms == hss == 0.0  # infinite α-divergence: no curvature reported
        return
    h = 1e-6
    _, gm, gs = dv.evaluate_grid(p, [mu + h, mu - h, mu, mu], [sigma, sigma, sigma + h, sigma - h], [name],
                                 gradients=True, **params)[name]
    scale = max(abs(hmm), abs(hss), 1.0)
    assert hmm == pytest.approx((gm[0] - gm[1]) / (2 * h), abs=1e-6 * scale)
    assert hms == pytest.approx((gs[0] - gs[1]) / (2 * h), abs=1e-6 * scale)
    assert hms == pytest.approx((gm[2] - gm[3]) / (2 * h), abs=1e-6 * scale)
    assert hss == pytest.approx((gs[2] - gs[3]) / (2 * h), abs=1e-6 * scale)


def test_headline_hard_values():
    v = dv.evaluate(FAR, Approximation(mu=0.0, sigma=0.5), ["reverse_kl"])
    assert v["reverse_kl"] == pytest.approx(86.6, abs=0.05)
    v = dv.evaluate(FAR, Approximation(mu=-5.0, sigma=0.15), ["forward_kl"])
    assert v["forward_kl"] == pytest.approx(1111.8, abs=0.05)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("mu,sigma", [(0.0, 0.8), (-2.4, 0.3), (1.7, 2.5), (6.0, 0.2)])
def test_gradients_match_central_differences(name, mu, sigma):
    p = Target(n_modes=4, spread=2.5)
    g = dv.gradient(p, Approximation(mu=mu, sigma=sigma), name)
    h = 1e-5

    def f(m, s):
        return dv.evaluate_grid(p, m, s, [name])[name]

    fd_mu = (f(mu + h, sigma) - f(mu - h, sigma)) / (2 * h)
    fd_sigma = (f(mu, sigma + h) - f(mu, sigma - h)) / (2 * h)
    assert g["mu"] == pytest.approx(fd_mu, rel=1e-5, abs=1e-7)
    assert g["sigma"] == pytest.approx(fd_sigma, rel=1e-5, abs=1e-7)


def test_family_limits_are_continuous():
    p, q = Target(), Approximation(mu=0.5, sigma=1.1)
    base = dv.evaluate(p, q, ["forward_kl", "reverse_kl", "jsd", "hellinger"])
    for eps in (1e-4, 1e-8, 1e-12, 0.0):
        assert dv.evaluate(p, q, ["alpha"], alpha=eps)["alpha"] == pytest.approx(base["reverse_kl"], rel=10 * eps + 1e-9)
        assert dv.evaluate(p, q, ["alpha"], alpha=1 - eps)["alpha"] == pytest.approx(base["forward_kl"], rel=10 * eps + 1e-9)
        assert dv.evaluate(p, q, ["renyi"], alpha=1 - eps)["renyi"] == pytest.approx(base["forward_kl"], rel=10 * eps + 1e-9)
    # the skew losses reach their endpoints with a slope set by ∫p²/q (here infinite for skew_rkl), so the gap
    # must shrink monotonically to exactly zero rather than linearly
    for name, end in (("skew_kl", "forward_kl"), ("skew_rkl", "reverse_kl")):
        gaps = [abs(dv.evaluate(p, q, [name], alpha=eps)[name] - base[end]) for eps in (1e-3, 1e-6, 1e-9, 1e-12)]
        assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-4 * gaps[0]
        assert dv.evaluate(p, q, [name], alpha=0.0)[name] == pytest.approx(base[end], rel=1e-12)
    assert dv.evaluate(p, q, ["alpha"], alpha=0.5)["alpha"] == pytest.approx(4 * base["hellinger"], rel=1e-10)
    assert dv.evaluate(p, q, ["gkd_jsd"], beta=0.5)["gkd_jsd"] == pytest.approx(base["jsd"], rel=1e-12)


def test_alpha_family_reports_infinity_where_not_integrable():
    p, q = Target(), Approximation(mu=0.0, sigma=0.2)
    # alpha = 2: p^2/q integrable only if sigma^2 > s^2 / 2
    v = dv.evaluate_grid(p, 0.0, [0.2, 0.3], ["alpha"], gradients=True, alpha=2.0)["alpha"]
    assert v[0][0] == math.inf and np.isfinite(v[0][1])
    assert v[1][0] == 0.0


def test_bad_parameters_raise_clear_errors():
    q = Approximation(mu=0.0, sigma=1.0)
    with pytest.raises(ValueError, match="unknown divergence"):
        dv.evaluate(Target(), q, ["nope"])
    with pytest.raises(ValueError, match=r"alpha must be in \[-1, 2\]"):
        dv.evaluate(Target(), q, ["alpha"], alpha=7)
    with pytest.raises(ValueError, match="finite"):
        dv.evaluate(Target(), q, ["alpha"], alpha=float("nan"))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        dv.evaluate_grid(Target(), 0.0, -1.0)


def test_grid_matches_pointwise_and_keeps_shape():
    p = Target(n_modes=5)
    mu, sigma = np.meshgrid(np.linspace(-4, 4, 7), np.linspace(0.2, 3, 5))
    grid = dv.evaluate_grid(p, mu, sigma, dv.DEFAULT_NAMES)
    assert grid["jsd"].shape == (5, 7)
    one = dv.evaluate(p, Approximation(mu=float(mu[2, 3]), sigma=float(sigma[2, 3])), dv.DEFAULT_NAMES)
    for n in dv.DEFAULT_NAMES:
        assert grid[n][2, 3] == pytest.approx(one[n], rel=1e-13)


mixtures = st.integers(1, 5).flatmap(lambda k: st.tuples(
    st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k),
    st.lists(st.floats(-6, 6), min_size=k, max_size=k),
    st.lists(st.floats(0.05, 3.0), min_size=k, max_size=k)))


@settings(max_examples=40, deadline=None)
@given(mixtures, st.floats(-8, 8), st.floats(0.02, 20), st.floats(-3, 3), st.floats(0.2, 5))
def test_properties_nonnegative_finite_bounded_invariant(mix, mu, sigma, shift, scale):
    w, m, s = mix
    p = Target(weights=w, means=m, sigmas=s)
    names = ["forward_kl", "reverse_kl", "jsd", "tv", "hellinger", "skew_kl", "skew_rkl", "gkd_jsd"]
    v = dv.evaluate(p, Approximation(mu=mu, sigma=sigma), names)
    for n in names:
        assert np.isfinite(v[n]) and v[n] >= -1e-10, (n, v[n])
    assert v["jsd"] <= math.log(2) + 1e-12 and v["tv"] <= 1 + 1e-12 and v["hellinger"] <= 1 + 1e-12
    moved = Target(weights=w, means=[scale * x + shift for x in m], sigmas=[scale * x for x in s])
    v2 = dv.evaluate(moved, Approximation(mu=scale * mu + shift, sigma=scale * sigma), names)
    for n in names:
        assert v2[n] == pytest.approx(v[n], rel=1e-6, abs=1e-9), n


def test_q_beyond_double_precision_is_refused_not_wrong():
    from types import SimpleNamespace
    with pytest.raises(ValueError, match="double precision"):
        dv.evaluate(Target(), SimpleNamespace(mu=3.7e21, sigma=1.0))
    v = dv.evaluate_grid(Target(), [0.0, 3.7e21], [1.0, 1.0], ["reverse_kl"])["reverse_kl"]
    assert np.isfinite(v[0]) and np.isnan(v[1])


def test_tiny_sigma_far_out_stays_accurate():
    # reverse KL for a very narrow q: -H(q) - log p(mu) - sigma^2/2 (log p)''(mu) + O(sigma^4)
    from klpanel.numerics.quadrature import mixture_logpdf
    p = Target()
    for mu, s in [(0.7, 1e-9), (1000.0, 1e-6), (1e6, 1e-3)]:
        lp, _, d2 = mixture_logpdf(p, np.array(mu), derivatives=2)
        approx = -0.5 * math.log(2 * math.pi * math.e * s * s) - lp - 0.5 * s * s * d2
        got = dv.evaluate_grid(p, mu, s, ["reverse_kl"])["reverse_kl"]
        assert got == pytest.approx(float(approx), rel=1e-8)


def test_nearly_identical_components_give_finite_values():
    # means 3e-250 apart: their take-over point would lie ~1e249 away (found by hypothesis: every value was NaN)
    p = Target(weights=[1.0, 1.0, 0.5], means=[0.0, 0.0, 2.986465414440259e-250], sigmas=[1.0, 1.0, 1.0])
    v = dv.evaluate(p, Approximation(mu=0.0, sigma=1.0))
    assert all(abs(x) < 1e-12 for x in v.values()), v  # p is N(0, 1) = q to double precision


def test_cached_request_plans_check_every_request():
    """evaluate_grid caches what a request needs (names, validated parameters, integrals); a cached plan must
    not let a bad request through, and numpy or int parameters give the plain-float results."""
    from klpanel.numerics.divergences import evaluate_grid
    t = Target()
    good = evaluate_grid(t, 0.3, 0.9, ["alpha", "jsd"], alpha=1.0)
    assert evaluate_grid(t, 0.3, 0.9, ["alpha", "jsd"], alpha=1) == good
    assert evaluate_grid(t, 0.3, 0.9, ["alpha", "jsd"], alpha=np.float64(1.0)) == good
    for bad in (True, float("nan"), "1.0"):
        with pytest.raises(ValueError):
            evaluate_grid(t, 0.3, 0.9, ["alpha", "jsd"], alpha=bad)
    with pytest.raises(ValueError, match="unknown divergence"):
        evaluate_grid(t, 0.3, 0.9, ("alpha", "nope"))
    with pytest.raises(ValueError, match="unknown parameter"):
        evaluate_grid(t, 0.3, 0.9, ["jsd"], gamma=1.0)
    with pytest.raises(ValueError, match="must be in"):
        evaluate_grid(t, 0.3, 0.9, ["skew_kl"], alpha=1.5)
