"""Small per-process caches: what was computed from the dataset, valid for one generation
(:class:`GenerationCache`), and the API requests seen lately (:class:`Seen`).

The store's generation changes with every committed write of the dataset (by any worker), so an
entry computed at generation G is good exactly while the store is still at G. Bounded: the
least recently used entries go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class GenerationCache:
    """Values by key, each tagged with the generation it was computed at."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._items: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: int) -> Any | None:
        """The value for ``key`` if it was computed at ``generation``, else None."""
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != generation:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, generation: int, value: Any) -> None:
        """Keep ``value`` for ``key`` at ``generation``."""
        with self._lock:
            self._items[key] = (generation, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        """How many values are kept (of any generation)."""
        return len(self._items)


class Seen:
    """The hashes of the requests a worker saw lately (bounded), so as to keep only what comes
    again: a client that counts its ids sends new bytes every time, and must not push a poller's
    answers out of the 256 kept."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._hashes: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def again(self, key: tuple) -> bool:
        """Note the request; whether it was seen before."""
        digest = hash(key)
        with self._lock:
            if digest in self._hashes:
                return True
            self._hashes[digest] = None
            if len(self._hashes) > self.size:
                self._hashes.popitem(last=False)
        return False
