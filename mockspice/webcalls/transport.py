"""The one module that speaks HTTP to partners: POST a form, read the reply, never raise.

- pooled keep-alive connections (one ``requests`` session per transport);
- a connect timeout and a *total* deadline: a partner that drips its reply one byte at a time
  (headers included) is cut at the deadline by a watchdog that shuts the socket down, since a
  socket read timeout alone restarts with every byte;
- the reply is read as a stream and cut at a size cap (the connection is then dropped);
- redirects are not followed: the reply says where it pointed;
- TLS certificates are verified unless the transport is told to accept self-signed ones.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

USER_AGENT = "SpiceCSM web call (mockspice)"
CHUNK = 64 * 1024


@dataclass
class Reply:
    """What came back: status, headers, the body (cut at the cap), or how it failed."""

    outcome: str  # "ok" (an HTTP answer of any status), "timeout" or "unreachable"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    elapsed_ms: float = 0.0
    error: str | None = None


class _Watchdog:
    """One thread that shuts down the sockets of calls that passed their deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._cancelled: set[int] = set()
        self._cond = threading.Condition()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, sock: socket.socket) -> int:
        """Shut ``sock`` down at ``deadline`` (monotonic) unless cancelled first."""
        with self._cond:
            token = next(self._ids)
            heapq.heappush(self._heap, (deadline, token, sock))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="mockspice-webcall-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return token

    def cancel(self, token: int) -> None:
        """The call ended in time: forget its socket."""
        with self._cond:
            self._cancelled.add(token)

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] in self._cancelled:
                    self._cancelled.discard(heapq.heappop(self._heap)[1])
                if not self._heap:
                    self._cond.wait(timeout=30)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                deadline, token, sock = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(timeout=delay)
                    continue
                heapq.heappop(self._heap)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


_WATCHDOG = _Watchdog()
_CALL = threading.local()  # the deadline of the call this thread is making


class _WatchedMixin:
    """Hands the connection's socket to the watchdog before waiting for the reply."""

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_CALL, "deadline", None)
        sock = getattr(self, "sock", None)
        if deadline is not None and sock is not None:
            _CALL.tokens.append(_WATCHDOG.watch(deadline, sock))
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


class Transport:
    """POSTs forms to partners; safe to share between threads."""

    def __init__(
        self,
        *,
        max_reply_bytes: int = 10 * 1024 * 1024,
        verify_tls: bool = True,
        pool_size: int = 16,
        connect_timeout_s: float = 5.0,
    ):
        self.max_reply_bytes = max_reply_bytes
        self.verify_tls = verify_tls
        self.connect_timeout_s = connect_timeout_s
        self.session = requests.Session()
        self.session.trust_env = False  # partners are called directly, never through a proxy
        adapter = _Adapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT

    def post(self, url: str, form: list[tuple[str, str]], timeout_s: float) -> Reply:
        """POST ``form`` (application/x-www-form-urlencoded, in order) and read the reply.

        Never raises: a failure is a :class:`Reply` with outcome ``timeout`` or ``unreachable``.
        """
        started = time.monotonic()
        deadline = started + timeout_s
        _CALL.deadline, _CALL.tokens = deadline, []
        response = None
        try:
            response = self.session.post(
                url,
                data=form,
                timeout=(min(self.connect_timeout_s, timeout_s), timeout_s),
                allow_redirects=False,
                stream=True,
                verify=self.verify_tls,
            )
            body, truncated = self._read(response, deadline)
            if time.monotonic() >= deadline:
                return self._failed("timeout", f"no complete reply within {timeout_s:g} s", started)
            return Reply(
                "ok", response.status_code, dict(response.headers), body, truncated, _ms(started)
            )
        except requests.exceptions.Timeout:
            return self._failed("timeout", f"no complete reply within {timeout_s:g} s", started)
        except requests.exceptions.SSLError as exc:
            return self._failed("unreachable", f"TLS failed: {_reason(exc)}", started)
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            if time.monotonic() >= deadline:
                return self._failed("timeout", f"no complete reply within {timeout_s:g} s", started)
            return self._failed("unreachable", _reason(exc), started)
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            ValueError,
        ) as exc:
            return self._failed("unreachable", f"bad URL: {_reason(exc)}", started)
        except requests.exceptions.RequestException as exc:
            return self._failed("unreachable", _reason(exc), started)
        finally:
            for token in _CALL.tokens:
                _WATCHDOG.cancel(token)
            _CALL.deadline, _CALL.tokens = None, []
            if response is not None:
                response.close()

    def _read(self, response: requests.Response, deadline: float) -> tuple[bytes, bool]:
        chunks, size = [], 0
        for chunk in response.iter_content(CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_reply_bytes:
                # Drop the connection: the rest of the reply must not be read into the pool.
                response.raw.close()
                return b"".join(chunks)[: self.max_reply_bytes], True
            if time.monotonic() >= deadline:
                break
        return b"".join(chunks), False

    @staticmethod
    def _failed(outcome: str, error: str, started: float) -> Reply:
        return Reply(outcome, error=error, elapsed_ms=_ms(started))

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, in one line."""
    seen = exc
    while seen.__context__ is not None and seen.__context__ is not seen:
        seen = seen.__context__
    text = str(seen) or type(seen).__name__
    if isinstance(seen, ConnectionRefusedError) or "Connection refused" in text:
        return "connection refused"
    if isinstance(seen, ConnectionResetError) or "Connection reset" in text:
        return "connection reset by the partner"
    if (
        isinstance(seen, socket.gaierror)
        or "Name or service not known" in text
        or "Failed to resolve" in text
    ):
        return "host name not found"
    return text.splitlines()[0][:300]
