"""Section 5 — the α spectrum, the spread phase plot and the distillation losses: the Viewer and its reactions.

Thin views over :mod:`klpanel.models.spectrum`. Curves cost seconds (every α, every spread), so in a server session
they are computed in a worker thread while a progress bar moves, and handed to the document's thread, where the
plots' DynamicMaps draw them (``*_drawn``); moving a slider reads the computed curve (no numerics) and moves a mark.
In a notebook they are computed the same way, handed to the kernel's event loop. Elsewhere (scripts, tests)
``compute="sync"`` computes in place and ``"manual"`` waits for :meth:`SpectrumSection.refresh` or the buttons.
The tabs are :mod:`.alpha`, :mod:`.phase` and :mod:`.distillation`; background work :mod:`.jobs`.
"""

from __future__ import annotations

import panel as pn
import param

from ...models import spectrum as sp
from ...models.explorer import Explorer
from ..deferred import Deferred, served_doc
from ..notebook import KernelLoop, kernel_loop
from .. import styles
from ..plotting import as_column, set_ranges
from .alpha import AlphaTab
from .curves import NOTE_STYLE
from .distillation import CONVENTIONS, DistillationTab
from .phase import PhaseTab

TARGET_REST_MS = 400  # served: the curves are recomputed once the target has rested this long
DISTILL_TAB = 2  # the distillation losses' tab (of: α spectrum, spread phase plot, distillation losses)


class SpectrumSection(AlphaTab, PhaseTab, DistillationTab, pn.viewable.Viewer):
    """α spectrum (α-divergence or Rényi), spread phase plot, distillation losses, for the app's Explorer."""

    explorer = param.ClassSelector(class_=Explorer, doc="The app's Explorer model")
    compute = param.Selector(default="auto", objects=["auto", "background", "sync", "manual"],
                             doc="auto: background in a server session or a notebook's kernel, manual elsewhere")
    # what the plots show (their DynamicMaps follow these): set when a computation's result is applied
    alpha_drawn = param.Parameter(default=None, doc="(family, Curve) on the α plot; None: nothing computed yet")
    phase_drawn = param.Parameter(default=None, doc="(target mode, spread, {name: Curve}) on the phase plots")
    distill_drawn = param.Parameter(default=None, doc="(curves, references) on the distillation plots")

    def __init__(self, **params):
        params.setdefault("explorer", Explorer())
        super().__init__(**params)
        e = self.explorer
        doc = served_doc()
        loop = kernel_loop() if doc is None else None  # a notebook: the results come back on the kernel's loop
        mode = self.compute if self.compute != "auto" else ("manual" if doc is None and loop is None else "background")
        self._session_doc = doc if mode == "background" else None
        self._doc = None  # where background results are handed: the session's document, or the kernel's loop
        if mode == "background":
            self._doc = doc if doc is not None else KernelLoop(loop) if loop is not None else None
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
        self._rested(self._session_doc)

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
            styles.beside([self.family, self.alpha, self.alpha_line, self.compute_button],
                          [self.alpha_progress, self.alpha_status,
                           styles.plots_row(pn.pane.Bokeh(styles.fit_figure(self.density)), self.alpha_plot),
                           self.alpha_jumps]),
            sizing_mode="stretch_width")
        phase = pn.Column(
            pn.pane.Markdown(
                "The optimal σ* and μ* as the target's modes move apart (spread 1.5 → 5, "
                "at the current number of modes and weight decay): where each divergence stops covering and "
                "collapses onto one mode.", sizing_mode="stretch_width"),
            styles.wrapping_row(self.phase_names, self.phase_button, sizing_mode="stretch_width"),
            self.phase_progress, self.phase_status,
            self.phase_plot,
            self.phase_note, sizing_mode="stretch_width")
        distill = pn.Column(
            pn.pane.Markdown(
                "The losses used to distil language models, and where each puts the "
                "best Gaussian student as its parameter moves between the forward-KL and reverse-KL optima.",
                sizing_mode="stretch_width"),
            self.distill_progress, self.distill_status,
            styles.card_grid(*self.distill_cards.values()),
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
