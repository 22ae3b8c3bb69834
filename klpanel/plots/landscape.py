"""The loss landscape D(p, N(μ, σ²)) over (μ, σ) as an image with its local minima (:func:`landscape`), and
optimisation runs as paths over the same axes (:func:`trajectories`); the two compose with ``*``.

Values are the landscape model's (``models.landscape.landscape_grid``: exact, cached per grid). An infinite value
(the α family where p^α q^(1−α) is not integrable) stays infinite in the element's data, so hover reads
``Infinity``; it is drawn blank, as in the app, by giving values above the colour range a transparent colour.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from ..models.landscape import landscape_curve, landscape_grid
from . import style

MU = hv.Dimension("mu", label="μ")
SIGMA = hv.Dimension("sigma", label="σ")
LOG_SIGMA = hv.Dimension("log_sigma", label="log σ")
STEP = hv.Dimension("step")
LOSS = hv.Dimension("loss", label="D")


def sigma_dimension(log_sigma: bool) -> hv.Dimension:
    """The y axis: σ, or log σ when the grid is spaced evenly in log σ."""
    return LOG_SIGMA if log_sigma else SIGMA


def color_limits(values) -> tuple[float, float]:
    """A log colour range over the finite values (the app's: the smallest positive value, at least a millionth of
    the largest, up to the largest)."""
    finite = values[np.isfinite(values)]
    positive = finite[finite > 0]
    lo = float(positive.min()) if positive.size else 1e-3
    hi = float(finite.max()) if finite.size else 1.0
    return max(lo, hi * 1e-6, 1e-9), max(hi, lo * 1.01)


def landscape(target, divergence, mu_range=(-5.0, 5.0), sigma_range=(0.15, 3.0), n=81, log_sigma=False,
              grid=None, **params) -> hv.Overlay:
    """``divergence`` (a registry name; ``params`` its α/β) over an n × n grid of (μ, σ) (σ spaced evenly in
    log σ with ``log_sigma``) as an ``hv.Image`` (key dimensions ``mu``, ``sigma`` or ``log_sigma``, value dimension
    the divergence's name, labelled with its registry label; log colour scale), and its local minima as stars
    (the global one red and larger; hover: μ, σ, value).

    ``grid``: a computed ``LandscapeGrid`` to draw instead (e.g. a ``models.landscape.Landscape``'s, which may be
    a coarse preview); it gives the divergence, the axes and the values, and the other arguments are not used.

    Renderers: ``klpanel-landscape`` (the image), ``klpanel-landscape-minima``."""
    g = grid if grid is not None else landscape_grid(target, divergence, params, mu_range, sigma_range, n_mu=n,
                                                     n_sigma=n, log_sigma=log_sigma)
    divergence, log_sigma = g.divergence, g.log_sigma
    y = sigma_dimension(log_sigma)
    value = hv.Dimension(divergence, label=style.label(divergence))
    image = hv.Image((g.mu, g.y, g.values), kdims=[MU, y], vdims=[value]).opts(
        cmap="viridis", logz=True, clim=color_limits(g.values), colorbar=True, clipping_colors={"max": "transparent"},
        tools=["hover"], hooks=[style.named("landscape")])
    image = style.framed(image, title=landscape_title(g), xlim=(float(g.mu[0]), float(g.mu[-1])),
                         ylim=(float(g.y[0]), float(g.y[-1])), height=430)
    extra = [SIGMA] if log_sigma else []  # hover shows σ itself on a log σ axis
    rows = _minima_rows(g)
    kind = hv.dim("kind")
    # no minima (a preview grid): plain values, as an empty column mapped through dim() is float, not colours
    color = kind.categorize({"global minimum": style.GLOBAL_COLOR}, default=style.LOCAL_COLOR) if rows \
        else style.LOCAL_COLOR
    points = hv.Points(rows, [MU, y], [*extra, value, "kind"], label="local minima").opts(
        marker="star", line_color="black", tools=["hover"], show_legend=False, color=color,
        size=kind.categorize({"global minimum": MINIMUM_SIZES[0]}, default=MINIMUM_SIZES[1]) if rows
        else MINIMUM_SIZES[1], hooks=[style.named("landscape-minima")])
    return image * points


MINIMUM_SIZES = (22, 15)  # the global minimum's star, a local one's


def landscape_title(g) -> str:
    note = " (blank: infinite)" if not np.isfinite(g.values).all() else ""
    return f"Landscape of {style.label(g.divergence)} over (μ, {sigma_dimension(g.log_sigma).label}) — ★ local " \
           f"minima, red = global{note}"


def _minima_rows(g) -> list[tuple]:
    return [(m.mu, np.log(m.sigma) if g.log_sigma else m.sigma, *([m.sigma] if g.log_sigma else []), m.value,
             "global minimum" if i == 0 else "local minimum") for i, m in enumerate(g.minima)]


def landscape_data(grid) -> dict:
    """What :func:`landscape` draws for ``grid`` that changes with the grid, without HoloViews: the columns of its
    sources ``landscape`` (the image) and ``landscape-minima`` (the minima, with their colour and size columns),
    the colour limits, the title and the axis limits. A view that rendered the picture once writes these on a new
    grid of the same divergence and axis (a HoloViews update of the image cost ~0.1 s of server time);
    ``tests/test_plots.py`` holds them equal to what HoloViews renders."""
    g = grid
    dx = (g.mu[-1] - g.mu[0]) / (g.mu.size - 1)
    dy = (g.y[-1] - g.y[0]) / (g.y.size - 1)
    image = {"image": [g.values], "x": [g.mu[0] - dx / 2], "y": [g.y[0] - dy / 2],
             "dw": [g.mu[-1] - g.mu[0] + dx], "dh": [g.y[-1] - g.y[0] + dy]}
    rows = _minima_rows(g)
    names = ["mu", sigma_dimension(g.log_sigma).name, *(["sigma"] if g.log_sigma else []), g.divergence, "kind"]
    minima = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    for name in names[:-1]:
        minima[name] = np.asarray(minima[name], dtype=float)
    minima["color"] = [style.GLOBAL_COLOR if k == "global minimum" else style.LOCAL_COLOR for k in minima["kind"]]
    minima["size"] = np.asarray([MINIMUM_SIZES[0] if k == "global minimum" else MINIMUM_SIZES[1]
                                 for k in minima["kind"]], dtype=int)
    return {"landscape": image, "landscape-minima": minima, "clim": color_limits(g.values),
            "title": landscape_title(g), "xlim": (float(g.mu[0]), float(g.mu[-1])),
            "ylim": (float(g.y[0]), float(g.y[-1]))}


def trajectories(runs, log_sigma=False, restarts=()) -> hv.Overlay:
    """Each run's trajectory as an ``hv.Path`` over (μ, σ) (or (μ, log σ)) with value dimensions step and loss, in
    its divergence's colour, then each of ``restarts`` (more runs: the dynamics section's random restarts) thin and
    grey; a hollow circle where each started and a filled dot where it is now (hover: divergence, step, loss).

    Renderers: ``klpanel-path-<i>`` (the i-th of runs + restarts; columns ``xs``, ``ys``: one list each),
    ``klpanel-starts``, ``klpanel-ends`` (one row per run)."""
    y = sigma_dimension(log_sigma)
    layers, starts, ends = [], [], []
    for i, run in enumerate([*runs, *restarts]):
        tr, label, main = run.trajectory, style.label(run.divergence), i < len(runs)
        ys = np.log(tr["sigma"]) if log_sigma else tr["sigma"]
        color = style.COLORS[run.divergence] if main else style.RESTART_COLOR
        layers.append(hv.Path([{"mu": tr["mu"], y.name: ys, "step": tr["step"], "loss": tr["loss"]}],
                              [MU, y], [STEP, LOSS], label=label).opts(
            color=color, line_width=2.5 if main else 1.2, alpha=0.9, show_legend=False,
            hooks=[style.named(f"path-{i}")]))
        if tr["mu"].size:
            starts.append((tr["mu"][0], ys[0], label, color))
            ends.append((tr["mu"][-1], ys[-1], label, color, int(tr["step"][-1]), float(tr["loss"][-1])))
    start_points = hv.Points(starts, [MU, y], ["divergence", "color"], label="start").opts(
        marker="circle_x", size=13, fill_alpha=0, line_color="color", line_width=2, tools=["hover"],
        show_legend=False, hooks=[style.named("starts")])
    end_points = hv.Points(ends, [MU, y], ["divergence", "color", STEP, LOSS], label="now").opts(
        size=11, color="color", line_color="black", tools=["hover"], show_legend=False, hooks=[style.named("ends")])
    return hv.Overlay([*layers, start_points, end_points])


def curve_ylim(curves) -> tuple[float, float]:
    """The fixed-σ landscape's D axis: from 0 (or the lowest value) to 15% above 2.5 times the highest minimum, or the
    lowest curve's top if higher, so steep curves (KL far from p grows like μ²) do not flatten the others' wells."""
    finite = [c.values[np.isfinite(c.values)] for c in curves]
    finite = [v for v in finite if v.size]
    if not finite:
        return 0.0, 1.0
    lo = min(0.0, min(float(v.min()) for v in finite))
    tops = sorted(float(v.max()) for v in finite)
    minima = [m.value for c in curves for m in c.minima if np.isfinite(m.value)]
    hi = min(tops[-1], max(2.5 * max(minima, default=0.0), tops[0]))
    return lo, lo + 1.15 * (hi - lo) if hi > lo else lo + 1.0


def curve_title(sigma: float) -> str:
    return f"Landscape over μ with σ fixed at σ₀ = {sigma:.3g} — ★ local minima (larger: global)"


def mu_landscape(target, divergences, sigma=0.8, mu_range=(-5.0, 5.0), n=401, divergence_params=None,
                 curves=None) -> hv.Overlay:
    """The fixed-σ family's landscape: each of ``divergences`` (registry names; ``divergence_params`` per name its
    α/β) at q = N(μ, ``sigma``²) as an ``hv.Curve`` over μ (key dimension ``mu``, value dimensions ``loss`` (D) and
    ``divergence``, its registry colour and dash, hover), and every local minimum along μ inside the range as a
    star in its divergence's colour on the curve (the global one larger; hover: divergence, μ, D, kind).

    ``curves``: computed ``LandscapeCurve``s to draw instead (e.g. ``Dynamics.curves()``' values).

    Renderers: ``klpanel-curve-<divergence>``, ``klpanel-curve-minima``."""
    params = divergence_params or {}
    if curves is None:
        curves = [landscape_curve(target, name, params.get(name), sigma, mu_range, n) for name in divergences]
    curves = list(curves)
    sigma = curves[0].sigma if curves else sigma
    layers, rows = [], []
    for c in curves:
        label = style.label(c.divergence)
        layers.append(hv.Curve({"mu": c.mu, "loss": c.values, "divergence": [label] * c.mu.size}, MU,
                               [LOSS, "divergence"], label=label).opts(
            color=style.COLORS[c.divergence], line_dash=style.DASHES[c.divergence], line_width=2.5,
            tools=["hover"], hooks=[style.named(f"curve-{c.divergence}")]))
        lo, hi = float(c.mu[0]), float(c.mu[-1])
        rows += [(m.mu, m.value, label, "global minimum" if i == 0 else "local minimum",
                  style.COLORS[c.divergence], MINIMUM_SIZES[0] - 6 if i == 0 else MINIMUM_SIZES[1] - 5)
                 for i, m in enumerate(c.minima) if lo <= m.mu <= hi and np.isfinite(m.value)]
    points = hv.Points(rows, [MU, LOSS], ["divergence", "kind", "color", "size"], label="local minima").opts(
        marker="star", color="color", size="size", line_color="black", tools=["hover"], show_legend=False,
        hooks=[style.named("curve-minima")])
    first = layers[0] if layers else hv.Curve([], MU, LOSS)
    style.framed(first, title=curve_title(sigma),
                 xlim=(float(mu_range[0]) if not curves else float(curves[0].mu[0]),
                       float(mu_range[1]) if not curves else float(curves[0].mu[-1])),
                 ylim=curve_ylim(curves), height=430)
    return hv.Overlay([*layers, points]).opts(legend_position="top_right")
