"""Densities on x: p with each divergence's optimal q (:func:`optima`), and p against a chosen q with the
regions each KL pays for (:func:`explore`).

The values come from the models (``optimal_q`` through the shared optima cache, ``divergences.evaluate``);
these functions only arrange them as HoloViews elements with named dimensions and the app's look.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from ..models.explorer import GRID_HALF_WIDTH, GRID_POINTS, format_value, normal_pdf
from ..models.family import family_optimum
from ..numerics import divergences as dv
from . import style

X = hv.Dimension("x")
P = hv.Dimension("p", label="density")
Q = hv.Dimension("q", label="density")
MU = hv.Dimension("mu", label="μ")
SIGMA = hv.Dimension("sigma", label="σ")
HEIGHT = hv.Dimension("height", label="density at μ")
MINIMUM_TOOLTIPS = [("", "@divergence @kind"), ("μ", "@mu{0.000}"), ("σ", "@sigma{0.000}"),
                    ("value", "@value{0.0000}")]


def density_grid(target) -> np.ndarray:
    """The app's grid on x: at least [−8, 8], and every component of p to ±4 of its σ."""
    lo = min(-GRID_HALF_WIDTH, float(np.min(target.means - 4 * target.sigmas)))
    hi = max(GRID_HALF_WIDTH, float(np.max(target.means + 4 * target.sigmas)))
    return np.linspace(lo, hi, GRID_POINTS)


def area_columns(x, lower, upper) -> dict:
    """The data of the Bokeh ``patch`` an ``hv.Area`` between ``lower`` and ``upper`` renders to (the
    renderer's source columns ``x``, ``y``): what a view writes to move a shaded region without HoloViews."""
    x = np.asarray(x, dtype=float)
    return {"x": np.append(x, x[::-1]), "y": np.append(np.asarray(lower, float), np.asarray(upper, float)[::-1])}


def target_line(x, p) -> hv.Curve:
    """p as a line (renderer ``klpanel-p``, columns ``x``, ``p``)."""
    return hv.Curve((x, p), X, P, label="p (target)").opts(color=style.P_COLOR, line_width=2,
                                                          hooks=[style.named("p")])


def density_frame(element, x, title, *curves):
    """The density plots' figure: x over the grid, density from 0 to above the tallest of ``curves``."""
    return style.framed(element, title=title, xlim=(float(x[0]), float(x[-1])), ylim=style.density_ylim(*curves),
                        height=340, xlabel="x", ylabel="density")


def _names(divergence_names) -> list:
    return list(dv.DEFAULT_NAMES if divergence_names is None else divergence_names)


def minima_columns(name: str, best) -> dict:
    """The data of :func:`minima_points`' source (renderer ``klpanel-minima-<name>``): every local minimum of
    ``best`` at (μ, its q's peak) with its σ, value, label and kind, and the marker's ``size`` and ``fill_alpha``
    (the global minimum filled and larger)."""
    ms = best.local_minima
    return {"mu": np.array([m.mu for m in ms], float),
            "height": np.array([float(normal_pdf(m.mu, m.mu, m.sigma)) for m in ms], float),
            "sigma": np.array([m.sigma for m in ms], float), "value": np.array([m.value for m in ms], float),
            "divergence": [style.label(name)] * len(ms),
            "kind": ["global minimum" if i == 0 else "local minimum" for i in range(len(ms))],
            "size": np.array([style.GLOBAL_SIZE if i == 0 else style.LOCAL_SIZE for i in range(len(ms))]),
            "fill_alpha": np.array([1.0 if i == 0 else 0.0 for i in range(len(ms))])}


def minima_points(name: str, best) -> hv.Points:
    """Every local minimum of ``best = optimal_q(p, name)`` at (μ, its q's peak); the global one filled and larger
    (:func:`minima_columns`). Hover: divergence, global/local, μ, σ, value."""
    cols = minima_columns(name, best)
    return hv.Points(cols, [MU, HEIGHT], [SIGMA, "value", "divergence", "kind", "size", "fill_alpha"],
                     label=style.label(name)).opts(
        color=style.COLORS[name], line_color=style.COLORS[name], line_width=2, size=hv.dim("size"),
        fill_alpha=hv.dim("fill_alpha"), tools=["hover"], hover_tooltips=MINIMUM_TOOLTIPS,
        hooks=[style.named(f"minima-{name}")])


def _chosen(names, divergence_params, params) -> dict:
    chosen = dv.validate_params(names, **params)
    for name, own in (divergence_params or {}).items():
        if name in chosen:
            chosen[name] = dv.validate_params([name], **own)[name]
    return chosen


def optimum_curves(target, divergences=None, divergence_params=None, sigma_fixed=None, **params) -> tuple:
    """``(x, p, {name: (best, q)})``: the grid, p on it, and each divergence's ``optimal_q`` result (with
    ``sigma_fixed``: ``optimal_mu``'s, over μ at that σ) with its density on the grid (a divergence without a finite
    optimum left out); arguments as :func:`optima`'s."""
    names = _names(divergences)
    chosen = _chosen(names, divergence_params, params)
    x = density_grid(target)
    curves = {}
    for name in names:
        best = family_optimum(target, name, chosen[name], sigma_fixed)
        if np.isfinite(best.value) and best.sigma > 0:
            curves[name] = (best, normal_pdf(x, best.mu, best.sigma))
    return x, target.pdf(x), curves


def optima_columns(target, divergences=None, divergence_params=None, sigma_fixed=None, **params) -> dict:
    """{source key: columns} of the figure :func:`optima` renders to (same arguments), what a view writes to
    follow a new target without re-rendering: ``p`` (``x``, ``p``), ``p-area`` (:func:`area_columns` from 0 to p),
    ``optimum-<name>`` (``x``, ``<name>``), ``minima-<name>`` (:func:`minima_columns`)."""
    x, p, curves = optimum_curves(target, divergences, divergence_params, sigma_fixed, **params)
    cols = {"p": {"x": x, "p": p}, "p-area": area_columns(x, np.zeros_like(p), p)}
    for name, (best, q) in curves.items():
        cols[f"optimum-{name}"] = {"x": x, name: q}
        cols[f"minima-{name}"] = minima_columns(name, best)
    return cols


def optima(target, divergences=None, divergence_params=None, sigma_fixed=None, **params) -> hv.Overlay:
    """p, the optimal Gaussian q of each divergence (a Curve in its registry colour and dash, labelled with its
    plain-Unicode registry label) and every local minimum of each (:func:`minima_points`).

    ``divergences``: registry names (default: the app's four); ``params``: their parameters (``alpha=…``,
    ``beta=…``), as ``optimal_q`` takes them, or per divergence (``divergence_params={"renyi": {"alpha": 0.7}}``,
    e.g. α-divergence and Rényi at different orders); ``sigma_fixed``: the fixed-σ family's optima (over μ at that
    σ). A divergence without a finite optimum on this target is left out.
    Renderers: ``klpanel-p-area``, ``klpanel-p``, ``klpanel-optimum-<name>`` (columns ``x``, ``<name>``) and
    ``klpanel-minima-<name>``."""
    x, p, found = optimum_curves(target, divergences, divergence_params, sigma_fixed, **params)
    area = hv.Area((x, p), X, P, label="p (target)").opts(color=style.P_COLOR, fill_alpha=0.35, line_alpha=0,
                                                          hooks=[style.named("p-area")])
    layers, curves = [area, target_line(x, p)], []
    for name, (best, q) in found.items():
        curves.append(q)
        layers.append(hv.Curve((x, q), X, hv.Dimension(name, label="density"), label=style.label(name)).opts(
            color=style.COLORS[name], line_dash=style.DASHES[name], line_width=2.5,
            hooks=[style.named(f"optimum-{name}")]))
        layers.append(minima_points(name, best))
    layers[0] = density_frame(area, x, "p and the optimal Gaussian q of each divergence", p, *curves)
    return hv.Overlay(layers).opts(
        legend_position="top_right",
        legend_opts={"click_policy": "hide", "background_fill_alpha": 0.6, "label_text_font_size": "11px"})


def values_title(values: dict) -> str:
    """The explore plot's title: each divergence's value at q (3 decimals, ``∞`` when infinite)."""
    return "   ".join(f"{style.label(name)} = {format_value(v)}" for name, v in values.items()) or "p and q"


def explore(target, q, divergences=None, **params) -> hv.Overlay:
    """p, q = N(μ, σ²), and shaded where p > q (the mass forward KL charges for) and where q > p (reverse KL's);
    the chosen divergences' values at q in the title (:func:`values_title`).

    Both regions are bands from min(p, q) up to p or q, so a view moving q rewrites three sources:
    ``klpanel-q`` (columns ``x``, ``q``), and ``klpanel-forward-cost`` / ``klpanel-reverse-cost``
    (:func:`area_columns` of (x, min(p, q), p) and (x, min(p, q), q)); ``klpanel-p`` is p's line."""
    names = _names(divergences)
    x = density_grid(target)
    p, qx = target.pdf(x), normal_pdf(x, q.mu, q.sigma)
    lo = np.minimum(p, qx)
    values = dv.evaluate(target, q, names, **params) if names else {}
    lower = hv.Dimension("lower", label="min(p, q)")  # an Area's value dimensions: top, then bottom
    forward = hv.Area((x, p, lo), X, [P, lower], label="p > q: forward KL cost").opts(
        color=style.COLORS["forward_kl"], fill_alpha=0.35, line_alpha=0, hooks=[style.named("forward-cost")])
    reverse = hv.Area((x, qx, lo), X, [Q, lower], label="q > p: reverse KL cost").opts(
        color=style.COLORS["reverse_kl"], fill_alpha=0.35, line_alpha=0, hooks=[style.named("reverse-cost")])
    p_line = density_frame(target_line(x, p), x, values_title(values), p).opts(fontsize={"title": "10pt"})
    q_line = hv.Curve((x, qx), X, Q, label="q = N(μ, σ²)").opts(color=style.Q_COLOR, line_width=2.5,
                                                               hooks=[style.named("q")])
    return (forward * reverse * p_line * q_line).opts(
        legend_position="top_left", legend_opts={"background_fill_alpha": 0.0, "label_text_font_size": "11px"})
