"""A read-only operations endpoint: how many sessions and periodic callbacks the server holds right now.

Mount it beside the app as a second plugin::

    panel serve apps/kl_explorer.py --plugins klpanel.api --plugins klpanel.admin

``GET /status/sessions`` answers, for this server process::

    {"sessions": 3,              # live Bokeh sessions, over every app of the server
     "connections": 2,           # open websockets into them (a closed tab drops to 0 before its session expires)
     "periodic_callbacks": 1,    # running session-scoped Panel PeriodicCallbacks, whoever started them
     "periodic_callback_names": ["DynamicsSection._tick"],  # their callbacks' qualified names
     "process_callback_names": ["_state._cleanup_busy_counter"],  # Panel's process-wide ones (not per session)
     "session_callbacks": 1,     # Bokeh periodic callbacks registered on the live sessions' documents
     "explorers": 3,             # Explorer models (one per page) still in memory: a leak keeps them after
     "dynamics_sections": 3,     #   their session; so for the DynamicsSection views
     "rss_bytes": 312000000}     # the process's resident memory

The reliability tests wait on ``sessions == 0 and periodic_callbacks == 0`` after closing every tab
(``tests/reliability/test_session_leak.py``). Each call runs a full garbage collection and walks the heap
(tens of milliseconds, longer under load): poll it every second or so, not per frame. It reveals no data of
any session, only counts; a public deployment should
still keep ``/status/`` to the loopback (``deploy/nginx.conf`` does). With ``--num-procs N`` every process answers
for itself.

Like :mod:`klpanel.api` this module is a server plugin: it imports Panel lazily, in the handler, because it only
ever runs inside ``panel serve`` / ``pn.serve`` (``klpanel``'s models never import Panel).
"""

from __future__ import annotations

import gc
import os
import sys

from tornado.web import RequestHandler

from .api import dumps

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, from ``/proc/<pid>/statm``."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _per_session_classes() -> list[type]:
    """The per-session objects we count, from the modules the server has loaded (none imported here)."""
    found = [getattr(sys.modules.get(module), name, None)
             for module, name in (("klpanel.explorer", "Explorer"), ("klpanel.views.dynamics", "DynamicsSection"))]
    return [cls for cls in found if isinstance(cls, type)]


def _names(callbacks) -> list[str]:
    return sorted(getattr(cb.callback, "__qualname__", repr(cb.callback)) for cb in callbacks)


def server_status(applications) -> dict:
    """The counts above, from the Bokeh server's application contexts (``BokehTornado.applications``)."""
    from bokeh.server.callbacks import PeriodicCallback as BokehPeriodic
    from panel.io.callbacks import PeriodicCallback

    sessions = [s for ctx in applications.values() for s in ctx.sessions]
    gc.collect()  # so that "in memory" means reachable: a collected section is no leak
    objects = gc.get_objects()
    running = [o for o in objects if isinstance(o, PeriodicCallback) and o.running]
    # Panel's own process-wide callbacks (e.g. its busy-counter cleanup, session_scoped=False) live as long as
    # the process: a fixed cost, listed apart so that "periodic_callbacks" counts what sessions started
    scoped = [cb for cb in running if cb.session_scoped]
    process = [cb for cb in running if not cb.session_scoped]
    kinds = {cls: sum(isinstance(o, cls) for o in objects) for cls in _per_session_classes()}
    return {
        "sessions": len(sessions),
        "connections": sum(s.connection_count for s in sessions),
        "periodic_callbacks": len(scoped),
        "periodic_callback_names": _names(scoped),
        "process_callback_names": _names(process),
        "session_callbacks": sum(isinstance(cb, BokehPeriodic) for s in sessions
                                 for cb in s.document.session_callbacks),
        "explorers": sum(n for cls, n in kinds.items() if cls.__name__ == "Explorer"),
        "dynamics_sections": sum(n for cls, n in kinds.items() if cls.__name__ == "DynamicsSection"),
        "rss_bytes": rss_bytes(),
    }


class SessionsHandler(RequestHandler):
    """``GET /status/sessions``: the counts as JSON (never cached)."""

    def get(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(dumps(server_status(self.application.applications)))


ROUTES = [(r"/status/sessions", SessionsHandler)]
