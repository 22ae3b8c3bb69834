"""The look every klpanel picture shares: one colour and dash per registry divergence, p's and q's colours,
the registry's plain-Unicode labels, default HoloViews options, and Bokeh names for the renderers a view updates.

Views import these constants from here (one definition for the HoloViews figures and the hand-built ones).
Nothing here imports Panel.
"""

from __future__ import annotations

import numpy as np

from ..numerics import divergences

#: One colour per divergence, in registry order, the same in every section: Okabe–Ito's colour-blind-safe hues
#: (forward KL blue, reverse KL vermillion: never told apart by red/green), each at least 3:1 against both the
#: light theme's white and the dark theme's #212121; the skew and generalised variants take a lighter shade of the
#: family they vary, and every divergence also has its own dash pattern (:data:`DASHES`).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#808A1C", "#8E6BBF", "#A6761D", "#4A9BD6", "#E8742A",
           "#3AA27F")
COLORS = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(divergences.REGISTRY)}
#: Dash patterns in registry order, so optima that coincide (reverse KL and JSD often do) stay visible.
DASHES = {name: ("solid", "dashed", "dotdash", "dotted")[i % 4] for i, name in enumerate(divergences.REGISTRY)}
P_COLOR = "#8C96A0"  # grey-blue, 3:1 on both themes' backgrounds
Q_COLOR = "#B08600"  # dark gold, 3:1 on both
MU_COLOR = "#1f77b4"  # μ* curves of the spectrum and distillation plots
SIGMA_COLOR = "#2ca02c"  # σ* curves
GLOBAL_COLOR = "#ff4d4d"  # the landscape's global minimum
LOCAL_COLOR = "#ffffff"  # its other local minima
RESTART_COLOR = "#9a9a9a"  # random restarts on the landscape
#: Narrowest q the y-axis always has room for (σ = 0.35, the original page's component width).
REFERENCE_PEAK = 1.0 / (0.35 * np.sqrt(2 * np.pi))
#: Marker sizes of a global and a local minimum on the density plots.
GLOBAL_SIZE, LOCAL_SIZE = 14, 9
#: Figure options every picture has (a user's ``.opts(...)`` overrides any of them).
COMMON = dict(responsive=True, toolbar="above", show_grid=True, gridstyle={"grid_line_alpha": 0.25})


def label(name: str) -> str:
    """The registry divergence ``name``'s label (plain Unicode: legends and titles of a canvas show text, not TeX)."""
    return divergences.REGISTRY[name].label


def density_ylim(*curves) -> tuple[float, float]:
    """A fixed density axis: from 0 to 8% above the tallest curve (never lower than :data:`REFERENCE_PEAK`),
    as the app's density plots have, so moving q does not rescale the axis."""
    peak = max([REFERENCE_PEAK] + [float(np.max(c)) for c in curves if c is not None and len(c)])
    return 0.0, round(1.08 * peak, 3)


def framed(element, **opts):
    """``element`` carrying the figure's options (title, ranges, size, :data:`COMMON`). They sit on an element, not
    on the returned overlay, because ``overlay * other`` builds a new overlay without the overlay's options, while
    an element's figure options reach whatever figure it is drawn in; options set on an overlay still win."""
    return element.opts(**{**COMMON, **opts})


def renderer_name(key: str) -> str:
    """The Bokeh ``name`` of the glyph renderer (and of its ``ColumnDataSource``) drawing element ``key``."""
    return f"klpanel-{key}"


def named(key: str):
    """A HoloViews hook naming the element's Bokeh glyph renderer and data source ``klpanel-<key>``, so a view
    that renders once can find the source to update (:func:`klpanel.plots.sources`)."""
    def hook(plot, element):
        name = renderer_name(key)
        for handle in ("glyph_renderer", "source"):
            if handle in plot.handles:
                plot.handles[handle].name = name
    return hook
