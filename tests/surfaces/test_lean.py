"""The hot URLs (the screen pop, the API) have one handler each, before Flask (surfaces/lean.py):
every request to them is answered there, its errors by the app's own handlers."""

from __future__ import annotations

import re

import pytest

POP = "/spiceinstall/integrations/telephony/telephonypop.php"
API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"


@pytest.fixture
def reached_flask(app, monkeypatch) -> list[str]:
    """The paths of the requests Flask dispatched."""
    from flask import request

    seen: list[str] = []
    real = app.full_dispatch_request

    def counting():
        seen.append(request.path)
        return real()

    monkeypatch.setattr(app, "full_dispatch_request", counting)
    return seen


def without_pop_id(data: bytes) -> bytes:
    return re.sub(rb'(pop_id"?:\s*|Screen pop |id="pop-id">)\d+', rb"\1N", data)


def pop_entries(client, n: int) -> list[dict]:
    entries = client.get("/_mockspice/journal?kind=pop").get_json()["entries"][-n:]
    return [{k: v for k, v in e.items() if k not in ("id", "at")} for e in entries]


@pytest.mark.parametrize(
    "query, headers",
    [
        ({"company": 1, "brand": 1, "ani": "+1 555 201 0001"}, {}),
        ({"company": 1, "brand": 1, "ani": "+1 555 201 0001", "format": "json"}, {}),
        ({"company": 1, "brand": 1, "ani": "5555555555", "callid": "<b>&'\"x"}, {}),
        (
            {"company": 1, "brand": 1, "ani": "5555555555", "callid": "c\u00e9-1"},
            {"Accept": "application/json"},
        ),
        ({"company": 1, "brand": 1}, {}),
        ({"company": 1, "brand": 1, "caseid": 1}, {}),
    ],
)
def test_a_pop_filled_from_its_plan_equals_a_fresh_render(
    app, client, reached_flask, query, headers
):
    from mockspice.surfaces import extension

    ext = extension.of(app)
    first, planned = (client.get(POP, query_string=query, headers=headers) for _ in range(2))
    assert len(ext.pop_plans) == 1  # the first made the plan, the second filled it
    ext.pop_plans._items.clear()
    ext.pop_matches._items.clear()
    fresh = client.get(POP, query_string=query, headers=headers)
    assert fresh.status_code == planned.status_code == first.status_code == 200
    assert without_pop_id(fresh.data) == without_pop_id(planned.data) == without_pop_id(first.data)
    for name in ("Content-Type", "Content-Security-Policy", "Content-Length"):
        assert fresh.headers.get(name) == planned.headers.get(name), name
    entries = pop_entries(client, 3)
    assert entries[1:] == [entries[0]] * 2
    assert reached_flask == ["/_mockspice/journal"]  # only the control URL went through Flask


@pytest.mark.parametrize(
    "query, status, code",
    [
        ({"company": 1, "brand": 99, "ani": "5555555555"}, 404, "unknown-brand"),
        ({"company": "x", "brand": 1, "format": "json"}, 400, "bad-parameter"),
    ],
)
def test_a_pop_error_is_the_surface_error_and_journaled_each_time(
    client, reached_flask, query, status, code
):
    answers = [
        client.get(POP, query_string=query, headers={"Accept": "application/json"})
        for _ in range(3)
    ]
    assert {a.status_code for a in answers} == {status}
    assert {a.get_json()["error"]["code"] for a in answers} == {code}
    assert [e["status"] for e in pop_entries(client, 3)] == [status] * 3
    assert reached_flask == ["/_mockspice/journal"]


def test_a_write_makes_the_next_pop_read_the_store(client):
    query = {"company": 1, "brand": 1, "ani": "+1 555 201 0001", "format": "json"}
    for _ in range(3):
        assert client.get(POP, query_string=query).get_json()["brand_label"] != "Renamed"
    state = client.get("/_mockspice/state").get_json()
    state["companies"][0]["brands"][0]["label"] = "Renamed"
    assert client.put("/_mockspice/state", json=state).status_code == 200
    assert client.get(POP, query_string=query).get_json()["brand_label"] == "Renamed"


@pytest.mark.parametrize(
    "path, method, status, allow",
    [
        (POP, "OPTIONS", 200, "GET, HEAD, OPTIONS"),
        (POP, "PUT", 405, "GET, HEAD, OPTIONS"),
        (POP, "POST", 405, "GET, HEAD, OPTIONS"),
        (API, "OPTIONS", 200, "OPTIONS, POST"),
        (API, "GET", 405, "OPTIONS, POST"),
        (API, "DELETE", 405, "OPTIONS, POST"),
    ],
)
def test_other_methods_are_answered_with_allow(client, reached_flask, path, method, status, allow):
    answer = client.open(
        path + "?company=1&brand=1", method=method, headers={"Accept": "application/json"}
    )
    assert answer.status_code == status and answer.headers["Allow"] == allow
    if status == 405:
        assert answer.get_json()["error"] == {
            "code": "method-not-allowed",
            "message": f"method {method} is not allowed here; use {allow}",
        }
    else:
        assert answer.data == b""
    assert reached_flask == []


def test_head_of_the_pop_is_its_get_without_the_body(client):
    query = {"company": 1, "brand": 1, "ani": "5552010001", "callid": "c1"}
    got, head = client.get(POP, query_string=query), client.head(POP, query_string=query)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"] != "0"
    assert head.headers["Content-Security-Policy"] == got.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path, target, request_",
    [
        (
            POP,
            "mockspice.surfaces.telephony.screen_pop",
            {"method": "GET", "query_string": "company=1&brand=1"},
        ),
        (
            API,
            "mockspice.surfaces.api.endpoint.respond",
            {"method": "POST", "data": b'{"jsonrpc": "2.0", "method": "getCompanies", "id": 1}'},
        ),
    ],
)
def test_a_bug_in_a_hot_url_is_the_logged_and_journaled_500_of_every_url(
    client, monkeypatch, caplog, path, target, request_
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(target, broken)
    answer = client.open(path, headers={"Accept": "application/json"}, **request_)
    assert answer.status_code == 500
    assert answer.get_json()["error"] == {
        "code": "internal-error",
        "message": (
            "mockspice failed: RuntimeError; see GET /_mockspice/journal?kind=error for the "
            "traceback"
        ),
    }
    [entry] = client.get("/_mockspice/journal?kind=error").get_json()["entries"]
    assert (
        entry["path"] == path
        and entry["method"] == request_["method"]
        and "RuntimeError: a bug" in entry["traceback"]
    )
    assert f"{request_['method']} {path} failed" in caplog.text


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_HOST": "127.0.0.1:8080", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080"},
        {"HTTP_HOST": "example.com:80", "SERVER_NAME": "example.com", "SERVER_PORT": "80"},
        {"HTTP_HOST": "[::1]:9000", "SERVER_NAME": "::1", "SERVER_PORT": "9000"},
        {"SERVER_NAME": "10.0.0.5", "SERVER_PORT": "443", "wsgi.url_scheme": "https"},
        {"SERVER_NAME": "10.0.0.5", "SERVER_PORT": "8443", "wsgi.url_scheme": "https"},
        {"HTTP_HOST": "h\\u00e9st", "SERVER_NAME": "x", "SERVER_PORT": "1"},
    ],
)
def test_the_api_s_self_url_from_the_environ_is_the_request_s(environ):
    from werkzeug.wrappers import Request

    from mockspice.surfaces.errors import environ_self_url

    environ = {"wsgi.url_scheme": "http", "REQUEST_METHOD": "POST", **environ}
    request = Request(environ)  # werkzeug's own reading of the scheme and host
    assert environ_self_url(environ) == f"{request.scheme}://{request.host}/"
