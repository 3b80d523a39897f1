"""The one cache helper: every cache of the library (the matcher's queries, rankings, analyses and augmented texts;
the USE embedder's texts and documents) is an ``LRU``. cachetools' ``LRUCache`` keeps the entries; the lock is the
cache's own, so a caller needs none of its own to read or fill it."""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

__all__ = ["LRU"]

V = TypeVar("V")


class LRU(Generic[V]):
    """The ``size`` most recently used entries (size 0: keeps nothing). Values are shared, never copied: callers
    keep only values nobody changes afterwards."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self._data: LRUCache = LRUCache(maxsize=max(self.size, 1))
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value kept for ``key`` (now the most recently used), or None."""
        with self._lock:
            return self._data.get(key)

    def put(self, key: Hashable, value: V) -> V:
        """Keep ``value`` (the least recently used entry goes when the cache is full); returns ``value``."""
        if self.size > 0:
            with self._lock:
                self._data[key] = value
        return value

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The kept value, else ``compute()`` kept (computed outside the lock: two threads may both compute it)."""
        hit = self.get(key)
        return hit if hit is not None else self.put(key, compute())

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
