"""The α spectrum tab: p with the optimal q at the chosen α, and the optimal μ*, σ* against α.

The μ*, σ* plot is ``plots.spectrum`` of the computed curve, served as a HoloViews pane of a DynamicMap that
changes when a curve arrives; the α slider (20+ steps a second when dragged) moves its α mark and the density
plot's q by direct writes. The density plot (p and the optimal q at α; no ``klpanel.plots`` picture) is drawn by
hand.
"""

from __future__ import annotations

import math

import holoviews as hv
import panel as pn
from bokeh.models import ColumnDataSource

from ... import plots
from ...numerics import divergences
from ...models import spectrum as sp
from ...plots.style import P_COLOR, Q_COLOR
from .. import components
from ..plotting import as_column, density_figure, framewise, holoviews_pane, lean, look_hook, set_ranges, vline_spans
from .curves import NOTE_STYLE, empty_curve, gauss_curve, jumps_text, optimum_text
from .jobs import Job, ProgressBar

ALPHA_PLOT = "spectrum-alpha-plot"


class AlphaTab:
    """The α spectrum part of :class:`~.section.SpectrumSection`."""

    def _build_alpha(self):
        s, e = self.spectrum, self.explorer
        self.family = pn.widgets.RadioButtonGroup.from_param(
            s.param.family, options={divergences.REGISTRY[n].label: n for n in sp.SPECTRUM_FAMILIES},
            name="Family", color="primary")
        self.alpha = pn.widgets.FloatSlider.from_param(s.param.alpha, name="α", step=0.05,
                                                       sizing_mode="stretch_width")
        self.alpha_progress = ProgressBar()
        self.alpha_status = components.Markdown("", margin=(0, 10))
        self.alpha_job = Job(self, self.alpha_progress, self.alpha_status)
        self.alpha_line = components.Markdown("", sizing_mode="stretch_width")
        self.alpha_jumps = components.Markdown("", sizing_mode="stretch_width", styles=NOTE_STYLE)
        self.p_source = ColumnDataSource({"x": as_column(e.x), "p": as_column(e.p_density)}, name="spectrum-p")
        self.q_source = ColumnDataSource({"x": [], "y": []}, name="spectrum-q")
        dens = density_figure(height=260, title="p and the optimal q at the current α", name="spectrum-density")
        dens.varea("x", 0, "p", source=self.p_source, fill_color=P_COLOR, fill_alpha=0.35)
        dens.line("x", "p", source=self.p_source, color=P_COLOR, line_width=2, legend_label="p (target)")
        dens.line("x", "y", source=self.q_source, color=Q_COLOR, line_width=3, legend_label="optimal q")
        dens.legend.location = "top_right"
        dens.legend.background_fill_alpha = 0.6
        set_ranges(dens, e.x, e.p_density)
        self.density = lean(dens)
        self.alpha_marks = []  # the α mark of each drawn figure (a Bokeh Span)
        self.alpha_figure = None  # the μ*, σ* figure, once the pane has drawn it
        self.alpha_plot = holoviews_pane(hv.DynamicMap(pn.bind(self._alpha_picture, self.param.alpha_drawn)))

    def _alpha_picture(self, drawn):
        family, curve = drawn if drawn is not None else (self.spectrum.family, empty_curve())
        picture = plots.spectrum(self.explorer.target, family, curve=curve, alpha=self.spectrum.alpha)
        return framewise(picture).opts(toolbar="right", hooks=[look_hook(ALPHA_PLOT, self._alpha_drawn_on)])

    def _alpha_drawn_on(self, plot):
        self.alpha_figure = plot.state
        self.alpha_marks.append(vline_spans(plot)[-1])  # plots.spectrum draws α's mark last

    def _on_family(self, *events):
        lo, hi = sp.order_bounds(self.spectrum.family)
        self.alpha.param.update(start=lo, end=hi)
        self.refresh_alpha()

    def refresh_alpha(self):
        target, family = self.explorer.target.copy(), self.spectrum.family
        self.alpha_job.run(lambda progress: sp.alpha_curve(target, family, progress=progress),
                           self._apply_alpha, f"the {divergences.REGISTRY[family].label} curve")

    def _apply_alpha(self, curve):
        self.alpha_curve = curve
        with pn.io.hold():
            self.alpha_drawn = (self.spectrum.family, curve)
            self.alpha_jumps.object = jumps_text(curve, "α")
            self._show_alpha()

    def _show_alpha(self, *events):
        curve = self.alpha_curve
        for mark in self.alpha_marks:
            mark.location = self.spectrum.alpha
        label = divergences.REGISTRY[self.spectrum.family].label
        if curve is None or len(curve.t) != self.spectrum.points:
            self.alpha_line.object = optimum_text(None, 0, label, "α", self._pending)
            return
        i = curve.at(self.spectrum.alpha)
        self.alpha_line.object = optimum_text(curve, i, label, "α")
        ok = math.isfinite(curve.mu[i])
        self.q_source.data = gauss_curve(curve.mu[i], curve.sigma[i]) if ok else {"x": [], "y": []}
