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
        self._fields: dict | None = None  # the component editor's fields, made on first use (:meth:`fields`)
        t.param.watch(self._on_target, "weights")
        self.editor = self._editor()

    def fields(self) -> dict:
        """The component editor's fields (``weights``, ``means``, ``sigmas``, ``apply``, ``message``; also attributes
        of the same names), made when the editor is first opened or a field is first used: until then they would
        cost every new session their construction for nothing."""
        if self._fields is None:
            e, text = self.explorer, {"sizing_mode": "stretch_width"}
            apply = pn.widgets.Button(label="Apply components", color="primary")
            apply.on_click(lambda event: self.explorer.apply_components())
            self._fields = {
                "weights": pn.widgets.TextInput.from_param(e.param.weights_text, name="Weights", **text),
                "means": pn.widgets.TextInput.from_param(e.param.means_text, name="Means", **text),
                "sigmas": pn.widgets.TextInput.from_param(e.param.sigmas_text, name="σ (standard deviations)", **text),
                "apply": apply,
                "message": pn.pane.Alert(e.components_message, alert_type="danger",
                                         visible=bool(e.components_message), sizing_mode="stretch_width")}
            e.param.watch(self._on_message, "components_message")
        return self._fields

    weights = property(lambda self: self.fields()["weights"], doc="The weights field")
    means = property(lambda self: self.fields()["means"], doc="The means field")
    sigmas = property(lambda self: self.fields()["sigmas"], doc="The σ field")
    apply = property(lambda self: self.fields()["apply"], doc="The apply button")
    message = property(lambda self: self.fields()["message"], doc="The editor's message (bad input)")

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
        card = pn.Card(title="Edit components", collapsed=True, sizing_mode="stretch_width")

        def opened(event=None):
            if not card.collapsed and not card.objects:
                fields = self.fields()
                card.objects = [pn.pane.Markdown("Comma-separated, one entry per component (weights are normalised; "
                                                 f"at most {MAX_MODES} components).", margin=(0, 10)),
                                *(fields[k] for k in ("weights", "means", "sigmas", "apply", "message"))]
        card.param.watch(opened, "collapsed")
        return card

    def __panel__(self):
        return pn.Column(self.modes, self.spread, self.decay, self.presets, self.status, self.editor,
                         sizing_mode="stretch_width")
