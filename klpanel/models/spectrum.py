"""The optimal q along a one-parameter path: the α spectrum, the spread phase plot, the distillation losses.

A *path* is a sequence of problems (target p_t, divergence parameters θ_t) for t on a grid: the α of the
α-divergence or the Rényi order (Minka 2005, "Divergence measures and message passing"; Bishop PRML fig. 10.3),
the generator's spread, or the α/β of a distillation loss. Along it we want the global minimiser
(μ*(t), σ*(t)) of D_t(p_t ‖ N(μ, σ²)) — and where that minimiser jumps from one mode to another, a jump, not a
line drawn through the gap.

:func:`track_optima` follows every local minimum by continuation: at anchors (every ``ANCHOR_EVERY`` points and
both ends) a cold search from the moment-matched starts of :func:`klpanel.numerics.optima.moment_starts`; between
anchors each minimum is carried to the next point by the library's batched Newton
(:func:`klpanel.numerics.optima.minima_from`) started at the previous minimiser (2–4 batched steps instead of a cold search).
A minimum an anchor finds that the forward pass did not bring (a branch born between two anchors) is carried
backwards until it disappears. Each minimum carries a branch id; the global curve is *connected* from t_{i−1} to
t_i when both global minima are on the same branch, and broken (a jump) otherwise.

Models (:class:`AlphaSpectrum`, :class:`SpreadPhase`, :class:`Distillation`) are plain ``param`` classes: the
views in :mod:`klpanel.views.spectrum` read them; results are cached per (target, divergence, parameters, grid).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import param

from .background import background_pool
from .cache import LRUCache
from ..numerics import divergences as dv
from ..numerics.optima import minima_from, moment_starts, optimal_q
from .target import Target

ANCHOR_EVERY = 20  # a cold search every this many points (and at both ends)
SAME_POINT = 1e-3  # two minima closer than this in (μ, log σ) are one (the library's merge distance)
MAX_MOVE = 0.3  # a minimum that moves further than this in (μ, log σ) in one grid step has jumped
COLD_SLACK = 1e3  # cold starts whose value exceeds best + COLD_SLACK·(1 + |best|) cannot win: skip them
ALPHA_POINTS = 61  # α grid: step 0.05 over [−1, 2]
SPREAD_POINTS = 41  # spread grid: step 0.0875 over [1.5, 5]
PARAM_POINTS = 41  # distillation parameter grid
SPECTRUM_FAMILIES = ("alpha", "renyi")  # registry divergences with an order α whose spectrum we draw
PHASE_NAMES = ("reverse_kl", "jsd", "hellinger", "tv")  # the "where they stop covering" set

_POOL = background_pool(2, "klpanel-spectrum")  # the kernel releases the GIL


# -- the path of optima ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    """The optimal q along a path t: global ``mu``, ``sigma``, ``value`` per t (NaN where no finite
    minimum exists), ``jump[i]`` True when the global minimiser at t[i] is not on the branch it was on at t[i−1],
    and ``minima[i]`` every local minimum at t[i] as rows (μ, σ, value), global first."""

    t: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    value: np.ndarray
    jump: np.ndarray
    minima: tuple

    def at(self, t: float) -> int:
        """Index of the grid point nearest to t."""
        return int(np.argmin(np.abs(self.t - t)))

    def broken(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(t, y) with a NaN inserted before every jump, so a plotted line breaks there instead of sliding
        across the gap between two modes."""
        y = getattr(self, column)
        cut = np.nonzero(self.jump)[0]
        return np.insert(self.t, cut, np.nan), np.insert(y, cut, np.nan)

    @property
    def jumps_at(self) -> np.ndarray:
        """Midpoints of the grid intervals across which the global optimum jumps."""
        i = np.nonzero(self.jump)[0]
        return 0.5 * (self.t[i - 1] + self.t[i])

    def all_minima(self) -> dict:
        """Every local minimum as flat columns t, mu, sigma, value, rank (0 = global)."""
        cols = {"t": [], "mu": [], "sigma": [], "value": [], "rank": []}
        for t, rows in zip(self.t, self.minima):
            for k, row in enumerate(rows):
                for key, v in zip(("t", "mu", "sigma", "value", "rank"), (t, *row, k)):
                    cols[key].append(float(v))
        return {k: np.asarray(v) for k, v in cols.items()}


def _cold(target, name, params):
    """Every local minimum from the moment-matched starts (as ``optimal_q``), skipping hopeless starts."""
    starts = moment_starts(target)
    v = dv.evaluate_grid(target, starts[:, 0], np.exp(starts[:, 1]), [name], **params)[name]
    ok = np.isfinite(v)
    if not ok.any():
        return np.empty((0, 2)), np.empty(0)
    best = v[ok].min()
    ok &= v <= best + COLD_SLACK * (1.0 + abs(best))
    return minima_from(target, name, starts[ok], params)


def _carry(target, name, params, theta):
    """Continue minima at the previous grid point to this one: (theta, value, owner) where owner[k] is the
    index of the start that minimum k continues, or −1 when it came from further than ``MAX_MOVE``."""
    if theta.shape[0] == 0:
        return np.empty((0, 2)), np.empty(0), np.empty(0, dtype=int)
    out, v = minima_from(target, name, theta, params)
    if out.shape[0] == 0:
        return out, v, np.empty(0, dtype=int)
    dist = np.abs(out[:, None, :] - theta[None, :, :]).max(axis=2)
    owner = dist.argmin(axis=1)
    owner[dist[np.arange(out.shape[0]), owner] > MAX_MOVE] = -1
    for k in range(out.shape[0]):  # one start continues into at most one minimum: the nearest
        if owner[k] >= 0 and np.any((owner == owner[k]) & (dist[:, owner[k]] < dist[k, owner[k]])):
            owner[k] = -1
    return out, v, owner


class _Point:
    """The minima known at one grid point: θ rows (μ, log σ), values, branch ids."""

    def __init__(self):
        self.theta, self.value, self.ids = np.empty((0, 2)), np.empty(0), []

    def find(self, theta):
        if self.theta.shape[0] == 0:
            return -1
        d = np.abs(self.theta - theta).max(axis=1)
        k = int(np.argmin(d))
        return k if d[k] < SAME_POINT else -1

    def add(self, theta, value, branch) -> int:
        """Add a minimum unless already known; returns the id it is known under."""
        k = self.find(theta)
        if k >= 0:
            return self.ids[k]
        self.theta = np.vstack([self.theta, theta])
        self.value = np.append(self.value, value)
        self.ids.append(branch)
        return branch


def track_optima(name: str, problems, anchor_every: int = ANCHOR_EVERY, progress=None) -> Curve:
    """The optimal q of divergence ``name`` along ``problems`` = [(t, target, params), ...].

    See the module docstring for the method. ``progress(done, total)`` is called after each grid point.
    """
    n = len(problems)
    points = [_Point() for _ in range(n)]
    anchors = set(range(0, n, max(1, anchor_every))) | {n - 1}
    ids = iter(range(1 << 30))
    for i, (_, target, params) in enumerate(problems):
        here = points[i]
        if i > 0:
            prev = points[i - 1]
            out, v, owner = _carry(target, name, params, _predict(prev, points[i - 2] if i > 1 else None))
            for k in range(out.shape[0]):
                if owner[k] >= 0:
                    here.add(out[k], v[k], prev.ids[owner[k]])
                elif here.find(out[k]) < 0:  # a branch reached from far away: born since the last point
                    _follow_back(name, problems, points, i, out[k], here.add(out[k], v[k], next(ids)))
        if i in anchors:
            theta, v = _cold(target, name, params)
            for k in range(theta.shape[0]):
                known = here.find(theta[k])
                if known < 0:  # born since the last point: add it, then follow it backwards
                    branch = here.add(theta[k], v[k], next(ids))
                    _follow_back(name, problems, points, i, theta[k], branch)
        if progress is not None:
            progress(i + 1, n)
    return _curve(problems, points)


def _predict(prev: _Point, before: _Point | None) -> np.ndarray:
    """Starts for the next point: each minimum extrapolated linearly along its branch (secant predictor) when
    the branch was also at the point before, else the minimum itself."""
    theta = prev.theta.copy()
    if before is not None:
        for k, branch in enumerate(prev.ids):
            if branch in before.ids:
                step = prev.theta[k] - before.theta[before.ids.index(branch)]
                if np.abs(step).max() < 0.5 * MAX_MOVE:
                    theta[k] += step
    return theta


def _follow_back(name, problems, points, i, theta, branch):
    """Carry a minimum found at point i backwards while it exists and is new."""
    for j in range(i - 1, -1, -1):
        _, target, params = problems[j]
        out, v, owner = _carry(target, name, params, theta[None, :])
        if out.shape[0] == 0 or owner[0] < 0 or points[j].find(out[0]) >= 0:
            return
        points[j].add(out[0], v[0], branch)
        theta = out[0]


def _curve(problems, points) -> Curve:
    n = len(problems)
    mu, sigma, value = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    jump = np.zeros(n, dtype=bool)
    minima, previous = [], None
    for i, pt in enumerate(points):
        order = np.argsort(pt.value)
        rows = tuple((float(pt.theta[k, 0]), float(np.exp(pt.theta[k, 1])), float(pt.value[k])) for k in order)
        if len(rows) > 1 and max(abs(r[2]) for r in rows) < 1e-12:  # zero for every q (Rényi order 0)
            rows = ()
        minima.append(rows)
        if not rows:
            previous = None
            continue
        mu[i], sigma[i], value[i] = rows[0]
        branch = pt.ids[order[0]]
        jump[i] = previous is not None and branch != previous
        previous = branch
    t = np.array([float(p[0]) for p in problems])
    return Curve(t, mu, sigma, value, jump, tuple(minima))


# -- cache ------------------------------------------------------------------------------------------------------
CURVES = LRUCache()


def cached_track(key, name, problems, progress=None) -> Curve:
    """The cached curve for ``key``, else ``track_optima(name, problems())`` (problems are built only when
    needed: a target per spread costs more than a cache hit)."""
    curve = CURVES.get(key)
    if curve is None:
        curve = CURVES.put(key, track_optima(name, problems(), progress=progress))
    elif progress is not None:
        progress(curve.t.size, curve.t.size)
    return curve


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


def parallel_curves(jobs: dict, progress=None) -> dict:
    """Run {key: zero-argument function returning a Curve} on the module's two workers; ``progress(done,
    total)`` counts grid points over all jobs (curves already cached count as done)."""
    done, lock = {}, threading.Lock()
    total = [0]

    def tick(key):
        def report(k, n):
            with lock:
                done[key] = k
                total[0] = max(total[0], n * len(jobs))
                if progress is not None:
                    progress(sum(done.values()), total[0])
        return report

    futures = {key: _POOL.submit(fn, tick(key)) for key, fn in jobs.items()}
    return {key: f.result() for key, f in futures.items()}


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
