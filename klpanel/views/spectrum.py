"""Section 5 — the α spectrum, the spread phase plot and the distillation losses.

Thin views over :mod:`klpanel.models.spectrum`. Curves cost seconds (every α, every spread), so in a server session
they are computed in a worker thread while a progress bar moves, and handed to the document's thread, where
only the Bokeh ``ColumnDataSource``s change; moving a slider reads the computed curve (no numerics).
Outside a server session (Jupyter, tests) ``compute="sync"`` computes in place and ``"manual"`` waits for
:meth:`SpectrumSection.refresh` or the buttons.
"""

from __future__ import annotations

import math
import threading
import time
from functools import partial

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool, Range1d, Span
from bokeh.plotting import figure

from ..numerics import divergences
from ..models import spectrum as sp
from ..models.background import background_pool
from ..models.explorer import Explorer, format_value
from .deferred import Deferred, served_doc
from . import components
from .plotting import COLORS, DASHES, P_COLOR, Q_COLOR, as_column, density_figure, set_ranges

TARGET_REST_MS = 400  # served: the curves are recomputed once the target has rested this long
DISTILL_TAB = 2  # the distillation losses' tab (of: α spectrum, spread phase plot, distillation losses)

WORKER = background_pool(1, "klpanel-spectrum-view")
GAUSS_Z = np.linspace(-5, 5, 121)
NOTE_STYLE = {"font-size": "0.9em", "opacity": "0.85"}

CONVENTIONS = """
**Reading other papers' and libraries' numbers.** Here every value is in nats and D(p‖q) has the target
(teacher) p first.
* PyTorch `F.kl_div(input, target)` takes `input = log q` (the student's log-probabilities) and
  `target = p`, and returns KL(p‖q) — forward KL; reverse KL needs `kl_div(log p, q)`. Its default
  `reduction="mean"` averages over every element; `"batchmean"` gives the per-example KL.
* scipy `spatial.distance.jensenshannon(p, q)` returns the Jensen–Shannon *distance* √JSD (natural log by
  default, `base=2` for bits): square it to compare with our JSD, which is ≤ ln 2.
* scipy `stats.entropy(p, q)` is KL(p‖q). GKD's JSD(β) weights KL(p‖M) by β with M = βp + (1−β)q; some code
  swaps β and 1 − β. DistiLLM's α is the share of the *other* distribution in the skewed mixture.
* Minka's α-divergence (used here) has α → 0 reverse KL and α → 1 forward KL; Amari's α is 2α − 1 of ours;
  Rényi's order α → 1 is forward KL. Hellinger here is squared, ½∫(√p − √q)², so D_½ = 4 H².
* TV here is ½∫|p − q| (≤ 1); some papers drop the ½.
"""


def gauss_curve(mu: float, sigma: float) -> dict:
    x = mu + sigma * GAUSS_Z
    return {"x": as_column(x), "y": as_column(np.exp(-0.5 * GAUSS_Z**2) / (sigma * math.sqrt(2 * math.pi)))}


def broken_columns(curve: sp.Curve | None) -> dict:
    """Plot columns t, mu, sigma with NaN at every jump (empty before the curve exists)."""
    if curve is None:
        return {"t": [], "mu": [], "sigma": []}
    t, mu = curve.broken("mu")
    return {"t": t, "mu": mu, "sigma": curve.broken("sigma")[1]}


def minima_columns(curve: sp.Curve | None) -> dict:
    if curve is None:
        return {"t": [], "mu": [], "sigma": [], "value": [], "rank": []}
    return curve.all_minima()


def optimum_text(curve, i, label, name_of_t, pending="*computing…*") -> str:
    """``α = 0.50: optimal q = N(−3.000, 0.350²), D = 1.061; 4 local minima.``"""
    if curve is None:
        return pending
    head = f"{name_of_t} = {curve.t[i]:.2f}"
    if not math.isfinite(curve.mu[i]):
        return f"{head}: no optimum ({label} has no finite minimum found here, or is 0 for every q)."
    n = len(curve.minima[i])
    return (f"{head}: optimal q = N({curve.mu[i]:.3f}, {curve.sigma[i]:.3f}²), {label} = "
            f"{format_value(curve.value[i])}; {n} local minim{'um' if n == 1 else 'a'}.")


def jumps_text(curve, name_of_t) -> str:
    if curve is None or not curve.jump.any():
        return "The global optimum moves continuously over this range."
    where = ", ".join(f"{t:.2f}" for t in curve.jumps_at)
    return f"The global optimum jumps between modes at {name_of_t} ≈ {where} (the curve breaks there)."


def curve_figure(title, x_label, x_range, height=230):
    fig = figure(height=height, sizing_mode="stretch_width", title=title, x_range=Range1d(*x_range),
                 y_range=DataRange1d(start=0), tools="pan,wheel_zoom,box_zoom,reset,save", output_backend="canvas",
                 x_axis_label=x_label)
    fig.toolbar.logo = None
    fig.grid.grid_line_alpha = 0.25
    fig.background_fill_alpha = fig.border_fill_alpha = 0.0
    return fig


class ProgressBar(pn.viewable.Viewer):
    """A thin progress bar drawn in HTML: showing, moving and hiding it only replaces the pane's inner HTML
    (Panel's Progress widget toggles ``visible``, which re-lays out the whole page in the browser: ~200 ms per
    toggle on this page). ``fraction`` None hides it."""

    fraction = param.Number(default=None, bounds=(0, 1), allow_None=True, doc="Done, 0 … 1; None: hidden")

    def __init__(self, **params):
        super().__init__(**params)
        self.pane = components.HTML("", sizing_mode="stretch_width", margin=(2, 10))
        self.param.watch(self._draw, "fraction")

    @property
    def shown(self) -> bool:
        return self.fraction is not None

    def _draw(self, event):
        f = self.fraction
        self.pane.object = "" if f is None else (
            '<div class="kl-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{100 * f:.0f}" style="height:6px;border-radius:3px;background:rgba(128,128,128,0.25)">'
            f'<div style="height:6px;border-radius:3px;width:{100 * f:.1f}%;background:#1f77b4"></div></div>')

    def __panel__(self):
        return self.pane


class Superseded(Exception):
    """Raised in a background computation, at its next progress report, once a newer one was asked for."""


#: seconds between two progress messages of a background computation (its points can take < 1 ms each)
PROGRESS_EVERY_S = 0.2


class Job:
    """One background computation at a time per section part: a newer request supersedes an older one (which
    stops at its next progress report instead of computing on for nothing), progress reaches the page at most
    every ``PROGRESS_EVERY_S``."""

    def __init__(self, section, progress: ProgressBar, status: pn.pane.Markdown):
        self.section, self.progress, self.status = section, progress, status
        self.generation = 0
        self._lock = threading.Lock()

    def run(self, compute, apply, label):
        """``compute(progress) -> result`` off the UI thread (server) or in place; then ``apply(result)``."""
        with self._lock:
            self.generation += 1
            gen = self.generation
        doc = self.section._doc
        if doc is None:
            apply(compute(None))
            return
        self.progress.fraction = 0.0
        self.status.object = f"*Computing {label}…*"

        shown = [0.0]  # when progress was last sent: every message is a DOM update and paint in the browser

        def report(done, total):
            if gen != self.generation:
                raise Superseded
            now = time.monotonic()
            if done == total or now - shown[0] >= PROGRESS_EVERY_S:
                shown[0] = now
                doc.add_next_tick_callback(partial(self._show, gen, done, total))

        def finished(future):
            try:
                if future.exception() is not None:
                    doc.add_next_tick_callback(partial(self._fail, gen, future.exception()))
                else:
                    doc.add_next_tick_callback(partial(self._apply, gen, apply, future.result()))
            except Exception:  # the session has gone meanwhile: nobody to show it to
                pass

        WORKER.submit(compute, report).add_done_callback(finished)

    def _show(self, gen, done, total):
        if gen == self.generation:
            self.progress.fraction = min(1.0, done / max(total, 1))

    def _apply(self, gen, apply, result):
        if gen == self.generation:
            self.progress.fraction = None
            self.status.object = ""
            apply(result)

    def _fail(self, gen, exc):
        if gen == self.generation:
            self.progress.fraction = None
            self.status.object = f"Could not compute this: {exc}"


class SpectrumSection(pn.viewable.Viewer):
    """α spectrum (α-divergence or Rényi), spread phase plot, distillation losses, for the app's Explorer."""

    explorer = param.ClassSelector(class_=Explorer, doc="The app's Explorer model")
    compute = param.Selector(default="auto", objects=["auto", "background", "sync", "manual"],
                             doc="auto: background in a server session, manual elsewhere")

    def __init__(self, **params):
        params.setdefault("explorer", Explorer())
        super().__init__(**params)
        e = self.explorer
        doc = served_doc()
        mode = self.compute if self.compute != "auto" else ("background" if doc is not None else "manual")
        self._doc = doc if mode == "background" else None
        self._mode = mode
        self._pending = "*not computed yet: press “Compute curves”*" if mode == "manual" else "*computing…*"
        self.spectrum = sp.AlphaSpectrum(target=e.target)
        self.phase = sp.SpreadPhase(n_modes=e.target.n_modes, decay=e.target.decay)
        self.distillation = sp.Distillation(target=e.target)
        self.alpha_curve = None
        self.phase_curves: dict = {}
        self.distill_curves: dict = {}
        self.compute_button = pn.widgets.Button(label="Compute curves", color="primary", width=200,
                                                visible=mode == "manual")
        self.compute_button.on_click(lambda event: self.refresh())
        self._build_alpha()
        self._build_phase()
        self._build_distillation()
        self._build_layout()
        self._rested = Deferred(self._target_rested, TARGET_REST_MS)  # served: after the target has rested
        e.param.watch(self._on_target, ["p_density"], precedence=1)
        self.spectrum.param.watch(self._show_alpha, ["alpha"])
        self.spectrum.param.watch(self._on_family, ["family"])
        self._show_alpha()
        for name in sp.DISTILLATION:
            self._show_distill(name)
        if mode == "sync":
            self.refresh()
        elif mode == "background":
            pn.state.onload(self.refresh)

    # -- α spectrum ------------------------------------------------------------------------------------------
    def _build_alpha(self):
        s, e = self.spectrum, self.explorer
        self.family = pn.widgets.RadioButtonGroup.from_param(
            s.param.family, options={divergences.REGISTRY[n].label: n for n in sp.SPECTRUM_FAMILIES},
            name="Family", color="primary")
        self.alpha = pn.widgets.FloatSlider.from_param(s.param.alpha, name="α", step=0.05,
                                                       sizing_mode="stretch_width")
        self.alpha_progress = ProgressBar()
        self.alpha_status = components.Markdown("", margin=(0, 10))
        self.alpha_job = Job(self, self.alpha_progress, self.alpha_status)
        self.alpha_line = components.Markdown("", sizing_mode="stretch_width")
        self.alpha_jumps = components.Markdown("", sizing_mode="stretch_width", styles=NOTE_STYLE)
        self.p_source = ColumnDataSource({"x": as_column(e.x), "p": as_column(e.p_density)}, name="spectrum-p")
        self.q_source = ColumnDataSource({"x": [], "y": []}, name="spectrum-q")
        dens = density_figure(height=260, title="p and the optimal q at the current α", name="spectrum-density")
        dens.varea("x", 0, "p", source=self.p_source, fill_color=P_COLOR, fill_alpha=0.35)
        dens.line("x", "p", source=self.p_source, color=P_COLOR, line_width=2, legend_label="p (target)")
        dens.line("x", "y", source=self.q_source, color=Q_COLOR, line_width=3, legend_label="optimal q")
        dens.legend.location = "top_right"
        dens.legend.background_fill_alpha = 0.6
        set_ranges(dens, e.x, e.p_density)
        self.density = dens
        lo, hi = sp.order_bounds(s.family)
        self.curve_source = ColumnDataSource(broken_columns(None), name="spectrum-curve")
        self.minima_source = ColumnDataSource(minima_columns(None), name="spectrum-minima")
        fig = curve_figure("optimal μ*, σ* against α (dots: local minima)", "α", (lo, hi), height=260)
        fig.y_range = DataRange1d()
        fig.scatter("t", "sigma", source=self.minima_source, size=4, color="#2ca02c", alpha=0.35)
        fig.scatter("t", "mu", source=self.minima_source, size=4, color="#1f77b4", alpha=0.35)
        mu = fig.line("t", "mu", source=self.curve_source, color="#1f77b4", line_width=3, legend_label="μ*")
        sig = fig.line("t", "sigma", source=self.curve_source, color="#2ca02c", line_width=3, legend_label="σ*")
        fig.add_tools(HoverTool(renderers=[mu, sig], tooltips=[("α", "@t{0.00}"), ("μ*", "@mu{0.000}"),
                                                               ("σ*", "@sigma{0.000}")]))
        fig.legend.background_fill_alpha = 0.0
        fig.add_layout(fig.legend[0], "right")
        for at in (0.0, 1.0):  # reverse KL (α → 0) and forward KL (α = 1) for the α-divergence
            fig.add_layout(Span(location=at, dimension="height", line_color="#9aa5b1", line_dash="dotted"))
        self.alpha_mark = Span(location=s.alpha, dimension="height", line_color=Q_COLOR, line_width=2)
        fig.add_layout(self.alpha_mark)
        self.alpha_figure = fig

    def _on_family(self, *events):
        lo, hi = sp.order_bounds(self.spectrum.family)
        self.alpha.param.update(start=lo, end=hi)
        self.alpha_figure.x_range.update(start=lo, end=hi)
        self.refresh_alpha()

    def refresh_alpha(self):
        target, family = self.explorer.target.copy(), self.spectrum.family
        self.alpha_job.run(lambda progress: sp.alpha_curve(target, family, progress=progress),
                           self._apply_alpha, f"the {divergences.REGISTRY[family].label} curve")

    def _apply_alpha(self, curve):
        self.alpha_curve = curve
        with pn.io.hold():
            self.curve_source.data = broken_columns(curve)
            self.minima_source.data = minima_columns(curve)
            self.alpha_jumps.object = jumps_text(curve, "α")
            self._show_alpha()

    def _show_alpha(self, *events):
        curve = self.alpha_curve
        self.alpha_mark.location = self.spectrum.alpha
        label = divergences.REGISTRY[self.spectrum.family].label
        if curve is None or len(curve.t) != self.spectrum.points:
            self.alpha_line.object = optimum_text(None, 0, label, "α", self._pending)
            return
        i = curve.at(self.spectrum.alpha)
        self.alpha_line.object = optimum_text(curve, i, label, "α")
        ok = math.isfinite(curve.mu[i])
        self.q_source.data = gauss_curve(curve.mu[i], curve.sigma[i]) if ok else {"x": [], "y": []}

    # -- spread phase plot -------------------------------------------------------------------------------------
    def _build_phase(self):
        ph = self.phase
        self.phase_names = pn.widgets.MultiChoice.from_param(
            ph.param.names, options={d.label: d.name for d in divergences.REGISTRY.values()},
            name="Divergences", sizing_mode="stretch_width")
        self.phase_button = pn.widgets.Button(label="Compute phase plot", color="primary", width=200)
        self.phase_button.on_click(lambda event: self.refresh_phase())
        self.phase_progress = ProgressBar()
        self.phase_status = components.Markdown("", margin=(0, 10))
        self.phase_job = Job(self, self.phase_progress, self.phase_status)
        self.phase_note = components.Markdown("", sizing_mode="stretch_width", styles=NOTE_STYLE)
        lo, hi = sp.spread_grid()[[0, -1]]
        self.phase_sources = {n: ColumnDataSource(broken_columns(None), name=f"phase-{n}")
                              for n in divergences.REGISTRY}
        self.phase_figures = {}
        for column, title in (("sigma", "optimal σ* against the target's spread"),
                              ("mu", "optimal μ* against the target's spread")):
            fig = curve_figure(title, "spread", (lo, hi), height=260)
            if column == "mu":
                fig.y_range = DataRange1d()
            lines = []
            for name, d in divergences.REGISTRY.items():
                lines.append(fig.line("t", column, source=self.phase_sources[name], color=COLORS[name],
                                      line_dash=DASHES[name], line_width=2.5, legend_label=d.label,
                                      visible=False))
            for item in fig.legend[0].items:
                item.visible = False
            fig.legend.click_policy = "hide"
            fig.legend.label_text_font_size = "10px"
            fig.legend.background_fill_alpha = 0.0
            fig.add_layout(fig.legend[0], "right")
            fig.add_tools(HoverTool(renderers=lines, tooltips=[("spread", "@t{0.00}"), (column, f"@{column}{{0.000}}")]))
            mark = Span(location=self.explorer.target.spread, dimension="height", line_color=Q_COLOR, line_width=2)
            fig.add_layout(mark)
            self.phase_figures[column] = (fig, mark)
        self._show_phase_mark()

    def _phase_settings(self):
        t = self.explorer.target
        self.phase.param.update(n_modes=t.n_modes, decay=t.decay,
                                params={n: self.explorer.divergence_params(n) for n in divergences.REGISTRY})

    def refresh_phase(self):
        self._phase_settings()
        ph = sp.SpreadPhase(**{k: v for k, v in self.phase.param.values().items() if k != "name"})
        self.phase_job.run(ph.curves, self._apply_phase, f"σ* and μ* for {len(ph.names)} divergences × "
                                                           f"{ph.points} spreads")

    def _apply_phase(self, curves):
        self.phase_curves = curves
        with pn.io.hold():
            for name, source in self.phase_sources.items():
                source.data = broken_columns(curves.get(name))
            computed = {id(self.phase_sources[n]) for n in curves}
            for fig, _ in self.phase_figures.values():  # lines and legend entries of the computed ones only
                for item in fig.legend[0].items:
                    item.visible = item.renderers[0].visible = id(item.renderers[0].data_source) in computed
            self._show_phase_mark()

    def _show_phase_mark(self):
        t = self.explorer.target
        generator = t.mode == "generator"
        for fig, mark in self.phase_figures.values():
            mark.location = t.spread
            mark.visible = generator
        shown = "; ".join(f"{divergences.REGISTRY[n].label} jumps at spread ≈ "
                          + ", ".join(f"{t:.2f}" for t in c.jumps_at)
                          for n, c in self.phase_curves.items() if c.jump.any())
        settings = f"{self.phase.n_modes} modes, weight decay {self.phase.decay:g}"
        custom = ("" if generator else " The target now has custom components: the phase plot uses the "
                  "generator's modes and decay, and the current spread is not marked.")
        self.phase_note.object = (f"Computed for {settings}. {shown + '.' if shown else ''}{custom}"
                                  if self.phase_curves else
                                  f"Press the button to compute (cached per modes/decay).{custom}")

    def _phase_cached(self):
        self._phase_settings()
        curves = self.phase.cached_curves()
        if curves is not None:
            self._apply_phase(curves)
        else:
            self._apply_phase({})

    # -- distillation ------------------------------------------------------------------------------------------
    def _build_distillation(self):
        self.distill_progress = ProgressBar()
        self.distill_status = components.Markdown("", margin=(0, 10))
        self.distill_job = Job(self, self.distill_progress, self.distill_status)
        self.distill_cards, self.distill_sliders, self.distill_lines = {}, {}, {}
        self.distill_sources, self.distill_marks, self.distill_refs = {}, {}, {}
        for name, loss in sp.DISTILLATION.items():
            d = divergences.REGISTRY[name]
            spec = {s.name: s for s in d.params}[loss.param]
            lo, hi = loss.sweep
            slider = pn.widgets.FloatSlider(label=spec.doc, start=lo,
                                            end=hi, step=(hi - lo) / (sp.PARAM_POINTS - 1),
                                            value=min(max(spec.default, lo), hi), sizing_mode="stretch_width")
            slider.param.watch(partial(self._show_distill, name), "value")
            source = ColumnDataSource(broken_columns(None), name=f"distill-{name}")
            fig = curve_figure("μ* (blue), σ* (green); thin: fwd KL, dashed: rev KL", loss.param, (lo, hi),
                               height=200)
            fig.y_range = DataRange1d()
            fig.title.text_font_size = "10px"
            fig.line("t", "mu", source=source, color="#1f77b4", line_width=2.5)
            fig.line("t", "sigma", source=source, color="#2ca02c", line_width=2.5)
            refs = {(ref, col): Span(location=0, dimension="width", line_color=color, line_width=1,
                                     line_dash="solid" if ref == "forward_kl" else "dashed", visible=False)
                    for ref in ("forward_kl", "reverse_kl") for col, color in (("mu", "#1f77b4"), ("sigma", "#2ca02c"))}
            for span in refs.values():
                fig.add_layout(span)
            mark = Span(location=slider.value, dimension="height", line_color=Q_COLOR, line_width=2)
            fig.add_layout(mark)
            line = components.Markdown(optimum_text(None, 0, d.label, loss.param), sizing_mode="stretch_width")
            self.distill_sliders[name], self.distill_lines[name] = slider, line
            self.distill_sources[name], self.distill_marks[name], self.distill_refs[name] = source, mark, refs
            self.distill_cards[name] = self._card(
                name, loss.source, [slider, pn.pane.Bokeh(fig, sizing_mode="stretch_width"), line,
                                    pn.pane.Markdown(loss.moves, styles=NOTE_STYLE, sizing_mode="stretch_width")])
        self.distill_cards["minillm"] = self._card("reverse_kl", sp.SOURCES["reverse_kl"], [])
        self.distill_cards["f-distill"] = pn.Column(
            pn.pane.HTML('<h3 style="margin:0">f-distill</h3>'),
            pn.pane.Markdown(sp.SOURCES["f-distill"] + " Forward and reverse KL as above, and:",
                             sizing_mode="stretch_width"),
            *(pn.pane.LaTeX(f"$${divergences.REGISTRY[n].latex}$$", renderer="katex", sizing_mode="stretch_width",
                            styles={"font-size": "0.85em"}) for n in sp.F_DISTILL if n not in sp.SOURCES),
            width=360, margin=8, styles={"border": "1px solid #9aa5b1", "border-radius": "8px", "padding": "8px"})

    def _card(self, name, source, body):
        d = divergences.REGISTRY[name]
        return pn.Column(
            pn.pane.HTML(f'<h3 style="margin:0;color:{COLORS[name]}">{d.label}</h3>'),
            pn.pane.Markdown(f"*{source}*", sizing_mode="stretch_width"),
            pn.pane.LaTeX(f"$${d.latex}$$", renderer="katex", sizing_mode="stretch_width",
                          styles={"font-size": "0.9em"}),
            *body, width=360, margin=8,
            styles={"border": f"1px solid {COLORS[name]}", "border-radius": "8px", "padding": "8px"})

    def refresh_distillation(self):
        model = sp.Distillation(target=self.explorer.target.copy())

        def compute(progress):
            return model.curves(progress), model.references()
        self.distill_job.run(compute, self._apply_distill, "the distillation losses' optima")

    def _apply_distill(self, result):
        curves, refs = result
        self.distill_curves = curves
        with pn.io.hold():
            for name, curve in curves.items():
                self.distill_sources[name].data = broken_columns(curve)
                for (ref, col), span in self.distill_refs[name].items():
                    span.update(location=getattr(refs[ref], col), visible=True)
                self._show_distill(name)

    def _show_distill(self, name, *events):
        value = self.distill_sliders[name].value
        self.distill_marks[name].location = value
        curve = self.distill_curves.get(name)
        label = divergences.REGISTRY[name].label
        param_name = {"alpha": "α", "beta": "β"}.get(sp.DISTILLATION[name].param, sp.DISTILLATION[name].param)
        self.distill_lines[name].object = optimum_text(curve, curve.at(value) if curve else 0, label, param_name,
                                                       self._pending)

    # -- reactions ---------------------------------------------------------------------------------------------
    def refresh(self):
        """Recompute what depends on the target: the α curve, the distillation curves, the phase plot's
        cached state (the phase plot itself is computed on request). Served, the distillation curves are
        computed when their tab is shown (they are the heaviest part and out of sight otherwise)."""
        self.refresh_alpha()
        if self._doc is None or self.tabs.active == DISTILL_TAB:
            self.refresh_distillation()
        self._phase_cached()

    def _on_tab(self, event):
        if event.new == DISTILL_TAB and self._doc is not None and not self.distill_curves:
            self.refresh_distillation()

    def _on_target(self, *events):
        """Show the new p at once; recompute the curves once the target has rested TARGET_REST_MS (served): a
        drag of the spread slider then starts one background computation, not one per step, and the steps'
        own repaints (optima, explore, dynamics) do not compete with it for the CPU."""
        e = self.explorer
        with pn.io.hold():
            self.p_source.data = {"x": as_column(e.x), "p": as_column(e.p_density)}
            set_ranges(self.density, e.x, e.p_density)
        self._rested(self._doc)

    def _target_rested(self):
        with pn.io.hold():
            self.alpha_curve, self.distill_curves = None, {}
            self._show_alpha()
            for name in sp.DISTILLATION:
                self._show_distill(name)
        if self._mode != "manual":
            self.refresh()
        else:
            self._phase_cached()

    def _build_layout(self):
        alpha = pn.Column(
            pn.pane.Markdown(
                "One knob moves the optimum between the two KLs (Minka 2005; Bishop, PRML fig. 10.3): "
                "α → 0 is reverse KL (one mode), α = 1 forward KL (moment matching); α ≤ 0 locks onto the "
                "heaviest mode and α ≥ 1 covers everything. Where the best Gaussian changes mode the curve "
                "breaks — the optimum jumps, it does not slide.", sizing_mode="stretch_width"),
            pn.Row(pn.Column(self.family, self.alpha, self.alpha_line, self.compute_button, width=330),
                   pn.Column(self.alpha_progress, self.alpha_status,
                             pn.Row(pn.pane.Bokeh(self.density, sizing_mode="stretch_width"),
                                    pn.pane.Bokeh(self.alpha_figure, sizing_mode="stretch_width"),
                                    sizing_mode="stretch_width"),
                             self.alpha_jumps, sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        phase = pn.Column(
            pn.pane.Markdown(
                "The optimal σ* and μ* as the target's modes move apart (spread 1.5 → 5, "
                "at the current number of modes and weight decay): where each divergence stops covering and "
                "collapses onto one mode.", sizing_mode="stretch_width"),
            pn.Row(self.phase_names, self.phase_button, sizing_mode="stretch_width"),
            self.phase_progress, self.phase_status,
            pn.Row(*(pn.pane.Bokeh(f, sizing_mode="stretch_width") for f, _ in self.phase_figures.values()),
                   sizing_mode="stretch_width"),
            self.phase_note, sizing_mode="stretch_width")
        distill = pn.Column(
            pn.pane.Markdown(
                "The losses used to distil language models, and where each puts the "
                "best Gaussian student as its parameter moves between the forward-KL and reverse-KL optima.",
                sizing_mode="stretch_width"),
            self.distill_progress, self.distill_status,
            pn.FlexBox(*self.distill_cards.values(), sizing_mode="stretch_width"),
            pn.pane.Markdown(CONVENTIONS, sizing_mode="stretch_width", styles=NOTE_STYLE),
            sizing_mode="stretch_width")
        # dynamic tabs: only the shown part is in the page's document (the three together were half of its
        # ~1100 models, which the page's load, the browser's layout passes and incoming messages scale with)
        self.tabs = pn.Tabs(("α spectrum", alpha), ("Spread phase plot", phase), ("Distillation losses", distill),
                            dynamic=True, sizing_mode="stretch_width")
        self.tabs.param.watch(self._on_tab, "active")
        self._layout = pn.Column(
            pn.pane.Markdown("## 5. The α spectrum: from mode-seeking to mode-covering", sizing_mode="stretch_width"),
            self.tabs, sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
