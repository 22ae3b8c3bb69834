"""The optimal q along a one-parameter path: the α spectrum, the spread phase plot, the distillation losses.

A *path* is a sequence of problems (target p_t, divergence parameters θ_t) for t on a grid: the α of the
α-divergence or the Rényi order (Minka 2005, "Divergence measures and message passing"; Bishop PRML fig. 10.3),
the generator's spread, or the α/β of a distillation loss. Along it we want the global minimiser
(μ*(t), σ*(t)) of D_t(p_t ‖ N(μ, σ²)) — and where that minimiser jumps from one mode to another, a jump, not a
line drawn through the gap.

:func:`klpanel.models.continuation.track_optima` follows every local minimum along the path, with the
global curve broken where its minimiser jumps.

Models (:class:`AlphaSpectrum`, :class:`SpreadPhase`, :class:`Distillation`) are plain ``param`` classes: the
views in :mod:`klpanel.views.spectrum` read them; results are cached per (target, divergence, parameters, grid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import param

from ..numerics import divergences as dv
from ..numerics.optima import optimal_q
from .continuation import CURVES, Curve, cached_track, parallel_curves, track_optima
from .target import Target

ALPHA_POINTS = 61  # α grid: step 0.05 over [−1, 2]
SPREAD_POINTS = 41  # spread grid: step 0.0875 over [1.5, 5]
PARAM_POINTS = 41  # distillation parameter grid
SPECTRUM_FAMILIES = ("alpha", "renyi")  # registry divergences with an order α whose spectrum we draw
PHASE_NAMES = ("reverse_kl", "jsd", "hellinger", "tv")  # the "where they stop covering" set


def _params_key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


# -- α spectrum ------------------------------------------------------------------------------------------------
def order_bounds(family: str) -> tuple[float, float]:
    """The registry's bounds of the order α of ``family`` ("alpha": [−1, 2], "renyi": [0, 2])."""
    spec = {s.name: s for s in dv.REGISTRY[family].params}["alpha"]
    return spec.bounds


def alpha_grid(family: str, points: int = ALPHA_POINTS) -> np.ndarray:
    lo, hi = order_bounds(family)
    return np.round(np.linspace(lo, hi, points), 10)


def alpha_curve(target, family: str = "alpha", points: int = ALPHA_POINTS, progress=None) -> Curve:
    """Optimal (μ*, σ*) of the α-divergence (or Rényi divergence) of order α, for α on :func:`alpha_grid`."""
    grid = alpha_grid(family, points)
    return cached_track(("alpha", target.key, family, tuple(grid)), family,
                        lambda: [(a, target, {"alpha": float(a)}) for a in grid], progress)


class AlphaSpectrum(param.Parameterized):
    """The α spectrum of one target: the optimal Gaussian under D_α (or Rényi order α) for every α.

    Known behaviour it shows (Minka 2005): α → 0 is reverse KL (zero-forcing: one mode), α = 1 forward KL
    (moment matching), α ≤ 0 locks onto the heaviest mode, α ≥ 1 covers everything; between them the global
    optimum jumps from a mode to a covering Gaussian.
    """

    target = param.ClassSelector(class_=Target, doc="The target mixture p")
    family = param.Selector(default="alpha", objects=list(SPECTRUM_FAMILIES), doc="α-divergence or Rényi")
    alpha = param.Number(default=0.5, bounds=order_bounds("alpha"), step=0.05, doc="The current order α")
    points = param.Integer(default=ALPHA_POINTS, bounds=(5, 401), doc="Number of α values on the curve")

    def __init__(self, **params):
        params.setdefault("target", Target())
        super().__init__(**params)
        self._on_family()

    @param.depends("family", watch=True)
    def _on_family(self):
        lo, hi = order_bounds(self.family)
        self.param.alpha.bounds = (lo, hi)
        self.alpha = min(max(self.alpha, lo), hi)

    @property
    def grid(self) -> np.ndarray:
        return alpha_grid(self.family, self.points)

    def curve(self, progress=None) -> Curve:
        return alpha_curve(self.target, self.family, self.points, progress)

    def cached_curve(self):
        """The curve if already computed (no work), else None."""
        return CURVES.get(("alpha", self.target.key, self.family, tuple(self.grid)))

    def optimum(self, curve: Curve | None = None) -> tuple[float, float, float]:
        """(μ*, σ*, value) at the current α: read off the curve when α is on its grid, else ``optimal_q``."""
        curve = curve or self.cached_curve()
        if curve is not None:
            i = curve.at(self.alpha)
            if abs(curve.t[i] - self.alpha) < 1e-9:
                return float(curve.mu[i]), float(curve.sigma[i]), float(curve.value[i])
        best = optimal_q(self.target, self.family, alpha=float(self.alpha))
        return best.mu, best.sigma, best.value


# -- spread phase plot -----------------------------------------------------------------------------------------
def spread_grid(points: int = SPREAD_POINTS) -> np.ndarray:
    lo, hi = Target.param.spread.bounds
    return np.round(np.linspace(lo, hi, points), 10)


def spread_curve(n_modes: int, decay: float, name: str, params: dict | None = None,
                 points: int = SPREAD_POINTS, progress=None) -> Curve:
    """Optimal (μ*, σ*) of ``name`` against the generator's spread at fixed ``n_modes`` and ``decay``."""
    params = dv.validate_params([name], **(params or {}))[name]
    grid = spread_grid(points)
    key = ("spread", int(n_modes), round(float(decay), 12), name, _params_key(params), tuple(grid))
    return cached_track(key, name, lambda: [(s, Target(n_modes=int(n_modes), spread=float(s), decay=float(decay)),
                                             params) for s in grid], progress)


class SpreadPhase(param.Parameterized):
    """σ* and μ* against the target's spread (1.5 … 5) at the target's n_modes and decay, for several
    divergences: where reverse KL, JSD, Hellinger and TV stop covering and collapse onto one mode."""

    n_modes = param.Integer(default=3, bounds=Target.param.n_modes.bounds, doc="Modes of the generator")
    decay = param.Number(default=0.55, bounds=Target.param.decay.bounds, doc="Weight decay of the generator")
    names = param.ListSelector(default=list(PHASE_NAMES), objects=list(dv.REGISTRY), doc="Divergences drawn")
    params = param.Dict(default={}, doc="name -> divergence parameters (α, β, ...) for those that have them")
    points = param.Integer(default=SPREAD_POINTS, bounds=(5, 401), doc="Number of spreads")

    def _jobs(self):
        return {name: (lambda progress, name=name: spread_curve(
            self.n_modes, self.decay, name, self.params.get(name, {}), self.points, progress)) for name in self.names}

    def curves(self, progress=None) -> dict:
        """{name: Curve over the spreads}, computed on two workers (cached per n_modes, decay, parameters)."""
        return parallel_curves(self._jobs(), progress)

    def cached_curves(self):
        """{name: Curve} if every curve is already cached, else None."""
        out = {}
        for name in self.names:
            params = dv.validate_params([name], **self.params.get(name, {}))[name]
            key = ("spread", int(self.n_modes), round(float(self.decay), 12), name, _params_key(params),
                   tuple(spread_grid(self.points)))
            curve = CURVES.get(key)
            if curve is None:
                return None
            out[name] = curve
        return out


# -- distillation losses ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DistillationLoss:
    """A distillation loss of the registry with a one-line source and the range its parameter is swept over
    (the registry's bounds without the end where the loss vanishes for every q)."""

    name: str
    source: str
    param: str
    sweep: tuple[float, float]
    moves: str


DISTILLATION = {d.name: d for d in [
    DistillationLoss("skew_kl", "DistiLLM (Ko et al. 2024): skew KL, α = 0.1", "alpha", (0.0, 0.95),
                     "α = 0 is forward KL; as α grows the optimum leaves the forward-KL optimum and narrows "
                     "(at α = 1 the loss is 0 for every q)."),
    DistillationLoss("skew_rkl", "DistiLLM (Ko et al. 2024): skew reverse KL, α = 0.1", "alpha", (0.0, 0.95),
                     "α = 0 is reverse KL; as α grows the optimum leaves the reverse-KL mode and widens "
                     "(at α = 1 the loss is 0 for every q)."),
    DistillationLoss("gkd_jsd", "GKD (Agarwal et al. 2024): generalised JSD(β)", "beta", (0.05, 0.95),
                     "β → 0 behaves like forward KL (scaled by β), β → 1 like reverse KL (scaled by 1 − β); "
                     "β = ½ is the JSD."),
]}
assert set(DISTILLATION) <= set(dv.REGISTRY)

#: The other distillation sources the section names (registry divergences only).
SOURCES = {
    "reverse_kl": "MiniLLM (Gu et al. 2024): reverse KL, optimised by policy gradient.",
    "forward_kl": "Classic KD (Hinton et al. 2015): forward KL to the teacher's soft labels.",
    "f-distill": "f-distill (Wen et al. 2023): KL, reverse KL, JS and TV compared as f-divergences.",
}
F_DISTILL = ("forward_kl", "reverse_kl", "jsd", "tv")  # the f-divergences f-distill compares
assert set(F_DISTILL) <= set(dv.REGISTRY)


def param_grid(name: str, points: int = PARAM_POINTS) -> np.ndarray:
    lo, hi = DISTILLATION[name].sweep
    return np.round(np.linspace(lo, hi, points), 10)


def distillation_curve(target, name: str, points: int = PARAM_POINTS, progress=None) -> Curve:
    """Optimal (μ*, σ*) of distillation loss ``name`` as its parameter sweeps ``DISTILLATION[name].sweep``."""
    loss = DISTILLATION[name]
    grid = param_grid(name, points)
    return cached_track(("distill", target.key, name, tuple(grid)), name,
                        lambda: [(c, target, {loss.param: float(c)}) for c in grid], progress)


class Distillation(param.Parameterized):
    """The distillation losses of :data:`DISTILLATION` on one target: each loss's optimum along its
    parameter, between the forward-KL and reverse-KL optima."""

    target = param.ClassSelector(class_=Target, doc="The target mixture p")
    points = param.Integer(default=PARAM_POINTS, bounds=(5, 401), doc="Parameter values per curve")

    def __init__(self, **params):
        params.setdefault("target", Target())
        super().__init__(**params)

    def references(self) -> dict:
        """Global optima of forward and reverse KL: the two ends the losses move between."""
        return {n: optimal_q(self.target, n) for n in ("forward_kl", "reverse_kl")}

    def curves(self, progress=None) -> dict:
        jobs = {name: (lambda progress, name=name: distillation_curve(self.target, name, self.points, progress))
                for name in DISTILLATION}
        return parallel_curves(jobs, progress)


__all__ = ["AlphaSpectrum", "Curve", "DISTILLATION", "Distillation", "SpreadPhase", "alpha_curve",
           "distillation_curve", "spread_curve", "track_optima"]
