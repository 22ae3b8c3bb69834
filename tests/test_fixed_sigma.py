"""The fixed-σ family q = N(μ, σ₀²): optima over μ alone (against a dense search and finite differences, and the
closed forms), the explorer's family switch, runs that move μ only, and the μ-only landscape curve."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from klpanel import Target, divergences as dv
from klpanel.models.explorer import Explorer
from klpanel.models.family import FIXED, FREE
from klpanel.numerics.optima_fixed import optimal_mu, scan_range

TARGETS = {
    "default": Target(),
    "two far modes": Target(weights=[0.5, 0.5], means=[-4.0, 4.0], sigmas=[0.5, 0.5]),
    "heavy tail": Target(weights=[0.75, 0.25], means=[-1.0, 1.5], sigmas=[0.4, 2.5]),
}
SIGMAS = (0.4, 1.3)


def values(p, name, mu, sigma):
    return np.asarray(dv.evaluate_grid(p, np.asarray(mu, float), sigma, [name])[name], float)


def dense_minimum(p, name, sigma):
    """The global minimiser over μ by brute force: a 20 001-point grid, then a bounded scalar search (values only)
    between the best point's neighbours."""
    lo, hi = scan_range(p, sigma)
    mu = np.linspace(lo, hi, 20_001)
    v = values(p, name, mu, sigma)
    i = int(np.argmin(v))
    a, b = mu[max(i - 1, 0)], mu[min(i + 1, mu.size - 1)]
    res = minimize_scalar(lambda m: float(values(p, name, [m], sigma)[0]), bounds=(a, b), method="bounded",
                          options={"xatol": 1e-11})
    return res.x, res.fun, v


def fd_slope(p, name, mu, sigma, h=1e-5):
    return float((values(p, name, [mu + h], sigma)[0] - values(p, name, [mu - h], sigma)[0]) / (2 * h))


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", list(dv.REGISTRY))
@pytest.mark.parametrize("sigma", SIGMAS)
def test_global_optimum_matches_a_dense_search(target, name, sigma):
    p = TARGETS[target]
    best = optimal_mu(p, name, sigma)
    assert best.sigma == sigma and all(m.sigma == sigma for m in best.local_minima)
    if not math.isfinite(best.value):  # the α family infinite at this σ: infinite for every μ
        assert np.isinf(values(p, name, np.linspace(-5, 5, 11), sigma)).all()
        return
    mu, value, grid = dense_minimum(p, name, sigma)
    assert best.value <= grid.min() + 1e-12  # never worse than any dense-grid value
    assert best.value == pytest.approx(value, abs=1e-10)
    assert best.mu == pytest.approx(mu, abs=1e-6)


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", list(dv.REGISTRY))
def test_every_local_minimum_is_stationary_and_a_minimum(target, name):
    p, sigma = TARGETS[target], 0.6
    best = optimal_mu(p, name, sigma)
    values_found = [m.value for m in best.local_minima]
    assert values_found == sorted(values_found)  # global first
    for m in best.local_minima:
        slope = fd_slope(p, name, m.mu, sigma)
        _, dmu, _ = dv.evaluate_grid(p, m.mu, sigma, [name], gradients=True)[name]
        # TV grows like |Δμ|^(3/2) off a tangency of q with p (the edge of a flat-topped minimum): its ∂D/∂μ falls
        # like √|Δμ| there, so a minimum found to 1e-13 leaves it ~1e-6, and central differences do not vanish
        assert abs(float(dmu)) < (1e-5 if name == "tv" else 1e-7) * max(1.0, abs(m.value))  # exact ∂D/∂μ ≈ 0
        if name != "tv":
            assert abs(slope) < 1e-5 * max(1.0, abs(m.value))  # ... and so does the finite difference
        around = values(p, name, [m.mu - 1e-3, m.mu + 1e-3], sigma)
        assert (around >= m.value - 1e-12).all()


@pytest.mark.parametrize("name", ["reverse_kl", "jsd", "hellinger", "alpha", "skew_rkl"])
def test_the_exact_mu_gradient_agrees_with_finite_differences(name):
    p = TARGETS["default"]
    for mu in (-2.3, 0.4, 1.7):
        _, dmu, _ = dv.evaluate_grid(p, mu, 0.7, [name], gradients=True)[name]
        assert float(dmu) == pytest.approx(fd_slope(p, name, mu, 0.7), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("sigma", SIGMAS)
def test_forward_kl_at_fixed_sigma_is_the_mean_of_p(target, sigma):
    """KL(p‖N(μ, σ₀²)) = −H(p) + log σ₀ + ½ log 2π + E_p[(x−μ)²]/(2σ₀²): minimised by μ* = E_p[x], whatever σ₀,
    with value −H(p) + log σ₀ + ½ log 2π + Var_p/(2σ₀²)."""
    p = TARGETS[target]
    best = optimal_mu(p, "forward_kl", sigma)
    assert best.mu == p.mean and len(best.local_minima) == 1
    closed = -p.entropy + math.log(sigma) + 0.5 * math.log(2 * math.pi) + p.var / (2 * sigma**2)
    assert best.value == pytest.approx(closed, rel=1e-9)
    assert dense_minimum(p, "forward_kl", sigma)[0] == pytest.approx(p.mean, abs=1e-6)


@pytest.mark.parametrize("name", [n for n, d in dv.REGISTRY.items() if d.symmetric] + ["reverse_kl", "alpha"])
def test_a_single_gaussian_is_matched_at_its_mean(name):
    """For p = N(m, s²) every divergence here is even in μ − m at fixed σ₀ and smallest at μ = m."""
    p = Target(weights=[1.0], means=[1.25], sigmas=[0.7])
    for sigma in (0.3, 0.7, 2.0):
        best = optimal_mu(p, name, sigma)
        # (TV at σ₀ = s is |Δμ|-shaped, and its kernel reads q within a few 1e-9 of p as p: exactly 0 there)
        assert best.mu == pytest.approx(1.25, abs=1e-8)
        assert len(best.local_minima) == 1


def test_the_alpha_family_outside_its_finite_sigma_range_is_infinite():
    p = TARGETS["default"]  # α = 2 needs σ² > s²/2: σ₀ = 0.2 < 0.35/√2 is outside
    best = optimal_mu(p, "alpha", 0.2, alpha=2.0)
    assert math.isinf(best.value)


# -- the explorer's family switch ---------------------------------------------------------------------------------
def test_explorer_fixed_family_holds_q_sigma_and_reports_fixed_optima():
    e = Explorer()
    free = {n: (o.mu, o.sigma) for n, o in e.optima.items()}
    e.param.update(family=FIXED, sigma_fixed=1.1)
    assert e.q.sigma == 1.1
    for name, best in e.optima.items():
        assert best.sigma == 1.1
        assert best.mu == pytest.approx(optimal_mu(e.target, name, 1.1, **e.divergence_params(name)).mu, abs=1e-12)
        assert e.optimal_densities[name].max() == pytest.approx(1 / (1.1 * math.sqrt(2 * math.pi)), rel=1e-3)
    e.q.sigma = 2.0  # the σ slider is bound to q.sigma: it snaps back to σ₀
    assert e.q.sigma == 1.1
    e.q.mu = 0.5  # μ moves freely
    assert e.q.mu == 0.5 and e.values["reverse_kl"] == pytest.approx(values(e.target, "reverse_kl", [0.5], 1.1)[0])
    e.sigma_fixed = 0.5
    assert e.q.sigma == 0.5 and all(o.sigma == 0.5 for o in e.optima.values())
    e.target.n_modes = 4  # a new target: optima in the fixed family still
    assert all(o.sigma == 0.5 for o in e.optima.values())
    assert e.snapshot()["family"] == {"name": FIXED, "sigma": 0.5}
    e.family = FREE
    assert e.q.sigma == 0.5  # q stays where it was; now free to move
    e.q.sigma = 2.0
    assert e.q.sigma == 2.0
    e2 = Explorer()
    assert {n: (o.mu, o.sigma) for n, o in e2.optima.items()} == free


def test_explorer_built_in_the_fixed_family():
    e = Explorer(family=FIXED, sigma_fixed=0.6)
    assert e.q.sigma == 0.6 and all(o.sigma == 0.6 for o in e.optima.values())


# -- runs and dynamics: μ moves, σ stays σ₀ -----------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("parameterization", ["sigma", "log_sigma"])
def test_runs_in_the_fixed_family_move_mu_only_and_reach_the_fixed_optimum(optimizer, parameterization):
    from klpanel.models.optimizers import make_optimizer
    from klpanel.models.runs import Run, step_runs

    p = TARGETS["default"]
    opt = make_optimizer({"name": optimizer, "lr": 0.05 if optimizer != "gd" else 0.1,
                          "parameterization": parameterization})
    runs = [Run(target=p, divergence=name, mu0=mu0, sigma0=2.5, sigma_fixed=0.7, optimizer=opt, sigma_floor=0.9,
                tol=1e-7) for name in ("reverse_kl", "jsd", "forward_kl") for mu0 in (-1.0, 1.5)]
    step_runs(runs, 20_000)
    for run in runs:
        assert run.converged, run
        assert (run.trajectory["sigma"] == 0.7).all()  # exactly σ₀ at every step (below the floor: not raised)
        best = optimal_mu(p, run.divergence, 0.7)
        assert run.minimum is not None and run.minimum.sigma == 0.7
        assert run.mu == pytest.approx(run.minimum.mu, abs=1e-4)
        assert run.minimum in best.local_minima
    forward = [r for r in runs if r.divergence == "forward_kl"]
    assert all(r.mu == pytest.approx(p.mean, abs=1e-4) and r.minimum_index == 0 for r in forward)


def test_dynamics_in_the_fixed_family():
    from klpanel.models.dynamics import Dynamics

    d = Dynamics(divergences=["forward_kl", "reverse_kl", "jsd"], mu0=1.0, sigma0=0.8)
    assert d.landscape.curve is None and d.curves() == {}
    d.sigma_fixed = 0.6
    assert all(r.sigma == 0.6 for r in d.runs)  # the runs restarted at σ₀
    curve = d.landscape.curve
    assert curve.divergence == "reverse_kl" and curve.sigma == 0.6
    assert curve.values == pytest.approx(values(d.target, "reverse_kl", curve.mu, 0.6))
    assert curve.minima == optimal_mu(d.target, "reverse_kl", 0.6).local_minima
    assert set(d.curves()) == {"reverse_kl", "forward_kl", "jsd"}
    d.start_restarts()
    for _ in range(400):
        d.advance(50)
        if d.done:
            break
    assert d.done
    for r in d.all_runs:
        assert set(r.trajectory["sigma"]) == {0.6}
        assert r.minimum is not None
    assert sum(d.restart_summary().values()) == len(d.restarts) and None not in d.restart_summary()
    d.sigma_fixed = None  # back to the free family: the grid again, σ moves
    assert d.landscape.grid is not None
    d.advance(20)
    assert any(r.sigma != 0.6 for r in d.runs)


# -- the picture: each divergence over μ with its minima --------------------------------------------------------------
def test_mu_landscape_draws_each_divergence_over_mu_with_its_minima():
    import holoviews as hv

    from klpanel import plots
    from klpanel.plots.style import COLORS

    p, names = TARGETS["default"], ["forward_kl", "reverse_kl", "tv"]
    overlay = plots.mu_landscape(p, names, sigma=0.8)
    curves = [el for el in overlay if isinstance(el, hv.Curve)]
    assert [c.label for c in curves] == [dv.REGISTRY[n].label for n in names]
    for name, c in zip(names, curves):
        assert [d.name for d in c.kdims] == ["mu"] and [d.name for d in c.vdims] == ["loss", "divergence"]
        mu = c.dimension_values("mu")
        assert c.dimension_values("loss") == pytest.approx(values(p, name, mu, 0.8))
    points = next(el for el in overlay if isinstance(el, hv.Points))
    expected = [(m.mu, m.value, COLORS[n]) for n in names for m in optimal_mu(p, n, 0.8).local_minima
                if -5 <= m.mu <= 5]
    got = list(zip(points.dimension_values("mu"), points.dimension_values("loss"), points.dimension_values("color")))
    assert got == expected
    assert list(points.dimension_values("kind")).count("global minimum") == len(names)
    sources = plots.sources(hv.render(overlay))
    assert {"curve-forward_kl", "curve-reverse_kl", "curve-tv", "curve-minima"} <= set(sources)


# -- views (no browser): the toggle in section 1, the curve in the dynamics section --------------------------------
def test_sections_follow_the_family_switch():
    from bokeh.models import CustomJSTransform

    from klpanel.views.dynamics import DynamicsSection
    from klpanel.views.optimal import OptimalSection

    e = Explorer()
    optimal = OptimalSection(explorer=e)
    dynamics = DynamicsSection(explorer=e, autoplay=False)
    heat_map = dynamics.landscape_pane.object
    assert not optimal.sigma_fixed.visible
    optimal.family.value = FIXED
    assert optimal.sigma_fixed.visible and e.q.sigma == e.sigma_fixed
    optimal.sigma_fixed._process_events({"value": 1.2, "value_throttled": 1.2})  # a slider release moves σ₀ and q
    assert e.q.sigma == 1.2 and dynamics.model.sigma_fixed == 1.2
    for name in e.optima:  # section 1 draws the fixed-σ optima: every q at σ₀, centred on its optimal μ
        q = optimal.sources[f"optimum-{name}"].data
        x = np.asarray(optimal.sources["p"].data["x"], float)
        assert np.max(q[name]) == pytest.approx(1 / (1.2 * math.sqrt(2 * math.pi)), rel=1e-3)
        assert x[np.argmax(q[name])] == pytest.approx(e.optima[name].mu, abs=0.05)
    fig = dynamics.landscape_pane.object
    assert fig is dynamics.curve_figure and "σ₀ = 1.2" in fig.title.text and not dynamics.log_sigma_box.visible
    assert {"curve-forward_kl", "curve-reverse_kl", "curve-minima"} <= set(__import__("klpanel").plots.sources(fig))
    marker = fig.select_one({"name": "klpanel-curve-now"})
    assert marker.data_source is dynamics.now_source and isinstance(marker.glyph.y.transform, CustomJSTransform)
    dynamics._restart_from_q()
    dynamics.step()
    assert dynamics.curve_rows.data["name"] == ["forward_kl", "reverse_kl"]
    assert set(dynamics.now_source.data["sigma"]) == {1.2}
    optimal.family.value = "free"
    assert dynamics.landscape_pane.object is dynamics.landscape_figure is not heat_map  # the heat map, rendered anew
    assert dynamics.log_sigma_box.visible
    assert "over (μ, σ)" in dynamics.landscape_figure.title.text and dynamics.model.sigma_fixed is None
