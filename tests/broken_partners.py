"""The reference partner broken in one way: a real server for ``mockspice verify``'s tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from werkzeug.wrappers import Request, Response

from mockspice.partner.app import PARTNER_DATASET, create_partner_app, partner_accounts
from mockspice.verify.runner import Target

USER, PASS = "spice", "secret"


def partner():
    return create_partner_app(partner_accounts(PARTNER_DATASET), int_user=USER, int_pass=PASS)


def target(base: str, **overrides) -> Target:
    urls = {kind: f"{base}/{kind}" for kind in ("search", "load", "update", "case")}
    return Target(urls, USER, PASS, **{"timeout_s": 5.0, "budget_ms": 2000.0, **overrides})


class Broken:
    """The reference partner with one receiver changed: ``change(request, partner)`` answers in
    its place (:func:`_forward` asks the real one)."""

    def __init__(self, path: str, change: Callable[[Request, Callable], Response]):
        self.path, self.change, self.app = path, change, partner()

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == self.path or self.path == "*":
            response = self.change(request, self.app)
        else:
            response = Response.from_app(self.app, environ)
        return response(environ, start_response)


def forward(request: Request, app: Callable, form: bytes | None = None) -> Response:
    """The real partner's answer to the request (or to the same request with ``form``)."""
    body = request.get_data() if form is None else form
    environ = {**request.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    return Response.from_app(app, environ)


def body(transform: Callable[[bytes], bytes]):
    def change(request, app):
        response = forward(request, app)
        return Response(transform(response.get_data()), response.status, response.headers)

    return change


def answer(status: int, body: bytes, content_type: str = "text/html"):
    return lambda request, app: Response(body, status, content_type=content_type)


def _any_password(request, app):
    form = [(k, v) for k, v in parse_qsl(request.get_data(as_text=True), keep_blank_values=True)]
    fixed = [(k, PASS if k == "intPass" else USER if k == "intUser" else v) for k, v in form]
    if not any(k == "intUser" for k, _ in fixed):
        fixed += [("intUser", USER), ("intPass", PASS)]
    return forward(request, app, urlencode(fixed).encode())


def _always_jdoe(request, app):
    return forward(
        request, app, urlencode({"Userkey": "jdoe", "intUser": USER, "intPass": PASS}).encode()
    )
