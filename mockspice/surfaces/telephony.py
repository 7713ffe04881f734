"""SpiceCSM's screen pop URL: ``<base>/integrations/telephony/telephonypop.php``.

Routing and rendering only; :func:`mockspice.domain.pop.screen_pop` does the work.

A pop's answer depends on the dataset and its parameters, except for three values of the call
itself: the pop id, the call id and the greeting (which may name the call id). So each worker
renders the page (or the JSON) of a match once per dataset generation, with holes for those
three (:class:`Plan`), and a repeated pop only fills the holes. The URL's one handler runs
before Flask (:mod:`mockspice.surfaces.lean`).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, jsonify
from markupsafe import Markup, escape
from werkzeug.wrappers import Request

from mockspice.domain.pop import PopResult, screen_pop
from mockspice.surfaces import extension, lean
from mockspice.surfaces.errors import CSP, accepts_json, self_url
from mockspice.urls import POP_PATH

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


PATH = POP_PATH


def handler(flask_app: Flask) -> Callable[[dict], lean.Answer]:
    """The screen pop's one handler (a GET, :mod:`mockspice.surfaces.lean`): HTML for the agent's
    browser, JSON when asked."""
    ext = extension.of(flask_app)
    settings = ext.settings

    def pop_page(environ: dict) -> lean.Answer:
        req = Request(environ)
        # PHP's $_GET keeps the last of a repeated parameter; so does the mock.
        params = dict(req.args.items(multi=True))
        result = screen_pop(
            ext.store,
            params,
            edition=settings.edition,
            journal_limit=settings.journal_limit,
            calls=ext.outbound,
            self_url=self_url(req),
            cache=ext.pop_matches,
        )
        as_json = params["format"] == "json" if "format" in params else accepts_json(req)
        if result.cache_key is None:  # a partner took part: nothing to share with other calls
            with flask_app.app_context():
                body = (
                    jsonify(result.as_dict()).get_data(as_text=True) if as_json else _render(result)
                )
        else:
            body = _filled(flask_app, ext, result, as_json)
        data = body.encode()
        headers = [
            ("Content-Type", "application/json" if as_json else "text/html; charset=utf-8"),
            ("Content-Length", str(len(data))),
        ]
        if not as_json:
            headers.append(("Content-Security-Policy", CSP))
        return "200 OK", headers, data

    return pop_page


def _filled(flask_app: Flask, ext: extension.Extension, result: PopResult, as_json: bool) -> str:
    """The answer to a pop answered from the dataset alone: this worker's plan for the match, in
    this format, for pops with or without a call id (made on first use), filled."""
    key, generation = result.cache_key
    plan_key = (key, as_json, result.callid is None)
    plan = ext.pop_plans.get(plan_key, generation)
    if plan is None:
        with flask_app.app_context():
            plan = _json_plan(result) if as_json else Plan(_render(_with_holes(result)), _HTML_HOLE)
        ext.pop_plans.put(plan_key, generation, plan)
    # As the whole render writes them: json.dumps gives a string or null as Flask's provider does
    # (ensure_ascii); escape is what Jinja's autoescape calls.
    encode = json.dumps if as_json else (lambda value: str(escape(value)))
    return plan.fill(
        {
            "pop_id": str(result.pop_id),
            "callid": encode(result.callid),
            "greeting": encode(result.greeting),
        }
    )


def _with_holes(result: PopResult) -> PopResult:
    planned = PopResult(
        **{**vars(result), "pop_id": _hole("pop_id"), "greeting": _hole("greeting")}
    )
    if result.callid is not None:
        planned.callid = _hole("callid")
    return planned


def _json_plan(result: PopResult) -> Plan:
    answer: dict[str, Any] = result.as_dict()
    answer.update(pop_id=_hole("pop_id"), callid=_hole("callid"), greeting=_hole("greeting"))
    return Plan(jsonify(answer).get_data(as_text=True), _JSON_HOLE)


def _render(result: PopResult) -> str:
    """The page, rendered by Jinja directly: the pop's templates use no Flask context (the hot
    path).
    """
    return current_app.jinja_env.get_template("telephonypop.html").render(pop=result)
