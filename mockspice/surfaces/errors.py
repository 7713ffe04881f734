"""One error shape per surface: JSON under the control API and for
JSON clients, a page otherwise.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template, request
from werkzeug.sansio.utils import get_host

from mockspice.urls import API_PATH

CONTROL_PREFIX = "/_mockspice"
# Pages run no script and load nothing from elsewhere; should escaping ever fail, the browser
# still refuses to run an injected script.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action "
    "'none'"
)


def self_url(of: Any = None) -> str:
    """The root URL the request (``of``, else Flask's) came in on (``host_url`` without its IRI
    decoding)."""
    return environ_self_url((request if of is None else of).environ)


def environ_self_url(environ: dict) -> str:
    """The root URL a WSGI environ's request came in on (the API's hot path has no request
    object)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    server = (environ.get("SERVER_NAME", ""), int(environ.get("SERVER_PORT") or 0) or None)
    return f"{scheme}://{get_host(scheme, environ.get('HTTP_HOST'), server)}/"


def wants_json() -> bool:
    """Whether this request asked for JSON (control API, ``format=json`` or ``Accept``)."""
    path = request.path
    if path.startswith(CONTROL_PREFIX) or path.endswith(API_PATH):
        return True  # the control API and the JSON-RPC URL speak JSON only
    formats = request.args.getlist("format")
    if formats:  # the last of a repeated parameter counts, as everywhere else (PHP's $_GET)
        return formats[-1] == "json"
    return accepts_json()


def accepts_json(of: Any = None) -> bool:
    """Whether the ``Accept`` header of the request (``of``, else
    Flask's) prefers JSON to a page.
    """
    of = request if of is None else of
    if "json" not in of.environ.get("HTTP_ACCEPT", ""):
        return False  # the common case (a browser, curl's */*), without parsing the header
    # text/html first: "*/*" and ties get the page, as a browser expects.
    return of.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def error_response(status: int, code: str, message: str) -> Response:
    """``{"error": {"code", "message"}}`` with ``status``, or the same as an HTML page."""
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message}})
    else:
        response = Response(
            render_template("error.html", status=status, code=code, message=message),
            mimetype="text/html",
        )
        response.headers["Content-Security-Policy"] = CSP
    response.status_code = status
    return response
