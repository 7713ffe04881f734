"""One error shape per surface: JSON under the control API and for JSON clients, a page otherwise."""

from __future__ import annotations

from flask import Response, jsonify, render_template, request

CONTROL_PREFIX = "/_mockspice"


def self_url() -> str:
    """The root URL this request came in on (``request.host_url`` without its IRI decoding)."""
    return f"{request.scheme}://{request.host}/"


def wants_json() -> bool:
    """Whether this request asked for JSON (control API, ``format=json`` or ``Accept``)."""
    if request.path.startswith(CONTROL_PREFIX):
        return True
    if request.args.get("format") == "json":
        return True
    # text/html first: "*/*" and ties get the page, as a browser expects.
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def error_response(status: int, code: str, message: str) -> Response:
    """``{"error": {"code", "message"}}`` with ``status``, or the same as an HTML page."""
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message}})
    else:
        response = Response(render_template("error.html", status=status, code=code, message=message),
                            mimetype="text/html")
    response.status_code = status
    return response
