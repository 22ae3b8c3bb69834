"""The α spectrum, the spread phase plot and the distillation losses: the theory they must show, and the view."""

import math
import warnings

import numpy as np
import pytest

from klpanel import Target, divergences, optimal_q
from klpanel.models import spectrum as sp

warnings.filterwarnings("ignore", category=RuntimeWarning)

GRID_MU, GRID_SIGMA = np.meshgrid(np.linspace(-4, 4, 9), [0.3, 0.8, 2.0, 3.5])


@pytest.fixture(scope="module")
def target():
    return Target()  # the original page's default: 3 modes, spread 3, decay 0.55


@pytest.fixture(scope="module")
def alpha_curve(target):
    return sp.alpha_curve(target, "alpha")


def test_alpha_grid_covers_the_registry_bounds():
    for family in sp.SPECTRUM_FAMILIES:
        grid = sp.alpha_grid(family)
        assert grid.size >= 60
        assert (grid[0], grid[-1]) == divergences.REGISTRY[family].params[0].bounds
        assert 0.0 in grid and 1.0 in grid and 0.5 in grid


def test_alpha_ends_are_reverse_and_forward_kl(target, alpha_curve):
    reverse, forward = optimal_q(target, "reverse_kl"), optimal_q(target, "forward_kl")
    i0, i1 = alpha_curve.at(0.0), alpha_curve.at(1.0)
    assert (alpha_curve.mu[i0], alpha_curve.sigma[i0]) == pytest.approx((reverse.mu, reverse.sigma), abs=1e-4)
    assert alpha_curve.value[i0] == pytest.approx(reverse.value, rel=1e-6)
    assert (alpha_curve.mu[i1], alpha_curve.sigma[i1]) == pytest.approx((forward.mu, forward.sigma), abs=1e-4)
    assert alpha_curve.value[i1] == pytest.approx(forward.value, rel=1e-6)
    # and the limits, approached from inside (0, 1)
    near0, near1 = optimal_q(target, "alpha", alpha=1e-4), optimal_q(target, "alpha", alpha=1 - 1e-4)
    assert (near0.mu, near0.sigma) == pytest.approx((reverse.mu, reverse.sigma), abs=1e-3)
    assert (near1.mu, near1.sigma) == pytest.approx((forward.mu, forward.sigma), abs=1e-3)


def test_alpha_half_is_four_squared_hellinger_with_the_same_optimum(target):
    values = divergences.evaluate_grid(target, GRID_MU, GRID_SIGMA, ["alpha", "hellinger"], alpha=0.5)
    np.testing.assert_allclose(values["alpha"], 4 * values["hellinger"], rtol=1e-9, atol=1e-12)
    a, h = optimal_q(target, "alpha", alpha=0.5), optimal_q(target, "hellinger")
    assert (a.mu, a.sigma) == pytest.approx((h.mu, h.sigma), abs=1e-4)
    assert a.value == pytest.approx(4 * h.value, rel=1e-8)


def test_the_curve_is_the_global_optimum_and_breaks_where_it_jumps(target, alpha_curve):
    for i in range(0, alpha_curve.t.size, 10):
        best = optimal_q(target, "alpha", alpha=float(alpha_curve.t[i]))
        assert alpha_curve.value[i] == pytest.approx(best.value, rel=1e-7, abs=1e-10)
    # default target: seeks the heaviest mode up to α ≈ ½, covers beyond: one jump, between 0.5 and 0.55
    assert alpha_curve.jumps_at == pytest.approx([0.525])
    j = alpha_curve.at(0.55)
    assert alpha_curve.sigma[j - 1] < 0.4 < 2.0 < alpha_curve.sigma[j]
    t, mu = alpha_curve.broken("mu")
    assert np.isnan(mu).sum() == 1 and np.isnan(t[np.isnan(mu)]).all()
    assert t.size == alpha_curve.t.size + 1
    # α ≤ 0 locks onto the heaviest mode
    heaviest = target.means[np.argmax(target.weights)]
    low = alpha_curve.t <= 0
    np.testing.assert_allclose(alpha_curve.mu[low], heaviest, atol=1e-3)


@pytest.mark.parametrize("family", sp.SPECTRUM_FAMILIES)
def test_optimum_widens_monotonically_with_the_order(target, family):
    """Increasing α (Minka) or the Rényi order makes the divergence more inclusive: σ* never shrinks."""
    curve = sp.alpha_curve(target, family)
    sigma = curve.sigma[np.isfinite(curve.sigma)]
    assert sigma.size >= 55
    assert np.all(np.diff(sigma) >= -1e-6)
    assert curve.sigma[-1] > 2.0  # α = 2 covers everything


def test_reverse_kl_collapses_as_modes_separate():
    """Spread phase plot: reverse KL's σ* only shrinks as the modes move apart; forward KL's grows."""
    curve = sp.spread_curve(2, 0.55, "reverse_kl", points=41)
    assert curve.t.size >= 40 and curve.t[0] == 1.5 and curve.t[-1] == 5.0
    assert np.all(np.diff(curve.sigma) <= 1e-6)
    assert curve.sigma[-1] == pytest.approx(0.35, abs=1e-3)
    forward = sp.spread_curve(2, 0.55, "forward_kl", points=41)
    assert np.all(np.diff(forward.sigma) > 0)
    for i in (0, 20, 40):
        best = optimal_q(Target(n_modes=2, spread=float(curve.t[i]), decay=0.55), "reverse_kl")
        assert curve.value[i] == pytest.approx(best.value, rel=1e-7)


def test_gkd_half_is_jsd(target):
    values = divergences.evaluate_grid(target, GRID_MU, GRID_SIGMA, ["gkd_jsd", "jsd"], beta=0.5)
    np.testing.assert_allclose(values["gkd_jsd"], values["jsd"], rtol=1e-9, atol=1e-13)
    g, j = optimal_q(target, "gkd_jsd", beta=0.5), optimal_q(target, "jsd")
    assert (g.mu, g.sigma, g.value) == pytest.approx((j.mu, j.sigma, j.value), rel=1e-6, abs=1e-6)


def test_skew_kl_tends_to_forward_kl(target):
    # pointwise, not uniformly: SKL_α ≤ −log α, so q with KL(p‖q) ≫ −log α converge only at smaller α
    mu, sigma = np.meshgrid(np.linspace(-3, 3, 7), [2.0, 3.5])
    forward = divergences.evaluate_grid(target, mu, sigma, ["forward_kl"])["forward_kl"]
    previous = math.inf
    for alpha in (1e-2, 1e-4, 1e-6):
        skew = divergences.evaluate_grid(target, mu, sigma, ["skew_kl"], alpha=alpha)["skew_kl"]
        gap = np.max(np.abs(skew - forward) / (1 + forward))
        assert gap < previous
        previous = gap
    assert previous < 1e-3
    exact = divergences.evaluate_grid(target, mu, sigma, ["skew_kl"], alpha=0.0)["skew_kl"]
    np.testing.assert_allclose(exact, forward, rtol=1e-12, atol=1e-12)
    best, fwd = optimal_q(target, "skew_kl", alpha=1e-6), optimal_q(target, "forward_kl")
    assert (best.mu, best.sigma) == pytest.approx((fwd.mu, fwd.sigma), abs=1e-3)


def test_distillation_losses_move_between_the_two_kls():
    p = Target(n_modes=2, spread=2.0, decay=0.6)
    forward, reverse = optimal_q(p, "forward_kl"), optimal_q(p, "reverse_kl")
    curves = sp.Distillation(target=p).curves()
    assert set(curves) == set(sp.DISTILLATION)
    skew, rskew, gkd = curves["skew_kl"], curves["skew_rkl"], curves["gkd_jsd"]
    assert (skew.mu[0], skew.sigma[0]) == pytest.approx((forward.mu, forward.sigma), abs=1e-4)  # α = 0
    assert (rskew.mu[0], rskew.sigma[0]) == pytest.approx((reverse.mu, reverse.sigma), abs=1e-4)  # α = 0
    # GKD at small β is near forward KL, at large β near reverse KL; in between it is the JSD at β = ½
    assert abs(gkd.sigma[0] - forward.sigma) < abs(gkd.sigma[0] - reverse.sigma)
    assert abs(gkd.sigma[-1] - reverse.sigma) < abs(gkd.sigma[-1] - forward.sigma)
    half = gkd.at(0.5)
    assert gkd.t[half] == 0.5 and gkd.value[half] == pytest.approx(optimal_q(p, "jsd").value, rel=1e-7)
    # each optimum stays between (or at) the two KL optima's widths
    for c in (skew, rskew, gkd):
        assert np.all(c.sigma >= min(forward.sigma, reverse.sigma) - 0.05)
        assert np.all(c.sigma <= max(forward.sigma, reverse.sigma) + 0.05)


def test_spectrum_model_reads_the_curve_and_clamps_to_the_family():
    m = sp.AlphaSpectrum(target=Target(n_modes=2, spread=1.5, decay=0.9), alpha=-0.5)
    curve = m.curve()
    assert m.cached_curve() is curve  # cached
    i = curve.at(-0.5)
    assert m.optimum() == (curve.mu[i], curve.sigma[i], curve.value[i])
    m.family = "renyi"
    assert m.alpha == 0.0 and m.param.alpha.bounds == (0.0, 2.0)
    m.alpha = 0.333  # off the grid: computed directly
    best = optimal_q(m.target, "renyi", alpha=0.333)
    assert m.optimum()[:2] == pytest.approx((best.mu, best.sigma))


def test_renyi_order_zero_has_no_optimum():
    """D^R_0 = −log Q(supp p) = 0 for every q: no point is singled out, the curve leaves a gap."""
    curve = sp.alpha_curve(Target(n_modes=2, spread=1.5, decay=0.9), "renyi")
    assert np.isnan(curve.mu[0]) and curve.minima[0] == ()
    assert np.isfinite(curve.mu[1:]).all()


def test_the_view_builds_and_follows_the_target():
    pn = pytest.importorskip("panel")
    from klpanel import plots
    from klpanel.models.explorer import Explorer
    from klpanel.views.spectrum import SpectrumSection

    explorer = Explorer(target=Target(n_modes=2, spread=1.5, decay=0.9))
    view = SpectrumSection(explorer=explorer, compute="sync")
    pn.panel(view).get_root()  # renders to Bokeh models
    curve = sp.alpha_curve(explorer.target, "alpha")
    assert view.alpha_curve is curve
    assert len(plots.sources(view.alpha_figure)["spectrum-mu"].data["alpha"]) == curve.t.size + curve.jump.sum()
    view.spectrum.alpha = 1.0
    sigma = curve.sigma[curve.at(1.0)]
    assert "N(" in view.alpha_line.object and f"{sigma:.3f}" in view.alpha_line.object
    assert [mark.location for mark in view.alpha_marks] == [1.0]
    assert np.max(view.q_source.data["y"]) == pytest.approx(1 / (sigma * math.sqrt(2 * math.pi)), rel=1e-5)
    assert set(view.distill_curves) == set(sp.DISTILLATION)
    assert all(f"{view.distill_curves[n].t[view.distill_curves[n].at(s.value)]:.2f}" in view.distill_lines[n].object
               for n, s in view.distill_sliders.items())

    explorer.target.n_modes = 1  # the view follows: new p, new curves
    assert np.allclose(view.p_source.data["p"], explorer.target.pdf(explorer.x), rtol=1e-5, atol=1e-7)
    new = sp.alpha_curve(explorer.target, "alpha")
    assert view.alpha_curve is new and new is not curve
    assert new.sigma[new.at(1.0)] == pytest.approx(0.35, abs=1e-6)  # one Gaussian: every divergence finds it
    assert "N(0.000, 0.350²)" in view.alpha_line.object

    view.spectrum.family = "renyi"
    assert view.alpha.start == 0.0 and view.alpha_curve is sp.alpha_curve(explorer.target, "renyi")
    assert view.alpha_figure.x_range.start == 0.0


def test_phase_plot_on_request_with_progress():
    pytest.importorskip("panel")
    from bokeh.document import Document
    from bokeh.models import Span

    from klpanel import plots
    from klpanel.models.explorer import Explorer
    from klpanel.views.spectrum import SpectrumSection

    explorer = Explorer(target=Target(n_modes=2, spread=2.0, decay=0.9))
    view = SpectrumSection(explorer=explorer, compute="manual")
    assert view.alpha_curve is None and "not computed yet" in view.alpha_line.object
    assert view.compute_button.visible and "Press the button" in view.phase_note.object
    seen = []
    phase = sp.SpreadPhase(n_modes=2, decay=0.9, names=["reverse_kl", "hellinger"], points=41)
    curves = phase.curves(progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] == 82 and all(b == 82 for _, b in seen)
    view.phase.names = ["reverse_kl", "hellinger"]
    view.refresh_phase()
    assert set(view.phase_curves) == {"reverse_kl", "hellinger"}
    explorer.target.spread = 3.0  # manual: p follows at once, curves wait for a refresh; the mark moves
    assert view.alpha_curve is None and "not computed yet" in view.alpha_line.object
    view.compute_button.clicks += 1  # Jupyter: the button computes in place
    assert view.alpha_curve is sp.alpha_curve(explorer.target, "alpha")
    assert set(view.distill_curves) == set(sp.DISTILLATION)
    assert view.phase_curves  # same modes and decay: the cached phase plot stays
    assert all(view.phase_curves[n] is curves[n] for n in curves)  # cached per settings
    doc = Document()
    doc.add_root(view.phase_plot.get_root(doc))
    figures = [m for m in doc.models if type(m).__name__ == "figure"]
    assert len(figures) == 2
    for fig in figures:  # σ* and μ*: the spread is marked where it moved, the computed curves are in the legend
        assert [r.location for r in fig.renderers if isinstance(r, Span)] == [3.0]
        legend = [item.label.value for item in fig.legend[0].items]
        assert legend == [divergences.REGISTRY[n].label for n in ("reverse_kl", "hellinger")]
    (sigma,) = [f for f in figures if "phase-sigma-hellinger" in plots.sources(f)]
    assert len(plots.sources(sigma)["phase-sigma-hellinger"].data["spread"]) >= 41
    assert "Computed for 2 modes" in view.phase_note.object
