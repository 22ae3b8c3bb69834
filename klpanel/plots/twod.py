"""The 2-D picture (Bishop, PRML fig. 10.2): p's contours with the optimal Gaussian q of forward and of reverse KL
drawn as ellipses over them (:func:`bishop`), and a q of one's own with its drag handles.

Contours are marching squares over p's density on a grid (levels at p's peak × e^(−k²/2), k = ½, 1, …, 2½: for a
Gaussian p exactly its Mahalanobis-k ellipses); q's ellipses are its Mahalanobis 1 and 2 curves. Dimensions are
``x1``, ``x2`` throughout.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from ..models.cache import LRUCache
from ..models.twod import Approximation2D, Target2D, cached_optimum
from ..numerics import gauss2d as g
from . import style

X1 = hv.Dimension("x1", label="x₁")
X2 = hv.Dimension("x2", label="x₂")
#: contour levels as Mahalanobis radii (for a Gaussian p) and the radii of q's ellipses
CONTOUR_RADII = (0.5, 1.0, 1.5, 2.0, 2.5)
ELLIPSE_RADII = (1.0, 2.0)
P_CONTOUR_COLOR = "#2ca02c"  # Bishop draws p in green
DIRECTION_LABELS = {"forward_kl": "KL(p‖q) optimum", "reverse_kl": "KL(q‖p) optimum"}
GRID_POINTS = 161
CONTOURS = LRUCache(64)  # p's contour segments by (target, window, grid), shared by every session
#: the overlay's legend (outside the square frame, so it hides no contour); ``overlay * more`` drops an overlay's
#: options, so a picture built on :func:`bishop` applies these again
LEGEND = dict(legend_position="right", legend_opts={"background_fill_alpha": 0.0, "label_text_font_size": "11px"})


def _mixture(target) -> g.Mixture2D:
    return target.mixture if isinstance(target, Target2D) else target


def extent(mixture: g.Mixture2D) -> tuple[float, float, float, float]:
    """A square window holding every component to ±3.5 σ and p's moment-matched Gaussian to ±2.5 σ, at least ±3."""
    m = mixture.moments
    lo = np.minimum((mixture.means - 3.5 * mixture.sigmas).min(axis=0), m.mean - 2.5 * np.array([m.sigma1, m.sigma2]))
    hi = np.maximum((mixture.means + 3.5 * mixture.sigmas).max(axis=0), m.mean + 2.5 * np.array([m.sigma1, m.sigma2]))
    half = max(3.0, float(np.max(hi - lo)) / 2)
    c = (lo + hi) / 2
    return float(c[0] - half), float(c[0] + half), float(c[1] - half), float(c[1] + half)


def contour_segments(x, y, z, levels) -> dict:
    """Marching squares: the contour lines of ``z`` (``z[j, i]`` at (``x[i]``, ``y[j]``)) at ``levels``, as segment
    columns ``x1``, ``x2`` (start) and ``x1_end``, ``x2_end`` (a saddle cell gets two segments)."""
    X, Y = np.meshgrid(x, y)
    corners = [(slice(None, -1), slice(None, -1)), (slice(None, -1), slice(1, None)),
               (slice(1, None), slice(1, None)), (slice(1, None), slice(None, -1))]  # bl, br, tr, tl
    zs = [z[c] for c in corners]
    xs, ys = [X[c] for c in corners], [Y[c] for c in corners]
    out = {k: [] for k in ("x1", "x2", "x1_end", "x2_end")}
    for level in levels:
        points, hits = [], []
        for a, b in ((0, 1), (1, 2), (3, 2), (0, 3)):  # bottom, right, top, left edges
            hit = (zs[a] > level) != (zs[b] > level)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(hit, (level - zs[a]) / (zs[b] - zs[a]), 0.0)
            points.append((xs[a] + t * (xs[b] - xs[a]), ys[a] + t * (ys[b] - ys[a])))
            hits.append(hit)
        hits = np.array(hits)
        count = hits.sum(axis=0)
        order = np.argsort(~hits, axis=0, kind="stable")  # crossed edges first
        px = np.array([p[0] for p in points])
        py = np.array([p[1] for p in points])
        pick = lambda k: (np.take_along_axis(px, order[k:k + 1], 0)[0], np.take_along_axis(py, order[k:k + 1], 0)[0])  # noqa: E731
        for first, second, cells in ((0, 1, count >= 2), (2, 3, count == 4)):
            (ax, ay), (bx, by) = pick(first), pick(second)
            for key, values in zip(out, (ax, ay, bx, by)):
                out[key].append(values[cells])
    return {k: np.concatenate(v) for k, v in out.items()}


def p_contours(mixture: g.Mixture2D, window=None, n: int = GRID_POINTS) -> dict:
    """:func:`contour_segments` of p's density over ``window`` (default :func:`extent`); computed once per target
    (every page shows the presets)."""
    window = tuple(window or extent(mixture))
    return CONTOURS.get_or_compute((mixture.key, window, n), lambda: _contours(mixture, window, n))


def _contours(mixture, window, n) -> dict:
    x0, x1, y0, y1 = window
    x, y = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    z = mixture.pdf(np.stack(np.meshgrid(x, y), axis=-1))
    peak = max(float(z.max()), float(mixture.pdf(mixture.means).max()))
    return contour_segments(x, y, z, [peak * np.exp(-0.5 * k * k) for k in CONTOUR_RADII])


def ellipse(q: g.Gaussian2D, radii=ELLIPSE_RADII, n: int = 97) -> dict:
    """q's Mahalanobis-``r`` curves, one closed line per radius: columns ``xs``, ``ys`` (lists of arrays)."""
    t = np.linspace(0.0, 2.0 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    xs, ys = [], []
    for r in radii:
        pts = q.mean[:, None] + r * (q.chol @ circle)
        xs.append(pts[0])
        ys.append(pts[1])
    return {"xs": xs, "ys": ys}


def handles(q: g.Gaussian2D) -> dict:
    """The drag handles of q: its centre, and the points σ₁ along x₁ and σ₂ along x₂ from it (columns ``x1``,
    ``x2``, ``role``)."""
    return {"x1": np.array([q.mu1, q.mu1 + q.sigma1, q.mu1]), "x2": np.array([q.mu2, q.mu2, q.mu2 + q.sigma2]),
            "role": np.array(["centre", "σ₁", "σ₂"])}


def _path(data: dict, label: str, key: str, **opts) -> hv.Path:
    paths = [np.column_stack([x, y]) for x, y in zip(data["xs"], data["ys"])]
    return hv.Path(paths, [X1, X2], label=label).opts(hooks=[style.named(key)], show_legend=True, **opts)


def bishop(target, family: str = "factorised", q=None) -> hv.Overlay:
    """p's contours (green) with the optimal q of forward KL (blue, dashed) and of reverse KL (red) in ``family``
    (``"factorised"``: mean-field, Bishop's fig. 10.2; ``"full"``: full covariance), each drawn at Mahalanobis 1
    and 2. ``target``: a :class:`~klpanel.models.twod.Target2D` or a numerics ``Mixture2D``; ``q`` (a ``Gaussian2D``
    or ``Approximation2D``) adds that q's ellipses and its drag handles.

    Renderers: ``klpanel-twod-p-contours`` (segments ``x1``, ``x2``, ``x1_end``, ``x2_end``),
    ``klpanel-twod-optimum-forward_kl``, ``klpanel-twod-optimum-reverse_kl`` and ``klpanel-twod-q`` (lines ``xs``,
    ``ys``), ``klpanel-twod-q-handles`` (``x1``, ``x2``)."""
    mixture = _mixture(target)
    window = extent(mixture)
    segments = p_contours(mixture, window)
    contours = hv.Segments(segments, [X1, X2, "x1_end", "x2_end"], label="p (target)").opts(
        color=P_CONTOUR_COLOR, line_width=1.5, hooks=[style.named("twod-p-contours")])
    family_name = "mean-field" if family == "factorised" else "full-covariance"
    layers = [style.framed(contours, title=f"p and the optimal {family_name} Gaussian q of each KL",
                           xlim=window[:2], ylim=window[2:], xlabel="x₁", ylabel="x₂", responsive=False,
                           frame_width=460, frame_height=460)]
    for direction, dash in (("forward_kl", "dashed"), ("reverse_kl", "solid")):
        best = cached_optimum(mixture, direction, family)
        layers.append(_path(ellipse(best.q), DIRECTION_LABELS[direction], f"twod-optimum-{direction}",
                            color=style.COLORS[direction], line_width=2.5, line_dash=dash))
    if q is not None:
        q = q.gaussian if isinstance(q, Approximation2D) else q
        layers.append(_path(ellipse(q), "q (yours)", "twod-q", color=style.Q_COLOR, line_width=2))
        layers.append(hv.Points(handles(q), [X1, X2], ["role"], label="q's handles").opts(
            color=style.Q_COLOR, line_color="black", size=11, tools=["hover"], hooks=[style.named("twod-q-handles")]))
    return hv.Overlay(layers).opts(**LEGEND)
