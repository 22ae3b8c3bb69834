"""The optimisation-dynamics state behind the page's section 4 (no Panel: views read it, tests drive it).

``Dynamics`` holds side-by-side runs (one per chosen divergence, all from the same start q), optional random
restarts of the landscape's divergence, the shared optimizer and estimator, the animation speed and the
landscape. ``advance()`` moves every live run by ``steps_per_frame`` steps in one batched ``step_runs`` call
(one ``evaluate_grid`` per step for all of them). Any change of the target, the start q, the optimizer kind,
the estimator or the divergences restarts every run from the start q, as on the original page.
"""

from __future__ import annotations

import numpy as np
import param

from ..numerics import divergences as dv
from .estimators import ESTIMATORS
from .landscape import Landscape, landscape_curve
from .optimizers import OPTIMIZERS, Optimizer
from .runs import ORIGINAL_PRESET, ORIGINAL_TICK_MS, Run, random_starts, step_runs
from .target import Target

MAX_PANELS = 6
MAX_RESTARTS = 24
MU_RANGE = (-5.0, 5.0)
SIGMA_RANGE = (0.15, 3.0)


class Dynamics(param.Parameterized):
    """Runs of several divergences from one start q, plus random restarts, animated together."""

    target = param.ClassSelector(class_=Target, instantiate=False, doc="The target p")
    mu0 = param.Number(default=0.0, doc="Start mu of every panel run (the Explore section's q)")
    sigma0 = param.Number(default=0.8, bounds=(0, None), inclusive_bounds=(False, True), doc="Start sigma")
    divergences = param.List(default=["forward_kl", "reverse_kl"], item_type=str,
                             doc="One side-by-side run per entry (registry names)")
    divergence_params = param.Dict(default={}, doc="Per divergence name its parameters, e.g. {'alpha': {'alpha': 0.5}}")
    optimizer_name = param.Selector(default="gd", objects=list(OPTIMIZERS), label="Optimizer")
    optimizer = param.ClassSelector(class_=Optimizer, instantiate=False, doc="The optimizer every run shares")
    estimator = param.Selector(default="exact", objects=list(ESTIMATORS), label="Gradient estimator")
    n_samples = param.Integer(default=64, bounds=(1, 4096), label="Samples per gradient")
    seed = param.Integer(default=0, bounds=(0, None), label="Seed")
    sigma_floor = param.Number(default=0.15, bounds=(0, 1), label="σ floor")
    sigma_fixed = param.Number(default=None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                               doc="The fixed-σ family's σ₀: every run moves μ only, the landscape is a curve over "
                                   "μ; None: the free family over (μ, σ)")
    steps_per_frame = param.Integer(default=1, bounds=(1, 50), label="Steps per frame")
    fps = param.Number(default=30.0, bounds=(1, 60), step=0.5, label="Frames per second")
    n_restarts = param.Integer(default=8, bounds=(1, MAX_RESTARTS), label="Random restarts")
    landscape_divergence = param.Selector(default="reverse_kl", objects=list(dv.REGISTRY),
                                          label="Landscape of")
    log_sigma = param.Boolean(default=False, label="log σ axis")
    restarts_on = param.Boolean(default=False, doc="Whether random restarts are running")
    generation = param.Integer(default=0, doc="Incremented at every reset (views clear their plots)")
    reset_reason = param.String(default="", doc="Why the runs last restarted")

    def __init__(self, **params):
        params.setdefault("target", Target())
        name = params.get("optimizer_name", "gd")
        self._optimizers = {n: cls(**(dict(lr=0.03, clip=1.5) if n == "gd" else {})) for n, cls in OPTIMIZERS.items()}
        params.setdefault("optimizer", self._optimizers[name])
        super().__init__(**params)
        self.landscape = Landscape(target=self.target, divergence=self.landscape_divergence,
                                   divergence_params=self._params_for(self.landscape_divergence),
                                   mu_range=MU_RANGE, sigma_range=SIGMA_RANGE, n_mu=81, n_sigma=49, preview=3,
                                   log_sigma=self.log_sigma, sigma_fixed=self.sigma_fixed)
        self.target.param.watch(self._on_target, ["weights"])
        self.param.watch(self._on_settings, ["mu0", "sigma0", "divergences", "divergence_params", "optimizer",
                                             "estimator", "n_samples", "seed", "sigma_floor", "sigma_fixed"])
        self.runs: list[Run] = []
        self.restarts: list[Run] = []
        self.reset("start")

    # -- settings -----------------------------------------------------------------------------------------
    def _params_for(self, name) -> dict:
        return dict(self.divergence_params.get(name, {}))

    @param.depends("optimizer_name", watch=True)
    def _on_optimizer_name(self):
        self.optimizer = self._optimizers[self.optimizer_name]

    def _on_target(self, *events):
        self.reset("the target changed")

    def _on_settings(self, *events):
        names = {e.name for e in events}
        why = "the start q moved" if names & {"mu0", "sigma0"} else "the settings changed"
        self.reset(why)

    @param.depends("landscape_divergence", "divergence_params", "log_sigma", "sigma_fixed", watch=True)
    def _on_landscape(self):
        self.landscape.param.update(divergence=self.landscape_divergence,
                                    divergence_params=self._params_for(self.landscape_divergence),
                                    log_sigma=self.log_sigma, sigma_fixed=self.sigma_fixed)
        if self.restarts_on:
            self.start_restarts()

    def use_original_preset(self):
        """The original page: plain GD lr 0.03 clipped to ±1.5, σ floor 0.15, exact gradients, one step per
        80 ms frame."""
        gd = self._optimizers["gd"]
        gd.param.update(lr=ORIGINAL_PRESET["optimizer"]["lr"], clip=ORIGINAL_PRESET["optimizer"]["clip"],
                        parameterization="sigma")
        self.param.update(optimizer_name="gd", estimator="exact", sigma_floor=ORIGINAL_PRESET["sigma_floor"],
                          steps_per_frame=1, fps=1000.0 / ORIGINAL_TICK_MS)
        self.reset("the original preset was chosen")

    # -- runs ---------------------------------------------------------------------------------------------
    def _run(self, name, mu0, sigma0, seed) -> Run:
        return Run(target=self.target, divergence=name, divergence_params=self._params_for(name), mu0=mu0,
                   sigma0=sigma0, optimizer=self.optimizer, estimator=self.estimator, n_samples=self.n_samples,
                   seed=seed, sigma_floor=self.sigma_floor, sigma_fixed=self.sigma_fixed)

    def reset(self, reason: str = "reset") -> None:
        """Every run back to its start (restarts get new random starts only through ``start_restarts``)."""
        self.runs = [self._run(name, self.mu0, self.sigma0, self.seed + i) for i, name in enumerate(self.divergences)]
        if self.restarts_on:
            self._make_restarts()
        self.param.update(generation=self.generation + 1, reset_reason=reason)

    def add_run(self, name: str) -> None:
        if name not in dv.REGISTRY:
            raise ValueError(f"unknown divergence {name!r}")
        if len(self.divergences) >= MAX_PANELS:
            raise ValueError(f"at most {MAX_PANELS} side-by-side runs")
        self.divergences = [*self.divergences, name]

    def remove_run(self, index: int) -> None:
        self.divergences = [n for i, n in enumerate(self.divergences) if i != index]

    def _make_restarts(self):
        mu, sigma = random_starts(self.n_restarts, self.seed, MU_RANGE, SIGMA_RANGE)
        name = self.landscape_divergence
        self.restarts = [self._run(name, float(m), float(s), self.seed + 1000 + i)
                         for i, (m, s) in enumerate(zip(mu, sigma))]

    def start_restarts(self) -> None:
        """``n_restarts`` runs of the landscape's divergence from random starts (drawn from ``seed``)."""
        self.restarts_on = True
        self._make_restarts()
        self.param.update(generation=self.generation + 1, reset_reason="random restarts")

    def clear_restarts(self) -> None:
        self.restarts_on = False
        self.restarts = []
        self.param.update(generation=self.generation + 1, reset_reason="restarts cleared")

    def curves(self) -> dict:
        """The fixed-σ family's landscape: {divergence: its ``LandscapeCurve`` over μ at σ₀} for the landscape's
        divergence and every run's, or {} in the free family."""
        if self.sigma_fixed is None:
            return {}
        names = dict.fromkeys([self.landscape_divergence, *self.divergences])
        return {name: landscape_curve(self.target, name, self._params_for(name), self.sigma_fixed, MU_RANGE)
                for name in names}

    @property
    def all_runs(self) -> list[Run]:
        return self.runs + self.restarts

    @property
    def done(self) -> bool:
        """No run can move any more (all converged or stopped)."""
        return not any(r.active for r in self.all_runs)

    def advance(self, n: int | None = None) -> bool:
        """Step every live run by ``n`` (default ``steps_per_frame``) steps; False if nothing could move."""
        live = [r for r in self.all_runs if r.active]
        if not live:
            return False
        step_runs(live, self.steps_per_frame if n is None else n)
        return True

    def restart_summary(self, restarts=None) -> dict:
        """Local-minimum index (0 = global, None = not there yet) -> number of restarts sitting on it (of
        ``restarts``, e.g. their ``Run.frame``s as an animation shows them; default: the restarts as they are)."""
        counts: dict = {}
        for r in self.restarts if restarts is None else restarts:
            counts[r.minimum_index] = counts.get(r.minimum_index, 0) + 1
        return counts

    @staticmethod
    def clamp_start(mu: float, sigma: float):
        """A clicked (mu, sigma) limited to the Explore sliders' ranges."""
        return (float(np.clip(mu, *MU_RANGE)), float(np.clip(sigma, *SIGMA_RANGE)))
