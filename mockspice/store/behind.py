"""What every request needs from the store without a round trip to SQLite.

A request that records something (a pop, an API call, a web call) must know its entry's id
before it answers, but need not wait for SQLite's write lock: :class:`Counters` gives ids that
are unique and rising across every process using the store (a small file beside it, mapped
into memory, changed under a file lock), and :class:`WriteBehind` queues the rows, one thread
per process writing whatever has queued in one transaction. Under load the batches grow and
the write lock is taken once per batch instead of once per request. The same file carries the
dataset's generation, so a request checks its per-process caches with one memory read.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import sqlite3
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    from mockspice.store.db import Store

_WIDTH = 8  # each counter: unsigned 64 bits, little endian
_IDS, _GENERATION = slice(0, _WIDTH), slice(_WIDTH, 2 * _WIDTH)
RETRY_S = 0.1
GIVE_UP_AFTER = 50  # failed attempts (about 5 s) before a batch is dropped with a message


class Counters:
    """Counters shared by every process that opens the same file (``<db>-counters``): the last
    journal id given and the dataset's generation."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._mapped: tuple[int, int, mmap.mmap] | None = None  # (pid, fd, map): per process

    def _map(self) -> tuple[int, mmap.mmap]:
        if self._mapped is None or self._mapped[0] != os.getpid():
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(fd).st_size < 2 * _WIDTH:
                os.ftruncate(fd, 2 * _WIDTH)  # a new file reads as zeros
            self._mapped = (os.getpid(), fd, mmap.mmap(fd, 2 * _WIDTH))
        return self._mapped[1], self._mapped[2]

    def _update(self, change: Callable[[int], int], where: slice = _IDS) -> int:
        with self._lock:
            fd, view = self._map()
            # flock, not lockf: a POSIX lock belongs to the process, and the kernel would see a
            # deadlock between this lock and the store's write lock where two threads just wait.
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                value = change(int.from_bytes(view[where], "little"))
                view[where] = value.to_bytes(_WIDTH, "little")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        return value

    def take(self) -> int:
        """The next id (the last given plus one)."""
        return self._update(lambda last: last + 1)

    def last(self) -> int:
        """The last id given."""
        return self._update(lambda last: last)

    def raise_to(self, value: int) -> int:
        """Make sure no id at or below ``value`` is given again; returns the last id given."""
        return self._update(lambda last: max(last, value))

    def restart(self) -> None:
        """Ids from 1 again, generation 0 (a new, empty store)."""
        self._update(lambda last: 0)
        self._update(lambda last: 0, _GENERATION)

    def generation(self) -> int:
        """The dataset's generation, read without a lock (a torn read only misses a cache)."""
        mapped = self._mapped
        if mapped is None or mapped[0] != os.getpid():
            with self._lock:
                view = self._map()[1]
        else:
            view = mapped[2]
        return int.from_bytes(view[_GENERATION], "little")

    def set_generation(self, value: int) -> None:
        """Publish the generation a committed write of the dataset left in the store."""
        self._update(lambda last: value, _GENERATION)

    def close(self) -> None:
        """Unmap the file (this process)."""
        with self._lock:
            if self._mapped is not None and self._mapped[0] == os.getpid():
                self._mapped[2].close()
                os.close(self._mapped[1])
            self._mapped = None


class WriteBehind:
    """Rows queued by any thread of this process, written in batches by one thread.

    :param write: writes a batch inside the store's write transaction (history only: the
        dataset's generation is left alone).
    """

    def __init__(self, store: "Store", write: Callable[[sqlite3.Connection, Sequence[Any]], None]):
        self._store, self._write = store, write
        self._queue: list[Any] = []
        self._busy = False  # a batch is being written
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mockspice-writer", daemon=True)
        self._thread.start()

    def put(self, row: Any) -> None:
        """Queue a row; it is written within milliseconds (sooner than any reader can ask)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the store is closed")
            self._queue.append(row)
            self._cond.notify_all()

    def flush(self) -> None:
        """Return once every row queued before the call is committed (or given up)."""
        with self._cond:
            while (self._queue or self._busy) and self._thread.is_alive():
                self._cond.wait(1.0)

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed and nothing left
                batch, self._queue, self._busy = self._queue, [], True
            try:
                with self._store.write(history=True) as conn:
                    self._write(conn, batch)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the writer must outlive a bad moment of the disk
                failures += 1
                lost = failures >= GIVE_UP_AFTER
                print(f"mockspice: error: writing {len(batch)} journal entries failed ({exc})"
                      + ("; they are lost" if lost else "; retrying"), file=sys.stderr, flush=True)
                if lost:
                    failures = 0
                else:
                    with self._cond:
                        self._queue[:0] = batch
                    time.sleep(RETRY_S)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
