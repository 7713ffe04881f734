"""Request bodies read whole, within a deadline, before the app sees the request.

granian calls a WSGI app as soon as a request's headers have arrived, on one of the worker's
blocking threads; ``wsgi.input.read()`` then waits in Rust for the rest of the body, with no
timeout, until the body is complete or the connection closes, and nothing in Python can stop
that wait. A client that sent ``Content-Length: 1000`` and 10 bytes, an unfinished chunked body
or one byte a second held a thread for as long as it kept its socket open; eight of them held
every thread of the default server, and nothing else was answered.

:func:`reading_bodies` wraps the whole WSGI app (the outermost layer):

- a request without a body goes straight on;
- a body is read whole before the app runs, and the app reads it from memory. The request's own
  thread reads it (a body already there costs no thread switch); a watchdog thread answers 408
  (``Connection: close``) through granian's protocol object once ``timeout_s`` has passed, so
  the client has its answer on time, and the thread, whose read cannot be interrupted, is given
  back when the client finishes or closes the connection. Without that object (granian changed,
  or another server), a helper thread reads the body while the request's thread waits for it at
  most ``timeout_s``: the same answers, with one thread switch more per body;
- at most :data:`MAX_PENDING` bodies are read (or stuck) at once per process; past that, a body
  is refused with 503 unread, and granian closes that connection. ``mockspice serve`` gives
  granian as many blocking threads more than the ``threads`` setting, so that requests whose
  bodies are still coming leave the usual threads to the others.
"""

from __future__ import annotations

import _thread
import io
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

MAX_PENDING = 256  # bodies being read at once, per process; granian gets this many threads more
# Bytes those bodies may hold in all, per process: 256 clients sending 64 MiB each would hold
# 16 GiB. A sized body counts as its Content-Length, a chunked one as what has come of it (read in
# pieces of PIECE). One body is always taken, whatever its size.
MAX_PENDING_BYTES = 256 * 1024 * 1024
PIECE = 1024 * 1024
TICK_S = 0.25  # how often the watchdog looks for bodies past their deadline
IDLE_S = 60  # a helper thread (the fallback) that had no body to read for this long ends

log = logging.getLogger(__name__)

Refusal = tuple[int, str, str]  # status, code, message of a request answered before the app ran
Refuse = Callable[
    [dict, int, str, str], Any
]  # (environ, status, code, message) -> a werkzeug Response


class _Watched:
    """A body being read by its request's thread, and how to answer that request in its place."""

    __slots__ = ("proto", "environ", "deadline", "expired")

    def __init__(self, proto: Any, environ: dict, deadline: float):
        self.proto, self.environ, self.deadline, self.expired = proto, environ, deadline, False


class _Pending:
    """The bodies being read in this process, and the watchdog thread that answers for those
    still being read at their deadline (granian's protocol object answers from any thread, and
    ignores the answer that the request's thread gives later)."""

    def __init__(self, refuse: Refuse, late: Refusal):
        self._refuse, self._late = refuse, late
        self._lock = _thread.allocate_lock()
        self._count = 0  # bodies being read, by their request's thread or by a helper
        self._bytes = 0  # the sizes they declared
        self._watched: dict[int, _Watched] = {}
        self._running = False  # the watchdog thread; none survives a fork
        _ALL.add(self)

    def forked(self) -> None:
        """In a child just forked: no thread of the parent's came along."""
        self._lock = _thread.allocate_lock()
        self._count, self._bytes, self._watched, self._running = 0, 0, {}, False

    def take(self, entry: _Watched | None, size: int) -> bool:
        """Count a body of ``size`` bytes about to be read (``entry``: to watch); False if
        MAX_PENDING are already, or they and this one would declare more than MAX_PENDING_BYTES."""
        with self._lock:
            if self._count >= MAX_PENDING or (
                self._count and self._bytes + size > MAX_PENDING_BYTES
            ):
                return False
            self._count += 1
            self._bytes += size
            if entry is not None:
                if not self._running:
                    self._running = True
                    threading.Thread(
                        target=self._run, name="mockspice-body-watchdog", daemon=True
                    ).start()
                self._watched[id(entry)] = entry
            return True

    def grow(self, size: int) -> bool:
        """Count ``size`` more bytes of a body being read; False if
        that is past MAX_PENDING_BYTES.
        """
        with self._lock:
            if self._bytes + size > MAX_PENDING_BYTES:
                return False
            self._bytes += size
            return True

    def done(self, entry: _Watched | None, size: int) -> bool:
        """A body's read of ``size`` bytes returned; True if the watchdog has answered its request
        already.
        """
        with self._lock:
            self._count -= 1
            self._bytes -= size
            if entry is None:
                return False
            del self._watched[id(entry)]  # the watchdog leaves an entry it answered
            return entry.expired

    def _run(self) -> None:
        while True:
            time.sleep(TICK_S)
            now = time.monotonic()
            with self._lock:
                due = [
                    entry
                    for entry in self._watched.values()
                    if not entry.expired and entry.deadline <= now
                ]
                for entry in due:
                    entry.expired = True
            for entry in due:
                try:
                    response = self._refuse(entry.environ, *self._late)
                    entry.proto.response_bytes(
                        response.status_code, response.headers.to_wsgi_list(), response.get_data()
                    )
                except Exception:  # noqa: BLE001 - the next ones must still be answered
                    log.exception("mockspice: cannot answer a request whose body is late")


_ALL: weakref.WeakSet[_Pending] = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [pending.forked() for pending in list(_ALL)])


class _Job:
    __slots__ = ("stream", "size", "data", "error", "done")

    def __init__(self, stream: Any, size: int):
        self.stream, self.size, self.data, self.error = stream, size, b"", None
        self.done = _thread.allocate_lock()
        self.done.acquire()


class _Helper:
    """The fallback: a thread that reads bodies for one request thread, one at a time."""

    def __init__(self, pending: _Pending):
        self._pending = pending
        self._go = _thread.allocate_lock()
        self._go.acquire()
        self._state = _thread.allocate_lock()
        self._job: _Job | None = None
        self._alive = True
        threading.Thread(target=self._run, name="mockspice-body", daemon=True).start()

    def give(self, job: _Job) -> bool:
        """Have ``job`` read; False if this helper has ended (idle too long)."""
        with self._state:
            if not self._alive:
                return False
            self._job = job
        self._go.release()
        return True

    def _run(self) -> None:
        while True:
            if not self._go.acquire(timeout=IDLE_S):
                with self._state:
                    if self._job is None:
                        self._alive = False
                        return
                continue  # a job came as the wait ended: _go is released
            job = self._job
            try:
                job.data = job.stream.read(job.size)
            except Exception as exc:  # noqa: BLE001 - handed to the request thread
                job.error = exc
            self._job = None  # before done: the request thread may give the next job at once
            self._pending.done(None, job.size)
            job.done.release()


def _size(count: int) -> str:
    return f"{count >> 20} MiB" if count >= 1 << 20 else f"{count} bytes"


def reading_bodies(
    wsgi_app: Callable, refuse: Refuse, *, timeout_s: float, max_bytes: int
) -> Callable:
    """Wrap ``wsgi_app``: a request's body is read whole within ``timeout_s`` before it runs.

    :param refuse: ``refuse(environ, status, code, message)``: the response (a werkzeug
        ``Response``) to a request answered before the app ran; it must not read the body.
    :param max_bytes: a declared body larger than this goes to the app unread (it answers 413
        without reading it); a chunked body is read up to one byte past it.
    """
    late: Refusal = (
        408,
        "request-timeout",
        f"the request body did not arrive whole within {timeout_s:g} s (setting body_timeout_s)",
    )
    busy: Refusal = (
        503,
        "service-unavailable",
        f"{MAX_PENDING} request bodies (or {_size(MAX_PENDING_BYTES)} of them) are arriving "
        "already; send this one again later",
    )
    pending = _Pending(refuse, late)
    local = threading.local()
    warned: list[bool] = []

    def by_helper(stream: Any, size: int) -> bytes | None:
        """The body read by a helper thread, or None if it did not come in time."""
        job = _Job(stream, size)
        helper = getattr(local, "helper", None)
        if helper is None or not helper.give(job):
            helper = local.helper = _Helper(pending)
            helper.give(job)
        if not job.done.acquire(timeout=timeout_s):
            local.helper = None  # it is still reading: the next body gets another one
            return None
        if job.error is not None:
            raise job.error
        return job.data

    def read(environ: dict, length: str | None) -> Refusal | None:
        stream = environ["wsgi.input"]
        if isinstance(stream, io.BytesIO):
            return None  # already in memory (a test client)
        chunked = "HTTP_TRANSFER_ENCODING" in environ
        if chunked:
            size = max_bytes + 1  # read up to one byte past the largest: the app answers 413
        else:
            try:
                size = int(length)
            except ValueError:
                return None  # the app answers it as it always did
            if size > max_bytes:
                return None
        # granian's protocol object: a local of its function that called the app, 2 frames up
        # (this one's caller's caller is Flask's __call__).
        frame, proto = sys._getframe(2), None
        for _ in range(4):
            if frame is None:
                break
            if "proto" in frame.f_code.co_varnames:
                proto = frame.f_locals.get("proto")
                break
            frame = frame.f_back
        if hasattr(proto, "response_bytes"):
            entry = _Watched(proto, environ, time.monotonic() + timeout_s)
            charged = min(size, PIECE) if chunked else size
            if not pending.take(entry, charged):
                return busy
            try:
                if chunked:
                    data, charged = read_pieces(stream, size, charged)
                else:
                    data = stream.read(size)
            finally:
                expired = pending.done(entry, charged)
            if expired:
                return late  # answered already; granian ignores this second answer
            if data is None:
                return busy
        else:
            if not pending.take(None, size):
                return busy
            if not warned:
                warned.append(True)
                log.warning(
                    "mockspice: granian's protocol object was not found: request bodies are read "
                    "by helper threads (slower)"
                )
            data = by_helper(stream, size)
            if data is None:
                return late
        if not chunked and len(data) < size:
            return (
                400,
                "bad-request",
                f"the request body ended after {len(data)} of its {size} bytes",
            )
        environ["wsgi.input"] = io.BytesIO(data)
        return None

    def read_pieces(stream: Any, size: int, charged: int) -> tuple[bytes | None, int]:
        """A chunked body, up to ``size`` bytes, charged to the pending bytes as it comes (None when
        that would pass MAX_PENDING_BYTES); and the bytes charged for it."""
        pieces, total = [], 0
        while total < size:
            piece = stream.read(min(PIECE, size - total))
            if not piece:
                break
            pieces.append(piece)
            total += len(piece)
            if total > charged:
                if not pending.grow(total - charged):
                    return None, charged
                charged = total
        return b"".join(pieces), charged

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH")
        if (length and length != "0") or "HTTP_TRANSFER_ENCODING" in environ:
            refusal = read(environ, length)
            if refusal is not None:
                return refuse(environ, *refusal)(environ, start_response)
        return wsgi_app(environ, start_response)

    return app
