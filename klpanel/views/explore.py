"""Section 3 — move q yourself: μ and σ sliders, p and q with the cost regions shaded, live readouts.

Shading: where p > q the mass that forward KL charges for ("forward KL cost"), where q > p the mass that reverse KL
charges for ("reverse KL cost"). The plot is ``plots.explore`` rendered once, its regions redrawn as Bokeh vareas
from one source with the lines (x, p, q, min(p, q)), and then written directly: a μ/σ drag sends 20+ steps a second,
each two N-long columns (q and min(p, q)), where a HoloViews update per step could not keep up and the regions'
2N-long outlines doubled the message.
"""

from __future__ import annotations

import html

import numpy as np
import panel as pn
import param
from bokeh.models import VArea

from .. import plots
from ..numerics import divergences
from ..models.explorer import Explorer, format_value
from ..plots.style import COLORS
from . import components, styles
from .handles import Handles
from .plotting import as_column, render, set_ranges

MU_RANGE = (-5.0, 5.0)
SIGMA_RANGE = (0.15, 3.0)
TITLE = "p, q, and where each KL pays"  # the values are read out beside the plot, not in its title
#: the name of q's data source in the served page (tools and benchmarks watch its ``q`` column for a q step)
Q_SOURCE_NAME = "klpanel-explore-curves"


def readout_html(explorer: Explorer, values: dict | None = None) -> str:
    """One row per selected divergence: colour swatch, label, value (3 decimals, ``∞`` if infinite); ``values`` in
    place of the explorer's (a drag's preview). Each value carries ``data-divergence`` so tests and scripts can find
    it."""
    rows = []
    for name, value in (explorer.values if values is None else values).items():
        d = divergences.REGISTRY[name]
        rows.append(
            f'<tr><td><span style="display:inline-block;width:12px;height:12px;border-radius:2px;'
            f'background:{COLORS[name]}"></span></td><td>{html.escape(d.label)}</td>'
            f'<td class="kl-readout" data-divergence="{name}" style="text-align:right;font-family:monospace;'
            f'font-size:1.25em;padding-left:1em">{format_value(value)}</td></tr>')
    if not rows:
        return "<em>Select a divergence in section 1 to read it out here.</em>"
    return '<table class="kl-readouts" style="border-spacing:6px 2px">' + "".join(rows) + "</table>"


def explore_figure(explorer: Explorer):
    """``plots.explore`` for the explorer's p and q, rendered with the page's look: every glyph and the legend on
    the repaint level (a slider step repaints that one layer, not the axes, grid and title; BokehJS measures every
    axis label on each primary repaint), the legend in a row above the frame, where the curves cannot cover it."""
    def picture():
        return plots.explore(explorer.target, explorer.q, divergences=[]).opts(title=TITLE)
    level = components.repaint_level()
    key = ("explore", explorer.target.key, explorer.q.mu, explorer.q.sigma, repr(level))
    return render(picture, "klpanel-explore-plot", key=key, finish=lambda fig: _finish(fig, level))


def _finish(fig, level: dict):
    """The rendered explore figure as the section writes it (once per process, :func:`render`): one source for
    every curve and band, the bands as vareas from min(p, q), glyphs and legend on ``level``, the legend above."""
    shared = plots.sources(fig)["q"]
    for r in fig.renderers:
        r.update(**level)
        if r.name in ("klpanel-forward-cost", "klpanel-reverse-cost"):  # a band from min(p, q) up to p or q
            g = r.glyph
            r.update(glyph=VArea(x="x", y1="lo", y2="p" if r.name.endswith("forward-cost") else "q",
                                 fill_color=g.fill_color, fill_alpha=g.fill_alpha), hover_glyph=None)
        if r.name and r.name.startswith("klpanel-"):
            r.data_source = shared
    legend = fig.legend[0]
    fig.center.remove(legend)
    legend.update(orientation="horizontal", location="top_left", background_fill_alpha=0.0, border_line_alpha=0.0,
                  label_text_font_size="11px", margin=0, padding=2, **level)
    fig.add_layout(legend, "above")
    return fig


class ExploreSection(pn.viewable.Viewer):
    """μ/σ sliders bound to ``explorer.q``; the plot and readouts follow the explorer's outputs."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        e = self.explorer
        self.mu = components.Slider.from_param(e.q.param.mu, name="μ (mean of q)", start=MU_RANGE[0],
                                               end=MU_RANGE[1], step=0.05, sizing_mode="stretch_width")
        self.sigma = components.Slider.from_param(e.q.param.sigma, name="σ (std of q)", start=SIGMA_RANGE[0],
                                                  end=SIGMA_RANGE[1], step=0.01, sizing_mode="stretch_width")
        self.figure = explore_figure(e)
        self.sources = plots.sources(self.figure)
        self.sources["q"].name = Q_SOURCE_NAME
        self.handles = Handles(e, self.figure, self.sources["q"], MU_RANGE, SIGMA_RANGE, preview=self._preview)
        self._write_target()
        # a Panel HTML pane, not a Bokeh Div: a Div re-renders on every text change and re-lays out the whole
        # page from its root (measured ~60 ms of the browser's time per slider step, most of the step's
        # latency); the pane only replaces its inner HTML
        self.readouts = components.HTML(readout_html(e), css_classes=["klpanel-readouts"],
                                        sizing_mode="stretch_width", margin=(5, 0))
        e.param.watch(self._update, ["x", "p_density", "q_density", "values"], precedence=1)  # after the optima

    def _preview(self, values: dict | None = None):
        self.readouts.object = readout_html(self.explorer, values)

    def _write_target(self):
        """The shared source's every column and the ranges for the explorer's grid and p (a new target)."""
        e = self.explorer
        p = as_column(e.p_density)
        self.sources["q"].data = {"x": as_column(e.x), "p": p, **self._q_columns()}
        set_ranges(self.figure, e.x, e.p_density)

    def _q_columns(self) -> dict:
        """q and both regions' lower edge, min(p, q): the columns a slider step moves."""
        e = self.explorer
        q = as_column(e.q_density)
        return {"q": q, "lo": np.minimum(as_column(e.p_density), q)}

    def _write_q(self):
        self.sources["q"].data.update(self._q_columns())

    def _update(self, *events):
        e = self.explorer
        changed = {ev.name for ev in events}
        with pn.io.hold():
            if changed & {"x", "p_density"}:
                self._write_target()
                self.handles.write_p()
            elif "q_density" in changed and not self.handles.live:  # a slider step: only the columns that moved
                self._write_q()
                self.handles.write_q()
            if "values" in changed:
                self.readouts.object = readout_html(e)

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## 3. Explore: move q yourself\nDrag μ and σ, or on the plot drag q's peak and its "
                             "width handle (◇); drag a mode of p sideways or up and down (its weight), or its width "
                             "handle; double-click adds a mode. Forward KL pays where p has mass q lacks; reverse KL "
                             "pays where q puts mass p lacks.", sizing_mode="stretch_width"),
            styles.beside([self.mu, self.sigma, self.readouts, self.handles.message, self.handles.remove],
                          [pn.pane.Bokeh(styles.fit_figure(self.figure), sizing_mode="stretch_width")]),
            sizing_mode="stretch_width")
