"""Clients whose request bodies stall or drip hold no thread that others need (issue 11).

Against a real ``mockspice serve`` on 127.0.0.1: raw sockets send headers and part of a body and
hold; every URL answers them 408 (in its own error shape) once ``body_timeout_s`` has passed,
while health, pops and API calls are still answered, with 100 of them held open. Then the same
reader in-process, without granian: its fallback and its cap. Every socket has a timeout, every
thread a bounded join, and the server is stopped at the end.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time

import pytest
import requests
from liveserver import POP, LiveServer

from mockspice.surfaces import bodies
from mockspice.surfaces.bodies import reading_bodies

TIMEOUT_S = 1  # the server's body_timeout_s
ANSWERED_WITHIN_S = TIMEOUT_S + 3  # the deadline, the watchdog's tick and a busy machine's delays
API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
LATE = f"the request body did not arrive whole within {TIMEOUT_S} s (setting body_timeout_s)"


@pytest.fixture(scope="module")
def server():
    server = LiveServer(
        "--workers", "2", "--threads", "4", "--partner", "--body-timeout-s", str(TIMEOUT_S)
    )
    yield server
    server.stop()


def port_of(server: LiveServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def head(method: str, path: str, *lines: str) -> bytes:
    return "".join(
        [
            f"{method} {path} HTTP/1.1\r\n",
            "Host: 127.0.0.1\r\n",
            *(f"{line}\r\n" for line in lines),
            "\r\n",
        ]
    ).encode()


def stalled(port: int, data: bytes) -> socket.socket:
    """A connection that sent ``data`` (headers and part of a body) and now holds."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def answer(
    sock: socket.socket, within: float = ANSWERED_WITHIN_S
) -> tuple[int, dict, bytes] | None:
    """The response read from ``sock`` (status, headers, body), or None if the server closed
    the connection without one; fails if neither happens ``within`` seconds."""
    sock.settimeout(within)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    top, rest = data.split(b"\r\n\r\n", 1)
    lines = top.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])
    }
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest


def closing(*socks: socket.socket) -> None:
    for sock in socks:
        sock.close()


# What each surface sends, and how its 408 reads (the surface's own error shape).
def _json_late(body: bytes) -> None:
    assert json.loads(body) == {"error": {"code": "request-timeout", "message": LATE}}


def _page_late(body: bytes) -> None:
    text = body.decode()
    assert '<span id="error-code">request-timeout</span>' in text and LATE in text


def _text_late(body: bytes) -> None:
    assert body.decode() == LATE + "\n"


SURFACES = {
    "api": ("POST", API, "application/json", _json_late),
    "control-state": ("PUT", "/_mockspice/state", "application/json", _json_late),
    "pop": ("GET", POP + "?company=1&brand=1", "application/x-www-form-urlencoded", _page_late),
    "partner": ("POST", "/_partner/search", "application/x-www-form-urlencoded", _text_late),
}


def assert_late(reply: tuple[int, dict, bytes] | None, check) -> None:
    assert reply is not None, "the connection closed without an answer"
    status, headers, body = reply
    assert status == 408
    assert headers.get("connection") == "close"
    check(body)


@pytest.mark.parametrize("surface", list(SURFACES))
def test_a_body_shorter_than_its_length_is_answered_408_in_time(server, surface):
    method, path, content_type, check = SURFACES[surface]
    sock = stalled(
        port_of(server),
        head(method, path, f"Content-Type: {content_type}", "Content-Length: 1000") + b"0123456789",
    )
    try:
        started = time.monotonic()
        reply = answer(sock)
        assert TIMEOUT_S - 0.1 <= time.monotonic() - started <= ANSWERED_WITHIN_S
        assert_late(reply, check)
    finally:
        closing(sock)


@pytest.mark.parametrize("surface", ["api", "control-state", "partner"])
def test_an_unfinished_chunked_body_is_answered_408(server, surface):
    method, path, content_type, check = SURFACES[surface]
    sock = stalled(
        port_of(server),
        head(method, path, f"Content-Type: {content_type}", "Transfer-Encoding: chunked")
        + b"5\r\nhello\r\n",
    )
    try:
        assert_late(answer(sock), check)
    finally:
        closing(sock)


def test_a_client_that_drips_its_body_is_answered_408_at_the_deadline(server):
    """One byte every 0.2 s never lets a read time out; the deadline counts from the headers."""
    sock = stalled(
        port_of(server), head("POST", API, "Content-Type: application/json", "Content-Length: 1000")
    )
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(0.2):
            try:
                sock.send(b"x")
            except OSError:
                return

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        started = time.monotonic()
        reply = answer(sock)
        assert time.monotonic() - started <= ANSWERED_WITHIN_S
        assert_late(reply, _json_late)
    finally:
        stop.set()
        dripper.join(timeout=5)
        closing(sock)


def test_a_body_that_ends_before_its_length_is_answered_400(server):
    sock = stalled(
        port_of(server),
        head("POST", API, "Content-Type: application/json", "Content-Length: 1000") + b"0123456789",
    )
    try:
        sock.shutdown(socket.SHUT_WR)  # the client has sent all it will
        status, _, body = answer(sock)
        assert status == 400
        assert json.loads(body)["error"] == {
            "code": "bad-request",
            "message": "the request body ended after 10 of its 1000 bytes",
        }
    finally:
        closing(sock)


def test_a_body_that_comes_late_but_in_time_is_served(server):
    """Headers first, the body a moment later, or chunked: the app gets all of it."""
    call = json.dumps({"jsonrpc": "2.0", "method": "rpc.discover", "id": 41}).encode()
    sock = stalled(
        port_of(server),
        head("POST", API, "Content-Type: application/json", f"Content-Length: {len(call)}"),
    )
    chunked = stalled(
        port_of(server),
        head("POST", API, "Content-Type: application/json", "Transfer-Encoding: chunked")
        + b"%x\r\n%s\r\n" % (10, call[:10]),
    )
    try:
        time.sleep(0.3)
        sock.sendall(call)
        chunked.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(call) - 10, call[10:]))
        for conn in (sock, chunked):
            status, _, body = answer(conn)
            assert status == 200
            assert json.loads(body)["id"] == 41
    finally:
        closing(sock, chunked)


def test_a_state_put_whose_body_comes_whole_is_applied(server):
    state = server.get("/_mockspice/state").content
    data = head(
        "PUT",
        "/_mockspice/state",
        "Content-Type: application/json",
        f"Content-Length: {len(state)}",
    )
    sock = stalled(port_of(server), data)
    try:
        for start in range(0, len(state), 4096):  # in pieces, as a slow link brings it
            sock.sendall(state[start : start + 4096])
        status, _, body = answer(sock)
        assert status == 200, body[:300]
    finally:
        closing(sock)


def _kinds(port: int, count: int) -> list[socket.socket]:
    """``count`` stalled connections of every kind, on every surface."""
    kinds = [
        head("POST", API, "Content-Type: application/json", "Content-Length: 1000") + b"0123456789",
        head("PUT", "/_mockspice/state", "Content-Type: application/json", "Content-Length: 1000")
        + b"{",
        head("POST", API, "Content-Type: application/json", "Transfer-Encoding: chunked")
        + b"5\r\nhello\r\n",
        head("GET", POP + "?company=1&brand=1", "Content-Length: 50") + b"ani=",
        head(
            "POST",
            "/_partner/load",
            "Content-Type: application/x-www-form-urlencoded",
            "Content-Length: 99",
        ),
    ]
    return [stalled(port, kinds[i % len(kinds)]) for i in range(count)]


def _others_are_answered(server: LiveServer) -> None:
    """Health, a pop and an API call, each promptly (the client's timeout is well below the
    time any held connection will be kept)."""
    started = time.monotonic()
    health = requests.get(server.url + "/_mockspice/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    pop = requests.get(
        server.url + POP,
        params={"company": 1, "brand": 1, "ani": "+1 555 201 0001", "format": "json"},
        timeout=5,
    )
    assert pop.status_code == 200 and pop.json()["pop_id"]
    call = requests.post(
        server.url + API,
        json={"jsonrpc": "2.0", "method": "connect", "params": ["admin", "admin"], "id": 3},
        timeout=5,
    )
    assert call.status_code == 200 and call.json()["result"]["session"]
    assert time.monotonic() - started < 5


def test_the_server_answers_others_while_100_clients_hold_their_bodies(server):
    socks = _kinds(port_of(server), 100)
    try:
        _others_are_answered(server)  # while all 100 wait for their bodies
        replies = [answer(sock) for sock in socks]
        for reply in replies:  # each of them answered (or, at worst, its connection closed)
            assert reply is None or reply[0] == 408
        assert sum(reply is not None for reply in replies) >= 95
        _others_are_answered(server)  # and once they are answered, with the 100 still held open
        # A held connection is not served again: its server side waits for the client to go.
        more = _kinds(port_of(server), 10)
        try:
            _others_are_answered(server)
        finally:
            closing(*more)
    finally:
        closing(*socks)
    _others_are_answered(server)


def test_the_server_reads_bodies_the_fast_way(server):
    """granian's protocol object was found: no helper thread, no warning."""
    assert (
        requests.post(
            server.url + API, json={"method": "rpc.discover", "id": 1}, timeout=5
        ).status_code
        == 200
    )
    assert not any("protocol object was not found" in line for line in list(server.log))


# --- The reader in-process, without granian -------------------------------------------------------


class SlowStream:
    """A wsgi.input whose read waits (at most 10 s) until it is let go."""

    def __init__(self, data: bytes):
        self.data, self.go = data, threading.Event()

    def read(self, size: int = -1) -> bytes:
        self.go.wait(10)
        return self.data


class Refused:
    def __init__(self, status: int, code: str, message: str):
        self.status_code, self.code, self.message = status, code, message

    def __call__(self, environ, start_response):
        start_response(f"{self.status_code} X", [])
        return [self.message.encode()]


def _app(timeout_s: float = 0.3):
    seen = []

    def inner(environ, start_response):
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    return reading_bodies(
        inner, lambda environ, *refusal: Refused(*refusal), timeout_s=timeout_s, max_bytes=1000
    ), seen


def _call(app, stream, **environ):
    statuses = []
    body = app(
        {"REQUEST_METHOD": "POST", "wsgi.input": stream, **environ},
        lambda status, headers: statuses.append(status),
    )
    return statuses[0], b"".join(body)


def test_without_granian_a_helper_reads_the_body_within_the_deadline():
    app, seen = _app()
    stream = SlowStream(b"x" * 10)
    started = time.monotonic()
    status, body = _call(app, stream, CONTENT_LENGTH="1000")
    assert time.monotonic() - started < 2
    assert status.startswith("408") and b"within 0.3 s" in body
    assert seen == []  # the app never ran
    stream.go.set()
    whole = SlowStream(b"y" * 20)
    whole.go.set()
    assert _call(app, whole, CONTENT_LENGTH="20") == ("200 OK", b"ok")
    assert seen == [b"y" * 20]


def test_without_granian_a_whole_body_in_memory_is_left_as_it_is():
    app, seen = _app()
    assert _call(app, io.BytesIO(b"abc"), CONTENT_LENGTH="3") == ("200 OK", b"ok")
    assert (
        _call(app, SlowStream(b""), CONTENT_LENGTH="5000")[0] == "200 OK"
    )  # too large: the app's 413
    assert seen == [b"abc", b""]


def test_past_the_cap_a_body_is_refused_unread(monkeypatch):
    monkeypatch.setattr(bodies, "MAX_PENDING", 2)
    app, _ = _app(timeout_s=0.2)
    streams = [SlowStream(b"") for _ in range(3)]
    try:
        assert _call(app, streams[0], CONTENT_LENGTH="10")[0].startswith("408")
        assert _call(app, streams[1], CONTENT_LENGTH="10")[0].startswith("408")
        status, body = _call(app, streams[2], CONTENT_LENGTH="10")  # two helpers still stuck
        assert (
            status.startswith("503")
            and b"2 request bodies (or 256 MiB of them) are arriving already" in body
        )
    finally:
        for stream in streams:
            stream.go.set()
    deadline = time.monotonic() + 5
    while True:  # the stuck helpers return: the count goes down
        whole = SlowStream(b"z" * 10)
        whole.go.set()
        if _call(app, whole, CONTENT_LENGTH="10")[0] == "200 OK" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert _call(app, whole, CONTENT_LENGTH="10")[0] == "200 OK"


def test_past_the_bytes_cap_a_body_is_refused_unread_but_one_is_always_taken(monkeypatch):
    monkeypatch.setattr(bodies, "MAX_PENDING_BYTES", 1500)
    app, _ = _app(timeout_s=0.2)
    streams = [SlowStream(b"") for _ in range(3)]
    try:
        assert _call(app, streams[0], CONTENT_LENGTH="1000")[0].startswith(
            "408"
        )  # stuck, 1000 bytes declared
        status, body = _call(app, streams[1], CONTENT_LENGTH="600")  # 1600 in all: over
        assert status.startswith("503") and b"(or 1500 bytes of them) are arriving already" in body
        assert _call(app, streams[2], CONTENT_LENGTH="400")[0].startswith("408")  # 1400: taken
    finally:
        for stream in streams:
            stream.go.set()


class Proto:
    """Stands for granian's protocol object: the first answer counts."""

    def __init__(self):
        self.answers = []

    def response_bytes(self, status, headers, body):
        self.answers.append((status, body))


def test_with_a_protocol_object_the_watchdog_answers_for_a_stuck_read():
    from flask import Response

    def refuse(environ, status, code, message):
        return Response(message, status)

    app = reading_bodies(
        lambda environ, start_response: [b"app"], refuse, timeout_s=0.3, max_bytes=1000
    )
    stream = SlowStream(b"x" * 10)

    def granian_calls(proto, scope):  # a local named proto, two frames above the reader
        return (lambda environ, start_response: app(environ, start_response))(
            scope, lambda *a: None
        )

    proto = Proto()
    caller = threading.Thread(
        target=granian_calls,
        args=(proto, {"REQUEST_METHOD": "POST", "wsgi.input": stream, "CONTENT_LENGTH": "1000"}),
        daemon=True,
    )
    caller.start()
    deadline = time.monotonic() + 3
    while not proto.answers and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proto.answers and proto.answers[0][0] == 408 and b"within 0.3 s" in proto.answers[0][1]
    assert caller.is_alive()  # its read is still stuck; the client has its answer
    stream.go.set()
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert len(proto.answers) == 1
