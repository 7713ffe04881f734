"""SpiceCSM's screen pop URL: ``<base>/integrations/telephony/telephonypop.php``.

Routing and rendering only; :func:`mockspice.domain.pop.screen_pop` does the work.

A pop's answer depends on the dataset and its parameters, except for three values of the call
itself: the pop id, the call id and the greeting (which may name the call id). So each worker
renders the page (or the JSON) of a match once per dataset generation, with holes for those
three (:class:`Plan`), and a repeated pop only fills the holes. :func:`popping` answers such a
pop before Flask sees the request.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any, Callable, Iterable

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from markupsafe import Markup, escape
from werkzeug.wrappers import Request

from mockspice.domain import pop
from mockspice.domain.pop import PopResult, screen_pop
from mockspice.surfaces.errors import CSP, accepts_json, self_url

blueprint = Blueprint("telephony", __name__)

# A hole is a marker no request can forge: a NUL and a per-process random token.
_TOKEN = secrets.token_hex(8)
_HTML_HOLE = re.compile(rf"\x00{_TOKEN}:(\w+)\x00")
_JSON_HOLE = re.compile(rf'"\\u0000{_TOKEN}:(\w+)\\u0000"')


def _hole(name: str) -> Markup:
    return Markup(f"\x00{_TOKEN}:{name}\x00")


class Plan:
    """A rendered answer with named holes, filled per call."""

    def __init__(self, text: str, holes: re.Pattern[str]):
        self.parts = holes.split(text)  # text, name, text, name, ..., text

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            out.append(values[parts[i]])
            out.append(parts[i + 1])
        return "".join(out)


@blueprint.route("/integrations/telephony/telephonypop.php", methods=["GET"])
def telephonypop() -> Response:
    """The screen pop: HTML for the agent's browser, JSON when asked."""
    ext = current_app.extensions["mockspice"]
    settings = ext["settings"]
    # PHP's $_GET keeps the last of a repeated parameter; so does the mock.
    params = dict(request.args.items(multi=True))
    result = screen_pop(ext["store"], params, edition=settings.edition, journal_limit=settings.journal_limit,
                        calls=ext["outbound"], self_url=self_url(), cache=ext["pop_cache"])
    as_json = params["format"] == "json" if "format" in params else accepts_json()
    if result.cache_key is None:  # a partner took part: nothing to share with other calls
        return jsonify(result.as_dict()) if as_json else _html(_render(result))
    body = _filled(ext, result, as_json)
    return current_app.response_class(body, mimetype="application/json") if as_json else _html(body)


def _plan_key(match_key: tuple, as_json: bool, callid: str | None) -> tuple:
    """A plan serves one match, in one format, for pops with or without a call id."""
    return (match_key, as_json, callid is None)


def _filled(ext: dict, result: PopResult, as_json: bool) -> str:
    """The answer to a pop answered from the dataset alone: this worker's plan (made on first
    use, which needs Flask's app context), filled."""
    key, generation = result.cache_key
    plan_key = _plan_key(key, as_json, result.callid)
    plan = ext["pop_pages"].get(plan_key, generation)
    if plan is None:
        plan = _json_plan(result) if as_json else Plan(_render(_with_holes(result)), _HTML_HOLE)
        ext["pop_pages"].put(plan_key, generation, plan)
    return _fill(plan, result, as_json)


def _fill(plan: Plan, result: PopResult, as_json: bool) -> str:
    # As the whole render writes them: json.dumps gives a string or null as Flask's provider does
    # (ensure_ascii); escape is what Jinja's autoescape calls.
    encode = json.dumps if as_json else (lambda value: str(escape(value)))
    return plan.fill({"pop_id": str(result.pop_id), "callid": encode(result.callid),
                      "greeting": encode(result.greeting)})


def popping(flask_app: Flask, wsgi_app: Callable, path: str) -> Callable:
    """Wrap a WSGI callable: a pop whose match and page this worker holds is answered without Flask.

    Only then: valid parameters, the match cached for this generation with no partner to ask,
    and the page (or JSON) planned. Nothing is done before that is known, so anything else goes
    to Flask as it came; the answer, headers and journal entry are the view's.
    """
    ext = flask_app.extensions["mockspice"]
    settings = ext["settings"]

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == path and environ.get("REQUEST_METHOD") == "GET":
            req = Request(environ)
            params = dict(req.args.items(multi=True))
            as_json = params["format"] == "json" if "format" in params else accepts_json(req)
            url = self_url(req)
            found = pop.cached(ext["store"], ext["pop_cache"], params, url, settings.edition)
            plan = found and ext["pop_pages"].get(_plan_key(found[0], as_json, params.get("callid")), found[1])
            if plan is not None:
                try:
                    result = screen_pop(ext["store"], params, edition=settings.edition,
                                        journal_limit=settings.journal_limit, calls=ext["outbound"], self_url=url,
                                        cache=ext["pop_cache"])
                except Exception as exc:  # noqa: BLE001 - the dataset changed since the look: answer as the view
                    with flask_app.request_context(environ):
                        # The app's handlers: a DomainError's answer, or a bug's 500 (journaled, app.py).
                        response = flask_app.make_response(flask_app.handle_user_exception(exc))
                    return response(environ, start_response)
                if result.cache_key == found:
                    body = _fill(plan, result, as_json)
                else:  # the dataset changed since the look: answered as the view would
                    with flask_app.app_context():
                        body = (_filled(ext, result, as_json) if result.cache_key is not None else
                                jsonify(result.as_dict()).get_data(as_text=True) if as_json else _render(result))
                data = body.encode()
                headers = [("Content-Type", "application/json" if as_json else "text/html; charset=utf-8"),
                           ("Content-Length", str(len(data)))]
                if not as_json:
                    headers.append(("Content-Security-Policy", CSP))
                start_response("200 OK", headers)
                return [data]
        return wsgi_app(environ, start_response)

    return app


def _with_holes(result: PopResult) -> PopResult:
    planned = PopResult(**{**vars(result), "pop_id": _hole("pop_id"), "greeting": _hole("greeting")})
    if result.callid is not None:
        planned.callid = _hole("callid")
    return planned


def _json_plan(result: PopResult) -> Plan:
    answer: dict[str, Any] = result.as_dict()
    answer.update(pop_id=_hole("pop_id"), callid=_hole("callid"), greeting=_hole("greeting"))
    return Plan(jsonify(answer).get_data(as_text=True), _JSON_HOLE)


def _render(result: PopResult) -> str:
    """The page, rendered by Jinja directly: the pop's templates use no Flask context (the hot path)."""
    return current_app.jinja_env.get_template("telephonypop.html").render(pop=result)


def _html(page: str) -> Response:
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response
