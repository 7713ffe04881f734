"""A real ``mockspice serve`` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30
POP = "/spiceinstall/integrations/telephony/telephonypop.php"


def wait_for(probe, timeout: float = 10.0, every: float = 0.05):
    """Poll ``probe`` until it returns something truthy (returned) or the deadline passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class LiveServer:
    """A real ``mockspice serve`` process on a free loopback port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
        self.args = ["serve", "--host", "127.0.0.1", "--port", "0", *args]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSPICE_")}
        environment.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockspice", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=cwd or ROOT,
        )
        self.banner = self._read_banner()
        self.url = re.search(r"on (http://\S+)", self.banner).group(1)
        # Keep reading the server's log so a full pipe never blocks it; the tail stays for asserts.
        self.log: deque[str] = deque(maxlen=2000)
        self._drains = [
            threading.Thread(target=self._drain, args=(stream,), daemon=True)
            for stream in (self.proc.stdout, self.proc.stderr)
        ]
        for thread in self._drains:
            thread.start()

    def _drain(self, stream) -> None:
        for line in stream:
            self.log.append(line)

    def _read_banner(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        first = self.proc.stdout.readline()
        if not first:
            err = self.proc.stderr.read()
            raise RuntimeError(f"mockspice serve did not start: {err}")
        lines = [first]
        while len(lines) < 4 and time.monotonic() < deadline:
            lines.append(self.proc.stdout.readline())
        return "".join(lines)

    def get(self, path: str, **kwargs) -> requests.Response:
        """GET a path of the server."""
        return requests.get(self.url + path, timeout=10, **kwargs)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Any request to a path of the server."""
        return requests.request(method, self.url + path, timeout=10, **kwargs)

    def stop(self) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for thread in self._drains:
            thread.join(timeout=5)
        return self.proc.returncode
