"""What every request needs from the store without a round trip to SQLite.

A request that records something (a pop, an API call, a web call) must know its entry's id
before it answers, but need not wait for SQLite's write lock: :class:`Counters` gives ids that
are unique and rising across every process using the store (from a file beside it, without a
lock), and :class:`WriteBehind` queues the rows, one thread per process writing whatever has
queued in one transaction. Under load the batches grow and the write lock is taken once per
batch instead of once per request. :class:`Counters` also carries the dataset's generation, so
a request checks its per-process caches with one memory read.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import mmap
import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class HistoryStore(Protocol):
    """What the writer needs of a store (mockspice.store.db.Store is one): this module does not
    import db.py, which builds on it."""

    def writing(self) -> bool: ...

    def connection(self) -> sqlite3.Connection: ...

    def write(self, *, history: bool = False) -> AbstractContextManager[sqlite3.Connection]: ...


_WIDTH = 8  # the generation: unsigned 64 bits, little endian
RETRY_S = 0.1
LINGER_S = 0.005  # the writer lets a batch gather this long, unless a reader is waiting ...
BUSY_LINGER_S = 0.05  # ... and this long while the batches are big (under load: fewer transactions)
BUSY_ROWS = 32  # a batch of this many rows or more: busy
FLUSH_S = 1.0  # a reader waits at most this long for this process's queue
CLOSE_S = 3.0  # closing waits at most this long (a worker is killed 5 s after asked to stop) ...
AT_EXIT_S = 1.0  # ... and the interpreter's exit this long more, for all writers together
GIVE_UP_AFTER = 50  # failed attempts (about 5 s) before a batch is dropped with a message


# fallocate(2)'s flags: free the blocks of a range, the file's size unchanged.
_KEEP_SIZE, _PUNCH_HOLE = 0x01, 0x02
_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)


def _punch(fd: int, end: int) -> None:
    """Let the disk blocks of the file's first ``end`` bytes go (they read as zeros after, and
    no one reads them: the ids file is used for its size). A file system without holes keeps
    them: the file then grows by a byte per id, as it would anyway."""
    if end > 0:
        _LIBC.fallocate(fd, _KEEP_SIZE | _PUNCH_HOLE, 0, end)


class _Descriptor:
    """One thread's descriptor of the ids file, closed when the thread ends or the store closes."""

    __slots__ = ("fd", "pid", "epoch")

    def __init__(self, fd: int, epoch: int):
        self.fd, self.pid, self.epoch = fd, os.getpid(), epoch

    def close(self) -> None:
        if self.fd >= 0 and self.pid == os.getpid():
            os.close(self.fd)
        self.fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass


class Counters:
    """The journal's ids and the dataset's generation, shared by every process using the store.

    Ids: the last id given is the size of ``<db>-ids``. Taking one appends a byte to it
    (``O_APPEND``: the kernel puts concurrent appends one after another) and reads where this
    thread's descriptor ended up. The file is sparse: every :attr:`PUNCH_EVERY` ids, and when a
    store is opened, the blocks below its end are let go, so that it holds at most about that
    many bytes on disk however many ids were given, also on a store used again (``--db``). No
    process holds a lock across two steps of Python: a lock
    taken with the GIL released must then wait for the GIL, up to 5 ms, while every other
    worker waits for the lock (measured: a third of a worker's request time under load).
    Generation: eight bytes of ``<db>-generation``, mapped into memory, written only by the
    store's writer (under its write lock) and read without a lock.
    """

    PUNCH_EVERY = 1 << 20  # ids between two hole punches of the ids file (a MiB of disk at most)

    def __init__(self, prefix: str | os.PathLike[str]):
        self.ids_path = f"{os.fspath(prefix)}-ids"
        self.generation_path = f"{os.fspath(prefix)}-generation"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by close(): descriptors from before are not used again
        self._mapped: tuple[int, mmap.mmap] | None = None  # (pid, map): per process

    def _ids(self) -> int:
        found = getattr(self._local, "descriptor", None)
        if (
            found is not None
            and found.fd >= 0
            and found.pid == os.getpid()
            and found.epoch == self._epoch
        ):
            return found.fd
        found = _Descriptor(
            os.open(self.ids_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), self._epoch
        )
        self._local.descriptor = (
            found  # the one it replaces, of an earlier epoch, closes as it goes
        )
        return found.fd

    def take(self) -> int:
        """The next id (the last given plus one)."""
        fd = self._ids()
        os.write(fd, b"\0")
        taken = os.lseek(fd, 0, os.SEEK_CUR)
        if taken % self.PUNCH_EVERY == 0:
            _punch(fd, taken - 4096)  # the last page stays: the next appends land in it
        return taken

    def last(self) -> int:
        """The last id given."""
        return os.fstat(self._ids()).st_size

    def raise_to(self, value: int) -> int:
        """No id at or below ``value`` is given again; returns the last id given.

        For a store being opened (before anyone takes ids): it does not exclude a concurrent take.
        """
        fd = self._ids()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size < value:
                os.ftruncate(fd, value)  # a sparse file: no disk space
            _punch(fd, max(size, value) - 4096)
            return max(size, value)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def restart(self) -> None:
        """Ids from 1 again, generation 0 (a new, empty store)."""
        os.ftruncate(self._ids(), 0)
        self.set_generation(0)

    def _map(self) -> mmap.mmap:
        mapped = self._mapped
        if mapped is None or mapped[0] != os.getpid():
            with self._lock:
                mapped = self._mapped
                if mapped is None or mapped[0] != os.getpid():
                    fd = os.open(self.generation_path, os.O_RDWR | os.O_CREAT, 0o600)
                    try:
                        if os.fstat(fd).st_size < _WIDTH:
                            os.ftruncate(fd, _WIDTH)  # a new file reads as zeros
                        view = mmap.mmap(fd, _WIDTH)  # keeps a descriptor of its own
                    finally:
                        os.close(fd)
                    mapped = self._mapped = (os.getpid(), view)
        return mapped[1]

    def generation(self) -> int:
        """The dataset's generation, read without a lock: an aligned 8-byte read, not torn on
        x86-64 or arm64 (a torn one would almost always just miss a cache)."""
        return int.from_bytes(self._map()[:_WIDTH], "little")

    def set_generation(self, value: int) -> None:
        """Publish the generation a committed write of the dataset left (the caller holds the write
        lock).
        """
        self._map()[:_WIDTH] = value.to_bytes(_WIDTH, "little")

    def close(self) -> None:
        """Let go of this thread's descriptor and the mapping; other threads' descriptors close
        when they next take an id or end (closing one under a thread about to write to it could
        write into whatever file reuses its number), the mapping when no thread reads it."""
        with self._lock:
            self._epoch += 1
            found = getattr(self._local, "descriptor", None)
            if found is not None:
                found.close()
            self._mapped = None


class WriteBehind:
    """Rows queued by any thread of this process, written in batches by one thread.

    :param write: writes a batch inside the store's write transaction (history only: the
        dataset's generation is left alone).
    """

    def __init__(
        self, store: HistoryStore, write: Callable[[sqlite3.Connection, Sequence[Any]], None]
    ):
        self._store, self._write = store, write
        self._queue: list[Any] = []
        self._queued = self._done = 0  # rows ever queued; rows ever written or given up, in order
        self._hurry = False  # a reader waits: write now
        self._closed = False
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mockspice-writer", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def put(self, row: Any) -> None:
        """Queue a row; it is written within milliseconds. Once closed (or its thread gone), it is
        written at once, in the caller's thread."""
        with self._cond:
            if not self._closed and self._thread.is_alive():
                self._queue.append(row)
                self._queued += 1
                if len(self._queue) == 1:
                    self._cond.notify_all()
                return
        if self._store.writing():  # inside the caller's own write: join its transaction
            self._write(self._store.connection(), [row])
            return
        with self._store.write(history=True) as conn:  # a request that outlived close()
            self._write(conn, [row])

    def flush(self, timeout: float = FLUSH_S) -> bool:
        """Wait until the rows queued before the call are written; False if that took too long.

        Returns False at once when this thread holds the store's write lock (the writer needs it).
        """
        if self._store.writing():
            return False
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued
            while self._done < target and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._hurry = True
                self._cond.notify_all()
                self._cond.wait(min(left, 1.0))
            return self._done >= target

    def close(self, timeout: float | None = None) -> bool:
        """Write what is queued (waiting at most ``timeout``, default ``CLOSE_S``), then stop the
        thread.

        Returns False when the thread is still writing (its store must stay open for it).
        """
        timeout = CLOSE_S if timeout is None else timeout
        if self._pid != os.getpid():
            return True  # a copy inherited through fork: its thread ran in the parent
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            _say(
                f"mockspice: error: {self._queued - self._done} journal entries are still being "
                f"written after {timeout:g} s"
            )
            return False
        return True

    def _run(self) -> None:
        failures = 0
        linger = LINGER_S
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not (self._hurry or self._closed):
                    self._cond.wait(linger)  # let more rows join the batch (a flush cuts it short)
                if not self._queue:
                    return  # closed and nothing left
                batch, self._queue, self._hurry = self._queue, [], False
            linger = BUSY_LINGER_S if len(batch) >= BUSY_ROWS else LINGER_S
            written = True
            try:
                with self._store.write(history=True) as conn:
                    self._write(conn, batch)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the writer must outlive a bad moment of the disk
                failures += 1
                written = failures >= GIVE_UP_AFTER  # given up: counted as done
                _say(
                    f"mockspice: error: writing {len(batch)} journal entries failed ({exc})"
                    + ("; they are lost" if written else "; retrying")
                )
                if written:
                    failures = 0
            with self._cond:
                if written:
                    self._done += len(batch)
                else:
                    self._queue[:0] = batch
                self._cond.notify_all()
            if not written:
                time.sleep(RETRY_S)


def _say(line: str) -> None:
    """One line on stderr; a closed stderr (``mockspice serve | tee`` after tee ended) must not
    stop the writer."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


_LIVE: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """At exit, write what every writer of this process still holds (a request may have
    recorded something after its store was closed), within one short budget."""
    deadline = time.monotonic() + AT_EXIT_S
    for writer in list(_LIVE):
        writer.close(max(0.0, deadline - time.monotonic()))
