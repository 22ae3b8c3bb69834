"""The 2-D picture's state (Bishop, PRML §10.1.2, fig. 10.2): a 2-D target p, a Gaussian q that a user moves, the
family of q (factorised = mean-field, or full covariance), the optimal q of each KL direction, and gradient-descent
runs of both directions from q. Plain param models over :mod:`klpanel.numerics.gauss2d`; no Panel.

>>> m = TwoD()                                   # Bishop's correlated Gaussian, ρ = 0.9, factorised q
>>> m.optima["reverse_kl"].q.sigma1              # √(1 − ρ²) = 0.436: too narrow
>>> m.q.param.update(mu1=0.5, sigma1=0.8); m.values
>>> runs = m.descents(); [r.step(200) for r in runs]
"""

from __future__ import annotations

import math

import numpy as np
import param

from ..numerics import gauss2d as g
from .cache import LRUCache

#: preset -> (weights, component means, default σ₁, σ₂, ρ of every component)
PRESETS = {
    "correlated": ([1.0], [[0.0, 0.0]], (1.0, 1.0, 0.9)),
    "two blobs": ([1.0, 1.0], [[-2.0, -1.0], [2.0, 1.0]], (0.8, 0.8, 0.3)),
    "ring of 4": ([1.0] * 4, [[2.5, 0.0], [0.0, 2.5], [-2.5, 0.0], [0.0, -2.5]], (0.55, 0.55, 0.0)),
}
OPTIMA = LRUCache(256)  # optimal q by (target, direction, family), shared by every session


def cached_optimum(mixture: g.Mixture2D, direction: str, family: str) -> g.Optimum2D:
    return OPTIMA.get_or_compute((mixture.key, direction, family), lambda: g.optimal_q(mixture, direction, family))


class Target2D(param.Parameterized):
    """p: a preset's components (Bishop's correlated Gaussian, two blobs, a ring of 4), every one with the covariance
    [[σ₁², ρσ₁σ₂], [ρσ₁σ₂, σ₂²]]. Choosing a preset sets σ₁, σ₂, ρ to its own defaults."""

    preset = param.Selector(default="correlated", objects=list(PRESETS), doc="Where p's components sit")
    rho = param.Number(default=0.9, bounds=(-0.99, 0.99), step=0.01, doc="Correlation ρ of every component")
    sigma1 = param.Number(default=1.0, bounds=(0.2, 2.0), step=0.05, doc="Standard deviation σ₁ of every component")
    sigma2 = param.Number(default=1.0, bounds=(0.2, 2.0), step=0.05, doc="Standard deviation σ₂ of every component")

    def __init__(self, **params):
        shape = dict(zip(("sigma1", "sigma2", "rho"), PRESETS[params.get("preset", "correlated")][2]))
        super().__init__(**{**shape, **params})

    @param.depends("preset", watch=True)
    def _preset_shape(self):
        s1, s2, rho = PRESETS[self.preset][2]
        self.param.update(sigma1=s1, sigma2=s2, rho=rho)

    @property
    def mixture(self) -> g.Mixture2D:
        weights, means, _ = PRESETS[self.preset]
        n = len(weights)
        return g.Mixture2D(weights, means, [[self.sigma1, self.sigma2]] * n, [self.rho] * n)


class Approximation2D(param.Parameterized):
    """q = N((μ₁, μ₂), [[σ₁², ρσ₁σ₂], [ρσ₁σ₂, σ₂²]])."""

    mu1 = param.Number(default=1.0, bounds=(-6.0, 6.0), doc="Mean μ₁ of q")
    mu2 = param.Number(default=-1.0, bounds=(-6.0, 6.0), doc="Mean μ₂ of q")
    sigma1 = param.Number(default=0.6, bounds=(0.05, 5.0), step=0.01, doc="Standard deviation σ₁ of q")
    sigma2 = param.Number(default=0.6, bounds=(0.05, 5.0), step=0.01, doc="Standard deviation σ₂ of q")
    rho = param.Number(default=0.0, bounds=(-0.99, 0.99), step=0.01, doc="Correlation ρ of q (full covariance only)")

    @property
    def gaussian(self) -> g.Gaussian2D:
        return g.Gaussian2D(self.mu1, self.mu2, self.sigma1, self.sigma2, self.rho)


class Descent2D:
    """Gradient descent of one KL direction over q, from ``start``, in (μ, log σ, atanh ρ) preconditioned by q's
    Fisher information (the mean's step is Σ_q ∇_μ KL, the scales' ½ ∇ KL): one learning rate then suits any p.
    ``trajectory`` holds every q visited (columns of :data:`klpanel.numerics.gauss2d.PARAMS`, and ``value``)."""

    def __init__(self, mixture: g.Mixture2D, direction: str, family: str, start: g.Gaussian2D, lr: float = 0.1,
                 tol: float = 1e-6, max_steps: int = 3000):
        self.mixture, self.direction, self.family, self.lr, self.tol, self.max_steps = \
            mixture, direction, family, lr, tol, max_steps
        self.q = start.factorised() if family == "factorised" else start
        self.rows = [(*self.q, g.KL[direction](mixture, self.q))]  # the last row's value is computed with its gradient
        self.converged = False

    @property
    def steps(self) -> int:
        return len(self.rows) - 1

    @property
    def done(self) -> bool:
        return self.converged or self.steps >= self.max_steps

    @property
    def trajectory(self) -> dict:
        """Columns μ₁, μ₂, σ₁, σ₂, ρ and ``value`` of every q visited (the newest q's value is its predecessor's until
        it steps or the run ends)."""
        cols = np.array(self.rows).T
        return dict(zip((*g.PARAMS, "value"), cols))

    def step(self, n: int = 1) -> "Descent2D":
        for _ in range(n):
            if self.done:
                break
            q = self.q
            value, grad = g.KL[self.direction](self.mixture, q, gradient=True)
            self.rows[-1] = (*q, value)
            d_mu = q.cov @ grad[:2]
            d_log = 0.5 * np.array([grad[2] * q.sigma1, grad[3] * q.sigma2])
            d_rho = 0.5 * grad[4] * (1 - q.rho ** 2) if self.family == "full" else 0.0
            move = self.lr * np.array([*d_mu, *d_log, d_rho])
            move /= max(1.0, float(np.max(np.abs(move[:2]) / np.array([q.sigma1, q.sigma2]))))  # ≤ one σ a step
            self.q = g.Gaussian2D(float(q.mu1 - move[0]), float(q.mu2 - move[1]), q.sigma1 * math.exp(-move[2]),
                                  q.sigma2 * math.exp(-move[3]), math.tanh(math.atanh(q.rho) - move[4]))
            self.converged = float(np.max(np.abs(move))) < self.tol * self.lr
            self.rows.append((*self.q, value))  # value until the next step replaces it with the new q's
            if self.done:
                self.rows[-1] = (*self.q, g.KL[self.direction](self.mixture, self.q))
        return self


class TwoD(param.Parameterized):
    """The section's state: ``target`` and ``q`` (inputs), ``family``; ``mixture``, ``values`` (both KLs at q) and
    ``optima`` (both directions' optimal q in the family) follow them."""

    target = param.ClassSelector(class_=Target2D)
    q = param.ClassSelector(class_=Approximation2D)
    family = param.Selector(default="factorised", objects=list(g.FAMILIES),
                            doc="q factorised (mean-field: diagonal covariance) or with a full covariance")
    mixture = param.Parameter(doc="p as a numerics Mixture2D (output)")
    values = param.Dict(default={}, doc="{direction: KL at q} (output)")
    optima = param.Dict(default={}, doc="{direction: Optimum2D} (output)")

    def __init__(self, **params):
        params.setdefault("target", Target2D())
        params.setdefault("q", Approximation2D())
        super().__init__(**params)
        self.target.param.watch(self._on_target, ["preset", "rho", "sigma1", "sigma2"])
        self.q.param.watch(self._on_q, ["mu1", "mu2", "sigma1", "sigma2", "rho"])
        self.param.watch(self._on_family, ["family"])
        self._on_family()
        self._on_target()

    def _on_target(self, *events):
        mixture = self.target.mixture
        optima = {d: cached_optimum(mixture, d, self.family) for d in g.DIRECTIONS}
        self.param.update(mixture=mixture, optima=optima, values=g.evaluate(mixture, self.q.gaussian))

    def _on_family(self, *events):
        with param.parameterized.batch_call_watchers(self):
            if self.family == "factorised" and self.q.rho != 0.0:
                self.q.rho = 0.0
            if self.mixture is not None:
                self.optima = {d: cached_optimum(self.mixture, d, self.family) for d in g.DIRECTIONS}

    def _on_q(self, *events):
        self.values = g.evaluate(self.mixture, self.q.gaussian)

    def descents(self, lr: float = 0.1) -> list[Descent2D]:
        """A fresh gradient-descent run of each direction from the current q."""
        return [Descent2D(self.mixture, d, self.family, self.q.gaussian, lr) for d in g.DIRECTIONS]
