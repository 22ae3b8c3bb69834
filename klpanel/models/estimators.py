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

from ..numerics import divergences, mc_forms
from ..numerics.quadrature import gauss_logpdf, mixture_logpdf

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


def _row_groups(rows):
    """Rows (name, params) grouped by divergence and parameters: [(form, params, row indices)], first-seen order."""
    groups: dict = {}
    for i, (name, params) in enumerate(rows):
        key = (name, tuple(sorted(params.items())))
        if key not in groups:
            groups[key] = (mc_form(name), params, [])
        groups[key][2].append(i)
    n = len(rows)
    # one group of every row: a slice (no copies); else index arrays
    return [(form, params, slice(None) if len(idx) == n else np.array(idx)) for form, params, idx in groups.values()]


def _mc_rows(target, rows, mu, sigma, rngs, n_samples, method):
    """Per-sample contributions for rows of (mu, sigma), row i of divergence ``rows[i] = (name, params)``, one
    generator per row; the q-samples of every row and the p-samples of every row that needs them are drawn and
    evaluated together (each generator draws its q-samples, then its p-samples, whatever the batch).

    Returns ``(values, grads, groups)``: values (rows, n) and grads (rows, n, 2) whose means over the sample
    axis estimate I and dI/dtheta per row, and the ``_row_groups`` of the rows (for their ``outer``).
    """
    groups = _row_groups(rows)
    mu = np.asarray(mu, dtype=float).reshape(-1, 1)
    sigma = np.asarray(sigma, dtype=float).reshape(-1, 1)
    eps = np.stack([rng.standard_normal(n_samples) for rng in rngs])
    xq = mu + sigma * eps
    lp_q, slope = mixture_logpdf(target, xq, with_slope=True)
    lq_q = gauss_logpdf(xq, mu, sigma)
    values = np.zeros_like(xq)
    grads = np.zeros(xq.shape + (2,))
    with_p = []  # groups with a p-part
    for form, params, idx in groups:
        t = form.terms(lp_q[idx], lq_q[idx], **params)
        if "b" in t:
            e, s = eps[idx], sigma[idx]
            b = np.broadcast_to(t["b"], e.shape)
            values[idx] += b
            if method == "reparameterization":
                along = t.get("b_lp", 0.0) * slope[idx]
                grads[idx, :, 0] += along
                grads[idx, :, 1] += along * e - t.get("b_lq", 0.0) / s
            else:
                w = b + t.get("b_lq", 0.0)
                grads[idx, :, 0] += w * e / s
                grads[idx, :, 1] += w * (e * e - 1) / s
        if "a" in t:
            with_p.append((form, params, idx))
    if with_p:
        need = np.zeros(len(rows), dtype=bool)
        for _, _, idx in with_p:
            need[idx] = True
        where = np.nonzero(need)[0]  # rows with p-samples, in order; row -> its place among them
        place = np.cumsum(need) - 1
        xp = np.stack([target.sample(n_samples, seed=rngs[i]) for i in where])
        lp_p = mixture_logpdf(target, xp)
        lq_p = gauss_logpdf(xp, mu[where], sigma[where])
        for form, params, idx in with_p:
            at = place[idx]
            tp = form.terms(lp_p[at], lq_p[at], **params)
            values[idx] += tp["a"]
            z = (xp[at] - mu[idx]) / sigma[idx]
            grads[idx, :, 0] += tp["a_lq"] * z / sigma[idx]
            grads[idx, :, 1] += tp["a_lq"] * (z * z - 1) / sigma[idx]
    return values, grads, groups


def mc_samples(target, name, params, mu, sigma, rngs, n_samples, method):
    """Per-sample Monte-Carlo contributions of one divergence for rows of (mu, sigma), one generator per row.

    Returns ``(values, grads, outer)``: values (rows, n) and grads (rows, n, 2) whose means over the sample
    axis estimate I and dI/dtheta, and ``outer`` (I -> (D, dD/dI)) or None when D = I.
    """
    form = mc_form(name)
    rows = [(name, params)] * len(rngs)
    values, grads, _ = _mc_rows(target, rows, mu, sigma, rngs, n_samples, method)
    outer = (lambda I: form.outer(I, **params)) if form.outer else None
    return values, grads, outer


def mc_gradients(target, rows, mu, sigma, rngs, n_samples, method):
    """Monte-Carlo (value, gradient) estimates, shapes (rows,) and (rows, 2), for rows of (mu, sigma) whose
    divergences may differ: row i's is ``rows[i] = (name, params)`` (one batch for a group of runs)."""
    values, grads, groups = _mc_rows(target, rows, mu, sigma, rngs, n_samples, method)
    I = values.mean(axis=1)
    dI = grads.mean(axis=1)
    for form, params, idx in groups:
        if form.outer:
            D, dD = form.outer(I[idx], **params)
            I[idx] = D
            dI[idx] = dD[:, None] * dI[idx]
    return I, dI


def mc_gradient(target, name, params, mu, sigma, rngs, n_samples, method):
    """Monte-Carlo (value, gradient) estimates of one divergence for rows of (mu, sigma): shapes (rows,), (rows, 2)."""
    return mc_gradients(target, [(name, params)] * len(rngs), mu, sigma, rngs, n_samples, method)


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
        g = self.batch_gradient(target, [(name, chosen)], mu, sigma, [self._rng], self.n_samples, exact)[0]
        return {"mu": float(g[0]), "sigma": float(g[1])}

    def batch_gradient(self, target, rows, mu, sigma, rngs, n_samples, exact):
        """The gradient to follow for rows of (mu, sigma): (rows, 2); row i's divergence is ``rows[i] = (name,
        params)``, its generator ``rngs[i]``. ``exact`` is the quadrature gradient."""
        raise NotImplementedError


class Exact(Estimator):
    """The registry's exact (quadrature) gradient: no noise."""

    label = "exact"
    stochastic = False

    def batch_gradient(self, target, rows, mu, sigma, rngs, n_samples, exact):
        return exact


class Reparameterization(Estimator):
    """Pathwise Monte Carlo, x = mu + sigma * eps (low variance; needs d log p / dx)."""

    label = "reparameterization (x = μ + σε)"

    def batch_gradient(self, target, rows, mu, sigma, rngs, n_samples, exact):
        return mc_gradients(target, rows, mu, sigma, rngs, n_samples, "reparameterization")[1]


class ScoreFunction(Estimator):
    """Score-function (REINFORCE) Monte Carlo, E_q[f grad log q] (high variance; needs only log p)."""

    label = "score function (REINFORCE)"

    def batch_gradient(self, target, rows, mu, sigma, rngs, n_samples, exact):
        return mc_gradients(target, rows, mu, sigma, rngs, n_samples, "score_function")[1]


#: name -> estimator class; runs use ``ESTIMATORS[name]`` with their own seed and sample count
ESTIMATOR_CLASSES: dict[str, type[Estimator]] = {
    "exact": Exact,
    "reparameterization": Reparameterization,
    "score_function": ScoreFunction,
}
ESTIMATORS: dict[str, Estimator] = {name: cls() for name, cls in ESTIMATOR_CLASSES.items()}
