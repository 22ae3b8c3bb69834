"""The widgets, panes, ticker and figure hooks the sections build with: Panel's stock ones unless a server speedup
(:mod:`klpanel.server.speedups`) has swapped its own in.

Sections read these names at build time (``components.Slider.from_param(...)``, never ``from .components import
Slider``), so a page built after a swap uses the swapped class and views never import the server. Swapping is
:func:`swap`; :func:`restore` puts the stock one back.
"""

from __future__ import annotations

import weakref
from typing import Callable

import panel as pn


class Ticker:
    """``Ticker(callback, period_ms, doc=None)``: call ``callback()`` every ``period`` ms once started, until
    stopped; Panel's periodic callback (served, in Jupyter, in a script). ``running`` says whether it ticks; a
    new ``period`` while it runs takes effect from the next tick. ``doc`` is for tickers that need it."""

    def __init__(self, callback: Callable[[], None], period: int, doc=None):
        self.callback = callback
        self._period = int(period)
        self._panel = None
        _TICKERS.add(self)

    @property
    def running(self) -> bool:
        return self._panel is not None and bool(self._panel.running)

    @property
    def period(self) -> int:
        return self._period

    @period.setter
    def period(self, value: int) -> None:
        self._period = int(value)
        if self._panel is not None and self._panel.period != self._period:
            self._panel.period = self._period

    def start(self) -> None:
        if self._panel is None:
            self._panel = pn.state.add_periodic_callback(self.callback, period=self._period, start=False)
            # a background job: Panel's "busy" state is process-wide and every session's spinner follows it
            self._panel._background = True
            self._panel.log = False  # Panel logs each tick's start and end at INFO: two records a tick
        if not self._panel.running:
            self._panel.period = self._period
            self._panel.start()

    def stop(self) -> None:
        if self._panel is not None and self._panel.running:
            self._panel.stop()


#: every Ticker made (stock or swapped in), while it exists
_TICKERS: "weakref.WeakSet[Ticker]" = weakref.WeakSet()


def running_tickers() -> list:
    """The Tickers ticking now (in a notebook: the animations still running in the kernel)."""
    return [t for t in list(_TICKERS) if t.running]


Slider = pn.widgets.FloatSlider
Buttons = pn.widgets.RadioButtonGroup
HTML = pn.pane.HTML
Markdown = pn.pane.Markdown

#: the render level of what a frame or a slider step changes: None, Bokeh's default for each renderer; a speedup
#: that makes BokehJS clip the ``overlay`` level to the frame puts them there (a repaint then redraws one layer, not
#: the axes and grid)
REPAINT_LEVEL = None

#: functions called with every Bokeh figure a section makes (e.g. to add BokehJS code to the page)
FIGURE_HOOKS: list[Callable] = []

STOCK = {"Slider": Slider, "Buttons": Buttons, "HTML": HTML, "Markdown": Markdown, "Ticker": Ticker,
         "REPAINT_LEVEL": REPAINT_LEVEL}


def swap(name: str, replacement) -> None:
    """Sections built from now on use ``replacement`` for ``name`` (one of :data:`STOCK`)."""
    if name not in STOCK:
        raise KeyError(name)
    globals()[name] = replacement


def restore(name: str) -> None:
    globals()[name] = STOCK[name]


def current(name: str):
    return globals()[name]


def repaint_level() -> dict:
    """``level=`` keywords for a renderer or annotation that changes often (none: Bokeh's default)."""
    return {} if REPAINT_LEVEL is None else {"level": REPAINT_LEVEL}


def figure_hooks(fig):
    """Run :data:`FIGURE_HOOKS` on ``fig``; ``fig``."""
    for hook in FIGURE_HOOKS:
        hook(fig)
    return fig

