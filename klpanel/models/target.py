"""The target distribution p: a 1-D Gaussian mixture.

.. math:: p(x) = \\sum_k w_k \\, \\mathcal{N}(x; m_k, s_k^2)

``Target.logpdf`` is the primitive (log space, ``logsumexp`` over components);
everything else (pdf, cdf, moments, entropy, sampling) derives from the components.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import param
from scipy import special

MAX_MODES = 8
#: The components the numerics resolve exactly in double precision: |mean| ≤ MEAN_LIMIT, sigma within
#: SIGMA_LIMITS, and |mean| ≤ SPAN_LIMIT × sigma (beyond that a component's own grid is coarser than its width).
MEAN_LIMIT = 1e6
SIGMA_LIMITS = (1e-6, 1e6)
SPAN_LIMIT = 1e10
COMPONENT_SIGMA = 0.35
LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _as_components(weights, means, sigmas):
    """Validate and normalise custom components; raise ``ValueError`` with a clear message."""
    arrays = {}
    for name, values in (("weights", weights), ("means", means), ("sigmas", sigmas)):
        try:
            arr = np.atleast_1d(np.asarray(values, dtype=float))
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a list of numbers, got {values!r}") from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty list of numbers")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite numbers (no NaN or inf), got {arr.tolist()}")
        arrays[name] = arr
    w, m, s = arrays["weights"], arrays["means"], arrays["sigmas"]
    if not (w.size == m.size == s.size):
        raise ValueError(
            f"weights, means and sigmas must have the same length (got {w.size}, {m.size}, {s.size})")
    if w.size > MAX_MODES:
        raise ValueError(f"at most {MAX_MODES} components are allowed, got {w.size}")
    if np.any(w <= 0):
        raise ValueError(f"weights must be > 0, got {w.tolist()}")
    if np.any(s <= 0):
        raise ValueError(f"sigmas must be > 0, got {s.tolist()}")
    if np.any(np.abs(m) > MEAN_LIMIT) or np.any(s > SIGMA_LIMITS[1]) or np.any(s < SIGMA_LIMITS[0]):
        raise ValueError(f"means must lie within ±{MEAN_LIMIT:g} and sigmas within [{SIGMA_LIMITS[0]:g}, "
                         f"{SIGMA_LIMITS[1]:g}]")
    if np.any(np.abs(m) > SPAN_LIMIT * s):
        raise ValueError(f"means must each be at most {SPAN_LIMIT:g} × their sigma in size (double precision)")
    w = w / w.max()  # first, so that huge weights cannot overflow the sum
    return w / w.sum(), m, s


def generated_components(n_modes: int, spread: float, decay: float):
    """The original page's generator: means ``spread * t`` for t evenly spaced on [-1, 1],
    weights proportional to ``decay**i``, every component sigma 0.35."""
    n = int(n_modes)
    means = np.array([0.0]) if n == 1 else spread * np.linspace(-1.0, 1.0, n)
    weights = decay ** np.arange(n, dtype=float)
    return weights / weights.sum(), means, np.full(n, COMPONENT_SIGMA)


class Target(param.Parameterized):
    """A 1-D Gaussian mixture p(x) = sum_k w_k N(x; m_k, s_k^2).

    Built either from the original page's generator (``n_modes``, ``spread``, ``decay``)
    or from explicit ``weights``/``means``/``sigmas`` (weights are normalised on input).
    Setting custom components switches ``mode`` to ``"custom"``; setting a generator
    parameter switches it back to ``"generator"``.
    """

    n_modes = param.Integer(default=3, bounds=(1, MAX_MODES), doc="Number of mixture components")
    spread = param.Number(default=3.0, bounds=(1.5, 5.0), step=0.1,
                          doc="Outermost means at ±spread (generator)")
    decay = param.Number(default=0.55, bounds=(0.3, 1.0), step=0.05,
                         doc="Weight of component i ∝ decay**i (generator)")
    mode = param.Selector(default="generator", objects=["generator", "custom"],
                          doc="Whether components come from the generator or are custom")
    weights = param.Array(default=None, allow_None=True, doc="Normalised component weights")
    means = param.Array(default=None, allow_None=True, doc="Component means")
    sigmas = param.Array(default=None, allow_None=True, doc="Component standard deviations")

    def __init__(self, weights=None, means=None, sigmas=None, **params):
        custom = [v is not None for v in (weights, means, sigmas)]
        if any(custom) and not all(custom):
            raise ValueError("custom targets need all three of weights, means and sigmas")
        super().__init__(**params)
        if all(custom):
            self.set_components(weights, means, sigmas)
        else:
            self._regenerate()

    # -- construction -------------------------------------------------------------------
    def set_components(self, weights, means, sigmas):
        """Replace the components (validated; ``ValueError`` leaves the target unchanged)."""
        w, m, s = _as_components(weights, means, sigmas)
        self._clear_cache()  # before the update, so that watchers never see cached values of the old target
        with param.parameterized.batch_call_watchers(self):
            self.param.update(mode="custom", weights=w, means=m, sigmas=s)

    # -- edits of one component (the Explore plot's handles; each raises ValueError and keeps the target) --------
    def _component(self, k: int) -> int:
        n = self.weights.size
        if not isinstance(k, (int, np.integer)) or not -n <= k < n:
            raise ValueError(f"there is no mode {k!r}: p has {n} mode{'s' * (n != 1)}")
        return int(k) % n

    def edit_component(self, k: int, *, mean=None, weight=None, sigma=None):
        """Move component ``k``: a new ``mean``, ``sigma``, or ``weight`` relative to the others' normalised
        weights (the set is normalised again, so ``weight=w_j`` of another component makes the two equal)."""
        k = self._component(k)
        w, m, s = self.weights.copy(), self.means.copy(), self.sigmas.copy()
        for name, value, arr in (("weight", weight, w), ("mean", mean, m), ("σ", sigma, s)):
            if value is not None:
                if name == "weight" and not value > 0:
                    raise ValueError(f"a mode's weight must be above 0, got {value:.3g}")
                if name == "σ" and not value >= SIGMA_LIMITS[0]:
                    raise ValueError(f"a mode's σ must be at least {SIGMA_LIMITS[0]:g}, got {value:.3g}")
                arr[k] = value
        self.set_components(w, m, s)

    def add_component(self, mean: float, weight: float, sigma: float = COMPONENT_SIGMA):
        """Append a component (``weight`` relative to the others' normalised weights), at most :data:`MAX_MODES`."""
        if self.weights.size >= MAX_MODES:
            raise ValueError(f"p has {MAX_MODES} modes already, the most allowed")
        if not weight > 0:
            raise ValueError(f"a mode's weight must be above 0, got {weight:.3g}")
        self.set_components([*self.weights, weight], [*self.means, mean], [*self.sigmas, sigma])

    def remove_component(self, k: int):
        """Delete component ``k`` (the others' weights are normalised again); p keeps at least one."""
        k = self._component(k)
        if self.weights.size == 1:
            raise ValueError("p needs at least one mode: this is the last one")
        keep = np.arange(self.weights.size) != k
        self.set_components(self.weights[keep], self.means[keep], self.sigmas[keep])

    @param.depends("n_modes", "spread", "decay", watch=True)
    def _regenerate(self):
        w, m, s = generated_components(self.n_modes, self.spread, self.decay)
        self._clear_cache()
        self.param.update(mode="generator", weights=w, means=m, sigmas=s)

    def _clear_cache(self):
        for key in ("_log_weights", "entropy", "mean", "var", "key", "_quad_cache"):
            self.__dict__.pop(key, None)

    def copy(self) -> "Target":
        return Target(weights=self.weights.copy(), means=self.means.copy(), sigmas=self.sigmas.copy())

    @cached_property
    def key(self) -> tuple:
        """A hashable identity of the components (for caches)."""
        return (tuple(self.weights.round(15)), tuple(self.means.round(15)), tuple(self.sigmas.round(15)))

    # -- densities ----------------------------------------------------------------------
    @cached_property
    def _log_weights(self):
        return np.log(self.weights)

    def component_logpdf(self, x):
        """log(w_k N(x; m_k, s_k)) with a trailing component axis."""
        x = np.asarray(x, dtype=float)[..., None]
        z = (x - self.means) / self.sigmas
        return self._log_weights - np.log(self.sigmas) - LOG_SQRT_2PI - 0.5 * z * z

    def logpdf(self, x):
        """log p(x), exact in log space for any x (no underflow far in the tails)."""
        return special.logsumexp(self.component_logpdf(x), axis=-1)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def cdf(self, x):
        x = np.asarray(x, dtype=float)[..., None]
        return np.sum(self.weights * special.ndtr((x - self.means) / self.sigmas), axis=-1)

    def sf(self, x):
        """Survival function 1 - cdf, accurate in the right tail."""
        x = np.asarray(x, dtype=float)[..., None]
        return np.sum(self.weights * special.ndtr((self.means - x) / self.sigmas), axis=-1)

    def sample(self, n: int, seed=None):
        rng = np.random.default_rng(seed)
        k = rng.choice(self.weights.size, size=int(n), p=self.weights)
        return self.means[k] + self.sigmas[k] * rng.standard_normal(int(n))

    # -- moments and entropy ------------------------------------------------------------
    @cached_property
    def mean(self) -> float:
        return float(np.dot(self.weights, self.means))

    @cached_property
    def var(self) -> float:
        return float(np.dot(self.weights, self.sigmas**2 + (self.means - self.mean) ** 2))

    @cached_property
    def entropy(self) -> float:
        """Differential entropy -∫ p log p (nats), by the package's exact quadrature."""
        if self.weights.size == 1:
            return float(0.5 * np.log(2 * np.pi * np.e * self.sigmas[0] ** 2))
        from ..numerics.quadrature import target_entropy
        return target_entropy(self)

    def __repr__(self):
        if self.mode == "generator":
            return f"Target(n_modes={self.n_modes}, spread={self.spread}, decay={self.decay})"
        return (f"Target(weights={self.weights.tolist()}, means={self.means.tolist()}, "
                f"sigmas={self.sigmas.tolist()})")

    __str__ = __repr__

    def to_dict(self) -> dict:
        return {"weights": self.weights.tolist(), "means": self.means.tolist(),
                "sigmas": self.sigmas.tolist()}
