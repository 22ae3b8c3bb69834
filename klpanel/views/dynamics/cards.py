"""The run cards: per run, p with the run's current q, three readout lines, and the loss-vs-step curve.

The cards are plain Bokeh figures written directly at every frame (30 a second, no ``klpanel.plots`` picture draws
them). A card's q is drawn in the browser from the run positions the landscape already receives (``dynamics-now``),
so a frame sends (μ, σ) per run, not a curve per card.
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJSTransform, Label, LabelSet, Range1d
from bokeh.plotting import figure
from bokeh.transform import transform

from ...numerics import divergences
from ...models.explorer import format_value
from .. import components
from ...plots.style import COLORS, P_COLOR
from ..plotting import density_figure, lean, set_ranges

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


class RunPanel:
    """One run's card: p with the current q, the readout, and the loss-vs-step curve (plain Bokeh models)."""

    def __init__(self, section, index: int, run, p_source):
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
        dens.varea("x", 0, "p", source=p_source, fill_color=P_COLOR, fill_alpha=0.3)
        dens.line("x", "p", source=p_source, color=P_COLOR, line_width=1.5)
        now = section.now_source
        dens.line(x=transform("z", CustomJSTransform(args={"now": now, "i": index}, v_func=Q_X_JS)),
                  y=transform("phi", CustomJSTransform(args={"now": now, "i": index}, v_func=Q_Y_JS)),
                  source=section.q_shape, color=color, line_width=2.5, **components.repaint_level(), name=f"run-{index}-q")
        # ranges set here on the frames that stream loss points (_fit_loss): a DataRange1d would be computed
        # by the browser on every stream, re-checking the page's layout, and synced back to the server as a
        # message per change (each costing the server a pass over the whole document)
        loss = figure(height=130, sizing_mode="stretch_width", x_range=Range1d(0, 10), y_range=Range1d(0, 1),
                      tools="", toolbar_location=None, output_backend="canvas",
                      x_axis_label="step", y_axis_label="loss")
        loss.line("step", "loss", source=self.loss_source, color=color, line_width=2)
        # two or three labels: the frame is ~65 px tall, and four vertical labels ran together ("0.50.60.70.8")
        loss.yaxis.ticker.desired_num_ticks = 2
        # vertical tick labels: the axis' width no longer follows the labels' text, whose change would
        # re-layout the whole page (Bokeh lays out from the root) several times a second
        loss.yaxis.major_label_orientation = "vertical"
        loss.xaxis.ticker.desired_num_ticks = 4
        loss.background_fill_alpha = dens.background_fill_alpha = 0.0
        loss.border_fill_alpha = 0.0
        loss.grid.grid_line_alpha = 0.25
        self.density, self.loss = lean(dens), lean(loss)
        # data-positioned labels (placed by fit_density): frame-relative (Node) positions make every repaint
        # ask for a layout, which in the full page costs the browser tens of ms per frame
        self.labels = [Label(x=0, y=0, anchor="top_left", text="", text_font_size=size, text_color=c,
                             name=f"run-{index}-line-{k}", **components.repaint_level())
                       for k, (size, c) in enumerate([("13px", color), ("12px", "#8c8c8c"), ("12px", "#7f8c99")])]
        for label in self.labels:
            dens.add_layout(label)
        fit_density(dens, e, self.labels, self.ticks)
        self._set_labels(run)
        self.remove = pn.widgets.Button(label="✕ remove", color="light", width=90)
        self.remove.on_click(lambda event: section.model.remove_run(self.index))
        self.sent = 0
        self.loss_lo, self.loss_hi = math.inf, -math.inf  # finite losses streamed since the reset
        # as wide as its cell of the section's card grid (styles.card_grid)
        plots = pn.pane.Bokeh(column(dens, loss, sizing_mode="stretch_width"), sizing_mode="stretch_width")
        self.view = pn.Column(plots, self.remove, sizing_mode="stretch_width",
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
