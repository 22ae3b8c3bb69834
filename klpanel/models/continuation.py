"""The optimal q along a path of problems, by continuation (the engine behind :mod:`klpanel.models.spectrum`).

A *path* is a sequence of problems (t, target p_t, divergence parameters θ_t). :func:`track_optima` follows every
local minimum by continuation: at anchors (every ``ANCHOR_EVERY`` points and both ends) a cold search from the
moment-matched starts of :func:`klpanel.numerics.optima.moment_starts`; between anchors each minimum is carried
to the next point by the library's batched Newton (:func:`klpanel.numerics.optima.minima_from`) started at the
previous minimiser (2–4 batched steps instead of a cold search). A minimum an anchor finds that the forward pass
did not bring (a branch born between two anchors) is carried backwards until it disappears. Each minimum carries
a branch id; the global curve is *connected* from t_{i−1} to t_i when both global minima are on the same branch,
and broken (a jump) otherwise. Curves are cached (``CURVES``) and computed on two low-priority workers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .background import background_pool
from .cache import LRUCache, read_only
from ..numerics import divergences as dv
from ..numerics.optima import minima_from, moment_starts

ANCHOR_EVERY = 20  # a cold search every this many points (and at both ends)
SAME_POINT = 1e-3  # two minima closer than this in (μ, log σ) are one (the library's merge distance)
MAX_MOVE = 0.3  # a minimum that moves further than this in (μ, log σ) in one grid step has jumped
COLD_SLACK = 1e3  # cold starts whose value exceeds best + COLD_SLACK·(1 + |best|) cannot win: skip them

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
        curve = track_optima(name, problems(), progress=progress)
        read_only(curve.t, curve.mu, curve.sigma, curve.value, curve.jump)  # shared by every session
        curve = CURVES.put(key, curve)
    elif progress is not None:
        progress(curve.t.size, curve.t.size)
    return curve


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
