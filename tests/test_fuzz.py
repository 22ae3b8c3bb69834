"""Fuzz the library's public functions: only the documented ValueErrors, and finite output for valid input."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from klpanel import Approximation, Target, divergences as dv, optimal_q

anything = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                     st.text(max_size=3), st.none(), st.booleans())
number_lists = st.lists(anything, min_size=0, max_size=10)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number_lists, number_lists, number_lists)
def test_target_construction_raises_only_value_errors(w, m, s):
    try:
        p = Target(weights=w, means=m, sigmas=s)
    except ValueError as exc:
        assert str(exc)
        return
    assert np.all(np.isfinite(p.weights)) and abs(p.weights.sum() - 1) < 1e-12
    assert np.all(p.sigmas > 0)


@settings(max_examples=80, deadline=None)
@given(anything, anything, st.sampled_from(list(dv.REGISTRY) + ["bogus"]), anything)
def test_evaluate_raises_only_value_errors(mu, sigma, name, alpha):
    try:
        q = Approximation(mu=mu, sigma=sigma)
        dv.evaluate(Target(), q, [name], alpha=alpha)
    except ValueError as exc:
        assert str(exc)


valid_mix = st.integers(1, 8).flatmap(lambda k: st.tuples(
    st.lists(st.floats(1e-3, 1.0), min_size=k, max_size=k),
    st.lists(st.floats(-50, 50), min_size=k, max_size=k),
    st.lists(st.floats(1e-3, 30.0), min_size=k, max_size=k)))


@settings(max_examples=30, deadline=None)
@given(valid_mix, st.floats(-100, 100), st.floats(1e-3, 100), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_valid_input_gives_finite_values_and_gradients(mix, mu, sigma, alpha, beta):
    p = Target(weights=mix[0], means=mix[1], sigmas=mix[2])
    out = dv.evaluate_grid(p, mu, sigma, None, gradients=True, alpha=alpha, beta=beta)
    for name, (v, dmu, dsig) in out.items():
        if name == "renyi" and alpha > 1:
            continue
        assert np.isfinite(v) and np.isfinite(dmu) and np.isfinite(dsig), (name, v, dmu, dsig)
        assert v >= -1e-9 * max(1.0, abs(float(v))), (name, v)


@settings(max_examples=8, deadline=None)
@given(valid_mix, st.sampled_from(["reverse_kl", "jsd", "tv", "hellinger"]))
def test_optimal_q_is_finite(mix, name):
    p = Target(weights=mix[0], means=mix[1], sigmas=mix[2])
    best = optimal_q(p, name)
    assert math.isfinite(best.mu) and best.sigma > 0 and math.isfinite(best.value)
    assert best.local_minima and best.local_minima[0].value == best.value
