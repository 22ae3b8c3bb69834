"""Work a served session does a little later, once for a burst of requests: the last request wins.

Used where a change should not pay for a slower follow-up at once: the runs restart from the Explore q once it
has rested (a drag does not reset them on every step), the dynamics section follows a new target once it has
rested (the optima's message leaves first), q reaches the URL once it has rested, the spectrum recomputes once the
target has rested.
"""

from __future__ import annotations

import math
import time
from functools import partial

import panel as pn
from panel.io.state import set_curdoc


def served_doc():
    """The current document if it belongs to a server session, else None (Jupyter, tests)."""
    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


class Deferred:
    """``Deferred(fn, delay_ms)(doc)`` runs ``fn()`` on ``doc``'s event loop after ``delay_ms`` (0: on the next
    tick), unless it is called again before then: only the latest call runs. ``doc`` None runs ``fn`` at once.

    A call moves the due time; it arms a callback only when none is pending on that document, and a callback
    that fires before the due time re-arms itself for the rest. A drag calls this at every step: each Bokeh
    timeout callback costs ~0.5 ms of the step (an event, a session wrapper, a timer), and one armed per call
    fired later for nothing."""

    def __init__(self, fn, delay_ms: int = 0):
        self.fn, self.delay_ms = fn, delay_ms
        self._due = 0.0
        self._pending = None  # the document a callback is armed on

    def __call__(self, doc) -> None:
        if doc is None:
            self.fn()
            return
        self._due = time.monotonic() + self.delay_ms / 1000.0
        if self._pending is not doc:
            self._arm(doc, self.delay_ms)

    def _arm(self, doc, delay_ms: int) -> None:
        self._pending = doc
        callback = partial(self._fire, doc)
        if delay_ms > 0:
            doc.add_timeout_callback(callback, delay_ms)
        else:
            doc.add_next_tick_callback(callback)

    def _fire(self, doc) -> None:
        self._pending = None
        left = self._due - time.monotonic()
        if left > 0.001:  # called again since this was armed: wait for the rest
            self._arm(doc, max(1, math.ceil(1000.0 * left)))
            return
        with set_curdoc(doc):
            self.fn()
