"""The loss landscape: a divergence D(p, N(mu, sigma^2)) over a grid of (mu, sigma) or (mu, log sigma).

Values come from ``divergences.evaluate_grid`` (one vectorised call per grid) and the local minima from
``optimal_q``; both are cached per (target, divergence, parameters, grid), so switching back and forth between
targets or divergences costs nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import param

from ..numerics import divergences
from .cache import LRUCache, cached_optimum, read_only
from .family import cached_fixed_optimum
from .target import Target

__all__ = ["Landscape", "LandscapeCurve", "LandscapeGrid", "cached_optimum", "landscape_curve", "landscape_grid"]


@dataclass(frozen=True)
class LandscapeGrid:
    """D over the grid: ``values[i, j]`` at (mu[j], sigma[i]); ``y`` is sigma or log sigma (the plotted axis)."""

    divergence: str
    params: dict
    mu: np.ndarray
    sigma: np.ndarray
    y: np.ndarray
    values: np.ndarray
    minima: list  # Minimum(mu, sigma, value), global first
    log_sigma: bool

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.values).any())


_GRIDS = LRUCache(64)


def landscape_grid(target, name, params=None, mu_range=(-5.0, 5.0), sigma_range=(0.15, 3.0), n_mu=121,
                   n_sigma=81, log_sigma=False, cached_only=False, with_minima=True) -> LandscapeGrid | None:
    """D(p, N(mu, sigma^2)) on an (n_sigma, n_mu) grid; sigma spaced evenly in sigma or in log sigma.
    With ``cached_only`` return the cached grid or None (never compute); without ``with_minima`` the grid's
    ``minima`` list is empty (a quick preview: no ``optimal_q`` call)."""
    chosen = divergences.validate_params([name], **(params or {}))[name]
    lo, hi = float(sigma_range[0]), float(sigma_range[1])
    if not 0 < lo < hi:
        raise ValueError(f"sigma range must satisfy 0 < low < high, got {sigma_range}")
    key = (target.key, name, tuple(sorted(chosen.items())), tuple(mu_range), (lo, hi), int(n_mu), int(n_sigma),
           bool(log_sigma), bool(with_minima))

    def compute():
        mu = np.linspace(float(mu_range[0]), float(mu_range[1]), int(n_mu))
        y = np.linspace(np.log(lo), np.log(hi), int(n_sigma)) if log_sigma else np.linspace(lo, hi, int(n_sigma))
        sigma = np.exp(y) if log_sigma else y
        values = divergences.evaluate_grid(target, mu[None, :], sigma[:, None], [name], **chosen)[name]
        minima = list(cached_optimum(target, name, chosen).local_minima) if with_minima else []
        values = np.asarray(values, dtype=float)
        read_only(mu, sigma, y, values)  # shared by every session through the cache
        return LandscapeGrid(name, chosen, mu, sigma, y, values, minima, bool(log_sigma))

    return _GRIDS.get(key) if cached_only else _GRIDS.get_or_compute(key, compute)


@dataclass(frozen=True)
class LandscapeCurve:
    """The fixed-σ family's landscape: D at (mu[j], σ₀) is ``values[j]``; ``minima`` are ``optimal_mu``'s (all at
    σ₀, global first; some may lie outside the μ range)."""

    divergence: str
    params: dict
    sigma: float
    mu: np.ndarray
    values: np.ndarray
    minima: list


_CURVES = LRUCache(128)


def landscape_curve(target, name, params=None, sigma=0.8, mu_range=(-5.0, 5.0), n_mu=401) -> LandscapeCurve:
    """D(p, N(μ, sigma²)) over ``n_mu`` points of ``mu_range`` with its local minima over μ (cached)."""
    chosen = divergences.validate_params([name], **(params or {}))[name]
    sigma = float(sigma)
    key = (target.key, name, tuple(sorted(chosen.items())), sigma, tuple(mu_range), int(n_mu))

    def compute():
        mu = np.linspace(float(mu_range[0]), float(mu_range[1]), int(n_mu))
        values = np.asarray(divergences.evaluate_grid(target, mu, sigma, [name], **chosen)[name], dtype=float)
        read_only(mu, values)
        return LandscapeCurve(name, chosen, sigma, mu, values,
                              list(cached_fixed_optimum(target, name, chosen, sigma).local_minima))

    return _CURVES.get_or_compute(key, compute)


class Landscape(param.Parameterized):
    """A divergence's landscape over (mu, sigma) for a target; ``grid`` is recomputed (or fetched from the
    cache) whenever an input changes."""

    target = param.ClassSelector(class_=Target, instantiate=False, doc="The target p")
    divergence = param.Selector(default="reverse_kl", objects=list(divergences.REGISTRY))
    divergence_params = param.Dict(default={}, doc="The divergence's parameters (alpha, beta)")
    mu_range = param.Range(default=(-5.0, 5.0), doc="mu axis")
    sigma_range = param.Range(default=(0.15, 3.0), doc="sigma axis (> 0)")
    log_sigma = param.Boolean(default=False, doc="Space the sigma axis evenly in log sigma")
    n_mu = param.Integer(default=121, bounds=(2, 1000))
    n_sigma = param.Integer(default=81, bounds=(2, 1000))
    preview = param.Integer(default=0, bounds=(0, None),
                            doc="If > 0 and ``defer`` is set: show a grid this many times coarser first")
    defer = param.Callable(default=None, doc="``defer(compute, done)``: run ``compute()`` later (e.g. in a worker "
                                            "thread) and then call ``done(result)`` where the model lives; with "
                                            "``preview`` the full grid is computed that way")
    grid = param.ClassSelector(class_=LandscapeGrid, doc="The computed landscape (read-only for views)")
    sigma_fixed = param.Number(default=None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                               doc="The fixed-σ family's σ₀: ``curve`` over μ is computed instead of ``grid``")
    curve = param.ClassSelector(class_=LandscapeCurve, doc="The fixed-σ family's landscape (read-only for views)")

    def __init__(self, **params):
        self._token = None
        params.setdefault("target", Target())
        super().__init__(**params)
        self.target.param.watch(self._update, ["weights"])
        self._update()

    @param.depends("divergence", "divergence_params", "mu_range", "sigma_range", "log_sigma", "n_mu", "n_sigma",
                   "sigma_fixed", watch=True)
    def _update(self, *events):
        if self.sigma_fixed is not None:  # one curve over μ: cheap, no preview
            self._token = None
            self.curve = landscape_curve(self.target, self.divergence, self.divergence_params, self.sigma_fixed,
                                         self.mu_range)
            return
        args = (self.target, self.divergence, self.divergence_params, self.mu_range, self.sigma_range)
        full = dict(n_mu=self.n_mu, n_sigma=self.n_sigma, log_sigma=self.log_sigma)
        cached = landscape_grid(*args, **full, cached_only=True)
        if cached is not None or not (self.preview and self.defer):
            self._token = None
            self.grid = cached or landscape_grid(*args, **full)
            return
        k = self.preview
        self.grid = landscape_grid(*args, n_mu=max(self.n_mu // k, 2), n_sigma=max(self.n_sigma // k, 2),
                                   log_sigma=self.log_sigma, with_minima=False)
        token = self._token = object()

        def done(grid):
            if token is self._token:  # inputs unchanged since the preview
                self.grid = grid
        frozen = (self.target.copy(), *args[1:])  # the worker must not see later edits of the target
        self.defer(lambda: landscape_grid(*frozen, **full), done)
