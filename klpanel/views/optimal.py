"""Section 1 — the optimal Gaussian q of each selected divergence, overlaid on p.

The plot is ``plots.optima`` rendered once (again only when the divergences on show change) and then written
directly (``plots.densities.optima_columns``, float32) on a target or option change: re-rendering it through a
HoloViews pane cost hundreds of milliseconds per new target (figures in benchmarks/README.md). p's modes can be
dragged on it as on the Explore plot (:class:`.p_handles.PHandles`, put on every new figure; the optimal q's are
not draggable): a release edits the target and the optima follow.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from .. import plots
from ..models.explorer import Explorer
from ..models.family import FIXED
from ..plots.densities import optima_columns
from . import components, styles
from .chooser import DivergenceChooser
from .p_handles import PHandles
from .plotting import as_column, render, set_ranges, share_source, write_sources
from .target_controls import TargetControls

PLOT_NAME = "klpanel-optimal-plot"
#: the name of p's data source in the served page (tools and benchmarks watch its ``p`` column for a new target)
P_SOURCE_NAME = "klpanel-optimal-curves"


def _column(values):
    """Numbers as float32 (:func:`as_column`), text as it is."""
    values = np.asarray(values)
    return as_column(values) if values.dtype.kind in "fiu" else list(values)


def _finish(fig):
    """The rendered optima figure as the section writes it: p and every optimal q's curve in one source (named
    :data:`P_SOURCE_NAME`), and each minima glyph's size and fill read from its columns (HoloViews draws a constant
    one as a scalar, and a new target may bring more minima)."""
    curves = [r.name[len("klpanel-"):] for r in fig.renderers if (r.name or "").startswith("klpanel-optimum-")]
    share_source(fig, curves, into="p")
    plots.sources(fig)["p"].name = P_SOURCE_NAME
    for r in fig.renderers:
        if (r.name or "").startswith("klpanel-minima-"):
            r.glyph.update(size="size", fill_alpha="fill_alpha")
    return fig


class OptimalSection(pn.viewable.Viewer):
    """Target controls, divergence chooser, and the plot of p with each divergence's optimal q."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        e = self.explorer
        self.controls = TargetControls(explorer=e)
        self.chooser = DivergenceChooser(explorer=e)
        # the family of q: free (μ, σ), or σ fixed at σ₀ (optima, runs and landscape over μ alone)
        self.family = components.Buttons.from_param(e.param.family, color="primary", sizing_mode="stretch_width")
        self.sigma_fixed = components.Slider.from_param(e.param.sigma_fixed, throttled=True, visible=e.family == FIXED,
                                                        sizing_mode="stretch_width")
        e.param.watch(lambda event: setattr(self.sigma_fixed, "visible", event.new == FIXED), "family")
        self.figure, self.sources, self._shown = None, {}, None
        self.handles = PHandles(e, PLOT_NAME, "optimal", restore=self._restore_p)
        self._handles_key, self._p = None, {}  # the target the handles were written for; p's columns as written
        self.plot = pn.pane.Bokeh(sizing_mode="stretch_width")
        self._draw()
        self.problems = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self._show_problems()
        # precedence 0: the first section to follow a new target (the others watch with 1), so this message leaves first
        e.param.watch(self._draw, ["optima"])
        e.param.watch(self._show_problems, ["problems"])

    def _render(self, names, params):
        """``plots.optima`` of ``names`` as a Bokeh figure with the page's look; p's source renamed."""
        target = self.explorer.target
        fixed = self.explorer.fixed_sigma
        key = ("optima", target.key, tuple(names), repr(sorted(params.items())), fixed)
        fig = render(lambda: plots.optima(target, names, divergence_params=params, sigma_fixed=fixed), PLOT_NAME,
                     key=key, finish=_finish)
        self.sources = plots.sources(fig)
        return styles.fit_figure(fig)

    def _draw(self, *events):
        """Re-render on a change of the divergences on show, else write every source and the y-range."""
        e = self.explorer
        names = list(e.optima)
        params = {name: e.divergence_params(name) for name in names}
        columns = optima_columns(e.target, names, divergence_params=params, sigma_fixed=e.fixed_sigma)
        shown = [key for key in columns if key.startswith("optimum-")]
        with pn.io.hold():
            if shown != self._shown:
                self.figure, self._shown = self._render(names, params), shown
                self.handles.attach(self.figure, self.sources["p"], area=self.sources["p-area"])
                self.plot.object = self.figure
            elif e.target.key != self._handles_key:  # a new target (not a q step, nor a divergence's option)
                self.handles.write()
            self._handles_key = e.target.key
            write_sources(self.sources, {key: {c: _column(v) for c, v in data.items()} for key, data in columns.items()})
            self._p = {k: dict(self.sources[k].data) for k in ("p", "p-area")}
            x = columns["p"]["x"]
            set_ranges(self.figure, x, columns["p"]["p"], *(columns[k][k[len("optimum-"):]] for k in shown))

    def _restore_p(self):
        """p's curve and area as last written (the browser drew a refused drag)."""
        for key, data in self._p.items():
            self.sources[key].data.update(data)  # a patch: sent even though the server's columns did not change

    def _show_problems(self, *events):
        text = "; ".join(self.explorer.problems.values())
        self.problems.param.update(object=text, visible=bool(text))

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## 1. Optimal approximations\n"
                             "The best single Gaussian q under each divergence. Markers: every local "
                             "minimum over (μ, σ) — over μ alone when σ is fixed at σ₀ — drawn at its q's peak; "
                             "the filled, larger one is global. Drag a mode of p (○: sideways its mean, up and down its "
                             "weight; ◇: its σ) or double-click to add one: the optima follow.",
                             sizing_mode="stretch_width"),
            styles.beside([self.controls, self.family, self.sigma_fixed, self.chooser],
                          [self.plot, self.handles.message, self.problems]),
            sizing_mode="stretch_width")
