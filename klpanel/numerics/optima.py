"""Optimal q for every divergence: the global minimiser and every local minimum over (mu, sigma).

Starts: every contiguous run of components, moment-matched (single modes, neighbouring pairs, ..., all of p),
which is where mode-seeking and mode-covering minima live. From all starts at once, a batched trust-region
Newton iteration in (mu, log sigma) with the kernel's exact gradients and Hessians; the survivors are
deduplicated, checked to be minima (gradient ~ 0, Hessian positive semi-definite) and sorted, global first.
Forward KL has the closed form (p's mean, p's standard deviation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import divergences as dv

MAX_ITER = 80
BOUND_GAP = 1e-9  # how far (in log σ) minima on an integrability bound are kept inside it


@dataclass(frozen=True)
class Minimum:
    mu: float
    sigma: float
    value: float

    def to_dict(self):
        return {"mu": self.mu, "sigma": self.sigma, "value": self.value}


@dataclass(frozen=True)
class OptimalQ:
    """The global minimiser (mu, sigma, value) and all local minima (global first).

    ``tolerance`` gives, for mu and sigma, how far the minimiser can move while the value changes by less than
    1e-10 (relative): large for flat optima, which are then known only to that precision."""

    divergence: str
    mu: float
    sigma: float
    value: float
    local_minima: list = field(default_factory=list)
    tolerance: dict = field(default_factory=dict)

    def to_dict(self):
        return {"divergence": self.divergence, "global": {"mu": self.mu, "sigma": self.sigma, "value": self.value},
                "local_minima": [m.to_dict() for m in self.local_minima], "tolerance": self.tolerance}


def moment_starts(target):
    w, m, s = target.weights, target.means, target.sigmas
    order = np.argsort(m)
    w, m, s = w[order], m[order], s[order]
    starts = []
    for i in range(m.size):
        for j in range(i, m.size):
            ww = w[i:j + 1] / w[i:j + 1].sum()
            mean = np.dot(ww, m[i:j + 1])
            var = np.dot(ww, s[i:j + 1] ** 2 + (m[i:j + 1] - mean) ** 2)
            starts.append((mean, 0.5 * np.log(var)))
    return np.array(starts)


def _value_grad_hess(target, name, theta, params):
    """Value, gradient and Hessian in θ = (mu, log sigma) for rows of θ, from the kernel's exact (μ, σ)
    derivatives by the chain rule (σ = e^θ₂: ∂θ₂ = σ∂σ, ∂²θ₂ = σ²∂²σ + σ∂σ)."""
    sig = np.exp(theta[:, 1])
    v, dmu, dsig, hmm, hms, hss = dv.evaluate_grid(target, theta[:, 0], sig, [name], hessian=True, **params)[name]
    g = np.stack([dmu, dsig * sig], axis=1)
    H = np.empty((theta.shape[0], 2, 2))
    H[:, 0, 0] = hmm
    H[:, 0, 1] = H[:, 1, 0] = hms * sig
    H[:, 1, 1] = hss * sig * sig + dsig * sig
    return v, g, H


def _log_sigma_bounds(target, name, params):
    """Where the divergence is finite, as bounds on log σ kept BOUND_GAP inside (the α family's value can
    stay finite up to the bound and jump to +inf there, so minima may sit on it)."""
    lo, hi = dv.finite_sigma_range(target, name, **params)
    return (np.log(lo) + BOUND_GAP if lo > 0 else -np.inf), (np.log(hi) - BOUND_GAP if np.isfinite(hi) else np.inf)


def _on_bound(theta, g, bounds):
    """Rows held by a bound on log σ: on it, with the descent direction pointing out."""
    lo, hi = bounds
    return ((theta[:, 1] >= hi) & (g[:, 1] < 0)) | ((theta[:, 1] <= lo) & (g[:, 1] > 0))


def _free(g, H, bound):
    """Gradient and Hessian restricted to μ on rows held by a bound (projected Newton)."""
    g, H = g.copy(), H.copy()
    g[bound, 1] = 0.0
    H[bound, 0, 1] = H[bound, 1, 0] = 0.0
    H[bound, 1, 1] = 1.0
    return g, H


def _distinct(theta, v, radius):
    """Indices (sorted) of the rows to keep when rows within ``radius`` (max norm) of a lower-valued kept row
    are dropped: greedy in order of value, one vectorised distance matrix."""
    close = np.max(np.abs(theta[:, None, :] - theta[None, :, :]), axis=2) <= radius
    dropped = np.zeros(v.size, dtype=bool)
    keep = []
    for i in np.argsort(v, kind="stable"):
        if not dropped[i]:
            keep.append(i)
            dropped |= close[i]
    return np.sort(np.array(keep, dtype=int))


def _newton(target, name, theta, params):
    """Batched projected trust-region Newton from every start; starts that meet (within 1e-3) are merged as
    they go, and a start stops when its (projected) gradient vanishes (relative 1e-10) or its steps become
    negligible. Returns θ, values, gradients, Hessians and which rows are held by a bound on σ."""
    bounds = _log_sigma_bounds(target, name, params)
    theta = theta.copy()
    theta[:, 1] = np.clip(theta[:, 1], *bounds)
    radius = np.full(theta.shape[0], 0.5)
    v, g, H = _value_grad_hess(target, name, theta, params)
    keep = np.isfinite(v)
    theta, v, g, H, radius = theta[keep], v[keep], g[keep], H[keep], radius[keep]
    active = np.ones(theta.shape[0], dtype=bool)
    for _ in range(MAX_ITER):
        bound = _on_bound(theta, g, bounds)
        gf, Hf = _free(g, H, bound)
        gnorm = np.linalg.norm(gf, axis=1)
        active &= gnorm > 1e-10 * np.maximum(1.0, np.abs(v))
        unique = _distinct(theta, v, 1e-3)  # merge starts that have met: keep the lower value
        theta, v, g, H, gf, Hf, radius, active = (arr[unique] for arr in (theta, v, g, H, gf, Hf, radius, active))
        if not active.any():
            break
        idx = np.nonzero(active)[0]
        # regularised Newton step inside a trust region, then back inside the bounds on σ; where the value is
        # large (the α family far from its optimum grows like an exponential) the step is Newton's on log D,
        # which has the same minimisers and is close to quadratic there
        Ha, ga = Hf[idx], gf[idx]
        big = v[idx] > 1.0
        if big.any():
            vb = v[idx][big][:, None]
            gb = ga[big] / vb
            Ha[big] = Ha[big] / vb[:, :, None] - gb[:, :, None] * gb[:, None, :]
            ga[big] = gb
        eig_min = np.linalg.eigvalsh(Ha)[:, 0]
        scale = np.maximum(np.abs(Ha).max(axis=(1, 2)), 1e-12)
        lam = np.where(eig_min > 1e-8 * scale, 0.0, -eig_min + 1e-3 * scale)
        step = -np.linalg.solve(Ha + lam[:, None, None] * np.eye(2), ga[:, :, None])[:, :, 0]
        length = np.linalg.norm(step, axis=1)
        step *= np.minimum(1.0, radius[idx] / np.maximum(length, 1e-300))[:, None]
        trial = theta[idx] + step
        trial[:, 1] = np.clip(trial[:, 1], *bounds)
        step = trial - theta[idx]
        tv, tg, tH = _value_grad_hess(target, name, trial, params)
        better = np.isfinite(tv) & (tv <= v[idx] + 1e-13 * np.abs(v[idx]))
        theta[idx] = np.where(better[:, None], trial, theta[idx])
        v[idx] = np.where(better, tv, v[idx])
        g[idx] = np.where(better[:, None], tg, g[idx])
        H[idx] = np.where(better[:, None, None], tH, H[idx])
        radius[idx] = np.where(better, np.minimum(radius[idx] * 2.0, 4.0), radius[idx] * 0.25)
        stalled = (np.linalg.norm(step, axis=1) < 1e-12 * (1 + np.abs(theta[idx]).max(axis=1))) | (radius[idx] < 1e-13)
        active[idx[stalled]] = False
    bound = _on_bound(theta, g, bounds)
    gf, Hf = _free(g, H, bound)
    return theta, v, gf, Hf, bound


def minimum_rows(v, g, H):
    """Which rows of ``_newton``'s output are minima: finite, (projected) gradient ~ 0, (projected) Hessian
    positive semi-definite."""
    if v.size == 0:
        return np.zeros(0, dtype=bool)
    eig = np.linalg.eigvalsh(H)[:, 0]
    scale = np.maximum(np.abs(H).max(axis=(1, 2)), 1e-12)
    gnorm = np.linalg.norm(g, axis=1)
    return np.isfinite(v) & (eig >= -1e-6 * scale) & (gnorm <= 1e-5 * np.maximum(1.0, np.abs(v)))


def minima_from(target, name: str, starts, params: dict):
    """The local minima that batched Newton reaches from ``starts`` (rows of (μ, log σ)), with ``params`` the
    divergence's validated parameters: (θ of the minima, their values); starts that meet are merged."""
    theta, v, g, H, _ = _newton(target, name, np.asarray(starts, dtype=float), params)
    ok = minimum_rows(v, g, H)
    return theta[ok], v[ok]


def optimal_q(target, name: str, **params) -> OptimalQ:
    """Global and local minima of divergence ``name`` over q = N(mu, sigma^2) for this target."""
    chosen = dv.validate_params([name], **params)[name]
    if name == "forward_kl":
        mu, sigma = target.mean, float(np.sqrt(target.var))
        value = float(dv.evaluate_grid(target, mu, sigma, [name])[name])
        m = Minimum(mu, sigma, value)
        return OptimalQ(name, mu, sigma, value, [m], {"mu": 0.0, "sigma": 0.0})
    theta, v, g, H, bound = _newton(target, name, moment_starts(target), chosen)
    is_min = minimum_rows(v, g, H)
    order = np.argsort(np.where(is_min, v, np.inf))
    # a flat point (zero curvature: e.g. Rényi of order 0, which is 0 for every q) is not an isolated minimum;
    # report the best one only, with an "undetermined" tolerance
    flat = np.abs(H).max(axis=(1, 2)) <= 1e-12 * np.maximum(1.0, np.abs(v))
    minima, kept = [], []
    for i in order:
        if not is_min[i]:
            continue
        if any(np.hypot(*(theta[i] - theta[j])) < 1e-4 for j in kept) or (flat[i] and any(flat[j] for j in kept)):
            continue
        kept.append(i)
        minima.append(Minimum(float(theta[i, 0]), float(np.exp(theta[i, 1])), float(v[i])))
    if not minima:  # e.g. an α-divergence that is infinite at every start
        i = int(np.nanargmin(np.where(np.isfinite(v), v, np.nan))) if np.isfinite(v).any() else 0
        minima = [Minimum(float(theta[i, 0]), float(np.exp(theta[i, 1])), float(v[i]))]
        kept = [i]
    best = kept[0]
    eps = 1e-10 * max(1.0, abs(minima[0].value))
    diag = np.maximum(np.diag(H[best]), 1e-300)
    tol_theta = np.minimum(np.sqrt(2 * eps / diag), 10.0)  # 10: "undetermined" (a flat direction)
    tol_sigma = 0.0 if bound[best] else float(minima[0].sigma * np.expm1(tol_theta[1]))  # held by the bound
    tolerance = {"mu": float(tol_theta[0]), "sigma": tol_sigma}
    top = minima[0]
    return OptimalQ(name, top.mu, top.sigma, top.value, minima, tolerance)
