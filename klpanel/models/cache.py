"""The one LRU cache every model shares (for pure functions of their key: optima, landscapes, curves), and the
optima cache built on it, which the explorer, the landscapes and the runs all read. The caches are per process and
shared by every session: what goes in is immutable (frozen dataclasses, read-only arrays: :func:`read_only`)."""

from __future__ import annotations

import threading

import cachetools
import numpy as np

from ..numerics.optima import optimal_q


class LRUCache:
    """Least-recently-used cache of at most ``size`` entries (``cachetools.LRUCache``), safe to share across
    threads. A value is computed outside the lock: two threads missing the same key both compute it."""

    def __init__(self, size: int = 128):
        self._data, self._lock = cachetools.LRUCache(maxsize=size), threading.Lock()

    def get(self, key):
        """The cached value (now the most recently used), or None."""
        with self._lock:
            return self._data.get(key)

    def put(self, key, value):
        with self._lock:
            self._data[key] = value
        return value

    def get_or_compute(self, key, compute):
        """The cached value, else ``compute()``, cached."""
        value = self.get(key)
        return value if value is not None else self.put(key, compute())

    def clear(self):
        with self._lock:
            self._data.clear()

    def __len__(self):
        return len(self._data)


def read_only(*arrays: np.ndarray) -> None:
    """Mark arrays that go into a shared cache read-only: every session reads the same ones, none may write."""
    for array in arrays:
        array.flags.writeable = False


OPTIMA = LRUCache(512)  # optimal_q by (target, divergence, parameters), shared by every session


def cached_optimum(target, name: str, params: dict):
    """``optimal_q(target, name, **params)``, computed once per (target, divergence, parameters)."""
    return OPTIMA.get_or_compute((target.key, name, tuple(sorted(params.items()))),
                                 lambda: optimal_q(target, name, **params))
