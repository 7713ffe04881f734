"""``mockspice serve``'s life cycle as a real process: its workers follow their main process
(a SIGKILL of it leaves no worker serving), and a stop is clean every time (no worker killed
after refusing to stop), under load and while a worker boots."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from liveserver import POP, ROOT, LiveServer, wait_for

WORKER_EXIT_S = 3.0  # the workers stop within ~1-2 s of their main process's death
STOP_S = 4.0  # a clean stop takes ~0.1 s; a refused one 5 s (granian's kill)
REFUSED = "refused to gracefully stop"


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked (from any of its threads)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [
                int(child)
                for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            ]
    except OSError:
        pass
    return found


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def workers_of(server: LiveServer, count: int = 2) -> list[int]:
    workers = wait_for(
        lambda: (lambda found: found if len(found) == count else None)(children(server.proc.pid))
    )
    assert workers, f"the server did not have {count} workers"
    return workers


def reap(pids: list[int]) -> None:
    """Leave no process behind, whatever the test found."""
    for pid in pids:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


class Load:
    """Clients keeping a server busy: keep-alive connections asking for pops as fast as they
    are answered (each a journal entry queued), and idle keep-alive connections."""

    def __init__(self, url: str, busy: int = 4, idle: int = 3, per_client: int = 400):
        self.url, self.per_client = url, per_client
        self.acknowledged: list[int] = []  # pop ids answered (their journal entries must be kept)
        self._stop = threading.Event()
        self._idle = [requests.Session() for _ in range(idle)]
        for session in self._idle:
            session.get(url + "/_mockspice/health", timeout=5)
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(busy)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, n: int) -> None:
        host, port = self.url.split("//")[1].rsplit(":", 1)
        connection = http.client.HTTPConnection(
            host, int(port), timeout=5
        )  # lighter than requests: more load
        try:
            for i in range(self.per_client):
                if self._stop.is_set():
                    return
                try:
                    connection.request(
                        "GET", f"{POP}?company=1&brand=1&callid=c{n}-{i}&format=json"
                    )
                    answer = connection.getresponse()
                    body = answer.read()
                except (OSError, http.client.HTTPException):
                    return  # the server went away
                if answer.status == 200:
                    self.acknowledged.append(json.loads(body)["pop_id"])
        finally:
            connection.close()

    def wait_for_answers(self, count: int) -> None:
        assert wait_for(lambda: len(self.acknowledged) >= count), "the load got no answers"

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        for session in self._idle:
            session.close()


def test_workers_exit_when_the_main_process_is_killed_and_keep_what_they_answered(tmp_path):
    """SIGKILL of the main process: every worker exits within seconds (writing the journal
    entries it holds), the port is free for a new server, and that one has every entry whose
    pop was answered."""
    db = tmp_path / "kept.db"
    server = LiveServer("--workers", "2", "--db", str(db))
    workers = workers_of(server)
    port = server.url.rsplit(":", 1)[1]
    load = Load(server.url)
    try:
        load.wait_for_answers(50)
        killed = time.monotonic()
        os.kill(server.proc.pid, signal.SIGKILL)
        left = wait_for(
            lambda: all(gone(pid) for pid in workers), timeout=WORKER_EXIT_S + 5, every=0.01
        )
        took = time.monotonic() - killed
        load.stop()
        assert left, (
            f"workers still serving {WORKER_EXIT_S + 5:g} s after their main process was killed"
        )
        assert took < WORKER_EXIT_S, f"the workers took {took:.2f} s to exit"
    finally:
        load.stop()
        reap(workers)
        server.stop()
    acknowledged = set(load.acknowledged)
    second = LiveServer("--db", str(db), "--port", port)  # the port is free again
    try:
        assert second.url.endswith(f":{port}")
        kept = {
            entry["id"] for entry in second.get("/_mockspice/journal?kind=pop").json()["entries"]
        }
        assert acknowledged <= kept, (
            f"{len(acknowledged - kept)} answered pops lost their journal entry"
        )
    finally:
        assert second.stop() == 0


def test_the_last_worker_out_removes_the_temporary_store():
    """Without --db the store is a temporary folder the main process removes as it exits; killed,
    it cannot, and its workers do it once the last of them has written the store."""
    server = LiveServer("--workers", "2")
    workers = workers_of(server)
    store = Path(server.banner.split("store:")[1].split()[0])
    try:
        assert server.get(POP + "?company=1&brand=1&format=json").status_code == 200
        os.kill(server.proc.pid, signal.SIGKILL)
        assert wait_for(
            lambda: all(gone(pid) for pid in workers), timeout=WORKER_EXIT_S + 5, every=0.01
        )
        assert wait_for(lambda: not store.parent.exists(), timeout=2), (
            f"{store.parent} is left behind"
        )
    finally:
        reap(workers)
        server.stop()
        shutil.rmtree(store.parent, ignore_errors=True)  # whatever the test found


def _stop_while_booting(respawn: bool) -> tuple[float, str]:
    """SIGTERM the main process the moment a worker has been forked (at start, or as it replaces
    a worker that died), before that worker has set up its signal handling."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSPICE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mockspice",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    seen: list[int] = []
    try:
        first = wait_for(lambda: children(proc.pid), timeout=30, every=0.0005)
        assert first, "no worker was forked"
        seen += first
        if respawn:
            workers = wait_for(
                lambda: (lambda found: found if len(found) == 2 else None)(children(proc.pid)),
                timeout=30,
            )
            assert workers
            seen += workers
            time.sleep(0.5)  # both serving
            os.kill(workers[0], signal.SIGKILL)
            new = wait_for(
                lambda: [pid for pid in children(proc.pid) if pid not in workers],
                timeout=10,
                every=0.0005,
            )
            assert new, "the dead worker was not replaced"
            seen += new
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        return time.monotonic() - stopped, err
    finally:
        if proc.poll() is None:
            seen += children(proc.pid)
            proc.kill()
            proc.communicate()
        reap(seen)


@pytest.mark.parametrize("respawn", [False, True], ids=["at-start", "at-respawn"])
def test_a_stop_while_a_worker_boots_is_clean(respawn):
    for _ in range(3):
        took, err = _stop_while_booting(respawn)
        assert REFUSED not in err, err[-3000:]
        assert took < STOP_S, f"the stop took {took:.2f} s"


def test_a_request_that_never_ends_does_not_hold_a_stop(tmp_path):
    """A client that never sends the rest of its body holds its request (and the worker's
    graceful stop) open: the worker writes what it holds and exits by itself within ~3 s, before
    granian would kill it (5 s) and lose its journal entries."""
    db = tmp_path / "kept.db"
    server = LiveServer("--workers", "2", "--db", str(db))
    workers = workers_of(server)
    host, port = server.url.split("//")[1].rsplit(":", 1)
    stalled = [socket.create_connection((host, int(port)), timeout=10) for _ in range(2)]
    try:
        for connection in stalled:  # one per worker, most likely
            connection.sendall(
                b"PUT /_mockspice/state HTTP/1.1\r\nHost: mock\r\nContent-Type: "
                b"application/json\r\n"
                b'Content-Length: 100000\r\n\r\n{"companies": '
            )
        pops = [
            server.get(POP + f"?company=1&brand=1&callid=s{i}&format=json").json()["pop_id"]
            for i in range(20)
        ]
        stopped = time.monotonic()
        code = server.stop()
        took = time.monotonic() - stopped
    finally:
        for connection in stalled:
            connection.close()
        reap(workers)
        server.stop()
    assert REFUSED not in "".join(server.log), [
        line for line in server.log if "worker" in line.lower()
    ][-10:]
    assert code == 0 and took < 4.8, f"the stop took {took:.2f} s"
    second = LiveServer("--db", str(db))
    try:
        kept = {
            entry["id"] for entry in second.get("/_mockspice/journal?kind=pop").json()["entries"]
        }
        assert set(pops) <= kept
    finally:
        assert second.stop() == 0


@pytest.mark.slow
def test_stops_under_load_are_clean():
    """Stop after stop of a server that clients have just begun to keep busy (keep-alive
    connections, each pop a journal entry queued), while granian starts the workers' threads to
    answer them: none refuses to stop, each takes well under granian's 5 s kill timeout."""
    times = []
    for _ in range(10):
        server = LiveServer("--workers", "2")
        workers = workers_of(server)
        load = Load(server.url, busy=6, idle=2, per_client=2000)
        try:
            stopped = time.monotonic()
            code = server.stop()
            times.append(time.monotonic() - stopped)
        finally:
            load.stop()
            reap(workers)
            server.stop()
        assert REFUSED not in "".join(server.log), [
            line for line in server.log if "worker" in line.lower()
        ][-10:]
        assert code == 0
        assert times[-1] < STOP_S, f"stop {len(times)} took {times[-1]:.2f} s"
