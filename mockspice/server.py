"""``mockspice serve``: the production WSGI server (gunicorn) around the app.

The store is prepared once in the master process, before the workers are forked; each worker
opens its own SQLite connections (WAL mode lets them share the file). SIGTERM and SIGINT stop
the server gracefully, and a temporary store is removed on the way out.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Any, Callable

from gunicorn.app.base import BaseApplication

from mockspice import __version__
from mockspice.app import create_app
from mockspice.domain.state import Prepared, prepare
from mockspice.settings import Settings

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ServeError(Exception):
    """The server cannot start; the message is one line."""


def check_bind(host: str, port: int) -> None:
    """Fail early, in one line, if the address cannot be bound (gunicorn would retry and log)."""
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


class _Gunicorn(BaseApplication):
    def __init__(self, app: Any, options: dict[str, Any]):
        self.application, self.options = app, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn 23+ opens a control socket at a fixed path shared by every instance; the mock
        # needs none, and two mocks on one machine must not fight over it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        return self.application


def banner(settings: Settings, port: int, prepared: Prepared) -> str:
    """The lines printed once the server listens: its URLs and its store."""
    root = f"http://{_url_host(settings.host)}:{port}"
    pop = f"{root}{settings.base_path}/integrations/telephony/telephonypop.php?company=1&brand=1"
    lines = [
        f"mockspice {__version__} serving SpiceCSM ({settings.edition}) on {root}",
        f"  screen pop:  {pop}",
        f"  control API: {root}/_mockspice/ (health: {root}/_mockspice/health)",
        f"  store:       {prepared.store.path}{'' if prepared.loaded else ' (kept from an earlier run)'}",
    ]
    return "\n".join(lines)


def gunicorn_options(settings: Settings, when_ready: Callable[[Any], None]) -> dict[str, Any]:
    """How ``mockspice serve`` runs gunicorn (the benchmarks serve their baseline the same way)."""
    return {
        "bind": f"{_url_host(settings.host)}:{settings.port}",
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": settings.threads,
        "preload_app": True,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": settings.log_level,
        "graceful_timeout": 5,
        "timeout": 120,
        "keepalive": 5,
        "when_ready": when_ready,
        "proc_name": "mockspice",
        # gunicorn answers a request line or header beyond these with a 400 of its own.
        "limit_request_line": 8190,
        "limit_request_field_size": 16380,
    }


def serve(settings: Settings) -> None:
    """Prepare the store and serve until SIGTERM or SIGINT.

    :raises ServeError, StoreError, DatasetError: the server cannot start (nothing is left behind).
    """
    check_bind(settings.host, settings.port)
    if settings.host not in LOOPBACK and not settings.control_token:
        print(f"mockspice: warning: binding {settings.host} without a control_token: anyone who can "
              "reach this address can reset or replace the mock's data", file=sys.stderr, flush=True)
    prepared = prepare(settings)
    master = os.getpid()
    try:
        app = create_app(settings, prepared)
        # The master never uses its connection again; workers open their own after the fork.
        prepared.store.close()

        def when_ready(server: Any) -> None:
            port = server.LISTENERS[0].sock.getsockname()[1]
            print(banner(settings, port, prepared), flush=True)

        def worker_exit(server: Any, worker: Any) -> None:
            prepared.store.close()  # writes the journal entries this worker still holds

        _Gunicorn(app, {**gunicorn_options(settings, when_ready), "worker_exit": worker_exit}).run()
    finally:
        # A worker leaves gunicorn by sys.exit() through this same stack: only the master may
        # remove the temporary store (a worker that exits alone, and is replaced, must not).
        if os.getpid() == master:
            prepared.cleanup()
