"""Which registry divergences are on show, and their parameters (α, β, ...)."""

from __future__ import annotations

import panel as pn
import param

from ..numerics import divergences
from ..models.explorer import OPTION_SPECS, Explorer


class DivergenceChooser(pn.viewable.Viewer):
    """Check boxes over the registry (labels shown, names stored) and one throttled slider per
    divergence parameter, visible while its divergence is selected."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        e = self.explorer
        self.selector = pn.widgets.CheckBoxGroup.from_param(
            e.param.selected, options={d.label: d.name for d in divergences.REGISTRY.values()},
            name="Divergences", inline=False)
        self.sliders = {
            option: pn.widgets.FloatSlider.from_param(e.options.param[option], throttled=True, step=0.05,
                                                      sizing_mode="stretch_width")
            for option in OPTION_SPECS}
        e.param.watch(self._show_sliders, "selected")
        self._show_sliders()

    def _show_sliders(self, *events):
        for option, slider in self.sliders.items():
            slider.visible = OPTION_SPECS[option][0] in self.explorer.selected

    def __panel__(self):
        return pn.Column(pn.pane.Markdown("**Divergences on show**", margin=(0, 10)), self.selector,
                         *self.sliders.values(), sizing_mode="stretch_width")
