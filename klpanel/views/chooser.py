"""Which registry divergences are on show, and their parameters (α, β, ...)."""

from __future__ import annotations

import panel as pn
import param

from ..numerics import divergences
from ..models.explorer import OPTION_SPECS, Explorer


class DivergenceChooser(pn.viewable.Viewer):
    """Check boxes over the registry (labels shown, names stored) and one throttled slider per
    divergence parameter, on the page while its divergence is selected. A slider is made when its divergence is
    first selected (``sliders`` holds those made so far; :meth:`slider` makes one)."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        e = self.explorer
        self.selector = pn.widgets.CheckBoxGroup.from_param(
            e.param.selected, options={d.label: d.name for d in divergences.REGISTRY.values()},
            name="Divergences", inline=False)
        self.sliders: dict = {}
        # the page holds the sliders of the selected divergences only: a hidden widget still costs every new session
        # its Bokeh models, and most visitors never select a divergence with a parameter
        self._layout = pn.Column(pn.pane.Markdown("**Divergences on show**", margin=(0, 10)), self.selector,
                                 sizing_mode="stretch_width")
        e.param.watch(self._show_sliders, "selected")
        self._show_sliders()

    def slider(self, option: str):
        """The slider of ``option`` (a key of ``OPTION_SPECS``), made on first use."""
        if option not in self.sliders:
            self.sliders[option] = pn.widgets.FloatSlider.from_param(
                self.explorer.options.param[option], throttled=True, step=0.05, sizing_mode="stretch_width")
        return self.sliders[option]

    def _show_sliders(self, *events):
        shown = [self.slider(option) for option, (name, _) in OPTION_SPECS.items() if name in self.explorer.selected]
        for slider in self.sliders.values():
            slider.visible = slider in shown
        if self._layout.objects[2:] != shown:
            self._layout.objects = [*self._layout.objects[:2], *shown]

    def __panel__(self):
        return self._layout
