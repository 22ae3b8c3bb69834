"""The loss landscape: the divergence over (μ, σ) as a heat map with its local minima (``plots.landscape`` of the
model's grid, rendered once per divergence and σ axis; a new grid of the same kind, as every new target brings, is
written into its sources (``plots.landscape_data``): a HoloViews update of the image cost ~0.1 s of server time on
the path of every new target), with the runs' paths, current positions and start drawn on it by hand and written
directly at every frame (30 a second); a click there moves the Explore q (the runs' start)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, CustomJSTransform, LogColorMapper, Span, TapTool
from bokeh.transform import transform

from ... import plots
from ...models.background import background_pool
from ...models.dynamics import Dynamics
from ...plots.style import GLOBAL_COLOR, LOCAL_COLOR, Q_COLOR, RESTART_COLOR
from .. import components
from .. import styles
from ..plotting import lean, render

PATH_COLUMNS = ("x0", "y0", "x1", "y1", "ly0", "ly1", "color", "width")
PATH_ROLLOVER = 20_000  # segments kept on the landscape
PATH_STEP = (0.03, 0.01)  # (mu, sigma) a run must move before its path gets a new segment
FIGURE_NAME = "dynamics-landscape"
CLICK_HINT = "; click to start the runs there"

WORKER = background_pool(1, "klpanel-landscape")

#: In the fixed-σ family each run's marker sits on its divergence's curve: its height is read in the browser from
#: the curves' source (``lookup``: ``mu`` and one column per divergence) at the run's μ (row i of ``dynamics-now`` is
#: run i, whose divergence is row i of ``rows``), so a frame sends nothing more than the positions it sends anyway.
CURVE_Y_JS = """
const names = rows.data["name"], mu = lookup.data["mu"], n = mu.length;
const out = new Float64Array(xs.length);
for (let i = 0; i < xs.length; i++) {
  const ys = lookup.data[names[i]];
  if (ys === undefined || n < 2) { out[i] = NaN; continue; }
  const t = Math.min(Math.max((xs[i] - mu[0]) / (mu[n - 1] - mu[0]) * (n - 1), 0), n - 1);
  const j = Math.min(Math.floor(t), n - 2), f = t - j;
  out[i] = ys[j] * (1 - f) + ys[j + 1] * f;
}
return out;
"""


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
        self.landscape_figure = None  # the Bokeh figure (``plots.landscape`` rendered)
        self._drawn_kind = None  # (divergence, log σ, with minima) of the grid the figure was rendered from
        self.landscape_pane = pn.pane.Bokeh(sizing_mode="stretch_width")
        # every run's path as segments (previous -> new position) in ONE source: one stream per frame
        self.path_source = ColumnDataSource({k: [] for k in PATH_COLUMNS})
        self.now_source = ColumnDataSource({"mu": [], "sigma": [], "log_sigma": [], "color": [], "size": []},
                                           name="dynamics-now")
        self.start_source = ColumnDataSource({"mu": [self.model.mu0], "sigma": [self.model.sigma0],
                                              "log_sigma": [np.log(self.model.sigma0)]})
        self._sent_path = {}
        self.curve_figure = None  # the fixed-σ family's picture (``plots.mu_landscape``), drawn instead
        self._curves_key = None  # which curves it was rendered from
        self.curve_lookup = ColumnDataSource({"mu": []}, name="dynamics-curves")
        self.curve_rows = ColumnDataSource({"name": []}, name="dynamics-curve-rows")

    def drawn_sources(self) -> list:
        """The runs' sources drawn on the landscape figure and written at each frame (a notebook's outputs keep
        them in their shared document, :meth:`~.section.DynamicsSection.show_in`)."""
        return [self.path_source, self.now_source, self.start_source, self.curve_lookup, self.curve_rows]

    def _show_grid(self, grid) -> None:
        """Draw ``grid``: rendered anew for another divergence or σ axis (or the first grid with minima after a
        preview without), else written into the figure's sources, colour range, title and axis ranges."""
        with_minima = bool(grid.minima)
        kind = (grid.divergence, grid.log_sigma)
        drawn = self._drawn_kind
        if drawn is None or drawn[:2] != kind or (with_minima and not drawn[2]):
            self._render_landscape(grid)
            self._drawn_kind = (*kind, with_minima)
            return
        data, fig, sources = plots.landscape_data(grid), self.landscape_figure, self._landscape_sources
        sources["landscape"].data = data["landscape"]
        sources["landscape-minima"].data = data["landscape-minima"]
        self._color_mapper.update(low=data["clim"][0], high=data["clim"][1])
        fig.title.text = data["title"] + CLICK_HINT
        fig.x_range.update(start=data["xlim"][0], end=data["xlim"][1])
        fig.y_range.update(start=data["ylim"][0], end=data["ylim"][1])

    def _render_landscape(self, grid) -> None:
        # rendered once per process for a grid (its target, divergence, axes and values), then copied per session
        key = ("landscape", self.model.target.key, grid.divergence, repr(sorted(grid.params.items())), grid.log_sigma,
               grid.values.shape, hash(grid.values.tobytes()), hash(grid.mu.tobytes()), hash(grid.y.tobytes()),
               repr(grid.minima))
        target = self.model.target
        fig = render(lambda: plots.landscape(target, grid.divergence, grid=grid), FIGURE_NAME, key=key)
        styles.fit_figure(fig)
        fig.title.text += CLICK_HINT
        # found once: a walk over the figure's models costs milliseconds, a write microseconds
        self._landscape_sources, self._color_mapper = plots.sources(fig), fig.select_one(LogColorMapper)
        # the minima's colour and size read their columns, which every later grid writes (HoloViews makes them
        # constants when a grid has one minimum or none)
        minima = next(r for r in fig.renderers if r.data_source is self._landscape_sources["landscape-minima"])
        minima.data_source.data = plots.landscape_data(grid)["landscape-minima"]
        minima.glyph.update(fill_color="color", size="size")
        self._draw_runs(fig)
        self.landscape_pane.object = fig

    def _draw_runs(self, fig):
        """The runs on the landscape figure: paths and current positions on the repaint level (with the bokehjs
        speedup: clipped to the frame by its shim), so a frame repaints that layer only, not the heat map, the axes
        and the colour bar; a tap moves the start."""
        y = self._y()
        self.path_renderer = fig.segment("x0", "y0", "x1", "y1", source=self.path_source, color="color",
                                         line_width="width", alpha=0.9, **components.repaint_level())
        self.now_renderer = fig.scatter("mu", y, source=self.now_source, color="color", size="size",
                                        line_color="black", **components.repaint_level())
        self.start_renderer = fig.scatter("mu", y, source=self.start_source, marker="circle_x", size=13,
                                          fill_alpha=0, line_color=Q_COLOR, line_width=2,
                                          **components.repaint_level())
        self._set_path_fields()
        lean(fig)
        fig.add_tools(TapTool())
        fig.on_event(Tap, self._on_tap)
        self.landscape_figure = fig

    @property
    def image_source(self):
        """The heat map's data source (``plots.landscape``'s)."""
        return self._landscape_sources["landscape"]

    @property
    def minima_source(self):
        """The local minima's data source (``plots.landscape``'s)."""
        return self._landscape_sources["landscape-minima"]

    def _y(self) -> str:
        return "log_sigma" if self.model.log_sigma else "sigma"

    def _set_path_fields(self):
        y = self._y()
        for r in (self.now_renderer, self.start_renderer):
            r.glyph.y = y
        self.path_renderer.glyph.update(y0="ly0" if y == "log_sigma" else "y0", y1="ly1" if y == "log_sigma" else "y1")

    # -- the fixed-σ family: the landscape is a curve of each divergence over μ ----------------------------------------
    def _show_curves(self, *events) -> None:
        """Draw ``plots.mu_landscape`` of the runs' and the landscape's divergences at σ₀ (rendered again only when
        those curves change), the runs as markers on their curves and the start as a dashed line; a tap moves the
        Explore q's μ."""
        m = self.model
        curves = m.curves()
        if not curves:
            return
        with pn.io.hold():
            self.curve_rows.data = {"name": [r.divergence for r in m.all_runs]}
            key = tuple((name, id(c)) for name, c in curves.items())  # cached curves: the same object, same curve
            # (a figure the page showed once is not shown again: Panel then fails on the stylesheets it added)
            if self.landscape_pane.object is self.curve_figure and key == self._curves_key:
                self._start_span.location = m.mu0
                return
            self.curve_lookup.data = {"mu": np.asarray(next(iter(curves.values())).mu),
                                      **{name: np.asarray(c.values) for name, c in curves.items()}}
            fig = render(plots.mu_landscape(m.target, list(curves), curves=curves.values()), FIGURE_NAME)
            styles.fit_figure(fig)
            fig.title.text += CLICK_HINT.replace("there", "at that μ")
            y = transform("mu", CustomJSTransform(args={"rows": self.curve_rows, "lookup": self.curve_lookup},
                                                  v_func=CURVE_Y_JS))
            fig.scatter("mu", y, source=self.now_source, color="color", size="size", line_color="black",
                        name="klpanel-curve-now", **components.repaint_level())
            self._start_span = Span(location=m.mu0, dimension="height", line_color=Q_COLOR, line_dash="dashed",
                                    line_width=2)
            fig.add_layout(self._start_span)
            lean(fig)
            fig.add_tools(TapTool())
            fig.on_event(Tap, self._on_curve_tap)
            self.curve_figure, self._curves_key = fig, key
            self.landscape_pane.object = fig

    def _show_landscape(self) -> None:
        """The picture of the model's family: the curves over μ (fixed σ) or the (μ, σ) heat map."""
        if self.model.sigma_fixed is not None:
            self._show_curves()
        elif self.landscape_figure is None or self.landscape_pane.object is not self.landscape_figure:
            self._drawn_kind = None  # rendered anew (see _show_curves)
            self._on_grid()

    def _on_curve_tap(self, event):
        mu, _ = Dynamics.clamp_start(event.x, self.model.sigma_fixed)
        self.explorer.q.mu = round(mu, 2)

    def _on_grid(self, *events):
        """A new grid: the heat map and its minima (:meth:`_show_grid`), the runs on the grid's σ or log σ axis."""
        if self.model.landscape.grid is None or self.model.sigma_fixed is not None:
            return  # (the fixed-σ family shows its curves: :meth:`_show_curves`)
        with pn.io.hold():
            self._show_grid(self.model.landscape.grid)
            self._set_path_fields()

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
