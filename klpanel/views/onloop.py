"""Asynchronous session callbacks run on the server's event loop, without a round trip through a worker thread.

Bokeh 3.10 runs every session callback of a served document (next-tick, timeout and periodic callbacks) through
``ServerSession.with_document_locked``, which takes the session's lock and then calls the callback in a worker
thread (``asyncio.to_thread``) so that slow synchronous callbacks do not block the loop. For a coroutine
function that call only *creates* the coroutine: its body then runs on the event loop anyway, with the lock
still held. Panel's callbacks are coroutine functions - every periodic callback (``PeriodicCallback._periodic_callback``,
the animation's 30 ticks a second here) and every widget change it handles (``Syncable._change_coroutine``) -
so each paid a thread hop (task, executor hand-off, wake-up of a worker, the GIL passed back and forth) for
nothing. Measured in the served app, four runs animating: ~0.3 ms of the worker's CPU per frame, plus the loop's
side of the hand-off. Likewise Bokeh applies every patch the browser sends (a slider moved) in a worker thread,
while its session lock waits on the loop: for a message of a few events that is a hop longer than the work.

:func:`install` makes the session run callbacks that are coroutine functions under the same lock, on the loop
(Bokeh's own ``_needs_document_lock_on_loop``, which it uses for its pull requests), and apply patches of at most
``SMALL_PATCH_EVENTS`` events without binary buffers on the loop (larger ones still go to a worker). Synchronous
callbacks and ``nolock`` ones keep Bokeh's behaviour. The curdoc Bokeh sets around the call covered only the coroutine's
creation in the worker, as it does now on the loop. If this Bokeh lacks what the patch relies on, nothing is
changed.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from bokeh.server import session as _session

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
    of this process (idempotent); False (and Bokeh left as it is) when this Bokeh is not the one it was written
    for."""
    if installed():
        return True
    if not supported():
        return False
    _ServerSession._wrap_document_callback = _wrap_document_callback
    _ServerSession._handle_patch = _handle_patch
    return True


def uninstall() -> None:
    """Back to Bokeh's own behaviour (tests compare the two)."""
    if supported():
        _ServerSession._wrap_document_callback = _STOCK_WRAP
        _ServerSession._handle_patch = _STOCK_HANDLE_PATCH
