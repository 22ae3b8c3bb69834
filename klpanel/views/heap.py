"""The server's startup heap, kept out of Python's full garbage collections.

A served process holds a large heap before its first session: Panel, Bokeh, tornado, numpy, scipy, numba and
this package, ~190,000 objects tracked by the garbage collector. Python's collector walks all of them in every
full (generation 2) collection, and the runs' animation allocates enough that such collections come every few
tens of seconds while a page animates: each took 150 ms of the event loop (served app, four runs animating,
measured with ``gc.callbacks``): one in an 8-second window is ~0.6 ms of server CPU per frame, and a frame of
the page held up for 150 ms.

:func:`freeze_startup_heap` collects once, then moves every object alive at that moment into the permanent
generation (``gc.freeze``), which later collections skip: full collections then walk only what the sessions
created (the same collections took 30-60 ms). Those objects live as long as the process anyway (modules,
classes, functions, the server). It runs before the first session (``apps/server_setup.py``, passed as
``panel serve --setup``, as ``klpanel serve`` does), never while a session exists: a session frozen with the
startup heap could never be collected after it ends. At exit the heap is unfrozen again. ``KLPANEL_GC_FREEZE=0``
in the environment turns it off.
"""

from __future__ import annotations

import atexit
import gc
import os


def freeze_startup_heap() -> int:
    """Import what the sessions use, collect, and freeze the heap; the number of objects frozen (0: turned off
    by ``KLPANEL_GC_FREEZE=0``)."""
    if os.environ.get("KLPANEL_GC_FREEZE", "1") == "0":
        return 0
    import klpanel.views  # noqa: F401  everything a session imports, imported before the freeze

    gc.collect()  # what is garbage now is collected, not frozen
    gc.freeze()
    # at exit the heap goes back to the collector: the interpreter's last collections, before it tears the modules
    # down, then finalize it in the usual order (frozen, a process pool's exit hook ran after its module was gone)
    atexit.register(gc.unfreeze)
    return gc.get_freeze_count()
