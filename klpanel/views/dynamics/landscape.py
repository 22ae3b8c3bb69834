"""The loss landscape: the divergence over (μ, σ) as a heat map with its local minima, the runs' paths and
current positions, and the start marker; a click there moves the Explore q (the runs' start)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColorBar, ColumnDataSource, LogColorMapper, Range1d
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from ...numerics import divergences
from ...models.background import background_pool
from ...models.dynamics import MU_RANGE, SIGMA_RANGE, Dynamics
from .. import components
from ..plotting import Q_COLOR

PATH_COLUMNS = ("x0", "y0", "x1", "y1", "ly0", "ly1", "color", "width")
PATH_ROLLOVER = 20_000  # segments kept on the landscape
PATH_STEP = (0.03, 0.01)  # (mu, sigma) a run must move before its path gets a new segment
RESTART_COLOR = "#9a9a9a"
GLOBAL_COLOR = "#ff4d4d"
LOCAL_COLOR = "#ffffff"

WORKER = background_pool(1, "klpanel-landscape")


def restart_color(run) -> str:
    """A restart's marker: red on the global minimum, white on a local one, grey while moving."""
    i = run.minimum_index
    return RESTART_COLOR if i is None else GLOBAL_COLOR if i == 0 else LOCAL_COLOR


def refine_in_background(doc, apply, compute, done):
    """Compute the full landscape in a worker thread (the numerics release the GIL, the animation goes on)
    and hand it to the document's thread, where the Bokeh models may change."""
    def finished(future):
        if future.exception() is None and doc.session_context is not None:
            try:
                doc.add_next_tick_callback(partial(apply, done, future.result()))
            except Exception:  # the session went away meanwhile: nothing to show it to
                pass
    WORKER.submit(compute).add_done_callback(finished)


class LandscapePlot:
    """The landscape figure of :class:`~.section.DynamicsSection` (its sources, renderers and reactions)."""

    def _build_landscape(self):
        self.mapper = LogColorMapper(palette=Viridis256, low=0.1, high=10, nan_color=(0, 0, 0, 0))
        self.image_source = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []})
        self.minima_source = ColumnDataSource({"mu": [], "y": [], "label": [], "size": [], "color": []})
        fig = figure(height=430, sizing_mode="stretch_width", x_range=Range1d(*MU_RANGE),
                     y_range=Range1d(*SIGMA_RANGE), tools="tap,pan,wheel_zoom,reset,save", toolbar_location="above",
                     output_backend="canvas", x_axis_label="μ", y_axis_label="σ", name="dynamics-landscape")
        fig.toolbar.logo = None
        components.figure_hooks(fig)
        fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.image_source, color_mapper=self.mapper)
        fig.add_layout(ColorBar(color_mapper=self.mapper, width=10, title="D"), "right")
        # every run's path as segments (previous -> new position) in ONE source: one stream per frame. Paths and
        # current positions are on the overlay level (with the bokehjs speedup: clipped to the frame by its shim): a
        # frame repaints that layer only, not the heat map, the axes and the colour bar
        self.path_source = ColumnDataSource({k: [] for k in PATH_COLUMNS})
        self.path_renderer = fig.segment("x0", "y0", "x1", "y1", source=self.path_source, color="color",
                                         line_width="width", alpha=0.9, **components.repaint_level())
        self.now_source = ColumnDataSource({"mu": [], "sigma": [], "log_sigma": [], "color": [], "size": []},
                                           name="dynamics-now")
        self.now_renderer = fig.scatter("mu", "sigma", source=self.now_source, color="color", size="size",
                                        line_color="black", **components.repaint_level())
        self.minima_renderer = fig.scatter("mu", "y", source=self.minima_source, marker="star", size="size",
                                           color="color", line_color="black", **components.repaint_level())
        self.start_source = ColumnDataSource({"mu": [self.model.mu0], "sigma": [self.model.sigma0],
                                              "log_sigma": [np.log(self.model.sigma0)]})
        self.start_renderer = fig.scatter("mu", "sigma", source=self.start_source, marker="circle_x", size=13,
                                          fill_alpha=0, line_color=Q_COLOR, line_width=2, **components.repaint_level())
        fig.on_event(Tap, self._on_tap)
        self.landscape_figure = fig
        self._sent_path = {}

    def _y(self) -> str:
        return "log_sigma" if self.model.log_sigma else "sigma"

    def _on_grid(self, *events):
        g = self.model.landscape.grid
        finite = g.values[np.isfinite(g.values)]
        positive = finite[finite > 0]
        lo = float(positive.min()) if positive.size else 1e-3
        hi = float(finite.max()) if finite.size else 1.0
        fig = self.landscape_figure
        y0, y1 = float(g.y[0]), float(g.y[-1])
        label = divergences.REGISTRY[g.divergence].label
        with pn.io.hold():
            self.image_source.data = {"image": [np.where(np.isfinite(g.values), g.values, np.nan).astype(np.float32)],
                                      "x": [float(g.mu[0])], "y": [y0], "dw": [float(g.mu[-1] - g.mu[0])],
                                      "dh": [y1 - y0]}
            self.mapper.update(low=max(lo, hi * 1e-6, 1e-9), high=max(hi, lo * 1.01))
            ys = [np.log(m.sigma) if g.log_sigma else m.sigma for m in g.minima]
            self.minima_source.data = {"mu": [m.mu for m in g.minima], "y": ys,
                                       "label": [f"{m.value:.4g}" for m in g.minima],
                                       "size": [22 if i == 0 else 15 for i in range(len(g.minima))],
                                       "color": [GLOBAL_COLOR if i == 0 else LOCAL_COLOR for i in range(len(g.minima))]}
            fig.y_range.update(start=y0, end=y1)
            fig.yaxis.axis_label = "log σ" if g.log_sigma else "σ"
            note = "" if finite.size == g.values.size else " (blank: infinite)"
            fig.title.text = (f"Landscape of {label} over (μ, {fig.yaxis.axis_label}) — ★ local minima, red = "
                              f"global; click to start the runs there{note}")
            y = self._y()
            for r in (self.now_renderer, self.start_renderer):
                r.glyph.y = y
            self.path_renderer.glyph.update(y0="ly0" if y == "log_sigma" else "y0",
                                            y1="ly1" if y == "log_sigma" else "y1")

    def _apply_grid(self, done, grid):
        with pn.io.hold(self._doc):
            done(grid)

    def _on_tap(self, event):
        mu, sigma = Dynamics.clamp_start(event.x, np.exp(event.y) if self.model.log_sigma else event.y)
        self.explorer.q.param.update(mu=round(mu, 2), sigma=round(sigma, 2))

    def _extend_path(self, path, run, color, width):
        """Append the run's new path segments, thinned: a segment is drawn once the run has moved a visible
        distance (PATH_STEP of the axis spans) since the last drawn point, and always to a run's final point.
        This keeps the landscape's segment count (which the browser redraws and indexes every frame) to a few
        hundred per run however many steps it takes."""
        key = id(run.run)
        n = run.trajectory_length
        known = self._sent_path.get(key)
        sent, last = known if known is not None else (1, (run.mu0, max(run.sigma0, run.floor)))
        if n <= sent:
            return
        mus, sigmas = run.trajectory_since(sent, ("mu", "sigma"))
        x0, y0 = last
        finished = not run.active
        count = len(mus)
        for j, (x1, y1) in enumerate(zip(mus, sigmas)):
            if abs(x1 - x0) < PATH_STEP[0] and abs(y1 - y0) < PATH_STEP[1] and not (finished and j == count - 1):
                continue
            path["x0"].append(x0)
            path["y0"].append(y0)
            path["x1"].append(x1)
            path["y1"].append(y1)
            path["ly0"].append(math.log(y0))
            path["ly1"].append(math.log(y1))
            path["color"].append(color)
            path["width"].append(width)
            x0, y0 = x1, y1
        self._sent_path[key] = (n, (x0, y0))

    def _restart_html(self, restarts) -> str:
        counts = self.model.restart_summary(restarts)  # as on screen (the runs may be a few steps further)
        minima = restarts[0].optimum.local_minima if restarts else []
        parts = []
        for i, mn in enumerate(minima):
            k = counts.get(i, 0)
            tag = "global" if i == 0 else f"local {i + 1}"
            parts.append(f"{tag} (μ {mn.mu:.2f}, σ {mn.sigma:.2f}, D {mn.value:.3f}): <b>{k}</b>")
        pending = counts.get(None, 0)
        return (f'<div class="kl-restarts" data-pending="{pending}" style="font-size:12.5px">'
                f"<b>{len(restarts)} restarts</b> reached — " + "; ".join(parts)
                + (f"; still moving: {pending}" if pending else "")
                + " <span style='opacity:0.7'>(markers: red = global minimum, white = a local one, grey = moving)"
                  "</span></div>")
