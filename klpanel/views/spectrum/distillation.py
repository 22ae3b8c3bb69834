"""The distillation losses tab: a card per loss, with its optimal student as the loss' parameter moves.

Each card's plot is its loss' panel of ``plots.distillation`` for the computed curves, served as a HoloViews pane of a
DynamicMap that changes when curves arrive; the card's slider (dragged: 20+ steps a second) moves the plot's mark by
a direct write.
"""

from __future__ import annotations

from functools import partial

import holoviews as hv
import panel as pn

from ... import plots
from ...numerics import divergences
from ...models import spectrum as sp
from ...plots.style import COLORS
from .. import components
from ..plotting import framewise, holoviews_pane, look_hook, vline_spans
from .curves import NOTE_STYLE, empty_curve, optimum_text
from .jobs import Job, ProgressBar

NOT_DRAWN = object()

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


class DistillationTab:
    """The distillation losses part of :class:`~.section.SpectrumSection`."""

    def _build_distillation(self):
        self.distill_progress = ProgressBar()
        self.distill_status = components.Markdown("", margin=(0, 10))
        self.distill_job = Job(self, self.distill_progress, self.distill_status)
        self.distill_cards, self.distill_sliders, self.distill_lines = {}, {}, {}
        self.distill_plots, self.distill_marks = {}, {name: [] for name in sp.DISTILLATION}
        self._distill_layout = (NOT_DRAWN, None)  # (what it draws, plots.distillation of it): one for every card
        for name, loss in sp.DISTILLATION.items():
            d = divergences.REGISTRY[name]
            spec = {s.name: s for s in d.params}[loss.param]
            lo, hi = loss.sweep
            slider = pn.widgets.FloatSlider(label=spec.doc, start=lo,
                                            end=hi, step=(hi - lo) / (sp.PARAM_POINTS - 1),
                                            value=min(max(spec.default, lo), hi), sizing_mode="stretch_width")
            slider.param.watch(partial(self._show_distill, name), "value")
            plot = holoviews_pane(hv.DynamicMap(pn.bind(self._distill_picture, self.param.distill_drawn, name)))
            line = components.Markdown(optimum_text(None, 0, d.label, loss.param), sizing_mode="stretch_width")
            self.distill_sliders[name], self.distill_lines[name], self.distill_plots[name] = slider, line, plot
            self.distill_cards[name] = self._card(
                name, loss.source, [slider, plot, line,
                                    pn.pane.Markdown(loss.moves, styles=NOTE_STYLE, sizing_mode="stretch_width")])
        self.distill_cards["minillm"] = self._card("reverse_kl", sp.SOURCES["reverse_kl"], [])
        self.distill_cards["f-distill"] = pn.Column(
            pn.pane.HTML('<h3 style="margin:0">f-distill</h3>'),
            pn.pane.Markdown(sp.SOURCES["f-distill"] + " Forward and reverse KL as above, and:",
                             sizing_mode="stretch_width"),
            *(pn.pane.LaTeX(f"$${divergences.REGISTRY[n].latex}$$", renderer="katex", sizing_mode="stretch_width",
                            styles={"font-size": "0.85em"}) for n in sp.F_DISTILL if n not in sp.SOURCES),
            sizing_mode="stretch_width", margin=0,
            styles={"border": "1px solid #9aa5b1", "border-radius": "8px", "padding": "8px"})

    def _distill_picture(self, drawn, name):
        """Loss ``name``'s panel of ``plots.distillation``: μ*, σ* of the computed curves (empty before), the
        forward- and reverse-KL optima, the slider's value marked."""
        if self._distill_layout[0] is not drawn:
            curves, refs = drawn if drawn is not None else ({n: empty_curve() for n in sp.DISTILLATION}, None)
            values = {n: s.value for n, s in self.distill_sliders.items()}
            self._distill_layout = (drawn, plots.distillation(self.explorer.target, values=values, curves=curves,
                                                              references=refs))
        panel = self._distill_layout[1].values()[list(sp.DISTILLATION).index(name)]
        return framewise(panel).opts(toolbar="right", hooks=[look_hook(None, self._mark_drawn, name)])

    def _mark_drawn(self, name, plot):
        """A distillation card's plot was drawn: its slider's mark is its last vertical span."""
        self.distill_marks[name].append(vline_spans(plot)[-1])

    def _card(self, name, source, body):
        d = divergences.REGISTRY[name]
        return pn.Column(
            pn.pane.HTML(f'<h3 style="margin:0;font-size:19px;color:{COLORS[name]}">{d.label}</h3>'),
            pn.pane.Markdown(f"*{source}*", sizing_mode="stretch_width"),
            pn.pane.LaTeX(f"$${d.latex}$$", renderer="katex", sizing_mode="stretch_width",
                          styles={"font-size": "0.9em"}),
            *body, sizing_mode="stretch_width", margin=0,
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
            self.distill_drawn = (curves, refs)
            for name in curves:
                self._show_distill(name)

    def _show_distill(self, name, *events):
        value = self.distill_sliders[name].value
        for mark in self.distill_marks[name]:
            mark.location = value
        curve = self.distill_curves.get(name)
        label = divergences.REGISTRY[name].label
        param_name = {"alpha": "α", "beta": "β"}.get(sp.DISTILLATION[name].param, sp.DISTILLATION[name].param)
        self.distill_lines[name].object = optimum_text(curve, curve.at(value) if curve else 0, label, param_name,
                                                       self._pending)
