"""Exact quadrature on the whole real line for integrals of p (a Gaussian mixture) and q = N(mu, sigma).

Every divergence is an integral of a function of (log p(x), log q(x)). Those integrands are smooth except
where one density takes over from another: at the crossing points of p and q, and at the breakpoints where
one mixture component takes over from another inside p. Near such points the integrand changes on the
scale ``1 / |slope difference of the two log densities|``, which can be far narrower than any component.

So instead of a fixed window (the original page used a Riemann sum on [-8, 8]) we build, for every (mu, sigma),
a composite Gauss–Legendre rule whose panels are as long as every *source* allows where they lie:

* a Gaussian source (each component of p, q, and for the alpha family each ``p_k^alpha q^(1-alpha)``), centre
  c and scale s, asks for panels of ``s·max(1, d/2.2)`` at d = |x − c|/s, within ±12 scales (beyond, it is
  below ``exp(-72)`` of its peak, under double precision relative to the integral);
* a take-over (each internal breakpoint of p, where one component takes over from another, and each crossing
  point of p and q, found by safeguarded Newton), of width w = 1/|slope difference of the two log densities|,
  asks for ``w·max(2.5, d)`` within ±36 widths (the take-over is exponential in the distance, complete to
  e^-36 there); near it the integrand is analytic in a strip of half-width ~πw.

The walk (``kernels._walk``) goes from the leftmost reach to the rightmost, each panel the shortest any source
allows. A component dwarfed by e^-DOMINANCE by another component of p asks nothing there (its share of p, log p
and √p is under double precision); it still asks where q dwarfs it, since log p and √p keep p's shape under q.
Crossings are searched between probe points (p's bulk knots and breakpoints, cached per target with log p and
its slope, and q's bulk knots), refined by the critical points of log p − log q so that close pairs cannot hide.
On each panel 8-point Gauss–Legendre is accurate to ~1e-11 relative; tests check 1e-6 to 1e-8 against mpmath
quadrature at 30 digits. The kernel also returns exact second derivatives in (mu, sigma)
(∫ f_qq ∂log q ∂log q + f_q ∂²log q), which the optimiser uses. Everything is vectorised over arrays of
(mu, sigma) and is done in log space (no density is ever exponentiated before it is needed).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import kernels

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
Z_KNOTS = np.array([-12.0, -8.0, -5.5, -3.5, -2.0, -1.0, 0.0, 1.0, 2.0, 3.5, 5.5, 8.0, 12.0])  # probes per Gaussian
TRANSITION = np.array([-4.0, -1.0, 1.0, 4.0])  # probe points around a breakpoint (bracketing crossings)
GL_ORDER = 8
DOMINANCE = 32.0  # e^-32 ≈ 1e-14
REACH_G = 12.0  # a Gaussian source asks for panels within ±12 scales (beyond, it is below e^-72 of its peak)
BREAKPOINT_REACH = 1e8  # in component scales: beyond, no take-over of p matters (both densities are ~0)
REACH_T = 36.0  # a take-over (breakpoint, crossing) within ±36 widths (beyond, it is complete to e^-36)
STEPS = np.array([1.0, 2.2, 2.5, 1.0])  # panel ≤ scale·max(STEPS[2g], d/STEPS[2g+1]), g = 0 Gaussian, 1 take-over
_GL_T, _GL_W = np.polynomial.legendre.leggauss(GL_ORDER)
_GL_FRAC = (_GL_T + 1.0) / 2.0  # node positions in [0, 1]
_GL_HALF_W = _GL_W / 2.0  # weights for a panel of unit length


# -- mixture primitives (2-D friendly: loop over the few components, not a 3-D array) --------------------------
def _per_target(target, name, build):
    """``build(target)``, computed once per target state (Target drops ``_quad_cache`` when it changes; the key
    check makes a stale entry harmless anyway)."""
    cache = target.__dict__.setdefault("_quad_cache", {})
    hit = cache.get(name)
    if hit is None or hit[0] != target.key:
        hit = cache[name] = (target.key, build(target))
    return hit[1]


def _component_terms(target):
    """(log w_k - log s_k - log √(2π), m_k, s_k) as plain arrays, cached per target."""
    return _per_target(target, "terms", lambda t: (np.log(t.weights) - np.log(t.sigmas) - LOG_SQRT_2PI,
                                                    t.means.copy(), t.sigmas.copy()))


def mixture_logpdf(target, x, derivatives=0, with_slope=False):
    """log p(x) for any array x; with derivatives=1 (or with_slope) or 2 also d/dx and d²/dx² of log p.
    Each in log space from the largest component term (``kernels.mixture_logpdf_flat``), the shape of x."""
    derivatives = max(derivatives, int(with_slope))
    a, m, s = _component_terms(target)
    x = np.asarray(x, dtype=float)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = [np.empty_like(flat) for _ in range(derivatives + 1)]
    lp, d1, d2 = out[0], out[min(1, derivatives)], out[derivatives]
    kernels.mixture_logpdf_flat(flat, a, m, s, lp, d1, d2, derivatives)
    res = tuple(o.reshape(x.shape)[()] for o in out)
    return res if derivatives else res[0]


def gauss_logpdf(x, mu, sigma):
    z = (x - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - LOG_SQRT_2PI


# -- target-only knots (cached on the target) ----------------------------------------------------------------
def mixture_breakpoints(target):
    """Points where the dominant component of p changes, with their transition widths. Two nearly identical
    components (means 1e-250 apart, say) would "take over" from each other only ~1e249 away, where both are
    far below any density: take-overs beyond BREAKPOINT_REACH of the wider one's scale are dropped."""
    a, m, s = _component_terms(target)
    pts, widths = [], []
    for i in range(m.size):
        for j in range(i + 1, m.size):
            # a_i - (x-m_i)^2/(2 s_i^2) = a_j - (x-m_j)^2/(2 s_j^2)  ->  A x^2 + B x + C = 0
            A = 0.5 / s[j] ** 2 - 0.5 / s[i] ** 2
            B = m[i] / s[i] ** 2 - m[j] / s[j] ** 2
            C = a[i] - a[j] - 0.5 * m[i] ** 2 / s[i] ** 2 + 0.5 * m[j] ** 2 / s[j] ** 2
            reach = BREAKPOINT_REACH * max(s[i], s[j])
            roots = [x for x in _quadratic_roots(A, B, C) if abs(x - m[i]) <= reach]
            for x in roots:
                li = a[i] - 0.5 * ((x - m[i]) / s[i]) ** 2
                top = np.max(a - 0.5 * ((x - m) / s) ** 2)
                if li >= top - 1e-9 * (1.0 + abs(top)):
                    slope_gap = abs((m[i] - x) / s[i] ** 2 - (m[j] - x) / s[j] ** 2)
                    pts.append(x)
                    widths.append(min(1.0 / slope_gap if slope_gap > 0 else np.inf, s.max()))
    return np.array(pts), np.array(widths)


def _quadratic_roots(A, B, C):
    if A == 0.0:
        return [] if B == 0.0 else [-C / B]
    disc = B * B - 4 * A * C
    if disc < 0:
        return []
    sq = np.sqrt(disc)
    qv = -0.5 * (B + np.copysign(sq, B))  # stable form
    roots = [qv / A] if qv != 0 else [0.0]
    if qv != 0:
        roots.append(C / qv)
    return [r for r in roots if np.isfinite(r)]


def _undwarfed(target, z):
    """Points m_k + s_k·z of every component (K, len z) and whether component k is there at least
    exp(-DOMINANCE) times every other component of p (else its share of p, log p and √p is under double
    precision)."""
    a, m, s = _component_terms(target)
    bulk = m[:, None] + s[:, None] * z
    logs = a - 0.5 * ((bulk[:, :, None] - m) / s) ** 2  # (K, len z, K)
    mine = a[:, None] - 0.5 * z**2
    return bulk, mine >= logs.max(axis=2) - DOMINANCE


def target_knots(target):
    """Probe points that resolve p alone, sorted, with log p and d/dx log p there: every component's bulk
    m_k + s_k·Z_KNOTS where it is not dwarfed by another component, and every internal breakpoint of p with
    knots at TRANSITION widths. The kernel looks for the crossings of p and q between these and q's own bulk
    knots. Computed once per target."""
    def build(t):
        bulk, kept = _undwarfed(t, Z_KNOTS)
        pts, widths = _per_target(t, "breakpoints", mixture_breakpoints)
        trans = (pts[:, None] + widths[:, None] * np.append(TRANSITION, 0.0)).ravel()
        knots = np.sort(np.concatenate([bulk[kept], trans]))
        lp, slope = mixture_logpdf(t, knots, derivatives=1)
        return tuple(np.ascontiguousarray(v) for v in (knots, lp, slope))
    return _per_target(target, "knots", build)


def target_sources(target):
    """What p asks of the quadrature panels (see kernels._walk): each component as a Gaussian source, active
    over the reach of its points that are not dwarfed by another component (a component dwarfed everywhere
    asks nothing), and each internal breakpoint as a take-over source of its width, active over ±REACH_T
    widths. Arrays (centre, scale, lo, hi, kind), computed once per target."""
    def build(t):
        m, s = t.means, t.sigmas
        bulk, kept = _undwarfed(t, REACH_G * np.linspace(-1.0, 1.0, 49))
        has = kept.any(axis=1)
        lo = np.min(np.where(kept, bulk, np.inf), axis=1)[has]
        hi = np.max(np.where(kept, bulk, -np.inf), axis=1)[has]
        pts, widths = _per_target(t, "breakpoints", mixture_breakpoints)
        return tuple(np.ascontiguousarray(v) for v in (
            np.concatenate([m[has], pts]), np.concatenate([s[has], widths]),
            np.concatenate([lo, pts - REACH_T * widths]), np.concatenate([hi, pts + REACH_T * widths]),
            np.concatenate([np.zeros(has.sum(), dtype=np.int64), np.ones(pts.size, dtype=np.int64)])))
    return _per_target(target, "sources", build)


# -- the quadrature rule -------------------------------------------------------------------------------------
_POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="klpanel-quad")
PARALLEL_ROWS = 256  # split larger batches over the pool (the compiled kernel releases the GIL)
_thread = threading.local()


def keep_rows_on_this_thread(keep: bool = True) -> None:
    """Make :func:`integrate` in the calling thread run every batch on that thread instead of the shared pool
    (the default of its ``parallel`` argument). Schedulers call it in low-priority worker threads, whose work
    would otherwise run at normal priority in the pool (:mod:`klpanel.models.background`)."""
    _thread.serial = keep


def integrate(target, mu, sigma, wanted, alphas=(), order=1, parallel: bool | None = None):
    """Run the compiled kernel: array (P, len(wanted), 6) of (∫, ∂/∂μ, ∂/∂σ, ∂²/∂μ², ∂²/∂μ∂σ, ∂²/∂σ²) for
    each (code, c) in wanted; derivatives beyond ``order`` (0, 1, 2) are not computed (left 0). ``parallel``:
    whether a large batch may be split over the shared thread pool (None: unless this thread said
    :func:`keep_rows_on_this_thread`)."""
    if parallel is None:
        parallel = not getattr(_thread, "serial", False)
    mu = np.ascontiguousarray(mu, dtype=float).ravel()
    sigma = np.ascontiguousarray(sigma, dtype=float).ravel()
    a, m, s = _component_terms(target)
    w = np.ascontiguousarray(target.weights, dtype=float)
    codes = np.array([c for c, _ in wanted], dtype=np.int64)
    params = np.array([p for _, p in wanted], dtype=float)
    alphas = np.array(sorted(alphas), dtype=float)
    out = np.empty((mu.size, len(wanted), 6))
    args = (a, m, s, w, *target_knots(target), Z_KNOTS, *target_sources(target), REACH_G, REACH_T, STEPS,
            _GL_FRAC, _GL_HALF_W, alphas, codes, params, order)

    def run(rows):
        kernels.integrate_rows(mu[rows], sigma[rows], *args, out[rows])

    if mu.size < PARALLEL_ROWS or _POOL._max_workers == 1 or not parallel:
        run(slice(None))
    else:
        n = _POOL._max_workers
        bounds = np.linspace(0, mu.size, 4 * n + 1).astype(int)
        list(_POOL.map(run, [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]))
    return out


def target_entropy(target) -> float:
    """-∫ p log p with a 24-point rule on the target's own knots (computed once per target, cached)."""
    knots = target_knots(target)[0]
    t, wt = np.polynomial.legendre.leggauss(24)
    a, b = knots[:-1], knots[1:]
    x = (a[:, None] + (b - a)[:, None] * (t + 1) / 2).ravel()
    w = ((b - a)[:, None] * wt / 2).ravel()
    lp = mixture_logpdf(target, x)
    return float(-np.sum(w * np.exp(lp) * lp))
