"""The server's startup heap, kept out of Python's full garbage collections.

A served process holds ~190,000 tracked objects before its first session (Panel, Bokeh, numpy, scipy, numba,
klpanel) that live as long as it does; every full collection walked them all, holding the event loop up.
:func:`install` (after everything a session imports is imported) collects once and moves what is alive into the
permanent generation (``gc.freeze``). It must run before the first session, never while one exists: a frozen
session could never be collected.
"""

from __future__ import annotations

import atexit
import gc

WRITTEN_FOR: dict[str, str] = {}  # public API of Python's gc: no library internals

_frozen = False


def installed() -> bool:
    return _frozen


def install() -> int:
    """Import what the sessions use, collect, and freeze the heap; the number of objects frozen."""
    global _frozen
    import klpanel.views  # noqa: F401  everything a session imports, imported before the freeze

    gc.collect()  # what is garbage now is collected, not frozen
    gc.freeze()
    if not _frozen:
        # at exit the heap goes back to the collector before the interpreter tears the modules down (frozen, a
        # process pool's exit hook ran after its module was gone)
        atexit.register(gc.unfreeze)
    _frozen = True
    return gc.get_freeze_count()


def uninstall() -> None:
    global _frozen
    if _frozen:
        gc.unfreeze()
        _frozen = False
