"""Stubs for partners' test suites through the control API: hits, answer lists, files loaded at
start, the single-row quirk per stub and per session, and what the API's replay cache does with
them."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
import requests
from liveserver import LiveServer

from mockspice.app import create_app
from mockspice.domain.stubs import StubsError
from mockspice.settings import Settings

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
STUBS = "/_mockspice/rpc/stubs"
SESSIONS = "/_mockspice/rpc/sessions/"
ONE_ROW = ("agentExists", [["admin"]])  # a replayable method answering rows; here one row


def _call(client, method: str, params, id_=1):
    return client.post(API, json={"jsonrpc": "2.0", "method": method, "params": params, "id": id_})


def _stub(client, **stub) -> dict:
    response = client.post(STUBS, json=stub)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _connect(client) -> str:
    return client.post(
        API, json={"method": "connect", "params": ["admin", "admin"], "id": 1}
    ).get_json()["result"]["session"]


def _one_row(client, session: str):
    """The same request bytes each time (so the worker may keep and replay its answer)."""
    method, params = ONE_ROW
    body = json.dumps({"method": method, "params": [*params, session], "id": 7})
    return client.post(API, data=body, content_type="application/json").get_json()["result"]


def _refused(response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"].startswith(message), error["message"]


# --- hits and answer lists -----------------------------------------------------------------------


def test_hits_are_zero_when_added_and_count_every_answered_call(client):
    stub = _stub(client, method="companyList", result=[])
    other = _stub(client, method="resetPass", params_match=["nobody"], result={"msg": "stubbed"})
    assert (stub["hits"], stub["times_left"], stub["origin"], stub["file"]) == (
        0,
        None,
        "api",
        None,
    )
    for i in range(3):
        _call(client, "companyList", [], i)
    _call(client, "resetPass", ["admin"])  # not matched: not counted
    assert [(s["id"], s["hits"]) for s in client.get(STUBS).get_json()["stubs"]] == [
        (stub["id"], 3),
        (other["id"], 0),
    ]


def test_two_faults_then_a_result_for_a_clients_retry(client):
    stub = _stub(
        client,
        method="companyList",
        answers=[{"fault": "http500"}, {"fault": "malformed"}, {"result": [{"companyid": "9"}]}],
    )
    first, second = _call(client, "companyList", [], 1), _call(client, "companyList", [], 2)
    assert first.status_code == 500 and b"Internal Server Error" in first.data
    with pytest.raises(ValueError):
        json.loads(second.data)
    for i in (3, 4):  # the last answer repeats
        assert _call(client, "companyList", [], i).get_json() == {
            "jsonrpc": "2.0",
            "result": [{"companyid": "9"}],
            "id": i,
        }
    entries = client.get("/_mockspice/journal?kind=api").get_json()["entries"][-4:]
    assert [(e["calls"][0]["stub"], e["calls"][0]["answer"], e["fault"]) for e in entries] == [
        (stub["id"], 0, "http500"),
        (stub["id"], 1, "malformed"),
        (stub["id"], 2, None),
        (stub["id"], 2, None),
    ]
    assert client.get(STUBS).get_json()["stubs"][0]["hits"] == 4


def test_an_answer_list_that_ends_gives_the_call_to_the_real_method(client):
    _stub(
        client,
        method="resetPass",
        answers=[
            {"error": {"code": -32050, "message": "try later"}},
            {"result": {"msg": "stubbed"}},
        ],
        then="end",
    )
    answers = [_call(client, "resetPass", ["admin"], i).get_json() for i in range(3)]
    assert answers[0]["error"] == {"code": -32050, "message": "try later"}
    assert [a.get("result") for a in answers[1:]] == [{"msg": "stubbed"}, {"msg": "sent"}]
    [stub] = client.get(STUBS).get_json()["stubs"]
    assert (stub["hits"], stub["times_left"], stub["then"]) == (2, 0, "end")


def test_an_answers_delay(client):
    _stub(client, method="slow", answers=[{"result": 1, "delay_ms": 300}, {"result": 2}])
    started = time.monotonic()
    assert _call(client, "slow", []).get_json()["result"] == 1
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert _call(client, "slow", []).get_json()["result"] == 2
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    "body, message",
    [
        ({"method": "a", "answers": []}, "'answers' must be a non-empty array of"),
        (
            {"method": "a", "answers": [{"result": 1, "error": "x"}]},
            "'answers'[0] must have exactly one of 'result', 'error' or 'fault', not 'result' and "
            "'error'",
        ),
        (
            {"method": "a", "answers": [{}]},
            "'answers'[0] must have exactly one of 'result', 'error' or 'fault'",
        ),
        (
            {"method": "a", "answers": [{"result": 1, "delay_ms": 10**12}]},
            "'delay_ms' must be a whole number from 0 to 60000",
        ),
        ({"method": "a", "answers": [{"result": 1}], "then": "stop"}, "'then' must be repeat"),
        ({"method": "a", "result": 1, "then": "end"}, "'then' goes with 'answers'"),
        (
            {"method": "a", "result": 1, "times": -1},
            "'times' must be a whole number from 1 to 1000000000",
        ),
        (
            {"method": "query", "single_row_object": "true"},
            "'single_row_object' must be true or false, not a string",
        ),
        (
            {"method": "query", "single_row_object": True, "error": "x"},
            "'single_row_object' makes a pass-through stub",
        ),
        (
            {"method": "connect", "single_row_object": True},
            "'method': a pass-through stub answers through the real method, and 'connect' is none "
            "of the API's methods "
            "that answer rows",
        ),
        (
            {"method": "nosuch", "single_row_object": False},
            "'method': a pass-through stub answers through the real method, and 'nosuch' is none",
        ),
        (
            {"method": "a", "result": 1, "origin": "file"},
            "unknown stub key 'origin' (known: method, params_match, "
            "result, error, times, delay_ms, fault, answers, then, "
            "single_row_object)",
        ),
    ],
)
def test_bad_new_stub_keys_are_refused(client, body, message):
    _refused(client.post(STUBS, json=body), 400, "bad-parameter", message)
    assert client.get(STUBS).get_json()["count"] == 0


# --- the single-row quirk per stub ---------------------------------------------------------------


def test_a_pass_through_stub_sets_the_quirk_for_the_calls_it_matches(client):
    session = _connect(client)
    stub = _stub(
        client, method="agentExists", single_row_object=True, params_match=[["admin"]], times=2
    )
    assert isinstance(_one_row(client, session), dict)  # the real method's row, as a bare object
    assert isinstance(_one_row(client, session), dict)
    assert isinstance(_one_row(client, session), list)  # used up: the server's setting again
    [listed] = client.get(STUBS).get_json()["stubs"]
    assert (listed["hits"], listed["times_left"], listed["single_row_object"]) == (2, 0, True)
    entries = client.get("/_mockspice/journal?kind=api").get_json()["entries"][-3:]
    assert [
        {k: c[k] for k in ("outcome", "stub") if k in c} for e in entries for c in e["calls"]
    ] == [
        {"outcome": "result", "stub": stub["id"]},
        {"outcome": "result", "stub": stub["id"]},
        {"outcome": "result"},
    ]


def test_a_pass_through_stub_still_needs_the_session(client):
    _stub(client, method="agentExists", single_row_object=True)
    answer = _call(client, "agentExists", [["admin"], "0" * 32]).get_json()
    assert answer["error"]["code"] == -32001
    assert (
        client.get(STUBS).get_json()["stubs"][0]["hits"] == 1
    )  # a matched call counts, whatever it answers


def test_a_pass_through_stub_turns_a_servers_quirk_off(tmp_path):
    app = create_app(
        Settings.load(
            environ={}, overrides={"db": str(tmp_path / "s.db"), "rpc_single_row_object": True}
        )
    )
    client = app.test_client()
    try:
        session = _connect(client)
        assert isinstance(_one_row(client, session), dict)
        _stub(client, method="agentExists", single_row_object=False)
        assert isinstance(_one_row(client, session), list)
    finally:
        app.extensions["mockspice"].prepared.cleanup()


def test_a_pass_through_stubs_calls_are_never_replayed(client):
    """Sent thrice, the same bytes: the third would be a replay of the second's answer, kept when
    seen again, if calls through the stub were kept (the stub used up moves no generation)."""
    session = _connect(client)
    _stub(client, method="agentExists", single_row_object=True, times=2)
    assert [type(_one_row(client, session)) for _ in range(4)] == [dict, dict, list, list]


# --- the single-row quirk per session ------------------------------------------------------------


def test_a_sessions_quirk_is_set_shown_and_followed(client):
    session, other = _connect(client), _connect(client)
    shown = client.get(SESSIONS + session).get_json()
    assert shown == {
        "session": session,
        "kind": "agent",
        "agent": 4,
        "company": 1,
        "userkey": None,
        "security_level": 4,
        "single_row_object": None,
    }
    put = client.put(SESSIONS + session, json={"single_row_object": True})
    assert put.status_code == 200 and put.get_json() == {**shown, "single_row_object": True}
    assert client.get(SESSIONS + session).get_json()["single_row_object"] is True
    assert isinstance(_one_row(client, session), dict)
    assert isinstance(_one_row(client, other), list)  # only that session's calls
    assert (
        client.put(SESSIONS + session, json={}).get_json()["single_row_object"] is None
    )  # the server's again
    assert isinstance(_one_row(client, session), list)


def test_setting_a_sessions_quirk_ends_the_replay_of_the_old_shape(client):
    session = _connect(client)
    assert [type(_one_row(client, session)) for _ in range(3)] == [list] * 3  # the third replayed
    client.put(SESSIONS + session, json={"single_row_object": True})
    assert [type(_one_row(client, session)) for _ in range(3)] == [dict] * 3
    client.put(SESSIONS + session, json={"single_row_object": False})
    assert [type(_one_row(client, session)) for _ in range(3)] == [list] * 3


def test_a_stub_wins_over_the_session_and_the_session_over_the_server(tmp_path):
    app = create_app(
        Settings.load(
            environ={}, overrides={"db": str(tmp_path / "s.db"), "rpc_single_row_object": True}
        )
    )
    client = app.test_client()
    try:
        session = _connect(client)
        client.put(SESSIONS + session, json={"single_row_object": False})
        assert isinstance(_one_row(client, session), list)  # session over server
        _stub(client, method="agentExists", single_row_object=True)
        assert isinstance(_one_row(client, session), dict)  # stub over session
    finally:
        app.extensions["mockspice"].prepared.cleanup()


def test_a_reset_ends_the_sessions_and_their_quirks(client):
    session = _connect(client)
    client.put(SESSIONS + session, json={"single_row_object": True})
    client.post("/_mockspice/reset")
    _refused(client.get(SESSIONS + session), 404, "not-found", f"no live session '{session}'")


@pytest.mark.parametrize(
    "method, path, body, status, code, message",
    [
        (
            "GET",
            "0" * 32,
            None,
            404,
            "not-found",
            f"no live session '{'0' * 32}' (it never was, it expired, or a reset ended it)",
        ),
        (
            "PUT",
            "0" * 32,
            {"single_row_object": True},
            404,
            "not-found",
            f"no live session '{'0' * 32}'",
        ),
        (
            "GET",
            "not-a-session",
            None,
            400,
            "bad-parameter",
            "the session id must be 32 lower-case hex digits, as connect and portalconnect answer "
            "it, not 'not-a-session'",
        ),
        (
            "PUT",
            "ABCDEF" + "0" * 26,
            {},
            400,
            "bad-parameter",
            "the session id must be 32 lower-case hex digits",
        ),
        (
            "PUT",
            "%ff%fe",
            {},
            400,
            "bad-parameter",
            "the session id must be 32 lower-case hex digits",
        ),
        (
            "PUT",
            "{session}",
            {"single_row_object": "yes"},
            400,
            "bad-parameter",
            "'single_row_object' must be true, false or null (null: the server's setting), not a "
            "string",
        ),
        (
            "PUT",
            "{session}",
            {"single_row_object": 1},
            400,
            "bad-parameter",
            "'single_row_object' must be true, false or null (null: the server's setting), not a "
            "number",
        ),
        (
            "PUT",
            "{session}",
            {"single_row_objects": True},
            400,
            "bad-parameter",
            "unknown session setting 'single_row_objects' (known: single_row_object)",
        ),
        (
            "PUT",
            "{session}",
            [True],
            400,
            "bad-parameter",
            'the body must be a JSON object: {"single_row_object": '
            "true, false or null}, not an array",
        ),
        ("PUT", "{session}", b"", 400, "bad-parameter", "the request body is empty"),
        ("PUT", "{session}", b"{", 400, "bad-parameter", "the request body is not valid JSON"),
        (
            "POST",
            "{session}",
            {},
            405,
            "method-not-allowed",
            "method POST is not allowed here; use GET, HEAD, OPTIONS, PUT",
        ),
    ],
)
def test_bad_session_requests_are_refused(client, method, path, body, status, code, message):
    session = _connect(client)
    kwargs = (
        {"data": body, "content_type": "application/json"}
        if isinstance(body, bytes)
        else ({} if body is None else {"json": body})
    )
    response = client.open(SESSIONS + path.format(session=session), method=method, **kwargs)
    _refused(response, status, code, message)
    assert client.get(SESSIONS + session).get_json()["single_row_object"] is None  # nothing changed


def test_an_expired_session_is_not_found(client, monkeypatch):
    session = _connect(client)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 7200)  # past session_ttl_s
    _refused(
        client.put(SESSIONS + session, json={"single_row_object": True}),
        404,
        "not-found",
        "no live session",
    )


# --- stubs from files ----------------------------------------------------------------------------

FILE_STUBS = """\
- method: companyList
  answers:
    - fault: http500
    - result: [{companyid: "1", companylabel: From a file}]
  then: end
- method: resetPass
  result: {msg: from a file}
"""


@pytest.fixture
def filed(tmp_path):
    """An app whose stubs setting names a folder of two files."""
    folder = tmp_path / "stubs"
    folder.mkdir()
    (folder / "a.yaml").write_text(FILE_STUBS)
    (folder / "b.json").write_text('{"method": "agentExists", "single_row_object": true}')
    app = create_app(
        Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db"), "stubs": str(folder)})
    )
    yield app.test_client(), folder
    app.extensions["mockspice"].prepared.cleanup()


def test_file_stubs_are_listed_with_their_file_and_answer(filed):
    client, folder = filed
    listed = client.get(STUBS).get_json()
    assert [(s["id"], s["method"], s["origin"], s["file"]) for s in listed["stubs"]] == [
        (1, "companyList", "file", str(folder / "a.yaml")),
        (2, "resetPass", "file", str(folder / "a.yaml")),
        (3, "agentExists", "file", str(folder / "b.json")),
    ]
    assert _call(client, "companyList", []).status_code == 500
    assert _call(client, "resetPass", ["admin"]).get_json()["result"] == {"msg": "from a file"}
    assert isinstance(_one_row(client, _connect(client)), dict)


def test_a_reset_restores_the_file_stubs_and_removes_the_apis(filed):
    client, _ = filed
    for i in range(3):
        _call(client, "companyList", [], i)  # the list used up
    api = _stub(client, method="resetPass", result={"msg": "from the test"})
    assert api["id"] == 4
    assert _call(client, "resetPass", ["admin"]).get_json()["result"] == {
        "msg": "from the test"
    }  # the API's first
    assert client.post("/_mockspice/reset").status_code == 200
    listed = client.get(STUBS).get_json()["stubs"]
    assert [(s["id"], s["origin"], s["hits"], s["times_left"]) for s in listed] == [
        (1, "file", 0, 2),
        (2, "file", 0, None),
        (3, "file", 0, None),
    ]
    assert _call(client, "companyList", []).status_code == 500  # the list from its start


def test_delete_removes_the_file_stubs_until_the_next_reset(filed):
    client, _ = filed
    assert client.delete(STUBS).get_json() == {"status": "cleared", "count": 3}
    assert _call(client, "resetPass", ["admin"]).get_json()["result"] == {"msg": "sent"}
    client.post("/_mockspice/reset")
    assert client.get(STUBS).get_json()["count"] == 3


def test_a_files_pass_through_stub_for_a_method_without_rows_fails_the_start(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("- {method: a, result: 1}\n- method: connect\n  single_row_object: true\n")
    with pytest.raises(StubsError) as info:
        create_app(
            Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db"), "stubs": str(path)})
        )
    assert str(info.value) == (
        f"{path} line 2: stub[1].method: 'method': a pass-through stub answers through the "
        "real method, and 'connect' is none of the API's methods that answer rows (the "
        "single-row quirk applies only to those)"
    )


# --- a real server, two workers ------------------------------------------------------------------


def test_two_workers_count_hits_and_keep_the_answer_order(tmp_path):
    """Calls from eight connections at once to a server of two worker processes: each answer of
    the list is given exactly once, the hits add up, and a reset over HTTP restores the file's
    stubs (loaded from the MOCKSPICE_STUBS variable)."""
    path = tmp_path / "stubs.json"
    path.write_text(
        json.dumps(
            [
                {"method": "counted", "answers": [{"result": i} for i in range(40)], "then": "end"},
                {"method": "counted", "result": "after"},
            ]
        )
    )
    server = LiveServer("--workers", "2", env={"MOCKSPICE_STUBS": str(path)})
    try:
        results: list = []
        lock = threading.Lock()

        def calls() -> None:
            with requests.Session() as http:  # a connection of its own: the workers share the calls
                for i in range(10):
                    reply = http.post(
                        server.url + API,
                        json={"jsonrpc": "2.0", "method": "counted", "id": i},
                        timeout=10,
                    )
                    with lock:
                        results.append(reply.json()["result"])

        threads = [threading.Thread(target=calls) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r for r in results if r != "after") == list(range(40))
        assert Counter(results)["after"] == 40
        listed = server.get(STUBS).json()["stubs"]
        assert [(s["hits"], s["times_left"], s["origin"]) for s in listed] == [
            (40, 0, "file"),
            (40, None, "file"),
        ]
        assert server.request("POST", "/_mockspice/reset").status_code == 200
        assert [(s["hits"], s["times_left"]) for s in server.get(STUBS).json()["stubs"]] == [
            (0, 40),
            (0, None),
        ]
        assert (
            server.request(
                "POST", API, json={"jsonrpc": "2.0", "method": "counted", "id": 1}
            ).json()["result"]
            == 0
        )
    finally:
        assert server.stop() == 0


def test_a_sessions_quirk_holds_on_every_worker(live):
    session = live.request(
        "POST", API, json={"method": "connect", "params": ["admin", "admin"], "id": 1}
    ).json()["result"]["session"]
    body = json.dumps({"method": ONE_ROW[0], "params": [*ONE_ROW[1], session], "id": 7})

    def shapes() -> set:
        with requests.Session() as http:
            return {
                type(
                    http.post(
                        live.url + API,
                        data=body,
                        headers={"Content-Type": "application/json"},
                        timeout=10,
                    ).json()["result"]
                )
                for _ in range(12)
            }

    assert shapes() == {list}
    assert (
        live.request("PUT", SESSIONS + session, json={"single_row_object": True}).status_code == 200
    )
    assert live.request("GET", SESSIONS + session).json()["single_row_object"] is True
    assert shapes() == {dict}  # no worker gives the answer it kept in the old shape
