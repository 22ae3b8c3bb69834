"""The Explore plot's handles: drag a mode of p (sideways: its mean; up and down: its weight) or its width handle
(its σ), drag q's peak (μ) or its width handle (σ); double-click adds a mode, "Remove a mode" deletes one.

Each mode's handle sits at its component's own peak, w_k / (s_k √(2π)), its width handle one σ to the side at
e^(-1/2) of that height; q's handles likewise. During a drag the browser redraws the curve from the handles itself
(a CustomJS on the handles' source, no server round trip per mouse move) and sends the dragged p's components or q's
(μ, σ) to the server, throttled, so that the readouts follow (``Explorer.values_at`` for a p not yet set). When
the drag ends the server hears the handles and edits the model the component editor and the sliders edit
(``Target.edit_component``, ``explorer.q``): the optima, the runs, the landscape and the URL follow from there, once
per drag. A refused drag (a weight to 0, σ too small, a mode off the plot) shows why and puts the handles back where
the model is. p's part (its JS, columns, checks, double-click) is shared with section 1's plot: :mod:`.p_handles`.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.events import DoubleTap
from bokeh.models import ColumnDataSource, CustomJS, PointDrawTool

from ..models.explorer import Explorer
from ..models.target import Target
from ..plots.style import Q_COLOR
from . import components
from .plotting import share_stateless
from .p_handles import (INFLECTION, LIVE_MS, MIN_SIGMA, P_DRAG_JS, ROOT_2PI, add_mode, apply_p_edit,  # noqa: F401
                        drag_callback, draw_handles, edit_or_refuse, message_pane, moved_rows, p_edit, p_handle_columns)

#: the same for q: its peak moves μ (up and down means nothing: it snaps back), its width handle sets σ; the new
#: (μ, σ) goes to the server at most every LIVE_MS for the readouts
Q_DRAG_JS = """
const d = handles.data, X = d.x, Y = d.y, x0 = d.x0, y0 = d.y0;
if (handles.__kl_seen === Array.from(X).join() + Array.from(Y).join()) return;  // our own emit below
if (X.length !== 2 || !d.mu || d.mu.length !== 2) return;
const R = Math.sqrt(2 * Math.PI), E = Math.exp(-0.5);
let mu = d.mu[0], s = d.sigma[0];
if (X[0] !== x0[0] || Y[0] !== y0[0]) {
  mu = X[0]; Y[0] = y0[0]; X[1] = mu + s; Y[1] = y0[1];
} else if (X[1] !== x0[1] || Y[1] !== y0[1]) {
  s = Math.max(MIN, Math.abs(X[1] - mu)); Y[1] = E / (s * R);
} else return;
const xs = curves.data.x, p = curves.data.p, N = xs.length;
const q = new Float32Array(N), lo = new Float32Array(N);
for (let i = 0; i < N; i++) { const z = (xs[i] - mu) / s; q[i] = Math.exp(-0.5 * z * z) / (s * R); lo[i] = Math.min(p[i], q[i]); }
curves.data.q = q; curves.data.lo = lo;
handles.__kl_seen = Array.from(X).join() + Array.from(Y).join();
curves.change.emit(); handles.change.emit();  // the partner handle too (this callback runs again, later: seen)
const send = () => { handles.__kl_sent = performance.now(); live.data = {mu: [mu], sigma: [s]}; };
clearTimeout(handles.__kl_timer);
if (!(handles.__kl_sent > performance.now() - LIVE)) send(); else handles.__kl_timer = setTimeout(send, LIVE);
""".replace("MIN", str(MIN_SIGMA)).replace("LIVE", str(LIVE_MS))


def q_handle_columns(mu: float, sigma: float) -> dict:
    """The data of q's handles: its peak and its width handle (columns as :func:`p_handle_columns`')."""
    peak = 1.0 / (sigma * ROOT_2PI)
    x, y = np.array([mu, mu + sigma]), np.array([peak, peak * INFLECTION])
    return {"x": x, "y": y, "x0": x.copy(), "y0": y.copy(), "mu": [mu] * 2, "sigma": [sigma] * 2,
            "marker": ["circle", "diamond"], "size": [13, 10]}


def q_edit(q, data, mu_range, sigma_range) -> dict | None:
    """What a drag of q's handles asks: ``{"mu": …}`` or ``{"sigma": …}`` (None when nothing moved); ``ValueError``
    outside the sliders' ranges."""
    if len(data.get("x", ())) != 2 or len(data.get("x0", ())) != 2:
        return None
    moved = moved_rows(data)
    x = np.asarray(data["x"], float)
    if moved[0]:
        return check_q(mu=float(x[0]), mu_range=mu_range, sigma_range=sigma_range)
    if moved[1]:
        return check_q(sigma=abs(float(x[1]) - q.mu), mu_range=mu_range, sigma_range=sigma_range)
    return None


def check_q(mu_range, sigma_range, **edit) -> dict:
    """``edit`` (``mu=`` or ``sigma=``) if within the sliders' ranges, else ``ValueError``."""
    for name, (lo, hi) in (("mu", mu_range), ("sigma", sigma_range)):
        if name in edit and not lo <= edit[name] <= hi:
            label = "μ" if name == "mu" else "σ"
            raise ValueError(f"Refused: q's {label} must stay within [{lo:g}, {hi:g}] (the {label} slider's range).")
    return edit


class Handles:
    """p's and q's handles on the Explore figure (``figure``, whose p/q source is ``curves``), a Remove-a-mode menu
    and the refusal message; edits go to ``explorer``. ``live`` is true while a q drag's throttled update is being
    applied (the view then leaves q's curve to the browser). ``preview(values)`` shows the readouts of a drag of p
under way (``preview()``: the model's again)."""

    def __init__(self, explorer: Explorer, figure, curves, mu_range, sigma_range, preview=None):
        self.explorer, self.figure, self.curves = explorer, figure, curves
        self.preview = preview or (lambda values=None: None)
        self.mu_range, self.sigma_range = tuple(mu_range), tuple(sigma_range)
        self.live = False
        self._pushing = False
        q = explorer.q
        self.p_source = ColumnDataSource(p_handle_columns(explorer.target), name="klpanel-explore-p-handles")
        self.q_source = ColumnDataSource(q_handle_columns(q.mu, q.sigma), name="klpanel-explore-q-handles")
        self.live_source = ColumnDataSource({"mu": [], "sigma": []}, name="klpanel-explore-q-live")
        self.p_live_source = ColumnDataSource({"w": [], "m": [], "s": []}, name="klpanel-explore-p-live")
        drawn = [draw_handles(figure, self.p_source, "klpanel-explore-p-handles"),
                 figure.scatter("x", "y", source=self.q_source, marker="marker", size="size", fill_color="white",
                                line_color=Q_COLOR, line_width=2.5, name="klpanel-explore-q-handles",
                                **components.repaint_level())]
        share_stateless(figure)
        self.tool = PointDrawTool(renderers=drawn, add=False, drag=True,
                                  description="Drag p's modes and q (double-click adds a mode)")
        figure.add_tools(self.tool)
        figure.toolbar.active_drag = self.tool
        self.p_source.js_on_change("change", drag_callback(self.p_source, curves, lo="lo", live=self.p_live_source))
        self.q_source.js_on_change("change", CustomJS(args={"handles": self.q_source, "curves": curves,
                                                            "live": self.live_source}, code=Q_DRAG_JS))
        self.p_source.on_change("data", self._on_p)
        self.q_source.on_change("data", self._on_q)
        self.live_source.on_change("data", self._on_live)
        self.p_live_source.on_change("data", self._on_p_live)
        figure.on_event(DoubleTap, self.on_double_tap)
        self.remove = pn.widgets.MenuButton(label="Remove a mode", items=self._remove_items(),
                                            disabled=explorer.target.weights.size == 1, sizing_mode="stretch_width")
        self.remove.on_click(self._on_remove)
        self.message = message_pane("explore")

    # -- model -> handles --------------------------------------------------------------------------------------------
    def write_p(self):
        """p's handles where p's components are (and the remove menu's entries)."""
        t = self.explorer.target
        self._write(self.p_source, p_handle_columns(t))
        self.remove.param.update(items=self._remove_items(), disabled=t.weights.size == 1)

    def write_q(self):
        self._write(self.q_source, q_handle_columns(self.explorer.q.mu, self.explorer.q.sigma))

    def _write(self, source, data):
        self._pushing = True
        try:
            source.data = data
        finally:
            self._pushing = False

    def _remove_items(self):
        t = self.explorer.target
        return [(f"mode {k + 1}: mean {m:.2f}, weight {w:.2f}", str(k))
                for k, (w, m) in enumerate(zip(t.weights, t.means))]

    def say(self, text: str = ""):
        self.message.param.update(object=text, visible=bool(text))

    # -- handles -> model --------------------------------------------------------------------------------------------
    def _on_p(self, attr, old, new):
        if self._pushing:
            return
        edit_or_refuse(self.explorer.target, new, self.figure, self.say, self.restore_p)
        self.write_p()
        self.preview()  # the model's values (a preview may have shown others)

    def restore_p(self):
        """p's curve as the model has it (the browser drew a refused drag)."""
        e = self.explorer
        p = np.asarray(e.p_density, np.float32)
        self.curves.data.update(p=p, lo=np.minimum(p, np.asarray(e.q_density, np.float32)))

    def _on_q(self, attr, old, new):
        if self._pushing:
            return
        q = self.explorer.q
        try:
            edit = q_edit(q, new, self.mu_range, self.sigma_range)
            if edit:
                q.param.update(**edit)
            self.say()
        except ValueError as exc:
            self.say(str(exc))
        self.restore_q()
        self.write_q()

    def restore_q(self):
        e = self.explorer
        q = np.asarray(e.q_density, np.float32)
        self.curves.data.update(q=q, lo=np.minimum(np.asarray(e.p_density, np.float32), q))

    def _on_p_live(self, attr, old, new):
        """A drag of p under way: the readouts for the components the browser draws (p itself changes on release)."""
        try:
            preview = Target(weights=new["w"], means=new["m"], sigmas=new["s"])
        except (KeyError, ValueError):
            return
        self.preview(self.explorer.values_at(preview))

    def _on_live(self, attr, old, new):
        """A q drag under way: μ and σ for the readouts (the browser draws q itself)."""
        if not new.get("mu"):
            return
        edit = {"mu": float(new["mu"][0]), "sigma": float(new["sigma"][0])}
        try:
            check_q(self.mu_range, self.sigma_range, **edit)
        except ValueError as exc:
            self.say(str(exc))
            return
        q = self.explorer.q
        self.live = True
        try:  # only what the drag moves (a fixed-σ q would snap a σ it was sent back at once)
            q.param.update(**{k: v for k, v in edit.items() if v != getattr(q, k)})
        finally:
            self.live = False

    def on_double_tap(self, event):
        """A new mode where the double-click was (σ = the generator's 0.35, its peak at the click)."""
        try:
            add_mode(self.explorer.target, self.figure, event.x, event.y)
            self.say()
        except ValueError as exc:
            self.say(str(exc))

    def _on_remove(self, event):
        try:
            self.explorer.target.remove_component(int(event.new))
            self.say()
        except ValueError as exc:
            self.say(f"Refused: {exc}")
