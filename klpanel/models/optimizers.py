"""First-order optimizers for the two parameters of q = N(mu, sigma^2).

Each optimizer is a ``param.Parameterized`` holding only hyper-parameters; the per-run state
(velocity, moments, step count) lives in the run, so one optimizer object drives many runs at
once. ``update`` is vectorised over a batch of runs: ``theta`` and ``grad`` have shape (n, 2).

Parameterisation (``parameterization``):

* ``"sigma"`` (default, the original page): theta = (mu, sigma), the gradient is
  (dD/dmu, dD/dsigma) and sigma is updated directly (the run then applies its sigma floor).
* ``"log_sigma"``: theta = (mu, log sigma); by the chain rule dD/dlog sigma = sigma * dD/dsigma.
  Steps in log sigma are multiplicative in sigma, so sigma can never go negative.

Gradient clipping (``clip``) is element-wise, as on the original page: each component of the
gradient (in the chosen parameterisation) is clipped to [-clip, clip] before the update.
"""

from __future__ import annotations

import numpy as np
import param

PARAMETERIZATIONS = ("sigma", "log_sigma")


class Optimizer(param.Parameterized):
    """Base class: ``theta_{t+1} = theta_t - step(clip(g_t))`` with state kept by the caller."""

    lr = param.Number(default=0.03, bounds=(0, None), inclusive_bounds=(False, True), softbounds=(0.001, 0.5),
                      step=0.001, doc="Learning rate (step size)")
    clip = param.Number(default=None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                        softbounds=(0.1, 10), doc="Clip each gradient component to [-clip, clip] (None: no clip)")
    parameterization = param.Selector(default="sigma", objects=list(PARAMETERIZATIONS),
                                      doc="Optimise (mu, sigma) or (mu, log sigma)")

    #: names of the state arrays an update reads and writes (each of shape (n, 2))
    state_names: tuple = ()

    def init_state(self, n: int) -> dict:
        """Fresh optimizer state for ``n`` runs."""
        return {name: np.zeros((n, 2)) for name in self.state_names}

    def clipped(self, grad):
        grad, clip = np.asarray(grad, dtype=float), self.clip
        return grad if clip is None else np.clip(grad, -clip, clip)

    def update(self, theta, grad, state: dict, t):
        """Return the new theta (n, 2) from the gradient (n, 2) at theta; updates ``state`` in place.

        ``t`` (shape (n,)) is the 1-based index of this step for each run (Adam's bias correction).
        """
        return theta - self.direction(self.clipped(grad), state, np.asarray(t, dtype=float))

    def direction(self, grad, state, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """Short human text, e.g. ``GD lr=0.03 clip=±1.5``."""
        values = [f"{k}={v:g}" for k, v in self.param.values().items()
                  if k not in ("name", "clip", "parameterization") and isinstance(v, (int, float))]
        if self.clip is not None:
            values.append(f"clip=±{self.clip:g}")
        if self.parameterization != "sigma":
            values.append("in log σ")
        return " ".join([self.short_name, *values])

    short_name = "opt"


class GradientDescent(Optimizer):
    """Plain gradient descent: theta <- theta - lr * clip(g)."""

    short_name = "GD"

    def direction(self, grad, state, t):
        return self.lr * grad


class Momentum(Optimizer):
    """Heavy-ball momentum: v <- beta * v + clip(g); theta <- theta - lr * v."""

    beta = param.Number(default=0.9, bounds=(0, 1), inclusive_bounds=(True, False), step=0.01,
                        doc="Momentum coefficient")
    short_name = "Momentum"
    state_names = ("velocity",)

    def direction(self, grad, state, t):
        v = state["velocity"]
        v *= self.beta
        v += grad
        return self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction:

    m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,
    theta <- theta - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
    """

    lr = param.Number(default=0.05, bounds=(0, None), inclusive_bounds=(False, True), softbounds=(0.001, 0.5),
                      step=0.001, doc="Learning rate (step size)")
    beta1 = param.Number(default=0.9, bounds=(0, 1), inclusive_bounds=(True, False), step=0.01,
                         doc="Decay of the first-moment average")
    beta2 = param.Number(default=0.999, bounds=(0, 1), inclusive_bounds=(True, False), step=0.001,
                         doc="Decay of the second-moment average")
    eps = param.Number(default=1e-8, bounds=(0, None), doc="Denominator guard")
    short_name = "Adam"
    state_names = ("m", "v")

    def direction(self, grad, state, t):
        m, v = state["m"], state["v"]
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        t = t[:, None] if np.ndim(t) else t
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


#: name -> optimizer class (the UI's choices and the API's ``optimizer`` field)
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "adam": Adam,
}


def make_optimizer(spec) -> Optimizer:
    """An ``Optimizer`` from an instance, a registry name, or a dict ``{"name": "adam", "lr": 0.1, ...}``."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict):
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or a dict with 'name', got {spec!r}")
    spec = dict(spec)
    name = spec.pop("name", "gd")
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[name]
    unknown = set(spec) - set(cls.param) - {"name"}
    if unknown:
        raise ValueError(f"unknown {name} option(s) {sorted(unknown)}; allowed: "
                         f"{sorted(k for k in cls.param if k != 'name')}")
    try:
        return cls(**spec)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid {name} option: {exc}") from None


def optimizer_name(optimizer: Optimizer) -> str:
    """Registry name of an optimizer instance."""
    for name, cls in OPTIMIZERS.items():
        if type(optimizer) is cls:
            return name
    return type(optimizer).__name__
