"""caseLoad, issueLoad, load of a case and case/response records over HTTP; concurrency over a real
server.
"""

from __future__ import annotations

import json
import threading

import pytest
import requests
from partner_servers import serving
from spiceclients import API, Rpc20

from mockspice.domain.case_search import ROW_KEYS
from mockspice.partner import create_partner_app


def test_client_rpc(client, login="admin", password="admin") -> Rpc20:
    """A 2.0 client on Flask's test client with a fresh session."""
    rpc = Rpc20(lambda body: client.post(API, json=body).get_json())
    rpc.session = rpc.result("connect", login, password)["session"]
    return rpc


test_client_rpc.__test__ = False  # a helper, not a test


@pytest.fixture
def rpc(client) -> Rpc20:
    """The administrator of company 1 (level 4)."""
    return test_client_rpc(client)


@pytest.fixture
def partner(client):
    """A reference partner on a free loopback port, wired as brand 1's update and case web calls."""
    app = create_partner_app()
    with serving(app) as url:
        assert (
            client.put(
                "/_mockspice/brands/1/1/webcalls",
                json={
                    "update_url": f"{url}/update",
                    "case_url": f"{url}/case",
                    "int_user": "spice",
                    "int_pass": "secret",
                },
            ).status_code
            == 200
        )
        yield app.extensions["partner"]["book"]


def ids(rows):
    """(case id, response id) of each row."""
    return [(int(r["cid"]), int(r["id"])) for r in rows]


# --- caseLoad ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "search, expected",
    [
        ({"id": 6344}, [(6344, 7905), (6344, 7906)]),
        ({"caseid": "6345"}, [(6345, 7910)]),
        ({"userkey": "jdoe"}, [(6344, 7905), (6344, 7906), (6351, 7916)]),
        ({"status": 2}, [(6344, 7905), (6344, 7906), (6348, 7913)]),
        ({"status": "in progress"}, [(6344, 7905), (6344, 7906), (6348, 7913)]),
        ({"issue": "Refund"}, [(6347, 7912)]),
        ({"issue": "5"}, [(6346, 7911)]),
        ({"callid": "CALL-0001"}, [(6344, 7905), (6344, 7906)]),
        ({"brand": 2}, [(6348, 7913), (6349, 7914)]),
        ({"brandid": "2", "status": 5}, [(6349, 7914)]),
        ({"userkey": "jdoe", "status": 3}, [(6351, 7916)]),
        (
            {"userkey": "jdoe", "callid": ""},
            [(6344, 7905), (6344, 7906), (6351, 7916)],
        ),  # empty: not a criterion
    ],
)
def test_case_load_finds(rpc, search, expected):
    rows = rpc.result("caseLoad", search)
    assert ids(rows) == expected
    for row in rows:
        assert tuple(row) == ROW_KEYS and all(v is None or isinstance(v, str) for v in row.values())


def test_case_load_row(rpc):
    row = rpc.result("caseLoad", {"id": 6344})[1]
    assert row == {
        "cid": "6344",
        "id": "7906",
        "userkey": "jdoe",
        "brandid": "1",
        "tier": "1",
        "date": "2006-01-27 13:27:51",
        "status": "In Progress",
        "sid": "2",
        "issue": "Browsing",
        "issueid": "1",
        "agent": "Doe, John",
        "agentid": "1",
        "aname": "Doe, John",
        "anameid": "1",
        "callid": "",
        "journal": "13:28:41 - adding a second ticket for case dump testing ",
        "email": "",
        "article": "",
        "treepath": "",
        "events": "",
        "casestatus": "In Progress",
        "casesid": "2",
        "caseclosed": "0",
        "casecreated": "2006-01-27 13:20:02",
        "casecallid": "CALL-0001",
    }


@pytest.mark.parametrize(
    "search", [{"userkey": "nobody"}, {"callid": "NOPE"}, {"id": 1}, {"brand": 3, "status": 4}]
)
def test_case_load_nothing(rpc, search):
    assert rpc.result("caseLoad", search) == {"msg": "no results"}


@pytest.mark.parametrize(
    "search, code, fragment",
    [
        ({}, -32602, "caseLoad needs at least one criterion"),
        ({"case": 6344}, -32602, "unknown key 'case' in a caseLoad record"),
        ({"status": "Sleeping"}, -32004, "company 1 has no status labelled 'Sleeping'"),
        ({"status": 99}, -32004, "company 1 has no status 99"),
        ({"id": "abc"}, -32602, "'id' must be an id"),
        ({"id": 1, "caseid": 2}, -32602, "the same criterion"),
        ({"brand": 9}, -32004, "brand 9 does not exist in company 1"),
    ],
)
def test_case_load_errors(rpc, search, code, fragment):
    error = rpc.error("caseLoad", search)
    assert error["code"] == code and fragment in error["message"]


def test_case_load_one_point_zero_form(client, rpc):
    body = "request=" + json.dumps(
        {"method": "caseLoad", "params": [{"userkey": "asmith"}, rpc.session], "id": 7}
    )
    reply = client.post(
        API, data=body.encode(), content_type="application/x-www-form-urlencoded"
    ).get_json()
    assert reply["error"] is None and reply["id"] == 7 and ids(reply["result"]) == [(6345, 7910)]
    body = "request=" + json.dumps({"method": "caseLoad", "params": [{}, rpc.session], "id": 8})
    reply = client.post(
        API, data=body.encode(), content_type="application/x-www-form-urlencoded"
    ).get_json()
    assert reply["result"] is None and reply["error"].startswith(
        "caseLoad needs at least one criterion"
    )


def test_portal_case_load_sees_own_cases(client):
    portal = Rpc20(lambda body: client.post(API, json=body).get_json())
    portal.session = portal.result("portalconnect", "jdoe")["session"]
    assert ids(portal.result("caseLoad", {"status": 2})) == [(6344, 7905), (6344, 7906)]
    assert portal.result("caseLoad", {"id": 6345}) == {"msg": "no results"}
    assert (
        "may only use its own account"
        in portal.error("load", {"type": "case", "id": 6345})["message"]
    )
    created = portal.result(
        "create", [{"type": "response", "caseid": 6344, "journal": "from the portal"}]
    )
    assert created["records"][0]["caseid"] == "6344"
    assert portal.error("create", [{"type": "response", "caseid": 6345}])["code"] == -32002


# --- issueLoad --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "search, expected",
    [
        (
            {},
            [
                ("1", "Browsing", None),
                ("2", "Billing", None),
                ("3", "Refund", "2"),
                ("4", "Technical", None),
                ("5", "Login problem", "4"),
            ],
        ),
        (
            {"parentid": 0},
            [("1", "Browsing", None), ("2", "Billing", None), ("4", "Technical", None)],
        ),
        ({"parentid": "4"}, [("5", "Login problem", "4")]),
        ({"issueid": 3}, [("3", "Refund", "2")]),
    ],
)
def test_issue_load(rpc, search, expected):
    assert [
        (r["issueid"], r["issuelabel"], r["parentid"]) for r in rpc.result("issueLoad", search)
    ] == expected


def test_issue_load_is_per_company(client):
    globex = test_client_rpc(client, "globex.admin", "admin")
    assert [r["issuelabel"] for r in globex.result("issueLoad", {})] == ["New service", "Outage"]


@pytest.mark.parametrize(
    "search, code, fragment",
    [
        ({"label": "x"}, -32602, "unknown key 'label' in an issueLoad record"),
        ({"parentid": "x"}, -32602, "'parentid' must be an id"),
    ],
)
def test_issue_load_errors(rpc, search, code, fragment):
    error = rpc.error("issueLoad", search)
    assert error["code"] == code and fragment in error["message"]
    assert rpc.result("issueLoad", {"issueid": 99}) == {"msg": "no results"}


# --- load of a case ---------------------------------------------------------------------------


def test_load_case(rpc):
    case = rpc.result("load", {"type": "case", "id": "6346"})
    assert {
        k: case[k]
        for k in (
            "type",
            "id",
            "userkey",
            "brandid",
            "status",
            "sid",
            "closed",
            "issue",
            "issueid",
            "tier",
            "aname",
            "callid",
            "created",
        )
    } == {
        "type": "case",
        "id": "6346",
        "userkey": "bjones",
        "brandid": "1",
        "status": "Waiting on Customer",
        "sid": "3",
        "closed": "0",
        "issue": "Login problem",
        "issueid": "5",
        "tier": "2",
        "aname": "Super, Tom",
        "callid": "",
        "created": "2024-03-02 10:15:00",
    }
    [response] = case["responses"]
    assert (response["id"], response["article"], response["agent"]) == (
        "7911",
        "KB-17 Resetting your password",
        "Super, Tom",
    )
    assert rpc.result("load", {"caseid": 6346}) == case  # the type inferred from the keys


@pytest.mark.parametrize(
    "record, code, fragment",
    [
        ({"type": "case", "id": 1}, -32004, "company 1 has no case 1"),
        ({"type": "case"}, -32602, "a load case record needs 'id'"),
        ({"type": "case", "id": 6344, "userkey": "jdoe"}, -32602, "unknown key 'userkey'"),
    ],
)
def test_load_case_errors(rpc, record, code, fragment):
    error = rpc.error("load", record)
    assert error["code"] == code and fragment in error["message"]


# --- case and response records ----------------------------------------------------------------


def test_create_case_defaults_and_first_response(rpc):
    result = rpc.result(
        "create",
        [
            {
                "type": "case",
                "userkey": "asmith",
                "journal": "Called about a refund",
                "callid": "C-9",
            }
        ],
    )
    [record] = result["records"]
    assert record == {
        "type": "case",
        "id": "6352",
        "responseid": "7917",
        "userkey": "asmith",
        "brandid": "1",
    }
    [row] = rpc.result("caseLoad", {"id": record["id"]})
    assert (
        row["status"],
        row["tier"],
        row["agent"],
        row["agentid"],
        row["aname"],
        row["callid"],
        row["journal"],
    ) == ("New", "1", "Admin, Ada", "4", None, "C-9", "Called about a refund")
    assert rpc.result("caseLoad", {"callid": "C-9"}) == [row]


def test_create_case_with_labels_and_response_moves_the_case(rpc):
    [case] = rpc.result(
        "create",
        [
            {
                "type": "case",
                "userkey": "kmoore",
                "status": "In Progress",
                "issue": "refund",
                "tier": "2",
                "agent": 3,
                "email": "Dear Kevin",
            }
        ],
    )["records"]
    [response] = rpc.result(
        "create",
        [
            {
                "type": "response",
                "caseid": case["id"],
                "status": 4,
                "tier": 3,
                "journal": "Refund done",
                "issue": None,
            }
        ],
    )["records"]
    assert response == {
        "type": "response",
        "id": str(int(case["responseid"]) + 1),
        "caseid": case["id"],
        "userkey": "kmoore",
    }
    first, second = rpc.result("caseLoad", {"id": case["id"]})
    assert (first["status"], first["issue"], first["tier"], first["aname"], first["email"]) == (
        "In Progress",
        "Refund",
        "2",
        "Super, Tom",
        "Dear Kevin",
    )
    assert (second["status"], second["issue"], second["tier"], second["journal"]) == (
        "Resolved",
        None,
        "3",
        "Refund done",
    )
    assert (second["casestatus"], second["caseclosed"]) == (
        "Resolved",
        "1",
    )  # the case follows its newest response
    assert (
        rpc.result("load", {"type": "account", "userkey": "kmoore"})["cases"][0]["status"]
        == "Resolved"
    )


def test_update_case_and_response(rpc):
    rpc.result(
        "update",
        [
            {
                "type": "case",
                "id": 6345,
                "status": "Waiting on Customer",
                "agent": 2,
                "callid": "C-1",
            },
            {"type": "response", "id": 7910, "journal": "Rewritten", "tier": 2},
        ],
    )
    [row] = rpc.result("caseLoad", {"id": 6345})
    assert (
        row["casestatus"],
        row["aname"],
        row["casecallid"],
        row["journal"],
        row["tier"],
        row["status"],
    ) == ("Waiting on Customer", "Powell, Rosa", "C-1", "Rewritten", "2", "New")
    rpc.result("update", [{"type": "case", "id": 6345, "agent": None, "issue": None}])
    case = rpc.result("load", {"type": "case", "id": 6345})
    assert (case["aname"], case["anameid"], case["issueid"]) == (None, None, None)


def test_delete_response_and_case(client, rpc):
    assert rpc.error("delete", [{"type": "response", "id": 7910}])["message"] == (
        "record 0 (response): response 7910 is the only response of case 6345; delete the case "
        "instead; "
        "nothing was written"
    )
    rpc.result("delete", [{"type": "response", "id": 7905}])
    assert ids(rpc.result("caseLoad", {"id": 6344})) == [(6344, 7906)]
    assert rpc.result("delete", [{"type": "case", "id": 6344}])["records"] == [
        {"type": "case", "id": "6344", "userkey": "jdoe", "brandid": "1"}
    ]
    assert rpc.result("caseLoad", {"id": 6344}) == {"msg": "no results"}
    cases = client.get("/_mockspice/state").get_json()["companies"][0]["cases"]
    assert 6344 not in [c["id"] for c in cases]


@pytest.mark.parametrize(
    "action, record, code, fragment",
    [
        (
            "create",
            {"type": "response", "caseid": 1, "journal": "x"},
            -32004,
            "company 1 has no case 1",
        ),
        (
            "create",
            {"type": "response", "journal": "x"},
            -32602,
            "a response record needs 'caseid'",
        ),
        (
            "create",
            {"type": "case", "userkey": "jdoe", "tier": 7},
            -32602,
            "'tier' must be 1, 2, 3 or 4",
        ),
        (
            "create",
            {"type": "case", "userkey": "jdoe", "agent": 6},
            -32004,
            "company 1 has no agent 6",
        ),
        ("create", {"type": "case", "userkey": "jdoe", "brand": 2}, -32602, "belongs to brand 1"),
        (
            "create",
            {"type": "case", "userkey": "jdoe", "issue": "Weather"},
            -32004,
            "no issue labelled 'Weather'",
        ),
        (
            "create",
            {"type": "case", "userkey": "jdoe", "journal": ["x"]},
            -32602,
            "'journal' must be text",
        ),
        (
            "create",
            {"type": "case", "userkey": "jdoe", "created": "2020-01-01"},
            -32602,
            "unknown key 'created'",
        ),
        ("update", {"type": "case", "id": 6344}, -32602, "a case update needs something to change"),
        (
            "update",
            {"type": "response", "id": 1, "journal": "x"},
            -32004,
            "company 1 has no response 1",
        ),
        (
            "update",
            {"type": "response", "id": 7905, "caseid": 6345},
            -32602,
            "unknown key 'caseid'",
        ),
        ("delete", {"type": "case", "id": "x"}, -32602, "'id' must be an id"),
    ],
)
def test_case_record_errors_write_nothing(client, rpc, action, record, code, fragment):
    before = client.get("/_mockspice/state").get_json()
    good = {
        "create": {"type": "response", "caseid": 6345, "journal": "ok"},
        "update": {"type": "response", "id": 7910, "journal": "ok"},
        "delete": {"type": "response", "id": 7905},
    }[action]
    error = rpc.error(action, [good, record])
    assert (
        error["code"] == code
        and fragment in error["message"]
        and error["message"].startswith("record 1")
    )
    assert client.get("/_mockspice/state").get_json() == before


def test_new_response_fires_the_case_web_call(client, rpc, partner):
    result = rpc.result(
        "create", [{"type": "response", "caseid": 6344, "journal": "third ticket", "status": 3}]
    )
    [webcall] = result["webcalls"]
    assert (webcall["kind"], webcall["outcome"]) == ("case", "ok")
    journal = client.get("/_mockspice/journal?kind=api").get_json()["entries"]
    assert journal[-1]["webcalls"] == [int(webcall["id"])]
    [ticket] = partner.tickets("jdoe")
    assert (
        ticket["cid"],
        ticket["id"],
        ticket["journal"],
        ticket["status"],
        ticket["sid"],
        ticket["agent"],
    ) == (
        "6344",
        result["records"][0]["id"],
        "third ticket",
        "Waiting on Customer",
        "3",
        "Admin, Ada",
    )
    # Changing a case or a response is no new response: no case web call.
    assert rpc.result("update", [{"type": "case", "id": 6344, "tier": 2}])["webcalls"] == []


# --- concurrency: 8 threads x 200 calls over 2 server workers ---------------------------------

THREADS, CALLS = 8, 200


@pytest.mark.slow
def test_concurrent_mixed_calls_lose_nothing(live):
    def post(body):
        response = requests.post(live.url + API, json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    admin = Rpc20(post)
    admin.session = admin.result("connect", "admin", "admin")["session"]
    setup = admin.result(
        "create",
        [
            record
            for t in range(THREADS)
            for record in (
                {
                    "type": "account",
                    "userkey": f"load{t}",
                    "brand": 1,
                    "contacts": [{"firstname": f"T{t}"}],
                    "fields": {"1": "start"},
                },
                {"type": "case", "userkey": f"load{t}", "journal": "start"},
            )
        ],
    )
    case_ids = [r["id"] for r in setup["records"] if r["type"] == "case"]
    errors: list[str] = []
    outcome: dict[int, dict] = {}

    def worker(t: int) -> None:
        session = requests.Session()

        def post_form(body):  # the OpenACD way for half of the threads, JSON bodies for the others
            if t % 2:
                response = session.post(live.url + API, json=body, timeout=30)
            else:
                body = {k: v for k, v in body.items() if k != "jsonrpc"}
                response = session.post(
                    live.url + API,
                    data=("request=" + json.dumps(body)).encode(),
                    timeout=30,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                reply = response.json()
                reply["jsonrpc"] = "2.0"  # the 1.0 reply, read the 2.0 way
                if reply.get("error") is None:
                    reply.pop("error", None)
                return reply
            return response.json()

        rpc = Rpc20(post_form)
        counts = {"responses": 0, "contacts": 0, "last": "start"}
        try:
            rpc.session = rpc.result("connect", "admin", "admin")["session"]
            for i in range(CALLS):
                step = i % 4
                if step == 0:
                    value = f"{t}-{i}"
                    rpc.result(
                        "update",
                        [{"type": "fieldvalue", "userkey": f"load{t}", "id": 1, "value": value}],
                    )
                    counts["last"] = value
                elif step == 1:
                    rpc.result(
                        "create",
                        [{"type": "response", "caseid": case_ids[t], "journal": f"{t}-{i}"}],
                    )
                    counts["responses"] += 1
                elif step == 2:
                    account = rpc.result("load", {"type": "account", "userkey": f"load{t}"})
                    assert (
                        account["fields"][0]["value"] == counts["last"]
                    )  # read your own write, any worker
                else:
                    rpc.result(
                        "create", [{"type": "contact", "userkey": f"load{t}", "firstname": f"C{i}"}]
                    )
                    counts["contacts"] += 1
        except Exception as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(f"thread {t}: {exc!r}"[:500])
        outcome[t] = counts

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    all_responses = []
    for t in range(THREADS):
        account = admin.result("load", {"type": "account", "userkey": f"load{t}"})
        assert account["fields"][0]["value"] == outcome[t]["last"]
        assert [c["position"] for c in account["contacts"]] == [
            str(p) for p in range(outcome[t]["contacts"] + 1)
        ]
        rows = admin.result("caseLoad", {"id": case_ids[t]})
        assert len(rows) == outcome[t]["responses"] + 1
        assert [r["journal"] for r in rows[1:]] == [f"{t}-{i}" for i in range(1, CALLS, 4)]
        all_responses += [r["id"] for r in rows]
    assert len(set(all_responses)) == len(all_responses)
    assert "Traceback" not in "".join(live.log)
