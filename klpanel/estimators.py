"""Gradient estimators for d D(p, q_theta) / d theta, theta = (mu, sigma), q_theta = N(mu, sigma^2).

* ``exact``: the registry's quadrature gradient (``divergences.evaluate_grid(..., gradients=True)``).
* ``reparameterization``: Monte Carlo with x = mu + sigma * eps, eps ~ N(0, 1), differentiated along the path
  (dx/dmu = 1, dx/dsigma = eps), using the score of p, d log p / dx.
* ``score_function`` (REINFORCE): Monte Carlo with x ~ q and grad log q_theta(x), no derivative of p needed.

Monte-Carlo form. Every registry divergence is written as

.. math:: D = g(I), \\qquad I = E_{x\\sim p}[a(\\ell_p, \\ell_q)] + E_{x\\sim q}[b(\\ell_p, \\ell_q)],
          \\qquad \\ell_p = \\log p(x),\\ \\ell_q = \\log q_\\theta(x)

(``g`` is the identity except for Rényi). The p-part needs p's samples (``Target.sample``); as p does not depend
on theta its gradient is E_p[a_{lq} grad log q] for both Monte-Carlo estimators. The q-part gives

* reparameterization: E_eps[b_{lp} (log p)'(x) (1, eps) + b_{lq} (0, -1/sigma)]  (along the path, log q changes
  only through -log sigma);
* score function: E_q[(b + b_{lq}) grad log q(x)], grad log q = ((x-mu)/sigma^2, ((x-mu)^2/sigma^2 - 1)/sigma).

Each term of the divergence goes to the distribution under which its integrand stays bounded, e.g. forward KL
is all p-part (E_p[log p - log q]), reverse KL all q-part (E_q[log q - log p]), and forward KL's two Monte-Carlo
estimators therefore coincide. Both are unbiased when g is the identity; Rényi's g(I) = log I / (alpha - 1) makes
the Monte-Carlo estimate a ratio (consistent, bias O(1/n)). Every sample count n draws n samples from q and,
for divergences with a p-part, n from p.
"""

from __future__ import annotations


import numpy as np
import param

from . import divergences, mc_forms
from .quadrature import gauss_logpdf, mixture_logpdf

def make_rngs(seeds):
    """One independent ``numpy.random.Generator`` per seed."""
    return [np.random.default_rng(int(s)) for s in seeds]


MCForm = mc_forms.MCForm


def _registry_forms():
    return {name: d.monte_carlo for name, d in divergences.REGISTRY.items() if d.monte_carlo is not None}


#: Monte-Carlo forms of the registry's divergences, read from the registry (``Divergence.monte_carlo``)
MC_FORMS: dict[str, MCForm] = _registry_forms()


def mc_form(name: str) -> MCForm:
    if name not in MC_FORMS:
        raise ValueError(f"no Monte-Carlo form for divergence {name!r}; use the exact estimator")
    return MC_FORMS[name]


def mc_samples(target, name, params, mu, sigma, rngs, n_samples, method):
    """Per-sample Monte-Carlo contributions for rows of (mu, sigma), one generator per row.

    Returns ``(values, grads, outer)``: values (rows, n) and grads (rows, n, 2) whose means over the sample
    axis estimate I and dI/dtheta, and ``outer`` (I -> (D, dD/dI)) or None when D = I.
    """
    form = mc_form(name)
    mu = np.asarray(mu, dtype=float).reshape(-1, 1)
    sigma = np.asarray(sigma, dtype=float).reshape(-1, 1)
    eps = np.stack([rng.standard_normal(n_samples) for rng in rngs])
    xq = mu + sigma * eps
    lp_q, slope = mixture_logpdf(target, xq, with_slope=True)
    lq_q = gauss_logpdf(xq, mu, sigma)
    t = form.terms(lp_q, lq_q, **params)
    values = np.zeros_like(xq)
    grads = np.zeros(xq.shape + (2,))
    if "b" in t:
        b = np.broadcast_to(t["b"], xq.shape)
        values = values + b
        if method == "reparameterization":
            along = t.get("b_lp", 0.0) * slope
            grads[..., 0] += along
            grads[..., 1] += along * eps - t.get("b_lq", 0.0) / sigma
        else:
            w = b + t.get("b_lq", 0.0)
            grads[..., 0] += w * eps / sigma
            grads[..., 1] += w * (eps * eps - 1) / sigma
    if "a" in t:
        xp = np.stack([target.sample(n_samples, seed=rng) for rng in rngs])
        lp_p = mixture_logpdf(target, xp)
        lq_p = gauss_logpdf(xp, mu, sigma)
        tp = form.terms(lp_p, lq_p, **params)
        values = values + tp["a"]
        z = (xp - mu) / sigma
        grads[..., 0] += tp["a_lq"] * z / sigma
        grads[..., 1] += tp["a_lq"] * (z * z - 1) / sigma
    outer = (lambda I: form.outer(I, **params)) if form.outer else None
    return values, grads, outer


def mc_gradient(target, name, params, mu, sigma, rngs, n_samples, method):
    """Monte-Carlo (value, gradient) estimates for rows of (mu, sigma): shapes (rows,), (rows, 2)."""
    values, grads, outer = mc_samples(target, name, params, mu, sigma, rngs, n_samples, method)
    I = values.mean(axis=1)
    dI = grads.mean(axis=1)
    if outer is None:
        return I, dI
    D, dD = outer(I)
    return D, dD[:, None] * dI


# -- estimator objects ---------------------------------------------------------------------------------------
class Estimator(param.Parameterized):
    """A gradient estimator with its own sample count and seed (for standalone use; runs pass their own)."""

    n_samples = param.Integer(default=64, bounds=(1, 100_000), doc="Monte-Carlo samples per gradient")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the random stream")

    label = "estimator"
    stochastic = True

    def __init__(self, **params):
        super().__init__(**params)
        self._rng = np.random.default_rng(self.seed)

    def gradient(self, target, q, name, **params) -> dict:
        """{"mu": ..., "sigma": ...} at q (anything with .mu and .sigma); draws fresh samples each call."""
        chosen = divergences.validate_params([name], **params)[name]
        mu, sigma = np.array([float(q.mu)]), np.array([float(q.sigma)])
        exact = None
        if not self.stochastic:
            _, dmu, dsig = divergences.evaluate_grid(target, mu, sigma, [name], gradients=True, **chosen)[name]
            exact = np.stack([dmu, dsig], axis=-1)
        g = self.batch_gradient(target, name, chosen, mu, sigma, [self._rng], self.n_samples, exact)[0]
        return {"mu": float(g[0]), "sigma": float(g[1])}

    def batch_gradient(self, target, name, params, mu, sigma, rngs, n_samples, exact):
        """The gradient to follow for rows of (mu, sigma): (rows, 2). ``exact`` is the quadrature gradient."""
        raise NotImplementedError


class Exact(Estimator):
    """The registry's exact (quadrature) gradient: no noise."""

    label = "exact"
    stochastic = False

    def batch_gradient(self, target, name, params, mu, sigma, rngs, n_samples, exact):
        return exact


class Reparameterization(Estimator):
    """Pathwise Monte Carlo, x = mu + sigma * eps (low variance; needs d log p / dx)."""

    label = "reparameterization (x = μ + σε)"

    def batch_gradient(self, target, name, params, mu, sigma, rngs, n_samples, exact):
        return mc_gradient(target, name, params, mu, sigma, rngs, n_samples, "reparameterization")[1]


class ScoreFunction(Estimator):
    """Score-function (REINFORCE) Monte Carlo, E_q[f grad log q] (high variance; needs only log p)."""

    label = "score function (REINFORCE)"

    def batch_gradient(self, target, name, params, mu, sigma, rngs, n_samples, exact):
        return mc_gradient(target, name, params, mu, sigma, rngs, n_samples, "score_function")[1]


#: name -> estimator class; runs use ``ESTIMATORS[name]`` with their own seed and sample count
ESTIMATOR_CLASSES: dict[str, type[Estimator]] = {
    "exact": Exact,
    "reparameterization": Reparameterization,
    "score_function": ScoreFunction,
}
ESTIMATORS: dict[str, Estimator] = {name: cls() for name, cls in ESTIMATOR_CLASSES.items()}
