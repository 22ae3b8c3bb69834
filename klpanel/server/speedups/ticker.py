"""A session's periodic callback registered with Bokeh directly when served, swapped into
:mod:`klpanel.views.components` by :func:`install`.

Panel's ``add_periodic_callback`` wraps every tick in its own bookkeeping (a parameter set, log-name lookups, busy
state, two ``set_curdoc`` contexts) on top of the Bokeh periodic callback underneath; at 30 ticks a second that
layer was a measurable share of a frame. Outside a server session (Jupyter, a script) this is the stock ticker.
"""

from __future__ import annotations

from typing import Callable

from panel.io.state import set_curdoc

from klpanel.views import components

from . import fits

WRITTEN_FOR = {"panel": "1.10", "bokeh": "3.10"}


_Stock = components.STOCK["Ticker"]


class Ticker(_Stock):
    """The stock ticker's interface; served, its ticks are Bokeh's periodic callback on the session's document."""

    def __init__(self, callback: Callable[[], None], period: int, doc=None):
        super().__init__(callback, period, doc)
        self._doc = doc if doc is not None and doc.session_context is not None else None
        self._handle = None  # Bokeh's periodic callback, while served and running

    @property
    def served(self) -> bool:
        return self._doc is not None

    @property
    def running(self) -> bool:
        return super().running if self._doc is None else self._handle is not None

    @property
    def period(self) -> int:
        return self._period

    @period.setter
    def period(self, value: int) -> None:
        if self._doc is None:
            _Stock.period.fset(self, value)
            return
        value = int(value)
        if value == self._period:
            return
        self._period = value
        if self._handle is not None:  # a Bokeh periodic callback's period is fixed: register anew
            self._remove()
            self._add()

    def start(self) -> None:
        if self._doc is None:
            super().start()
        elif self._handle is None:
            self._add()

    def stop(self) -> None:
        if self._doc is None:
            super().stop()
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


def installed() -> bool:
    return components.current("Ticker") is Ticker


def install() -> bool:
    """Sections built from now on tick through :class:`Ticker` (idempotent); False outside ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("ticker", WRITTEN_FOR):
        return False
    components.swap("Ticker", Ticker)
    return True


def uninstall() -> None:
    components.restore("Ticker")
