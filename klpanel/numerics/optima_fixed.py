"""Optimal q in the fixed-σ family: q = N(μ, σ₀²) with σ₀ chosen, so every divergence is a curve over μ alone.

Every local minimum along μ is found by a dense scan of the exact derivative ∂D/∂μ over a range that covers the
target (widened while the derivative still points outward at an end), then polished in each bracket where the
derivative goes from negative to non-negative by safeguarded Newton on ∂D/∂μ (Newton's step with the exact
∂²D/∂μ², bisection when that step leaves the bracket), all brackets at once. The lowest is the global minimum.
Forward KL has the closed form μ* = E_p[x] (KL(p‖q) = −H(p) + log σ₀ + ½log 2π + E_p[(x−μ)²]/(2σ₀²)).
"""

from __future__ import annotations

import numpy as np

from . import divergences as dv
from .optima import Minimum, OptimalQ

SCAN_POINTS = (401, 4001)  # μ points of the scan: at least a quarter of the narrowest width (p's or q's) apart
MAX_POLISH = 60
MAX_WIDEN = 6


def scan_range(target, sigma: float) -> tuple[float, float]:
    """Where the scan starts: every component ± 6 of its σ, and q's own width beyond that."""
    lo = float(np.min(target.means - 6 * target.sigmas)) - 3 * sigma
    hi = float(np.max(target.means + 6 * target.sigmas)) + 3 * sigma
    return lo, hi


def _derivatives(target, name, mu, sigma, params):
    v, dmu, _, hmm, _, _ = dv.evaluate_grid(target, mu, sigma, [name], hessian=True, **params)[name]
    return np.asarray(v, float), np.asarray(dmu, float), np.asarray(hmm, float)


def _scan(target, name, sigma, params):
    """μ grid, values and ∂D/∂μ, widened (doubling the span) while an end still descends outward."""
    lo, hi = scan_range(target, sigma)
    width = min(float(np.min(target.sigmas)), sigma)
    for _ in range(MAX_WIDEN):
        mu = np.linspace(lo, hi, int(np.clip((hi - lo) / (0.25 * width), *SCAN_POINTS)))
        v, g, _ = dv.evaluate_grid(target, mu, sigma, [name], gradients=True, **params)[name]
        if not np.isfinite(v).any():
            return mu, v, g
        span = hi - lo
        left, right = g[0] > 0 and v[0] <= v[1], g[-1] < 0 and v[-1] <= v[-2]
        if not (left or right):
            break
        lo, hi = lo - span * left, hi + span * right
    return mu, v, g


def _polish(target, name, sigma, params, a, b):
    """Roots of ∂D/∂μ in brackets [a, b] (∂D/∂μ(a) < 0 ≤ ∂D/∂μ(b)), all brackets at once: Newton's step where it
    stays inside the bracket and the last one at least halved |∂D/∂μ|, else bisection (a kink, as TV has where
    q = p, is then found to the bracket's width)."""
    x = 0.5 * (a + b)
    last = np.full(x.shape, np.inf)
    for _ in range(MAX_POLISH):
        v, g, h = _derivatives(target, name, x, sigma, params)
        done = (b - a <= 1e-13 * (1 + np.abs(x))) | (np.abs(g) <= 1e-15 * np.maximum(1.0, np.abs(v)))
        if done.all():
            break
        a = np.where(g < 0, x, a)
        b = np.where(g >= 0, x, b)
        newton = x - g / np.where(h > 0, h, np.nan)
        trusted = np.isfinite(newton) & (newton > a) & (newton < b) & (np.abs(g) <= 0.5 * last)
        last = np.abs(g)
        x = np.where(done, x, np.where(trusted, newton, 0.5 * (a + b)))
    v, g, h = _derivatives(target, name, x, sigma, params)
    return x, v, g, h


def optimal_mu(target, name: str, sigma: float, **params) -> OptimalQ:
    """Global and local minima of divergence ``name`` over μ for q = N(μ, ``sigma``²) (σ held): an ``OptimalQ``
    whose minima all have σ = ``sigma``; ``tolerance["sigma"]`` is 0 (σ is not optimised). Values are +inf for
    every μ when the divergence is infinite at this σ (the α family outside its finite σ range)."""
    chosen = dv.validate_params([name], **params)[name]
    sigma = float(sigma)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if name == "forward_kl":
        mu = target.mean
        v, _, h = _derivatives(target, name, np.array([mu]), sigma, chosen)
        return OptimalQ(name, mu, sigma, float(v[0]), [Minimum(mu, sigma, float(v[0]))],
                        {"mu": float(np.sqrt(2e-10 * max(1.0, abs(v[0])) / h[0])), "sigma": 0.0})
    mu, v, g = _scan(target, name, sigma, chosen)
    if not np.isfinite(v).any():
        i = int(np.argmin(np.abs(mu - target.mean)))
        return OptimalQ(name, float(mu[i]), sigma, float(v[i]), [Minimum(float(mu[i]), sigma, float(v[i]))],
                        {"mu": 10.0, "sigma": 0.0})
    if np.ptp(v) <= 1e-12 * max(1.0, float(np.max(np.abs(v)))):  # flat (e.g. Rényi of order 0): undetermined
        i = int(np.argmin(np.abs(mu - target.mean)))
        return OptimalQ(name, float(mu[i]), sigma, float(v[i]), [Minimum(float(mu[i]), sigma, float(v[i]))],
                        {"mu": 10.0, "sigma": 0.0})
    # a bracket where the derivative turns from descent to ascent; a derivative that is exactly 0 at a grid point
    # starts a bracket of its own there (the bracket's right end)
    turn = np.nonzero((g[:-1] < 0) & (g[1:] >= 0))[0]
    xs, vs, gs, hs = _polish(target, name, sigma, chosen, mu[turn], mu[turn + 1])
    keep = np.isfinite(vs)
    xs, vs, hs = xs[keep], vs[keep], hs[keep]
    if xs.size == 0:  # no interior turn (a scan end is lowest): the lowest scanned point
        i = int(np.argmin(v))
        xs, vs, hs = mu[i:i + 1], v[i:i + 1], np.array([np.nan])
    order = np.argsort(vs, kind="stable")
    minima = [Minimum(float(xs[i]), sigma, float(vs[i])) for i in order]
    best = order[0]
    eps = 1e-10 * max(1.0, abs(minima[0].value))
    h = hs[best]
    tol = float(min(np.sqrt(2 * eps / h), 10.0)) if np.isfinite(h) and h > 0 else 10.0
    top = minima[0]
    return OptimalQ(name, top.mu, sigma, top.value, minima, {"mu": tol, "sigma": 0.0})
