"""The spread phase plot tab: the optimal σ* and μ* of each divergence as the target's modes move apart."""

from __future__ import annotations

import panel as pn
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool, Span

from ...numerics import divergences
from ...models import spectrum as sp
from .. import components
from ..plotting import COLORS, DASHES, Q_COLOR
from .curves import NOTE_STYLE, broken_columns, curve_figure
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
