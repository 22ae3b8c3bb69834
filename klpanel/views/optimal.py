"""Section 1 — the optimal Gaussian q of each selected divergence, overlaid on p.

The plot is ``plots.optima`` served as a HoloViews pane of a DynamicMap bound to the explorer's ``optima``: it
changes on a target, selection or option change, not on every q step, so HoloViews' update cost is paid rarely.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn
import param

from .. import plots
from ..models.explorer import Explorer
from . import styles
from .chooser import DivergenceChooser
from .plotting import framewise, holoviews_pane, look_hook
from .target_controls import TargetControls

PLOT_NAME = "klpanel-optimal-plot"
#: the name of p's data source in the served page (tools and benchmarks watch its ``p`` column for a new target)
P_SOURCE_NAME = "klpanel-optimal-curves"


def name_p_source(plot, element):
    """Rename p's source (``klpanel-p`` in every picture) to :data:`P_SOURCE_NAME`, unique in the page."""
    for r in plot.state.renderers:
        if r.name == "klpanel-p":
            r.data_source.name = P_SOURCE_NAME


class OptimalSection(pn.viewable.Viewer):
    """Target controls, divergence chooser, and the plot of p with each divergence's optimal q."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        e = self.explorer
        self.controls = TargetControls(explorer=e)
        self.chooser = DivergenceChooser(explorer=e)
        self.picture = hv.DynamicMap(pn.bind(self._picture, e.param.optima))
        self.plot = holoviews_pane(self.picture)
        self.problems = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self._show_problems()
        e.param.watch(self._show_problems, ["problems"])

    def _picture(self, optima):
        """p and the optima on show (the explorer's, read from the shared optima cache)."""
        e = self.explorer
        picture = plots.optima(e.target, list(optima),
                               divergence_params={name: e.divergence_params(name) for name in optima})
        return framewise(picture).opts(hooks=[look_hook(PLOT_NAME), name_p_source])

    def _show_problems(self, *events):
        text = "; ".join(self.explorer.problems.values())
        self.problems.param.update(object=text, visible=bool(text))

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## 1. Optimal approximations\n"
                             "The best single Gaussian q under each divergence. Markers: every local "
                             "minimum over (μ, σ), drawn at its q's peak; the filled, larger one is global.",
                             sizing_mode="stretch_width"),
            styles.beside([self.controls, self.chooser], [self.plot, self.problems]),
            sizing_mode="stretch_width")
