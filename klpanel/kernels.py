"""Compiled (numba) row kernels behind :mod:`klpanel.quadrature`: one row = one (mu, sigma).

For each row the kernel builds the composite Gauss–Legendre rule described in :mod:`klpanel.quadrature`
(knots at every source's bulk, at every crossing of p and q — found after refining by the critical points of
log p − log q so that no pair of close roots hides between two knots — and at the transition widths around
them), evaluates log p and log q at the nodes once, and accumulates every requested integrand and its
(mu, sigma) gradient. The kernels hold no GIL, so callers may split rows over threads.

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

_opts = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


@njit(**_opts)
def mixture_lp(x, a, m, h):
    """log p(x) = log Σ exp(a_k − h_k (x − m_k)²), h_k = 1/(2 s_k²): one pass, one exp per component."""
    d = x - m[0]
    top = a[0] - h[0] * d * d
    tot = 1.0
    for k in range(1, a.size):
        d = x - m[k]
        t = a[k] - h[k] * d * d
        if t > top:
            tot = tot * math.exp(top - t) + 1.0
            top = t
        else:
            tot += math.exp(t - top)
    return top + math.log(tot)


@njit(**_opts)
def mixture_derivs(x, a, m, s):
    """log p, d/dx log p, d²/dx² log p at x."""
    top = -np.inf
    for k in range(a.size):
        z = (x - m[k]) / s[k]
        t = a[k] - 0.5 * z * z
        if t > top:
            top = t
    tot = 0.0
    d1 = 0.0
    d2 = 0.0
    for k in range(a.size):
        z = (x - m[k]) / s[k]
        e = math.exp(a[k] - 0.5 * z * z - top)
        u = (m[k] - x) / (s[k] * s[k])
        tot += e
        d1 += e * u
        d2 += e * (u * u - 1.0 / (s[k] * s[k]))
    d1 /= tot
    return top + math.log(tot), d1, d2 / tot - d1 * d1


@njit(**_opts)
def _g(x, mu, sg, a, m, s, order):
    """g = log p − log q and its derivatives; order 1: (g, g'), order 2: (g', g'')."""
    lp, d1, d2 = mixture_derivs(x, a, m, s)
    z = (x - mu) / sg
    if order == 1:
        return lp + 0.5 * z * z + math.log(sg) + LOG_SQRT_2PI, d1 + z / sg
    return d1 + z / sg, d2 + 1.0 / (sg * sg)


@njit(**_opts)
def _solve(lo, hi, flo, mu, sg, a, m, s, order):
    """Root in [lo, hi] of g (order 1) or g' (order 2): Newton safeguarded by bisection."""
    x = 0.5 * (lo + hi)
    for _ in range(200):
        f, df = _g(x, mu, sg, a, m, s, order)
        if f == 0.0:
            return x
        if (f > 0) == (flo > 0):
            lo = x
        else:
            hi = x
        step = f / df if df != 0.0 else np.inf
        tol = 1e-14 * (1.0 + abs(x))
        if abs(step) <= tol or hi - lo <= tol:
            return x
        xn = x - step
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        x = xn
    return x


@njit(**_opts)
def log_exprel(t):
    """log((e^t − 1)/t), stable for every real t."""
    if t == 0.0:
        return 0.0
    if abs(t) < 1.0:
        return math.log(math.expm1(t) / t)
    if t >= 1.0:
        return t - math.log(t) + math.log1p(-math.exp(-t))
    return math.log(-math.expm1(t)) - math.log(-t)


@njit(**_opts)
def logaddexp(x, y):
    if x == -np.inf:
        return y
    if y == -np.inf:
        return x
    hi = max(x, y)
    return hi + math.log1p(math.exp(-abs(x - y)))


@njit(**_opts)
def log_mix(lx, ly, wx):
    """log(wx·e^lx + (1−wx)·e^ly), wx in [0, 1]."""
    if wx <= 0.0:
        return ly
    if wx >= 1.0:
        return lx
    return logaddexp(math.log(wx) + lx, math.log1p(-wx) + ly)


@njit(**_opts)
def pointwise(code, c, lp, lq):
    """(f, ∂f/∂log q) of integrand ``code`` with parameter c."""
    if code == REVERSE_KL:
        q = math.exp(lq)
        d = lq - lp
        return q * d, q * (d + 1.0)
    if code == JSD:
        lm = logaddexp(lp, lq) - LN2
        p = math.exp(lp)
        q = math.exp(lq)
        return 0.5 * (p * (lp - lm) + q * (lq - lm)), 0.5 * q * (lq - lm)
    if code == HELLINGER:
        top = max(lp, lq)
        e = math.expm1(-0.5 * abs(lp - lq))
        return 0.5 * math.exp(top) * e * e, 0.5 * (math.exp(lq) - math.exp(0.5 * (lp + lq)))
    if code == ALPHA_J:
        if c < 0.5:  # base q: J = ∫ q expm1(αΔ)/α, Δ = log p − log q
            d = lp - lq
            e = math.exp(lq + log_exprel(c * d))
            return d * e, d * e - math.exp(lq + c * d)
        b = 1.0 - c  # base p: J = ∫ p expm1(βΔ')/β, Δ' = log q − log p
        d = lq - lp
        e = math.exp(lp + log_exprel(b * d))
        return d * e, math.exp(c * lp + b * lq)
    if code == SKEW_KL:
        lm = log_mix(lp, lq, c)
        p = math.exp(lp)
        share_q = 0.0 if c >= 1.0 else math.exp(math.log1p(-c) + lq - lm)
        return p * (lp - lm), -p * share_q
    if code == SKEW_RKL:
        lm = log_mix(lq, lp, c)
        q = math.exp(lq)
        share_q = 0.0 if c <= 0.0 else math.exp(math.log(c) + lq - lm)
        return q * (lq - lm), q * (lq - lm + 1.0 - share_q)
    if code == GKD:
        lm = log_mix(lp, lq, c)
        p = math.exp(lp)
        q = math.exp(lq)
        return c * p * (lp - lm) + (1.0 - c) * q * (lq - lm), (1.0 - c) * q * (lq - lm)
    return 0.0, 0.0


@njit(**_opts)
def _phi_interval(za, zb):
    """Φ(zb) − Φ(za) without cancellation in either tail."""
    if za > 0.0:
        return 0.5 * (math.erfc(za * SQRT1_2) - math.erfc(zb * SQRT1_2))
    return 0.5 * (math.erfc(-zb * SQRT1_2) - math.erfc(-za * SQRT1_2))


@njit(**_opts)
def _gauss(x, mu, sg):
    if not math.isfinite(x):
        return 0.0
    z = (x - mu) / sg
    return math.exp(-0.5 * z * z - math.log(sg) - LOG_SQRT_2PI)


@njit(**_opts)
def _tv(roots, nroots, first_sign, mu, sg, w, m, s):
    """½∫|p − q| and its gradient: Σ over intervals where q > p of Q(I) − P(I), cut at the crossings."""
    val = 0.0
    dmu = 0.0
    dsg = 0.0
    sign = first_sign
    lo = -np.inf
    for i in range(nroots + 1):
        hi = roots[i] if i < nroots else np.inf
        if sign < 0:  # log p − log q < 0: q above p
            mass = _phi_interval((lo - mu) / sg, (hi - mu) / sg)
            for k in range(w.size):
                mass -= w[k] * _phi_interval((lo - m[k]) / s[k], (hi - m[k]) / s[k])
            val += mass
            qa = _gauss(lo, mu, sg)
            qb = _gauss(hi, mu, sg)
            dmu += qa - qb
            if math.isfinite(lo):
                dsg += (lo - mu) / sg * qa
            if math.isfinite(hi):
                dsg -= (hi - mu) / sg * qb
        sign = -sign
        lo = hi
    return max(val, 0.0), dmu, dsg


@njit(**_opts)
def integrate_rows(mu, sigma, a, m, s, w, tknots, towner, dominance, zk, trans, glf, glw, alphas, codes,
                   params, out):
    """out[i, c, :] = (∫ f_c, ∂/∂μ, ∂/∂σ) for row i and integrand codes[c] (LOG_POWER: log ∫, and its
    gradient). Rows are independent; see the module docstring for the rule."""
    K = a.size
    smax = s.max()
    h = 0.5 / (s * s)
    for i in range(mu.size):
        G = tknots.size + zk.size
        mu_i = mu[i]
        sg = sigma[i]
        # 1. grid resolving p and q: bulk knots of every source that is not dwarfed where the knot lies
        grid = np.empty(G)
        ng = 0
        for j in range(tknots.size + zk.size):
            if j < tknots.size:
                x = tknots[j]
                own = towner[j]
            else:
                x = mu_i + sg * zk[j - tknots.size]
                own = K  # q
            zq = (x - mu_i) / sg
            lq = -0.5 * zq * zq - math.log(sg) - LOG_SQRT_2PI
            top = lq
            for k in range(K):
                z = (x - m[k]) / s[k]
                top = max(top, a[k] - 0.5 * z * z)
            if own < 0:
                mine = top
            elif own == K:
                mine = lq
            else:
                z = (x - m[own]) / s[own]
                mine = a[own] - 0.5 * z * z
            if mine >= top - dominance:
                grid[ng] = x
                ng += 1
        grid = grid[:ng]
        G = ng
        grid.sort()
        # 2. critical points of g between knots (so that pairs of roots cannot hide)
        dg = np.empty(G)
        for j in range(G):
            dg[j] = _g(grid[j], mu_i, sg, a, m, s, 2)[0]
        crit = np.empty(G)
        nc = 0
        for j in range(G - 1):
            if dg[j] * dg[j + 1] < 0.0:
                crit[nc] = _solve(grid[j], grid[j + 1], dg[j], mu_i, sg, a, m, s, 2)
                nc += 1
        grid2 = np.concatenate((grid, crit[:nc]))
        grid2.sort()
        # 3. crossings of p and q
        G2 = grid2.size
        gv = np.empty(G2)
        for j in range(G2):
            gv[j] = _g(grid2[j], mu_i, sg, a, m, s, 1)[0]
        roots = np.empty(G2)
        slopes = np.empty(G2)
        nr = 0
        for j in range(G2 - 1):
            if gv[j] * gv[j + 1] < 0.0:
                r = _solve(grid2[j], grid2[j + 1], gv[j], mu_i, sg, a, m, s, 1)
                roots[nr] = r
                slopes[nr] = abs(_g(r, mu_i, sg, a, m, s, 1)[1])
                nr += 1
        first_sign = 1.0 if gv[0] > 0 else -1.0
        # 4. knots: grid, crossings with their transition widths, sources p_k^α q^(1−α)
        nk = G2 + nr * (1 + trans.size) + alphas.size * K * zk.size
        knots = np.empty(nk)
        knots[:G2] = grid2
        pos = G2
        cap = max(sg, smax)
        for r in range(nr):
            width = min(1.0 / slopes[r], cap) if slopes[r] > 0 else cap
            knots[pos] = roots[r]
            pos += 1
            for t in range(trans.size):
                knots[pos] = roots[r] + width * trans[t]
                pos += 1
        for ai in range(alphas.size):
            al = alphas[ai]
            for k in range(K):
                prec = al / (s[k] * s[k]) + (1.0 - al) / (sg * sg)
                for j in range(zk.size):
                    if prec > 0:
                        c = (al * m[k] / (s[k] * s[k]) + (1.0 - al) * mu_i / (sg * sg)) / prec
                        knots[pos] = c + zk[j] / math.sqrt(prec)
                    else:
                        knots[pos] = mu_i
                    pos += 1
        knots.sort()
        # 5. nodes (TV needs none: it comes from the crossings)
        need_nodes = False
        for ci in range(codes.size):
            if codes[ci] != TV:
                need_nodes = True
        N = (nk - 1) * glf.size if need_nodes else 0
        xs = np.empty(N)
        ws = np.empty(N)
        n = 0
        for j in range(nk - 1 if need_nodes else 0):
            length = knots[j + 1] - knots[j]
            if length <= 0.0:
                continue
            for t in range(glf.size):
                xs[n] = knots[j] + length * glf[t]
                ws[n] = length * glw[t]
                n += 1
        lps = np.empty(n)
        lqs = np.empty(n)
        dmus = np.empty(n)
        dsgs = np.empty(n)
        for j in range(n):
            lps[j] = mixture_lp(xs[j], a, m, h)
            z = (xs[j] - mu_i) / sg
            lqs[j] = -0.5 * z * z - math.log(sg) - LOG_SQRT_2PI
            dmus[j] = z / sg
            dsgs[j] = (z * z - 1.0) / sg
        # 6. integrals
        for ci in range(codes.size):
            code = codes[ci]
            c = params[ci]
            if code == TV:
                v, d1, d2 = _tv(roots, nr, first_sign, mu_i, sg, w, m, s)
                out[i, ci, 0] = v
                out[i, ci, 1] = d1
                out[i, ci, 2] = d2
                continue
            if code == LOG_POWER:
                top = -np.inf
                for j in range(n):
                    t = math.log(ws[j]) + c * lps[j] + (1.0 - c) * lqs[j]
                    if t > top:
                        top = t
                tot = 0.0
                g1 = 0.0
                g2 = 0.0
                for j in range(n):
                    e = math.exp(math.log(ws[j]) + c * lps[j] + (1.0 - c) * lqs[j] - top)
                    tot += e
                    g1 += e * dmus[j]
                    g2 += e * dsgs[j]
                out[i, ci, 0] = top + math.log(tot)
                out[i, ci, 1] = (1.0 - c) * g1 / tot
                out[i, ci, 2] = (1.0 - c) * g2 / tot
                continue
            v = 0.0
            d1 = 0.0
            d2 = 0.0
            for j in range(n):
                f, df = pointwise(code, c, lps[j], lqs[j])
                v += ws[j] * f
                d1 += ws[j] * df * dmus[j]
                d2 += ws[j] * df * dsgs[j]
            out[i, ci, 0] = v
            out[i, ci, 1] = d1
            out[i, ci, 2] = d2
