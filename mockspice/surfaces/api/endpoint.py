"""SpiceCSM's JSON-RPC API URL: ``POST <base>/api/spiceAPIServer/spiceAPIServer.php``.

Reads the body as PHP would (``request=`` form or a JSON body), dispatches it, journals it
(kind ``api``) and applies a stub's fault to the HTTP answer. Every answer to a readable request
is HTTP 200 with a JSON-RPC document (204 when it held only notifications), as PHP servers answer.

A worker keeps the answer to a call of a *replayable* method (a read that depends only on its
arguments, its session and the dataset) and gives it again, journaled like any call, while the
store's generation is unchanged and the session needs no write: to the same request bytes
(:class:`_Kept`), and to the same call with another id (:class:`_Template`), as SpiceCSM's clients
count their ids; an integer id is found in the bytes (:class:`_Around`), any other by reading the
call. Anything else is dispatched every time. :func:`replaying` gives such an answer before Flask
sees the request.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from flask import Blueprint, Response, current_app, request

from mockspice.domain import journal
from mockspice.surfaces.api import phpform
from mockspice.surfaces.api.dispatch import Call, parse, respond
from mockspice.surfaces.errors import API_PATH, self_url

blueprint = Blueprint("api", __name__)

MAX_JOURNALED = 4096
# Replays are for polls, which are small: a longer request or answer is dispatched every time,
# so that a worker keeps at most 256 x ~130 KiB (an answer kept for any id is kept as text and
# as bytes). A longer body (or one of unknown length) also goes to Flask unread.
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
    """An answer a worker may give again: its JSON (as sent), its journal entry (stored once,
    however often it is given), and until when.

    ``until`` is when the session's check would have to move its expiry (a write); the answer is
    also tied to the generation it was computed at (``GenerationCache``), which every write of
    the dataset, and adding or clearing a stub, moves.
    """

    data: bytes
    entry: journal.Shared
    until: float


@dataclass(frozen=True)
class _Template:
    """An answer a worker may give again to the same call with any string or integer id: its JSON
    cut where the id goes, its journal entry's JSON cut where the request and the answer go (their
    JSON strings without the quotes), and until when (as :class:`_Kept`).

    ``journaled`` is the entry's JSON cut where the request and the answer's id go (JSON escapes a
    string character by character, so the answer need not be escaped on every call), stored once
    in the journal: each replay's row holds the two strings that go between its parts. None for
    an answer that an entry keeps cut short (longer than ``MAX_JOURNALED``).
    """

    answer: tuple[str, str]
    entry: tuple[str, str, str]
    journaled: journal.Shared | None
    until: float
    answer_bytes: tuple[bytes, bytes]

    @classmethod
    def cut(cls, reply: dict, entry: dict, until: float) -> "_Template | None":
        """The template of a dispatched call's reply and journal entry (None if they cannot be cut)."""
        mark = secrets.token_hex(16)  # in neither document (a request that guessed it is only not kept)
        answer = json.dumps({**reply, "id": mark}, ensure_ascii=False).split(f'"{mark}"')
        parts = json.dumps({**entry, "request": mark, "response": mark}, ensure_ascii=False).split(mark)
        if len(answer) != 2 or len(parts) != 3:
            return None
        journaled = None
        if len(answer[0]) + len(answer[1]) < MAX_JOURNALED:
            journaled = journal.Shared.cut((parts[0], parts[1] + _inside(answer[0]), _inside(answer[1]) + parts[2]))
        return cls((answer[0], answer[1]), (parts[0], parts[1], parts[2]), journaled, until,
                   (answer[0].encode(), answer[1].encode()))

    def give(self, id_: int | str, raw: bytes) -> tuple[bytes, Any]:
        """The answer to the call with this id, and its journal entry (for :func:`journal.record`)."""
        id_text = json.dumps(id_, ensure_ascii=False)
        answer = self.answer[0] + id_text + self.answer[1]
        request = _inside(_request_text(raw))
        if self.journaled is not None and len(answer) <= MAX_JOURNALED:
            return answer.encode(), (self.journaled, (request, _inside(id_text)))
        # Journaled cut short.
        return answer.encode(), self.entry[0] + request + self.entry[1] + _inside(answer[:MAX_JOURNALED]) + self.entry[2]


def _inside(text: str) -> str:
    """A string as it stands inside a JSON string's quotes."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _request_text(raw: bytes) -> str:
    """The request as journaled (its beginning)."""
    return raw[:MAX_JOURNALED].decode("utf-8", errors="replace")


def _any_id(body: phpform.Body, content_type: str, header_session: str | None) -> tuple[tuple, int | str] | None:
    """The key of the call in ``body`` whatever its id, and the id; None unless the body is one call
    with a string or integer id (a batch, a notification and a null id are never replayed so).

    The call is read as the dispatch reads it (:func:`dispatch.parse`), so that two bodies with the
    same key are the same call to it; the form's warnings are part of the key, as they are of the journal entry.
    """
    if body.text is None or body.error is not None:
        return None
    try:
        call = parse(body.text)
    except (ValueError, RecursionError):
        return None
    if type(call) is not dict:
        return None
    id_ = call.pop("id", None)
    if type(id_) not in (int, str):
        return None
    return ("any id", content_type, header_session, body.transport, tuple(body.warnings),
            json.dumps(call, ensure_ascii=False)), id_


# An integer id as clients write it ("id": 12), the digits a JSON parser reads back as written
# ("-0" reads as 0, so it is left to the parse).
_INT_ID = re.compile(rb'"id"\s*:\s*(0|-?[1-9][0-9]*)')
_PROBE_ID = 700000000001
AROUND_TRIES = 4  # the "id": N looked up first in a request (more cost a look-up each: a request
# with nested ids before its own falls back to reading the call)


@dataclass(frozen=True)
class _Around:
    """A template found by the request bytes around its integer id: bytes that differ from the
    kept request's only in those digits are the same call with another id (checked when kept, by
    reading the request with other digits there). ``journaled`` is the template's journal entry
    with the request's text around the digits put in: a replay's row holds only the digits, twice
    (in the request and in the answer)."""

    template: _Template
    journaled: journal.Shared

    @property
    def until(self) -> float:
        return self.template.until

    def give(self, digits: bytes, raw: bytes) -> tuple[bytes, Any] | None:
        """The answer to the request with these digits for its id, and its journal entry; None when
        the entry would keep the request or the answer cut short (the template does that)."""
        template, text = self.template, digits.decode()
        if len(raw) > MAX_JOURNALED or len(template.answer[0]) + len(text) + len(template.answer[1]) > MAX_JOURNALED:
            return None
        return template.answer_bytes[0] + digits + template.answer_bytes[1], (self.journaled, (text, text))


def _around_key(content_type: str, header_session: str | None, raw: bytes, digits: re.Match) -> tuple:
    return ("id bytes", content_type, header_session, raw[:digits.start(1)], raw[digits.end(1):])


def _around(key: tuple, id_: int | str, raw: bytes, content_type: str, header_session: str | None,
            template: _Template) -> tuple[tuple, _Around] | None:
    """Where to keep ``template`` by the bytes around the request's integer id (the call's key
    ``key``); None if the id is not an integer written once, as is, at the top of the call."""
    if type(id_) is not int or len(raw) > MAX_JOURNALED or template.journaled is None:
        return None  # journaled cut short: found by reading the call
    found = []
    for digits in _INT_ID.finditer(raw):
        if int(digits[1]) != id_:
            continue
        probe = raw[:digits.start(1)] + str(_PROBE_ID).encode() + raw[digits.end(1):]
        if _any_id(phpform.read(probe, content_type), content_type, header_session) == (key, _PROBE_ID):
            found.append(digits)
    if len(found) != 1:
        return None
    head, tail = raw[:found[0].start(1)], raw[found[0].end(1):]
    try:
        head_text, tail_text = _inside(head.decode()), _inside(tail.decode())
    except UnicodeDecodeError:
        return None
    parts = json.loads(template.journaled.text)
    journaled = journal.Shared.cut((parts[0] + head_text, tail_text + parts[1], parts[2]))
    return _around_key(content_type, header_session, raw, found[0]), _Around(template, journaled)


def _replay(ext: dict, content_type: str, header_session: str | None, raw: bytes) -> bytes | None:
    """The kept answer to this request, journaled; None when it must be dispatched."""
    if len(raw) > REPLAY_MAX_BYTES:
        return None  # never kept
    found = _kept_answer(ext["api_replies"], ext["store"].generation(), content_type, header_session, raw)
    if found is None:
        return None
    data, entry = found
    journal.record(ext["store"], ext["settings"].journal_limit, "api", entry)
    return data


def _kept_answer(replies: Any, generation: int, content_type: str, header_session: str | None,
                 raw: bytes) -> tuple[bytes, Any] | None:
    """The kept answer to this request and its journal entry, looked up by the request's bytes,
    then by the bytes around its integer id, then by the call read whatever its id."""
    def live(key: tuple) -> Any:
        kept = replies.get(key, generation)
        return kept if kept is not None and time.time() < kept.until else None

    kept = live((content_type, header_session, raw))
    if kept is not None:
        return kept.data, kept.entry
    if not len(replies):
        return None  # nothing kept: not worth reading the call
    for _, digits in zip(range(AROUND_TRIES), _INT_ID.finditer(raw)):
        around = live(_around_key(content_type, header_session, raw, digits))
        if around is not None:
            given = around.give(digits[1], raw)
            if given is not None:
                return given
            break  # the request or the answer journaled cut short: by the template, below
    found = _any_id(phpform.read(raw, content_type), content_type, header_session)
    template = live(found[0]) if found is not None else None
    return template.give(found[1], raw) if template is not None else None


_LOOKED_UP = "mockspice.api_replay_looked_up"


def replaying(wsgi_app: Callable, ext: dict, path: str) -> Callable:
    """Wrap the app's WSGI callable: a kept answer to a POST on ``path`` is given without Flask.

    Only a body of known length up to :data:`REPLAY_MAX_BYTES` is read here; any other request,
    and any request without a kept answer, goes on to Flask with its body intact.
    """
    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == path and environ.get("REQUEST_METHOD") == "POST":
            content_type = environ.get("CONTENT_TYPE", "")
            length = environ.get("CONTENT_LENGTH", "")
            if length.isdigit() and int(length) <= REPLAY_MAX_BYTES and not content_type.startswith("multipart/"):
                raw = environ["wsgi.input"].read(int(length))
                data = _replay(ext, content_type, environ.get("HTTP_X_SPICE_SESSION"), raw)
                if data is not None:
                    start_response("200 OK", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data)))])
                    return [data]
                environ["wsgi.input"] = io.BytesIO(raw)
                environ[_LOOKED_UP] = True  # the view need not look again
        return wsgi_app(environ, start_response)

    return app


@blueprint.route(API_PATH, methods=["POST"])
def spice_api_server() -> Response:
    """One API request: a call or a batch."""
    ext = current_app.extensions["mockspice"]
    store, settings = ext["store"], ext["settings"]
    key = None
    content_type, header_session = request.content_type or "", request.headers.get("X-Spice-Session")
    if not content_type.startswith("multipart/form-data"):
        raw = request.get_data(cache=False)
        key = (content_type, header_session, raw)
        # A body replaying() did not read (chunked; a longer one is never kept).
        data = None if request.environ.get(_LOOKED_UP) else _replay(ext, *key)
        if data is not None:
            return Response(data, mimetype="application/json")
    else:
        # PHP fills $_POST from a multipart body too (curl with an array of POST fields).
        value = request.form.get("request")
        raw = ("" if value is None else "request=" + value).encode("utf-8", errors="surrogateescape")
        body = phpform.Body(value, "form") if value is not None else phpform.Body(
            None, "form", error="the form has no 'request' field (send request=<the JSON of the call>)")
    if key is not None:
        body = phpform.read(raw, content_type)
        # The generation the dispatch reads, from the table: the shared counter moves just
        # before a write commits, and an answer computed in between must not be tagged with it.
        generation = store.generation(store.read())
    call = Call(store, settings, ext["outbound"], self_url(), header_session=header_session, stubs=ext["rpc_stubs"],
                registry=ext["rpc_registry"])
    if body.error is not None:
        reply_body, style = {"result": None, "error": f"Parse error: {body.error}", "id": None}, "unknown"
    else:
        reply = respond(body.text or "", call, ext["rpc_registry"])
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
    if key is not None and status == 200 and style in ("1.0", "2.0") and len(raw) <= REPLAY_MAX_BYTES \
            and len(text) <= REPLAY_MAX_ANSWER and _replayable(call, ext["rpc_registry"]) \
            and store.generation(store.read()) == generation:  # nothing committed meanwhile
        until = call.session.expires_at - settings.session_ttl_s / 2 if call.session else float("inf")
        # Kept the second time it is seen: a request that never comes again keeps nothing.
        if ext["api_seen"].again(key):
            ext["api_replies"].put(key, generation, _Kept(text.encode(), journal.Shared(entry_text), until))
        found = _any_id(body, content_type, header_session)
        if found is not None and ext["api_seen"].again(found[0]):
            template = _Template.cut(reply_body, entry, until)
            if template is not None:
                ext["api_replies"].put(found[0], generation, template)
                around = _around(*found, raw, content_type, header_session, template)
                if around is not None:
                    ext["api_replies"].put(around[0], generation, around[1])
    if fault == "http500":
        return Response("<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error"
                        "</h1><p>PHP Fatal error (a fault stubbed by mockspice)</p></body></html>",
                        status=500, mimetype="text/html")
    if fault == "drop":
        return Response(_cut_off(), mimetype="application/json")
    if fault == "malformed":
        return Response(text[: max(1, len(text) // 2)] or "{", mimetype="application/json")
    if reply_body is None:
        return Response(status=204)
    return Response(text, mimetype="application/json")


def _cut_off() -> Iterator[bytes]:
    """An answer that breaks after its headers, before its first byte: the server then closes the
    connection (an HTTP/1.1 client sees a broken reply, an HTTP/1.0 one an empty answer)."""
    raise ConnectionAbortedError("the drop fault of a stub")
    yield b""  # a generator: the error comes when the server asks for the body


class Seen:
    """The hashes of the requests a worker saw lately (bounded), so as to keep only what comes
    again: a client that counts its ids sends new bytes every time, and must not push a poller's
    answers out of the 256 kept."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._hashes: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def again(self, key: tuple) -> bool:
        """Note the request; whether it was seen before."""
        digest = hash(key)
        with self._lock:
            if digest in self._hashes:
                return True
            self._hashes[digest] = None
            if len(self._hashes) > self.size:
                self._hashes.popitem(last=False)
        return False


def _replayable(call: Call, registry: Any) -> bool:
    """Whether the request was one call of a replayable method, answered by it alone (not through
    a stub: a pass-through stub's call counts a hit, and may be its last, with no generation moved)."""
    if len(call.trace) != 1 or call.webcalls or call.fault or call.delay_ms:
        return False
    traced = call.trace[0]
    method = registry.methods.get(traced["method"])
    return traced["outcome"] == "result" and "stub" not in traced and method is not None and method.replayable


def _journaled_request(body: phpform.Body, raw: bytes) -> str:
    """The request as its journal entry keeps it: its text, unless it holds or may hold a secret.

    Decided on the request as read (escapes decoded), whether or not it is a valid call: an
    invalid id or envelope does not make a password any less secret.
    """
    if body.text is None or body.error is not None:
        return f"[not kept: {len(raw)} bytes that are not a readable call; they may hold a password]"
    try:
        data = json.loads(body.text, object_pairs_hook=_Members)  # every member, a key given twice too
    except (ValueError, RecursionError):
        return f"[not kept: {len(raw)} bytes that are not JSON; they may hold a password]"
    if body.transport == "form":
        names = [phpform.php_fields(part) for part in raw.split(b"&")]  # each field, repeated ones too
        if sum(b"request" in field for field in names) > 1 or any(
                _SECRET_KEY.search(name.decode("utf-8", "replace")) for field in names for name in field):
            return "[not kept: it holds a password]"
    if _holds_secret(data):
        return "[not kept: it holds a password]"
    return _request_text(raw)


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


def _entry(body: phpform.Body, style: str, call: Call, status: int, raw: bytes, text: str,
           fault: str | None) -> dict[str, Any]:
    """The request's journal entry."""
    findings = [{"severity": "warning", "code": "unencoded-form-body", "message": note,
                 "line": None, "column": None, "path": None} for note in body.warnings]
    request_text = _journaled_request(body, raw)
    calls = call.trace
    if request_text.startswith(NOT_KEPT):  # nor are the parameters of its calls, which hold it too
        calls = [{**c, "params": request_text} for c in calls]
    entry = {
        "transport": body.transport, "style": style, "status": status, "calls": calls,
        "request": request_text,
        "response": ("[not kept: it holds a secret]" if any(str(c["method"]).lower() in SECRET_ANSWERS
                                                              for c in call.trace) else text[:MAX_JOURNALED]),
        "findings": findings, "webcalls": call.webcalls, "fault": fault,
    }
    return entry
