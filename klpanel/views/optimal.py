"""Section 1 — the optimal Gaussian q of each selected divergence, overlaid on p.

One ``ColumnDataSource`` holds p and a column per registry divergence (the global optimum's density);
a second holds every local minimum as a marker (the global one filled and larger). A target change
replaces the sources' data once, inside one ``pn.io.hold()``.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem

from ..numerics import divergences
from ..models.explorer import Explorer, normal_pdf
from .chooser import DivergenceChooser
from .plotting import COLORS, DASHES, P_COLOR, as_column, density_figure, set_ranges
from .target_controls import TargetControls

MARKER_FIELDS = ("mu", "height", "sigma", "value", "label", "kind", "color", "size", "fill")


def minima_markers(explorer: Explorer) -> dict:
    """Marker columns for every local minimum of the selected divergences, at (μ, peak of that q)."""
    cols = {k: [] for k in MARKER_FIELDS}
    for name, best in explorer.optima.items():
        for i, m in enumerate(best.local_minima):
            cols["mu"].append(m.mu)
            cols["height"].append(float(normal_pdf(m.mu, m.mu, m.sigma)))
            cols["sigma"].append(m.sigma)
            cols["value"].append(m.value)
            cols["label"].append(divergences.REGISTRY[name].label)
            cols["kind"].append("global minimum" if i == 0 else "local minimum")
            cols["color"].append(COLORS[name])
            cols["size"].append(14 if i == 0 else 9)
            cols["fill"].append(1.0 if i == 0 else 0.0)
    return {k: np.asarray(v) for k, v in cols.items()}  # arrays: Bokeh validates lists item by item


class OptimalSection(pn.viewable.Viewer):
    """Target controls, divergence chooser, and the plot of p with each divergence's optimal q."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        e = self.explorer
        self.controls = TargetControls(explorer=e)
        self.chooser = DivergenceChooser(explorer=e)
        self.curves = ColumnDataSource(self._curve_data(), name="klpanel-optimal-curves")
        self.markers = ColumnDataSource(minima_markers(e), name="klpanel-optimal-minima")
        fig = density_figure(title="p and the optimal Gaussian q of each divergence", name="klpanel-optimal-plot")
        fig.varea("x", 0, "p", source=self.curves, fill_color=P_COLOR, fill_alpha=0.35)
        p_line = fig.line("x", "p", source=self.curves, color=P_COLOR, line_width=2)
        items = [LegendItem(label="p (target)", renderers=[p_line])]
        self.lines = {}
        for name, d in divergences.REGISTRY.items():
            line = fig.line("x", name, source=self.curves, color=COLORS[name], line_width=2.5,
                            line_dash=DASHES[name],
                            visible=name in e.optimal_densities)
            self.lines[name] = line
            items.append(LegendItem(label=f"optimal q, {d.label}", renderers=[line], visible=line.visible))
        dots = fig.scatter("mu", "height", source=self.markers, size="size", line_color="color",
                           fill_color="color", fill_alpha="fill", line_width=2)
        fig.add_tools(HoverTool(renderers=[dots], tooltips=[
            ("", "@label @kind"), ("μ", "@mu{0.000}"), ("σ", "@sigma{0.000}"), ("value", "@value{0.0000}")]))
        self.legend = Legend(items=items, location="top_right", click_policy="hide",
                             background_fill_alpha=0.6, label_text_font_size="11px")
        fig.add_layout(self.legend)
        set_ranges(fig, e.x, e.p_density, *e.optimal_densities.values())
        self.figure = fig
        self.problems = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self._show_problems()
        # precedence 0: the first of the sections to follow a new target (the others watch with 1), so the
        # optima plot's message leaves first
        e.param.watch(self._update, ["x", "p_density", "optimal_densities", "optima", "problems"])

    def _curve_data(self) -> dict:
        e = self.explorer
        data = {"x": as_column(e.x), "p": as_column(e.p_density)}
        zeros = np.zeros_like(data["x"])
        for name in divergences.REGISTRY:
            data[name] = as_column(e.optimal_densities[name]) if name in e.optimal_densities else zeros
        return data

    def _show_problems(self):
        text = "; ".join(self.explorer.problems.values())
        self.problems.param.update(object=text, visible=bool(text))

    def _update(self, *events):
        e = self.explorer
        with pn.io.hold():
            self.curves.data = self._curve_data()
            self.markers.data = minima_markers(e)
            for item, (name, line) in zip(self.legend.items[1:], self.lines.items()):
                line.visible = item.visible = name in e.optimal_densities
            set_ranges(self.figure, e.x, e.p_density, *e.optimal_densities.values())
            self._show_problems()

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## 1. Optimal approximations\n"
                             "The best single Gaussian q under each divergence. Markers: every local "
                             "minimum over (μ, σ), drawn at its q's peak; the filled, larger one is global.",
                             sizing_mode="stretch_width"),
            pn.Row(pn.Column(self.controls, self.chooser, width=320),
                   pn.Column(pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"), self.problems,
                             sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
