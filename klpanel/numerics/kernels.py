"""Compiled (numba) row kernels behind :mod:`klpanel.numerics.quadrature`: one row = one (mu, sigma).

For each row the kernel finds the crossings of p and q (between probe points, refined by the critical points
of log p − log q so that no pair of close roots hides between two probes), walks the panels of the composite
Gauss–Legendre rule described in :mod:`klpanel.numerics.quadrature` (every source's panel length where it lies),
evaluates log p and log q at the nodes once, and accumulates every requested integrand
(:mod:`klpanel.numerics.integrands`) with its (mu, sigma) gradient and Hessian as asked. The kernels hold no GIL,
so callers may split rows over threads.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit
from numba.core.dispatcher import Dispatcher

from . import integrands
from .integrands import (ALPHA_J, GKD, HELLINGER, JIT, JSD, LOG_POWER, LOG_SQRT_2PI, REVERSE_KL,  # noqa: F401
                         SKEW_KL, SKEW_RKL, TV, integrate_log_power, integrate_nodes, total_variation)


@njit(**JIT)
def mixture_lp(x, a, m, h, t):
    """log p(x) = log Σ exp(a_k − h_k (x − m_k)²), h_k = 1/(2 s_k²); t is scratch of K floats. Components more
    than e^-40 (below double precision) under the largest one add nothing to the sum and cost no exp."""
    K = a.size
    if K == 1:
        d = x - m[0]
        return a[0] - h[0] * d * d
    top = -np.inf
    for k in range(K):
        d = x - m[k]
        t[k] = a[k] - h[k] * d * d
        if t[k] > top:
            top = t[k]
    tot = 0.0
    for k in range(K):
        u = t[k] - top
        if u > -40.0:
            tot += math.exp(u)
    return top + math.log(tot)


@njit(**JIT)
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


@njit(**JIT)
def mixture_logpdf_flat(x, a, m, s, lp, d1, d2, derivatives):
    """log p (and d/dx, d²/dx² log p up to ``derivatives``) at every point of the flat array x, written into
    lp, d1, d2: log Σ_k exp(a_k − (x − m_k)²/(2 s_k²)) summed from its largest term, every term kept."""
    K = a.size
    t = np.empty(K)
    for i in range(x.size):
        xi = x[i]
        top = -np.inf
        for k in range(K):
            z = (xi - m[k]) / s[k]
            t[k] = a[k] - 0.5 * z * z
            if t[k] > top:
                top = t[k]
        tot = 0.0
        g1 = 0.0
        g2 = 0.0
        for k in range(K):
            e = math.exp(t[k] - top)
            tot += e
            if derivatives > 0:
                u = (m[k] - xi) / (s[k] * s[k])
                g1 += e * u
                if derivatives > 1:
                    g2 += e * (u * u - 1.0 / (s[k] * s[k]))
        lp[i] = top + math.log(tot)
        if derivatives > 0:
            g1 /= tot
            d1[i] = g1
            if derivatives > 1:
                d2[i] = g2 / tot - g1 * g1


@njit(**JIT)
def _g(x, mu, sg, a, m, s, order):
    """g = log p − log q and its derivatives; order 1: (g, g'), order 2: (g', g'')."""
    lp, d1, d2 = mixture_derivs(x, a, m, s)
    z = (x - mu) / sg
    if order == 1:
        return lp + 0.5 * z * z + math.log(sg) + LOG_SQRT_2PI, d1 + z / sg
    return d1 + z / sg, d2 + 1.0 / (sg * sg)


@njit(**JIT)
def _solve(lo, hi, flo, fhi, mu, sg, a, m, s, order):
    """Root in [lo, hi] of g (order 1) or g' (order 2), which take the values flo, fhi (of opposite signs) at
    the ends: Newton from the secant point, safeguarded by bisection."""
    t = min(max(flo / (flo - fhi), 0.01), 0.99)
    x = lo + (hi - lo) * t
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


@njit(**JIT)
def _walk(c, sc, lo, hi, kind, steps):
    """Knots from the leftmost to the rightmost source reach, each panel as long as every source allows there.

    A source j (centre c, scale sc, active on [lo, hi], kind g) allows, at distance d = |x − c|/sc, a panel of
    sc·max(steps[2g], d/steps[2g+1]): for a Gaussian (g = 0) its log varies on a scale that grows with d, for
    a take-over (g = 1, an exponential switch of width sc between two densities) likewise. Walking towards a
    centre the ratio is ratio + 1, so the panel's far end obeys the rule too. A panel that would run deep into
    a source's reach stops at its start."""
    S = c.size
    start = np.inf
    end = -np.inf
    for j in range(S):
        start = min(start, lo[j])
        end = max(end, hi[j])
    cap = 256
    knots = np.empty(cap)
    knots[0] = start
    n = 1
    x = start
    while x < end:
        nxt = end
        for j in range(S):
            if x >= hi[j]:
                continue
            g = kind[j]
            ahead = x < lo[j]
            d = ((lo[j] if ahead else x) - c[j]) / sc[j]
            if d < 0.0:  # walking towards the centre
                allow = sc[j] * max(steps[2 * g], -d / (steps[2 * g + 1] + 1.0))
            else:
                allow = sc[j] * max(steps[2 * g], d / steps[2 * g + 1])
            if ahead:  # not there yet: stop at its reach, unless the panel may reach that far in anyway
                cand = lo[j] if lo[j] - x >= allow else x + allow
            else:
                cand = x + allow
            if cand < nxt:
                nxt = cand
        floor = x + 4.0 * 2.220446049250313e-16 * max(abs(x), 1e-300)
        if nxt < floor:  # a width below the spacing of doubles at x: step by a few ulps, never stall
            nxt = floor
        if n == cap:
            bigger = np.empty(2 * cap)
            bigger[:cap] = knots
            knots = bigger
            cap *= 2
        knots[n] = nxt
        n += 1
        x = nxt
    return knots[:n]


@njit(**JIT)
def _crossings(mu_i, sg, a, m, s, tknots, tlp, td1, zk):
    """The crossings of p and q for one row: (roots, g' = d/dx (log p − log q) at them, their count, the sign of
    log p − log q left of the first). Probes: the target's knots (log p and its slope cached per target) and q's
    bulk knots, in order; between probes, the critical points of g = log p − log q (so pairs of roots cannot
    hide), then Newton on g between sign changes."""
    T = tknots.size
    Z = zk.size
    inv = 1.0 / sg
    lnorm = math.log(sg) + LOG_SQRT_2PI
    gv = np.empty(2 * (T + Z))
    x2 = np.empty(2 * (T + Z))
    n2 = 0
    prev_d = 0.0
    prev_x = 0.0
    ti = 0
    qi = 0
    while ti < T or qi < Z:
        xq = mu_i + sg * zk[qi] if qi < Z else np.inf
        if ti < T and tknots[ti] <= xq:
            x = tknots[ti]
            lp = tlp[ti]
            d1 = td1[ti]
            ti += 1
        else:
            x = xq
            lp, d1, _ = mixture_derivs(x, a, m, s)
            qi += 1
        z = (x - mu_i) * inv
        d = d1 + z * inv
        if n2 > 0 and prev_d * d < 0.0:
            xc = _solve(prev_x, x, prev_d, d, mu_i, sg, a, m, s, 2)
            x2[n2] = xc
            gv[n2] = _g(xc, mu_i, sg, a, m, s, 1)[0]
            n2 += 1
        x2[n2] = x
        gv[n2] = lp + 0.5 * z * z + lnorm
        n2 += 1
        prev_d = d
        prev_x = x
    roots = np.empty(n2)
    slopes = np.empty(n2)
    nr = 0
    for j in range(n2 - 1):
        if gv[j] * gv[j + 1] < 0.0:
            r = _solve(x2[j], x2[j + 1], gv[j], gv[j + 1], mu_i, sg, a, m, s, 1)
            roots[nr] = r
            slopes[nr] = _g(r, mu_i, sg, a, m, s, 1)[1]
            nr += 1
    first_sign = 1.0 if gv[0] > 0 else -1.0
    return roots, slopes, nr, first_sign


@njit(**JIT)
def _row_knots(mu_i, sg, m, s, smax, roots, slopes, nr, src_c, src_s, src_lo, src_hi, src_kind, reach_g, reach_t,
               alphas, steps):
    """The panel knots of one row: the target's sources, q (a Gaussian), each crossing (a take-over of width
    1/|g'|, capped by the widest scale) and, for the α family, each p_k^α q^(1−α) (a Gaussian where its
    precision is positive), walked by :func:`_walk`."""
    K = s.size
    inv = 1.0 / sg
    S = src_c.size + 1 + nr + alphas.size * K
    c_ = np.empty(S)
    s_ = np.empty(S)
    lo_ = np.empty(S)
    hi_ = np.empty(S)
    kind_ = np.empty(S, dtype=np.int64)
    T0 = src_c.size
    c_[:T0] = src_c
    s_[:T0] = src_s
    lo_[:T0] = src_lo
    hi_[:T0] = src_hi
    kind_[:T0] = src_kind
    c_[T0], s_[T0], lo_[T0], hi_[T0], kind_[T0] = mu_i, sg, mu_i - reach_g * sg, mu_i + reach_g * sg, 0
    pos = T0 + 1
    cap = max(sg, smax)
    for r in range(nr):
        width = min(1.0 / abs(slopes[r]), cap) if slopes[r] != 0.0 else cap
        c_[pos], s_[pos], lo_[pos], hi_[pos], kind_[pos] = roots[r], width, roots[r] - reach_t * width, \
            roots[r] + reach_t * width, 1
        pos += 1
    for ai in range(alphas.size):
        al = alphas[ai]
        for k in range(K):
            prec = al / (s[k] * s[k]) + (1.0 - al) * inv * inv
            if prec > 0:  # p_k^α q^(1−α) is a Gaussian: centre, scale
                sc = 1.0 / math.sqrt(prec)
                cc = (al * m[k] / (s[k] * s[k]) + (1.0 - al) * mu_i * inv * inv) / prec
                c_[pos], s_[pos], lo_[pos], hi_[pos], kind_[pos] = cc, sc, cc - reach_g * sc, cc + reach_g * sc, 0
                pos += 1
    return _walk(c_[:pos], s_[:pos], lo_[:pos], hi_[:pos], kind_[:pos], steps)


@njit(**JIT)
def _nodes(knots, glf, glw):
    """Gauss–Legendre nodes and weights on every panel between consecutive knots."""
    N = (knots.size - 1) * glf.size
    xs = np.empty(N)
    ws = np.empty(N)
    n = 0
    for j in range(knots.size - 1):
        length = knots[j + 1] - knots[j]
        for t in range(glf.size):
            xs[n] = knots[j] + length * glf[t]
            ws[n] = length * glw[t]
            n += 1
    return xs, ws


@njit(**JIT)
def _densities(xs, mu_i, sg, a, m, h, tbuf, need_p):
    """log p, log q, p (only if ``need_p``, else 0), q and z = (x − μ)/σ at every node, each computed once."""
    n = xs.size
    inv = 1.0 / sg
    lnorm = math.log(sg) + LOG_SQRT_2PI
    lps = np.empty(n)
    lqs = np.empty(n)
    ps = np.empty(n)
    qs = np.empty(n)
    zs = np.empty(n)
    for j in range(n):
        lps[j] = mixture_lp(xs[j], a, m, h, tbuf)
        z = (xs[j] - mu_i) * inv
        zs[j] = z
        lqs[j] = -0.5 * z * z - lnorm
        ps[j] = math.exp(lps[j]) if need_p else 0.0
        qs[j] = math.exp(lqs[j])
    return lps, lqs, ps, qs, zs


@njit(**JIT)
def integrate_rows(mu, sigma, a, m, s, w, tknots, tlp, td1, zk, src_c, src_s, src_lo, src_hi, src_kind,
                   reach_g, reach_t, steps, glf, glw, alphas, codes, params, order, out):
    """out[i, c, :] = (∫ f_c, ∂/∂μ, ∂/∂σ, ∂²/∂μ², ∂²/∂μ∂σ, ∂²/∂σ²) for row i and integrand codes[c]
    (LOG_POWER: log ∫, and its derivatives); derivatives up to ``order`` (0, 1 or 2), the rest left 0. Rows
    are independent; see the module docstring for the rule."""
    smax = s.max()
    h = 0.5 / (s * s)
    res = np.empty(6)
    tbuf = np.empty(a.size)
    need_nodes = False  # TV needs the crossings only
    need_p = False  # reverse KL and the log power need log p only
    for ci in range(codes.size):
        if codes[ci] != TV:
            need_nodes = True
            if codes[ci] != REVERSE_KL and codes[ci] != LOG_POWER:
                need_p = True
    empty = np.empty(0)
    for i in range(mu.size):
        mu_i = mu[i]
        sg = sigma[i]
        inv = 1.0 / sg
        roots, slopes, nr, first_sign = _crossings(mu_i, sg, a, m, s, tknots, tlp, td1, zk)
        xs, ws = empty, empty
        if need_nodes:
            knots = _row_knots(mu_i, sg, m, s, smax, roots, slopes, nr, src_c, src_s, src_lo, src_hi, src_kind,
                               reach_g, reach_t, alphas, steps)
            xs, ws = _nodes(knots, glf, glw)
        lps, lqs, ps, qs, zs = _densities(xs, mu_i, sg, a, m, h, tbuf, need_p)
        for ci in range(codes.size):
            code = codes[ci]
            if code == TV:
                total_variation(roots, slopes, nr, first_sign, mu_i, sg, w, m, s, res)
                for k in range(6):  # only the derivatives ``order`` asks for
                    out[i, ci, k] = res[k] if k < 1 + 2 * order + (order == 2) else 0.0
            elif code == LOG_POWER:
                integrate_log_power(params[ci], order, inv, ws, lps, lqs, zs, res)
                out[i, ci, :] = res
            else:
                integrate_nodes(code, params[ci], order, inv, ws, lps, lqs, ps, qs, zs, res)
                out[i, ci, :] = res


def _drop_stale_caches():
    """numba's on-disk cache checks only the file that defines a function, but these kernels compile in the
    integrands of another file: drop a kernel's cache when that file is newer than it (numba's cache objects
    are private API, so any change there leaves the cache alone)."""
    try:
        newest = max(os.stat(integrands.__file__).st_mtime, os.stat(__file__).st_mtime)
        for kernel in list(globals().values()):
            if isinstance(kernel, Dispatcher) and kernel._cache is not None:
                index = kernel._cache._cache_file._index_path
                if os.path.exists(index) and os.stat(index).st_mtime < newest:
                    kernel._cache.flush()
    except (AttributeError, OSError):
        pass


_drop_stale_caches()
