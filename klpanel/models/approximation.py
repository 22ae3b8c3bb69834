"""The approximating family: one Gaussian q = N(mu, sigma^2)."""

from __future__ import annotations

import math

import numpy as np
import param
from scipy import special

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


class FiniteNumber(param.Number):
    """A param.Number that also refuses NaN and infinity (plain bounds checks let NaN through)."""

    def _validate_value(self, val, allow_None):
        super()._validate_value(val, allow_None)
        if val is not None and not math.isfinite(val):
            raise ValueError(f"{self.name} must be a finite number, got {val!r}")


class Approximation(param.Parameterized):
    """q(x) = N(x; mu, sigma^2) with |mu| ≤ 1e6 and 1e-4 ≤ sigma ≤ 1e6: far wider than any view shows, and inside
    what double precision resolves (|mu|/sigma ≤ 1e10). The UI's slider bounds are the views' business."""

    mu = FiniteNumber(default=0.0, bounds=(-1e6, 1e6), doc="Mean of q")
    sigma = FiniteNumber(default=0.8, bounds=(1e-4, 1e6), doc="Standard deviation of q")

    def __init__(self, **params):
        try:
            super().__init__(**params)
        except ValueError as exc:
            if "sigma" in params and isinstance(params["sigma"], (int, float)) and params["sigma"] <= 0:
                raise ValueError(f"sigma must be > 0, got {params['sigma']!r}") from None
            raise ValueError(str(exc)) from None

    def logpdf(self, x):
        z = (np.asarray(x, dtype=float) - self.mu) / self.sigma
        return -0.5 * z * z - np.log(self.sigma) - LOG_SQRT_2PI

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def cdf(self, x):
        return special.ndtr((np.asarray(x, dtype=float) - self.mu) / self.sigma)

    def sample(self, n: int, seed=None):
        rng = np.random.default_rng(seed)
        return self.mu + self.sigma * rng.standard_normal(int(n))

    @property
    def entropy(self) -> float:
        return float(0.5 * np.log(2 * np.pi * np.e * self.sigma**2))

    def __repr__(self):
        return f"Approximation(mu={self.mu}, sigma={self.sigma})"
