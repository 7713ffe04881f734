"""How the workers of ``mockspice serve`` follow their main process and stop cleanly.

granian forks the workers; these functions run in the main process
(:func:`hold_stop_signals_across_forks`) and in each worker, from ``worker_app``
(:func:`follow_master`). docs/architecture.md, "Workers and their main process", says why each piece
is there."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from granian.server import Server as Granian

BOOT_WAIT_S = 10  # a worker waits this long at most for granian to take over its SIGTERM
MASTER_POLL_S = 0.1  # how often a worker looks at its parent, where no pidfd can watch it
STOP_GRACE_S = (
    3.0  # a worker asked to stop exits by itself this long after (granian kills it at 5 s) ...
)
ORPHAN_GRACE_S = 1.0  # ... or this long after its main process died ...
EXIT_CLOSE_S = 1.0  # ... having written what it holds, for at most this long


def wait_for_exit(pid: int) -> None:
    """Return once process ``pid``, this process's parent, has ended (at once if it has).

    A pidfd wakes this thread the moment the parent ends; without one (Linux < 5.3), the parent
    is looked at every ``MASTER_POLL_S``: an orphan's parent is no longer ``pid``.
    """
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is None:
        while os.getppid() == pid:
            time.sleep(MASTER_POLL_S)
        return
    try:
        # Opened while still its child: the pidfd is of the parent, not of a later process
        # given its number (the number of a live parent is not reused).
        if os.getppid() == pid:
            watch = select.poll()
            watch.register(fd, select.POLLIN)
            while not watch.poll():
                pass
    finally:
        os.close(fd)


class TempStore:
    """A worker's share of the temporary store (no ``--db``): the main process removes it once
    its workers have stopped; if the main process died, the last worker out removes it.

    Each worker holds a shared ``flock`` of a file in the folder while it may still write the
    store, and lets it go once it has closed the store; the one that then gets it exclusive is
    the last, and removes the folder.
    """

    def __init__(self, folder: Path, master: int):
        self.folder, self.master = folder, master
        self._lock = threading.Lock()
        self._fd: int | None = os.open(
            folder / ".workers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def leave(self) -> None:
        """This worker is done with the store (closed): remove it if the main process is gone
        and no other worker still uses it."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
                if os.getppid() == self.master:
                    return  # the main process removes it, after every worker
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # another worker still writes it: the last one out removes it
                shutil.rmtree(self.folder, ignore_errors=True)
            finally:
                os.close(fd)


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class _ForkGuard:
    """The serving process's forks, made with SIGTERM and SIGINT blocked
    (:func:`hold_stop_signals_across_forks`)."""

    def __init__(self) -> None:
        self.process: int | None = None  # the serving process (its forks are granian's workers)
        self._saved = threading.local()  # the forking thread's mask, to restore in the parent
        self._hooked = False

    def install(self, process: int) -> None:
        self.process = process
        if not self._hooked:  # at-fork hooks cannot be removed: once per interpreter
            os.register_at_fork(before=self._before, after_in_parent=self._after_in_parent)
            self._hooked = True

    def _before(self) -> None:
        if os.getpid() == self.process:
            self._saved.mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    def _after_in_parent(self) -> None:
        mask, self._saved.mask = getattr(self._saved, "mask", None), None
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # runs a handler that is due at once


_FORK_GUARD = _ForkGuard()


def hold_stop_signals_across_forks(main: int) -> None:
    """Fork granian's workers with SIGTERM and SIGINT blocked (they stay pending, never lost).

    A signal sent to a worker that the kernel has made but that has not run yet is delivered the
    moment it first runs, inside ``os.fork()``, and CPython then clears it as one meant for the
    parent (``PyOS_AfterFork_Child``): the main process SIGTERMs a worker it has just forked (a
    stop right after a start or a respawn) and the worker never stops. Blocked from before the
    fork, the signal waits in the kernel for the worker's signal thread (:func:`follow_master`).
    The main process unblocks them as soon as the fork returns (``subprocess`` does not run
    these hooks, and the main process forks nothing else).
    """
    _FORK_GUARD.install(main)


def follow_master(
    master: int, granian: Granian, close: Callable[[], None], temp: TempStore | None
) -> None:
    """In a worker just forked, from its main thread (granian calls ``worker_app`` before it
    sets the worker's signal handlers and starts its threads): make every stop asked for stop
    the worker, and make the worker stop when its main process dies.

    A stop is granian's SIGTERM handler, a Python one, which Python runs only in the main thread,
    and the main thread of a worker sleeps in an untimed ``Event.wait()``. The signal is sent to
    the process, and the kernel may hand it to any thread that does not block it: under load, a
    busy Rust (tokio) thread took it, Python's C handler marked it there, and nothing woke the
    main thread to run the Python handler (the worker served on until the main process killed it
    5 s later, "refused to gracefully stop"). So SIGTERM and SIGINT stay blocked in every thread
    of a worker (blocked before the fork, :func:`hold_stop_signals_across_forks`; every thread
    inherits the mask) and one thread takes them with ``sigwait`` and calls granian's handler
    itself, once granian has installed it (just after ``worker_app``), and only once: the second
    call of granian's handler waits for its stop to be taken, a third would wait for ever. A
    request that holds the stop up more than ``STOP_GRACE_S`` is cut short: the worker writes
    the journal it holds and exits, before granian's kill (5 s) would lose it.

    A parent-death signal (``PR_SET_PDEATHSIG``) is not used to follow the main process: it fires
    when the *thread* that forked the worker ends, which ties it to the thread granian forks from
    (a respawn from a thread that then ends would kill a healthy worker), it still needs a look
    at the parent for one that died before it was set, and it bounds nothing. A thread of the
    worker watches the main process instead (a pidfd: woken at once, no polling). Once it is
    gone the worker stops as on SIGTERM (its Finalize writes the journal it holds); if that takes
    more than ``ORPHAN_GRACE_S`` (a request that does not end: no main process will kill it now)
    it closes the store (at most ``EXIT_CLOSE_S``) and exits, so the port is free within 2 s.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # already, if forked by serve()
    inherited = signal.getsignal(signal.SIGTERM)

    def take_signals() -> None:
        deadline = time.monotonic() + BOOT_WAIT_S
        while signal.getsignal(signal.SIGTERM) is inherited and time.monotonic() < deadline:
            time.sleep(0.002)  # granian installs its handler just after worker_app returns
        handler = signal.getsignal(signal.SIGTERM)
        if handler is inherited or not callable(handler):  # a worker that never came up
            _exit_now(close, temp)
        # A stop that reached the main process's handler (a worker forked some other way, with
        # the signals not blocked) set its flag in this process's copy of the server.
        if not getattr(granian, "interrupt_signal", False):
            signal.sigwait(STOP_SIGNALS)
        # The cut counts from the stop, whatever granian's handler does meanwhile (in a thread
        # of its own: should it wait, it must not hold up the cut).
        deadline = time.monotonic() + STOP_GRACE_S

        def stop() -> None:
            try:
                handler(signal.SIGTERM, None)  # granian's: the worker stops gracefully
            except Exception as exc:  # noqa: BLE001 - the worker must stop all the same
                _say(f"mockspice: error: worker {os.getpid()} cannot stop gracefully ({exc})")
                _exit_now(close, temp)

        threading.Thread(target=stop, name="mockspice-stop", daemon=True).start()
        while (
            left := deadline - time.monotonic()
        ) > 0:  # later ones are dropped: the stop is under way
            if hasattr(signal, "sigtimedwait"):
                signal.sigtimedwait(STOP_SIGNALS, left)
            else:  # no sigtimedwait (macOS): they stay pending
                time.sleep(left)
        # A request holds the stop up (a client that never sends the rest of its body): granian
        # would kill the worker at 5 s, losing the journal entries it holds; write them and exit.
        _say(
            f"mockspice: error: worker {os.getpid()} still has requests running {STOP_GRACE_S:g} s "
            "after it was asked to stop; they are cut short"
        )
        _exit_now(close, temp)

    def watch_master() -> None:
        wait_for_exit(master)
        _say(
            f"mockspice: error: the server's main process ({master}) is gone: worker "
            f"{os.getpid()} stops"
        )
        os.kill(os.getpid(), signal.SIGTERM)  # taken by take_signals, as any stop
        time.sleep(ORPHAN_GRACE_S)
        _exit_now(close, temp)

    for target, name in (
        (take_signals, "mockspice-signals"),
        (watch_master, "mockspice-master-watch"),
    ):
        threading.Thread(target=target, name=name, daemon=True).start()


class CloseOnce:
    """A worker's ``Store.close``, run once: by its Finalize (a graceful stop) or by
    :func:`_exit_now`, whichever comes first; the other waits for it."""

    def __init__(self, store: Any):
        self._store, self._lock, self._done = store, threading.Lock(), False

    def __call__(self) -> None:
        with self._lock:
            if not self._done:
                self._done = True
                self._store.close()


def _exit_now(close: Callable[[], None], temp: TempStore | None) -> None:
    """Write what this worker holds (at most ``EXIT_CLOSE_S``) and exit, whatever still runs."""
    closing = threading.Thread(target=close, name="mockspice-close", daemon=True)
    closing.start()
    closing.join(EXIT_CLOSE_S)
    if temp is not None and not closing.is_alive():
        temp.leave()
    os._exit(1)


def _say(line: str) -> None:
    """One line on stderr, in one write (the workers may say it at the same time)."""
    try:
        os.write(sys.stderr.fileno(), (line + "\n").encode())
    except (AttributeError, OSError, ValueError):  # stderr gone with the main process's reader
        pass
