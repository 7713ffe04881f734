"""``create_app(settings)``: the Flask application that serves SpiceCSM's URLs and the control API.

No work happens at import time; the store is opened (and seeded) by :func:`create_app` unless
a prepared one is given (``mockspice serve`` prepares it once, before the workers start).
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Callable

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from mockspice import __version__
from mockspice.domain import journal
from mockspice.domain.errors import DomainError
from mockspice.domain.outbound import Outbound
from mockspice.domain.state import Prepared, prepare
from mockspice.domain.stubs import Stubs, StubsError
from mockspice.settings import Settings
from mockspice.surfaces import control, extension, lean, telephony
from mockspice.surfaces.api import docs_page as api_docs
from mockspice.surfaces.api import endpoint as api_endpoint
from mockspice.surfaces.api.methods import build as build_api
from mockspice.surfaces.bodies import reading_bodies
from mockspice.surfaces.errors import CONTROL_PREFIX, error_response
from mockspice.urls import API_PATH
from mockspice.webcalls.engine import Engine
from mockspice.webcalls.transport import Transport

MAX_BODY_BYTES = 64 * 1024 * 1024  # a PUT state of 100,000 accounts is about 40 MB of JSON


def create_app(settings: Settings | None = None, prepared: Prepared | None = None) -> Flask:
    """Build the application.

    :param settings: the settings (default: :meth:`Settings.load` of the environment).
    :param prepared: a store already opened and seeded by :func:`mockspice.domain.state.prepare`.
    """
    settings = settings or Settings.load()
    own = prepared is None
    prepared = prepared or prepare(settings)
    registry = build_api()
    stubs = Stubs(
        prepared.store, [name for name, method in registry.methods.items() if method.rows]
    )
    try:
        stubs.check_files()  # the files' pass-through stubs against the method table
    except StubsError:
        if own:
            prepared.cleanup()
        raise
    app = Flask(__name__, template_folder="surfaces/templates")
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.json.sort_keys = False
    transport = Transport(
        max_reply_bytes=settings.webcall_max_bytes,
        verify_tls=settings.webcall_verify_tls,
        pool_size=max(4, settings.threads * 2),
    )
    engine = Engine(
        transport,
        corrected_names=settings.webcall_corrected_names,
        max_depth=settings.xml_max_depth,
        most=settings.threads,
    )
    app.extensions[extension.KEY] = extension.Extension(
        settings=settings,
        prepared=prepared,
        version=__version__,
        outbound=Outbound(prepared.store, engine, settings.journal_limit),
        registry=registry,
        stubs=stubs,
    )
    if own:
        # A store this call made is closed, and its temporary folder removed, when the app is
        # collected or the interpreter exits (whichever comes first); cleanup() does it at once.
        weakref.finalize(app, prepared.cleanup)
    app.register_blueprint(api_docs.blueprint, url_prefix=settings.base_path or None)
    app.register_blueprint(control.blueprint, url_prefix=CONTROL_PREFIX)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "-")
        message = exc.description or exc.name
        if exc.code == 405:
            allowed = ", ".join(sorted(exc.valid_methods or ()))
            message = f"method {request.method} is not allowed here; use {allowed}"
        elif exc.code == 404:
            message = f"no such URL: {request.path}"
        response = error_response(exc.code or 500, code, message)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        # A bug: logged, and journaled (kind error) so that a test harness fails the test that
        # caused it with this traceback, as pytest-httpserver re-raises its handlers' errors.
        app.logger.error("%s %s failed", request.method, request.path, exc_info=exc)
        try:
            journal.append(
                prepared.store,
                settings.journal_limit,
                "error",
                journal.error_entry(exc, method=request.method, path=request.path, status=500),
            )
        except Exception:  # noqa: BLE001 - the store failing too must not hide the answer
            app.logger.exception("the error could not be journaled")
        return error_response(
            500,
            "internal-error",
            f"mockspice failed: {type(exc).__name__}; "
            "see GET /_mockspice/journal?kind=error for the traceback",
        )

    # The hot URLs: each answered by its one handler before Flask (surfaces/lean.py).
    base = settings.base_path or ""
    app.wsgi_app = lean.front(
        app,
        app.wsgi_app,
        {
            base + telephony.PATH: lean.Route(frozenset({"GET"}), telephony.handler(app)),
            base + API_PATH: lean.Route(frozenset({"POST"}), api_endpoint.handler(app)),
        },
    )
    if settings.partner:
        from werkzeug.middleware.dispatcher import DispatcherMiddleware

        from mockspice.domain import outbound
        from mockspice.partner import create_partner_app

        # The reference partner keeps its data in a file beside the store, so that every
        # worker sees one partner (docs/partner-guide.md). It accepts the credentials the
        # brands were wired with (domain/state.py).
        partner = create_partner_app(
            int_user=outbound.PARTNER_INT_USER,
            int_pass=outbound.PARTNER_INT_PASS,
            book_path=f"{prepared.store.path}-partner",
        )
        app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {outbound.PARTNER_PREFIX: partner})
    # Outermost: every URL's body is read whole within body_timeout_s before any of the above runs.
    app.wsgi_app = reading_bodies(
        app.wsgi_app,
        _refusal(app, settings.partner),
        timeout_s=settings.body_timeout_s,
        max_bytes=MAX_BODY_BYTES,
    )
    return app


def _refusal(app: Flask, partner: bool) -> Callable[[dict, int, str, str], Response]:
    """The answer to a request refused before the app ran: the surface's error shape (the
    reference partner's one-line text under its prefix), and the connection closed after it."""
    from mockspice.domain.outbound import PARTNER_PREFIX

    def refuse(environ: dict, status: int, code: str, message: str) -> Response:
        # The body is not read again: the request is answered as if it had none.
        bare = {k: v for k, v in environ.items() if k != "HTTP_TRANSFER_ENCODING"}
        bare.update({"wsgi.input": io.BytesIO(), "CONTENT_LENGTH": "0"})
        path = bare.get("PATH_INFO", "")
        if partner and (path == PARTNER_PREFIX or path.startswith(PARTNER_PREFIX + "/")):
            response = Response(f"{message}\n", status, content_type="text/plain; charset=utf-8")
        else:
            with app.request_context(bare):
                response = error_response(status, code, message)
        response.headers["Connection"] = "close"
        return response

    return refuse
