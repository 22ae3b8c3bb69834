"""``TCP_NODELAY`` on every websocket the Bokeh server opens.

A Bokeh message is several websocket frames written one after the other; neither Bokeh nor Panel turns Nagle's
algorithm off, so a frame written while the previous one is unacknowledged waited for the browser's delayed ACK
(tens of milliseconds late).
"""

from __future__ import annotations

from bokeh.server.views import ws

from . import fits

WRITTEN_FOR = {"bokeh": "3.10", "tornado": "6"}

_Handler = ws.WSHandler
_STOCK_OPEN = _Handler.__dict__.get("open")


def _open_without_nagle(self):
    self.set_nodelay(True)  # a message's frames leave at once, not after the browser's delayed ACK
    return _STOCK_OPEN(self)


def installed() -> bool:
    return _Handler.__dict__.get("open") is _open_without_nagle


def install() -> bool:
    """``TCP_NODELAY`` on every websocket Bokeh's server opens in this process (idempotent); False (stock kept)
    outside ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("nodelay", WRITTEN_FOR) or not callable(_STOCK_OPEN) or not callable(getattr(_Handler, "set_nodelay", None)):
        return False
    _Handler.open = _open_without_nagle
    return True


def uninstall() -> None:
    if installed():
        _Handler.open = _STOCK_OPEN
