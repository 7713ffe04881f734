"""Canned API answers and faults (``/_mockspice/rpc/stubs``), WireMock-style."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from liveserver import wait_for

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
STUBS = "/_mockspice/rpc/stubs"


def _call(client, method: str, params, id_=1, version: str = "2.0"):
    document = {"method": method, "params": params, "id": id_}
    if version == "2.0":
        document["jsonrpc"] = "2.0"
    return client.post(API, json=document)


def _stub(client, **stub) -> dict:
    response = client.post(STUBS, json=stub)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_add_answers_with_id_and_defaults(client):
    stub = _stub(
        client, method="companyList", result=[{"companyid": "9", "companylabel": "Stubbed"}]
    )
    assert stub == {
        "id": stub["id"],
        "method": "companyList",
        "params_match": None,
        "result": [{"companyid": "9", "companylabel": "Stubbed"}],
        "error": None,
        "times": None,
        "delay_ms": 0,
        "fault": None,
        "answers": None,
        "then": None,
        "single_row_object": None,
        "times_left": None,
        "hits": 0,
        "origin": "api",
        "file": None,
    }
    # A stub answers before the session check: a client test needs no connect.
    assert _call(client, "companyList", []).get_json() == {
        "jsonrpc": "2.0",
        "result": [{"companyid": "9", "companylabel": "Stubbed"}],
        "id": 1,
    }
    assert _call(client, "companyList", [], version="1.0").get_json() == {
        "result": [{"companyid": "9", "companylabel": "Stubbed"}],
        "error": None,
        "id": 1,
    }


def test_times_then_the_real_method(client):
    _stub(client, method="resetPass", result={"msg": "stubbed"}, times=2)
    answers = [_call(client, "resetPass", ["admin"], i).get_json()["result"] for i in range(3)]
    assert answers == [{"msg": "stubbed"}, {"msg": "stubbed"}, {"msg": "sent"}]
    # A used-up stub stays in the list, with its hits, until a DELETE or a reset.
    [used] = client.get(STUBS).get_json()["stubs"]
    assert (used["times_left"], used["hits"]) == (0, 2)


def test_params_match_is_a_subset(client):
    _stub(client, method="accountLookup", params_match=[{"userkey": "jdoe"}], result="first")
    _stub(
        client, method="accountLookup", params_match={"who": {"userkey": "asmith"}}, result="named"
    )
    _stub(client, method="accountLookup", result="fallback")
    assert (
        _call(client, "accountLookup", [{"userkey": "jdoe", "brand": 1}, "session"]).get_json()[
            "result"
        ]
        == "first"
    )
    assert (
        _call(client, "accountLookup", {"who": {"userkey": "asmith", "x": 1}}).get_json()["result"]
        == "named"
    )
    assert _call(client, "accountLookup", [{"userkey": "other"}]).get_json()["result"] == "fallback"
    _stub(client, method="flag", params_match=[True], result="yes")
    assert _call(client, "flag", [True]).get_json()["result"] == "yes"


def test_unmatched_params_of_a_stub_only_method(client):
    _stub(client, method="flag", params_match=[True], result="yes")
    assert _call(client, "flag", [1]).get_json()["error"]["code"] == -32601  # true is not 1 in JSON


def test_error_stubs(client):
    _stub(client, method="load", error={"code": -32004, "message": "not found", "data": {"id": 7}})
    _stub(client, method="agentList", error="Only a message")
    assert _call(client, "load", [{}]).get_json() == {
        "jsonrpc": "2.0",
        "error": {"code": -32004, "message": "not found", "data": {"id": 7}},
        "id": 1,
    }
    assert _call(client, "load", [{}], version="1.0").get_json() == {
        "result": None,
        "error": "not found",
        "id": 1,
    }
    error = _call(client, "agentList", [{}]).get_json()["error"]
    # "data" may be omitted (JSON-RPC 2.0, 5.1); the core sends it as null for a stub without one.
    assert {k: v for k, v in error.items() if v is not None} == {
        "code": -32000,
        "message": "Only a message",
    }


def test_delay(client):
    _stub(client, method="slow", result="late", delay_ms=300)
    started = time.monotonic()
    assert _call(client, "slow", []).get_json()["result"] == "late"
    assert time.monotonic() - started >= 0.3


def test_http500_fault(client):
    _stub(client, method="companyList", fault="http500")
    response = _call(client, "companyList", [])
    assert response.status_code == 500 and response.content_type.startswith("text/html")
    assert b"<html>" in response.data and b"Internal Server Error" in response.data
    entry = client.get("/_mockspice/journal?kind=api").get_json()["entries"][-1]
    assert entry["status"] == 500 and entry["fault"] == "http500"


def test_malformed_fault(client):
    _stub(client, method="companyList", result=[{"companyid": "1"}], fault="malformed")
    response = _call(client, "companyList", [])
    assert response.status_code == 200 and response.content_type == "application/json"
    with pytest.raises(ValueError):
        json.loads(response.data)


def test_drop_fault_through_a_real_server(live):
    assert (
        live.request("POST", STUBS, json={"method": "companyList", "fault": "drop"}).status_code
        == 201
    )
    # granian cannot close a connection before the answer's headers: it breaks off after them.
    mark = len(live.log)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        live.request("POST", API, json={"jsonrpc": "2.0", "method": "companyList", "id": 1})
    # The server logs it in one line, not a traceback.
    wait_for(lambda: any("broke off" in line for line in list(live.log)[mark:]))
    # Access-log lines (any request's, the stub's own POST may be logged late) aside.
    logged = [line for line in list(live.log)[mark:] if not re.match(r'\S+ "[A-Z]+ /', line)]
    assert logged == ["[INFO] the answer broke off after its headers (the drop fault of a stub)\n"]
    # The server keeps serving; the stub still answers (no times), other methods do not drop.
    reply = live.request(
        "POST", API, json={"jsonrpc": "2.0", "method": "resetPass", "params": ["x"], "id": 2}
    )
    assert reply.json() == {"jsonrpc": "2.0", "result": {"msg": "sent"}, "id": 2}


def test_list_and_clear(client):
    first = _stub(client, method="a", result=1, times=3)
    second = _stub(client, method="b", error="no")
    listed = client.get(STUBS).get_json()
    assert listed["count"] == 2
    assert [(s["id"], s["method"], s["times_left"]) for s in listed["stubs"]] == [
        (first["id"], "a", 3),
        (second["id"], "b", None),
    ]
    _call(client, "a", [])
    assert client.get(STUBS).get_json()["stubs"][0]["times_left"] == 2
    assert client.delete(STUBS).get_json() == {"status": "cleared", "count": 2}
    assert client.get(STUBS).get_json() == {"stubs": [], "count": 0}
    assert _call(client, "a", []).get_json()["error"]["code"] == -32601


@pytest.mark.parametrize(
    "body, message",
    [
        ({"result": 1}, "'method' is required"),
        (
            {"method": "a"},
            "a stub needs 'result', 'error', 'fault', 'answers' (one per call), or "
            "'single_row_object'",
        ),
        ({"method": "a", "result": 1, "error": "x"}, "a stub has 'result' or 'error', not both"),
        ({"method": "a", "result": 1, "colour": "red"}, "unknown stub key 'colour'"),
        ({"method": "a", "result": 1, "times": 0}, "'times' must be a whole number from 1"),
        (
            {"method": "a", "result": 1, "delay_ms": -1},
            "'delay_ms' must be a whole number from 0 to 60000",
        ),
        ({"method": "a", "fault": "explode"}, "'fault' must be one of http500, drop, malformed"),
        ({"method": "a", "error": {"code": "x", "message": "m"}}, "'error' must be a message, or"),
        ({"method": "a", "result": 1, "params_match": "x"}, "'params_match' must be an array"),
        ([1], "a stub is a JSON object"),
    ],
)
def test_bad_stubs_are_refused(client, body, message):
    response = client.post(STUBS, json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad-parameter" and error["message"].startswith(message)
    assert client.get(STUBS).get_json()["count"] == 0


@pytest.mark.parametrize(
    "data, message", [(b"", "the request body is empty"), (b"{", "not valid JSON")]
)
def test_unreadable_stub_bodies(client, data, message):
    response = client.post(STUBS, data=data, content_type="application/json")
    assert response.status_code == 400 and message in response.get_json()["error"]["message"]


def test_reset_clears_stubs(client):
    _stub(client, method="a", result=1)
    assert client.post("/_mockspice/reset").status_code == 200
    assert client.get(STUBS).get_json()["count"] == 0


def test_stub_calls_are_journaled(client):
    stub = _stub(client, method="a", result=1)
    _call(client, "a", [])
    entry = client.get("/_mockspice/journal?kind=api").get_json()["entries"][-1]
    assert entry["calls"] == [{"method": "a", "params": [], "outcome": "stub", "stub": stub["id"]}]
