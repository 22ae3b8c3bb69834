"""The α spectrum tab: p with the optimal q at the chosen α, and the optimal μ*, σ* against α."""

from __future__ import annotations

import math

import panel as pn
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool, Span

from ...numerics import divergences
from ...models import spectrum as sp
from .. import components
from ..plotting import P_COLOR, Q_COLOR, as_column, density_figure, set_ranges
from .curves import (NOTE_STYLE, broken_columns, curve_figure, gauss_curve, jumps_text, minima_columns,
                     optimum_text)
from .jobs import Job, ProgressBar


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
        self.density = dens
        lo, hi = sp.order_bounds(s.family)
        self.curve_source = ColumnDataSource(broken_columns(None), name="spectrum-curve")
        self.minima_source = ColumnDataSource(minima_columns(None), name="spectrum-minima")
        fig = curve_figure("optimal μ*, σ* against α (dots: local minima)", "α", (lo, hi), height=260)
        fig.y_range = DataRange1d()
        fig.scatter("t", "sigma", source=self.minima_source, size=4, color="#2ca02c", alpha=0.35)
        fig.scatter("t", "mu", source=self.minima_source, size=4, color="#1f77b4", alpha=0.35)
        mu = fig.line("t", "mu", source=self.curve_source, color="#1f77b4", line_width=3, legend_label="μ*")
        sig = fig.line("t", "sigma", source=self.curve_source, color="#2ca02c", line_width=3, legend_label="σ*")
        fig.add_tools(HoverTool(renderers=[mu, sig], tooltips=[("α", "@t{0.00}"), ("μ*", "@mu{0.000}"),
                                                               ("σ*", "@sigma{0.000}")]))
        fig.legend.background_fill_alpha = 0.0
        fig.add_layout(fig.legend[0], "right")
        for at in (0.0, 1.0):  # reverse KL (α → 0) and forward KL (α = 1) for the α-divergence
            fig.add_layout(Span(location=at, dimension="height", line_color="#9aa5b1", line_dash="dotted"))
        self.alpha_mark = Span(location=s.alpha, dimension="height", line_color=Q_COLOR, line_width=2)
        fig.add_layout(self.alpha_mark)
        self.alpha_figure = fig

    def _on_family(self, *events):
        lo, hi = sp.order_bounds(self.spectrum.family)
        self.alpha.param.update(start=lo, end=hi)
        self.alpha_figure.x_range.update(start=lo, end=hi)
        self.refresh_alpha()

    def refresh_alpha(self):
        target, family = self.explorer.target.copy(), self.spectrum.family
        self.alpha_job.run(lambda progress: sp.alpha_curve(target, family, progress=progress),
                           self._apply_alpha, f"the {divergences.REGISTRY[family].label} curve")

    def _apply_alpha(self, curve):
        self.alpha_curve = curve
        with pn.io.hold():
            self.curve_source.data = broken_columns(curve)
            self.minima_source.data = minima_columns(curve)
            self.alpha_jumps.object = jumps_text(curve, "α")
            self._show_alpha()

    def _show_alpha(self, *events):
        curve = self.alpha_curve
        self.alpha_mark.location = self.spectrum.alpha
        label = divergences.REGISTRY[self.spectrum.family].label
        if curve is None or len(curve.t) != self.spectrum.points:
            self.alpha_line.object = optimum_text(None, 0, label, "α", self._pending)
            return
        i = curve.at(self.spectrum.alpha)
        self.alpha_line.object = optimum_text(curve, i, label, "α")
        ok = math.isfinite(curve.mu[i])
        self.q_source.data = gauss_curve(curve.mu[i], curve.sigma[i]) if ok else {"x": [], "y": []}
