"""Panel 1.10's notebook comms, made dependable for the app's outputs (:mod:`.notebook` applies these to each one).

In JupyterLab 4.6 with ipykernel 7 three things went wrong, each seen in tests/ui/test_jupyterlab.py: the page's
messages are handled on a kernel subshell's thread, beside the cells and the animation (:func:`answer_on_kernel_loop`);
Panel answers only the first property change of a message from the page at once (:func:`release_held`); and Panel's
messages sent before or just after the page opens the output's comm can arrive out of order or be dropped
(:func:`send_once_open`). (A fourth is fixed in the page: Panel's page code sent back to the kernel every change the
kernel had just sent it; :class:`.notebook.Beacon`'s script.) Private attributes of Panel, pyviz_comms and Bokeh are
read or replaced here and nowhere else in klpanel.
"""

from __future__ import annotations

import logging
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Callable

from bokeh.document import Document
from bokeh.document.callbacks import invoke_with_curdoc
from panel.models.comm_manager import CommManager
from pyviz_comms import JupyterCommManager

log = logging.getLogger(__name__)

#: the releases these fixes were written for and tested with (tests/ui/test_jupyterlab.py); under others the comms
#: are left as the libraries made them, with one warning
WRITTEN_FOR = {"panel": "1.10", "pyviz_comms": "3.0", "bokeh": "3.10"}
_checked: dict[str, bool] = {}

OPEN_AFTER_S = 1.0  # an output's messages go out this long after its page opened the comm, at the latest
RELEASE_PASSES = 20  # at most this many passes over the page's changes a message left held


def fits() -> bool:
    """Whether the installed Panel, pyviz_comms and Bokeh are the releases of :data:`WRITTEN_FOR` (checked once)."""
    if "fits" not in _checked:
        found = {}
        for package in WRITTEN_FOR:
            try:
                found[package] = version(package)
            except PackageNotFoundError:
                found[package] = "absent"
        wrong = {p: v for p, v in found.items() if not (v == WRITTEN_FOR[p] or v.startswith(WRITTEN_FOR[p] + "."))}
        if wrong:
            log.warning("klpanel's notebook comm fixes stand down: written for %s, found %s",
                        WRITTEN_FOR, wrong)
        _checked["fits"] = not wrong
    return _checked["fits"]


def count_messages(comm, sent: Callable[[], None]) -> None:
    """Call ``sent()`` for every message sent over output ``comm`` (Panel sends a message's Bokeh header first)."""
    send = comm.send

    def counted(data=None, metadata=None, buffers=()):
        if isinstance(data, str) and data.startswith('{"msgid"'):
            sent()
        return send(data, metadata=metadata, buffers=list(buffers))

    comm.send = counted


def held_events(doc: Document) -> list:
    """The changes ``doc`` holds (Bokeh keeps them in a private list; Panel's own ``diff`` reads it too)."""
    return doc.callbacks._held_events


def release_held(doc: Document) -> None:
    """Answer the changes from the page that ``doc`` still holds. Panel 1.10 answers only the first property change
    of a message at once: its ``hold()`` holds the output's document again while Bokeh's ``unhold()`` is still going
    through the message's changes, so the others waited for the next message (a slider sends ``value`` and
    ``value_throttled`` together; the second waited up to a second, for the next report). The kernel's own changes
    stay held for Panel to send."""
    for _ in range(RELEASE_PASSES):
        held = held_events(doc)
        from_page = [e for e in held if getattr(e, "setter", None) is not None and e.callback_invoker is not None]
        if not from_page:
            return
        held[:] = [e for e in held if e not in from_page]
        for event in from_page:
            invoke_with_curdoc(doc, event.callback_invoker)


def answer_on_kernel_loop(doc: Document, loop) -> None:
    """Have Panel answer every message the page sends to output ``doc`` (through Panel's client comm, named by the
    output's CommManager) on the kernel's event ``loop``, then :func:`release_held` its document. JupyterLab 4.6 sends
    comm messages to a kernel subshell, and ipykernel 7 handles those on a thread of their own: Panel answered a
    slider on that thread while a frame was being sent from the loop's, the parts of their messages interleaved on the
    output's comm, and the page's Bokeh documents applied parts of one message as another (and stopped updating)."""
    manager = next((r for r in doc.roots if isinstance(r, CommManager)), None)
    client = JupyterCommManager._comms.get(manager.client_comm_id) if manager is not None else None
    if client is None or getattr(client, "klpanel_on_loop", False):
        return
    handle, thread = client._on_msg, threading.get_ident()

    def answer(msg):
        try:
            handle(msg)
        finally:
            release_held(doc)

    def answer_on_loop(msg):
        if threading.get_ident() == thread:
            answer(msg)
        else:
            loop.call_soon_threadsafe(answer, msg)

    client._on_msg = answer_on_loop
    client.klpanel_on_loop = True


class Waiting:
    """Stands in for the comm of an output whose page has not opened it yet: what is sent waits here, in order."""

    LIMIT = 20_000  # parts kept for a page that never opens (a notebook run without one); later ones are dropped

    def __init__(self):
        self.parts: list = []

    def send(self, data=None, metadata=None, buffers=None) -> None:
        if len(self.parts) < self.LIMIT:
            self.parts.append((data, metadata, buffers or []))


def send_once_open(comm, loop) -> Callable[[], None] | None:
    """Keep the messages for an output's comm (Panel's pyviz_comms server comm) in order until its page can take them;
    the function that opens the comm and sends them (None if already done). Panel sends only once the page has opened
    the comm and retries a refused message 0.1 s later: a message sent meanwhile went first and could refer to a model
    only the retried one defined, and the page dropped it ("reference ... isn't known"); sent right when the page
    opens the comm, a message can also come before the page's document is attached (Panel's page code drops it).
    Here every message waits, in order, until the output's first report (its page is up) or a second after the page
    opened the comm, whichever comes first, and then goes out on the kernel's ``loop``."""
    if getattr(comm, "klpanel_waits", False) or comm._comm is not None:
        return None
    waiting, init = Waiting(), comm.init
    comm._comm = waiting

    def open_and_send():
        if comm._comm is not waiting:
            return
        comm._comm = None
        init()  # the real comm, opened towards the page
        for data, metadata, buffers in waiting.parts:
            comm._comm.send(data, metadata=metadata, buffers=buffers)

    # Panel opens the comm from the page's first message (on_open), maybe on a subshell's thread
    comm.init = lambda: loop.call_soon_threadsafe(loop.call_later, OPEN_AFTER_S, open_and_send)
    comm.klpanel_waits = True
    return open_and_send
