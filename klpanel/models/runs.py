"""Optimisation runs: gradient descent (or Momentum, Adam) on a divergence D(p, q_theta) over q = N(mu, sigma^2).

>>> from klpanel import Target
>>> from klpanel.models.runs import Run
>>> run = Run.original(Target(), "reverse_kl")        # the original page: GD lr 0.03, clip ±1.5, sigma >= 0.15
>>> run.step(500).mu, run.sigma, run.loss              # doctest: +SKIP
(0.0, 0.350, 1.214)                                    # stuck on the middle mode: a local minimum
>>> run.trajectory["loss"]                             # numpy arrays: step, mu, sigma, loss, grad_norm

One step, for a run at theta_t with gradient g_t (already known from the previous evaluation):

1. g_t is expressed in the optimizer's parameterisation ((mu, sigma) or (mu, log sigma)),
2. theta_{t+1} = optimizer.update(theta_t, g_t), then sigma_{t+1} = max(sigma_{t+1}, sigma_floor),
3. the loss and the exact gradient at theta_{t+1} come from ``divergences.evaluate_grid`` (one vectorised call
   for every run sharing target and divergence: ``step_runs``), and the gradient the next update uses is the
   exact one or a Monte-Carlo estimate (``klpanel.models.estimators``).

``grad_norm`` is the norm of the exact gradient in (mu, sigma), projected onto the feasible set (a sigma pinned
on its floor with a gradient pushing it lower counts only through mu). A run is ``converged`` once that
norm falls below ``tol``; it then stops moving, and ``minimum`` names the local minimum of
``optimal_q(...).local_minima`` it reached. Runs are deterministic for a given seed.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import param

from ..numerics import divergences
from .estimators import ESTIMATORS, make_rngs
from .family import family_optimum
from .optimizers import GradientDescent, Optimizer, make_optimizer, optimizer_name
from .stepping import evaluate_runs, step_runs
from .target import Target

FIELDS = ("step", "mu", "sigma", "loss", "grad_norm")

#: The original page's optimiser: plain GD, lr 0.03, gradient clipped to ±1.5, sigma floor 0.15, exact
#: gradients, one step per 80 ms tick, starting from the Explore section's q.
ORIGINAL_PRESET = dict(optimizer=dict(name="gd", lr=0.03, clip=1.5), estimator="exact", sigma_floor=0.15,
                       tol=1e-4)
ORIGINAL_TICK_MS = 80

#: how close (in mu, and relatively in sigma) a converged run must be to a local minimum to be matched to it
MATCH_TOL = 0.05


def _default_optimizer():
    return GradientDescent(lr=0.03, clip=1.5)


class Run(param.Parameterized):
    """One optimisation of q = N(mu, sigma^2) against the target p under one divergence.

    Changing any parameter (or the target's components) restarts the run from (mu0, sigma0).
    """

    target = param.ClassSelector(class_=Target, default=None, allow_None=True, instantiate=False,
                                 doc="The target p (default: Target())")
    divergence = param.Selector(default="reverse_kl", objects=list(divergences.REGISTRY),
                                doc="Name of a registry divergence")
    divergence_params = param.Dict(default={}, doc="The divergence's parameters (e.g. alpha, beta)")
    mu0 = param.Number(default=0.0, doc="Start mu")
    sigma0 = param.Number(default=0.8, bounds=(0, None), inclusive_bounds=(False, True), doc="Start sigma")
    optimizer = param.ClassSelector(class_=Optimizer, default=None, allow_None=True, instantiate=False,
                                    doc="Optimizer (default: GradientDescent(lr=0.03, clip=1.5))")
    estimator = param.Selector(default="exact", objects=list(ESTIMATORS), doc="Gradient estimator")
    n_samples = param.Integer(default=64, bounds=(1, 100_000), doc="Monte-Carlo samples per gradient")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the run's random numbers")
    sigma_floor = param.Number(default=0.15, bounds=(0, None), allow_None=True,
                               doc="Lower bound on sigma after every step (None or 0: none)")
    sigma_fixed = param.Number(default=None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                               doc="The fixed-σ family: σ held at this value (sigma0 and the floor unused), only μ "
                                   "moves; None: q = N(μ, σ²) over both")
    tol = param.Number(default=1e-4, bounds=(0, None), doc="Converged once the gradient norm is below this")
    max_steps = param.Integer(default=200_000, bounds=(1, None), doc="A run stops after this many steps")

    def __init__(self, target=None, optimizer=None, **params):
        super().__init__(target=target if target is not None else Target(),
                         optimizer=make_optimizer(optimizer) if optimizer is not None else _default_optimizer(),
                         **params)
        self.reset()

    @classmethod
    def original(cls, target=None, divergence="reverse_kl", mu0=0.0, sigma0=0.8, **params) -> "Run":
        """The original page's run (``ORIGINAL_PRESET``) from (mu0, sigma0)."""
        preset = {**ORIGINAL_PRESET, "optimizer": make_optimizer(dict(ORIGINAL_PRESET["optimizer"])), **params}
        return cls(target=target, divergence=divergence, mu0=mu0, sigma0=sigma0, **preset)

    # -- lifecycle ------------------------------------------------------------------------------------------
    @param.depends("target", "divergence", "divergence_params", "mu0", "sigma0", "optimizer", "estimator",
                   "n_samples", "seed", "sigma_floor", "sigma_fixed", watch=True)
    def reset(self) -> "Run":
        """Back to (mu0, sigma0) at step 0 with a fresh optimizer state and random stream."""
        if not (math.isfinite(self.mu0) and math.isfinite(self.sigma0) and self.sigma0 > 0):
            raise ValueError(f"start q must have finite mu and sigma > 0, got ({self.mu0}, {self.sigma0})")
        self.resolved_params = divergences.validate_params([self.divergence], **self.divergence_params)[self.divergence]
        self._floor = float(self.sigma_floor or 0.0)  # read on every step: a param read costs ~µs, this not
        # runs with equal keys may be stepped together (every part is a parameter whose change runs this reset)
        self.batch_key = (id(self.target), self.estimator, id(self.optimizer), self._floor, self.n_samples,
                          self.sigma_fixed)
        self._target_key = self.target.key
        self._n = 0
        self._grad = np.zeros(2)  # the gradient the next update uses (exact or Monte Carlo)
        self._loss = math.nan
        self._grad_norm = math.nan
        self.optimizer_state = {k: v[0] for k, v in self.optimizer.init_state(1).items()}
        self.rng = make_rngs([self.seed])[0]  # the run's random stream (Monte-Carlo estimators)
        self.status = "running"
        self.message = ""
        self._minimum_index = None
        self._trajectory = {k: [] for k in FIELDS}
        sigma = float(self.sigma_fixed) if self.sigma_fixed is not None else max(float(self.sigma0), self.floor)
        self._theta = np.array([float(self.mu0), sigma])
        evaluate_runs([self])
        return self

    @param.depends("tol", "max_steps", watch=True, on_init=True)
    def _read_limits(self):
        self.limits = (self.tol, self.max_steps)  # (tol, max_steps), read on every step (see floor)

    @property
    def floor(self) -> float:
        return self._floor  # sigma_floor as a number (0 for None); set by reset, which any change of it runs

    def follow_target(self):
        """Restart if the target was edited in place (custom components, sliders), like the original page."""
        if self.target.key != self._target_key:
            self.reset()

    def record(self, theta, n_steps: int, loss, grad_norm, follow):
        """Enter the state after step ``n_steps``: q at ``theta`` = (mu, sigma), its loss, the projected norm of
        its exact gradient and the gradient the next update follows; the status follows (stopped on a non-finite
        value, converged below ``tol``, stopped at ``max_steps``). The batched stepping calls it."""
        self._theta = np.array(theta, dtype=float)
        self._n = int(n_steps)
        self._loss = float(loss)
        self._grad_norm = float(grad_norm)
        self._grad = follow
        tr = self._trajectory
        tr["step"].append(self._n)
        tr["mu"].append(float(self._theta[0]))
        tr["sigma"].append(float(self._theta[1]))
        tr["loss"].append(self._loss)
        tr["grad_norm"].append(self._grad_norm)
        tol, max_steps = self.limits
        if not (math.isfinite(self._loss) and np.all(np.isfinite(follow)) and math.isfinite(self._grad_norm)):
            self.status = "stopped"
            self.message = (f"{self.divergence} is not finite at q = N({self.mu:.3g}, {self.sigma:.3g}²) "
                            f"(loss {self._loss}); the run stopped there.")
        elif self._grad_norm < tol:
            self.status = "converged"
        elif self._n >= max_steps:
            self.status = "stopped"
            self.message = f"stopped after max_steps = {max_steps} steps without converging"

    def step(self, n: int = 1) -> "Run":
        """Take up to ``n`` optimizer steps (fewer once converged or stopped). Returns self."""
        step_runs([self], n)
        return self

    # -- state ----------------------------------------------------------------------------------------------
    @property
    def mu(self) -> float:
        return float(self._theta[0])

    @property
    def sigma(self) -> float:
        return float(self._theta[1])

    @property
    def theta(self) -> np.ndarray:
        """The current (mu, sigma) as an array (a copy)."""
        return self._theta.copy()

    @property
    def n_steps(self) -> int:
        """Steps taken since the last reset."""
        return self._n

    @property
    def loss(self) -> float:
        """D(p, q) at the current q (exact, whatever the gradient estimator)."""
        return self._loss

    @property
    def grad_norm(self) -> float:
        return self._grad_norm

    @property
    def gradient(self) -> np.ndarray:
        """The gradient (d/dmu, d/dsigma) the next step will use (exact or Monte Carlo)."""
        return self._grad.copy()

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    @property
    def active(self) -> bool:
        return self.status == "running"

    @property
    def trajectory(self) -> dict:
        """Every visited state since the reset: dict of numpy arrays step, mu, sigma, loss, grad_norm."""
        self.follow_target()
        return {k: np.asarray(v, dtype=int if k == "step" else float) for k, v in self._trajectory.items()}

    def trajectory_since(self, start: int, fields=None, end: int | None = None):
        """The trajectory entries from index ``start`` on (up to ``end``, exclusive), as lists (for streaming to a
        plot): a dict of every field, or with ``fields`` (names) a tuple of just those lists."""
        if fields is not None:
            return tuple(self._trajectory[k][start:end] for k in fields)
        return {k: v[start:end] for k, v in self._trajectory.items()}

    @property
    def trajectory_length(self) -> int:
        return len(self._trajectory["step"])

    def frame(self, length: int | None = None) -> "RunFrame":
        """The run as it stood after its first ``length`` trajectory entries (default: now), read-only."""
        return RunFrame(self, self.trajectory_length if length is None else length)

    @property
    def optimum(self):
        """``optimal_q(target, divergence, **params)`` (cached per target, divergence and params); in the fixed-σ
        family ``optimal_mu(target, divergence, sigma_fixed, **params)``."""
        return family_optimum(self.target, self.divergence, self.resolved_params, self.sigma_fixed)

    @property
    def minimum_index(self):
        """Index in ``optimum.local_minima`` (0 = global) of the minimum this converged run sits on, else None."""
        if self.status != "converged":
            return None
        if self._minimum_index is None:  # a converged run never moves again: match it once
            self._minimum_index = next(
                (i for i, m in enumerate(self.optimum.local_minima)
                 if abs(m.mu - self.mu) <= MATCH_TOL and abs(m.sigma - self.sigma) <= MATCH_TOL * max(m.sigma, 1.0)),
                -1)
        return None if self._minimum_index < 0 else self._minimum_index

    @property
    def minimum(self):
        """The ``Minimum(mu, sigma, value)`` this converged run reached, or None."""
        i = self.minimum_index
        return None if i is None else self.optimum.local_minima[i]

    def to_dict(self) -> dict:
        """JSON-ready: the settings, the trajectory as lists, the final state, convergence and the minimum.
        Non-finite numbers become None."""
        def num(x):
            return float(x) if x is not None and math.isfinite(x) else None

        traj = {k: ([int(s) for s in v] if k == "step" else [num(x) for x in v])
                for k, v in self._trajectory.items()}
        minimum, index = self.minimum, self.minimum_index
        opt = self.optimizer
        return {
            "target": self.target.to_dict(),
            "divergence": self.divergence,
            "divergence_params": dict(self.resolved_params),
            "mu0": self.mu0, "sigma0": self.sigma0,
            "optimizer": {"name": optimizer_name(opt),
                          **{k: v for k, v in opt.param.values().items() if k != "name"}},
            "estimator": self.estimator, "n_samples": self.n_samples, "seed": self.seed,
            "sigma_floor": self.sigma_floor, "sigma_fixed": self.sigma_fixed, "tol": self.tol,
            "trajectory": traj,
            "final": {"step": self._n, "mu": num(self.mu), "sigma": num(self.sigma), "loss": num(self.loss),
                      "grad_norm": num(self.grad_norm)},
            "converged": self.converged,
            "status": self.status,
            "message": self.message,
            "minimum": None if minimum is None else {
                "mu": minimum.mu, "sigma": minimum.sigma, "value": minimum.value, "index": index,
                "is_global": index == 0},
        }

    def __repr__(self):
        return (f"Run({self.divergence}, step {self._n}: mu={self.mu:.4f}, sigma={self.sigma:.4f}, "
                f"loss={self.loss:.4f}, {self.status})")

    __str__ = __repr__


class RunFrame:
    """A run as it stood after its first ``length`` trajectory entries (``Run.frame(length)``): what an animation
    shows while the run itself has been stepped further ahead. Read-only; the state a frame reads (mu, sigma,
    loss, grad_norm, n_steps, status, the trajectory up to it) is the run's at that entry; before the last entry
    the status is "running" (the run had not stopped yet)."""

    __slots__ = ("run", "_i", "_last")

    def __init__(self, run: "Run", length: int):
        n = run.trajectory_length
        if not 1 <= length <= n:
            raise ValueError(f"a frame needs 1 to {n} trajectory entries, got {length}")
        self.run, self._i, self._last = run, length - 1, length == n

    def _at(self, field):
        return self.run._trajectory[field][self._i]

    divergence = property(lambda self: self.run.divergence)
    mu0 = property(lambda self: self.run.mu0)
    sigma0 = property(lambda self: self.run.sigma0)
    floor = property(lambda self: self.run.floor)
    optimum = property(lambda self: self.run.optimum)
    n_steps = property(lambda self: self._at("step"))
    mu = property(lambda self: self._at("mu"))
    sigma = property(lambda self: self._at("sigma"))
    loss = property(lambda self: self._at("loss"))
    grad_norm = property(lambda self: self._at("grad_norm"))
    status = property(lambda self: self.run.status if self._last else "running")
    message = property(lambda self: self.run.message if self._last else "")
    converged = property(lambda self: self.status == "converged")
    active = property(lambda self: self.status == "running")
    minimum_index = property(lambda self: self.run.minimum_index if self._last else None)
    trajectory_length = property(lambda self: self._i + 1)

    def trajectory_since(self, start: int, fields=None):
        """``Run.trajectory_since`` up to this frame's entry."""
        return self.run.trajectory_since(start, fields, self._i + 1)


def random_starts(n: int, seed=0, mu_range=(-5.0, 5.0), sigma_range=(0.15, 3.0)):
    """``n`` start points (mu, sigma): mu uniform, sigma log-uniform in the ranges. Deterministic per seed."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(*mu_range, size=int(n))
    sigma = np.exp(rng.uniform(np.log(sigma_range[0]), np.log(sigma_range[1]), size=int(n)))
    return mu, sigma


def random_restarts(n: int, target=None, divergence="reverse_kl", seed=0, mu_range=(-5.0, 5.0),
                    sigma_range=(0.15, 3.0), **run_params) -> list[Run]:
    """``n`` runs of one divergence from random starts (see ``random_starts``), sharing one optimizer object
    so ``step_runs`` steps them together. Run i gets seed ``seed + i``."""
    target = target if target is not None else Target()
    optimizer = make_optimizer(run_params.pop("optimizer", None) or _default_optimizer())
    mu, sigma = random_starts(n, seed, mu_range, sigma_range)
    return [Run(target=target, divergence=divergence, mu0=float(m), sigma0=float(s), optimizer=optimizer,
                seed=seed + i, **run_params) for i, (m, s) in enumerate(zip(mu, sigma))]


def minima_reached(runs) -> dict:
    """How many runs converged to each local minimum index (None: not converged / unmatched)."""
    counts = defaultdict(int)
    for r in runs:
        counts[r.minimum_index] += 1
    return dict(counts)
