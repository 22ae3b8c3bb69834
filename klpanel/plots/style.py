"""The look every klpanel picture shares: one colour and dash per registry divergence, p's and q's colours,
plain-Unicode labels, default HoloViews options, and Bokeh names for the renderers a view updates.

Views import these constants from here (one definition for the HoloViews figures and the hand-built ones).
Nothing here imports Panel.
"""

from __future__ import annotations

import re

import numpy as np
from bokeh.palettes import Category10_10

from ..numerics import divergences

#: One colour per divergence, in registry order, the same in every section.
COLORS = {name: Category10_10[i % 10] for i, name in enumerate(divergences.REGISTRY)}
#: Dash patterns in registry order, so optima that coincide (reverse KL and JSD often do) stay visible.
DASHES = {name: ("solid", "dashed", "dotdash", "dotted")[i % 4] for i, name in enumerate(divergences.REGISTRY)}
P_COLOR = "#9aa5b1"
Q_COLOR = "#f2c14e"
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

_SUPERSCRIPT = str.maketrans("RABDEGHIJKLMNOPTUW", "ᴿᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᵀᵁᵂ")


def plain(text: str) -> str:
    """Registry label markup to plain Unicode: ``D^R_α(p‖q)`` -> ``Dᴿα(p‖q)``, ``SKL_α(p‖q)`` -> ``SKLα(p‖q)``
    (legends and titles of a canvas show text, not TeX). Unicode has no subscript Greek letters, so ``_x`` keeps
    the letter inline."""
    text = re.sub(r"\^\{?([A-Z])\}?", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    return re.sub(r"_\{?([^\s{}()])\}?", r"\1", text)


def label(name: str) -> str:
    """The registry divergence ``name``'s label in plain Unicode (see :func:`plain`)."""
    return plain(divergences.REGISTRY[name].label)


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
