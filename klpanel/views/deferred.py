"""Work a served session does a little later, once for a burst of requests: the last request wins.

Used where a change should not pay for a slower follow-up at once: the runs restart from the Explore q once it
has rested (a drag does not reset them on every step), the dynamics section follows a new target once it has
rested (the optima's message leaves first), q reaches the URL once it has rested, the spectrum recomputes once the
target has rested.
"""

from __future__ import annotations

from functools import partial

import panel as pn
from panel.io.state import set_curdoc


def served_doc():
    """The current document if it belongs to a server session, else None (Jupyter, tests)."""
    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


class Deferred:
    """``Deferred(fn, delay_ms)(doc)`` runs ``fn()`` on ``doc``'s event loop after ``delay_ms`` (0: on the next
    tick), unless it is called again before then: only the latest call runs. ``doc`` None runs ``fn`` at once."""

    def __init__(self, fn, delay_ms: int = 0):
        self.fn, self.delay_ms = fn, delay_ms
        self._token = None

    def __call__(self, doc) -> None:
        if doc is None:
            self.fn()
            return
        token = self._token = object()
        callback = partial(self._run, token, doc)
        if self.delay_ms:
            doc.add_timeout_callback(callback, self.delay_ms)
        else:
            doc.add_next_tick_callback(callback)

    def _run(self, token, doc) -> None:
        if token is self._token:  # else a later call superseded this one
            with set_curdoc(doc):
                self.fn()
