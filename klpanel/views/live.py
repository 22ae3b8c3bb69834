"""Panel components for what changes while the page is open: sliders the server answers without Panel's 50 ms
debounce, and text panes whose updates send the new text and nothing else.

Panel handles a widget's change 50 ms after it arrives (``Syncable._debounce``) so that a burst of changes becomes
one; these sliders are handled at the event loop's next turn and the buttons after 5 ms: changes arriving while one
is pending still coalesce (Panel keeps the latest value), so a drag cannot flood the server, and a released slider is
answered at once. Their value changes skip the design's properties (``_PlainUpdates``), and they do not mark the
process busy while handled (``_busy__ignore``): Panel's process-wide busy state feeds busy indicators only, the
app's template shows none, and its bookkeeping (param updates and watchers for every event of every widget) was
~30 % of the server's work for a slider step.

Panel's HTML and Markdown panes answer a new ``object`` by recomputing every property of their Bokeh model
(``_get_properties``: the design's stylesheets and modifiers, ~2-3 ms of server CPU per update here) and setting
them all. Their stylesheets are not the ones they were rendered with: at a pane's first update the theme's
stylesheet comes back (the template's design hook removes it at render), a stylesheet change that makes BokehJS
lay out the whole page again (~30-270 ms on this page) and makes the server re-collect the document's models.
Only the text of these panes ever changes, so only the text is sent; they keep the styling every other pane of
the page has (the one they were rendered with).
"""

from __future__ import annotations

from contextlib import contextmanager

import panel as pn

try:  # Panel's guard that keeps a change from the browser from being sent back to it
    from panel.reactive import _syncing
except ImportError:  # pragma: no cover - a Panel without it: Panel's own handling is used
    _syncing = None


@contextmanager
def _editable(obj, names):
    """Like Panel's ``edit_readonly`` for the parameters ``names`` of ``obj`` only (Panel's flips the readonly and
    constant flags of every parameter the widget has - ~40 for a slider, ~2.5 ms per change measured on the served
    μ slider - to set one or two of them)."""
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
    ``Reactive._update_properties`` computes them (``Design.params``, ~0.5-1 ms) on every change only to merge them
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
