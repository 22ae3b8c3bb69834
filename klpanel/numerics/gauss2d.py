"""Forward and reverse KL between a 2-D target p (a Gaussian or a mixture of Gaussians) and a 2-D Gaussian q, with
gradients, and the optimal q of each direction, factorised (mean-field: diagonal covariance) or full (Bishop, PRML
§10.1.2, fig. 10.2).

q = N(μ, Σ) is described by ``Gaussian2D(mu1, mu2, sigma1, sigma2, rho)``: Σ = [[σ₁², ρσ₁σ₂], [ρσ₁σ₂, σ₂²]];
factorised q has ρ = 0. Gradients are with respect to (μ₁, μ₂, σ₁, σ₂, ρ).

* Between Gaussians everything is closed form:
  KL(N₀‖N₁) = ½[tr(Σ₁⁻¹Σ₀) + (μ₁−μ₀)ᵀΣ₁⁻¹(μ₁−μ₀) − 2 + ln det Σ₁ − ln det Σ₀].
* For a mixture p, forward KL(p‖q) = KL(p̄‖q) + H(p̄) − H(p), p̄ the Gaussian with p's mean and covariance (E_p log q
  depends on p's first two moments only): closed form in q, and H(p) = −Σ_k w_k E_{N_k}[log p] is computed once per
  target. Reverse KL(q‖p) = −H(q) − E_q[log p], E_q[log p] and its gradient by :mod:`.cubature2d` (exact to ~1e-10).
* Optima: forward KL's is moment matching (q's mean and variances = p's, and Σ = p's covariance for full q); reverse
  KL's with a Gaussian p is q's mean = p's mean and σᵢ² = 1/Λᵢᵢ (Λ = Σₚ⁻¹: p's diagonal precisions, factorised) or
  q = p (full). For a mixture, reverse KL is minimised by BFGS in (μ, log σ, atanh ρ) from every component and from
  the moment-matched q, and every distinct local minimum is returned, global first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
from scipy import optimize

from .cubature2d import expect_log_p

LOG_2PI = math.log(2.0 * math.pi)
MAX_COMPONENTS = 4
MAX_RHO = 0.99
FAMILIES = ("factorised", "full")
DIRECTIONS = ("forward_kl", "reverse_kl")
PARAMS = ("mu1", "mu2", "sigma1", "sigma2", "rho")


class Gaussian2D(NamedTuple):
    """q = N((mu1, mu2), [[σ₁², ρσ₁σ₂], [ρσ₁σ₂, σ₂²]])."""

    mu1: float = 0.0
    mu2: float = 0.0
    sigma1: float = 1.0
    sigma2: float = 1.0
    rho: float = 0.0

    @classmethod
    def from_moments(cls, mean, cov) -> "Gaussian2D":
        s1, s2 = math.sqrt(cov[0][0]), math.sqrt(cov[1][1])
        return cls(float(mean[0]), float(mean[1]), s1, s2, float(cov[0][1]) / (s1 * s2))

    @property
    def mean(self) -> np.ndarray:
        return np.array([self.mu1, self.mu2])

    @property
    def cov(self) -> np.ndarray:
        c = self.rho * self.sigma1 * self.sigma2
        return np.array([[self.sigma1 ** 2, c], [c, self.sigma2 ** 2]])

    @property
    def chol(self) -> np.ndarray:
        """Lower Cholesky factor L (Σ = LLᵀ): x = μ + Lz maps N(0, I) to q."""
        return np.array([[self.sigma1, 0.0], [self.rho * self.sigma2, self.sigma2 * math.sqrt(1.0 - self.rho ** 2)]])

    def factorised(self) -> "Gaussian2D":
        return self._replace(rho=0.0)

    def entropy(self) -> float:
        return 1.0 + LOG_2PI + math.log(self.sigma1 * self.sigma2) + 0.5 * math.log1p(-self.rho ** 2)

    def check(self) -> "Gaussian2D":
        """Self, or ``ValueError`` naming the first bad parameter."""
        for name, value in zip(PARAMS, self):
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        for name in ("sigma1", "sigma2"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not abs(self.rho) < 1:
            raise ValueError(f"rho must lie in (-1, 1), got {self.rho}")
        return self


def _inverse(cov):
    """Inverse and log-determinant of a 2 × 2 covariance (plain floats: numpy's linalg costs more than the sum)."""
    a, b, d = cov[0][0], cov[0][1], cov[1][1]
    det = a * d - b * b
    return np.array([[d, -b], [-b, a]]) / det, math.log(det)


def kl_gaussians(mean0, cov0, mean1, cov1, gradient: bool = False):
    """KL(N(mean0, cov0) ‖ N(mean1, cov1)); with ``gradient`` also (∂/∂mean0, ∂/∂cov0, ∂/∂mean1, ∂/∂cov1), the
    covariance derivatives over independent entries (df = Σᵢⱼ Gᵢⱼ dΣᵢⱼ)."""
    p1, logdet1 = _inverse(cov1)
    p0, logdet0 = _inverse(cov0)
    d = np.asarray(mean1, float) - np.asarray(mean0, float)
    pd = p1 @ d
    value = 0.5 * (float(np.sum(p1 * cov0)) + float(d @ pd) - 2.0 + logdet1 - logdet0)
    if not gradient:
        return value
    g_cov0 = 0.5 * (p1 - p0)
    g_cov1 = 0.5 * (p1 - p1 @ (np.asarray(cov0, float) + np.outer(d, d)) @ p1)
    return value, -pd, g_cov0, pd, g_cov1


def cov_gradient(q: Gaussian2D, g_cov) -> np.ndarray:
    """∂f/∂(σ₁, σ₂, ρ) from ∂f/∂Σ (over independent entries) through Σ(σ₁, σ₂, ρ)."""
    s1, s2, r = q.sigma1, q.sigma2, q.rho
    off = g_cov[0, 1] + g_cov[1, 0]
    return np.array([2 * s1 * g_cov[0, 0] + r * s2 * off, 2 * s2 * g_cov[1, 1] + r * s1 * off, s1 * s2 * off])


def chol_gradient(q: Gaussian2D, g_chol) -> np.ndarray:
    """∂f/∂(σ₁, σ₂, ρ) from ∂f/∂L (L = :attr:`Gaussian2D.chol`, lower triangle)."""
    s2, r = q.sigma2, q.rho
    c = math.sqrt(1.0 - r * r)
    return np.array([g_chol[0, 0], r * g_chol[1, 0] + c * g_chol[1, 1], s2 * g_chol[1, 0] - s2 * r / c * g_chol[1, 1]])


@dataclass(frozen=True, eq=False)
class Mixture2D:
    """p(x) = Σₖ wₖ N(x; mₖ, Σₖ), Σₖ from (σₖ₁, σₖ₂, ρₖ); weights are normalised. ``logpdf`` is the primitive."""

    weights: np.ndarray
    means: np.ndarray  # (K, 2)
    sigmas: np.ndarray  # (K, 2)
    rhos: np.ndarray  # (K,)
    covs: np.ndarray = field(init=False)

    def __post_init__(self):
        w = np.atleast_1d(np.asarray(self.weights, float))
        m = np.asarray(self.means, float).reshape(-1, 2)
        s = np.asarray(self.sigmas, float).reshape(-1, 2)
        r = np.atleast_1d(np.asarray(self.rhos, float))
        if not (w.size == len(m) == len(s) == r.size) or w.size == 0:
            raise ValueError(f"weights, means, sigmas and rhos must describe the same components (got {w.size}, "
                             f"{len(m)}, {len(s)}, {r.size})")
        if w.size > MAX_COMPONENTS:
            raise ValueError(f"weights: at most {MAX_COMPONENTS} components, got {w.size}")
        for name, a in (("weights", w), ("means", m), ("sigmas", s), ("rhos", r)):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} must be finite numbers, got {a.tolist()}")
        if np.any(w <= 0):
            raise ValueError(f"weights must be > 0, got {w.tolist()}")
        if np.any(s <= 0):
            raise ValueError(f"sigmas must be > 0, got {s.tolist()}")
        if np.any(np.abs(r) > MAX_RHO):
            raise ValueError(f"rhos must lie in [-{MAX_RHO}, {MAX_RHO}], got {r.tolist()}")
        c = r * s[:, 0] * s[:, 1]
        covs = np.stack([np.stack([s[:, 0] ** 2, c], -1), np.stack([c, s[:, 1] ** 2], -1)], 1)
        for name, value in (("weights", w / w.sum()), ("means", m), ("sigmas", s), ("rhos", r), ("covs", covs)):
            object.__setattr__(self, name, value)

    @classmethod
    def gaussian(cls, mu1=0.0, mu2=0.0, sigma1=1.0, sigma2=1.0, rho=0.0) -> "Mixture2D":
        return cls([1.0], [[mu1, mu2]], [[sigma1, sigma2]], [rho])

    @property
    def n(self) -> int:
        return self.weights.size

    @cached_property
    def key(self) -> tuple:
        """Hashable identity (for caches)."""
        return tuple(np.concatenate([self.weights, self.means.ravel(), self.sigmas.ravel(), self.rhos]).tolist())

    def to_dict(self) -> dict:
        return {"weights": self.weights.tolist(), "means": self.means.tolist(), "sigmas": self.sigmas.tolist(),
                "rhos": self.rhos.tolist()}

    def component(self, k: int) -> Gaussian2D:
        return Gaussian2D(*map(float, (*self.means[k], *self.sigmas[k], self.rhos[k])))

    @cached_property
    def _terms(self):
        """Per component: precision matrix and log(wₖ / (2π √det Σₖ))."""
        det = self.covs[:, 0, 0] * self.covs[:, 1, 1] - self.covs[:, 0, 1] ** 2
        prec = np.stack([np.stack([self.covs[:, 1, 1], -self.covs[:, 0, 1]], -1),
                         np.stack([-self.covs[:, 0, 1], self.covs[:, 0, 0]], -1)], 1) / det[:, None, None]
        return prec, np.log(self.weights) - LOG_2PI - 0.5 * np.log(det)

    def component_logpdf(self, x) -> np.ndarray:
        """log(wₖ N(x; mₖ, Σₖ)) for points ``x`` (..., 2): (..., K)."""
        prec, const = self._terms
        d = np.asarray(x, float)[..., None, :] - self.means
        return const - 0.5 * (prec[:, 0, 0] * d[..., 0] ** 2 + 2 * prec[:, 0, 1] * d[..., 0] * d[..., 1]
                              + prec[:, 1, 1] * d[..., 1] ** 2)

    def logpdf(self, x) -> np.ndarray:
        terms = self.component_logpdf(x)
        top = terms.max(axis=-1)
        return top + np.log(np.exp(terms - top[..., None]).sum(axis=-1))

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def logpdf_and_gradient(self, x):
        """log p and ∇log p = Σₖ rₖ(x) (−Σₖ⁻¹(x − mₖ)) (rₖ the responsibilities) at points ``x`` (..., 2)."""
        prec, _ = self._terms
        terms = self.component_logpdf(x)
        top = terms.max(axis=-1)
        e = np.exp(terms - top[..., None])
        total = e.sum(axis=-1)
        r = e / total[..., None]
        d = np.asarray(x, float)[..., None, :] - self.means
        g0 = -(r * (prec[:, 0, 0] * d[..., 0] + prec[:, 0, 1] * d[..., 1])).sum(axis=-1)
        g1 = -(r * (prec[:, 1, 0] * d[..., 0] + prec[:, 1, 1] * d[..., 1])).sum(axis=-1)
        return top + np.log(total), np.stack([g0, g1], axis=-1)

    @cached_property
    def pairs(self):
        return np.triu_indices(self.n, 1)

    def pair_forms(self):
        """For each pair j < k: L_j − L_k = ½ xᵀAx + bᵀx + c (Lₖ = log wₖN(x; mₖ, Σₖ)): A (P,2,2), b (P,2), c (P,)."""
        prec, const = self._terms
        pm = np.einsum("kab,kb->ka", prec, self.means)
        quad = np.einsum("ka,ka->k", self.means, pm)
        j, k = self.pairs
        return prec[k] - prec[j], pm[j] - pm[k], const[j] - const[k] - 0.5 * quad[j] + 0.5 * quad[k]

    @cached_property
    def moments(self) -> Gaussian2D:
        """The Gaussian with p's mean and covariance."""
        mean = self.weights @ self.means
        d = self.means - mean
        cov = np.einsum("k,kab->ab", self.weights, self.covs + d[:, :, None] * d[:, None, :])
        return Gaussian2D.from_moments(mean, cov)

    @cached_property
    def entropy(self) -> float:
        """H(p) = −Σₖ wₖ E_{N(mₖ, Σₖ)}[log p] (closed form for one component)."""
        if self.n == 1:
            return self.component(0).entropy()
        return -sum(float(w) * expect_log_p(self, self.means[k], self.component(k).chol)
                    for k, w in enumerate(self.weights))


# -- the two directions, values and gradients in (mu1, mu2, sigma1, sigma2, rho) ---------------------------------
def forward_kl(p: Mixture2D, q: Gaussian2D, gradient: bool = False):
    """KL(p‖q) = KL(p̄‖q) + H(p̄) − H(p) (p̄: p's moments); with ``gradient`` also ∂/∂(μ₁, μ₂, σ₁, σ₂, ρ)."""
    m = p.moments
    excess = 0.0 if p.n == 1 else m.entropy() - p.entropy
    if not gradient:
        return kl_gaussians(m.mean, m.cov, q.mean, q.cov) + excess
    value, _, _, g_mean, g_cov = kl_gaussians(m.mean, m.cov, q.mean, q.cov, gradient=True)
    return value + excess, np.concatenate([g_mean, cov_gradient(q, g_cov)])


def reverse_kl(p: Mixture2D, q: Gaussian2D, gradient: bool = False):
    """KL(q‖p) = −H(q) − E_q[log p] (closed form for a Gaussian p); with ``gradient`` also ∂/∂(μ₁, μ₂, σ₁, σ₂, ρ)."""
    if p.n == 1:
        c = p.component(0)
        if not gradient:
            return kl_gaussians(q.mean, q.cov, c.mean, c.cov)
        value, g_mean, g_cov, _, _ = kl_gaussians(q.mean, q.cov, c.mean, c.cov, gradient=True)
        return value, np.concatenate([g_mean, cov_gradient(q, g_cov)])
    if not gradient:
        return -q.entropy() - expect_log_p(p, q.mean, q.chol)
    e, g_mean, g_chol = expect_log_p(p, q.mean, q.chol, gradient=True)
    s1, s2, r = q.sigma1, q.sigma2, q.rho
    entropy_grad = np.array([1.0 / s1, 1.0 / s2, -r / (1.0 - r * r)])
    return -q.entropy() - e, np.concatenate([-g_mean, -chol_gradient(q, g_chol) - entropy_grad])


KL = {"forward_kl": forward_kl, "reverse_kl": reverse_kl}


def evaluate(p: Mixture2D, q: Gaussian2D, gradient: bool = False) -> dict:
    """{direction: value} (with ``gradient``: {direction: (value, gradient over PARAMS)}) for both directions."""
    return {name: fn(p, q, gradient) for name, fn in KL.items()}


# -- optima ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Optimum2D:
    """The optimal q of one direction within a family: the global minimiser and every local minimum (global first)."""

    direction: str
    family: str
    q: Gaussian2D
    value: float
    local_minima: list = field(default_factory=list)  # [(Gaussian2D, value)]

    def to_dict(self) -> dict:
        point = lambda q, v: {**q._asdict(), "value": v}  # noqa: E731
        return {"direction": self.direction, "family": self.family, "global": point(self.q, self.value),
                "local_minima": [point(q, v) for q, v in self.local_minima]}


def _restrict(q: Gaussian2D, family: str) -> Gaussian2D:
    return q.factorised() if family == "factorised" else q


def mean_field_of(mean, cov) -> Gaussian2D:
    """The factorised Gaussian minimising KL(q‖N(mean, cov)): q's mean = mean, σᵢ² = 1/Λᵢᵢ (Λ = cov⁻¹)."""
    prec, _ = _inverse(cov)
    return Gaussian2D(float(mean[0]), float(mean[1]), 1.0 / math.sqrt(prec[0, 0]), 1.0 / math.sqrt(prec[1, 1]), 0.0)


def _to_free(q: Gaussian2D, family: str) -> np.ndarray:
    x = [q.mu1, q.mu2, math.log(q.sigma1), math.log(q.sigma2)]
    return np.array(x + ([math.atanh(q.rho)] if family == "full" else []))


def _from_free(x, family: str) -> Gaussian2D:
    rho = math.tanh(x[4]) if family == "full" else 0.0
    return Gaussian2D(float(x[0]), float(x[1]), math.exp(x[2]), math.exp(x[3]), rho)


class _ReverseObjective:
    """KL(q‖p) and its gradient over (μ, log σ, atanh ρ) for BFGS; remembers its last point's E_q[∇log p zᵀ] (for
    :func:`precision_of_expectation`) and answers a repeated point from memory."""

    def __init__(self, p: Mixture2D, family: str):
        self.p, self.family, self._last = p, family, (None, None)

    def __call__(self, x):
        key = x.tobytes()
        if self._last[0] == key:
            return self._last[1][:2]
        q = _from_free(np.clip(x, -20, 20), self.family)
        e, g_mean, m = expect_log_p(self.p, q.mean, q.chol, gradient=True)
        r = q.rho
        entropy_grad = np.array([1.0 / q.sigma1, 1.0 / q.sigma2, -r / (1.0 - r * r)])
        grad = np.concatenate([-g_mean, -chol_gradient(q, m) - entropy_grad])
        chain = np.array([1.0, 1.0, q.sigma1, q.sigma2, 1.0 - r * r])[:x.size]
        result = (-q.entropy() - e, grad[:x.size] * chain, (q, m))
        self._last = (key, result)
        return result[:2]

    def curvature(self, x):
        """H = −E_q[∇²log p] at ``x`` (see :func:`precision_of_expectation`)."""
        self(x)
        q, m = self._last[1][2]
        return precision_of_expectation(q, m)


def reverse_starts(p: Mixture2D, family: str) -> list[Gaussian2D]:
    """Each component (its mean-field Gaussian for factorised q) and the moment-matched q."""
    starts = [p.component(k) for k in range(p.n)] + [p.moments]
    if family == "factorised":
        return [mean_field_of(s.mean, s.cov) for s in starts]
    return starts


def optimal_q(p: Mixture2D, direction: str, family: str = "factorised") -> Optimum2D:
    """The q in ``family`` minimising ``direction`` (see the module docstring for the closed forms)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    if direction == "forward_kl":
        q = _restrict(p.moments, family)
    elif p.n == 1:
        c = p.component(0)
        q = mean_field_of(c.mean, c.cov) if family == "factorised" else c
    else:
        return _reverse_mixture_optimum(p, family)
    value = KL[direction](p, q)
    return Optimum2D(direction, family, q, value, [(q, value)])


def precision_of_expectation(q: Gaussian2D, m):
    """H = −E_q[∇²log p] = −L⁻ᵀE_q[z ∇log pᵀ] (Stein's lemma; x = μ + Lz; ``m`` = E_q[∇log p zᵀ]), the Hessian of
    KL(q‖p) in μ: the search's first guess of its curvature. None where it is not positive definite (between modes)."""
    h = -np.linalg.solve(q.chol.T, m.T)
    h = 0.5 * (h + h.T)
    return h if h[0, 0] > 0 and h[0, 0] * h[1, 1] > h[0, 1] ** 2 else None


def _descend(p: Mixture2D, q: Gaussian2D, family: str) -> tuple[Gaussian2D, float]:
    """BFGS in (μ, log σ, atanh ρ) from ``q``, its first inverse Hessian H⁻¹ in μ (:func:`precision_of_expectation`)
    and ½ in the rest (a Gaussian's curvature in log σ at its optimum is 2), so it starts as a Newton step."""
    x0 = _to_free(q, family)
    objective = _ReverseObjective(p, family)
    inverse = 0.5 * np.eye(x0.size)
    h = objective.curvature(x0)
    if h is not None:
        inverse[:2, :2] = np.linalg.inv(h)
        inverse[:2, :2] = 0.5 * (inverse[:2, :2] + inverse[:2, :2].T)
    res = optimize.minimize(objective, x0, jac=True, method="BFGS",
                            options={"gtol": 1e-7, "maxiter": 200, "hess_inv0": inverse})
    return _from_free(res.x, family), float(res.fun)


def _reverse_mixture_optimum(p: Mixture2D, family: str) -> Optimum2D:
    found = sorted((_descend(p, start, family) for start in reverse_starts(p, family)), key=lambda item: item[1])
    distinct = []
    for q, value in found:
        if all(np.max(np.abs(np.array(q) - np.array(other))) > 1e-4 for other, _ in distinct):
            distinct.append((q, value))
    best, value = distinct[0]
    return Optimum2D("reverse_kl", family, best, value, distinct)
