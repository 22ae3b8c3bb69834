"""A session's periodic callback, with the period changeable while it runs: Bokeh's own when served, Panel's
elsewhere.

``pn.state.add_periodic_callback`` wraps every tick in Panel's ``PeriodicCallback._periodic_callback``: a
parameter set (its ``counter``), the callback's name looked up twice for the log records, the coroutine checks,
the busy-state bookkeeping and two ``set_curdoc`` contexts, on top of the Bokeh periodic callback it registers
underneath. For the dynamics section's 30 ticks a second that layer was ~0.2 ms of server CPU per frame (served,
four runs animating: 0.62 ms outside the tick with it, 0.40 without; ``benchmarks/README.md``).

:class:`Ticker` registers a coroutine directly with ``Document.add_periodic_callback`` when the document belongs
to a server session: Bokeh runs it under the session's lock (on the event loop: :mod:`.onloop`), with this
session as Panel's current document. Anywhere else (Jupyter, a script) it is Panel's periodic callback, which
knows how to tick there.
"""

from __future__ import annotations

from typing import Callable

import panel as pn
from panel.io.state import set_curdoc


class Ticker:
    """``Ticker(callback, period_ms, doc)``: call ``callback()`` every ``period`` ms once started, until stopped.

    ``running`` says whether it ticks; setting ``period`` while it runs takes effect from the next tick."""

    def __init__(self, callback: Callable[[], None], period: int, doc=None):
        self.callback = callback
        self._period = int(period)
        self._doc = doc if doc is not None and doc.session_context is not None else None
        self._handle = None  # Bokeh's periodic callback, while served and running
        self._panel = None  # Panel's, elsewhere

    @property
    def served(self) -> bool:
        return self._doc is not None

    @property
    def running(self) -> bool:
        if self._panel is not None:
            return bool(self._panel.running)
        return self._handle is not None

    @property
    def period(self) -> int:
        return self._period

    @period.setter
    def period(self, value: int) -> None:
        value = int(value)
        if value == self._period:
            return
        self._period = value
        if self._panel is not None:
            self._panel.period = value
        elif self._handle is not None:  # a Bokeh periodic callback's period is fixed: register anew
            self._remove()
            self._add()

    def start(self) -> None:
        if self.running:
            return
        if self._doc is None:
            if self._panel is None:
                self._panel = pn.state.add_periodic_callback(self.callback, period=self._period, start=False)
                # a background job: Panel's "busy" state is process-wide and every session's template spinner
                # follows it (a busy flip per tick queued an update on every other session's document)
                self._panel._background = True
                self._panel.log = False  # Panel logs each tick's start and end at INFO: two records a tick
            self._panel.period = self._period
            self._panel.start()
        else:
            self._add()

    def stop(self) -> None:
        if self._panel is not None:
            if self._panel.running:
                self._panel.stop()
        elif self._handle is not None:
            self._remove()

    def _add(self) -> None:
        self._handle = self._doc.add_periodic_callback(self._tick, self._period)

    def _remove(self) -> None:
        handle, self._handle = self._handle, None
        if self._doc.session_context is None:  # destroyed with its session: Bokeh dropped its callbacks itself
            return
        try:
            self._doc.remove_periodic_callback(handle)
        except ValueError:  # already removed
            pass

    async def _tick(self) -> None:
        with set_curdoc(self._doc):
            self.callback()
