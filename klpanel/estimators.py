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

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import param

from . import divergences
from .quadrature import gauss_logpdf, mixture_logpdf

LOG2 = math.log(2.0)


def make_rngs(seeds):
    """One independent ``numpy.random.Generator`` per seed."""
    return [np.random.default_rng(int(s)) for s in seeds]


# -- Monte-Carlo forms: (lp, lq, **params) -> dict of arrays among a, a_lq, b, b_lp, b_lq --------------------------
def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def _mix_shares(la, lb, weight_a):
    """Shares w_a a / M and w_b b / M of the mixture M = w_a a + (1 - w_a) b, from log a and log b."""
    with np.errstate(divide="ignore"):
        ta = (np.log(weight_a) if weight_a > 0 else -np.inf) + la
        tb = (np.log1p(-weight_a) if weight_a < 1 else -np.inf) + lb
    lm = np.logaddexp(ta, tb)
    return lm, np.exp(ta - lm), np.exp(tb - lm)


def _forward_kl(lp, lq):
    return {"a": lp - lq, "a_lq": -np.ones_like(lq)}


def _reverse_kl(lp, lq):
    one = np.ones_like(lq)
    return {"b": lq - lp, "b_lp": -one, "b_lq": one}


def _gkd_jsd(lp, lq, beta=0.5):
    """beta KL(p||M) + (1-beta) KL(q||M), M = beta p + (1-beta) q."""
    lm, share_p, share_q = _mix_shares(lp, lq, beta)
    return {"a": beta * (lp - lm), "a_lq": -beta * share_q,
            "b": (1 - beta) * (lq - lm), "b_lp": -(1 - beta) * share_p, "b_lq": (1 - beta) * share_p}


def _jsd(lp, lq):
    return _gkd_jsd(lp, lq, 0.5)


def _tv(lp, lq):
    """TV = ∫ (q - p)_+ = E_q[(1 - p/q)_+]  (bounded integrand)."""
    r = np.minimum(lp - lq, 0.0)
    e = np.exp(r)
    inside = (lp < lq).astype(float)
    return {"b": inside * (1 - e), "b_lp": -inside * e, "b_lq": inside * e}


def _hellinger(lp, lq):
    """H^2 = 1 - ∫ sqrt(p q) = E_q[1 - (p/q)^(1/2)]."""
    e = np.exp(0.5 * (lp - lq))
    return {"b": 1 - e, "b_lp": -0.5 * e, "b_lq": 0.5 * e}


def _power_integral(lp, lq, alpha):
    """Terms whose expectation is I = ∫ p^alpha q^(1-alpha): E_q[(p/q)^alpha] for alpha < 1/2,
    E_p[(q/p)^(1-alpha)] otherwise (the base whose exponent is small keeps the variance down)."""
    if alpha < 0.5:
        e = np.exp(alpha * (lp - lq))
        return {"b": e, "b_lp": alpha * e, "b_lq": -alpha * e}
    e = np.exp((1 - alpha) * (lq - lp))
    return {"a": e, "a_lq": (1 - alpha) * e}


def _scaled(terms, c, shift=0.0):
    """c * terms + shift (shift added to the q-part, whose weight integrates to 1)."""
    out = {k: c * v for k, v in terms.items()}
    out["b"] = out.get("b", 0.0) + shift
    return out


def _alpha(lp, lq, alpha=0.5):
    """D_alpha = (1 - I) / (alpha (1 - alpha)); the KL limits at alpha = 0 and 1."""
    if alpha == 0.0:
        return _reverse_kl(lp, lq)
    if alpha == 1.0:
        return _forward_kl(lp, lq)
    c = 1.0 / (alpha * (1 - alpha))
    return _scaled(_power_integral(lp, lq, alpha), -c, shift=c)


def _renyi_terms(lp, lq, alpha=0.5):
    if alpha == 1.0:
        return _forward_kl(lp, lq)
    return _power_integral(lp, lq, alpha)


def _renyi_outer(I, alpha=0.5):
    """D = log I / (alpha - 1); returns (D, dD/dI)."""
    if alpha == 1.0:
        return I, np.ones_like(I)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(I) / (alpha - 1), 1.0 / ((alpha - 1) * I)


def _skew_kl(lp, lq, alpha=0.1):
    """KL(p || alpha p + (1-alpha) q)."""
    lm, _, share_q = _mix_shares(lp, lq, alpha)
    return {"a": lp - lm, "a_lq": -share_q}


def _skew_rkl(lp, lq, alpha=0.1):
    """KL(q || (1-alpha) p + alpha q)."""
    lm, share_q, share_p = _mix_shares(lq, lp, alpha)
    return {"b": lq - lm, "b_lp": -share_p, "b_lq": 1 - share_q}


@dataclass(frozen=True)
class MCForm:
    terms: Callable
    outer: Callable | None = None


#: Monte-Carlo forms of the registry's divergences (same conventions as ``klpanel.divergences``)
MC_FORMS: dict[str, MCForm] = {
    "forward_kl": MCForm(_forward_kl),
    "reverse_kl": MCForm(_reverse_kl),
    "jsd": MCForm(_jsd),
    "tv": MCForm(_tv),
    "hellinger": MCForm(_hellinger),
    "alpha": MCForm(_alpha),
    "renyi": MCForm(_renyi_terms, _renyi_outer),
    "skew_kl": MCForm(_skew_kl),
    "skew_rkl": MCForm(_skew_rkl),
    "gkd_jsd": MCForm(_gkd_jsd),
}


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
