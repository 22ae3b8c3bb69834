"""The spread phase plot tab: the optimal σ* and μ* of each divergence as the target's modes move apart.

The two plots are ``plots.phase`` of the computed curves, served as a HoloViews pane of a DynamicMap that changes
when curves arrive or the target (the spread mark) changes: seconds of computing per change, never per frame.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn

from ... import plots
from ...numerics import divergences
from ...models import spectrum as sp
from .. import components
from ..plotting import framewise, holoviews_pane, look_hook
from .curves import NOTE_STYLE, empty_curve
from .jobs import Job, ProgressBar


class PhaseTab:
    """The spread phase plot part of :class:`~.section.SpectrumSection`."""

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
        self.phase_plot = holoviews_pane(hv.DynamicMap(pn.bind(self._phase_picture, self.param.phase_drawn)))
        self._show_phase_note()

    def _phase_picture(self, drawn):
        """σ* and μ* of the computed curves (empty ones, named, before any), the target's spread marked."""
        curves = drawn[-1] if drawn and drawn[-1] else {n: empty_curve() for n in self.phase.names}
        picture = plots.phase(self.explorer.target, curves=curves)
        # a toolbar per figure, at its right (a layout's merged toolbar would carry HoloViews' logo)
        return framewise(picture).opts(hv.opts.Overlay(toolbar="right", hooks=[look_hook()]),
                                       hv.opts.Layout(merge_tools=False))

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
        t = self.explorer.target
        with pn.io.hold():
            self.phase_drawn = (t.mode, t.spread, curves)  # equal to the last only if nothing on the plot changes
            self._show_phase_note()

    def _show_phase_note(self):
        t = self.explorer.target
        generator = t.mode == "generator"
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
