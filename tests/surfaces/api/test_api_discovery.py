"""``rpc.discover`` (an OpenRPC document of the method table) and the docs page that renders it."""

from __future__ import annotations

import html

import pytest

from mockspice.domain.errors import DomainError
from mockspice.surfaces.api.methods.discovery import error_codes
from mockspice.surfaces.api.registry import SHAPES, Method, Param

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
DOCS = "/spiceinstall/docs/api_client/"


@pytest.fixture
def registry(app):
    """The app's method table, as it is at run time (colleagues' groups included)."""
    return app.extensions["mockspice"].registry


def _discover(client, version: str = "2.0") -> dict:
    document = {"method": "rpc.discover", "id": 1}
    if version == "2.0":
        document["jsonrpc"] = "2.0"
    reply = client.post(API, json=document).get_json()
    assert reply.get("error") is None
    return reply["result"]


def test_every_method_is_described(client, registry):
    doc = _discover(client)
    assert doc["openrpc"].startswith("1.2.") and doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"name": "mockspice", "url": "http://localhost" + API}]
    described = {m["name"]: m for m in doc["methods"]}
    assert sorted(described) == sorted(registry.methods)
    codes = error_codes()
    for name, method in registry.methods.items():
        entry = described[name]
        assert entry["summary"] == method.summary
        own = [p for p in entry["params"] if p["name"] != "session" or not method.session]
        assert [(p["name"], p["required"], p["schema"]) for p in own] == [
            (p.name, p.required, SHAPES[p.shape]) for p in method.params
        ]
        assert [p["name"] for p in entry["params"][len(method.params) :]] == (
            ["session"] if method.session else []
        )
        assert entry["result"] == {"name": "result", "schema": method.result}
        listed = {e["data"]["code"]: e["code"] for e in entry["errors"]}
        for code in method.errors:
            assert listed[code] == codes.get(code, (DomainError.rpc_code, ""))[0]
        if method.session:
            assert listed["invalid-session"] == -32001
        if method.min_level:
            assert listed["permission-denied"] == -32002
        assert (
            entry["x-session"] == method.session
            and entry["x-min-security-level"] == method.min_level
        )


def test_error_codes_come_from_the_domain_classes():
    codes = error_codes()
    assert codes["invalid-session"][0] == -32001
    assert codes["permission-denied"][0] == -32002
    assert codes["login-failed"][0] == -32003
    assert codes["not-found"][0] == -32004
    assert codes["query-refused"][0] == -32010 and codes["query-failed"][0] == -32011
    assert codes["bad-parameter"][0] == -32602


def test_discover_needs_no_session_and_speaks_10(client):
    assert _discover(client, "1.0")["openrpc"].startswith("1.2.")
    self_describing = next(m for m in _discover(client)["methods"] if m["name"] == "rpc.discover")
    assert self_describing["params"] == [] and "$ref" in self_describing["result"]["schema"]


def test_a_method_added_at_run_time_is_described(client, registry):
    registry.add(
        Method(
            "zzExtra",
            lambda call, x: x,
            (Param("x", "integer", "a number", required=False),),
            "An extra method.",
            min_level=3,
            errors=("not-found", "made-up-code"),
        )
    )
    entry = next(m for m in _discover(client)["methods"] if m["name"] == "zzExtra")
    assert [(e["code"], e["data"]["code"]) for e in entry["errors"]] == [
        (-32001, "invalid-session"),
        (-32002, "permission-denied"),
        (-32602, "bad-parameter"),
        (-32004, "not-found"),
        (-32000, "made-up-code"),
    ]


def test_docs_page_lists_every_method(client, registry):
    response = client.get(DOCS)
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    for name in registry.methods:
        assert f'id="method-{html.escape(name)}"' in page
    assert "X-Spice-Session" in page and "/_mockspice/rpc/stubs" in page


def test_docs_page_escapes(client, registry):
    registry.add(
        Method(
            "evil<script>",
            lambda call: None,
            (Param("p&q", "string", "<b>bold</b>"),),
            "Says <script>alert(1)</script> & more.",
        )
    )
    page = client.get(DOCS).get_data(as_text=True)
    assert "<script>" not in page and "<b>bold" not in page
    assert (
        "evil&lt;script&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more." in page
    )
    assert "p&amp;q" in page


def test_dashboard_links_the_docs_page(client):
    assert 'href="/spiceinstall/docs/api_client/"' in client.get("/_mockspice/").get_data(
        as_text=True
    )
