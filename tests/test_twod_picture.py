"""The 2-D picture's model (klpanel.models.twod) and HoloViews plot (klpanel.plots.bishop)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from klpanel import plots
from klpanel.models.twod import Approximation2D, Descent2D, Target2D, TwoD
from klpanel.numerics import gauss2d as g
from klpanel.plots import twod as pictures


def test_presets_set_their_shape_and_values_follow_q():
    m = TwoD()
    assert (m.target.sigma1, m.target.rho) == (1.0, 0.9)
    m.target.preset = "ring of 4"
    assert m.mixture.n == 4 and m.target.sigma1 == pytest.approx(0.55)
    m.q.param.update(mu1=0.0, mu2=2.5)
    assert m.values == g.evaluate(m.mixture, m.q.gaussian)
    assert m.optima["reverse_kl"].q.mu2 == pytest.approx(2.5, abs=0.05)  # mode seeking: on a component


def test_family_switch_resets_rho_and_optima():
    m = TwoD(family="full")
    m.q.rho = 0.5
    assert m.optima["reverse_kl"].q.rho == pytest.approx(0.9)
    m.family = "factorised"
    assert m.q.rho == 0.0 and m.optima["reverse_kl"].q.rho == 0.0


@pytest.mark.parametrize("direction", g.DIRECTIONS)
def test_descent_reaches_the_optimum(direction):
    p = Target2D().mixture
    run = Descent2D(p, direction, "factorised", Approximation2D().gaussian).step(3000)
    assert run.converged
    best = g.optimal_q(p, direction, "factorised")
    assert np.allclose(run.q, best.q, atol=1e-4)
    values = run.trajectory["value"]
    assert values[-1] == pytest.approx(best.value, abs=1e-8) and values[-1] <= values[0]


def test_contours_of_a_gaussian_are_its_ellipses():
    """Marching squares at p's peak × e^(−k²/2) traces p's Mahalanobis-k ellipse."""
    p = Target2D(rho=0.6, sigma1=1.2, sigma2=0.7).mixture
    seg = pictures.p_contours(p, n=301)
    c = p.component(0)
    prec = np.linalg.inv(c.cov)
    pts = np.column_stack([seg["x1"], seg["x2"]])
    radii = np.sqrt(np.einsum("ni,ij,nj->n", pts, prec, pts))
    nearest = np.min(np.abs(radii[:, None] - np.array(pictures.CONTOUR_RADII)[None, :]), axis=1)
    assert nearest.max() < 5e-3
    for k in pictures.CONTOUR_RADII:
        assert np.any(np.abs(radii - k) < 5e-3)


def test_bishop_picture_has_named_dims_and_sources():
    overlay = plots.bishop(Target2D(), "factorised", q=Approximation2D())
    assert all([d.name for d in el.kdims][:2] == ["x1", "x2"] for el in overlay)
    sources = plots.sources(hv.render(overlay))
    assert {"twod-p-contours", "twod-optimum-forward_kl", "twod-optimum-reverse_kl", "twod-q",
            "twod-q-handles"} <= set(sources)
    # the mean-field reverse-KL ellipse at Mahalanobis 1 reaches √(1 − ρ²) along x₁
    assert max(sources["twod-optimum-reverse_kl"].data["xs"][0]) == pytest.approx(np.sqrt(1 - 0.81), rel=1e-3)
