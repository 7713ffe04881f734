"""Tests of mockspice/client.py: ``mockspice.Client`` against a real ``mockspice serve``."""

from __future__ import annotations

import dataclasses
import json
import pickle
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from liveserver import LiveServer
from werkzeug.serving import make_server

import mockspice
from mockspice import Client, ControlError, RpcError
from mockspice.domain import state

AGENT = ("jdoe.agent", "spice")  # mockspice/data/demo.yaml
JDOE_PHONE = "5555555555"


@pytest.fixture
def mock(live: LiveServer):
    """A client of the session's server, reset for the test."""
    with Client(live.url) as client:
        yield client


@pytest.fixture
def partnered(partner_live: LiveServer):
    """A client of the session's server with the reference partner (conftest.py), reset."""
    with Client(partner_live.url) as client:
        yield client


@pytest.fixture(scope="module")
def token_server():
    server = LiveServer("--control-token", "t")
    yield server
    server.stop()


@pytest.fixture
def app_url(app):
    """The in-process app served on a free loopback port (so a test
    can break one of its handlers).
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refused(caught: pytest.ExceptionInfo, status: int, code: str, message: str) -> None:
    """A negative test's check: the error's status, its code and the start of its message."""
    error = caught.value
    assert (error.status, error.code) == (status, code), str(error)
    assert error.message.startswith(message), error.message


# --- the package --------------------------------------------------------------------------------


def test_importing_mockspice_imports_neither_requests_nor_flask():
    code = (
        "import sys, mockspice; heavy = [m for m in ('requests', 'flask', 'urllib3') if m in "
        "sys.modules]; "
        "assert not heavy, heavy; from mockspice import Client; assert 'requests' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_exports_are_the_clients():
    from mockspice import client

    assert (mockspice.Client, mockspice.ControlError, mockspice.RpcError) == (
        client.Client,
        client.ControlError,
        client.RpcError,
    )
    with pytest.raises(AttributeError, match="no attribute 'Clients'"):
        mockspice.Clients  # noqa: B018


@pytest.mark.parametrize(
    "error",
    [
        ControlError(404, "not-found", "no such brand", "http://x/_mockspice/brands/9/9/webcalls"),
        RpcError(-32003, "login failed", {"code": "login-failed"}),
    ],
)
def test_errors_survive_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), vars(copy), str(copy)) == (type(error), vars(error), str(error))


def test_the_errors_say_what_failed():
    assert str(ControlError(404, "unknown-brand", "brand 9 does not exist", "http://x/pop")) == (
        "404 unknown-brand: brand 9 does not exist (http://x/pop)"
    )
    assert str(RpcError(-32003, "login failed")) == "-32003: login failed"
    assert str(RpcError(None, "invalid session")) == "invalid session"


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, base_path, base_url",
    [
        ("http://127.0.0.1:8080", "/spiceinstall", "http://127.0.0.1:8080/spiceinstall"),
        ("http://127.0.0.1:8080/", "/spiceinstall", "http://127.0.0.1:8080/spiceinstall"),
        ("http://h:1", "/crm/spice/", "http://h:1/crm/spice"),
        ("http://h:1", "/", "http://h:1"),
    ],
)
def test_urls(url, base_path, base_url):
    client = Client(url, base_path=base_path)
    assert client.url == url.rstrip("/")
    assert client.base_url == base_url
    assert client.api_url == base_url + "/api/spiceAPIServer/spiceAPIServer.php"


@pytest.mark.parametrize(
    "params, query",
    [
        ({}, [("company", "1"), ("brand", "1")]),
        (
            {"brand": 2, "ani": "+1 (555) 555-5555"},
            [("company", "1"), ("brand", "2"), ("ani", "+1 (555) 555-5555")],
        ),
        (
            {"company": 3, "callid": "a&b=c#d", "caseid": 6344},
            [("company", "3"), ("brand", "1"), ("callid", "a&b=c#d"), ("caseid", "6344")],
        ),
        ({"ani": None, "callid": "é"}, [("company", "1"), ("brand", "1"), ("callid", "é")]),
    ],
)
def test_pop_url_encodes_its_params(params, query):
    url = Client("http://h:1").pop_url(**params)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "http://h:1/spiceinstall/integrations/telephony/telephonypop.php"
    )
    assert parse_qsl(parts.query) == query
    assert "#" not in url and " " not in url


# --- the control API ----------------------------------------------------------------------------


def test_health(mock):
    assert mock.health() == {
        "status": "ok",
        "version": mockspice.__version__,
        "edition": "enterprise",
        "base_path": "/spiceinstall",
    }


def test_reset_undoes_the_tests_changes(mock):
    mock.add_stub("companyList", result=[])
    session = mock.connect(*AGENT)
    mock.reset()
    assert (mock.stubs(), mock.journal()) == ([], [])
    with pytest.raises(ControlError) as caught:
        mock.session_quirks(session)
    refused(caught, 404, "not-found", f"no live session '{session}'")


def test_state_and_put_state(mock):
    dataset = mock.state()
    assert [c["id"] for c in dataset["companies"]] == [1, 2]
    dataset["companies"] = dataset["companies"][:1]
    dataset["agents"] = [a for a in dataset["agents"] if a["company"] == 1]
    counts = mock.put_state(dataset)
    assert counts["companies"] == 1
    assert [c["id"] for c in mock.state()["companies"]] == [1]


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {},
            "request body: a dataset needs 'companies' (a list; {\"companies\": []} for an empty "
            "one)",
        ),
        ({"companies": [{"id": "x"}]}, "companies[0].id"),
    ],
)
def test_a_bad_dataset_is_refused(mock, data, message):
    with pytest.raises(ControlError) as caught:
        mock.put_state(data)
    assert (caught.value.status, caught.value.code) == (400, "bad-dataset")
    assert message in caught.value.message


def test_journal_filters(mock):
    session = mock.connect(*AGENT)
    mock.pop(ani=JDOE_PHONE, callid="CALL-1")
    mock.rpc("accountLoad", {"LastName": "Doe"}, session=session)
    mock.pop(brand=2, ani="5550000000")
    everything = mock.journal()
    assert [e["kind"] for e in everything] == ["api", "pop", "api", "pop"]
    assert [e["id"] for e in mock.journal(kind="pop")] == [everything[1]["id"], everything[3]["id"]]
    assert [e["id"] for e in mock.journal(ani=JDOE_PHONE)] == [everything[1]["id"]]
    assert [e["id"] for e in mock.journal(callid="CALL-1", company=1, brand=1)] == [
        everything[1]["id"]
    ]
    assert [e["id"] for e in mock.journal(brand=2)] == [everything[3]["id"]]
    assert [e["id"] for e in mock.journal(method="accountLoad", outcome="result")] == [
        everything[2]["id"]
    ]
    assert [e["id"] for e in mock.journal(since=everything[1]["id"])] == [
        e["id"] for e in everything[2:]
    ]
    assert [e["id"] for e in mock.journal(kind="api", limit=1)] == [everything[2]["id"]]
    assert mock.journal(url="http://127.0.0.1:1/search") == []
    start = datetime.fromisoformat(everything[0]["at"].replace("Z", "+00:00"))
    assert len(mock.journal(since=start)) == 4
    assert mock.journal(since=(start + timedelta(days=1)).isoformat()) == []


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"kind": "pops"}, "parameter 'kind' must be one of pop, api, webcall, error"),
        (
            {"company": 0},
            "parameter 'company' must be an id (a whole number from 1 to 2147483647), not '0'",
        ),
        ({"since": "yesterday"}, "parameter 'since'"),
    ],
)
def test_bad_journal_filters(mock, filters, message):
    with pytest.raises(ControlError) as caught:
        mock.journal(**filters)
    refused(caught, 400, "bad-parameter", message)


def test_clear_journal(mock):
    mock.pop()
    mock.clear_journal()
    assert mock.journal() == []
    assert mock.pop()["pop_id"] > 1  # ids keep rising


def test_find_count_and_near_misses(mock):
    session = mock.connect(*AGENT)
    mock.rpc("accountLoad", {"LastName": "Doe"}, session=session)
    mock.rpc("accountLoad", {"LastName": "Smith"}, session=session)
    doe = {"method": "accountLoad", "params_match": [{"LastName": "Doe"}]}
    [found] = mock.find(doe)
    assert found["calls"][0]["params"] == [{"LastName": "Doe"}, session]
    assert mock.find(kind="api", method="accountLoad", params_match=None) == mock.find(
        {"method": "accountLoad"}
    )
    assert [e["id"] for e in mock.find({"method": "accountLoad"}, limit=1)] == [
        mock.journal()[-1]["id"]
    ]
    assert mock.count(doe) == 1
    assert mock.count({"method": "accountLoad"}, outcome="result") == 2
    assert mock.count(doe, params_match=[{"LastName": "Jones"}]) == 0  # keys win over the matcher's
    assert mock.count() == 3
    misses = mock.near_misses(doe, params_match=[{"LastName": "Jones"}], limit=2)
    assert [m["differences"][0]["key"] for m in misses] == ["params_match", "params_match"]
    assert misses[0]["differences"][0]["actual"] == [
        {"LastName": "Smith"},
        session,
    ]  # the newest first
    assert len(mock.near_misses(kind="pop")) == 3  # every entry is a miss of a pop matcher


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda m: m.find({"metod": "accountLoad"}),
            "unknown matcher key 'metod' (known: kind, method,",
        ),
        (
            lambda m: m.count(company="one"),
            "'company' must be an id (a whole number from 1 to 2147483647), not 'one'",
        ),
        (lambda m: m.count(limit=1), "unknown matcher key 'limit'"),
        (lambda m: m.near_misses(kind="pops"), "'kind' must be one of pop, api, webcall, error"),
    ],
)
def test_bad_matchers(mock, call, message):
    with pytest.raises(ControlError) as caught:
        call(mock)
    refused(caught, 400, "bad-parameter", message)


def test_stubs_their_hits_and_clearing_them(mock):
    stub = mock.add_stub("companyList", result=[{"companyid": "9"}], times=2)
    assert (stub["method"], stub["hits"], stub["times_left"], stub["origin"]) == (
        "companyList",
        0,
        2,
        "api",
    )
    assert mock.rpc("companyList") == [{"companyid": "9"}]  # before the session check
    [listed] = mock.stubs()
    assert (listed["id"], listed["hits"], listed["times_left"]) == (stub["id"], 1, 1)
    assert mock.count(method="companyList", outcome="stub") == 1
    assert mock.clear_stubs() == 1
    assert mock.stubs() == []


def test_an_error_stub_raises_rpc_error(mock):
    mock.add_stub(
        "accountLoad", error={"code": -32004, "message": "no such account", "data": {"why": "test"}}
    )
    with pytest.raises(RpcError) as caught:
        mock.rpc("accountLoad", {"LastName": "Doe"})
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        -32004,
        "no such account",
        {"why": "test"},
    )


def test_an_answer_list_for_a_retry(mock):
    mock.add_stub(
        "load", answers=[{"fault": "http500"}, {"result": {"userkey": "jdoe"}}], then="end"
    )
    with pytest.raises(RpcError) as caught:
        mock.rpc("load", {"userkey": "jdoe"})
    assert caught.value.code == -32700
    assert mock.rpc("load", {"userkey": "jdoe"}) == {"userkey": "jdoe"}
    assert mock.stubs()[0]["hits"] == 2


@pytest.mark.parametrize(
    "stub, message",
    [
        ({"result": 1, "fault": "fire"}, "'fault'"),
        ({"colour": "red"}, "unknown stub key 'colour'"),
    ],
)
def test_a_bad_stub_is_refused(mock, stub, message):
    with pytest.raises(ControlError) as caught:
        mock.add_stub("companyList", **stub)
    assert (caught.value.status, caught.value.code) == (400, "bad-parameter")
    assert message in caught.value.message
    assert mock.stubs() == []


def test_a_sessions_quirks(mock):
    session = mock.connect(*AGENT)
    shown = mock.session_quirks(session)
    assert shown == {
        "session": session,
        "kind": "agent",
        "agent": shown["agent"],
        "company": 1,
        "userkey": None,
        "security_level": shown["security_level"],
        "single_row_object": None,
    }
    rows = mock.rpc("query", "select TenantID from tblTenant where TenantID=1", session=session)
    assert rows == [{"tenantid": "1"}]
    assert mock.set_session_quirks(session, single_row_object=True) == {
        **shown,
        "single_row_object": True,
    }
    assert mock.rpc(
        "query", "select TenantID from tblTenant where TenantID=1", session=session
    ) == {"tenantid": "1"}
    assert (
        mock.set_session_quirks(session)["single_row_object"] is None
    )  # back to the server's setting


@pytest.mark.parametrize(
    "session, quirks, status, code, message",
    [
        ("0" * 32, {}, 404, "not-found", f"no live session '{'0' * 32}'"),
        (
            "not-a-session",
            {},
            400,
            "bad-parameter",
            "the session id must be 32 lower-case hex digits",
        ),
        (
            "ab?c=1",
            {},
            400,
            "bad-parameter",
            "the session id must be 32 lower-case hex digits, as connect and "
            "portalconnect answer it, not 'ab?c=1'",
        ),
        (
            None,
            {"single_row_object": "yes"},
            400,
            "bad-parameter",
            "'single_row_object' must be true, false or null (null: the server's setting), not a "
            "string",
        ),
        (
            None,
            {"single_row_objects": True},
            400,
            "bad-parameter",
            "unknown session setting 'single_row_objects'",
        ),
    ],
)
def test_bad_session_quirks(mock, session, quirks, status, code, message):
    with pytest.raises(ControlError) as caught:
        mock.set_session_quirks(session or mock.connect(*AGENT), **quirks)
    refused(caught, status, code, message)


# --- web calls (the reference partner) -----------------------------------------------------------


def test_webcalls_and_merging_new_settings_into_them(partnered):
    before = partnered.webcalls(1, 1)
    assert (before["search_url"], before["int_pass"]) == ("/_partner/search", "********")
    after = partnered.set_webcalls(1, 1, timeout_s=5)
    assert after == {**before, "timeout_s": 5.0}
    # The brand's own int_pass was kept: the partner, which checks it, answers.
    exchange = partnered.fire("search", variables={"PrimaryPhone": JDOE_PHONE})
    assert exchange["outcome"] == "ok", exchange["findings"]
    assert exchange["request"]["form"]["intPass"] == "********"


def test_replacing_webcalls_leaves_the_others_at_their_defaults(partnered):
    settings = partnered.set_webcalls(1, 1, replace=True, search_url="/_partner/search")
    assert settings == {
        "search_url": "/_partner/search",
        "load_url": "",
        "update_url": "",
        "case_url": "",
        "int_user": "",
        "int_pass": "",
        "timeout_s": 10.0,
    }
    exchange = partnered.fire("search", variables={"PrimaryPhone": JDOE_PHONE})
    assert (exchange["outcome"], exchange["response"]["status"]) == (
        "error",
        403,
    )  # no intUser/intPass now
    with pytest.raises(ControlError) as caught:
        partnered.fire("load", userkey="jdoe")
    assert (caught.value.status, caught.value.code) == (409, "no-webcall-url")


@pytest.mark.parametrize(
    "company, brand, settings, status, code, message",
    [
        (9, 1, {}, 404, "unknown-company", "company 9 does not exist"),
        (1, 99, {"timeout_s": 5}, 404, "unknown-brand", "brand 99 does not exist in company 1"),
        (
            1,
            1,
            {"search_url": "ftp://x"},
            400,
            "bad-parameter",
            "search_url: must be an http or https URL, not 'ftp://x'",
        ),
    ],
)
def test_bad_webcall_settings(partnered, company, brand, settings, status, code, message):
    with pytest.raises(ControlError) as caught:
        partnered.set_webcalls(company, brand, **settings)
    refused(caught, status, code, message)


def test_fire_answers_the_exchange_and_journals_it(partnered):
    exchange = partnered.fire("load", userkey="jdoe")
    assert (exchange["kind"], exchange["outcome"], exchange["brand"]) == (
        "load",
        "ok",
        {"company": 1, "brand": 1},
    )
    assert [r["userkey"] for r in exchange["records"]] == ["jdoe"]
    [entry] = partnered.journal(kind="webcall", outcome="ok", url=exchange["request"]["url"])
    assert entry["exchange"]["id"] == exchange["id"]
    assert partnered.count(kind="webcall", form_match={"Userkey": "jdoe"}) == 1
    partnered.fire("search", variables={"PrimaryPhone": JDOE_PHONE})
    assert [e["exchange"]["kind"] for e in partnered.journal(call="search")] == ["search"]
    assert partnered.count(call="load") == 1


def test_fire_an_unknown_kind(partnered):
    with pytest.raises(ControlError) as caught:
        partnered.fire("delete")
    refused(
        caught,
        400,
        "bad-parameter",
        "unknown web call 'delete'; use one of search, load, update, case",
    )


# --- the screen pop -----------------------------------------------------------------------------


def test_pop_answers_its_json(mock):
    popped = mock.pop(ani="(555) 555-5555", callid="CALL-1")
    assert (popped["company"], popped["brand"], popped["ani_digits"], popped["callid"]) == (
        1,
        1,
        JDOE_PHONE,
        "CALL-1",
    )
    assert popped["match"]["kind"] in ("account", "candidates")
    [entry] = mock.journal(kind="pop")
    assert entry["id"] == popped["pop_id"] and entry["params"]["format"] == "json"


@pytest.mark.parametrize(
    "params, status, code, message",
    [
        ({"brand": 99}, 404, "unknown-brand", "brand 99 does not exist in company 1"),
        ({"company": 99}, 404, "unknown-company", "company 99"),
        ({"company": "x"}, 400, "bad-parameter", "parameter 'company'"),
        ({"company": None}, 400, "bad-parameter", "parameter 'company'"),
    ],
)
def test_a_pop_error_raises_control_error(mock, params, status, code, message):
    with pytest.raises(ControlError) as caught:
        mock.pop(**params)
    refused(caught, status, code, message)
    assert caught.value.url.startswith(mock.base_url + "/integrations/telephony/telephonypop.php?")


# --- the JSON-RPC API ---------------------------------------------------------------------------


def sent(mock: Client) -> list[dict]:
    """The JSON-RPC requests the journal kept, as sent."""
    return [
        json.loads(e["request"])
        for e in mock.journal(kind="api")
        if not e["request"].startswith("[not kept")
    ]


def test_connect_and_a_positional_call_with_the_session_last(mock):
    session = mock.connect(*AGENT)
    assert len(session) == 32
    assert mock.rpc("checkSession", session=session)["msg"] == "valid"
    assert mock.rpc("accountLoad", {"LastName": "Doe"}, session=session)
    requests_sent = sent(mock)
    assert [r["params"] for r in requests_sent] == [[session], [{"LastName": "Doe"}, session]]
    assert [r["id"] for r in requests_sent] == [
        2,
        3,
    ]  # counting up, connect's 1 (not kept: a password)
    assert all(r["jsonrpc"] == "2.0" for r in requests_sent)


def test_a_named_call_gives_the_session_by_name(mock):
    session = mock.connect(*AGENT)
    assert mock.rpc("checkSession", session=session)["msg"] == "valid"
    mock.rpc("query", sql="select TenantID from tblTenant where TenantID=1", session=session)
    assert sent(mock)[-1]["params"] == {
        "sql": "select TenantID from tblTenant where TenantID=1",
        "session": session,
    }


def test_a_call_without_params_sends_none(mock):
    assert mock.rpc("rpc.discover")["openrpc"].startswith("1.")
    assert "params" not in sent(mock)[-1]


def test_positional_and_named_params_together_are_refused(mock):
    with pytest.raises(ValueError, match="positional or named parameters, not both"):
        mock.rpc("accountLoad", {"LastName": "Doe"}, session_id="x")
    assert mock.journal() == []


@pytest.mark.parametrize(
    "call, code, message, data_code",
    [
        (lambda m: m.connect("jdoe.agent", "wrong"), -32003, "login failed", "login-failed"),
        (
            lambda m: m.rpc("checkSession", session="nope"),
            -32001,
            "invalid session: unknown session 'nope'",
            "invalid-session",
        ),
        (lambda m: m.rpc("nosuchMethod"), -32601, "Method not found", None),
    ],
)
def test_api_errors_raise_rpc_error(mock, call, code, message, data_code):
    with pytest.raises(RpcError) as caught:
        call(mock)
    assert caught.value.code == code
    assert caught.value.message.startswith(message), caught.value.message
    if data_code:
        assert caught.value.data["code"] == data_code


@pytest.mark.parametrize(
    "fault, message",
    [
        ("http500", "the API answered companyList with HTTP 500 and no JSON-RPC reply: '<html>"),
        ("malformed", "the API answered companyList with HTTP 200 and no JSON-RPC reply: '{"),
        ("drop", "the API's answer to companyList broke off"),
    ],
)
def test_a_faulty_answer_raises_a_parse_error(mock, fault, message):
    session = mock.connect(*AGENT)
    mock.add_stub("companyList", fault=fault, times=1)
    with pytest.raises(RpcError) as caught:
        mock.rpc("companyList", session=session)
    assert caught.value.code == -32700
    assert caught.value.message.startswith(message), caught.value.message
    assert len(caught.value.message) < 300
    assert (
        mock.rpc("companyList", session=session)[0]["companyid"] == "1"
    )  # the client goes on after it


def test_a_slow_answer_is_a_timeout(live):
    with Client(live.url, timeout=0.3) as slow:
        slow.add_stub("companyList", result=[], delay_ms=1500, times=1)
        with pytest.raises(ControlError) as caught:
            slow.rpc("companyList")
    refused(caught, 0, "timeout", f"mockspice did not answer within 0.3 s at {slow.api_url}")


# --- errors inside the server -------------------------------------------------------------------


def boom(*args, **kwargs):
    raise RuntimeError("boom in a handler")


def test_errors_lists_the_servers_own_failures(app, app_url, monkeypatch):
    methods = app.extensions["mockspice"].registry.methods
    monkeypatch.setitem(
        methods, "companyList", dataclasses.replace(methods["companyList"], handler=boom)
    )
    monkeypatch.setattr(state, "export_state", boom)
    with Client(app_url) as mock:
        assert mock.errors() == []
        session = mock.connect("admin", "admin")
        with pytest.raises(RpcError) as caught:
            mock.rpc("companyList", session=session)
        assert (caught.value.code, caught.value.message) == (-32603, "Internal error")
        with pytest.raises(ControlError) as failed:
            mock.state()
        refused(
            failed,
            500,
            "internal-error",
            "mockspice failed: RuntimeError; see GET /_mockspice/journal?kind=error",
        )
        errors = mock.errors(timeout=5)
    assert [(e["api_method"] if "api_method" in e else e["path"], e["error"]) for e in errors] == [
        ("companyList", "RuntimeError: boom in a handler"),
        ("/_mockspice/state", "RuntimeError: boom in a handler"),
    ]
    assert all(e["traceback"].startswith("Traceback (most recent call last):") for e in errors)


# --- the token, and no server at all ------------------------------------------------------------


def test_a_token_server_refuses_a_client_without_it(token_server):
    with Client(token_server.url) as anonymous:
        with pytest.raises(ControlError) as caught:
            anonymous.health()
        refused(
            caught,
            401,
            "unauthorized",
            "the control API needs the header 'Authorization: Bearer <control_token>'",
        )
        assert anonymous.pop()["brand"] == 1  # SpiceCSM's own URLs need no token
        assert anonymous.connect(*AGENT)
    with Client(token_server.url, token="wrong") as wrong:
        with pytest.raises(ControlError) as caught:
            wrong.reset()
        refused(caught, 401, "unauthorized", "the control API needs the header")


def test_a_token_server_answers_a_client_with_it(token_server):
    with Client(token_server.url, token="t") as mock:
        mock.reset()
        assert mock.health()["status"] == "ok"
        mock.pop()
        assert [e["kind"] for e in mock.journal()] == ["pop"]


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.health(),
        lambda m: m.find(kind="api"),
        lambda m: m.pop(),
        lambda m: m.rpc("companyList"),
    ],
)
def test_no_server_is_unreachable(call):
    port = closed_port()
    with Client(f"http://127.0.0.1:{port}", timeout=2) as mock:
        with pytest.raises(ControlError) as caught:
            call(mock)
    error = caught.value
    assert (error.status, error.code) == (0, "unreachable")
    assert error.message.startswith(f"mockspice is unreachable at http://127.0.0.1:{port}/")
    assert "Connection refused" in error.message and error.url in error.message


# --- the transport (answers no mockspice gives: a proxy's, a JSON-RPC 1.0 server's) -------------


@pytest.fixture
def transport():
    """``responses`` in front of the client's own adapter (an active ``responses`` of the code
    under test does not reach it: test_the_client_is_not_mocked_by_responses)."""
    with responses.RequestsMock(target="mockspice.client._Adapter.send") as mock:
        yield mock


def test_the_client_is_not_mocked_by_responses(live):
    with responses.RequestsMock() as mocked:
        mocked.add("GET", "https://crm.example.com/ping", json={"ok": True})
        assert requests.get("https://crm.example.com/ping", timeout=5).json() == {"ok": True}
        assert Client(live.url).health()["status"] == "ok"


def test_the_token_goes_to_control_urls_only(transport):
    for verb, url in [
        ("GET", "http://h:1/_mockspice/health"),
        ("GET", "http://h:1/spiceinstall/integrations/telephony/telephonypop.php"),
        ("POST", "http://h:1/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"),
    ]:
        transport.add(
            verb, url, json={"status": "ok", "result": {"session": "s"}, "error": None, "id": 1}
        )
    mock = Client("http://h:1", token="sekrit")
    mock.health()
    mock.pop()
    mock.connect(*AGENT)
    sent_headers = [call.request.headers.get("Authorization") for call in transport.calls]
    assert sent_headers == ["Bearer sekrit", None, None]


PROXY_PAGE = "<html><body>Bad Gateway" + "x" * 500 + "</body></html>"


@pytest.mark.parametrize(
    "status, body, code, message",
    [
        (502, PROXY_PAGE, "not-json", f"GET answered HTTP 502 with no JSON: {PROXY_PAGE[:200]!r}"),
        (200, "OK", "not-json", "GET answered HTTP 200 with no JSON: 'OK'"),
        (503, '{"detail": "down"}', "http-error", 'GET answered HTTP 503: \'{"detail": "down"}\''),
    ],
)
def test_an_answer_that_is_not_the_control_apis(transport, status, body, code, message):
    transport.add("GET", "http://h:1/_mockspice/health", body=body, status=status)
    with pytest.raises(ControlError) as caught:
        Client("http://h:1").health()
    refused(caught, status, code, message)
    assert caught.value.message == message


def test_a_json_rpc_1_0_error_is_its_message(transport):
    transport.add(
        "POST",
        "http://h:1/spiceinstall/api/spiceAPIServer/spiceAPIServer.php",
        json={"result": None, "error": "invalid session: unknown session 'x'", "id": 1},
    )
    with pytest.raises(RpcError) as caught:
        Client("http://h:1").rpc("checkSession", session="x")
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        None,
        "invalid session: unknown session 'x'",
        None,
    )


@pytest.mark.parametrize("body", ['[{"result": 1}]', '{"id": 1}', '"ok"'])
def test_json_that_is_no_json_rpc_reply(transport, body):
    transport.add(
        "POST", "http://h:1/spiceinstall/api/spiceAPIServer/spiceAPIServer.php", body=body
    )
    with pytest.raises(RpcError) as caught:
        Client("http://h:1").rpc("companyList")
    assert caught.value.code == -32700
    assert (
        caught.value.message
        == f"the API answered companyList with HTTP 200 and no JSON-RPC reply: {body!r}"
    )
