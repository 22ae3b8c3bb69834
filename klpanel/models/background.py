"""Background work that yields the CPU to interactive work.

Curves, landscapes and phase plots are computed in worker threads while the person keeps using the page. On
a small machine (this one: 2 cores, the browser on the same machine) those threads took the cores the
event loop needed to answer the next slider step: a spread change waited hundreds of ms behind the previous
target's α curve. Workers started with :func:`lower_priority` run at a lower scheduling priority (Linux
``setpriority`` on the thread: nice 10 has ~1/10 of a normal thread's share when both want the CPU, all of
it when nothing else does), and keep their quadrature on their own thread instead of fanning it out to the
shared, normal-priority pool (:func:`klpanel.numerics.quadrature.keep_rows_on_this_thread`).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ..numerics.quadrature import keep_rows_on_this_thread

NICENESS = 10
_local = threading.local()


def lower_priority(niceness: int = NICENESS) -> None:
    """Thread initializer: mark this thread as background and lower its priority (where the OS allows)."""
    _local.background = True
    keep_rows_on_this_thread()
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):  # not Linux, or not permitted: the flag alone still applies
        pass


def is_background() -> bool:
    """Whether the calling thread does background work (started by :func:`lower_priority`)."""
    return getattr(_local, "background", False)


def background_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A thread pool whose threads do background work (see the module docstring)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name, initializer=lower_priority)
