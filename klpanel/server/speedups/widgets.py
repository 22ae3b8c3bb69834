"""Sliders and buttons the server answers without Panel's 50 ms debounce, and text panes whose updates send the
new text alone; swapped into :mod:`klpanel.views.components` for pages built after :func:`install`.

A slider change is handled at the loop's next turn (changes still coalesce: Panel keeps the latest value) without
recomputing the design's properties or flipping Panel's process-wide busy state; Panel's HTML/Markdown panes
recompute and resend every property of their model (the stylesheets too, which re-lays out the whole page) for a
new ``object``; these send ``text``.
"""

from __future__ import annotations

from contextlib import contextmanager

import panel as pn

from klpanel.views import components

from . import fits

WRITTEN_FOR = {"panel": "1.10", "bokeh": "3.10"}

try:  # Panel's guard that keeps a change from the browser from being sent back to it
    from panel.reactive import _syncing
except ImportError:  # pragma: no cover - a Panel without it: Panel's own handling is used
    _syncing = None


@contextmanager
def _editable(obj, names):
    """Like Panel's ``edit_readonly`` for the parameters ``names`` of ``obj`` only (Panel's flips the readonly and
    constant flags of every parameter the widget has, ~40 for a slider, to set one or two of them)."""
    params = [obj.param[n] for n in names]
    saved = [(p.readonly, p.constant) for p in params]
    for p in params:
        p.readonly = p.constant = False
    try:
        yield
    finally:
        for p, (readonly, constant) in zip(params, saved):
            p.readonly, p.constant = readonly, constant


class _PlainUpdates:
    """Mixin: a parameter change reaches the model without recomputing the design's properties. Panel's
    ``Reactive._update_properties`` computes them (``Design.params``) on every change only to merge them
    into a change of ``stylesheets``; for any other change the result is the same without them."""

    def _update_properties(self, *events, doc):
        if any(event.name == "stylesheets" for event in events):
            return super()._update_properties(*events, doc=doc)
        return self._process_param_change({event.name: event.new for event in events})


class LiveSlider(_PlainUpdates, pn.widgets.FloatSlider):
    """A FloatSlider handled at the event loop's next turn instead of 50 ms after a change (see the module)."""

    _debounce = 0
    _busy__ignore = ["value", "value_throttled"]

    def _process_events(self, events) -> None:
        """A value from the browser: Panel's ``Syncable._process_events`` with only the changed parameters made
        writable (``_editable``); any other event goes through Panel's own."""
        if pn.config.throttled:  # as Panel's sliders: only the released value counts
            events.pop("value", None)
        if _syncing is None or not events or not set(events) <= {"value", "value_throttled"}:
            return super()._process_events(events)
        doc = pn.state.curdoc
        if doc is not None:
            self._in_process__events[doc] = events
        try:
            params = self._process_property_change(events)
            with _editable(self, list(params)), _syncing(self, list(params)):
                self.param.update(**params)
        finally:
            if doc is not None:
                self._in_process__events.pop(doc, None)


class LiveButtons(_PlainUpdates, pn.widgets.RadioButtonGroup):
    """A RadioButtonGroup handled 5 ms after a click instead of 50 ms (see the module)."""

    _debounce = 5
    _busy__ignore = ["value"]


class _TextUpdates:
    """Mixin for a Panel HTML/Markdown pane: an update of ``object`` sets the model's ``text`` alone."""

    def _update(self, ref, model) -> None:
        model.update(text=self._transform_object(self.object)["object"])


class LiveHTML(_TextUpdates, pn.pane.HTML):
    """``pn.pane.HTML`` whose updates send only the new text (see the module)."""


class LiveMarkdown(_TextUpdates, pn.pane.Markdown):
    """``pn.pane.Markdown`` whose updates send only the new text (see the module)."""


LIVE = {"Slider": LiveSlider, "Buttons": LiveButtons, "HTML": LiveHTML, "Markdown": LiveMarkdown}


def installed() -> bool:
    return components.current("Slider") is LiveSlider


def install() -> bool:
    """Pages built from now on use the classes above (idempotent); False outside ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("widgets", WRITTEN_FOR) or _syncing is None:
        return False
    for name, cls in LIVE.items():
        components.swap(name, cls)
    return True


def uninstall() -> None:
    for name in LIVE:
        components.restore(name)
