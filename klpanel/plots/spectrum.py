"""The optimal q along a path: against the order α (:func:`spectrum`), against the target's spread (:func:`phase`)
and against a distillation loss's parameter (:func:`distillation`).

The curves are the models' (``models.spectrum``: ``alpha_curve``, ``spread_curve``, ``distillation_curve``, cached).
Where the global optimum jumps from one mode to another the line breaks (``Curve.broken`` puts a NaN there)
instead of sliding across the gap; every local minimum is a faint dot behind the curves.
"""

from __future__ import annotations

import holoviews as hv

from ..models import spectrum as sp
from ..models.target import Target
from ..numerics import divergences as dv
from . import style

MU = hv.Dimension("mu", label="μ*")
SIGMA = hv.Dimension("sigma", label="σ*")
SPREAD = hv.Dimension("spread")
GREEK = {"alpha": "α", "beta": "β"}
OPTIMA = {"mu": (MU, style.MU_COLOR), "sigma": (SIGMA, style.SIGMA_COLOR)}


def path_dimension(name: str) -> hv.Dimension:
    """The path's key dimension, e.g. ``alpha`` shown as α."""
    return hv.Dimension(name, label=GREEK.get(name, name))


def optimum_curve(curve: sp.Curve, t: hv.Dimension, column: str, label: str, **opts) -> hv.Curve:
    """The global optimum's μ* or σ* (``column``) along ``curve``, broken at every jump (renderer
    ``klpanel-<key>`` with ``key`` given as ``opts['key']``, columns ``t.name``, ``column``)."""
    key = opts.pop("key")
    dim, color = OPTIMA[column]
    return hv.Curve(curve.broken(column), t, dim, label=label).opts(
        color=opts.pop("color", color), line_width=opts.pop("line_width", 3), tools=["hover"],
        hooks=[style.named(key)], **opts)


def minima_dots(curve: sp.Curve, t: hv.Dimension, column: str, key: str) -> hv.Scatter:
    """Every local minimum's μ or σ along the path (rank 0 = global), small and faint."""
    cols = curve.all_minima()
    dim, color = OPTIMA[column]
    other = "sigma" if column == "mu" else "mu"
    data = {t.name: cols["t"], column: cols[column], other: cols[other], "value": cols["value"], "rank": cols["rank"]}
    return hv.Scatter(data, t, [dim, OPTIMA[other][0], "value", "rank"], label="local minima").opts(
        color=color, size=4, alpha=0.35, show_legend=False, hooks=[style.named(key)])


def mark(at: float, **opts) -> hv.VLine:
    """A vertical line across the plot (the current α, the current spread, α = 0 and 1)."""
    return hv.VLine(float(at)).opts(**{"color": style.Q_COLOR, "line_width": 2, **opts})


def spectrum(target, family: str = "alpha", points: int = sp.ALPHA_POINTS, alpha: float | None = None,
             curve: sp.Curve | None = None) -> hv.Overlay:
    """μ*(α) and σ*(α), the optimal Gaussian under the α-divergence (``family="alpha"``) or the Rényi divergence
    (``"renyi"``) of every order α on ``points`` values over the registry's range, broken where the optimum jumps,
    with every local minimum as a dot, dotted lines at α = 0 (reverse KL) and 1 (forward KL), and ``alpha`` marked.
    ``curve``: the computed ``alpha_curve`` to draw (a view that computed it elsewhere), ``points`` then unused.

    Renderers: ``klpanel-spectrum-mu``, ``klpanel-spectrum-sigma`` (columns ``alpha``, ``mu``/``sigma``),
    ``klpanel-spectrum-minima-mu``, ``klpanel-spectrum-minima-sigma``."""
    curve = sp.alpha_curve(target, family, points) if curve is None else curve
    t = path_dimension("alpha")
    lo, hi = sp.order_bounds(family)
    layers = [minima_dots(curve, t, "sigma", "spectrum-minima-sigma"),
              minima_dots(curve, t, "mu", "spectrum-minima-mu"),
              optimum_curve(curve, t, "mu", "μ*", key="spectrum-mu"),
              optimum_curve(curve, t, "sigma", "σ*", key="spectrum-sigma"),
              *(mark(a, color=style.P_COLOR, line_width=1, line_dash="dotted") for a in (0.0, 1.0))]
    if alpha is not None:
        layers.append(mark(alpha))
    title = f"optimal μ*, σ* of {style.label(family)} against α (dots: local minima)"
    layers[0] = style.framed(layers[0], title=title, xlim=(lo, hi), height=260, ylabel="μ*, σ*")
    return hv.Overlay(layers).opts(legend_position="right", legend_opts={"background_fill_alpha": 0.0})


def phase(target=None, divergences=sp.PHASE_NAMES, points: int = sp.SPREAD_POINTS, curves: dict | None = None,
          **params) -> hv.Layout:
    """σ* and μ* against the spread of the target's generator (its ``n_modes`` and ``decay``; spread 1.5 … 5 on
    ``points`` values) for each of ``divergences`` (``params``: their α/β), in registry colours and dashes and
    broken at jumps: where each divergence stops covering and collapses onto one mode. The target's own spread is
    marked when it comes from the generator (custom components have no spread). ``curves``: {name: Curve} computed
    elsewhere (``SpreadPhase.curves()``) to draw instead of ``divergences``.

    Renderers: ``klpanel-phase-sigma-<name>``, ``klpanel-phase-mu-<name>`` (columns ``spread``, ``sigma``/``mu``)."""
    target = Target() if target is None else target
    if curves is None:
        chosen = dv.validate_params(list(divergences), **params)
        curves = sp.SpreadPhase(n_modes=target.n_modes, decay=target.decay, names=list(divergences), params=chosen,
                                points=points).curves()
    lo, hi = (float(v) for v in sp.spread_grid(points)[[0, -1]])
    panels = []
    for column, title in (("sigma", "optimal σ* against the target's spread"),
                          ("mu", "optimal μ* against the target's spread")):
        layers = [optimum_curve(c, SPREAD, column, style.label(n), key=f"phase-{column}-{n}", color=style.COLORS[n],
                                line_dash=style.DASHES[n], line_width=2.5) for n, c in curves.items()]
        if target.mode == "generator":
            layers.append(mark(target.spread))
        layers[0] = style.framed(layers[0], title=title, xlim=(lo, hi), height=260)
        panels.append(hv.Overlay(layers).opts(legend_position="right", legend_opts={
            "click_policy": "hide", "label_text_font_size": "10px", "background_fill_alpha": 0.0}))
    return hv.Layout(panels).cols(2)


def distillation(target, points: int = sp.PARAM_POINTS, values: dict | None = None, curves: dict | None = None,
                 references: dict | None = None) -> hv.Layout:
    """For each distillation loss of ``models.spectrum.DISTILLATION`` (DistiLLM's skew KLs, GKD's JSD(β)): μ* and
    σ* as its parameter sweeps its range, with the forward-KL (solid) and reverse-KL (dashed) optima as horizontal
    lines — the two ends the loss moves between. ``values``: {loss name: parameter value} to mark. ``curves`` and
    ``references``: ``Distillation.curves()`` and ``.references()`` computed elsewhere, to draw instead.

    Renderers: ``klpanel-distillation-<name>-mu``, ``klpanel-distillation-<name>-sigma``."""
    model = sp.Distillation(target=target, points=points)
    refs = model.references() if references is None else references
    curves = model.curves() if curves is None else curves
    panels = []
    for name, loss in sp.DISTILLATION.items():
        curve = curves[name]
        t = path_dimension(loss.param)
        layers = [optimum_curve(curve, t, column, OPTIMA[column][0].label, key=f"distillation-{name}-{column}",
                                line_width=2.5) for column in ("mu", "sigma")]
        for ref, dash in (("forward_kl", "solid"), ("reverse_kl", "dashed")):
            for column in ("mu", "sigma"):
                layers.append(hv.HLine(getattr(refs[ref], column)).opts(
                    color=OPTIMA[column][1], line_width=1, line_dash=dash))
        if values and name in values:
            layers.append(mark(values[name]))
        layers[0] = style.framed(layers[0], title=f"{style.label(name)}: μ*, σ*; thin: fwd KL, dashed: rev KL",
                                 xlim=loss.sweep, height=220, ylabel="μ*, σ*", fontsize={"title": "9pt"})
        panels.append(hv.Overlay(layers).opts(show_legend=False))
    return hv.Layout(panels).cols(3)
