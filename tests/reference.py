"""Independent high-precision reference values (mpmath, 40 digits), written straight from the definitions.

Slow, test-only. Integrals are split at every component mean, q's mean, multiples of every scale around them
and at the sign changes of p - q on a dense grid, so that tanh-sinh quadrature sees smooth pieces."""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 30


def _pdfs(target, mu, sigma):
    w = [mp.mpf(float(v)) for v in target.weights]
    m = [mp.mpf(float(v)) for v in target.means]
    s = [mp.mpf(float(v)) for v in target.sigmas]
    mu, sigma = mp.mpf(mu), mp.mpf(sigma)

    def p(x):
        return mp.fsum(wk * mp.npdf(x, mk, sk) for wk, mk, sk in zip(w, m, s))

    def q(x):
        return mp.npdf(x, mu, sigma)

    return p, q, m, s, mu, sigma


def _breakpoints(target, mu, sigma, p, q, m, s):
    pts = set()
    for c, sc in zip(list(m) + [mu], list(s) + [sigma]):
        for k in (0, 1, 2.5, 5, 9, 15, 40):
            pts.add(c + k * sc)
            pts.add(c - k * sc)
    pts = sorted(pts)
    # refine at sign changes of p - q between consecutive points (bisection)
    extra = []
    dense = []
    for a, b in zip(pts[:-1], pts[1:]):
        dense += [a + (b - a) * i / 8 for i in range(8)]
    dense.append(pts[-1])
    for a, b in zip(dense[:-1], dense[1:]):
        fa, fb = mp.log(p(a)) - mp.log(q(a)), mp.log(p(b)) - mp.log(q(b))
        if fa * fb < 0:
            lo, hi = a, b
            for _ in range(100):
                mid = (lo + hi) / 2
                fm = mp.log(p(mid)) - mp.log(q(mid))
                if fm * fa > 0:
                    lo = mid
                else:
                    hi = mid
            extra.append((lo + hi) / 2)
    return sorted(set(pts) | set(extra)), extra


def reference(target, mu, sigma, name, **params):
    p, q, m, s, mu_, sigma_ = _pdfs(target, mu, sigma)
    pts, crossings = _breakpoints(target, mu_, sigma_, p, q, m, s)
    pts = [-mp.inf] + pts + [mp.inf]

    def integrate(f):
        return mp.quad(f, pts)

    lp = lambda x: mp.log(p(x))  # noqa: E731
    lq = lambda x: mp.log(q(x))  # noqa: E731
    if name == "forward_kl":
        return integrate(lambda x: p(x) * (lp(x) - lq(x)))
    if name == "reverse_kl":
        return integrate(lambda x: q(x) * (lq(x) - lp(x)))
    if name == "jsd":
        def f(x):
            pm = (p(x) + q(x)) / 2
            return (p(x) * mp.log(p(x) / pm) + q(x) * mp.log(q(x) / pm)) / 2
        return integrate(f)
    if name == "tv":
        return integrate(lambda x: abs(p(x) - q(x))) / 2
    if name == "hellinger":
        return integrate(lambda x: (mp.sqrt(p(x)) - mp.sqrt(q(x))) ** 2) / 2
    a = mp.mpf(params.get("alpha", 0.5))
    if name == "alpha":
        integral = integrate(lambda x: mp.exp(a * lp(x) + (1 - a) * lq(x)))
        return (1 - integral) / (a * (1 - a))
    if name == "renyi":
        integral = integrate(lambda x: mp.exp(a * lp(x) + (1 - a) * lq(x)))
        return mp.log(integral) / (a - 1)
    if name == "skew_kl":
        a = mp.mpf(params.get("alpha", 0.1))
        return integrate(lambda x: p(x) * (lp(x) - mp.log(a * p(x) + (1 - a) * q(x))))
    if name == "skew_rkl":
        a = mp.mpf(params.get("alpha", 0.1))
        return integrate(lambda x: q(x) * (lq(x) - mp.log((1 - a) * p(x) + a * q(x))))
    if name == "gkd_jsd":
        b = mp.mpf(params.get("beta", 0.5))

        def f(x):
            lm = mp.log(b * p(x) + (1 - b) * q(x))
            return b * p(x) * (lp(x) - lm) + (1 - b) * q(x) * (lq(x) - lm)
        return integrate(f)
    raise KeyError(name)
