"""Partners for the web-call tests: real servers on free loopback ports, stopped with their test.

- :class:`RawPartner`: a raw ``socket`` server whose *behaviour* writes the reply byte for byte
  (or drips it, resets the connection, streams 50 MiB, ...): the hostile partners of issue 4 §6.
- :class:`WellBehavedPartner`: a small werkzeug app answering the four web calls as the
  integration page documents them, recording exactly what arrived.
- :class:`RefusedPort`: a port bound but never listening, so a connection to it is refused.

Each is a context manager; the fixtures of the test modules enter them, so every server thread
ends with its test. Servers bind 127.0.0.1 only, and every loop is bounded.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

LOOPBACK = "127.0.0.1"
MAX_REQUEST_BYTES = 1024 * 1024
MiB = 1024 * 1024

# The integration page's own example accounts, as a search reply and a load reply show them.
JDOE_SEARCH = (
    '<user status="Active" userkey="jdoe" name="John%20Doe" email="johnd%40xyz%2Enet" '
    'phone="%28555%29%20555%2D5555" />'
)
JDOE2_SEARCH = (
    '<user status="Active" userkey="jdoe2" name="John%20Doe" email="johgnd%40xyz%2Enet" '
    'phone="555%2E555%2E5555" />'
)


def search_reply(*users: str) -> bytes:
    """A ``<users>`` search reply holding the given ``<user .../>`` elements."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<users>",
        *("  " + u for u in users),
        "</users>",
        "",
    ]
    return "\n".join(lines).encode()


def load_reply(userkey: str) -> bytes:
    """A ``<userdata>`` load reply for ``userkey`` (the page's John Doe, percent-encoded)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<userdata>
  <user userkey="{userkey}" password="" status="Active" account="" />
  <contacts>
    <contact firstname="John" lastname="Doe" aone="123%20Fake%20St%2E" atwo="" city="Anywhere"
      region="ZZ" pc="123456" country="" pphone="%28555%29%20555%2D5555"
      sphone="%28555%29%20555%2D5555" pemail="johnd%40xyz%2Enet" semail="" mobile="" fax="" />
  </contacts>
  <fielddata>
    <field id="1" value="Anything" />
  </fielddata>
</userdata>
""".encode()


# --- raw socket partners --------------------------------------------------------------------


@dataclass
class RawRequest:
    """One request as it arrived: the head (request line and headers) and the body."""

    head: bytes
    body: bytes


Behaviour = Callable[["RawPartner", socket.socket, RawRequest], None]


def http_reply(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 reply (``Connection: close``) as bytes."""
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [
        f"{k}: {v}" for k, v in (headers or {"Content-Type": "text/xml; charset=utf-8"}).items()
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def send(data: bytes) -> Behaviour:
    """Send ``data`` as it is, then close."""

    def behaviour(partner: RawPartner, conn: socket.socket, request: RawRequest) -> None:
        conn.sendall(data)

    return behaviour


def drip(data: bytes, *, head_at_once: bool = False, every_s: float = 1.0) -> Behaviour:
    """Send ``data`` one byte per ``every_s``; with ``head_at_once`` the head goes at once, the body
    drips.
    """

    def behaviour(partner: RawPartner, conn: socket.socket, request: RawRequest) -> None:
        start = data.index(b"\r\n\r\n") + 4 if head_at_once else 0
        if start:
            conn.sendall(data[:start])
        for i in range(start, len(data)):
            if partner.stopping.wait(every_s):
                return
            conn.sendall(data[i : i + 1])

    return behaviour


def reset() -> Behaviour:
    """Read the request, then reset the connection (RST, no reply)."""

    def behaviour(partner: RawPartner, conn: socket.socket, request: RawRequest) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return behaviour


def huge(total: int = 50 * MiB) -> Behaviour:
    """A 200 reply of ``total`` bytes: a ``<users>`` document of endless ``<user>`` elements."""
    unit = (JDOE_SEARCH + "\n").encode()
    chunk = unit * (64 * 1024 // len(unit))

    def behaviour(partner: RawPartner, conn: socket.socket, request: RawRequest) -> None:
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nContent-Type: text/xml\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        opening = b'<?xml version="1.0" encoding="UTF-8"?>\n<users>\n'
        conn.sendall(opening)
        sent = len(opening)
        while sent < total and not partner.stopping.is_set():
            piece = chunk[: total - sent]
            conn.sendall(piece)  # raises once the caller drops the connection: that ends it
            sent += len(piece)
            partner.bytes_sent = sent

    return behaviour


class RawPartner:
    """A raw socket server on a free loopback port; each connection gets ``behaviour``."""

    def __init__(self, behaviour: Behaviour, *, host: str = LOOPBACK, max_connections: int = 50):
        self.behaviour = behaviour
        self.max_connections = max_connections
        self.requests: list[RawRequest] = []
        self.connections = 0
        self.bytes_sent = 0
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}/webcall"
        self._handlers: list[threading.Thread] = []
        self._thread = threading.Thread(
            target=self._accept, name=f"raw-partner-{self.port}", daemon=True
        )

    def __enter__(self) -> RawPartner:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting, end every handler, and check that all threads ended."""
        self.stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for handler in self._handlers:
            handler.join(timeout=5)
        alive = [t.name for t in [self._thread, *self._handlers] if t.is_alive()]
        assert not alive, f"partner threads still running: {alive}"

    def _accept(self) -> None:
        while not self.stopping.is_set() and self.connections < self.max_connections:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            handler = threading.Thread(
                target=self._handle,
                args=(conn,),
                daemon=True,
                name=f"raw-partner-{self.port}-{self.connections}",
            )
            self._handlers.append(handler)
            handler.start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                request = _read_request(conn)
                self.requests.append(request)
                self.behaviour(self, conn, request)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the caller hung up (deadline or size cap): expected of a hostile partner
            except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost in a thread
                self.errors.append(exc)


def _read_request(conn: socket.socket) -> RawRequest:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece or len(data) > MAX_REQUEST_BYTES:
            raise ConnectionResetError("the request ended before its headers")
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = min(int(value.strip()), MAX_REQUEST_BYTES)
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    return RawRequest(head, body)


class RefusedPort:
    """A loopback port bound but not listening: connecting to it is refused, and no one takes it."""

    def __enter__(self) -> RefusedPort:
        self._sock = socket.socket()
        self._sock.bind((LOOPBACK, 0))
        self.url = f"http://{LOOPBACK}:{self._sock.getsockname()[1]}/webcall"
        return self

    def __exit__(self, *exc) -> None:
        self._sock.close()


class TrapFile:
    """A FIFO that records whether anything opened it (an external entity ``file://`` points here).

    A reader that opens it gets a one-line DTD and end of file at once, so a parser that does
    fetch it records the fetch instead of hanging the test.
    """

    def __init__(self, folder) -> None:
        self.path = os.path.join(folder, "trap.dtd")
        self.url = "file://" + self.path
        self.opened = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="trap-file", daemon=True)

    def __enter__(self) -> TrapFile:
        os.mkfifo(self.path)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the trap file's thread did not stop"

    def _watch(self) -> None:
        # Opening a FIFO for writing without blocking succeeds only once a reader has it open.
        while not self._stop.wait(0.005):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    continue
                raise
            self.opened = True
            try:
                os.write(fd, b'<!ENTITY leak "LEAKED">\n')
            finally:
                os.close(fd)
            return


# --- a well-behaved partner ----------------------------------------------------------------


@dataclass
class Received:
    """One web call as the partner received it."""

    path: str
    form: list[tuple[str, str]]  # the POST variables, in the order they came, decoded once
    raw: bytes  # the body exactly as sent
    content_type: str


@contextmanager
def serving(app: Callable) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port (threaded) for the block; yields its base URL."""
    server = make_server(LOOPBACK, 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class WellBehavedPartner:
    """The four web calls answered as the page documents; what arrived is kept in ``received``.

    Paths: ``/search`` answers ``search_users``; ``/load`` answers the account of the posted
    ``Userkey`` (or of ``load_userkey`` when set); ``/update`` and ``/case`` answer ``OK``;
    ``/status/<n>`` answers HTTP n. With ``credentials`` set, other ``intUser``/``intPass`` get 403.
    """

    search_users: list[str] = field(default_factory=lambda: [JDOE_SEARCH])
    load_userkey: str | None = None
    credentials: tuple[str, str] | None = None
    received: list[Received] = field(default_factory=list)

    def __enter__(self) -> WellBehavedPartner:
        self._lock = threading.Lock()
        self._server = make_server(LOOPBACK, 0, self._app, threaded=True)
        self.url = f"http://{LOOPBACK}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"partner-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the partner's server thread did not stop"

    def calls(self, path: str) -> list[Received]:
        """What arrived at one path."""
        with self._lock:
            return [r for r in self.received if r.path == path]

    @Request.application
    def _app(self, request: Request) -> Response:
        raw = request.get_data(cache=True)
        form = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=False)
        with self._lock:
            self.received.append(Received(request.path, form, raw, request.content_type or ""))
        values = dict(form)
        if self.credentials and (values.get("intUser"), values.get("intPass")) != self.credentials:
            return Response("wrong intUser or intPass", status=403, mimetype="text/plain")
        if request.path == "/search":
            return Response(search_reply(*self.search_users), mimetype="text/xml")
        if request.path == "/load":
            return Response(
                load_reply(self.load_userkey or values.get("Userkey", "")), mimetype="text/xml"
            )
        if request.path in ("/update", "/case"):
            return Response("OK", mimetype="text/plain")
        if request.path.startswith("/status/"):
            return Response(
                "<html><body>status</body></html>",
                status=int(request.path.rsplit("/", 1)[1]),
                mimetype="text/html",
            )
        return Response("no such web call", status=404, mimetype="text/plain")
