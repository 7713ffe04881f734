"""The hot URLs (the screen pop, the API), each answered by one plain WSGI handler before Flask.

A phone system opens a pop per call and a client polls the API; for both, Flask's request
context, routing and response object cost more than the mock's own work (docs/performance.md).
So :func:`front` holds a table of exact paths, each with the one handler that answers every
request to it, and passes any other path to Flask. What the handlers share is here, once:

- methods: a handler gets only the methods of its route (HEAD with GET: its answer without the
  body); OPTIONS is answered with ``Allow``; any other method is 405 with ``Allow``;
- errors: an exception from a handler is answered by the app's own error handlers (app.py), in a
  Flask request context made only then: a ``DomainError``'s answer, an ``HTTPException``'s, and
  for a bug the logged and journaled 500 of every other URL.

A handler answers ``(status, headers, body)``, or a werkzeug ``Response`` for an answer that is
not plain bytes (a stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.wrappers import Response

Answer = tuple[str, list[tuple[str, str]], bytes] | Response
Handler = Callable[[dict], Answer]


@dataclass(frozen=True)
class Route:
    """The handler of one path and the methods it answers."""

    methods: frozenset[str]
    handler: Handler

    @property
    def allowed(self) -> str:
        """The ``Allow`` header: the route's methods, HEAD with GET, and OPTIONS."""
        methods = set(self.methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in self.methods else set())
        return ", ".join(sorted(methods))


def front(flask_app: Flask, wsgi_app: Callable, routes: dict[str, Route]) -> Callable:
    """A WSGI callable that answers ``routes`` (path -> route)
    itself and the rest by ``wsgi_app``.
    """

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        route = routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            return wsgi_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "")
        head = method == "HEAD" and "GET" in route.methods
        try:
            if method in route.methods or head:
                answer = route.handler(environ)
            elif method == "OPTIONS":
                answer = (
                    "200 OK",
                    [
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Allow", route.allowed),
                        ("Content-Length", "0"),
                    ],
                    b"",
                )
            else:
                raise MethodNotAllowed(valid_methods=route.allowed.split(", "))
        except Exception as exc:  # noqa: BLE001 - answered by the app's handlers, as by Flask
            with flask_app.request_context(environ):
                answer = flask_app.make_response(flask_app.handle_user_exception(exc))
        if isinstance(answer, Response):
            return answer(environ, start_response)  # werkzeug leaves out a HEAD's body
        status, headers, body = answer
        start_response(status, headers)
        return [] if head else [body]

    return app
