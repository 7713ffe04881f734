"""The control API under ``/_mockspice/``: health, reset, state, journal and its verification (mock
only).

Routing and request shaping only; the operations live in :mod:`mockspice.domain`.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from flask import Blueprint, Response, jsonify, render_template_string, request, send_file

from mockspice.domain import journal, matching, outbound, sessions, state
from mockspice.domain.errors import BadParameter, DomainError, NotFound
from mockspice.resources import SCHEMAS_DIR
from mockspice.store.schema import MAX_ID
from mockspice.surfaces import extension
from mockspice.surfaces.errors import self_url
from mockspice.webcalls.engine import KINDS

blueprint = Blueprint("control", __name__)

JOURNAL_KINDS = journal.KINDS  # pop, api, webcall, error


class Unauthorized(DomainError):
    """The control API needs ``Authorization: Bearer <control_token>``."""

    code = "unauthorized"
    status = 401


def _ext() -> extension.Extension:
    return extension.of()


@blueprint.before_request
def check_token() -> None:
    """Refuse a request without the bearer token, when one is set."""
    token = _ext().settings.control_token
    if not token:
        return
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode(), token.encode()
    ):
        raise Unauthorized(
            "the control API needs the header 'Authorization: Bearer <control_token>'"
        )


@blueprint.get("/health")
def health() -> Response:
    """``{"status": "ok", "version"}`` once the store answers."""
    ext = _ext()
    ext.store.read().execute("SELECT 1").fetchone()
    settings = ext.settings
    return jsonify(
        {
            "status": "ok",
            "version": ext.version,
            "edition": settings.edition,
            "base_path": settings.base_path,
        }
    )


@blueprint.post("/reset")
def reset() -> Response:
    """Back to the dataset loaded at start; the journal is emptied."""
    state.reset(_ext().store)
    return jsonify({"status": "reset"})


@blueprint.get("/state")
def get_state() -> Response:
    """The whole dataset, in the fixture format (as JSON)."""
    return jsonify(state.export_state(_ext().store))


@blueprint.put("/state")
def put_state() -> Response:
    """Replace the whole dataset (all or nothing)."""
    raw = _json_body()
    loaded = state.import_state(_ext().store, raw)
    return jsonify({"status": "loaded", "counts": loaded})


@blueprint.get("/journal")
def get_journal() -> Response:
    """The journal, oldest first; filters ``kind``, ``since`` (entry id or ISO time), ``limit`` and
    the matcher's (domain/matching.py: ``method``, ``url``, ``outcome``, ``company``, ...)."""
    matcher = matching.from_query(request.args.to_dict())
    ext = _ext()
    return jsonify(
        matching.select(ext.store, matcher, matcher.limit, cap=ext.settings.journal_limit)
    )


@blueprint.post("/journal/find")
def find_in_journal() -> Response:
    """The entries that match the body's matcher (and its optional ``limit``), oldest first."""
    matcher = matching.check(_json_body(), with_limit=True)
    ext = _ext()
    found = matching.select(ext.store, matcher, matcher.limit, cap=ext.settings.journal_limit)
    return jsonify({"entries": found["entries"], "count": found["count"]})


@blueprint.post("/journal/count")
def count_in_journal() -> Response:
    """How many entries match the body's matcher."""
    ext = _ext()
    found = matching.select(ext.store, matching.check(_json_body()), cap=ext.settings.journal_limit)
    return jsonify({"count": found["count"]})


@blueprint.post("/journal/near-misses")
def journal_near_misses() -> Response:
    """The entries closest to the body's matcher that do not match it, and what differs
    (its optional ``limit``: how many, 5 unless told)."""
    matcher = matching.check(_json_body(), with_limit=True)
    ext = _ext()
    limit = 5 if matcher.limit is None else matcher.limit
    return jsonify(
        {
            "near_misses": matching.near_misses(
                ext.store, matcher, limit, cap=ext.settings.journal_limit
            )
        }
    )


@blueprint.delete("/journal")
def delete_journal() -> Response:
    """Empty the journal."""
    store = _ext().store
    with store.write(history=True) as conn:
        journal.clear(conn, store)
    return jsonify({"status": "cleared"})


@blueprint.get("/brands/<int:company>/<int:brand>/webcalls")
def get_webcalls(company: int, brand: int) -> Response:
    """A brand's web-call settings."""
    return jsonify(outbound.get_settings(_ext().store, company, brand))


@blueprint.put("/brands/<int:company>/<int:brand>/webcalls")
def put_webcalls(company: int, brand: int) -> Response:
    """Replace a brand's web-call settings (keys left out take their defaults)."""
    return jsonify(outbound.put_settings(_ext().store, company, brand, _json_body()))


@blueprint.post("/webcalls/<kind>")
def fire_webcall(kind: str) -> Response:
    """Fire a web call of a brand now; answers the exchange (200 even when the partner failed)."""
    if kind not in KINDS:
        raise BadParameter(f"unknown web call {kind!r}; use one of {', '.join(KINDS)}")
    body = _json_body()
    if not isinstance(body, dict):
        raise BadParameter("the body must be a JSON object with 'company' and 'brand'")
    company, brand = _id_field(body, "company"), _id_field(body, "brand")
    exchange = _ext().outbound.fire(company, brand, kind, body, self_url())
    return jsonify(exchange.as_dict())


@blueprint.get("/schemas/<name>.xsd")
def schema(name: str) -> Response:
    """The XSD schemas of the web-call documents (users, userdata, tickets)."""
    names = sorted(p.stem for p in SCHEMAS_DIR.glob("*.xsd"))
    if name not in names:
        raise NotFound(f"no schema {name!r}; there are {', '.join(names)}")
    return send_file(SCHEMAS_DIR / f"{name}.xsd", mimetype="application/xml")


@blueprint.post("/rpc/stubs")
def add_rpc_stub() -> Response:
    """Add a canned API answer (domain/stubs.py); 201 with the stub and its id."""
    response = jsonify(_ext().stubs.add(_json_body()))
    response.status_code = 201
    return response


@blueprint.get("/rpc/stubs")
def list_rpc_stubs() -> Response:
    """Every stub in the order they match, with its hits and the calls it has left."""
    stubs = _ext().stubs.all()
    return jsonify({"stubs": stubs, "count": len(stubs)})


@blueprint.delete("/rpc/stubs")
def clear_rpc_stubs() -> Response:
    """Remove every stub, those loaded from files too (a reset restores them)."""
    return jsonify({"status": "cleared", "count": _ext().stubs.clear()})


@blueprint.get("/rpc/sessions/<session_id>")
def get_rpc_session(session_id: str) -> Response:
    """An API session and its settings (the single-row quirk of its calls)."""
    return jsonify(sessions.get_settings(_ext().store, session_id))


@blueprint.put("/rpc/sessions/<session_id>")
def put_rpc_session(session_id: str) -> Response:
    """Set an API session's settings (keys left out take their defaults)."""
    return jsonify(sessions.put_settings(_ext().store, session_id, _json_body()))


@blueprint.get("/")
def dashboard() -> Response:
    """A page of links to the mock's URLs."""
    settings = _ext().settings
    return Response(
        render_template_string(_DASHBOARD, base=settings.base_path, version=_ext().version),
        mimetype="text/html",
    )


def _id_field(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise BadParameter(f"'{key}' is required: a positive whole number")
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _json_body() -> Any:
    data = request.get_data(cache=False)
    if not data:
        raise BadParameter("the request body is empty; send JSON")
    try:
        value = json.loads(data)
    except UnicodeDecodeError:
        raise BadParameter("the request body is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise BadParameter(f"the request body is not valid JSON: {exc}") from None
    # JSON may escape a lone surrogate ("\ud800"), which is no text at all: refuse it here,
    # once, rather than in every place that stores or sends text.
    if _SURROGATE_ESCAPE.search(data):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadParameter(
                "the request body holds a lone surrogate (\\ud800-\\udfff escape): not text"
            ) from None
    return value


_DASHBOARD = """{% extends "base.html" %}{% block main %}
<section><h1>mockspice {{ version }}</h1>
<ul>
<li><a href="{{ base }}/integrations/telephony/telephonypop.php?company=1&amp;brand=1"
 >screen pop</a>
 <span class="muted">(company 1, brand 1)</span></li>
<li><a href="health">health</a></li>
<li><a href="state">state</a> <span class="muted">(the whole dataset)</span></li>
<li><a href="journal">journal</a></li>
<li><a href="{{ base }}/docs/api_client/">JSON-RPC API documentation</a>
 <span class="muted">(POST {{ base }}/api/spiceAPIServer/spiceAPIServer.php)</span></li>
<li><a href="rpc/stubs">API stubs</a> <span class="muted">(canned answers and faults)</span></li>
<li>schemas: <a href="schemas/users.xsd">users.xsd</a>,
 <a href="schemas/userdata.xsd">userdata.xsd</a>,
 <a href="schemas/tickets.xsd">tickets.xsd</a></li>
</ul></section>{% endblock %}"""
