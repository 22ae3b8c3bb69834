"""Controls of the target p: the original's generator (modes, spread, weight decay), named presets,
and an "edit components" panel whose bad input shows a message and keeps the last valid target."""

from __future__ import annotations

import panel as pn
import param

from ..models.explorer import PRESETS, Explorer
from ..models.target import MAX_MODES
from . import components


class TargetControls(pn.viewable.Viewer):
    """Generator widgets bound to ``explorer.target``; presets and the component editor bound to the
    explorer. Sliders send their value on release (``value_throttled``): each change re-optimises."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        self._applying = False
        e, t = self.explorer, self.explorer.target
        self.modes = components.Buttons.from_param(
            t.param.n_modes, options=list(range(1, MAX_MODES + 1)), name="Number of modes",
            color="primary", sizing_mode="stretch_width")
        self.spread = components.Slider.from_param(t.param.spread, name="Spread", throttled=True,
                                                        sizing_mode="stretch_width")
        self.decay = components.Slider.from_param(t.param.decay, name="Weight decay", throttled=True,
                                                       sizing_mode="stretch_width")
        self.presets = pn.widgets.Select(label="Preset", options=["—", *PRESETS], value="—",
                                         sizing_mode="stretch_width")
        self.presets.param.watch(self._on_preset, "value")
        self.status = pn.pane.Markdown(self._status(), margin=(0, 10), styles={"font-size": "0.9em"})
        text = {"sizing_mode": "stretch_width"}
        self.weights = pn.widgets.TextInput.from_param(e.param.weights_text, name="Weights", **text)
        self.means = pn.widgets.TextInput.from_param(e.param.means_text, name="Means", **text)
        self.sigmas = pn.widgets.TextInput.from_param(e.param.sigmas_text, name="σ (standard deviations)", **text)
        self.apply = pn.widgets.Button(label="Apply components", color="primary")
        self.apply.on_click(lambda event: self.explorer.apply_components())
        self.message = pn.pane.Alert(e.components_message, alert_type="danger", visible=bool(e.components_message),
                                     sizing_mode="stretch_width")
        e.param.watch(self._on_message, "components_message")
        t.param.watch(self._on_target, "weights")
        self.editor = self._editor()

    def _status(self) -> str:
        t = self.explorer.target
        if t.mode == "custom":
            return f"Target: {t.weights.size} custom components (move a generator control to go back)."
        return f"Target: {t.n_modes} generated modes."

    def _on_target(self, *events):
        self.status.object = self._status()
        if not self._applying:  # the target moved away from the preset: show no preset
            self.presets.value = "—"

    def _on_preset(self, event):
        if event.new in PRESETS:
            self._applying = True
            try:
                self.explorer.apply_preset(event.new)
            finally:
                self._applying = False

    def _on_message(self, event):
        self.message.param.update(object=event.new or "", visible=bool(event.new))

    def _editor(self) -> pn.Card:
        """The component editor, collapsed; its fields join the page when it is first opened (until then they would
        cost every new session their Bokeh models for nothing)."""
        fields = [pn.pane.Markdown("Comma-separated, one entry per component (weights are normalised; "
                                   f"at most {MAX_MODES} components).", margin=(0, 10)),
                  self.weights, self.means, self.sigmas, self.apply, self.message]
        card = pn.Card(title="Edit components", collapsed=True, sizing_mode="stretch_width")

        def opened(event=None):
            if not card.collapsed and not card.objects:
                card.objects = fields
        card.param.watch(opened, "collapsed")
        return card

    def __panel__(self):
        return pn.Column(self.modes, self.spread, self.decay, self.presets, self.status, self.editor,
                         sizing_mode="stretch_width")
