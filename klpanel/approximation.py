"""The approximating family: one Gaussian q = N(mu, sigma^2)."""

from __future__ import annotations

import numpy as np
import param
from scipy import special

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


class Approximation(param.Parameterized):
    """q(x) = N(x; mu, sigma^2). Any finite mu and any sigma > 0 work in the numerics;
    the UI's slider bounds are the views' business."""

    mu = param.Number(default=0.0, doc="Mean of q")
    sigma = param.Number(default=0.8, bounds=(0, None), inclusive_bounds=(False, True),
                         doc="Standard deviation of q (> 0)")

    def __init__(self, **params):
        for name in ("mu", "sigma"):
            if name in params:
                v = params[name]
                if not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v):
                    raise ValueError(f"{name} must be a finite number, got {v!r}")
        if "sigma" in params and params["sigma"] <= 0:
            raise ValueError(f"sigma must be > 0, got {params['sigma']!r}")
        super().__init__(**params)

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
