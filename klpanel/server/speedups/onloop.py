"""Coroutine session callbacks, and small patches from the browser, run on the server's event loop.

Bokeh runs every session callback, and applies every incoming patch, in a worker thread under the session's lock;
for Panel's callbacks, which are coroutine functions, that thread only creates the coroutine and the body runs on
the loop anyway, so each paid a thread hop for nothing. Here such callbacks, and patches of at most
``SMALL_PATCH_EVENTS`` events without buffers, run under the same lock on the loop (Bokeh's own
``_needs_document_lock_on_loop``); synchronous and ``nolock`` callbacks keep Bokeh's behaviour.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from bokeh.server import session as _session

from . import fits

WRITTEN_FOR = {"bokeh": "3.10"}

_ServerSession = _session.ServerSession
_STOCK_WRAP = _ServerSession.__dict__.get("_wrap_document_callback")


def is_coroutine_callback(callback: Callable[..., Any]) -> bool:
    """Whether calling ``callback`` (through Bokeh's ``functools.wraps`` layers and partials) makes a coroutine."""
    try:
        return inspect.iscoroutinefunction(inspect.unwrap(callback))
    except ValueError:  # a cycle of __wrapped__
        return False


def _call(session, func, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


_ON_LOOP = getattr(_session, "_needs_document_lock_on_loop", None)
_LOCKED_CALL = _ON_LOOP(_call) if callable(_ON_LOOP) else None  # the session's lock held; the call on the loop


def _wrap_document_callback(self, callback):
    if getattr(callback, "nolock", False) or not is_coroutine_callback(callback):
        return _STOCK_WRAP(self, callback)

    def locked_on_loop(*args: Any, **kwargs: Any) -> Any:
        return _LOCKED_CALL(self, callback, *args, **kwargs)
    return locked_on_loop


_STOCK_HANDLE_PATCH = _ServerSession.__dict__.get("_handle_patch")
_RUN_IN_EXECUTOR = getattr(_session, "_run_in_executor", None)
SMALL_PATCH_EVENTS = 8  # a slider's or a button's message carries one event


def is_small_patch(message) -> bool:
    """A browser's patch small enough to apply on the loop: a few events and no binary buffers."""
    content = getattr(message, "content", None)
    events = content.get("events") if isinstance(content, dict) else None
    return (isinstance(events, list) and len(events) <= SMALL_PATCH_EVENTS
            and not getattr(message, "buffers", None))


async def _handle_patch_body(self, message, connection):
    self._current_patch_connection = connection
    try:
        if is_small_patch(message):
            message.apply_to_document(self.document, self)
        else:
            await _RUN_IN_EXECUTOR(message.apply_to_document, self.document, self)
    finally:
        self._current_patch_connection = None
    return connection.ok(message)


_handle_patch = _ON_LOOP(_handle_patch_body) if callable(_ON_LOOP) else None


def supported() -> bool:
    """Whether this Bokeh has the pieces the patches use."""
    return (callable(_STOCK_WRAP) and _LOCKED_CALL is not None and callable(_STOCK_HANDLE_PATCH)
            and callable(_RUN_IN_EXECUTOR) and _handle_patch is not None)


def installed() -> bool:
    return _ServerSession.__dict__.get("_wrap_document_callback") is _wrap_document_callback


def install() -> bool:
    """Run coroutine session callbacks, and apply small patches from the browser, on the loop for every session
    of this process (idempotent); False (Bokeh left as it is) outside ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("onloop", WRITTEN_FOR) or not supported():
        return False
    _ServerSession._wrap_document_callback = _wrap_document_callback
    _ServerSession._handle_patch = _handle_patch
    return True


def uninstall() -> None:
    """Back to Bokeh's own behaviour."""
    if installed():
        _ServerSession._wrap_document_callback = _STOCK_WRAP
        _ServerSession._handle_patch = _STOCK_HANDLE_PATCH
