"""The approximating family's two forms: free q = N(μ, σ²), or fixed σ, q = N(μ, σ₀²) with σ₀ chosen (as in Tim
Vieira's KL-fitting widget), where optima, runs and landscapes live on μ alone. One cached optimum per (target,
divergence, parameters, σ₀), shared by every session like the free family's."""

from __future__ import annotations

from ..numerics.optima_fixed import optimal_mu
from .cache import LRUCache, cached_optimum

FREE, FIXED = "free", "fixed σ"
FAMILIES = (FREE, FIXED)

FIXED_OPTIMA = LRUCache(512)  # optimal_mu by (target, divergence, parameters, σ₀)


def cached_fixed_optimum(target, name: str, params: dict, sigma: float):
    """``optimal_mu(target, name, sigma, **params)``, computed once per (target, divergence, parameters, σ₀)."""
    return FIXED_OPTIMA.get_or_compute((target.key, name, tuple(sorted(params.items())), float(sigma)),
                                       lambda: optimal_mu(target, name, sigma, **params))


def family_optimum(target, name: str, params: dict, sigma_fixed=None):
    """The optimum in the free family (``sigma_fixed`` None) or in the fixed-σ family N(μ, sigma_fixed²)."""
    if sigma_fixed is None:
        return cached_optimum(target, name, params)
    return cached_fixed_optimum(target, name, params, sigma_fixed)
