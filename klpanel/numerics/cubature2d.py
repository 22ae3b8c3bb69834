"""Exact expectations under a 2-D Gaussian of the log of a 2-D Gaussian mixture: E_q[log p], E_q[∇log p] and
E_q[∇log p zᵀ] for x = μ + L z, z ~ N(0, I) (L the Cholesky factor of q's covariance).

The rule is nested Gauss quadrature in q's standardised coordinates (u, v) = z: the outer integral over u, the inner
over v along the line at each outer node. log p = logsumexp_k L_k(x) is smooth except near the curves where two of
its terms are equal (conics: L_j − L_k is quadratic in x), where it turns from one quadratic to another within a
width 1/|∇(L_j − L_k)|. On each inner line those crossings are the roots of a quadratic in v, found exactly; the
inner rule is composite 8-point Gauss–Legendre on standard-normal panels plus panels graded geometrically from
each crossing whose two terms lead (within ``ACTIVE_GAP`` nats of the largest), down to its width. The outer rule
is adaptive Gauss–Kronrod (7/15) on standard-normal panels, split where a crossing curve turns along the inner
lines (a double root of the inner quadratic); panels whose Gauss and Kronrod estimates differ by more than
``TOL`` are bisected. Both rules run to ±``Z_MAX`` standard deviations of q (the rest weighs < 1e-19).
Numpy, vectorised over lines and panels; log p and ∇log p at the nodes are summed by one compiled (numba) loop.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

Z_MAX = 9.5

#: standard-normal panel edges of the inner rule (1.5 sd near q's centre, wider in the tails) and of the outer one
#: (whose Kronrod nodes are twice as many, and whose panels are bisected where that is not enough)
BASE_EDGES = np.array([-9.5, -6.5, -4.5, -3.0, -1.5, 0.0, 1.5, 3.0, 4.5, 6.5, 9.5])
OUTER_EDGES = np.array([-9.5, -6.5, -4.0, -2.0, 0.0, 2.0, 4.0, 6.5, 9.5])
#: offsets, in widths, of the panel edges around a crossing (e^-36 of its softplus is left beyond)
GRADES = np.array([-36.0, -6.0, -1.0, 0.0, 1.0, 6.0, 36.0])
#: outer panels are bisected until |Kronrod − Gauss| ≤ TOL × max(1, |E log p|); E_q[log p] then comes out within
#: ~1e-11 (the tests hold it to 1e-9 against QUADPACK and the closed forms)
TOL = 1e-9
#: a crossing matters when its two terms are within this many nats of log p's largest term
ACTIVE_GAP = 40.0
#: a crossing's panels are graded only where its softplus (area ~ its width) weighs more than this under q
NEGLIGIBLE = 1e-15
#: widths at least this large (in sd of q) need no panels of their own: the base panels resolve them
SMOOTH_WIDTH = 1.0
MAX_LEVELS = 30

GL_X, GL_W = np.polynomial.legendre.leggauss(8)
# Gauss–Kronrod 7/15 on [-1, 1]
_XGK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                 0.207784955007898467600689403773245, 0.0])
_WGK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                 0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
KRONROD_X = np.concatenate([-_XGK[:-1], _XGK[::-1]])
KRONROD_W = np.concatenate([_WGK[:-1], _WGK[::-1]])
GAUSS_W = np.zeros(15)  # the 7 Gauss nodes are every other Kronrod node
GAUSS_W[1:14:2] = np.concatenate([_WG[:-1], _WG[::-1]])
LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _phi(z):
    return np.exp(-0.5 * z * z - LOG_SQRT_2PI)


class Forms:
    """The pairwise crossings of a mixture's terms in q's coordinates: for each pair j < k,
    L_j − L_k = ½ zᵀAz + bᵀz + c with x = μ + Lz."""

    def __init__(self, mixture, mean, chol):
        A, b, c = mixture.pair_forms()  # in x
        mean = np.asarray(mean, float)
        self.A = np.einsum("ai,pab,bj->pij", chol, A, chol)
        self.b = np.einsum("ai,pa->pi", chol, np.einsum("pab,b->pa", A, mean) + b)
        self.c = 0.5 * np.einsum("a,pab,b->p", mean, A, mean) + b @ mean + c

    def line(self, u):
        """Coefficients (a, β, γ) of L_j − L_k = a v² + β v + γ on the lines at outer nodes ``u``: (P,), (N, P)."""
        A, b, c = self.A, self.b, self.c
        u = u[:, None]
        return 0.5 * A[:, 1, 1], A[:, 0, 1] * u + b[:, 1], 0.5 * A[:, 0, 0] * u * u + b[:, 0] * u + c

    def turns(self):
        """Outer nodes u where a crossing curve runs along v: a double root of the inner quadratic (the curve turns),
        or a whole line of crossings (a curve straight along v). Returns u, a v on the curve there, the pair, and
        the width across the curve, 1/|∂(L_j − L_k)/∂u|."""
        A, b, c = self.A, self.b, self.c
        a, a01, a00 = 0.5 * A[:, 1, 1], A[:, 0, 1], A[:, 0, 0]
        pairs = np.arange(a.size)
        # the discriminant β(u)² − 4aγ(u), a quadratic in u
        us = _quadratic_roots(a01 ** 2 - 2.0 * a * a00, 2.0 * a01 * b[:, 1] - 4.0 * a * b[:, 0],
                              b[:, 1] ** 2 - 4.0 * a * c)
        with np.errstate(divide="ignore", invalid="ignore"):
            vs = -(a01[:, None] * us + b[:, 1][:, None]) / (2.0 * a[:, None])
        # L_j − L_k = γ(u) alone: crossings along whole lines u = root of γ
        straight = np.abs(a) + np.abs(a01) + np.abs(b[:, 1]) <= 1e-12 * (np.abs(a00) + np.abs(b[:, 0]))
        lines = _quadratic_roots(0.5 * a00, b[:, 0], c)
        us, vs = np.where(straight[:, None], lines, us), np.where(straight[:, None], 0.0, vs)
        pair = np.broadcast_to(pairs[:, None], us.shape)
        keep = np.isfinite(us) & np.isfinite(vs) & (np.abs(us) < Z_MAX) & (np.abs(vs) < Z_MAX)
        us, vs, pair = us[keep], vs[keep], pair[keep]
        with np.errstate(divide="ignore"):
            width = 1.0 / np.abs(a00[pair] * us + a01[pair] * vs + b[pair, 0])
        return us, vs, pair, width


def _quadratic_roots(a, b, c):
    """Both real roots of a x² + b x + c (NaN where none; ±inf/NaN for a vanishing leading term), stably."""
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = b * b - 4.0 * a * c
        sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
        q = -0.5 * (b + np.copysign(sq, b))
        return np.stack([q / a, c / q], axis=-1)


def _panels(edges, x, w):
    """Nodes and weights of the rule (x, w on [-1, 1]) on every panel between consecutive ``edges`` (..., n)."""
    half = 0.5 * (edges[..., 1:] - edges[..., :-1])
    mid = 0.5 * (edges[..., 1:] + edges[..., :-1])
    nodes = mid[..., None] + half[..., None] * x
    return nodes.reshape(*edges.shape[:-1], -1), (half[..., None] * w).reshape(*edges.shape[:-1], -1)


class Integrand:
    """log p and ∇log p at x = μ + Lz for a mixture, and the inner integrals along lines."""

    def __init__(self, mixture, mean, chol, gradient: bool):
        self.p, self.mean, self.chol, self.gradient = mixture, np.asarray(mean, float), np.asarray(chol, float), gradient
        self.forms = Forms(mixture, mean, chol) if mixture.n > 1 else None

    def points(self, u, v):
        L, m = self.chol, self.mean
        return np.stack([m[0] + L[0, 0] * u + L[0, 1] * v, m[1] + L[1, 0] * u + L[1, 1] * v], axis=-1)

    def leading(self, x, pair):
        """Whether the two terms of ``pair`` are within ACTIVE_GAP nats of the largest term at points ``x``."""
        terms = self.p.component_logpdf(x)
        rows = np.arange(len(x))
        i, j = self.p.pairs[0][pair], self.p.pairs[1][pair]
        return np.maximum(terms[rows, i], terms[rows, j]) >= terms.max(axis=1) - ACTIVE_GAP

    def inner_edges(self, u):
        """Panel edges in v for the lines at ``u`` (N,): base panels plus graded panels at the leading crossings."""
        base = np.broadcast_to(BASE_EDGES, (u.size, BASE_EDGES.size))
        if self.forms is None:
            return base
        a, beta, gamma = self.forms.line(u)
        roots = _quadratic_roots(a[None, :], beta, gamma)  # (N, P, 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            width = 1.0 / np.abs(2.0 * a[None, :, None] * roots + beta[..., None])
        ok = np.isfinite(roots) & (np.abs(roots) < Z_MAX) & (width < SMOOTH_WIDTH)
        if ok.any():
            uu = np.broadcast_to(u[:, None, None], roots.shape)
            pair = np.broadcast_to(np.arange(roots.shape[1])[None, :, None], roots.shape)
            ok[ok] = self.leading(self.points(uu[ok], roots[ok]), pair[ok])
        if not ok.any():
            return base
        # a crossing whose whole softplus weighs below NEGLIGIBLE (far out in q's tails) is an edge, not graded
        graded = ok & (_phi(u)[:, None, None] * _phi(np.where(ok, roots, 0.0)) * width > NEGLIGIBLE)
        extra = np.where(graded[..., None], roots[..., None] + width[..., None] * GRADES,
                         np.where(ok[..., None] & (GRADES == 0.0), roots[..., None], np.nan))
        extra = extra.reshape(u.size, -1)
        count = int(np.isfinite(extra).sum(axis=1).max())
        extra = np.sort(extra, axis=1)[:, :count]  # NaN sort last: keep the widest row's count
        edges = np.sort(np.concatenate([base, np.clip(extra, -Z_MAX, Z_MAX)], axis=1), axis=1)
        return np.where(np.isnan(edges), Z_MAX, edges)

    def lines(self, u):
        """For each outer node u (N,): ∫ φ(v) f(u, v) dv for f = log p and, with gradients, the two components of
        ∇log p and of ∇log p · u and ∇log p · v (the entries of E[∇log p zᵀ]): (N, 1) or (N, 7)."""
        prec, const = self.p._terms
        out = np.zeros((u.size, 7 if self.gradient else 1))
        _line_sums(np.ascontiguousarray(self.inner_edges(u)), u, GL_X, GL_W, self.mean, self.chol, self.p.means,
                   prec, const, out)
        return out


@njit(cache=True, nogil=True, error_model="numpy")
def _line_sums(edges, u, gx, gw, mean, chol, means, prec, const, out):
    """out[i] = Σ over the panels between consecutive ``edges[i]`` (empty ones skipped) of the Gauss rule (gx, gw) of
    φ(v) f(u[i], v), x = mean + chol (u, v); f = log p, then (with 7 columns) ∂₁log p, ∂₂log p, ∂₁log p·u,
    ∂₁log p·v, ∂₂log p·u, ∂₂log p·v."""
    n_comp = means.shape[0]
    terms = np.empty(n_comp)
    gradient = out.shape[1] > 1
    norm = 1.0 / math.sqrt(2.0 * math.pi)
    for r in range(edges.shape[0]):
        uu = u[r]
        for e in range(edges.shape[1] - 1):
            lo, hi = edges[r, e], edges[r, e + 1]
            if not hi > lo:
                continue
            half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
            for j in range(gx.size):
                vv = mid + half * gx[j]
                ww = half * gw[j] * norm * math.exp(-0.5 * vv * vv)
                x0 = mean[0] + chol[0, 0] * uu + chol[0, 1] * vv
                x1 = mean[1] + chol[1, 0] * uu + chol[1, 1] * vv
                top = -np.inf
                for k in range(n_comp):
                    d0, d1 = x0 - means[k, 0], x1 - means[k, 1]
                    t = const[k] - 0.5 * (prec[k, 0, 0] * d0 * d0 + 2.0 * prec[k, 0, 1] * d0 * d1
                                          + prec[k, 1, 1] * d1 * d1)
                    terms[k] = t
                    if t > top:
                        top = t
                total = 0.0
                g0 = 0.0
                g1 = 0.0
                for k in range(n_comp):
                    if terms[k] < top - 40.0:  # below double precision against the top term's 1
                        continue
                    ek = math.exp(terms[k] - top)
                    total += ek
                    if gradient:
                        d0, d1 = x0 - means[k, 0], x1 - means[k, 1]
                        g0 -= ek * (prec[k, 0, 0] * d0 + prec[k, 0, 1] * d1)
                        g1 -= ek * (prec[k, 1, 0] * d0 + prec[k, 1, 1] * d1)
                out[r, 0] += ww * (top + math.log(total))
                if gradient:
                    g0 *= ww / total
                    g1 *= ww / total
                    out[r, 1] += g0
                    out[r, 2] += g1
                    out[r, 3] += g0 * uu
                    out[r, 4] += g0 * vv
                    out[r, 5] += g1 * uu
                    out[r, 6] += g1 * vv


def _outer_panels(integrand: Integrand):
    """Outer panel edges: the base ones, and panels graded to its width around every u where a leading crossing
    curve runs along v (:meth:`Forms.turns`)."""
    edges = [OUTER_EDGES]
    if integrand.forms is not None:
        us, vs, pair, width = integrand.forms.turns()
        if us.size:
            ok = integrand.leading(integrand.points(us, vs), pair) & (width < SMOOTH_WIDTH)
            edges += [np.clip(centre + h * GRADES, -Z_MAX, Z_MAX) for centre, h in zip(us[ok], width[ok])]
    return np.unique(np.concatenate(edges))


def expect_log_p(mixture, mean, chol, gradient: bool = False):
    """E_q[log p] for q = N(mean, chol cholᵀ); with ``gradient`` also E_q[∇log p] (2,) and E_q[∇log p zᵀ] (2, 2)
    (z = chol⁻¹(x − mean)): the derivatives of E_q[log p] with respect to the mean and to the entries of chol."""
    f = Integrand(mixture, mean, chol, gradient)
    edges = _outer_panels(f)
    lo, hi = edges[:-1], edges[1:]
    total, scale = 0.0, None
    for level in range(MAX_LEVELS):
        u, _ = _panels(np.stack([lo, hi], axis=1), KRONROD_X, KRONROD_W)
        half = 0.5 * (hi - lo)[:, None]
        values = f.lines(u.ravel()).reshape(lo.size, 15, -1) * _phi(u)[..., None]
        kronrod = np.einsum("pn,pnc->pc", half * KRONROD_W, values)
        gauss = np.einsum("pn,pnc->pc", half * GAUSS_W, values)
        if scale is None:  # the tolerance is relative to the first estimate of E log p (at least 1)
            scale = max(1.0, abs(float(kronrod[:, 0].sum())))
        done = np.abs(kronrod - gauss).max(axis=1) <= TOL * scale
        if level == MAX_LEVELS - 1:
            done[:] = True
        total = total + kronrod[done].sum(axis=0)
        if done.all():
            break
        mid = 0.5 * (lo[~done] + hi[~done])
        lo, hi = np.concatenate([lo[~done], mid]), np.concatenate([mid, hi[~done]])
    if not gradient:
        return float(total[0])
    return float(total[0]), total[1:3].copy(), total[3:7].reshape(2, 2).copy()
