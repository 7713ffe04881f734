"""Verifying what a client sent, WireMock-style: the journal's filters,
``/_mockspice/journal/find``, ``/count`` and ``/near-misses``, API call params in the journal, and
server errors as entries.

The filters and the matcher endpoints run against a real ``mockspice serve --partner`` (its demo
brands fire their web calls at the reference partner it mounts); the bad input and the server
errors (provoked by patching a handler to raise) run in-process.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import requests
from liveserver import POP, LiveServer
from spiceclients import API, OpenACD, Rpc20

from mockspice.domain import state
from mockspice.surfaces import telephony

JOURNAL = "/_mockspice/journal"
BAD_SESSION = "0" * 32


# --- a real server, and what a client's code did on it ---------------------------------------


@pytest.fixture
def server(partner_live: LiveServer) -> LiveServer:
    """The session's server with the reference partner, reset before the test (conftest.py)."""
    return partner_live


def post_api(server: LiveServer, body: Any) -> Any:
    reply = requests.post(server.url + API, json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.fixture
def scenario(server: LiveServer) -> dict[str, int]:
    """A client's session on the real server; the journal entry id of each thing it did, by name.

    connect; accountLoad of Doe; a 2.0 batch (accountLoad of Smith, companyList with a bad
    session); a pop of company 1 brand 1 with an ANI (which fires brand 1's search at the
    partner, then the load of the account found); a pop of company 2 brand 1 without one; a search
    fired for company 2 brand 1, and a load of an account the partner does not have (HTTP 404:
    outcome error).
    """
    rpc = Rpc20(lambda body: post_api(server, body))
    session = rpc.result("connect", "admin", "admin")["session"]
    rpc.session = session
    rpc.result("accountLoad", {"LastName": "Doe"})
    post_api(
        server,
        [
            {
                "jsonrpc": "2.0",
                "method": "accountLoad",
                "params": [{"LastName": "Smith"}, session],
                "id": 10,
            },
            {"jsonrpc": "2.0", "method": "companyList", "params": [BAD_SESSION], "id": 11},
        ],
    )
    for params in (
        {"company": 1, "brand": 1, "ani": "5555555555", "callid": "call-1"},
        {"company": 2, "brand": 1, "callid": "call-2"},
    ):
        assert server.get(POP, params={**params, "format": "json"}).status_code == 200
    fired = [
        server.request(
            "POST",
            "/_mockspice/webcalls/search",
            json={"company": 2, "brand": 1, "variables": {"LastName": "Clark"}},
        ).json(),
        server.request(
            "POST",
            "/_mockspice/webcalls/load",
            json={"company": 2, "brand": 1, "userkey": "nobody"},
        ).json(),
    ]
    assert [f["outcome"] for f in fired] == ["ok", "error"], fired
    names = {}
    for entry in server.get(JOURNAL).json()["entries"]:
        names[_name(entry)] = entry["id"]
    assert len(names) == 9, names
    return names


def _name(entry: dict[str, Any]) -> str:
    """What the scenario did that made this entry."""
    if entry["kind"] == "api":
        return "batch" if len(entry["calls"]) > 1 else entry["calls"][0]["method"]
    if entry["kind"] == "pop":
        return entry["params"]["callid"]
    exchange = entry["exchange"]
    return f"{exchange['kind']}-{exchange['brand']['company']}-{exchange['brand']['brand']}"


def names_of(entries: list[dict[str, Any]]) -> list[str]:
    return [_name(e) for e in entries]


# --- the GET filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            "",
            [
                "connect",
                "accountLoad",
                "batch",
                "search-1-1",
                "load-1-1",
                "call-1",
                "call-2",
                "search-2-1",
                "load-2-1",
            ],
        ),
        ("kind=api", ["connect", "accountLoad", "batch"]),
        ("kind=pop", ["call-1", "call-2"]),
        ("kind=webcall", ["search-1-1", "load-1-1", "search-2-1", "load-2-1"]),
        ("kind=error", []),
        ("method=accountLoad", ["accountLoad", "batch"]),
        ("method=companyList", ["batch"]),  # a batch matches by any of its calls
        ("method=connect", ["connect"]),
        ("method=caseList", []),
        ("url={url}/_partner/load", ["load-1-1", "load-2-1"]),
        ("url={url}/_partner/search", ["search-1-1", "search-2-1"]),
        ("url={url}/_partner/", []),  # exact
        ("outcome=ok", ["search-1-1", "load-1-1", "search-2-1"]),
        ("outcome=error", ["batch", "load-2-1"]),  # companyList's bad session; the partner's 404
        ("outcome=result", ["connect", "accountLoad", "batch"]),
        ("outcome=stub", []),
        ("company=2", ["call-2", "search-2-1", "load-2-1"]),
        ("company=1&brand=1", ["search-1-1", "load-1-1", "call-1"]),
        ("brand=1", ["search-1-1", "load-1-1", "call-1", "call-2", "search-2-1", "load-2-1"]),
        ("ani=5555555555", ["call-1"]),
        ("callid=call-2", ["call-2"]),
        ("kind=pop&company=1&ani=5555555555&callid=call-1", ["call-1"]),
        ("kind=webcall&limit=2", ["search-2-1", "load-2-1"]),  # the newest 2 of what passes
        ("method=accountLoad&limit=1", ["batch"]),
        ("outcome=ok&limit=0", []),
        ("kind=webcall&since={call-1}", ["search-2-1", "load-2-1"]),
    ],
)
def test_each_get_filter(server, scenario, query, expected):
    query = query.replace("{url}", server.url).replace("{call-1}", str(scenario["call-1"]))
    body = server.get(f"{JOURNAL}?{query}").json()
    assert names_of(body["entries"]) == expected
    assert body["count"] == len(expected) and body["dropped"] == 0


@pytest.mark.parametrize(
    "query, message",
    [
        (
            "company=x",
            "parameter 'company' must be an id (a whole number from 1 to 2147483647), not 'x'",
        ),
        (
            "brand=0",
            "parameter 'brand' must be an id (a whole number from 1 to 2147483647), not '0'",
        ),
        ("kind=pops", "parameter 'kind' must be one of pop, api, webcall, error"),
        (
            "outcome=fine",
            "parameter 'outcome' must be one of ok, invalid, error, timeout, unreachable, result, "
            "stub",
        ),
        ("method=", "parameter 'method' must not be empty"),
        ("limit=-1", "parameter 'limit' must be a whole number from 0 to 1000000000, not '-1'"),
        (
            "since=soon",
            "parameter 'since' must be an entry id or an ISO 8601 time like 2026-01-01T12:00:00Z",
        ),
        (
            "kinds=pop",
            "unknown parameter 'kinds' (known: kind, since, limit, method, call, url, outcome, "
            "company, brand, "
            "ani, callid)",
        ),
        (
            "params_match=%5B%5D",
            "unknown parameter 'params_match' (known: kind, since, limit, method, call, url, "
            "outcome, "
            "company, brand, ani, callid)",
        ),
    ],
)
def test_bad_get_filters(live, query, message):
    response = live.get(f"{JOURNAL}?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "bad-parameter", "message": message}


# --- find, count, near misses ------------------------------------------------------------------


def find(server: LiveServer, matcher: dict[str, Any]) -> list[str]:
    response = server.request("POST", f"{JOURNAL}/find", json=matcher)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"entries", "count"} and body["count"] == len(body["entries"])
    return names_of(body["entries"])


def count(server: LiveServer, matcher: dict[str, Any]) -> int:
    response = server.request("POST", f"{JOURNAL}/count", json=matcher)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"count"}
    return response.json()["count"]


def near_misses(
    server: LiveServer, matcher: dict[str, Any]
) -> list[tuple[str, list[dict[str, Any]]]]:
    response = server.request("POST", f"{JOURNAL}/near-misses", json=matcher)
    assert response.status_code == 200, response.text
    return [(_name(m["entry"]), m["differences"]) for m in response.json()["near_misses"]]


def test_an_empty_matcher_matches_every_entry(server, scenario):
    assert find(server, {}) == names_of(server.get(JOURNAL).json()["entries"])
    assert count(server, {}) == 9


def test_find_and_count_api_calls_by_method_and_params(server, scenario):
    assert find(server, {"method": "accountLoad", "params_match": [{"LastName": "Doe"}]}) == [
        "accountLoad"
    ]
    assert find(server, {"kind": "api", "params_match": [{"LastName": "Smith"}]}) == ["batch"]
    assert count(server, {"method": "accountLoad"}) == 2
    assert count(server, {"method": "accountLoad", "params_match": [{"LastName": "Jones"}]}) == 0
    # The session as the client sent it is part of the params.
    assert count(server, {"method": "companyList", "params_match": [BAD_SESSION]}) == 1
    [entry] = server.request(
        "POST", f"{JOURNAL}/find", json={"method": "accountLoad", "limit": 1}
    ).json()["entries"]
    assert entry["calls"][0] == {
        "method": "accountLoad",
        "params": [{"LastName": "Smith"}, entry["calls"][0]["params"][1]],
        "outcome": "result",
    }


def test_a_batch_matches_when_one_call_meets_method_params_and_outcome_together(server, scenario):
    assert find(server, {"method": "companyList", "outcome": "error"}) == ["batch"]
    assert find(
        server,
        {"method": "accountLoad", "params_match": [{"LastName": "Smith"}], "outcome": "result"},
    ) == ["batch"]
    assert (
        count(server, {"method": "accountLoad", "outcome": "error"}) == 0
    )  # the error is companyList's
    assert count(server, {"method": "companyList", "params_match": [{"LastName": "Smith"}]}) == 0
    # The batch's nearest call is accountLoad (only its outcome differs); count counts entries.
    [(name, differences), *_] = near_misses(
        server,
        {"method": "accountLoad", "params_match": [{"LastName": "Smith"}], "outcome": "error"},
    )
    assert name == "batch" and differences == [
        {"key": "outcome", "expected": "error", "actual": "result"}
    ]


def test_near_misses_of_an_api_call_say_what_differs(server, scenario):
    misses = near_misses(server, {"method": "accountLoad", "params_match": [{"LastName": "Jones"}]})
    assert len(misses) == 5
    # One difference each, the newest first (the batch, then the single call).
    assert [name for name, _ in misses[:2]] == ["batch", "accountLoad"]
    assert misses[1][1] == [
        {
            "key": "params_match",
            "expected": [{"LastName": "Jones"}],
            "actual": [{"LastName": "Doe"}, misses[1][1][0]["actual"][1]],
        }
    ]
    assert all(len(d) >= 2 for _, d in misses[2:])
    # Entries that match are no misses.
    assert "accountLoad" not in [
        n
        for n, _ in near_misses(
            server, {"method": "accountLoad", "params_match": [{"LastName": "Doe"}]}
        )
    ]


def test_find_count_and_near_misses_of_pops(server, scenario):
    assert find(server, {"kind": "pop", "params_match": {"ani": "5555555555"}}) == ["call-1"]
    assert find(
        server, {"kind": "pop", "company": 1, "brand": 1, "ani": "5555555555", "callid": "call-1"}
    ) == ["call-1"]
    assert count(server, {"kind": "pop", "company": 2}) == 1
    assert count(server, {"kind": "pop", "ani": "555"}) == 0  # exact, not a part
    misses = near_misses(server, {"kind": "pop", "callid": "call-3", "limit": 2})
    assert misses == [
        ("call-2", [{"key": "callid", "expected": "call-3", "actual": "call-2"}]),
        ("call-1", [{"key": "callid", "expected": "call-3", "actual": "call-1"}]),
    ]
    misses = near_misses(
        server, {"kind": "pop", "company": 2, "params_match": {"ani": "5555555555"}}
    )
    assert misses[:2] == [  # one difference each: the newest first
        (
            "call-2",
            [
                {
                    "key": "params_match",
                    "expected": {"ani": "5555555555"},
                    "actual": {"company": "2", "brand": "1", "callid": "call-2", "format": "json"},
                }
            ],
        ),
        ("call-1", [{"key": "company", "expected": 2, "actual": 1}]),
    ]


def test_find_count_and_near_misses_of_web_calls(server, scenario):
    search_url, load_url = server.url + "/_partner/search", server.url + "/_partner/load"
    assert find(
        server, {"kind": "webcall", "url": search_url, "form_match": {"LastName": "Clark"}}
    ) == ["search-2-1"]
    assert find(
        server,
        {
            "url": search_url,
            "form_match": {"intUser": "spice", "PrimaryPhone": "5555555555"},
            "outcome": "ok",
            "company": 1,
            "brand": 1,
        },
    ) == ["search-1-1"]
    assert count(server, {"kind": "webcall", "outcome": "error"}) == 1
    assert count(server, {"form_match": {"intPass": "secret"}}) == 0  # the journal keeps it masked
    assert count(server, {"form_match": {"intPass": "********"}}) == 4
    assert find(server, {"url": load_url, "outcome": "ok"}) == ["load-1-1"]
    [(name, differences), *_] = near_misses(server, {"url": load_url, "outcome": "ok"})
    assert name == "load-2-1" and differences == [
        {"key": "outcome", "expected": "ok", "actual": "error"}
    ]
    [(name, differences), *_] = near_misses(
        server, {"url": load_url, "company": 2, "outcome": "ok"}
    )
    assert name == "load-2-1" and differences == [
        {"key": "outcome", "expected": "ok", "actual": "error"}
    ]
    [(name, differences), *_] = near_misses(
        server, {"url": search_url, "form_match": {"LastName": "Clerk"}}
    )
    assert name == "search-2-1"
    assert differences == [
        {
            "key": "form_match",
            "expected": {"LastName": "Clerk"},
            "actual": {"intUser": "spice", "intPass": "********", "LastName": "Clark"},
        }
    ]


def test_since_bounds_find_count_and_near_misses(server, scenario):
    since = scenario["call-1"]
    assert find(server, {"since": since}) == ["call-2", "search-2-1", "load-2-1"]
    assert count(server, {"kind": "pop", "since": since}) == 1
    misses = near_misses(server, {"kind": "pop", "callid": "x", "since": since})
    assert [n for n, _ in misses] == ["call-2", "load-2-1", "search-2-1"]  # none before since


def test_near_misses_limit(server, scenario):
    assert len(near_misses(server, {"kind": "error"})) == 5  # five unless told
    assert len(near_misses(server, {"kind": "error", "limit": 8})) == 8
    assert near_misses(server, {"kind": "error", "limit": 0}) == []


# --- params in the journal, never a secret -----------------------------------------------------


def api_entries(client) -> list[dict[str, Any]]:
    return client.get(f"{JOURNAL}?kind=api").get_json()["entries"]


def test_calls_keep_their_params_as_given_the_session_included(client):
    form = OpenACD(client, "admin", "admin")
    form.result("accountLoad", {"LastName": "Doe"})
    named = client.post(
        API,
        json={
            "jsonrpc": "2.0",
            "method": "accountLoad",
            "id": 1,
            "params": {"search": {"LastName": "Doe"}, "session": form.session},
        },
    )
    assert "result" in named.get_json()
    bad = client.post(
        API,
        json={
            "jsonrpc": "2.0",
            "method": "accountLoad",
            "params": [{"Nope": 1}, BAD_SESSION],
            "id": 2,
        },
    )
    assert "error" in bad.get_json()
    calls = [e["calls"] for e in api_entries(client)[1:]]
    assert calls == [
        [
            {
                "method": "accountLoad",
                "params": [{"LastName": "Doe"}, form.session],
                "outcome": "result",
            }
        ],
        [
            {
                "method": "accountLoad",
                "params": {"search": {"LastName": "Doe"}, "session": form.session},
                "outcome": "result",
            }
        ],
        [
            {
                "method": "accountLoad",
                "params": [{"Nope": 1}, BAD_SESSION],
                "outcome": "error",
                "error": calls[2][0]["error"],
            }
        ],
    ]
    assert calls[2][0]["error"]["code"] == "invalid-session"


@pytest.mark.parametrize(
    "body",
    [
        {"method": "connect", "params": ["admin", "admin"], "id": 1},
        [
            {"jsonrpc": "2.0", "method": "companyList", "params": ["admin"], "id": 1},
            {"jsonrpc": "2.0", "method": "connect", "params": ["admin", "admin"], "id": 2},
        ],
        {"jsonrpc": "2.0", "method": "companyList", "params": {"password": "admin"}, "id": 1},
    ],
    ids=["connect", "connect-in-a-batch", "a-password-key"],
)
def test_a_request_that_holds_a_password_keeps_no_params(client, body):
    assert client.post(API, json=body).status_code == 200
    [entry] = api_entries(client)
    assert entry["request"] == "[not kept: it holds a password]"
    assert entry["calls"] and all(
        c["params"] == "[not kept: it holds a password]" for c in entry["calls"]
    )
    assert '"admin"' not in json.dumps(entry["calls"])
    # Nor can a matcher find it by the password.
    response = client.post(f"{JOURNAL}/count", json={"params_match": ["admin"]})
    assert response.get_json() == {"count": 0}


def test_a_form_call_of_connect_keeps_no_params(client):
    OpenACD(client, "rpowell", "spice")
    [entry] = api_entries(client)
    assert entry["calls"] == [
        {"method": "connect", "params": "[not kept: it holds a password]", "outcome": "result"}
    ]
    assert "rpowell" not in client.get(JOURNAL).get_data(as_text=True)  # nor the login beside it


# --- bad matchers ------------------------------------------------------------------------------

KNOWN = (
    "kind, method, params_match, form_match, call, url, outcome, company, brand, ani, callid, since"
)


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("find", {"methods": "x"}, f"unknown matcher key 'methods' (known: {KNOWN}, limit)"),
        ("count", {"limit": 1}, f"unknown matcher key 'limit' (known: {KNOWN})"),
        ("near-misses", {"params": []}, f"unknown matcher key 'params' (known: {KNOWN}, limit)"),
        (
            "find",
            [],
            f"a matcher is a JSON object of criteria (known keys: {KNOWN}, limit), not an array",
        ),
        (
            "count",
            "x",
            f"a matcher is a JSON object of criteria (known keys: {KNOWN}), not a string",
        ),
        ("find", {"kind": "pops"}, "'kind' must be one of pop, api, webcall, error"),
        ("find", {"method": ["accountLoad"]}, "'method' must be text, not an array"),
        (
            "count",
            {"params_match": "LastName"},
            "'params_match' must be an array (positional) or an object (named) "
            "to match a subset of, not a string",
        ),
        (
            "count",
            {"form_match": {"PrimaryPhone": 5555555555}},
            "'form_match' must be an object of form variable names and their values (strings)",
        ),
        ("find", {"url": True}, "'url' must be text, not a boolean"),
        (
            "find",
            {"outcome": "ko"},
            "'outcome' must be one of ok, invalid, error, timeout, unreachable, result, stub",
        ),
        (
            "count",
            {"company": "one"},
            "'company' must be an id (a whole number from 1 to 2147483647), not 'one'",
        ),
        (
            "count",
            {"brand": -1},
            "'brand' must be an id (a whole number from 1 to 2147483647), not -1",
        ),
        ("find", {"ani": [5551234]}, "'ani' must be text, not an array"),
        ("find", {"callid": None}, "'callid' must be text, not null"),
        (
            "find",
            {"since": "yesterday"},
            "'since' must be an entry id or an ISO 8601 time like 2026-01-01T12:00:00Z",
        ),
        (
            "near-misses",
            {"limit": "five"},
            "'limit' must be a whole number from 0 to 1000000000, not 'five'",
        ),
        (
            "find",
            {"limit": True},
            "'limit' must be a whole number from 0 to 1000000000, not a boolean",
        ),
    ],
)
def test_bad_matchers(client, path, body, message):
    response = client.post(f"{JOURNAL}/{path}", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "bad-parameter", "message": message}


@pytest.mark.parametrize("path", ["find", "count", "near-misses"])
def test_a_matcher_body_must_be_json(client, path):
    response = client.post(f"{JOURNAL}/{path}")
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "bad-parameter",
        "message": "the request body is empty; send JSON",
    }
    response = client.post(f"{JOURNAL}/{path}", data=b"{", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith("the request body is not valid JSON")


def test_an_unknown_matcher_key_over_http(live):
    response = live.request("POST", f"{JOURNAL}/find", json={"kind": "api", "metod": "accountLoad"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad-parameter",
        "message": f"unknown matcher key 'metod' (known: {KNOWN}, limit)",
    }


# --- server errors as journal entries ----------------------------------------------------------


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom in a handler")


def errors(client) -> list[dict[str, Any]]:
    return client.get(f"{JOURNAL}?kind=error").get_json()["entries"]


def test_an_api_method_that_raises_is_journaled_with_its_traceback(app, client, monkeypatch):
    methods = app.extensions["mockspice"].registry.methods
    monkeypatch.setitem(
        methods, "companyList", dataclasses.replace(methods["companyList"], handler=boom)
    )
    rpc = Rpc20.on(client, login="admin")
    assert rpc.error("companyList") == {
        "code": -32603,
        "message": "Internal error",
        "data": "mockspice failed: RuntimeError; see GET /_mockspice/journal?kind=error",
    }
    [error] = errors(client)
    assert {k: v for k, v in error.items() if k not in ("id", "at", "traceback")} == {
        "kind": "error",
        "method": "POST",
        "path": API,
        "status": 200,
        "api_method": "companyList",
        "error": "RuntimeError: boom in a handler",
    }
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("boom in a handler")' in error["traceback"]
    assert error["traceback"].rstrip().endswith("RuntimeError: boom in a handler")
    # The API entry says so too, and the matcher finds the error by the method.
    assert api_entries(client)[-1]["calls"][0]["error"] == {"code": "internal-error"}
    assert client.post(
        f"{JOURNAL}/count", json={"kind": "error", "method": "companyList"}
    ).get_json() == {"count": 1}


def test_a_control_view_that_raises_answers_500_and_is_journaled(client, monkeypatch):
    monkeypatch.setattr(state, "export_state", boom)
    response = client.get("/_mockspice/state")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {
            "code": "internal-error",
            "message": (
                "mockspice failed: RuntimeError; see GET /_mockspice/journal?kind=error for the "
                "traceback"
            ),
        }
    }
    [error] = errors(client)
    assert (error["method"], error["path"], error["status"], error["error"]) == (
        "GET",
        "/_mockspice/state",
        500,
        "RuntimeError: boom in a handler",
    )
    assert "export_state" in error["traceback"] and "api_method" not in error


def test_a_pop_that_raises_answers_the_error_page(client, monkeypatch):
    for _ in range(3):  # the match and its page kept: the next pop would be answered before Flask
        assert client.get(POP + "?company=1&brand=1&ani=5555555555").status_code == 200
    monkeypatch.setattr(telephony, "screen_pop", boom)
    for query in ("?company=1&brand=1&ani=5555555555", "?company=1&brand=2"):
        response = client.get(POP + query)
        assert response.status_code == 500 and response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "internal-error" in page and "GET /_mockspice/journal?kind=error" in page
    assert [(e["method"], e["path"], e["status"]) for e in errors(client)] == [
        ("GET", POP, 500)
    ] * 2


def test_http_errors_are_not_server_errors(client):
    assert client.get("/_mockspice/nope").status_code == 404
    assert client.post("/_mockspice/health").status_code == 405
    assert errors(client) == []


def test_reset_and_delete_clear_the_error_entries(client, monkeypatch):
    monkeypatch.setattr(state, "export_state", boom)
    assert client.get("/_mockspice/state").status_code == 500
    assert len(errors(client)) == 1
    assert client.delete(JOURNAL).status_code == 200
    assert errors(client) == []
    assert client.get("/_mockspice/state").status_code == 500
    assert len(errors(client)) == 1
    monkeypatch.undo()
    assert client.post("/_mockspice/reset").status_code == 200
    assert errors(client) == []
