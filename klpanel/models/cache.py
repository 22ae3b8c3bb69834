"""A small thread-safe LRU shared by every session (for pure functions of their key: optima, curves)."""

from __future__ import annotations

import threading
from collections import OrderedDict


class LRUCache:
    """Least-recently-used cache of at most ``size`` entries, safe to share across threads."""

    def __init__(self, size: int = 128):
        self._data, self._size, self._lock = OrderedDict(), size, threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key, value):
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)
        return value
