"""SpiceCSM's JSON-RPC API URL: ``POST <base>/api/spiceAPIServer/spiceAPIServer.php``.

Reads the body as PHP would (``request=`` form or a JSON body), dispatches it, journals it
(kind ``api``) and applies a stub's fault to the HTTP answer. Every answer to a readable request
is HTTP 200 with a JSON-RPC document (204 when it held only notifications), as PHP servers answer.
"""

from __future__ import annotations

import json
import socket
import time

from flask import Blueprint, Response, current_app, request

from mockspice.domain import journal
from mockspice.surfaces.api import phpform
from mockspice.surfaces.api.dispatch import Call, respond
from mockspice.surfaces.errors import API_PATH, self_url

blueprint = Blueprint("api", __name__)

MAX_JOURNALED = 4096
# Calls whose parameters carry a password (or its digest): their request is not journaled.
SECRET_METHODS = {"connect", "changePass", "createAgent", "agentAuth"}


@blueprint.route(API_PATH, methods=["POST"])
def spice_api_server() -> Response:
    """One API request: a call or a batch."""
    ext = current_app.extensions["mockspice"]
    if (request.content_type or "").startswith("multipart/form-data"):
        # PHP fills $_POST from a multipart body too (curl with an array of POST fields).
        value = request.form.get("request")
        raw = ("" if value is None else "request=" + value).encode("utf-8", errors="surrogateescape")
        body = phpform.Body(value, "form") if value is not None else phpform.Body(
            None, "form", error="the form has no 'request' field (send request=<the JSON of the call>)")
    else:
        raw = request.get_data(cache=False)
        body = phpform.read(raw, request.content_type or "")
    call = Call(ext["store"], ext["settings"], ext["outbound"], self_url(),
                header_session=request.headers.get("X-Spice-Session"), stubs=ext["rpc_stubs"],
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
    _journal(ext, body, style, call, status, raw, text, fault)
    if fault == "http500":
        return Response("<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error"
                        "</h1><p>PHP Fatal error (a fault stubbed by mockspice)</p></body></html>",
                        status=500, mimetype="text/html")
    if fault == "drop":
        _drop_connection()
        return Response("", status=500)
    if fault == "malformed":
        return Response(text[: max(1, len(text) // 2)] or "{", mimetype="application/json")
    if reply_body is None:
        return Response(status=204)
    return Response(text, mimetype="application/json")


def _drop_connection() -> None:
    """Close the client's connection without an answer (gunicorn hands the socket over)."""
    sock = request.environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _journal(ext: dict, body: phpform.Body, style: str, call: Call, status: int, raw: bytes, text: str,
             fault: str | None) -> None:
    findings = [{"severity": "warning", "code": "unencoded-form-body", "message": note,
                 "line": None, "column": None, "path": None} for note in body.warnings]
    entry = {
        "transport": body.transport, "style": style, "status": status, "calls": call.trace,
        "request": ("[not kept: it holds a password]" if any(c["method"] in SECRET_METHODS for c in call.trace)
                    else raw[:MAX_JOURNALED].decode("utf-8", errors="replace")),
        "response": text[:MAX_JOURNALED], "findings": findings, "webcalls": call.webcalls, "fault": fault,
    }
    journal.append(ext["store"], ext["settings"].journal_limit, "api", entry)
