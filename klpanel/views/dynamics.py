"""Section 4 — optimisation dynamics: side-by-side runs animated on a live loss landscape.

One periodic callback per session drives every run (``Dynamics.advance``: one batched library call per step;
``components.Ticker``). It starts when the page has loaded (``pn.state.onload``)
and stops on Pause, when every run has converged and is shown so, when no browser is connected and when the
session is destroyed. The animation steps the runs ``LOOKAHEAD_STEPS`` steps at a time and shows them one
frame's worth per tick (``Run.frame``); Pause shows where the runs are. A frame only streams the new trajectory points
and replaces a few short columns of Bokeh ``ColumnDataSource``s, all held and sent as one websocket message
(``pn.io.hold()``); nothing is rebuilt per frame.
"""

from __future__ import annotations

import html
import math
import os
import time
from functools import partial

import numpy as np
import panel as pn
import param
from bokeh.core.property.validation import validate
from bokeh.events import Tap
from bokeh.layouts import column
from bokeh.models import (ColorBar, ColumnDataSource, CustomJS, CustomJSTransform, Label, LabelSet, LogColorMapper,
                          Range1d)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure
from bokeh.transform import transform

from ..numerics import divergences
from ..models.background import background_pool
from ..models.dynamics import MU_RANGE, SIGMA_RANGE, Dynamics
from ..models.explorer import Explorer, format_value
from ..models.optimizers import OPTIMIZERS
from .deferred import Deferred, served_doc
from . import components
from .plotting import COLORS, P_COLOR, Q_COLOR, density_figure, set_ranges

PATH_COLUMNS = ("x0", "y0", "x1", "y1", "ly0", "ly1", "color", "width")
PATH_ROLLOVER = 20_000  # segments kept on the landscape
PATH_STEP = (0.03, 0.01)  # (mu, sigma) a run must move before its path gets a new segment
#: q's shape on a fixed z grid, drawn by every card as x = mu + sigma z, y = phi(z) / sigma (Q_X_JS, Q_Y_JS),
#: flat to far beyond the plot's edges (the overlay layer clips it to the frame)
Q_Z = np.linspace(-4.5, 4.5, 61)
Q_SHAPE = {"z": np.concatenate([[-1e4], Q_Z, [1e4]]),
           "phi": np.concatenate([[0.0], np.exp(-0.5 * Q_Z**2) / math.sqrt(2 * math.pi), [0.0]])}
#: The cards' q curves are computed in the browser from the run positions the landscape already receives
#: (``now``, the ``dynamics-now`` source; card ``i`` is its row ``i``): a frame sends (mu, sigma) per run instead
#: of 63 points per card and per axis (measured: server CPU and websocket frames per frame both fall).
_RUN_I_JS = """const m = now.get_column("mu"), s = now.get_column("sigma");
const ok = m != null && s != null && i < m.length;
"""  # run i's (mu, sigma), if the page has it yet
Q_X_JS = _RUN_I_JS + "return xs.map(z => ok ? m[i] + s[i] * z : NaN);"
Q_Y_JS = _RUN_I_JS + "return xs.map(f => ok ? f / s[i] : NaN);"
ROLLOVER = 5000  # points kept per streamed curve
RESET_DELAY_MS = 200  # the runs restart from the Explore q once it has rested this long
#: the section follows a new target once it has rested this long: the optima's message leaves and is painted first,
#: and targets changed in quick succession (~0.1 s of server CPU each for the landscape) cost one follow, not each
FOLLOW_DELAY_MS = 150
RESTART_COLOR = "#9a9a9a"
GLOBAL_COLOR = "#ff4d4d"
LOCAL_COLOR = "#ffffff"
CARD_WIDTH = 340
TICK_BUDGET = 0.4  # share of the callback period the stepping may use
#: the animation steps the runs this many steps ahead at once (spread over the frames that show them): the
#: numerics run once for several frames while their code is warm in the CPU's caches. Served, between two ticks
#: the caches go cold, and one cold step cost as much as three warm ones (four runs: 1.0 ms a step cold,
#: 0.65 ms a frame with four steps at once). An optimizer setting changed while playing (it does not restart the
#: runs) shows from the next steps computed: at most LOOKAHEAD_STEPS - 1 frames (~0.1 s) later
LOOKAHEAD_STEPS = 4
SLOW_EVERY = 5  # readouts and loss curves refresh every 5th frame (6 Hz at 30 fps): text can't be read faster,
# and their label, range and stream changes were a third of a frame's server work at every 3rd frame

WORKER = background_pool(1, "klpanel-landscape")


def _fixed(value: float) -> str:
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


def readout_lines(run) -> tuple[str, str, str, str]:
    """The run's readout as three short lines and the status colour (drawn as canvas labels: changing
    them repaints one plot and never triggers a page layout)."""
    d = divergences.REGISTRY[run.divergence]
    head = f"{d.label}   step {run.n_steps}"
    state = f"μ = {_fixed(run.mu)}   σ = {_fixed(run.sigma)}   loss = {format_value(run.loss)}"
    if run.converged:
        i = run.minimum_index
        n = len(run.optimum.local_minima)
        where = ("the global minimum" if i == 0 else f"local min {i + 1} of {n} (not global)"
                 if i is not None else "a stationary point")
        return head, state, f"converged: {where}", "#2ca02c" if i == 0 else "#ff7f0e"
    if run.status == "stopped":
        return head, state, run.message[:70], "#d62728"
    return head, state, f"running   |∇D| = {run.grad_norm:.2g}", "#7f8c99"


def ruler(lo: float, hi: float, top: float) -> dict:
    """Tick labels for x in [lo, hi] (about 7, at 1, 2 or 5 times a power of ten), placed just above y = 0."""
    raw = (hi - lo) / 8
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = np.arange(math.ceil(lo / step) * step, hi, step)
    ticks = ticks[(ticks > lo + 0.3 * step) & (ticks < hi - 0.3 * step)]
    return {"x": ticks.tolist(), "y": [0.01 * top] * len(ticks), "text": [f"{t:g}" for t in ticks]}


def fit_density(fig, explorer, labels, ticks=None):
    """The explorer's ranges, with head room above p for the three readout lines placed at its top left, and
    the x ruler's labels (``ticks``, a ColumnDataSource) for the new range."""
    set_ranges(fig, explorer.x, explorer.p_density)
    top = round(fig.y_range.end * 1.6, 3)
    fig.y_range.end = top
    x0 = float(fig.x_range.start) + 0.02 * float(fig.x_range.end - fig.x_range.start)
    for k, label in enumerate(labels):
        label.update(x=x0, y=top * (0.985 - 0.095 * k))
    if ticks is not None:
        ticks.data = ruler(float(fig.x_range.start), float(fig.x_range.end), top)


def banner(text: str, color: str = Q_COLOR) -> str:
    return (f'<div class="kl-dynamics-status" style="padding:4px 10px;border-left:4px solid {color};'
            f'background:rgba(128,128,128,0.12)">{html.escape(text)}</div>')


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


class RunPanel:
    """One run's card: p with the current q, the readout, and the loss-vs-step curve (plain Bokeh models)."""

    def __init__(self, section: "DynamicsSection", index: int, run, p_source):
        self.section, self.index = section, index
        color = COLORS[run.divergence]
        e = section.explorer
        self.loss_source = ColumnDataSource({"step": [], "loss": []})
        # a fixed view (no tools): what changes per frame - q and the readout - lives on the overlay layer,
        # so a frame repaints only that layer; p, the grid and the ruler are painted when the target changes
        dens = density_figure(height=230, title=None, tools="")
        # no axes: Bokeh re-measures every axis' labels whenever a plot's data changes (to see whether the layout
        # must change), which for four cards at 30 frames a second was the browser's largest cost (measured:
        # 14 -> 20 frames painted per second without them); x is read off a ruler of labels drawn with p instead
        dens.xaxis.visible = dens.yaxis.visible = False
        dens.min_border_bottom = dens.min_border_left = 4
        self.ticks = ColumnDataSource({"x": [], "y": [], "text": []})
        dens.add_layout(LabelSet(x="x", y="y", text="text", source=self.ticks, text_font_size="10px",
                                 text_color="#8c8c8c", text_align="center", text_baseline="bottom"))
        dens.toolbar_location = None
        dens.width, dens.sizing_mode = CARD_WIDTH - 12, "fixed"
        dens.varea("x", 0, "p", source=p_source, fill_color=P_COLOR, fill_alpha=0.3)
        dens.line("x", "p", source=p_source, color=P_COLOR, line_width=1.5)
        now = section.now_source
        dens.line(x=transform("z", CustomJSTransform(args={"now": now, "i": index}, v_func=Q_X_JS)),
                  y=transform("phi", CustomJSTransform(args={"now": now, "i": index}, v_func=Q_Y_JS)),
                  source=section.q_shape, color=color, line_width=2.5, **components.repaint_level(), name=f"run-{index}-q")
        # ranges set here on the frames that stream loss points (_fit_loss): a DataRange1d would be computed
        # by the browser on every stream, re-checking the page's layout, and synced back to the server as a
        # message per change (each costing the server a pass over the whole document)
        loss = figure(height=130, width=CARD_WIDTH - 12, x_range=Range1d(0, 10), y_range=Range1d(0, 1),
                      tools="", toolbar_location=None, output_backend="canvas",
                      x_axis_label="step", y_axis_label="loss")
        loss.line("step", "loss", source=self.loss_source, color=color, line_width=2)
        loss.yaxis.ticker.desired_num_ticks = 3
        # vertical tick labels: the axis' width no longer follows the labels' text, whose change would
        # re-layout the whole page (Bokeh lays out from the root) several times a second
        loss.yaxis.major_label_orientation = "vertical"
        loss.xaxis.ticker.desired_num_ticks = 4
        loss.background_fill_alpha = dens.background_fill_alpha = 0.0
        loss.border_fill_alpha = 0.0
        loss.grid.grid_line_alpha = 0.25
        self.density, self.loss = dens, loss
        # data-positioned labels (placed by fit_density): frame-relative (Node) positions make every repaint
        # ask for a layout, which in the full page costs the browser tens of ms per frame
        self.labels = [Label(x=0, y=0, anchor="top_left", text="", text_font_size=size, text_color=c,
                             name=f"run-{index}-line-{k}", **components.repaint_level())
                       for k, (size, c) in enumerate([("13px", color), ("12px", "#8c8c8c"), ("12px", "#7f8c99")])]
        for label in self.labels:
            dens.add_layout(label)
        fit_density(dens, e, self.labels, self.ticks)
        self._set_labels(run)
        self.remove = pn.widgets.Button(label="✕ remove", color="light", width=90, height=30)
        self.remove.on_click(lambda event: section.model.remove_run(self.index))
        self.sent = 0
        self.loss_lo, self.loss_hi = math.inf, -math.inf  # finite losses streamed since the reset
        self.view = pn.Column(pn.pane.Bokeh(column(dens, loss)), self.remove, width=CARD_WIDTH,
                              styles={"border": "1px solid rgba(128,128,128,0.35)", "border-radius": "6px",
                                      "padding": "4px"})

    def push(self, run, full=False, slow=True) -> None:
        """Send what changed since the last frame: the new loss points and the readout, only on ``slow`` frames
        (and when the run has finished), which keeps the browser's work per frame small. (q follows the
        section's ``now_source``, sent every frame.)"""
        if full:
            self.sent = 0
            self.loss_source.data = {"step": [], "loss": []}
            self.loss_lo, self.loss_hi = math.inf, -math.inf
            self.loss.x_range.end = 10.0
        n = run.trajectory_length
        if n > self.sent and (slow or full or not run.active):
            new = run.trajectory_since(self.sent)
            self.loss_source.stream({"step": new["step"], "loss": new["loss"]}, rollover=ROLLOVER)
            self.sent = n
            self._fit_loss(new["loss"], n)
            self._set_labels(run)

    def _fit_loss(self, new_loss, n_steps):
        """Grow the loss plot's ranges to the finite losses seen since the reset (5 % margins): they only change
        when a new point falls outside, and the step axis in doubling stretches."""
        finite = np.asarray(new_loss, dtype=float)
        finite = finite[np.isfinite(finite)]
        x_end = max(10.0, float(self.loss.x_range.end))
        while x_end < n_steps:
            x_end *= 2
        if x_end != self.loss.x_range.end:
            self.loss.x_range.end = x_end
        if finite.size:
            self.loss_lo = min(self.loss_lo, float(finite.min()))
            self.loss_hi = max(self.loss_hi, float(finite.max()))
            pad = 0.05 * (self.loss_hi - self.loss_lo) or 0.05 * max(abs(self.loss_hi), 1e-3)
            y = self.loss.y_range
            if (y.start, y.end) != (self.loss_lo - pad, self.loss_hi + pad):
                y.update(start=self.loss_lo - pad, end=self.loss_hi + pad)

    def _set_labels(self, run):
        head, state, status, color = readout_lines(run)
        self.labels[0].text, self.labels[1].text, self.labels[2].text = head, state, status
        self.labels[2].text_color = color


class DynamicsSection(pn.viewable.Viewer):
    """Optimisation dynamics for the app's Explorer: runs start at the Explore section's q on its target."""

    explorer = param.ClassSelector(class_=Explorer, doc="The app's Explorer model")
    autoplay = param.Boolean(default=os.environ.get("KLPANEL_AUTOPLAY", "1") != "0",
                             doc="Start animating as soon as the page has loaded (environment variable "
                                 "KLPANEL_AUTOPLAY=0 turns it off, e.g. for browser tests of other sections)")

    def __init__(self, **params):
        params.setdefault("explorer", Explorer())
        super().__init__(**params)
        e = self.explorer
        # the runs' own copy of the target, brought up to date by _on_p (served: after the change's first message)
        self.model = Dynamics(target=e.target.copy(), mu0=e.q.mu, sigma0=e.q.sigma,
                              divergence_params=self._explorer_params())
        self._callback = None
        self._doc = None
        self._frame_ms = []  # server time of recent frames (benchmarks and tests read it)
        self._frames = 0
        self._shown: dict = {}  # id(run) -> (run, trajectory entries on screen), while the animation lags the runs
        self._ticks: list[float] = []  # times of this second's ticks (_pace)
        self._restart_later = Deferred(self._restart_from_q, RESET_DELAY_MS)
        self._follow_later = Deferred(self._follow_target, FOLLOW_DELAY_MS)
        self._build_widgets()
        self._build_landscape()
        self.p_source = ColumnDataSource({"x": e.x.astype(np.float32), "p": e.p_density.astype(np.float32)})
        self.panels: list[RunPanel] = []
        self.q_shape = ColumnDataSource(Q_SHAPE, name="dynamics-q-shape")
        # new run positions redraw every card's q (its transforms read them): one signal, no data sent
        self.now_source.js_on_change("data", CustomJS(args={"shape": self.q_shape}, code="shape.change.emit();"))
        self.cards = pn.FlexBox(sizing_mode="stretch_width", gap="8px")
        self.status = components.HTML("", sizing_mode="stretch_width")
        self._rebuild_panels()
        self._on_grid()
        self._full_push()
        e.q.param.watch(self._on_q, ["mu", "sigma"])
        e.param.watch(self._on_p, ["p_density"], precedence=1)
        e.options.param.watch(self._on_options, [p for p in e.options.param if p != "name"])
        self.model.param.watch(self._on_generation, ["generation"])
        self.model.param.watch(self._on_fps, ["fps"])
        self.model.param.watch(self._on_optimizer, ["optimizer"])
        self.model.landscape.param.watch(self._on_grid, ["grid"])
        if served_doc() is not None:
            self._doc = served_doc()  # this session's document, for the deferred follow-ups below
            self.model.landscape.defer = partial(refine_in_background, self._doc, self._apply_grid)
            pn.state.onload(self._on_load)
            pn.state.on_session_destroyed(self._on_session_destroyed)

    # -- explorer -> model ------------------------------------------------------------------------------
    def _explorer_params(self) -> dict:
        return {name: self.explorer.divergence_params(name) for name in divergences.REGISTRY}

    def _on_q(self, *events):
        """The runs restart from the Explore q once it has rested RESET_DELAY_MS: a drag repaints the Explore
        section at once and resets the runs once, instead of every run, card and path on every step."""
        self._restart_later(self._doc)

    def _restart_from_q(self):
        self.model.param.update(mu0=self.explorer.q.mu, sigma0=self.explorer.q.sigma)

    def _on_p(self, *events):
        """A new target resets the runs and redraws the landscape and the cards' p. Served, that happens once the
        target has rested ``FOLLOW_DELAY_MS``: the change's own message (the optima, the explore plot) leaves first
        and is painted while this section catches up (its landscape preview and run reset: ~0.1 s of server time
        off that path, once for a burst of changes)."""
        self._follow_later(self._doc)

    def _follow_target(self):
        e = self.explorer
        t = e.target
        if self.model.target.key != t.key:
            self.model.target.set_components(t.weights, t.means, t.sigmas)
        with pn.io.hold():
            self.p_source.data = {"x": e.x.astype(np.float32), "p": e.p_density.astype(np.float32)}
            for panel in self.panels:
                fit_density(panel.density, e, panel.labels, panel.ticks)

    def _on_options(self, *events):
        self.model.divergence_params = self._explorer_params()

    # -- widgets ----------------------------------------------------------------------------------------
    def _build_widgets(self):
        m = self.model
        self.play = pn.widgets.Toggle(label="Pause" if self.autoplay else "Play", value=self.autoplay,
                                      color="primary", width=100)
        self.play.param.watch(self._on_play, "value")
        self.step_button = pn.widgets.Button(label="Step", width=70)
        self.step_button.on_click(lambda event: self.step(readouts=True))
        self.reset_button = pn.widgets.Button(label="↺ Reset", width=80)
        self.reset_button.on_click(lambda event: m.reset("Reset pressed"))
        self.original_button = pn.widgets.Button(label="Original page's settings", width=190)
        self.original_button.on_click(lambda event: m.use_original_preset())
        self.speed = pn.Param(m, parameters=["steps_per_frame", "fps"], show_name=False,
                              widgets={"steps_per_frame": {"type": pn.widgets.IntSlider, "width": 200},
                                       "fps": {"type": pn.widgets.FloatSlider, "width": 200}})
        self.settings = pn.Param(m, parameters=["optimizer_name", "estimator", "n_samples", "seed", "sigma_floor"],
                                 show_name=False, widgets={"optimizer_name": {"options": {
                                     cls.__name__: name for name, cls in OPTIMIZERS.items()}}}, width=220)
        self.optimizer_params = pn.Column(self._optimizer_widgets(), width=220)
        labels = {d.label: name for name, d in divergences.REGISTRY.items()}
        self.add_select = pn.widgets.Select(label="Add a run of", options=labels, value="jsd", width=170)
        self.add_button = pn.widgets.Button(label="+ Add run", width=90)
        self.add_button.on_click(self._on_add)
        self.landscape_controls = pn.Param(m, parameters=["landscape_divergence", "log_sigma"], show_name=False,
                                           widgets={"landscape_divergence": {"options": labels}}, width=220)
        self.restart_controls = pn.Param(m, parameters=["n_restarts"], show_name=False, width=220)
        self.restart_button = pn.widgets.Button(label="Random restarts", width=130)
        self.restart_button.on_click(lambda event: self._start_restarts())
        self.clear_button = pn.widgets.Button(label="Clear", width=70)
        self.clear_button.on_click(lambda event: m.clear_restarts())
        self.restart_text = components.HTML("", sizing_mode="stretch_width")

    def _optimizer_widgets(self):
        return pn.Param(self.model.optimizer, show_name=False, width=220,
                        parameters=[p for p in self.model.optimizer.param if p not in ("name", "eps")])

    def _on_optimizer(self, *events):
        self.optimizer_params[:] = [self._optimizer_widgets()]

    def _on_add(self, event):
        try:
            self.model.add_run(self.add_select.value)
        except ValueError as exc:
            self.status.object = banner(str(exc), "#d62728")

    def _start_restarts(self):
        self.model.start_restarts()
        if not self.play.value:
            self.play.value = True

    # -- landscape --------------------------------------------------------------------------------------
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

    # -- runs -> plots ----------------------------------------------------------------------------------
    def _rebuild_panels(self):
        runs = self.model.runs
        if [p.index for p in self.panels] != list(range(len(runs))) or any(
                p.density.renderers[-1].glyph.line_color != COLORS[r.divergence] for p, r in zip(self.panels, runs)):
            self.panels = [RunPanel(self, i, r, self.p_source) for i, r in enumerate(runs)]
            self.cards.objects = [p.view for p in self.panels]

    def _on_generation(self, *events):
        self._rebuild_panels()
        self._full_push()
        m = self.model
        self.status.object = banner(f"↺ Runs restarted from q = N({m.mu0:.2f}, {m.sigma0:.2f}²): "
                                    f"{m.reset_reason}.")

    def _full_push(self):
        self._sent_path = {}
        self._shown = {}
        with pn.io.hold():
            self.path_source.data = {k: [] for k in PATH_COLUMNS}
            self.start_source.data = {"mu": [self.model.mu0], "sigma": [self.model.sigma0],
                                      "log_sigma": [float(np.log(self.model.sigma0))]}
            self._push(full=True)

    def _push(self, full=False, slow=True, runs=None):
        """One frame's changes (call inside ``pn.io.hold()``); readouts and loss curves only when ``slow``.
        ``runs``: the frames (``Run.frame``) of every run to show, in ``all_runs`` order (default: as they are)."""
        m = self.model
        runs = [r.frame() for r in m.all_runs] if runs is None else runs
        n_panels = len(m.runs)
        with validate(False):  # values come from our own code: skip Bokeh's per-property validation
            for panel, run in zip(self.panels, runs):
                panel.push(run, full, slow)
            path = {k: [] for k in PATH_COLUMNS}
            for i, run in enumerate(runs):
                self._extend_path(path, run, COLORS[run.divergence] if i < n_panels else RESTART_COLOR,
                                  2.5 if i < n_panels else 1.2)
            if path["x0"]:
                self.path_source.stream(path, rollover=PATH_ROLLOVER)
            self.now_source.data = {"mu": [r.mu for r in runs], "sigma": [r.sigma for r in runs],
                                    "log_sigma": [float(np.log(r.sigma)) for r in runs],
                                    "color": [COLORS[r.divergence] if i < n_panels else restart_color(r)
                                              for i, r in enumerate(runs)],
                                    "size": [11 if i < n_panels else 7 for i in range(len(runs))]}
            text = self._restart_html(runs[n_panels:]) if m.restarts else ""
            if text != self.restart_text.object:
                self.restart_text.object = text

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

    # -- animation --------------------------------------------------------------------------------------
    def step(self, readouts=False, ahead=1):
        """Show the next frame: ``steps_per_frame`` more steps of every run, with the readouts when asked (a Step
        press: then every step taken is shown). The runs are stepped only when a frame needs steps not taken
        yet, ``ahead`` frames' worth at once (the animation); the frames in between show steps already taken."""
        t0 = time.perf_counter()
        spf = self.model.steps_per_frame
        runs = self.model.all_runs
        shown = [self._on_screen(r) for r in runs]
        if any(r.active and r.trajectory_length - s < spf for r, s in zip(runs, shown)):
            self._advance(max(1, ahead) * spf, t0)
        if readouts:
            frames = [r.frame() for r in runs]
        else:
            frames = [r.frame(min(s + spf, r.trajectory_length)) for r, s in zip(runs, shown)]
        self._shown = {id(f.run): (f.run, f.trajectory_length) for f in frames}
        self._frames += 1
        with pn.io.hold(self._doc):  # one message
            self._push(slow=readouts or self._frames % SLOW_EVERY == 0, runs=frames)
        self._frame_ms.append(1e3 * (time.perf_counter() - t0))
        del self._frame_ms[:-200]

    def _advance(self, todo: int, t0: float) -> None:
        budget = TICK_BUDGET * self._period() / 1000.0
        while todo > 0:  # many steps per frame: stop early rather than outlast the callback's period
            chunk = min(todo, 5)
            if not self.model.advance(chunk):
                break
            todo -= chunk
            if time.perf_counter() - t0 > budget:
                break

    def _on_screen(self, run) -> int:
        """Trajectory entries of ``run`` the page shows (all of them unless the animation lags the run)."""
        known = self._shown.get(id(run))
        return known[1] if known is not None and known[0] is run else run.trajectory_length

    @property
    def caught_up(self) -> bool:
        """Whether the page shows every step the runs have taken."""
        return all(self._on_screen(r) == r.trajectory_length for r in self.model.all_runs)

    def _ahead(self) -> int:
        """Frames the animation computes at once: LOOKAHEAD_STEPS steps' worth, at least one frame."""
        return max(1, LOOKAHEAD_STEPS // self.model.steps_per_frame)

    def _tick(self):
        if self._no_browser():
            self.stop()
            return
        self._pace(time.perf_counter())
        self.step(ahead=self._ahead())
        if self.model.done and self.caught_up:
            self.stop("all runs have converged or stopped")

    def _no_browser(self) -> bool:
        doc = pn.state.curdoc
        ctx = getattr(doc, "session_context", None) if doc is not None else None
        session = getattr(ctx, "_session", None)
        return session is not None and getattr(session, "connection_count", 1) == 0

    @property
    def running(self) -> bool:
        return self._callback is not None and self._callback.running

    def start(self):
        """Start (or resume) the periodic callback that animates the runs."""
        if self.model.done:
            self.model.reset("Play pressed after every run had finished")
        if self._callback is None:
            self._callback = components.Ticker(self._tick, self._period(), self._doc)
        if not self._callback.running:
            self._ticks.clear()  # pacing restarts from the nominal period
            self._callback.period = self._period()
            self._callback.start()
        if not self.play.value:
            self.play.value = True
        self.play.label = "Pause"

    def stop(self, reason: str = ""):
        if self._callback is not None:
            self._callback.stop()
        if self.play.value:
            self.play.value = False
        self.play.label = "Play"
        if reason:
            self.status.object = banner(f"Paused: {reason}.")

    def _pace(self, now: float) -> None:
        """Keep the frame rate at ``fps``: Bokeh's periodic callback sleeps the period minus the callback's own
        time, and the event loop's other work and timer slack make each frame a millisecond or two late (29 frames
        a second for 30 asked). Once a second the period is shortened by the measured lateness (never below 60 %
        of the nominal period)."""
        ticks = self._ticks
        ticks.append(now)
        if now - ticks[0] < 1.0 or len(ticks) < 3 or self._callback is None:
            return
        interval = 1e3 * (ticks[-1] - ticks[0]) / (len(ticks) - 1)
        del ticks[:-1]
        nominal = 1000.0 / self.model.fps
        aim = 0.98 * nominal  # a hair faster than asked: the period is whole milliseconds, ticks run late
        period = int(min(nominal, max(0.6 * nominal, self._callback.period - (interval - aim))))
        if period != self._callback.period:
            self._callback.period = period

    def _period(self) -> int:
        return max(int(round(1000.0 / self.model.fps)), 15)

    def _on_fps(self, *events):
        self._ticks.clear()
        if self._callback is not None:
            self._callback.period = self._period()

    def _on_play(self, event):
        if event.new:
            self.start()
        else:
            self.stop()
            self.catch_up()

    def catch_up(self):
        """Show every step the runs have taken (on Pause: the page shows where the runs are)."""
        if self._doc is not None and self._doc.session_context is None:
            return  # the session is gone (its destroy hook pauses the animation): no page to show them on
        if not self.caught_up:
            self._shown = {}
            with pn.io.hold(self._doc):
                self._push()

    def _on_load(self):
        if self.autoplay and self.play.value:
            self.start()

    def _on_session_destroyed(self, session_context):
        self.stop()
        self._callback = None

    # -- layout -----------------------------------------------------------------------------------------
    def __panel__(self):
        controls = pn.Column(
            pn.Row(self.play, self.step_button, self.reset_button),
            self.original_button, self.speed,
            pn.pane.Markdown("**Optimizer**", margin=(0, 10)), self.settings, self.optimizer_params,
            pn.Row(self.add_select, self.add_button, align="end"),
            width=300)
        landscape = pn.Column(
            pn.Row(self.landscape_controls, pn.Column(self.restart_controls,
                                                      pn.Row(self.restart_button, self.clear_button))),
            pn.pane.Bokeh(self.landscape_figure, sizing_mode="stretch_width"), self.restart_text,
            sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown(
                "## 4. Optimization dynamics\nEvery run starts at the Explore section's q and follows the gradient "
                "of its divergence. Forward KL spreads over all the modes; reverse KL slides onto the nearest one "
                "and stays there — a **local** minimum when that mode is not the heaviest. Moving q or the target "
                "restarts the runs.", sizing_mode="stretch_width"),
            self.status,
            pn.Row(controls, pn.Column(self.cards, landscape, sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
