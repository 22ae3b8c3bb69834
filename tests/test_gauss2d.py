"""The 2-D numerics (klpanel.numerics.gauss2d, cubature2d): closed forms against independent formulas and numerical
integration, the mixture cubature against QUADPACK, gradients against finite differences, optima against searches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from klpanel.numerics import gauss2d as g
from klpanel.numerics.cubature2d import expect_log_p

BISHOP = g.Mixture2D.gaussian(0.0, 0.0, 1.0, 1.0, 0.9)
BLOBS = g.Mixture2D([1, 2], [[-2, -1], [2, 1]], [[0.5, 0.8], [0.7, 0.4]], [0.5, -0.3])
RING = g.Mixture2D([1, 1, 1, 1], [[2, 0], [0, 2], [-2, 0], [0, -2]], [[0.4, 0.6]] * 4, [0.5] * 4)
SIDE_BY_SIDE = g.Mixture2D([1, 1], [[-2, 0], [2, 0]], [[0.5, 0.5], [0.5, 0.5]], [0, 0])  # a crossing straight along x₂
Q = g.Gaussian2D(0.3, -0.4, 1.3, 0.8, -0.2)


def kl_reference(m0, s0, m1, s1) -> float:
    """KL(N₀‖N₁) written out with numpy.linalg (the textbook formula)."""
    inv1 = np.linalg.inv(s1)
    d = np.asarray(m1) - np.asarray(m0)
    return 0.5 * (np.trace(inv1 @ s0) + d @ inv1 @ d - 2 + np.log(np.linalg.det(s1) / np.linalg.det(s0)))


def nested_quad(f, q: g.Gaussian2D) -> float:
    """∫∫ N(x; q) f(x) dx by QUADPACK in q's standardised coordinates (independent of the cubature's rule)."""
    L, m = q.chol, q.mean

    def inner(u):
        h = lambda v: math.exp(-0.5 * (u * u + v * v)) / (2 * math.pi) * f(  # noqa: E731
            np.array([m[0] + L[0, 0] * u, m[1] + L[1, 0] * u + L[1, 1] * v]))
        return integrate.quad(h, -11, 11, epsabs=1e-14, epsrel=1e-13, limit=500)[0]
    return integrate.quad(inner, -11, 11, epsabs=1e-14, epsrel=1e-13, limit=500)[0]


# -- closed forms ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [BISHOP, g.Mixture2D.gaussian(1.0, -0.5, 0.6, 1.7, -0.4)])
def test_gaussian_kls_equal_the_textbook_formula(p):
    c = p.component(0)
    assert g.reverse_kl(p, Q) == pytest.approx(kl_reference(Q.mean, Q.cov, c.mean, c.cov), rel=1e-13)
    assert g.forward_kl(p, Q) == pytest.approx(kl_reference(c.mean, c.cov, Q.mean, Q.cov), rel=1e-13)


def test_gaussian_kl_equals_its_integral():
    """KL(q‖p) = ∫ q log(q/p), integrated numerically with scipy.stats' densities."""
    c = BISHOP.component(0)
    q_pdf, p_pdf = stats.multivariate_normal(Q.mean, Q.cov), stats.multivariate_normal(c.mean, c.cov)
    value = nested_quad(lambda x: q_pdf.logpdf(x) - p_pdf.logpdf(x), Q)
    assert g.reverse_kl(BISHOP, Q) == pytest.approx(value, rel=1e-10)


def test_kl_is_zero_at_p_and_positive_elsewhere():
    c = BISHOP.component(0)
    assert g.reverse_kl(BISHOP, c) == pytest.approx(0.0, abs=1e-14)
    assert g.forward_kl(BISHOP, c) == pytest.approx(0.0, abs=1e-14)
    assert g.reverse_kl(BISHOP, Q) > 0 and g.forward_kl(BISHOP, Q) > 0


def test_mixture_moments_and_entropy():
    samples = np.concatenate([stats.multivariate_normal(m, c).rvs(200_000, random_state=k)
                              for k, (m, c) in enumerate(zip(BLOBS.means, BLOBS.covs))])
    weights = np.repeat(BLOBS.weights / 200_000, 200_000)
    mean = weights @ samples
    assert BLOBS.moments.mean == pytest.approx(mean, abs=0.01)
    # entropy against QUADPACK in each component's frame
    ref = -sum(w * nested_quad(BLOBS.logpdf, BLOBS.component(k)) for k, w in enumerate(BLOBS.weights))
    assert BLOBS.entropy == pytest.approx(ref, abs=1e-9)


# -- the mixture cubature ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p, q", [(BLOBS, g.Gaussian2D(0.2, 0.3, 1.5, 1.0, 0.4)), (RING, Q),
                                  (SIDE_BY_SIDE, g.Gaussian2D(0.0, 0.0, 1.0, 1.0, 0.0)),
                                  (RING, g.Gaussian2D(1.9, 0.1, 0.3, 0.25, 0.6))],
                         ids=["blobs", "ring", "straight-crossing", "narrow-q"])
def test_expectation_of_log_p_against_quadpack(p, q):
    assert expect_log_p(p, q.mean, q.chol) == pytest.approx(nested_quad(p.logpdf, q), abs=1e-9)


def test_two_equal_components_are_the_gaussian():
    """A mixture of two identical components is that Gaussian: the cubature against the closed form."""
    twin = g.Mixture2D([1, 1], [[0.3, -0.2]] * 2, [[1.0, 0.6]] * 2, [0.8] * 2)
    one = g.Mixture2D.gaussian(0.3, -0.2, 1.0, 0.6, 0.8)
    assert g.reverse_kl(twin, Q) == pytest.approx(g.reverse_kl(one, Q), rel=1e-11)
    assert g.forward_kl(twin, Q) == pytest.approx(g.forward_kl(one, Q), rel=1e-10)


def test_mixture_forward_kl_equals_its_integral():
    """KL(p‖q) = Σₖ wₖ E_{N_k}[log p − log q], each term by QUADPACK."""
    q_log = stats.multivariate_normal(Q.mean, Q.cov).logpdf
    ref = sum(w * nested_quad(lambda x: BLOBS.logpdf(x) - q_log(x), BLOBS.component(k))
              for k, w in enumerate(BLOBS.weights))
    assert g.forward_kl(BLOBS, Q) == pytest.approx(ref, abs=1e-9)


# -- gradients -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [BISHOP, BLOBS, RING], ids=["gaussian", "blobs", "ring"])
@pytest.mark.parametrize("direction", g.DIRECTIONS)
def test_gradients_against_finite_differences(p, direction):
    value, grad = g.KL[direction](p, Q, gradient=True)
    assert value == pytest.approx(g.KL[direction](p, Q), rel=1e-12)
    for i, name in enumerate(g.PARAMS):
        h = 1e-5
        up, down = list(Q), list(Q)
        up[i] += h
        down[i] -= h
        fd = (g.KL[direction](p, g.Gaussian2D(*up)) - g.KL[direction](p, g.Gaussian2D(*down))) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-5, abs=1e-6), name


# -- optima ------------------------------------------------------------------------------------------------------------
def test_bishop_closed_forms():
    """PRML §10.1.2: mean-field reverse KL matches p's diagonal precisions (too narrow); forward KL matches p's
    marginal variances (too wide); both keep p's mean; a full-covariance q recovers p under either."""
    c = BISHOP.component(0)
    precision = np.linalg.inv(c.cov)
    rev = g.optimal_q(BISHOP, "reverse_kl", "factorised").q
    fwd = g.optimal_q(BISHOP, "forward_kl", "factorised").q
    assert (rev.mu1, rev.mu2, rev.rho) == (0.0, 0.0, 0.0) and (fwd.mu1, fwd.mu2, fwd.rho) == (0.0, 0.0, 0.0)
    assert rev.sigma1 ** 2 == pytest.approx(1 / precision[0, 0]) and rev.sigma2 ** 2 == pytest.approx(1 / precision[1, 1])
    assert rev.sigma1 == pytest.approx(math.sqrt(1 - 0.9 ** 2))
    assert fwd.sigma1 ** 2 == pytest.approx(c.cov[0, 0]) and fwd.sigma2 ** 2 == pytest.approx(c.cov[1, 1])
    for direction in g.DIRECTIONS:
        best = g.optimal_q(BISHOP, direction, "full")
        assert np.allclose(best.q, c) and best.value == pytest.approx(0.0, abs=1e-14)


def _free_search(p, direction, family, best):
    """Values on a grid around the optimum and along random directions: none below it."""
    rng = np.random.default_rng(0)
    x0 = np.array(best.q)
    for _ in range(60):
        step = rng.normal(size=5) * rng.choice([1e-3, 1e-2, 1e-1, 0.5])
        if family == "factorised":
            step[4] = 0.0
        x = x0 + step
        if min(x[2], x[3]) <= 0.05 or abs(x[4]) >= 0.95:
            continue
        assert g.KL[direction](p, g.Gaussian2D(*x)) >= best.value - 1e-10


@pytest.mark.parametrize("family", g.FAMILIES)
def test_mixture_optima_against_search(family):
    for direction in g.DIRECTIONS:
        best = g.optimal_q(BLOBS, direction, family)
        res = best.to_dict()
        assert res["global"]["value"] == best.value
        _free_search(BLOBS, direction, family, best)
    # the global reverse-KL optimum beats a coarse grid over the whole plane (mode seeking: at a component)
    best = g.optimal_q(BLOBS, "reverse_kl", family)
    grid = [g.reverse_kl(BLOBS, g.Gaussian2D(m1, m2, s1, s2, 0.0))
            for m1 in np.linspace(-3, 3, 7) for m2 in np.linspace(-2, 2, 5) for s1 in (0.3, 0.6, 1.2)
            for s2 in (0.3, 0.6, 1.2)]
    assert best.value <= min(grid) + 1e-12
    assert len(best.local_minima) >= 2  # one per blob


def test_forward_optimum_is_moment_matching_for_mixtures():
    best = g.optimal_q(RING, "forward_kl", "full")
    assert np.allclose(best.q, RING.moments)
    _free_search(RING, "forward_kl", "full", best)


def test_validation_messages():
    with pytest.raises(ValueError, match="rhos"):
        g.Mixture2D([1], [[0, 0]], [[1, 1]], [1.0])
    with pytest.raises(ValueError, match="sigmas"):
        g.Mixture2D([1], [[0, 0]], [[1, 0]], [0.0])
    with pytest.raises(ValueError, match="at most 4"):
        g.Mixture2D([1] * 5, [[0, 0]] * 5, [[1, 1]] * 5, [0.0] * 5)
    with pytest.raises(ValueError, match="sigma2"):
        g.Gaussian2D(0, 0, 1, -1, 0).check()
    with pytest.raises(ValueError, match="family"):
        g.optimal_q(BISHOP, "reverse_kl", "diagonal")
