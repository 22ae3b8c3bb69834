"""One animation frame: its model changes held, then written to the browser as one message in one socket write.

``pn.io.hold()`` is the general tool and this module falls back to it; inside a locked session callback on the
server's event loop (a periodic tick) it does more than a frame needs. After writing the held changes it schedules
a next-tick session callback to await the write futures (tornado makes a task per websocket frame, and a
Bokeh message is three frames or more), which itself goes through the session's lock, and the
``SessionCallbackAdded``/``Removed`` document events. (Its saving is below what the served measurements here can
separate from the machine's drift, ~0.1 ms of ~3 ms a frame at most; it is kept because it is what a frame needs
and nothing more, and it falls back to ``pn.io.hold()`` wherever its conditions do not hold.)

:func:`frame` holds the document's events like ``pn.io.hold()``, then serializes the patch events into one
``PATCH-DOC`` message exactly as Panel does (``protocol.create``, which :mod:`.serialization` makes cheap) and
writes its websocket frames (header, metadata, content, buffers) to each connection with a single
``IOStream.write``: the same bytes Bokeh's messages are made of, with no task per frame and no follow-up
callback (a failed write is logged when it completes). It takes that path only when Panel would write the events
itself at once: on the event loop, the session's lock held by the running callback, the document not already
held, nothing of Panel's queued for this document and no connection in the middle of a multi-part write (Bokeh's
``write_lock``); a compressed or masked websocket, or a Panel without the internals read here, also falls back.

Also here, :func:`install`: every websocket the server opens gets ``TCP_NODELAY``. Neither Bokeh nor Panel sets
it, and a Bokeh message is several websocket frames written one after the other: with Nagle's algorithm on, a
frame written while the previous one is unacknowledged waits for the browser's (delayed) ACK - measured on the
μ slider: a quarter to a half of the steps arrived ~35 ms late (patch received median 20 ms, p95 55 ms; with
``TCP_NODELAY`` p95 21-28 ms).
"""

from __future__ import annotations

import json
import logging
import struct
from contextlib import contextmanager
from typing import Iterator

import panel as pn
from bokeh.document import Document
from bokeh.document.events import DocumentPatchedEvent
from panel.io import document as _pdoc

log = logging.getLogger(__name__)

_TEXT, _BINARY, _FIN = 0x1, 0x2, 0x80

#: frames sent by the direct path and by ``pn.io.hold()`` (process-wide; tests and benchmarks read it)
stats = {"direct": 0, "held": 0}


def ws_frame(data: str | bytes, binary: bool = False) -> bytes:
    """One unmasked, final websocket frame (RFC 6455 §5.2) carrying ``data``: what a server sends."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    n = len(payload)
    head = _FIN | (_BINARY if binary else _TEXT)
    if n < 126:
        return struct.pack("!BB", head, n) + payload
    if n <= 0xFFFF:
        return struct.pack("!BBH", head, 126, n) + payload
    return struct.pack("!BBQ", head, 127, n) + payload


def message_bytes(msg) -> bytes:
    """A Bokeh protocol message as the websocket frames Bokeh and Panel send for it, concatenated."""
    parts = [ws_frame(msg.header_json), ws_frame(msg.metadata_json), ws_frame(msg.content_json)]
    for buffer in msg.buffers:
        parts.append(ws_frame(json.dumps(buffer.ref)))
        parts.append(ws_frame(buffer.to_bytes(), binary=True))
    return b"".join(parts)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("Failed sending a frame: %s", future.exception())


def _plain_ws(conn):
    """The connection's tornado websocket protocol if a frame can be written to it as is, else None."""
    ws = getattr(getattr(conn, "_socket", None), "ws_connection", None)
    if ws is None or getattr(ws, "_compressor", None) is not None or getattr(ws, "mask_outgoing", True):
        return None
    if not hasattr(ws, "stream") or not callable(getattr(ws, "is_closing", None)):
        return None
    return ws


def _direct_connections(doc: Document | None):
    """The session's connections when :func:`frame` can write to them itself, else None (use Panel's hold)."""
    needed = ("_WRITE_EVENTS", "_WRITE_BLOCK", "_is_write_locked", "monkeypatch_events")
    if doc is None or not all(hasattr(_pdoc, name) for name in needed):
        return None
    session = getattr(getattr(doc, "session_context", None), "_session", None)
    if session is None or getattr(session, "_pending_writes", None) is None:  # not inside a locked callback
        return None
    if not pn.state._on_loop_thread or doc.callbacks.hold_value is not None:
        return None
    if doc in _pdoc._WRITE_EVENTS or doc in _pdoc._WRITE_BLOCK:
        return None
    connections = list(getattr(session, "_subscribed_connections", ()))
    if any(_pdoc._is_write_locked(c) or _plain_ws(c) is None for c in connections):
        return None
    return connections


@contextmanager
def frame(doc: Document | None = None) -> Iterator[None]:
    """Hold the model changes made in the body and send them as one message (see the module); anywhere else
    than a server's locked loop callback, ``pn.io.hold(doc)``."""
    doc = doc or pn.state.curdoc
    connections = _direct_connections(doc)
    if connections is None:
        stats["held"] += 1
        with pn.io.hold(doc):
            yield
        return
    stats["direct"] += 1
    callbacks = doc.callbacks
    callbacks.hold("combine")
    try:
        yield
    finally:
        events = list(callbacks._held_events)
        callbacks._held_events = []
        callbacks.unhold()  # nothing held now: just ends the hold
        patches = [e for e in events if isinstance(e, DocumentPatchedEvent)]
        for event in events:
            if not isinstance(event, DocumentPatchedEvent):
                callbacks.trigger_on_change(event)
        if patches:
            _send(connections, patches)


def _send(connections, patches) -> None:
    _pdoc.monkeypatch_events(patches)
    live = [(c, ws) for c in connections if (ws := _plain_ws(c)) is not None and not ws.is_closing()]
    if not live:
        return
    data = message_bytes(live[0][0].protocol.create("PATCH-DOC", patches))
    for _, ws in live:
        try:
            future = ws.stream.write(data)
        except Exception as error:  # the stream closed under us: the session is going away
            log.warning("Failed sending a frame: %s", error)
            continue
        ws._wire_bytes_out = getattr(ws, "_wire_bytes_out", 0) + len(data)
        future.add_done_callback(_log_failure)


def _open_without_nagle(self):
    self.set_nodelay(True)  # a message's frames leave at once, not after the browser's delayed ACK
    return _STOCK_OPEN(self)


def install() -> bool:
    """``TCP_NODELAY`` on every websocket Bokeh's server opens in this process (idempotent); False if Bokeh's
    handler is not the one this was written for."""
    from bokeh.server.views import ws
    global _STOCK_OPEN
    handler = ws.WSHandler
    if handler.__dict__.get("open") is _open_without_nagle:
        return True
    if not callable(handler.__dict__.get("open")) or not callable(getattr(handler, "set_nodelay", None)):
        return False
    _STOCK_OPEN = handler.__dict__["open"]
    handler.open = _open_without_nagle
    return True


_STOCK_OPEN = None
