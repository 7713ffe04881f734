"""``mockspice serve``: the production WSGI server (granian: HTTP in Rust) around the app.

The store is prepared once in the main process, before the workers are forked; each worker
opens its own SQLite connections (WAL mode lets them share the file). SIGTERM and SIGINT stop
the server gracefully, and a temporary store is removed on the way out. Workers follow their
main process: if it dies (even by SIGKILL) they stop within a second or two, writing what they
hold, and the last one out removes a temporary store.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing.util
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server as Granian

from mockspice import __version__, workers
from mockspice.app import create_app
from mockspice.domain.state import Prepared, prepare
from mockspice.settings import Settings
from mockspice.surfaces.api.endpoint import DROPPED
from mockspice.surfaces.bodies import MAX_PENDING

ACCESS_LOG_FORMAT = (
    '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms %(query_string)s'
)
LOOPBACK = ("127.0.0.1", "::1", "localhost")
START_TIMEOUT_S = 30
# granian's own messages go to stderr; stdout has the banner, then the access log.
LOG_CONFIG = {
    "handlers": {
        "console": {
            "formatter": "generic",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["threads", "drops"],
        },
        "access": {
            "formatter": "access",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
        },
    },
    "filters": {
        "threads": {"()": "mockspice.server.ThreadCountFilter"},
        "drops": {"()": "mockspice.server.DropFaultFilter"},
    },
}


class ThreadCountFilter(logging.Filter):
    """Drops granian's warning that it may start many Python threads: the ones past ``threads``
    are for requests whose bodies are still coming (surfaces/bodies.py), started only when
    needed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Python threads" not in record.getMessage()


class DropFaultFilter(logging.Filter):
    """Makes granian's traceback of an answer a ``drop`` fault broke off (on purpose) one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.endswith(
            f"ConnectionAbortedError: {DROPPED}"
        ):
            record.msg, record.args = f"{DROPPED} (the drop fault of a stub)", ()
            record.levelno, record.levelname = logging.INFO, "INFO"  # on purpose: no error
        return True


class ServeError(Exception):
    """The server cannot start; the message is one line."""


def check_bind(host: str, port: int) -> None:
    """Fail early, in one line, if the address cannot be bound (the server would log and exit)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ServeError(f"cannot bind {host}:{port}: unknown host ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(f"cannot bind {host}:{port}: the port is in use") from None
            raise ServeError(f"cannot bind {host}:{port}: {exc.strerror}") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def free_port(host: str) -> int:
    """A port nobody listens on now (granian does not report the one it picks for port 0)."""
    address = address_of(host)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def when_listening(host: str, port: int, then: Callable[[], None]) -> threading.Thread:
    """Call ``then`` once ``host:port`` accepts connections (from a daemon thread); never, if
    that does not happen in time."""

    def wait() -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, port), timeout=1).close()
            except OSError:
                time.sleep(0.02)
                continue
            then()
            return

    thread = threading.Thread(target=wait, name="mockspice-banner", daemon=True)
    thread.start()
    return thread


def announce(text: str) -> None:
    """Print ``text`` (the banner) from a thread of the main process without taking a lock a
    worker forked at that moment would inherit held: ``print`` holds ``sys.stdout``'s buffer
    lock while it writes, and a worker forked then would hang on its first line of access log.
    One ``os.write`` of the descriptor takes no lock in Python (the main process writes nothing
    else to stdout, so nothing is buffered ahead of it)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's capture): no fork races it
        print(text, flush=True)
        return
    data = (text + "\n").encode()
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:  # stdout closed: nobody to greet
        pass


def banner(settings: Settings, port: int, prepared: Prepared) -> str:
    """The lines printed once the server listens: its URLs and its store."""
    root = f"http://{_url_host(settings.host)}:{port}"
    pop = f"{root}{settings.base_path}/integrations/telephony/telephonypop.php?company=1&brand=1"
    lines = [
        f"mockspice {__version__} serving SpiceCSM ({settings.edition}) on {root}",
        f"  screen pop:  {pop}",
        f"  control API: {root}/_mockspice/ (health: {root}/_mockspice/health)",
        f"  store:       {prepared.store.path}"
        + ("" if prepared.loaded else " (kept from an earlier run)"),
    ]
    return "\n".join(lines)


def address_of(host: str) -> str:
    """The IP address granian binds for ``host`` (it takes no names, such as ``localhost``)."""
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        raise ServeError(f"cannot bind {host}: unknown host ({exc.strerror})") from None


def granian_server(settings: Settings, port: int) -> Granian:
    """How ``mockspice serve`` runs granian (the benchmarks serve their baseline the same way)."""
    return Granian(
        "mockspice:app",  # not imported: serve() hands the workers the app it made (fork)
        address=address_of(settings.host),
        port=port,
        interface=Interfaces.WSGI,
        websockets=False,
        # More threads for requests whose bodies are still coming (surfaces/bodies.py).
        workers=settings.workers,
        blocking_threads=settings.threads + MAX_PENDING,
        # A request line or headers beyond this are answered 431 by granian itself.
        http1_settings=HTTP1Settings(keep_alive=True, max_buffer_size=64 * 1024),
        log_enabled=True,
        log_level=LogLevels(settings.log_level),
        log_dictconfig=LOG_CONFIG,
        log_access=settings.log_level in ("debug", "info"),
        log_access_format=ACCESS_LOG_FORMAT,
        respawn_failed_workers=True,
        respawn_interval=0.5,
        workers_kill_timeout=5,
    )


def serve(settings: Settings) -> None:
    """Prepare the store and serve until SIGTERM or SIGINT.

    :raises ServeError, StoreError, DatasetError, StubsError: the server cannot start (nothing is
        left behind).
    """
    check_bind(settings.host, settings.port)
    if settings.host not in LOOPBACK and not settings.control_token:
        print(
            f"mockspice: warning: binding {settings.host} without a control_token: anyone who can "
            "reach this address can reset or replace the mock's data",
            file=sys.stderr,
            flush=True,
        )
    port = settings.port or free_port(settings.host)
    prepared = prepare(settings)
    main = os.getpid()
    try:
        app = create_app(settings, prepared)
        # The main process never uses its connection again; workers open their own after the fork.
        prepared.store.close()

        def worker_app() -> Any:
            # granian's workers end by os._exit, past atexit: write what the worker still holds,
            # then (a temporary store, its main process gone) leave the store's folder.
            close = workers.CloseOnce(prepared.store)
            multiprocessing.util.Finalize(None, close, exitpriority=100)
            temp = None
            if prepared.temp_dir is not None:
                temp = workers.TempStore(prepared.temp_dir, main)
                multiprocessing.util.Finalize(None, temp.leave, exitpriority=50)
            workers.follow_master(main, server, close, temp)
            return app

        server = granian_server(settings, port)
        workers.hold_stop_signals_across_forks(main)
        # If another process took the port after the check, this may greet its listener, just
        # before serve() fails below with a one-line error. The probe connects to the address
        # itself: no name look-up (and its locks) in a thread while granian forks.
        when_listening(
            address_of(settings.host), port, lambda: announce(banner(settings, port, prepared))
        )
        try:
            server.serve(target_loader=worker_app, wrap_loader=False)
        except (OSError, RuntimeError) as exc:  # granian binds in serve(): a port taken meanwhile
            reason = "the port is in use" if "in use" in str(exc) else str(exc).splitlines()[0]
            raise ServeError(f"cannot bind {settings.host}:{port}: {reason}") from None
    finally:
        if os.getpid() == main:  # a forked worker never returns here, but be sure
            prepared.cleanup()
