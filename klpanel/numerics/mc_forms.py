"""Monte-Carlo forms of the divergences, one per registry entry (``Divergence.monte_carlo``).

Every divergence is written as

.. math:: D = g(I), \\qquad I = E_{x\\sim p}[a(\\ell_p, \\ell_q)] + E_{x\\sim q}[b(\\ell_p, \\ell_q)]

(``g`` is the identity except for Rényi); a form gives the arrays a, a_lq (∂a/∂ℓ_q), b, b_lp, b_lq from
log p and log q at the samples. :mod:`klpanel.models.estimators` turns them into reparameterization and score-function
gradient estimates. Each term goes to the distribution under which its integrand stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def _mix_shares(la, lb, weight_a):
    """Shares w_a a / M and w_b b / M of the mixture M = w_a a + (1 - w_a) b, from log a and log b."""
    with np.errstate(divide="ignore"):
        ta = (np.log(weight_a) if weight_a > 0 else -np.inf) + la
        tb = (np.log1p(-weight_a) if weight_a < 1 else -np.inf) + lb
    lm = np.logaddexp(ta, tb)
    return lm, np.exp(ta - lm), np.exp(tb - lm)


def forward_kl(lp, lq):
    return {"a": lp - lq, "a_lq": -np.ones_like(lq)}


def reverse_kl(lp, lq):
    one = np.ones_like(lq)
    return {"b": lq - lp, "b_lp": -one, "b_lq": one}


def gkd_jsd(lp, lq, beta=0.5):
    """beta KL(p||M) + (1-beta) KL(q||M), M = beta p + (1-beta) q."""
    lm, share_p, share_q = _mix_shares(lp, lq, beta)
    return {"a": beta * (lp - lm), "a_lq": -beta * share_q,
            "b": (1 - beta) * (lq - lm), "b_lp": -(1 - beta) * share_p, "b_lq": (1 - beta) * share_p}


def jsd(lp, lq):
    return gkd_jsd(lp, lq, 0.5)


def tv(lp, lq):
    """TV = ∫ (q - p)_+ = E_q[(1 - p/q)_+]  (bounded integrand)."""
    r = np.minimum(lp - lq, 0.0)
    e = np.exp(r)
    inside = (lp < lq).astype(float)
    return {"b": inside * (1 - e), "b_lp": -inside * e, "b_lq": inside * e}


def hellinger(lp, lq):
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


def alpha_divergence(lp, lq, alpha=0.5):
    """D_alpha = (1 - I) / (alpha (1 - alpha)); the KL limits at alpha = 0 and 1."""
    if alpha == 0.0:
        return reverse_kl(lp, lq)
    if alpha == 1.0:
        return forward_kl(lp, lq)
    c = 1.0 / (alpha * (1 - alpha))
    return _scaled(_power_integral(lp, lq, alpha), -c, shift=c)


def renyi_terms(lp, lq, alpha=0.5):
    if alpha == 1.0:
        return forward_kl(lp, lq)
    return _power_integral(lp, lq, alpha)


def renyi_outer(I, alpha=0.5):
    """D = log I / (alpha - 1); returns (D, dD/dI)."""
    if alpha == 1.0:
        return I, np.ones_like(I)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(I) / (alpha - 1), 1.0 / ((alpha - 1) * I)


def skew_kl(lp, lq, alpha=0.1):
    """KL(p || alpha p + (1-alpha) q)."""
    lm, _, share_q = _mix_shares(lp, lq, alpha)
    return {"a": lp - lm, "a_lq": -share_q}


def skew_rkl(lp, lq, alpha=0.1):
    """KL(q || (1-alpha) p + alpha q)."""
    lm, share_q, share_p = _mix_shares(lq, lp, alpha)
    return {"b": lq - lm, "b_lp": -share_p, "b_lq": 1 - share_q}


@dataclass(frozen=True)
class MCForm:
    """``terms(lp, lq, **params)`` -> dict of arrays among a, a_lq, b, b_lp, b_lq; ``outer(I, **params)`` ->
    (D, dD/dI) when D is not I itself."""

    terms: Callable
    outer: Callable | None = None
