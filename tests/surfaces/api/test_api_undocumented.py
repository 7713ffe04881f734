"""The methods whose meaning is not public: session, shape, a documented plausible answer, stubs."""

from __future__ import annotations

import pytest

from mockspice.app import create_app
from mockspice.settings import Settings
from mockspice.surfaces.api.methods.undocumented import ONE_OBJECT

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"

NO_RESULTS = {"msg": "no results"}
CONSTANT = [
    ("reviewLoad", NO_RESULTS),
    ("portalLoad", NO_RESULTS),
    ("businessRuleCheck", NO_RESULTS),
    ("businessRuleLoad", NO_RESULTS),
    ("processList", NO_RESULTS),
    ("createProcessIssue", {"msg": "success"}),
    ("saveReaderState", {"msg": "success"}),
    ("getProcessAccessList", NO_RESULTS),
    ("recipientSearch", NO_RESULTS),
    ("billingOverview", NO_RESULTS),
    ("getViews", NO_RESULTS),
    ("runReport", NO_RESULTS),
]
ALL = [name for name, _ in CONSTANT] + [
    "caseAggregate",
    "inContactCredentials",
    "setinContactCredentials",
]


def _connect(client, user: str = "admin", password: str = "admin") -> str:
    reply = client.post(
        API, json={"method": "connect", "params": [user, password], "id": 1}
    ).get_json()
    return reply["result"]["session"]


def _call10(client, method: str, *params) -> dict:
    return client.post(API, json={"method": method, "params": list(params), "id": 5}).get_json()


def _call20(client, method: str, params) -> dict:
    return client.post(
        API, json={"jsonrpc": "2.0", "method": method, "params": params, "id": 5}
    ).get_json()


@pytest.fixture
def session(client) -> str:
    return _connect(client)


@pytest.mark.parametrize("name, answer", CONSTANT)
def test_documented_answer(client, session, name, answer):
    assert _call10(client, name, {"anything": "1"}, session) == {
        "result": answer,
        "error": None,
        "id": 5,
    }


@pytest.mark.parametrize("name", ALL)
def test_summary_says_stub_it(app, name):
    summary = app.extensions["mockspice"].registry.methods[name].summary
    assert summary.startswith("meaning not public; mockspice answers ")
    assert summary.endswith(
        "stub it (POST /_mockspice/rpc/stubs) for the answer your client expects."
    )


@pytest.mark.parametrize("name", ALL)
def test_session_is_checked(client, name):
    assert _call10(client, name, {})["error"].startswith("invalid session: no session id was given")
    reply = _call10(client, name, {}, "f" * 32)
    assert reply == {
        "result": None,
        "error": "invalid session: unknown session 'ffffffffffffffffffffffffffffffff'",
        "id": 5,
    }
    error = _call20(client, name, [{}, "f" * 32])["error"]
    assert error["code"] == -32001 and error["data"]["code"] == "invalid-session"


@pytest.mark.parametrize("name", ONE_OBJECT)
def test_one_object_methods_refuse_an_array(client, session, name):
    message = f"Only one object may be used for the {name} function. Arrays are not allowed."
    assert _call10(client, name, [{}, {}], session) == {"result": None, "error": message, "id": 5}
    error = _call20(client, name, [[{}], session])["error"]
    assert (error["code"], error["message"]) == (-32602, message)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("value, kind", [("text", "a string"), (7, "a number"), (None, "null")])
def test_a_non_object_is_refused(client, session, name, value, kind):
    reply = _call10(client, name, value, session)
    assert (
        reply["result"] is None
        and reply["error"] == f"{name}: parameter obj must be an object, not {kind}"
    )


@pytest.mark.parametrize("name", sorted(set(ALL) - set(ONE_OBJECT)))
def test_an_array_to_the_others_is_the_shape_error(client, session, name):
    reply = _call10(client, name, [{}], session)
    assert reply["error"] == f"{name}: parameter obj must be an object, not an array"


def test_portal_sessions_may_call_them(client):
    portal = client.post(
        API, json={"method": "portalconnect", "params": ["jdoe"], "id": 1}
    ).get_json()
    assert _call10(client, "portalLoad", {}, portal["result"]["session"])["result"] == NO_RESULTS


def test_case_aggregate_counts_the_company_cases_by_status(client, session):
    rows = _call10(client, "caseAggregate", {}, session)["result"]
    assert rows and all(set(r) == {"statusid", "statuslabel", "count"} for r in rows)
    assert all(isinstance(v, str) for r in rows for v in r.values())
    cases = client.get("/_mockspice/state").get_json()["companies"][0]["cases"]
    assert sum(int(r["count"]) for r in rows) == len(cases)
    brand_one = _call10(client, "caseAggregate", {"brandid": "1"}, session)["result"]
    assert sum(int(r["count"]) for r in brand_one) == len([c for c in cases if c["brand"] == 1])
    assert (
        len(_call10(client, "caseAggregate", {"brandid": 3}, session)["result"]) == 1
    )  # a list, by default
    assert _call10(client, "caseAggregate", {"brandid": "999"}, session)["result"] == NO_RESULTS
    assert _call10(client, "caseAggregate", {"brandid": "x"}, session)["error"].startswith(
        "caseAggregate: 'brandid' must be an id (a whole number from 1 to 2147483647)"
    )


def test_case_aggregate_single_row_quirk(tmp_path):
    settings = Settings.load(
        environ={}, overrides={"db": str(tmp_path / "quirk.db"), "rpc_single_row_object": True}
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        company = client.get("/_mockspice/state").get_json()["companies"][0]
        cases = [c for c in company["cases"] if c["brand"] == 3]
        assert len(cases) == 1  # the demo's brand 3 has one case: one row
        label = next(s["label"] for s in company["statuses"] if s["id"] == cases[0]["status"])
        assert _call10(client, "caseAggregate", {"brandid": 3}, _connect(client))["result"] == {
            "statusid": str(cases[0]["status"]),
            "statuslabel": label,
            "count": "1",
        }
    finally:
        app.extensions["mockspice"].prepared.cleanup()


def test_incontact_credentials_are_kept_per_brand(client, session):
    assert _call10(client, "inContactCredentials", {}, session)["result"] == NO_RESULTS
    given = {
        "brandid": "1",
        "username": "agent@acme",
        "password": "s3cret+x",
        "businessunit": 4600123,
    }
    assert _call10(client, "setinContactCredentials", given, session)["result"] == {
        "msg": "success"
    }
    expected = {
        "brandid": "1",
        "username": "agent@acme",
        "password": "s3cret+x",
        "businessunit": "4600123",
    }
    assert _call10(client, "inContactCredentials", {"brandid": 1}, session)["result"] == expected
    assert (
        _call10(client, "inContactCredentials", {}, session)["result"] == expected
    )  # brand 1 by default
    assert (
        _call10(client, "inContactCredentials", {"brandid": "2"}, session)["result"] == NO_RESULTS
    )
    # Kept as the brand's secrets: in the dataset masked, not readable by query, replaced as a
    # whole.
    brand = client.get("/_mockspice/state").get_json()["companies"][0]["brands"][0]
    assert brand["data"]["inContact:username"] == brand["data"]["inContact:password"] == "********"
    refused = _call10(client, "query", "select DataText from 1_tblBrandSecret", session)
    assert (
        refused["error"]
        == "query refused: only reading is allowed (the statement would READ 1_tblBrandSecret)"
    )
    assert (
        _call10(
            client,
            "query",
            "select DataText from 1_tblBrandData where DataLabel like 'inContact%'",
            session,
        )["result"]
        == NO_RESULTS
    )
    _call10(client, "setinContactCredentials", {"username": "other"}, session)
    assert _call10(client, "inContactCredentials", {}, session)["result"] == {
        "brandid": "1",
        "username": "other",
    }
    # Per company: company 2's brand 1 has none.
    globex = _connect(client, "globex.admin", "admin")
    assert _call10(client, "inContactCredentials", {}, globex)["result"] == NO_RESULTS
    client.post("/_mockspice/reset")
    assert _call10(client, "inContactCredentials", {}, _connect(client))["result"] == NO_RESULTS


@pytest.mark.parametrize(
    "obj, message",
    [
        ({}, "setinContactCredentials: give the credentials as keys of the object"),
        ({"brandid": "1"}, "setinContactCredentials: give the credentials"),
        ({"user name": "x"}, "setinContactCredentials: 'user name' is not a key"),
        ({"username": {"nested": 1}}, "setinContactCredentials: username must be text"),
        ({"username": True}, "setinContactCredentials: username must be text"),
        ({"username": "x" * 5000}, "setinContactCredentials: username must be text"),
        (
            {"brandid": 0, "username": "x"},
            (
                "setinContactCredentials: 'brandid' must be an id (a whole number from 1 to "
                "2147483647), not 0"
            ),
        ),
        ({"brandid": 99, "username": "x"}, "brand 99 does not exist in company 1"),
    ],
)
def test_bad_incontact_credentials(client, session, obj, message):
    reply = _call10(client, "setinContactCredentials", obj, session)
    assert reply["result"] is None and reply["error"].startswith(message)
    assert _call10(client, "inContactCredentials", {}, session)["result"] == NO_RESULTS


def test_unknown_brand_is_404_code(client, session):
    error = _call20(client, "inContactCredentials", [{"brandid": 99}, session])["error"]
    assert error["code"] == -32004 and error["data"]["code"] == "unknown-brand"


def test_a_stub_gives_the_answer_a_client_expects(client, session):
    client.post(
        "/_mockspice/rpc/stubs",
        json={
            "method": "getViews",
            "params_match": [{"agentid": "4"}],
            "result": [{"viewid": "1", "viewlabel": "My open cases"}],
        },
    )
    assert _call10(client, "getViews", {"agentid": "4"}, session)["result"] == [
        {"viewid": "1", "viewlabel": "My open cases"}
    ]
    assert _call10(client, "getViews", {"agentid": "5"}, session)["result"] == NO_RESULTS


def test_named_params_with_session(client, session):
    reply = _call20(client, "runReport", {"obj": {"report": "daily"}, "session": session})
    assert reply == {"jsonrpc": "2.0", "result": NO_RESULTS, "id": 5}
