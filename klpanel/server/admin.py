"""A read-only operations endpoint: how many sessions and periodic callbacks the server holds right now.

Mount it beside the app as a second plugin::

    panel serve apps/kl_explorer.py --plugins klpanel.server.api --plugins klpanel.server.admin

``GET /status/sessions`` answers, for this server process::

    {"sessions": 3,              # live Bokeh sessions of visitors, over every app of the server
     "kept_sessions": 2,         # the sessions the pages' HTML comes from (klpanel.server.reuse: one per theme)
     "connections": 2,           # open websockets into them (a closed tab drops to 0 before its session expires)
     "periodic_callbacks": 1,    # running session-scoped Panel PeriodicCallbacks, whoever started them, and
                                 #   the ticker speedup's Bokeh callbacks ticking on a session
     "periodic_callback_names": ["DynamicsSection._tick"],  # their callbacks' qualified names
     "process_callback_names": ["_state._cleanup_busy_counter"],  # Panel's process-wide ones (not per session)
     "session_callbacks": 1,     # Bokeh periodic callbacks registered on the live sessions' documents
     "explorers": 5,             # Explorer models (one per page, kept ones too) in memory: a leak keeps them after
     "dynamics_sections": 3,     #   their session; so for the DynamicsSection views
     "rss_bytes": 312000000,     # the process's resident memory
     "gc_frozen": 185000,        # objects kept out of full collections (the startup heap: speedup "heap")
     "asyncio_tasks": 14,        # pending tasks of the server's loop (thousands: work queued faster than it runs)
     "speedups": ["serialization", ...]}  # the speedups installed (klpanel.server.speedups)

``GET /status/speedups`` answers, per speedup, whether it is active, the library versions it was written for and,
where it stood down, the versions found.

The reliability tests wait on ``sessions == 0 and periodic_callbacks == 0`` (and ``explorers == kept_sessions``: the
kept pages' own) after closing every tab
(``tests/reliability/test_session_leak.py``). Each call runs a full garbage collection and walks the heap
(tens of milliseconds, longer under load): poll it every second or so, not per frame. It reveals no data of
any session, only counts. With ``--num-procs N`` every process answers for itself.

``/status/*`` answers the loopback only (403 elsewhere, also behind a proxy with ``--use-xheaders``) unless
``KLPANEL_STATUS=1`` in the server's environment opens it to everyone. ``KLPANEL_MEMORY_DEBUG=1`` adds
``GET /status/memory`` (:mod:`klpanel.server.memory`).

Like :mod:`klpanel.server.api` this module is a server plugin: it imports Panel lazily, in the handler, because it only
ever runs inside ``panel serve`` / ``pn.serve`` (``klpanel``'s models never import Panel).
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import os
import sys

from tornado.web import HTTPError, RequestHandler

from . import speedups
from .api import dumps

_PAGE = os.sysconf("SC_PAGE_SIZE")
MEMORY_DEBUG = os.environ.get("KLPANEL_MEMORY_DEBUG") == "1"
#: ``KLPANEL_STATUS=1``: every client may read ``/status/*``; otherwise the loopback only
OPEN = os.environ.get("KLPANEL_STATUS") == "1"


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, from ``/proc/<pid>/statm``."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _ticker_class():
    """The ticker speedup's class if the server has loaded it (its served ticks are no Panel PeriodicCallback)."""
    cls = getattr(sys.modules.get("klpanel.server.speedups.ticker"), "Ticker", None)
    return cls if isinstance(cls, type) else None


def _per_session_classes() -> list[type]:
    """The per-session objects we count, from the modules the server has loaded (none imported here)."""
    found = [getattr(sys.modules.get(module), name, None)
             for module, name in (("klpanel.models.explorer", "Explorer"), ("klpanel.views.dynamics", "DynamicsSection"))]
    return [cls for cls in found if isinstance(cls, type)]


def _names(callbacks) -> list[str]:
    return sorted(getattr(cb.callback, "__qualname__", repr(cb.callback)) for cb in callbacks)


def server_status(applications) -> dict:
    """The counts above, from the Bokeh server's application contexts (``BokehTornado.applications``)."""
    from bokeh.server.callbacks import PeriodicCallback as BokehPeriodic
    from panel.io.callbacks import PeriodicCallback

    every = [s for ctx in applications.values() for s in ctx.sessions]
    sessions = [s for s in every if not s.expiration_blocked]  # visitors' sessions, not the kept pages'
    gc.collect()  # so that "in memory" means reachable: a collected section is no leak
    objects = gc.get_objects()
    running = [o for o in objects if isinstance(o, PeriodicCallback) and o.running]
    # Panel's own process-wide callbacks (e.g. its busy-counter cleanup, session_scoped=False) live as long as
    # the process: a fixed cost, listed apart so that "periodic_callbacks" counts what sessions started
    scoped = [cb for cb in running if cb.session_scoped]
    ticker = _ticker_class()
    if ticker is not None:  # served, these register with the session's document directly
        scoped += [o for o in objects if isinstance(o, ticker) and o.served and o.running]
    process = [cb for cb in running if not cb.session_scoped]
    kinds = {cls: sum(isinstance(o, cls) for o in objects) for cls in _per_session_classes()}
    return {
        "sessions": len(sessions),
        "kept_sessions": len(every) - len(sessions),
        "connections": sum(s.connection_count for s in sessions),
        "periodic_callbacks": len(scoped),
        "periodic_callback_names": _names(scoped),
        "process_callback_names": _names(process),
        "session_callbacks": sum(isinstance(cb, BokehPeriodic) for s in sessions
                                 for cb in s.document.session_callbacks),
        "explorers": sum(n for cls, n in kinds.items() if cls.__name__ == "Explorer"),
        "dynamics_sections": sum(n for cls, n in kinds.items() if cls.__name__ == "DynamicsSection"),
        "rss_bytes": rss_bytes(),
        "gc_frozen": gc.get_freeze_count(),
        # pending asyncio tasks of the server's loop: a few per session; thousands mean work queued faster than
        # it runs (e.g. document updates waiting on a document's lock), which grows the memory
        "asyncio_tasks": len(asyncio.all_tasks()),
        "speedups": speedups.active(),
    }


def loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class StatusHandler(RequestHandler):
    """Base of the ``/status/*`` handlers: 403 for a client off the loopback unless ``KLPANEL_STATUS=1``; JSON,
    never cached."""

    def prepare(self):
        if not OPEN and not loopback(self.request.remote_ip or ""):
            raise HTTPError(403, "/status is for the server's host only (KLPANEL_STATUS=1 opens it)")
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")


class SessionsHandler(StatusHandler):
    """``GET /status/sessions``: the counts."""

    def get(self):
        self.finish(dumps(server_status(self.application.applications)))


class SpeedupsHandler(StatusHandler):
    """``GET /status/speedups``: per speedup, active or not, written for which versions, stood down why."""

    def get(self):
        self.finish(dumps(speedups.report()))


def _routes() -> list:
    routes = [(r"/status/sessions", SessionsHandler), (r"/status/speedups", SpeedupsHandler)]
    if MEMORY_DEBUG:
        from .memory import MemoryHandler
        routes.append((r"/status/memory", type("MemoryStatusHandler", (StatusHandler, MemoryHandler), {})))
    return routes


ROUTES = _routes()
