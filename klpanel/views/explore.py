"""Section 3 — move q yourself: μ and σ sliders, p and q with the cost regions shaded, live readouts.

Shading: where p > q the mass that forward KL charges for ("forward KL cost"), where q > p the mass
that reverse KL charges for ("reverse KL cost"). Both are bands between min(p, q) and p or q, so a
slider step sends just two float32 columns (q and min(p, q)) and the readout text.
"""

from __future__ import annotations

import html

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource

from ..numerics import divergences
from ..models.explorer import Explorer, format_value
from . import components
from .plotting import COLORS, P_COLOR, Q_COLOR, as_column, density_figure, set_ranges


MU_RANGE = (-5.0, 5.0)
SIGMA_RANGE = (0.15, 3.0)


def readout_html(explorer: Explorer) -> str:
    """One row per selected divergence: colour swatch, label, value (3 decimals, ``∞`` if infinite).
    Each value carries ``data-divergence`` so tests and scripts can find it."""
    rows = []
    for name, value in explorer.values.items():
        d = divergences.REGISTRY[name]
        rows.append(
            f'<tr><td><span style="display:inline-block;width:12px;height:12px;border-radius:2px;'
            f'background:{COLORS[name]}"></span></td><td>{html.escape(d.label)}</td>'
            f'<td class="kl-readout" data-divergence="{name}" style="text-align:right;font-family:monospace;'
            f'font-size:1.25em;padding-left:1em">{format_value(value)}</td></tr>')
    if not rows:
        return "<em>Select a divergence in section 1 to read it out here.</em>"
    return '<table class="kl-readouts" style="border-spacing:6px 2px">' + "".join(rows) + "</table>"


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
        self.source = ColumnDataSource(self._data(), name="klpanel-explore-curves")
        fig = density_figure(title="p, q, and where each KL pays", name="klpanel-explore-plot")
        # every curve on the overlay level: a slider step repaints that one layer, not the axes, grid and title
        # of the primary one (BokehJS measures every axis label on each primary repaint: ~half of the step's
        # paint); the legend sits above the frame, where curves on the overlay cannot cover it, on the overlay too
        fig.varea("x", "lo", "p", source=self.source, fill_color=COLORS["forward_kl"], fill_alpha=0.35,
                  legend_label="p > q: forward KL cost", **components.repaint_level())
        fig.varea("x", "lo", "q", source=self.source, fill_color=COLORS["reverse_kl"], fill_alpha=0.35,
                  legend_label="q > p: reverse KL cost", **components.repaint_level())
        fig.line("x", "p", source=self.source, color=P_COLOR, line_width=2, legend_label="p (target)",
                 **components.repaint_level())
        fig.line("x", "q", source=self.source, color=Q_COLOR, line_width=2.5, legend_label="q = N(μ, σ²)",
                 **components.repaint_level())
        legend = fig.legend[0]
        fig.center.remove(legend)
        legend.update(orientation="horizontal", location="top_left", background_fill_alpha=0.0,
                      border_line_alpha=0.0, label_text_font_size="11px", margin=0, padding=2,
                      **components.repaint_level())  # BokehJS repaints a legend with its glyphs' data: keep it off the primary
        fig.add_layout(legend, "above")
        set_ranges(fig, e.x, e.p_density)
        self.figure = fig
        # a Panel HTML pane, not a Bokeh Div: a Div re-renders on every text change and re-lays out the whole
        # page from its root (measured ~60 ms of the browser's time per slider step, most of the step's
        # latency); the pane only replaces its inner HTML
        self.readouts = components.HTML(readout_html(e), css_classes=["klpanel-readouts"], sizing_mode="stretch_width",
                                 margin=(5, 0))
        e.param.watch(self._update, ["x", "p_density", "q_density", "values"], precedence=1)  # after the optima

    def _data(self) -> dict:
        e = self.explorer
        return {"x": as_column(e.x), "p": as_column(e.p_density), **self._q_columns()}

    def _q_columns(self) -> dict:
        """q and the lower edge of both shaded regions, min(p, q)."""
        e = self.explorer
        return {"q": as_column(e.q_density), "lo": as_column(np.minimum(e.p_density, e.q_density))}

    def _update(self, *events):
        e = self.explorer
        changed = {ev.name for ev in events}
        with pn.io.hold():
            if changed & {"x", "p_density"}:
                self.source.data = self._data()
                set_ranges(self.figure, e.x, e.p_density)
            elif "q_density" in changed:  # a slider step: send only the two columns that moved
                self.source.data.update(self._q_columns())
            if "values" in changed:
                self.readouts.object = readout_html(e)

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## 3. Explore: move q yourself\nDrag μ and σ. Forward KL pays where p has mass "
                             "q lacks; reverse KL pays where q puts mass p lacks.", sizing_mode="stretch_width"),
            pn.Row(pn.Column(self.mu, self.sigma, self.readouts, width=320),
                   pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
