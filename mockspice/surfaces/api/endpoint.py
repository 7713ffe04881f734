"""SpiceCSM's JSON-RPC API URL: ``POST <base>/api/spiceAPIServer/spiceAPIServer.php``.

Reads the body as PHP would (``request=`` form or a JSON body), dispatches it, journals it
(kind ``api``) and applies a stub's fault to the HTTP answer. Every answer to a readable request
is HTTP 200 with a JSON-RPC document (204 when it held only notifications), as PHP servers answer.

A worker keeps the answer to a request for a *replayable* method (one whose answer depends only
on its arguments, its session and the store: no clock, no partner) and gives it again to the same
request bytes on the same host, journaled like any call, while the store's generation is the one
it was computed at and the session needs no write. Every write of the dataset, a stub added or
cleared and a session's single-row quirk move the generation (store/db.py); a call answered
through a stub is never kept. Anything else is dispatched every time. The URL has one handler, run
before Flask (:mod:`mockspice.surfaces.lean`)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.wrappers import Request, Response

from mockspice.domain import journal
from mockspice.surfaces import extension, lean
from mockspice.surfaces.api import phpform
from mockspice.surfaces.api.dispatch import Call, respond
from mockspice.surfaces.errors import environ_self_url

MAX_JOURNALED = 4096
# Replays are for polls, which are small: a longer request or answer is dispatched every time,
# so that a worker keeps at most 256 x ~80 KiB.
REPLAY_MAX_BYTES = 16 * 1024
REPLAY_MAX_ANSWER = 64 * 1024
# Calls whose parameters carry a password (or its digest): their request is not journaled, valid
# or not; nor is a request with a key that names one, or one that cannot be read (it may hold one).
SECRET_METHODS = {"connect", "changepass", "createagent", "agentauth", "setincontactcredentials"}
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|credential", re.IGNORECASE)
# How a journaled request (and its calls' params) that is not kept begins: "[not kept: <why>]".
NOT_KEPT = "[not kept: "
# Calls whose answer is a secret (the credentials themselves): their answer is not journaled.
SECRET_ANSWERS = {"incontactcredentials"}


@dataclass(frozen=True)
class _Kept:
    """An answer a worker may give again to the same request: its JSON (as sent), its journal
    entry (stored once, however often it is given), and until when.

    ``until`` is when the session's check would have to move its expiry (a write); the answer is
    also tied to the store's generation it was computed at (``GenerationCache``), which every write
    of the dataset, adding or clearing a stub and setting a session's single-row quirk move.
    """

    data: bytes
    entry: journal.Shared
    until: float


def handler(flask_app: Flask) -> Callable[[dict], lean.Answer]:
    """The API URL's one handler (a POST, :mod:`mockspice.surfaces.lean`): a call or a batch."""
    ext = extension.of(flask_app)
    store, settings = ext.store, ext.settings

    def api(environ: dict) -> lean.Answer:
        content_type, header_session = (
            environ.get("CONTENT_TYPE", ""),
            environ.get("HTTP_X_SPICE_SESSION"),
        )
        url = environ_self_url(environ)
        key = None
        if content_type.startswith("multipart/form-data"):
            # PHP fills $_POST from a multipart body too (curl with an array of POST fields).
            value = Request(environ).form.get("request")
            raw = ("" if value is None else "request=" + value).encode(
                "utf-8", errors="surrogateescape"
            )
            body = (
                phpform.Body(value, "form")
                if value is not None
                else phpform.Body(
                    None,
                    "form",
                    error="the form has no 'request' field (send request=<the JSON of the call>)",
                )
            )
        else:
            # The whole body, already read into memory by surfaces/bodies.py (the outermost layer).
            raw = environ["wsgi.input"].read()
            key = (url, content_type, header_session, raw)
            kept = _kept(ext, key) if len(raw) <= REPLAY_MAX_BYTES else None
            if kept is not None:
                journal.record(store, settings.journal_limit, "api", kept.entry)
                return _answer("200 OK", kept.data)
            body = phpform.read(raw, content_type)
        # The generation the dispatch reads, from the table: the shared counter moves just
        # before a write commits, and an answer computed in between must not be tagged with it.
        generation = store.generation(store.read())
        call = Call(
            store,
            settings,
            ext.outbound,
            url,
            header_session=header_session,
            stubs=ext.stubs,
            registry=ext.registry,
        )
        if body.error is not None:
            reply_body, style = (
                {"result": None, "error": f"Parse error: {body.error}", "id": None},
                "unknown",
            )
        else:
            reply = respond(body.text or "", call, ext.registry)
            reply_body, style = reply.body, reply.style
        if call.delay_ms:
            time.sleep(call.delay_ms / 1000)
        text = "" if reply_body is None else json.dumps(reply_body, ensure_ascii=False)
        fault = (call.fault or {}).get("fault")
        status = 204 if reply_body is None else 200
        if fault == "http500":
            status = 500
        entry = _entry(body, style, call, status, raw, text, fault)
        entry_text = journal.entry_text(entry)
        journal.record(store, settings.journal_limit, "api", entry_text)
        if (
            key is not None
            and status == 200
            and style in ("1.0", "2.0")
            and len(raw) <= REPLAY_MAX_BYTES
            and len(text) <= REPLAY_MAX_ANSWER
            and _replayable(call, ext.registry)
            and store.generation(store.read()) == generation
            and ext.api_seen.again(key)
        ):
            # Kept the second time it is seen (a request that never comes again keeps nothing),
            # if nothing was committed meanwhile.
            until = (
                call.session.expires_at - settings.session_ttl_s / 2
                if call.session
                else float("inf")
            )
            ext.api_replies.put(
                key, generation, _Kept(text.encode(), journal.Shared(entry_text), until)
            )
        if fault == "http500":
            return _answer("500 INTERNAL SERVER ERROR", HTTP500_PAGE, "text/html; charset=utf-8")
        if fault == "drop":
            return Response(_cut_off(), mimetype="application/json")
        if fault == "malformed":
            return _answer("200 OK", (text[: max(1, len(text) // 2)] or "{").encode())
        if reply_body is None:
            return "204 NO CONTENT", [], b""
        return _answer("200 OK", text.encode())

    return api


HTTP500_PAGE = (
    b"<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error"
    b"</h1><p>PHP Fatal error (a fault stubbed by mockspice)</p></body></html>"
)


def _answer(status: str, data: bytes, content_type: str = "application/json") -> lean.Answer:
    return status, [("Content-Type", content_type), ("Content-Length", str(len(data)))], data


def _kept(ext: extension.Extension, key: tuple) -> _Kept | None:
    """The answer kept for these request bytes, while its generation and session allow."""
    kept = ext.api_replies.get(key, ext.store.generation())
    return kept if kept is not None and time.time() < kept.until else None


DROPPED = "the answer broke off after its headers"  # the server logs it in one line (server.py)


def _cut_off() -> Iterator[bytes]:
    """An answer that breaks after its headers, before its first byte: the server then closes the
    connection (an HTTP/1.1 client sees a broken reply, an HTTP/1.0 one an empty answer)."""
    raise ConnectionAbortedError(DROPPED)
    yield b""  # a generator: the error comes when the server asks for the body


def _replayable(call: Call, registry: Any) -> bool:
    """Whether the request was one call of a replayable method, answered by it alone (not through
    a stub, whose answer may be used up, nor with a partner's web call or a fault)."""
    if len(call.trace) != 1 or call.webcalls or call.fault or call.delay_ms:
        return False
    traced = call.trace[0]
    method = registry.methods.get(traced["method"])
    return (
        traced["outcome"] == "result"
        and "stub" not in traced
        and method is not None
        and method.replayable
    )


def _journaled_request(body: phpform.Body, raw: bytes) -> str:
    """The request as its journal entry keeps it: its text, unless it holds or may hold a secret.

    Decided on the request as read (escapes decoded), whether or not it is a valid call: an
    invalid id or envelope does not make a password any less secret.
    """
    if body.text is None or body.error is not None:
        return (
            f"[not kept: {len(raw)} bytes that are not a readable call; they may hold a password]"
        )
    try:
        data = json.loads(
            body.text, object_pairs_hook=_Members
        )  # every member, a key given twice too
    except (ValueError, RecursionError):
        return f"[not kept: {len(raw)} bytes that are not JSON; they may hold a password]"
    if body.transport == "form":
        names = [
            phpform.php_fields(part) for part in raw.split(b"&")
        ]  # each field, repeated ones too
        if sum(b"request" in field for field in names) > 1 or any(
            _SECRET_KEY.search(name.decode("utf-8", "replace")) for field in names for name in field
        ):
            return "[not kept: it holds a password]"
    if _holds_secret(data):
        return "[not kept: it holds a password]"
    return raw[:MAX_JOURNALED].decode("utf-8", errors="replace")  # its beginning


class _Members(list):
    """A JSON object as its (key, value) members, all of them (a key given twice is there twice)."""


def _holds_secret(data: Any) -> bool:
    """Whether a parsed request names a secret-bearing method anywhere (in ``method`` or not: an
    invalid call is journaled too) or has a key that names a secret, at any depth (an iterative
    walk: JSON nests deeper than Python recursion goes)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.strip().lower() in SECRET_METHODS:
                return True
        elif isinstance(item, _Members):
            if any(_SECRET_KEY.search(key) for key, _ in item):
                return True
            stack.extend(value for _, value in item)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _entry(
    body: phpform.Body,
    style: str,
    call: Call,
    status: int,
    raw: bytes,
    text: str,
    fault: str | None,
) -> dict[str, Any]:
    """The request's journal entry."""
    findings = [
        {
            "severity": "warning",
            "code": "unencoded-form-body",
            "message": note,
            "line": None,
            "column": None,
            "path": None,
        }
        for note in body.warnings
    ]
    request_text = _journaled_request(body, raw)
    calls = call.trace
    if request_text.startswith(NOT_KEPT):  # nor are the parameters of its calls, which hold it too
        calls = [{**c, "params": request_text} for c in calls]
    entry = {
        "transport": body.transport,
        "style": style,
        "status": status,
        "calls": calls,
        "request": request_text,
        "response": (
            "[not kept: it holds a secret]"
            if any(str(c["method"]).lower() in SECRET_ANSWERS for c in call.trace)
            else text[:MAX_JOURNALED]
        ),
        "findings": findings,
        "webcalls": call.webcalls,
        "fault": fault,
    }
    return entry
