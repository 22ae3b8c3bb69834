"""``GET /status/memory[?baseline=1]`` (only with ``KLPANEL_MEMORY_DEBUG=1``, mounted by :mod:`.admin`): what
grew since the first call or the baseline - allocation sites (``tracemalloc``, running from this module's import;
it slows the server by tens of percent), object counts by type, Bokeh models of the live documents, the C heap
(glibc ``mallinfo2``), resident memory per mapping and the bytes queued on the websockets. ``benchmarks/soak.py
--diagnose`` prints it.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import gc
import os
import tracemalloc

from tornado.web import RequestHandler

from .api import dumps

if not tracemalloc.is_tracing():
    tracemalloc.start(int(os.environ.get("KLPANEL_MEMORY_FRAMES", "1")))


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
        from .admin import rss_bytes
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


