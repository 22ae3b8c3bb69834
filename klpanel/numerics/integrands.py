"""The integrands of the row kernels (:mod:`klpanel.numerics.kernels`), compiled with numba: each divergence's
pointwise f(p, q) with its first two derivatives in log q, their sums over quadrature nodes into (∫, gradient,
Hessian) in (μ, σ), and total variation, which is exact from the crossings of p and q (no nodes).

Integrand codes (the registry maps divergences to them):
REVERSE_KL, JSD, HELLINGER, ALPHA_J (the J integral of the α family), SKEW_KL, SKEW_RKL, GKD, TV, LOG_POWER
(log ∫ p^α q^(1−α), summed in log space), each with one float parameter.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

REVERSE_KL, JSD, HELLINGER, ALPHA_J, SKEW_KL, SKEW_RKL, GKD, TV, LOG_POWER = range(9)
LN2 = math.log(2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
SQRT1_2 = 1.0 / math.sqrt(2.0)

JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")  # every kernel's numba options


@njit(**JIT)
def log_exprel(t):
    """log((e^t − 1)/t), stable for every real t."""
    if t == 0.0:
        return 0.0
    if abs(t) < 1.0:
        return math.log(math.expm1(t) / t)
    if t >= 1.0:
        return t - math.log(t) + math.log1p(-math.exp(-t))
    return math.log(-math.expm1(t)) - math.log(-t)


@njit(**JIT)
def logaddexp(x, y):
    if x == -np.inf:
        return y
    if y == -np.inf:
        return x
    hi = max(x, y)
    return hi + math.log1p(math.exp(-abs(x - y)))


@njit(**JIT)
def log_mix(lx, ly, wx):
    """log(wx·e^lx + (1−wx)·e^ly), wx in [0, 1]."""
    if wx <= 0.0:
        return ly
    if wx >= 1.0:
        return lx
    return logaddexp(math.log(wx) + lx, math.log1p(-wx) + ly)


@njit(**JIT)
def pointwise(code, c, lp, lq, p, q, order):
    """(f, ∂f/∂log q, ∂²f/∂(log q)²) of integrand ``code`` with parameter c; p = e^lp, q = e^lq. Only what
    ``order`` (0, 1, 2) needs is computed; the rest is 0."""
    fq = 0.0
    fqq = 0.0
    if code == REVERSE_KL:
        d = lq - lp
        if order > 0:
            fq = q * (d + 1.0)
            fqq = q * (d + 2.0)
        return q * d, fq, fqq
    if code == JSD:
        pq = p + q
        lm = (math.log(pq) if pq > 1e-290 else logaddexp(lp, lq)) - LN2
        if order > 0:
            fq = 0.5 * q * (lq - lm)
        if order > 1:
            fqq = fq + 0.5 * q * math.exp(lp - LN2 - lm)  # share of p in p + q
        return 0.5 * (p * (lp - lm) + q * (lq - lm)), fq, fqq
    if code == HELLINGER:
        top = max(lp, lq)
        e = math.expm1(-0.5 * abs(lp - lq))
        if order > 0:
            root = math.exp(0.5 * (lp + lq))
            fq = 0.5 * (q - root)
            fqq = 0.5 * q - 0.25 * root
        return 0.5 * math.exp(top) * e * e, fq, fqq
    if code == ALPHA_J:
        if c < 0.5:  # base q: J = ∫ q expm1(αΔ)/α, Δ = log p − log q
            d = lp - lq
            e = math.exp(lq + log_exprel(c * d))
            if order > 0:
                P = math.exp(lq + c * d)  # p^c q^(1−c)
                fq = d * e - P
                fqq = fq - (1.0 - c) * P
            return d * e, fq, fqq
        b = 1.0 - c  # base p: J = ∫ p expm1(βΔ')/β, Δ' = log q − log p
        d = lq - lp
        e = math.exp(lp + log_exprel(b * d))
        if order > 0:
            fq = math.exp(c * lp + b * lq)
            fqq = b * fq
        return d * e, fq, fqq
    if code == SKEW_KL:
        lm = log_mix(lp, lq, c)
        if order > 0:
            share_q = 0.0 if c >= 1.0 else math.exp(math.log1p(-c) + lq - lm)
            fq = -p * share_q
            fqq = fq * (1.0 - share_q)
        return p * (lp - lm), fq, fqq
    if code == SKEW_RKL:
        lm = log_mix(lq, lp, c)
        if order > 0:
            share_q = 0.0 if c <= 0.0 else math.exp(math.log(c) + lq - lm)
            fq = q * (lq - lm + 1.0 - share_q)
            fqq = fq + q * (1.0 - share_q) * (1.0 - share_q)
        return q * (lq - lm), fq, fqq
    if code == GKD:
        lm = log_mix(lp, lq, c)
        if order > 0:
            fq = (1.0 - c) * q * (lq - lm)
        if order > 1:
            share_q = 0.0 if c >= 1.0 else math.exp(math.log1p(-c) + lq - lm)
            fqq = fq + (1.0 - c) * q * (1.0 - share_q)
        return c * p * (lp - lm) + (1.0 - c) * q * (lq - lm), fq, fqq
    return 0.0, 0.0, 0.0


@njit(**JIT)
def phi_interval(za, zb):
    """Φ(zb) − Φ(za) without cancellation in either tail."""
    if za > 0.0:
        return 0.5 * (math.erfc(za * SQRT1_2) - math.erfc(zb * SQRT1_2))
    return 0.5 * (math.erfc(-zb * SQRT1_2) - math.erfc(-za * SQRT1_2))


@njit(**JIT)
def gauss_pdf(x, mu, sg):
    if not math.isfinite(x):
        return 0.0
    z = (x - mu) / sg
    return math.exp(-0.5 * z * z - math.log(sg) - LOG_SQRT_2PI)


@njit(**JIT)
def total_variation(roots, slopes, nroots, first_sign, mu, sg, w, m, s, res):
    """½∫|p − q|, its gradient and Hessian in (μ, σ) into res[0:6]: Σ over intervals where q > p of
    Q(I) − P(I), cut at the crossings. The crossings r move with (μ, σ) (∂r = ∂log q / g'(r), g = log p − log q),
    which the Hessian includes; p = q there, so the gradient has no such term."""
    val = 0.0
    sign = first_sign
    lo = -np.inf
    for k in range(6):
        res[k] = 0.0
    for i in range(nroots + 1):
        hi = roots[i] if i < nroots else np.inf
        if sign < 0:  # log p − log q < 0: q above p
            mass = phi_interval((lo - mu) / sg, (hi - mu) / sg)
            for k in range(w.size):
                mass -= w[k] * phi_interval((lo - m[k]) / s[k], (hi - m[k]) / s[k])
            val += mass
            for e in range(2):
                r = lo if e == 0 else hi
                if not math.isfinite(r):
                    continue
                se = 1.0 if e == 0 else -1.0
                gp = slopes[i - 1] if e == 0 else slopes[i]
                qr = gauss_pdf(r, mu, sg)
                z = (r - mu) / sg
                res[1] += se * qr
                res[2] += se * z * qr
                r_mu = (z / sg) / gp
                r_sg = ((z * z - 1.0) / sg) / gp
                res[3] += se * qr * (z / sg - z / sg * r_mu)
                res[4] += se * qr * ((z * z - 1.0) / sg - z / sg * r_sg)
                res[5] += se * qr * (z * (z * z - 2.0) / sg + (1.0 - z * z) / sg * r_sg)
        sign = -sign
        lo = hi
    res[0] = max(val, 0.0)


@njit(**JIT)
def integrate_nodes(code, c, order, inv, ws, lps, lqs, ps, qs, zs, res):
    """res[0:6] = (∫ f, ∂/∂μ, ∂/∂σ, ∂²/∂μ², ∂²/∂μ∂σ, ∂²/∂σ²) of integrand ``code`` over the nodes (weights ws,
    log p, log q, p, q, z = (x − μ)/σ): ∫ f, ∫ f_q ∂log q, ∫ f_qq ∂log q ∂log q + f_q ∂²log q, with
    ∂μ log q = z/σ, ∂σ log q = (z² − 1)/σ, ∂μμ = −1/σ², ∂μσ = −2z/σ², ∂σσ = (1 − 3z²)/σ²."""
    v = 0.0
    d1 = 0.0
    d2 = 0.0
    h11 = 0.0
    h12 = 0.0
    h22 = 0.0
    for j in range(ws.size):
        f, fq, fqq = pointwise(code, c, lps[j], lqs[j], ps[j], qs[j], order)
        wj = ws[j]
        v += wj * f
        if order > 0:
            z = zs[j]
            am = z * inv
            asg = (z * z - 1.0) * inv
            d1 += wj * fq * am
            d2 += wj * fq * asg
            if order > 1:
                h11 += wj * (fqq * am * am - fq * inv * inv)
                h12 += wj * (fqq * am * asg - 2.0 * fq * z * inv * inv)
                h22 += wj * (fqq * asg * asg + fq * (1.0 - 3.0 * z * z) * inv * inv)
    res[0] = v
    res[1] = d1
    res[2] = d2
    res[3] = h11
    res[4] = h12
    res[5] = h22


@njit(**JIT)
def integrate_log_power(c, order, inv, ws, lps, lqs, zs, res):
    """res[0:6] = log ∫ p^c q^(1−c) and its (μ, σ) derivatives, summed in log space over the nodes: the
    derivatives are b = 1 − c times moments of ∂log q under the tilted density p^c q^b (and ∂μμ log q = −1/σ²
    everywhere)."""
    n = ws.size
    top = -np.inf
    for j in range(n):
        t = math.log(ws[j]) + c * lps[j] + (1.0 - c) * lqs[j]
        if t > top:
            top = t
    tot = 0.0
    e1 = 0.0
    e2 = 0.0
    e11 = 0.0
    e12 = 0.0
    e22 = 0.0
    c12 = 0.0
    c22 = 0.0
    for j in range(n):
        e = math.exp(math.log(ws[j]) + c * lps[j] + (1.0 - c) * lqs[j] - top)
        tot += e
        if order > 0:
            z = zs[j]
            am = z * inv
            asg = (z * z - 1.0) * inv
            e1 += e * am
            e2 += e * asg
            if order > 1:
                e11 += e * am * am
                e12 += e * am * asg
                e22 += e * asg * asg
                c12 += e * (-2.0 * z * inv * inv)
                c22 += e * (1.0 - 3.0 * z * z) * inv * inv
    for k in range(6):
        res[k] = 0.0
    res[0] = top + math.log(tot)
    b = 1.0 - c
    if order > 0:
        m1 = e1 / tot
        m2 = e2 / tot
        res[1] = b * m1
        res[2] = b * m2
        if order > 1:
            res[3] = b * b * (e11 / tot - m1 * m1) - b * inv * inv
            res[4] = b * b * (e12 / tot - m1 * m2) + b * c12 / tot
            res[5] = b * b * (e22 / tot - m2 * m2) + b * c22 / tot
