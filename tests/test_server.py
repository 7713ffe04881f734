"""``mockspice serve`` as a real process: workers sharing the store, logs, SIGTERM, --db."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from liveserver import POP, LiveServer, wait_for


def test_prints_urls_and_logs_one_line_per_request(live):
    assert "screen pop:  " + live.url + POP + "?company=1&brand=1" in live.banner
    assert live.get("/_mockspice/health?probe=log-line").status_code == 200
    lines = wait_for(lambda: [line for line in list(live.log) if "probe=log-line" in line])
    assert len(lines) == 1 and '" 200 ' in lines[0]


def test_workers_share_one_store(live):
    def pop(i: int) -> int:
        response = requests.get(
            live.url + POP,
            params={"company": 1, "brand": 1, "callid": f"c{i}", "format": "json"},
            timeout=10,
        )
        assert response.status_code == 200
        return response.json()["pop_id"]

    with ThreadPoolExecutor(8) as pool:
        pop_ids = list(pool.map(pop, range(120)))
    assert len(set(pop_ids)) == 120
    journal = live.get("/_mockspice/journal?kind=pop").json()
    assert sorted(e["id"] for e in journal["entries"]) == sorted(
        pop_ids
    )  # a pop id is its entry id
    assert {e["params"]["callid"] for e in journal["entries"]} == {f"c{i}" for i in range(120)}


def test_state_put_on_one_worker_is_seen_by_all(live):
    state = live.get("/_mockspice/state").json()
    state["companies"][0]["brands"][0]["label"] = "Seen Everywhere"
    assert live.request("PUT", "/_mockspice/state", json=state).status_code == 200
    labels = {
        live.get(POP + "?company=1&brand=1&format=json").json()["brand_label"] for _ in range(20)
    }
    assert labels == {"Seen Everywhere"}


def test_sigterm_stops_cleanly_and_removes_the_temporary_store():
    server = LiveServer()
    store = Path(server.banner.split("store:")[1].split()[0])
    assert store.exists()
    assert server.stop() == 0
    assert not store.parent.exists()


def test_a_worker_that_exits_alone_leaves_the_store_to_the_others():
    """The server replaces a worker that exits (a timeout, a signal); the temporary store stays."""
    import os
    import signal as signals

    server = LiveServer()
    try:
        store = Path(server.banner.split("store:")[1].split()[0])
        children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
        workers = wait_for(
            lambda: (
                [int(p) for p in children.read_text().split()]
                if len(children.read_text().split()) == 2
                else None
            )
        )
        pop_id = server.get(POP + "?company=1&brand=1&callid=before&format=json").json()["pop_id"]
        os.kill(workers[0], signals.SIGTERM)
        wait_for(
            lambda: (
                not Path(f"/proc/{workers[0]}").exists()
                or Path(f"/proc/{workers[0]}/stat").read_text().split()[2] == "Z"
            )
        )
        wait_for(
            lambda: (
                len(children.read_text().split()) == 2
                and workers[0] not in map(int, children.read_text().split())
            )
        )
        assert store.exists()
        answers = [
            server.get(POP + f"?company=1&brand=1&callid=after{i}&format=json") for i in range(10)
        ]
        assert [a.status_code for a in answers] == [200] * 10
        assert [a.json()["pop_id"] for a in answers] == list(range(pop_id + 1, pop_id + 11))
        entries = server.get("/_mockspice/journal?kind=pop").json()["entries"]
        assert [e["params"]["callid"] for e in entries][-11:] == ["before"] + [
            f"after{i}" for i in range(10)
        ]
    finally:
        assert server.stop() == 0
    assert not store.parent.exists()


def test_db_file_keeps_state_across_restarts(tmp_path):
    db = tmp_path / "kept.db"
    first = LiveServer("--db", str(db))
    try:
        state = first.get("/_mockspice/state").json()
        state["companies"][0]["label"] = "Kept Across Restarts"
        assert first.request("PUT", "/_mockspice/state", json=state).status_code == 200
        pop_ids = [
            first.get(POP + f"?company=1&brand=1&callid=k{i}&format=json").json()["pop_id"]
            for i in range(30)
        ]
    finally:
        assert (
            first.stop() == 0
        )  # the workers write the journal entries they still hold as they stop
    second = LiveServer("--db", str(db))
    try:
        assert "kept from an earlier run" in second.banner
        kept = second.get("/_mockspice/journal?kind=pop").json()["entries"]
        assert [e["id"] for e in kept] == pop_ids and [e["params"]["callid"] for e in kept] == [
            f"k{i}" for i in range(30)
        ]
        assert (
            second.get(POP + "?company=1&brand=1&format=json").json()["pop_id"] == pop_ids[-1] + 1
        )
        assert (
            second.get("/_mockspice/state").json()["companies"][0]["label"]
            == "Kept Across Restarts"
        )
        second.request("POST", "/_mockspice/reset")
        assert second.get("/_mockspice/state").json()["companies"][0]["label"] == "Acme Help Desk"
    finally:
        assert second.stop() == 0
    assert db.exists()


def test_warns_when_bound_beyond_loopback_without_a_token():
    server = LiveServer()  # loopback: no warning
    server.stop()
    assert not any("warning" in line for line in server.log)
    exposed = LiveServer.__new__(LiveServer)
    LiveServer.__init__(exposed, "--host", "0.0.0.0")
    exposed.stop()
    assert any(
        "mockspice: warning: binding 0.0.0.0 without a control_token" in line
        for line in exposed.log
    )


def test_serves_on_a_host_name():
    server = LiveServer("--host", "localhost")
    try:
        assert "on http://localhost:" in server.banner
        assert server.get("/_mockspice/health").json()["status"] == "ok"
    finally:
        assert server.stop() == 0


def test_a_port_taken_after_the_check_is_one_line_and_exit_2(tmp_path):
    """granian binds only when it starts: a port taken in between must not give a traceback."""
    import socket
    import subprocess
    import sys

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    code = (
        "import sys; from mockspice import server, cli; "
        f"server.free_port = lambda host: {port}; "  # taken between the choice and the bind
        "sys.exit(cli.main(['serve', '--port', '0']))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env={
                k: v for k, v in __import__("os").environ.items() if not k.startswith("MOCKSPICE_")
            },
        )
    finally:
        held.close()
    assert done.returncode == 2, done.stderr[-2000:]
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"mockspice: error: cannot bind 127.0.0.1:{port}: the port is in use"
    )
    assert "Traceback" not in done.stderr
