"""Section 4 — optimisation dynamics: the Viewer, its widgets and the wiring explorer → runs → cards and landscape.

Side-by-side runs start at the Explore section's q and are animated on a live loss landscape: the landscape figure is
:mod:`.landscape`, a card per run :mod:`.cards`, the periodic callback and its frames :mod:`.animation`.
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJS

from ...numerics import divergences
from ...models.dynamics import Dynamics
from ...models.explorer import Explorer
from ...models.optimizers import OPTIMIZERS
from ..deferred import Deferred, served_doc
from .. import components, styles
from ...plots.style import COLORS
from .animation import Animator, banner
from .cards import Q_SHAPE, RunPanel, fit_density
from .landscape import LandscapePlot, refine_in_background

RESET_DELAY_MS = 200  # the runs restart from the Explore q once it has rested this long
#: the section follows a new target once it has rested this long: the optima's message leaves and is painted first,
#: and targets changed in quick succession (~0.1 s of server CPU each for the landscape) cost one follow, not each
FOLLOW_DELAY_MS = 150


class DynamicsSection(LandscapePlot, Animator, pn.viewable.Viewer):
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
                              divergence_params=self._explorer_params(), sigma_fixed=e.fixed_sigma)
        self._callback = None
        self._doc = None
        self.outputs = None  # in a notebook, the app's outputs (show_in)
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
        self.cards = styles.card_grid()
        self.status = components.HTML("", sizing_mode="stretch_width")
        self._rebuild_panels()
        self._show_landscape()
        self._full_push()
        e.q.param.watch(self._on_q, ["mu", "sigma"])
        e.param.watch(self._on_p, ["p_density"], precedence=1)
        e.options.param.watch(self._on_options, [p for p in e.options.param if p != "name"])
        self.model.param.watch(self._on_generation, ["generation"])
        self.model.param.watch(self._on_fps, ["fps"])
        self.model.param.watch(self._on_optimizer, ["optimizer"])
        self.model.landscape.param.watch(self._on_grid, ["grid"])
        self.model.landscape.param.watch(self._show_curves, ["curve"])
        e.param.watch(self._on_family, ["family", "sigma_fixed"])
        if served_doc() is not None:
            self._doc = served_doc()  # this session's document, for the deferred follow-ups below
            self.model.landscape.defer = partial(refine_in_background, self._doc, self._apply_grid)
            pn.state.onload(self._on_load)
            pn.state.on_session_destroyed(self._on_session_destroyed)

    def show_in(self, outputs) -> None:
        """In a notebook: ``outputs`` (:class:`klpanel.views.notebook.Outputs`) send what this section writes to
        every output of the app, start the animation when a page first shows one (autoplay) and stop it when none
        is shown any more (:meth:`_tick`)."""
        self.outputs = outputs
        outputs.share(*self.drawn_sources())
        outputs.on_shown(self._on_load)

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

    def _on_family(self, *events):
        """The fixed-σ family (or back to the free one): runs over μ alone at σ₀, the landscape a curve over μ."""
        if self.model.sigma_fixed != self.explorer.fixed_sigma:
            with pn.io.hold():
                self.model.sigma_fixed = self.explorer.fixed_sigma
                self._show_landscape()

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
        self.speed = styles.stretch(pn.Param(m, parameters=["steps_per_frame", "fps"], show_name=False,
                                             widgets={"steps_per_frame": pn.widgets.IntSlider,
                                                      "fps": pn.widgets.FloatSlider}, sizing_mode="stretch_width"))
        self.settings = styles.stretch(pn.Param(
            m, parameters=["optimizer_name", "estimator", "n_samples", "seed", "sigma_floor"], show_name=False,
            widgets={"optimizer_name": {"options": {cls.__name__: name for name, cls in OPTIMIZERS.items()}},
                     "estimator": {"options": {e.replace("_", " "): e for e in m.param.estimator.objects}}},
            sizing_mode="stretch_width"))
        self.optimizer_params = pn.Column(self._optimizer_widgets(), sizing_mode="stretch_width")
        labels = {d.label: name for name, d in divergences.REGISTRY.items()}
        self.add_select = pn.widgets.Select(label="Add a run of", options=labels, value="jsd", width=170)
        self.add_button = pn.widgets.Button(label="+ Add run", width=90)
        self.add_button.on_click(self._on_add)
        # the log σ axis means nothing when σ is fixed (the landscape is then a curve over μ): hidden
        self.log_sigma_box = pn.widgets.Checkbox.from_param(m.param.log_sigma, visible=m.sigma_fixed is None)
        m.param.watch(lambda event: setattr(self.log_sigma_box, "visible", event.new is None), "sigma_fixed")
        self.landscape_controls = pn.Column(styles.stretch(pn.Param(
            m, parameters=["landscape_divergence"], show_name=False,
            widgets={"landscape_divergence": {"options": labels}}, width=240)), self.log_sigma_box, width=240)
        self.restart_controls = styles.stretch(pn.Param(m, parameters=["n_restarts"], show_name=False, width=240))
        self.restart_button = pn.widgets.Button(label="Random restarts", width=130)
        self.restart_button.on_click(lambda event: self._start_restarts())
        self.clear_button = pn.widgets.Button(label="Clear", width=70)
        self.clear_button.on_click(lambda event: m.clear_restarts())
        self.restart_text = components.HTML("", sizing_mode="stretch_width")

    def _optimizer_widgets(self):
        o = self.model.optimizer
        shapes = {p.replace("sigma", "σ").replace("_", " "): p for p in o.param.parameterization.objects}
        return styles.stretch(pn.Param(o, show_name=False, sizing_mode="stretch_width",
                                       widgets={"parameterization": {"options": shapes}},
                                       parameters=[p for p in o.param if p not in ("name", "eps")]))

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

    # -- runs -> plots ----------------------------------------------------------------------------------
    def _rebuild_panels(self):
        runs = self.model.runs
        if [p.index for p in self.panels] != list(range(len(runs))) or any(
                p.density.renderers[-1].glyph.line_color != COLORS[r.divergence] for p, r in zip(self.panels, runs)):
            self.panels = [RunPanel(self, i, r, self.p_source) for i, r in enumerate(runs)]
            self.cards.objects = [p.view for p in self.panels]
            if self.outputs is not None:  # a notebook: the new cards join what the outputs share
                self.outputs.adopt()

    def _on_generation(self, *events):
        self._rebuild_panels()
        if self.model.sigma_fixed is not None:  # the runs' divergences or start may have changed
            self._show_curves()
        self._full_push()
        m = self.model
        self.status.object = banner(f"↺ Runs restarted from q = N({m.mu0:.2f}, {m.sigma0:.2f}²): "
                                    f"{m.reset_reason}.")

    # -- layout -----------------------------------------------------------------------------------------
    def __panel__(self):
        # the controls beside the run cards (above them on a narrow screen); the landscape spans the width below
        controls = [styles.wrapping_row(self.play, self.step_button, self.reset_button), self.original_button,
                    self.speed, pn.pane.Markdown("**Optimizer**", margin=(0, 10)), self.settings,
                    self.optimizer_params, styles.wrapping_row(self.add_select, self.add_button, align_items="flex-end")]
        landscape_controls = styles.wrapping_row(self.landscape_controls, self.restart_controls,
                                                 self.restart_button, self.clear_button,
                                                 align_items="flex-end", sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown(
                "## 4. Optimization dynamics\nEvery run starts at the Explore section's q and follows the gradient "
                "of its divergence. Forward KL spreads over all the modes; reverse KL slides onto the nearest one "
                "and stays there — a **local** minimum when that mode is not the heaviest. Moving q or the target "
                "restarts the runs.", sizing_mode="stretch_width"),
            self.status,
            styles.beside(controls, [self.cards], width=300),
            landscape_controls, self.landscape_pane, self.restart_text,
            sizing_mode="stretch_width")
