"""Section 6 — the 2-D picture (Bishop, PRML fig. 10.2): p's contours, the optimal q of forward and of reverse KL as
ellipses, a q of one's own (drag its centre and its σ₁/σ₂ handles, or use the sliders) with both KLs read out, and
gradient-descent runs of both directions from that q, animated.

The picture is :func:`klpanel.plots.bishop`, rendered once; changes write its named data sources (no HoloViews
re-render per drag). During a drag the browser redraws q's ellipse itself from the handles (a CustomJS on the handles'
source); the server hears the handles when the drag ends, moves q, and sends the readouts, the ellipse and the
handles back.
"""

from __future__ import annotations

import html
import time

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJS, PointDrawTool

from ..models.explorer import Explorer, format_value
from ..models.twod import Descent2D, TwoD
from ..numerics import gauss2d as g
from .. import plots
from ..plots import twod as pictures
from ..plots.style import COLORS, renderer_name
from . import components, styles
from .deferred import served_doc
from .plotting import lean, page_look

HEADING = "## 6. Two dimensions: a factorised q (Bishop, PRML fig. 10.2)"
LABELS = {"forward_kl": "KL(p‖q)  forward", "reverse_kl": "KL(q‖p)  reverse"}
MIN_SIGMA = 0.05
FRAME_MS = 50  # the runs' animation: a frame every 50 ms
FRAME_BUDGET_S = 0.02  # steps per frame: as many as fit in this much server time (at least one)

#: the browser's redraw of q during a drag: the centre carries the σ handles with it; a σ handle sets that σ
DRAG_JS = """
const x = handles.data.x1, y = handles.data.x2;
const [m1, m2, s1, s2, rho] = shape.data.q;
let c1 = x[0], c2 = y[0], t1 = s1, t2 = s2;
if (c1 !== m1 || c2 !== m2) {
  x[1] = c1 + s1; y[1] = c2; x[2] = c1; y[2] = c2 + s2;
} else {
  t1 = Math.max(MIN, Math.abs(x[1] - c1)); t2 = Math.max(MIN, Math.abs(y[2] - c2));
}
const l11 = t1, l21 = rho * t2, l22 = t2 * Math.sqrt(1 - rho * rho);
const xs = [], ys = [];
for (const r of [1, 2]) {
  const px = [], py = [];
  for (let i = 0; i < 97; i++) {
    const a = 2 * Math.PI * i / 96, u = r * Math.cos(a), v = r * Math.sin(a);
    px.push(c1 + l11 * u); py.push(c2 + l21 * u + l22 * v);
  }
  xs.push(px); ys.push(py);
}
line.data.xs = xs; line.data.ys = ys;
line.change.emit();
""".replace("MIN", str(MIN_SIGMA))


def readout_html(model: TwoD, runs=None) -> str:
    """Both KLs at q (3 decimals); each value carries ``data-divergence`` for tests and scripts. With ``runs``, each
    run's step and value too."""
    rows = []
    for name, value in model.values.items():
        rows.append(f'<tr><td><span style="display:inline-block;width:12px;height:12px;border-radius:2px;'
                    f'background:{COLORS[name]}"></span></td><td>{html.escape(LABELS[name])}</td>'
                    f'<td class="kl2d-readout" data-divergence="{name}" style="text-align:right;font-family:monospace;'
                    f'font-size:1.25em;padding-left:1em">{format_value(value)}</td></tr>')
    for run in runs or ():
        state = "converged" if run.converged else ("stopped" if run.done else "running")
        value = run.rows[-1][-1]
        rows.append(f'<tr><td></td><td>{html.escape(LABELS[run.direction].split()[0])} descent, step {run.steps}'
                    f'</td><td class="kl2d-run" data-divergence="{run.direction}" style="text-align:right;'
                    f'font-family:monospace;padding-left:1em">{format_value(value)} ({state})</td></tr>')
    return '<table class="kl2d-readouts" style="border-spacing:6px 2px">' + "".join(rows) + "</table>"


class TwoDSection(pn.viewable.Viewer):
    """Target, family and q controls, the Bishop picture with draggable q, readouts and animated descents."""

    explorer = param.ClassSelector(class_=Explorer, doc="The app's Explorer (unused: this section has its own model)")
    model = param.ClassSelector(class_=TwoD, doc="The section's state")

    def __init__(self, **params):
        params.setdefault("model", TwoD())
        super().__init__(**params)
        m = self.model
        wide = dict(sizing_mode="stretch_width")
        self.preset = components.Buttons.from_param(m.target.param.preset, label="Target p", **wide)
        self.p_rho = components.Slider.from_param(m.target.param.rho, label="ρ of p (correlation)", **wide)
        self.p_sigma1 = components.Slider.from_param(m.target.param.sigma1, label="σ₁ of p", **wide)
        self.p_sigma2 = components.Slider.from_param(m.target.param.sigma2, label="σ₂ of p", **wide)
        self.family = components.Buttons.from_param(m.param.family, label="Family of q", **wide)
        self.q_sigma1 = components.Slider.from_param(m.q.param.sigma1, label="σ₁ of q", start=MIN_SIGMA, end=3.0, **wide)
        self.q_sigma2 = components.Slider.from_param(m.q.param.sigma2, label="σ₂ of q", start=MIN_SIGMA, end=3.0, **wide)
        self.q_rho = components.Slider.from_param(m.q.param.rho, label="ρ of q", visible=m.family == "full", **wide)
        self.run = pn.widgets.Button(label="Run gradient descent from q", color="primary", **wide)
        self.run.on_click(lambda event: self.start_runs())
        self.readouts = components.HTML(readout_html(m), css_classes=["klpanel-twod-readouts"], **wide)
        self._build_figure()
        self.runs: list[Descent2D] = []
        self._ticker = None
        self._doc = served_doc()
        self._pushing = False
        m.param.watch(self._on_values, ["values"], precedence=1)
        m.param.watch(self._on_optima, ["optima"])
        m.param.watch(self._on_target, ["mixture"])
        m.param.watch(self._on_family, ["family"])
        if self._doc is not None:
            pn.state.on_session_destroyed(lambda context: self.stop_runs())

    # -- the picture ----------------------------------------------------------------------------------------------
    def _build_figure(self):
        m = self.model
        # on a canvas, with the page's look: HoloViews renders for WebGL, which a browser without a GPU emulates
        fig = page_look(lean(styles.render(plots.bishop(m.mixture, m.family, q=m.q.gaussian))), "klpanel-twod-plot")
        self.figure, self.sources = fig, plots.sources(fig)
        self._add_run_lines(fig)
        handles = self.sources["twod-q-handles"]
        renderer = next(r for r in fig.renderers if r.data_source is handles)
        drag = PointDrawTool(renderers=[renderer], add=False, description="Drag q's centre or its σ handles")
        fig.add_tools(drag)
        fig.toolbar.active_drag = drag
        self.shape = ColumnDataSource({"q": list(m.q.gaussian)}, name="klpanel-twod-q-shape")
        handles.js_on_change("change", CustomJS(args={"handles": handles, "shape": self.shape,
                                                      "line": self.sources["twod-q"]}, code=DRAG_JS))
        handles.on_change("data", self._on_drag)

    def _add_run_lines(self, fig):
        """The runs' lines, added to the rendered figure with Bokeh (through HoloViews every layer costs each page
        build ~0.05-0.1 s): each direction's path of centres and its current q's ellipse, sources ``twod-run-<d>`` and
        ``twod-run-q-<d>`` (``xs``, ``ys``)."""
        for d in g.DIRECTIONS:
            for key, dash in ((f"twod-run-{d}", "solid"), (f"twod-run-q-{d}", "dotdash")):
                source = ColumnDataSource({"xs": [], "ys": []}, name=renderer_name(key))
                fig.multi_line("xs", "ys", source=source, line_color=COLORS[d], line_width=1.5, line_dash=dash,
                               line_alpha=0.9, name=renderer_name(key))
                self.sources[key] = source
        lean(fig)

    def _set_window(self):
        x0, x1, y0, y1 = pictures.extent(self.model.mixture)
        self.figure.x_range.update(start=x0, end=x1)
        self.figure.y_range.update(start=y0, end=y1)

    def _on_drag(self, attr, old, new):
        """The handles after a drag: the centre moved q (σ kept), or a σ handle set that σ."""
        if self._pushing:  # our own write of the handles, not a drag
            return
        q = self.model.q
        x, y = list(new["x1"]), list(new["x2"])
        if len(x) != 3:  # a handle was deleted (backspace): put them back
            self._push_q()
            return
        if (x[0], y[0]) != (q.mu1, q.mu2):
            lo, hi = q.param.mu1.bounds
            q.param.update(mu1=float(np.clip(x[0], lo, hi)), mu2=float(np.clip(y[0], lo, hi)))
        else:
            q.param.update(sigma1=float(np.clip(abs(x[1] - x[0]), MIN_SIGMA, q.param.sigma1.bounds[1])),
                           sigma2=float(np.clip(abs(y[2] - y[0]), MIN_SIGMA, q.param.sigma2.bounds[1])))
        if (x, y) != (list(pictures.handles(q.gaussian)["x1"]), list(pictures.handles(q.gaussian)["x2"])):
            self._push_q()  # clipped, or moved off its axis: show where q is

    def _push_q(self):
        q = self.model.q.gaussian
        self._pushing = True
        try:
            self.sources["twod-q"].data = pictures.ellipse(q)
            self.sources["twod-q-handles"].data = pictures.handles(q)
            self.shape.data = {"q": list(q)}
        finally:
            self._pushing = False

    # -- model -> picture --------------------------------------------------------------------------------------------
    def _on_values(self, *events):
        with pn.io.hold(self._doc):
            self._push_q()
            self.readouts.object = readout_html(self.model, self.runs)

    def _on_optima(self, *events):
        with pn.io.hold(self._doc):
            for d, best in self.model.optima.items():
                self.sources[f"twod-optimum-{d}"].data = pictures.ellipse(best.q)

    def _on_target(self, *events):
        self.stop_runs(clear=True)
        with pn.io.hold(self._doc):
            self.sources["twod-p-contours"].data = pictures.p_contours(self.model.mixture)
            self._set_window()

    def _on_family(self, *events):
        self.q_rho.visible = self.model.family == "full"
        self.stop_runs(clear=True)

    # -- the runs ------------------------------------------------------------------------------------------------------
    def start_runs(self):
        """Fresh descents of both directions from q, animated until both converge (or the page goes)."""
        self.runs = self.model.descents()
        self._frame()
        if self._ticker is None:
            self._ticker = components.Ticker(self._tick, FRAME_MS, self._doc)
        self._ticker.start()

    def stop_runs(self, clear: bool = False):
        if self._ticker is not None:
            self._ticker.stop()
        if clear and self.runs:
            self.runs = []
            with pn.io.hold(self._doc):
                for d in g.DIRECTIONS:
                    self.sources[f"twod-run-{d}"].data = {"xs": [], "ys": []}
                    self.sources[f"twod-run-q-{d}"].data = {"xs": [], "ys": []}
                self.readouts.object = readout_html(self.model)

    def step_runs(self, budget: float = FRAME_BUDGET_S) -> None:
        """Step every unfinished run, one step each at a time, while the frame's budget lasts (at least once)."""
        t0 = time.perf_counter()
        while any(not r.done for r in self.runs):
            for run in self.runs:
                run.step()
            if time.perf_counter() - t0 > budget:
                break

    def _tick(self):
        if self._doc is not None and self._doc.session_context is None:
            self.stop_runs()
            return
        self.step_runs()
        self._frame()
        if all(r.done for r in self.runs):
            self.stop_runs()

    def _frame(self):
        with pn.io.hold(self._doc):
            for run in self.runs:
                tr = run.trajectory
                self.sources[f"twod-run-{run.direction}"].data = {"xs": [tr["mu1"]], "ys": [tr["mu2"]]}
                self.sources[f"twod-run-q-{run.direction}"].data = pictures.ellipse(run.q, radii=(1.0,))
            self.readouts.object = readout_html(self.model, self.runs)

    def __panel__(self):
        controls = [
            self.preset, self.p_rho, self.p_sigma1, self.p_sigma2, self.family,
            pn.pane.Markdown("**Your q**: drag its centre or its σ handles on the plot (or use the sliders).",
                             margin=(10, 5, 0, 5)),
            self.q_sigma1, self.q_sigma2, self.q_rho, self.readouts, self.run]
        plot = pn.pane.Bokeh(styles.square_frame(styles.fit_figure(self.figure)), sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown(f"{HEADING}\nA Gaussian q with a **factorised** (mean-field) covariance cannot tilt "
                             "with a correlated p. Reverse KL(q‖p) fits it inside p: too narrow, σᵢ² = 1/Λᵢᵢ (p's "
                             "diagonal precisions). Forward KL(p‖q) fits it around p: σᵢ² = p's marginal variances. "
                             "Both keep p's mean; a full-covariance q recovers a Gaussian p exactly.", **{
                                 "sizing_mode": "stretch_width"}),
            styles.beside(controls, [plot], width=340),
            sizing_mode="stretch_width")
