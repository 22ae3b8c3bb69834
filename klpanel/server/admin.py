"""A read-only operations endpoint: how many sessions and periodic callbacks the server holds right now.

Mount it beside the app as a second plugin::

    panel serve apps/kl_explorer.py --plugins klpanel.server.api --plugins klpanel.server.admin

``GET /status/sessions`` answers, for this server process::

    {"sessions": 3,              # live Bokeh sessions, over every app of the server
     "connections": 2,           # open websockets into them (a closed tab drops to 0 before its session expires)
     "periodic_callbacks": 1,    # running session-scoped Panel PeriodicCallbacks, whoever started them, and
                                 #   klpanel's Tickers (klpanel.views.ticker) ticking on a session
     "periodic_callback_names": ["DynamicsSection._tick"],  # their callbacks' qualified names
     "process_callback_names": ["_state._cleanup_busy_counter"],  # Panel's process-wide ones (not per session)
     "session_callbacks": 1,     # Bokeh periodic callbacks registered on the live sessions' documents
     "explorers": 3,             # Explorer models (one per page) still in memory: a leak keeps them after
     "dynamics_sections": 3,     #   their session; so for the DynamicsSection views
     "rss_bytes": 312000000,     # the process's resident memory
     "gc_frozen": 185000,        # objects kept out of full collections (the startup heap: klpanel.views.heap)
     "asyncio_tasks": 14}        # pending tasks of the server's loop (thousands: work queued faster than it runs)

The reliability tests wait on ``sessions == 0 and periodic_callbacks == 0`` after closing every tab
(``tests/reliability/test_session_leak.py``). Each call runs a full garbage collection and walks the heap
(tens of milliseconds, longer under load): poll it every second or so, not per frame. It reveals no data of
any session, only counts; a public deployment should
still keep ``/status/`` to the loopback (``deploy/nginx.conf`` does). With ``--num-procs N`` every process answers
for itself.

``KLPANEL_MEMORY_DEBUG=1`` in the server's environment adds ``GET /status/memory`` (off by default: tracing every
allocation slows the server by tens of percent): Python's ``tracemalloc`` runs from the plugin's import, and each
call answers what grew since the first call (or since ``?baseline=1``) — the top allocation sites, the object
counts by type, the Bokeh models of the live documents, the C heap (glibc ``mallinfo2``: in use vs. free but
kept) and the bytes queued on the websockets. ``benchmarks/soak.py --diagnose`` prints it at minute 1 and at the
end.

Like :mod:`klpanel.server.api` this module is a server plugin: it imports Panel lazily, in the handler, because it only
ever runs inside ``panel serve`` / ``pn.serve`` (``klpanel``'s models never import Panel).
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import gc
import os
import sys
import tracemalloc

from tornado.web import RequestHandler

from .api import dumps

_PAGE = os.sysconf("SC_PAGE_SIZE")
MEMORY_DEBUG = os.environ.get("KLPANEL_MEMORY_DEBUG") == "1"
if MEMORY_DEBUG and not tracemalloc.is_tracing():
    tracemalloc.start(int(os.environ.get("KLPANEL_MEMORY_FRAMES", "1")))


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, from ``/proc/<pid>/statm``."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _ticker_class():
    """klpanel's periodic callback (``klpanel.views.ticker.Ticker``) if the server has loaded it."""
    cls = getattr(sys.modules.get("klpanel.views.ticker"), "Ticker", None)
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

    sessions = [s for ctx in applications.values() for s in ctx.sessions]
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
    }


class SessionsHandler(RequestHandler):
    """``GET /status/sessions``: the counts as JSON (never cached)."""

    def get(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(dumps(server_status(self.application.applications)))


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def c_heap() -> dict:
    """glibc's heap: bytes in use, free but kept in the arenas (fragmentation), and mmapped blocks."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        m = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    return {"in_use": m.uordblks, "free_kept": m.fordblks, "mmapped": m.hblkhd, "arena": m.arena}


def mappings_rss() -> dict:
    """Resident bytes per kind of mapping (``/proc/self/smaps``): a file's name, ``[heap]``, ``[stack]``, or
    ``[anon N kB]`` for anonymous mappings of N kB (pymalloc's 1 MiB arenas, 64 MiB thread malloc arenas, ...)."""
    rss: collections.Counter = collections.Counter()
    key = None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if not head:
                continue
            if "-" in head[0] and not head[0].endswith(":"):  # a mapping's header line
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                key = head[5] if len(head) > 5 else f"[anon {(hi - lo) // 1024} kB]"
            elif head[0] == "Rss:":
                rss[key] += int(head[1]) * 1024
    return dict(rss)


class MemoryReport:
    """Growth since a baseline: tracemalloc's allocation sites, gc object counts by type, Bokeh models."""

    def __init__(self):
        self.snapshot = None
        self.types = None
        self.mappings = None

    @staticmethod
    def _type_counts(objects) -> collections.Counter:
        return collections.Counter(type(o).__qualname__ for o in objects)

    def report(self, applications, baseline: bool = False, top: int = 25) -> dict:
        gc.collect()
        objects = gc.get_objects()
        types = self._type_counts(objects)
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]) if tracemalloc.is_tracing() else None
        mappings = mappings_rss()
        if baseline or self.types is None:
            self.snapshot, self.types, self.mappings = snapshot, types, mappings
        sites = []
        if snapshot is not None:
            for stat in snapshot.compare_to(self.snapshot, "lineno")[:top]:
                frame = stat.traceback[0]
                sites.append({"site": f"{frame.filename}:{frame.lineno}", "size_diff": stat.size_diff,
                              "size": stat.size, "count_diff": stat.count_diff})
        grown_maps = sorted(((n - self.mappings.get(k, 0), k, n) for k, n in mappings.items()), reverse=True)
        grown = sorted(((n - self.types.get(t, 0), t, n) for t, n in types.items()), reverse=True)[:top]
        docs = [s.document for ctx in applications.values() for s in ctx.sessions]
        pending = 0
        for ctx in applications.values():
            for s in ctx.sessions:
                for conn in getattr(s, "_subscribed_connections", ()):
                    stream = getattr(getattr(conn._socket, "ws_connection", None), "stream", None)
                    pending += getattr(stream, "_total_write_pending", 0) if stream is not None else 0
        from panel.io.state import state
        traced = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
        return {
            "rss_bytes": rss_bytes(),
        "gc_frozen": gc.get_freeze_count(),
            "traced_bytes": traced[0], "traced_peak_bytes": traced[1],
            "c_heap": c_heap(),
            "sites": sites,
            "mappings_grown": [{"mapping": k, "diff": d, "rss": n} for d, k, n in grown_maps[:top]],
            "anon_rss_bytes": sum(n for k, n in mappings.items() if k.startswith("[")),
            "types_grown": [{"type": t, "diff": d, "count": n} for d, t, n in grown],
            "objects": len(objects),
            "documents": len(docs),
            "models_per_document": [len(d.models) for d in docs],
            "session_callbacks_per_document": [len(d.session_callbacks) for d in docs],
            "websocket_write_pending_bytes": pending,
            "asyncio_tasks": len(asyncio.all_tasks()),  # e.g. document updates queued on a document's lock
            "busy_indicators": len(state._indicators),  # every session's spinner, all following pn.state.busy
        }


_memory = MemoryReport()


class MemoryHandler(RequestHandler):
    """``GET /status/memory[?baseline=1]``: growth since the baseline (only with ``KLPANEL_MEMORY_DEBUG=1``)."""

    def get(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        baseline = self.get_argument("baseline", "0") == "1"
        self.finish(dumps(_memory.report(self.application.applications, baseline)))


ROUTES = [(r"/status/sessions", SessionsHandler)] + ([(r"/status/memory", MemoryHandler)] if MEMORY_DEBUG else [])
