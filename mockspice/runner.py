"""``ServerProcess``: a real ``mockspice serve`` in a child process on a free loopback port.

What the pytest plugin (:mod:`mockspice.testing`) runs, and what a test suite without pytest can
run itself, as moto's ``ThreadedMotoServer``::

    with ServerProcess({"partner": True}) as server:
        server.client.pop(ani="5554010001")

The child is the same server as ``mockspice serve`` (granian, its workers, the store in a
temporary folder that it removes on the way out). Its settings come only from the mapping given:
the caller's ``MOCKSPICE_*`` variables are not passed on, so a test run does not depend on the
shell it was started from.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from mockspice.settings import Settings

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
# Settings the runner decides: the child binds loopback on a port it picks.
OWN = ("host", "port")


class ServerError(RuntimeError):
    """The server could not start, or stopped; the message says why (its own last lines)."""


class ServerProcess:
    """A ``mockspice serve`` child process.

    :param settings: setting names to values (see ``mockspice serve --help``); ``host`` and
        ``port`` are the runner's (127.0.0.1 and a free port). Default ``workers``: 1.
    :raises SettingsError: a setting is unknown or its value is wrong (nothing is started).
    """

    def __init__(self, settings: Mapping[str, Any] | None = None):
        given = dict(settings or {})
        taken = sorted(set(given) & set(OWN))
        if taken:
            raise ValueError(
                f"setting {taken[0]!r} is chosen by the runner (it binds 127.0.0.1 on a free port)"
            )
        given.setdefault("workers", 1)
        self.settings = Settings.load(environ={}, overrides=given)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.log: deque[str] = deque(maxlen=200)  # the server's last lines, stdout and stderr
        self._client: Any = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> ServerProcess:
        """Start the server and wait until it listens.

        :raises ServerError: it exited or did not listen within 30 s (with its last lines).
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSPICE_")}
        for name in Settings.names():
            value = getattr(self.settings, name)
            if name not in OWN and value != Settings.__dataclass_fields__[name].default:
                env[f"MOCKSPICE_{name.upper()}"] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockspice", "serve", "--host", "127.0.0.1", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        err = threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True)
        err.start()
        banner = self._read_banner()
        threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()
        self.url = re.search(r" on (http://\S+)", banner).group(1)
        return self

    def _read_banner(self) -> str:
        """The banner's first line (printed once the server listens), or a ServerError."""
        found: list[str] = []

        def read() -> None:
            for line in self.proc.stdout:
                self.log.append(line)
                if " serving SpiceCSM " in line:
                    found.append(line)
                    # The banner's other lines, then the access log: read by the drain.
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not found:
            if self.proc.poll() is None:
                self._kill()
                raise ServerError(
                    f"mockspice serve did not listen within {START_TIMEOUT_S} s{self._tail()}"
                )
            self.proc.wait()
            time.sleep(0.05)  # the stderr drain's last lines
            raise ServerError(
                f"mockspice serve exited with code {self.proc.returncode}{self._tail()}"
            )
        return found[0]

    def _drain(self, stream: Any) -> None:
        for line in stream:
            self.log.append(line)

    def _tail(self, lines: int = 15) -> str:
        tail = [line.rstrip("\n") for line in list(self.log)[-lines:]]
        return (":\n" + "\n".join("    " + line for line in tail)) if tail else ""

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def why_stopped(self) -> str:
        """A sentence on how the process ended, with its last lines."""
        code = self.proc.poll() if self.proc is not None else None
        how = (
            "is running"
            if code is None
            else (f"was killed by signal {-code}" if code < 0 else f"exited with code {code}")
        )
        return f"the mockspice server {how}{self._tail()}"

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; the exit code (None if it never started)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
        return self.proc.returncode

    def _kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- use ---------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """A :class:`mockspice.Client` of this server (its token and base path)."""
        if self._client is None:
            from mockspice.client import Client

            self._client = Client(
                self.url,
                token=self.settings.control_token or None,
                base_path=self.settings.base_path,
            )
        return self._client
