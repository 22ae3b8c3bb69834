"""p's drag handles, shared by the Explore plot (:class:`.handles.Handles`) and section 1's optimal-approximations
plot (:class:`PHandles`): drag a mode of p sideways (its mean) or up and down (its weight), or its width handle (its
σ); double-click adds a mode.

Each mode's handle sits at its component's own peak, w_k / (s_k √(2π)), its width handle one σ to the side at
e^(-1/2) of that height. During a drag the browser redraws p from the handles (:data:`P_DRAG_JS`, no server round
trip per mouse move); on release the server edits the target (``Target.edit_component``), and everything that
follows a new target follows. A refused drag shows why and puts the handles back where the model is.
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
from bokeh.events import DoubleTap
from bokeh.models import ColumnDataSource, CustomJS, PointDrawTool

from ..models.target import COMPONENT_SIGMA, MAX_MODES
from ..plots.style import P_COLOR
from . import components
from .plotting import share_stateless

#: the narrowest mode a drag makes (the plot's grid is ~0.03 apart: narrower would not draw)
MIN_SIGMA = 0.05
ROOT_2PI = math.sqrt(2.0 * math.pi)
INFLECTION = math.exp(-0.5)  # a Gaussian's height one σ from its mean, relative to its peak
LIVE_MS = 40  # a drag sends p's components or q's (μ, σ) to the server at most this often

#: the browser's redraw of p while one of its handles is dragged: which row moved (against ``x0``/``y0``, where the
#: server put them) says which component and how; p is recomputed on the grid into ``curves.data.p``. Optional
#: arguments (null / "" when the plot has none): ``lo``, the name of a min(p, q) column of ``curves`` (with its
#: ``q``); ``area``, a patch source filled from 0 to p; ``live``, a source the components go to at most every LIVE_MS
#: (the readouts of a drag under way)
P_DRAG_JS = """
const d = handles.data, X = d.x, Y = d.y, x0 = d.x0, y0 = d.y0, n = X.length / 2;
if (handles.__kl_seen === Array.from(X).join() + Array.from(Y).join()) return;  // our own emit below
if (!n || !d.m || d.m.length !== X.length) return;
const R = Math.sqrt(2 * Math.PI), E = Math.exp(-0.5);
const w = Array.from(d.w).slice(0, n), m = Array.from(d.m).slice(0, n), s = Array.from(d.s).slice(0, n);
let moved = false;
for (let k = 0; k < n; k++) {
  if (X[k] !== x0[k] || Y[k] !== y0[k]) {  // the mode: its mean and weight; its width handle comes along
    m[k] = X[k]; w[k] = Math.max(Y[k], 1e-9) * s[k] * R;
    X[n + k] = m[k] + s[k]; Y[n + k] = Math.max(Y[k], 0) * E; moved = true;
  } else if (X[n + k] !== x0[n + k] || Y[n + k] !== y0[n + k]) {  // its width handle: σ
    s[k] = Math.max(MIN, Math.abs(X[n + k] - m[k])); Y[n + k] = w[k] / (s[k] * R) * E; moved = true;
  }
}
if (!moved) return;
const W = w.reduce((a, b) => a + b, 0), xs = curves.data.x, N = xs.length;
const p = new Float32Array(N);
for (let i = 0; i < N; i++) {
  let v = 0;
  for (let k = 0; k < n; k++) { const z = (xs[i] - m[k]) / s[k]; v += w[k] / W * Math.exp(-0.5 * z * z) / (s[k] * R); }
  p[i] = v;
}
curves.data.p = p;
if (lo) {  // min(p, q)
  const q = curves.data.q, low = new Float32Array(N);
  for (let i = 0; i < N; i++) low[i] = Math.min(p[i], q[i]);
  curves.data[lo] = low;
}
if (area) {  // the patch from 0 to p: x forth then back, y zeros then p reversed
  const y = new Float32Array(2 * N);
  for (let i = 0; i < N; i++) y[2 * N - 1 - i] = p[i];
  area.data.y = y; area.change.emit();
}
handles.__kl_seen = Array.from(X).join() + Array.from(Y).join();
curves.change.emit(); handles.change.emit();  // the partner handle too (this callback runs again, later: seen)
if (!live) return;
const send = () => { handles.__kl_sent = performance.now(); live.data = {w: w, m: m, s: s}; };
clearTimeout(handles.__kl_timer);  // the last position is sent too, LIVE ms later, if the drag rests there
if (!(handles.__kl_sent > performance.now() - LIVE)) send(); else handles.__kl_timer = setTimeout(send, LIVE);
""".replace("MIN", str(MIN_SIGMA)).replace("LIVE", str(LIVE_MS))


def p_handle_columns(target) -> dict:
    """The data of p's handles: rows 0..n-1 the modes at their peaks, rows n..2n-1 their width handles; ``x0``/``y0``
    where they were put (a drag moves ``x``/``y``), each row's component ``k`` and its ``w``, ``m``, ``s``."""
    w, m, s = (np.asarray(a, float) for a in (target.weights, target.means, target.sigmas))
    n, peak = w.size, w / (s * ROOT_2PI)
    x, y = np.concatenate([m, m + s]), np.concatenate([peak, peak * INFLECTION])
    return {"x": x, "y": y, "x0": x.copy(), "y0": y.copy(), "k": np.tile(np.arange(n), 2),
            "w": np.tile(w, 2), "m": np.tile(m, 2), "s": np.tile(s, 2),
            "marker": ["circle"] * n + ["diamond"] * n, "size": [13] * n + [10] * n}


def moved_rows(data) -> np.ndarray:
    x, y, x0, y0 = (np.asarray(data[c], float) for c in ("x", "y", "x0", "y0"))
    return (x != x0) | (y != y0)


def p_edit(target, data, x_range, y_top) -> tuple[int, dict] | None:
    """What a drag of p's handles (their source's ``data``) asks of ``target``: ``(k, edit_component keywords)``, or
    None when nothing moved or the rows no longer match p. ``ValueError`` (with the message shown) for a refused
    drag: a mode below the axis (weight ≤ 0) or off the plot, a σ under :data:`MIN_SIGMA`."""
    n = target.weights.size
    if len(data.get("x", ())) != 2 * n or len(data.get("x0", ())) != 2 * n:
        return None
    moved = moved_rows(data)
    x, y = np.asarray(data["x"], float), np.asarray(data["y"], float)
    if moved[:n].any():
        k = int(np.argmax(moved[:n]))
        if not y[k] > 0:
            raise ValueError("Refused: a mode's weight must be above 0 — keep it above the x axis.")
        if not (x_range[0] <= x[k] <= x_range[1] and y[k] <= y_top):
            raise ValueError("Refused: drag a mode within the plot.")
        return k, {"mean": float(x[k]), "weight": float(y[k] * target.sigmas[k] * ROOT_2PI)}
    if moved[n:].any():
        k = int(np.argmax(moved[n:]))
        sigma = abs(float(x[n + k]) - float(target.means[k]))
        if not sigma >= MIN_SIGMA:
            raise ValueError(f"Refused: a mode's σ must be at least {MIN_SIGMA:g}.")
        if not x_range[0] <= x[n + k] <= x_range[1]:
            raise ValueError("Refused: drag the width handle within the plot.")
        return k, {"sigma": sigma}
    return None


def apply_p_edit(target, data, figure) -> None:
    """Edit ``target`` as a drag of p's handles on ``figure`` asks (:func:`p_edit`; ``ValueError`` if refused)."""
    edit = p_edit(target, data, (figure.x_range.start, figure.x_range.end), figure.y_range.end)
    if edit is not None:
        target.edit_component(edit[0], **edit[1])


def edit_or_refuse(target, data, figure, say, restore) -> None:
    """:func:`apply_p_edit`, then ``say()`` (no message); on a refusal ``say(why)`` and ``restore()`` (the handles
    and the browser's redraw go back)."""
    try:
        apply_p_edit(target, data, figure)
        say()
    except ValueError as exc:
        say(str(exc))
        restore()


def add_mode(target, figure, x, y) -> None:
    """A new mode of ``target`` where a double-click on ``figure`` was (σ = the generator's 0.35, its peak at the
    click); ``ValueError`` starting "Refused" when it cannot be."""
    try:
        if x is None or y is None or not (figure.x_range.start <= x <= figure.x_range.end
                                          and 0 < y <= figure.y_range.end):
            raise ValueError("Refused: double-click inside the plot, above the x axis, to add a mode.")
        if target.weights.size >= MAX_MODES:
            raise ValueError(f"Refused: p has {MAX_MODES} modes already, the most allowed.")
        target.add_component(float(x), float(y) * COMPONENT_SIGMA * ROOT_2PI, COMPONENT_SIGMA)
    except ValueError as exc:
        raise ValueError(str(exc) if str(exc).startswith("Refused") else f"Refused: {exc}") from None


def draw_handles(figure, source, name: str):
    """The handles of ``source`` on ``figure`` (white markers ringed in ``color``), renderer named ``name``."""
    renderer = figure.scatter("x", "y", source=source, marker="marker", size="size", fill_color="white",
                              line_color=P_COLOR, line_width=2.5, name=name, **components.repaint_level())
    share_stateless(figure)
    return renderer


def drag_callback(handles, curves, lo: str = "", area=None, live=None) -> CustomJS:
    """:data:`P_DRAG_JS` for ``handles`` redrawing p in ``curves`` (and ``lo``, ``area``, ``live`` if given)."""
    return CustomJS(args={"handles": handles, "curves": curves, "lo": lo, "area": area, "live": live},
                    code=P_DRAG_JS)


def message_pane(plot: str) -> pn.pane.Alert:
    """The refusal message of the handles on ``plot`` ("explore", "optimal"; hidden while empty)."""
    return pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width", margin=(0, 5),
                         css_classes=["klpanel-drag-message", f"klpanel-{plot}-drag-message"])


class PHandles:
    """p's handles alone on a figure whose p is drawn from a source with columns ``x``, ``p`` (section 1's
    optimal-approximations plot: its q's are the optima, not draggable; ``plot`` names its message's CSS class,
    ``name`` its models). :meth:`attach` puts them on a (new) figure;
    :meth:`write` moves them to where p's components are; ``restore()`` redraws p as the model has it after a
    refused drag. Edits go to ``explorer.target``."""

    def __init__(self, explorer, name: str, plot: str, restore=None):
        self.explorer, self.name = explorer, name
        self.restore = restore or (lambda: None)
        self.figure = self.source = None
        self._pushing = False
        self.message = message_pane(plot)

    def attach(self, figure, curves, area=None):
        """Handles on ``figure`` (a new one: the old one's handles go with it), p redrawn in ``curves`` and ``area``."""
        self.figure = figure
        self.source = ColumnDataSource(p_handle_columns(self.explorer.target), name=f"{self.name}-p-handles")
        renderer = draw_handles(figure, self.source, f"{self.name}-p-handles")
        tool = PointDrawTool(renderers=[renderer], add=False, drag=True,
                             description="Drag p's modes (double-click adds a mode)")
        figure.add_tools(tool)
        figure.toolbar.active_drag = tool
        self.source.js_on_change("change", drag_callback(self.source, curves, area=area))
        self.source.on_change("data", self._on_p)
        figure.on_event(DoubleTap, self.on_double_tap)

    def write(self):
        """The handles where p's components are."""
        self._pushing = True
        try:
            self.source.data = p_handle_columns(self.explorer.target)
        finally:
            self._pushing = False

    def say(self, text: str = ""):
        self.message.param.update(object=text, visible=bool(text))

    def _on_p(self, attr, old, new):
        if self._pushing:
            return
        before = self.explorer.target.key
        edit_or_refuse(self.explorer.target, new, self.figure, self.say, self.restore)
        if self.explorer.target.key == before:  # else the new target's redraw wrote them
            self.write()

    def on_double_tap(self, event):
        try:
            add_mode(self.explorer.target, self.figure, event.x, event.y)
            self.say()
        except ValueError as exc:
            self.say(str(exc))
