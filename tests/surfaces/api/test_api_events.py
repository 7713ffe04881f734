"""Scheduled events, event categories and alerts through the real API transport."""

from __future__ import annotations

import pytest
from spiceclients import API, OpenACD

STATE = "/_mockspice/state"
EVENT_1 = {
    "eventid": "1",
    "caseid": "6344",
    "categoryid": "1",
    "categorylabel": "Call back",
    "title": "Call John Doe back about browsing",
    "starts": "2006-01-28 09:00:00",
    "ends": "2006-01-28 09:15:00",
    "notes": "He asked for a call in the morning.",
    "agentid": "1",
}


def rpc20(client, session: str, method: str, params: list) -> dict:
    """One JSON-RPC 2.0 call with a JSON body, the session appended."""
    response = client.post(
        API, json={"jsonrpc": "2.0", "method": method, "params": [*params, session], "id": 7}
    )
    assert response.status_code == 200
    return response.get_json()


def company(client, company_id: int) -> dict:
    return next(c for c in client.get(STATE).get_json()["companies"] if c["id"] == company_id)


# --- categories and events ------------------------------------------------------------------


def test_event_category(client):
    spice = OpenACD(client, "jdoe.agent")
    assert spice.result("eventCategory", {}) == [
        {"categoryid": "1", "categorylabel": "Call back"},
        {"categoryid": "2", "categorylabel": "Meeting"},
        {"categoryid": "3", "categorylabel": "Maintenance"},
    ]
    assert spice.result("eventCategory", {"categoryid": "3"}) == [
        {"categoryid": "3", "categorylabel": "Maintenance"}
    ]
    assert spice.result("eventCategory", {"categoryid": 9}) == {"msg": "no results"}
    assert OpenACD(client, "lvance").result("eventCategory", {}) == [
        {"categoryid": "1", "categorylabel": "Site visit"}
    ]
    assert (
        OpenACD(client, "admin").result("eventCategory", {"companyid": 2})[0]["categorylabel"]
        == "Site visit"
    )


@pytest.mark.parametrize(
    "filters, ids",
    [
        ({}, ["1", "2", "3"]),  # by start time
        ({"caseid": 6344}, ["1"]),
        ({"caseid": "6345"}, None),
        ({"categoryid": 1}, ["1", "2"]),
        ({"agentid": 4}, ["2"]),
        ({"eventid": "3"}, ["3"]),
        ({"from": "2024-01-01"}, ["2", "3"]),
        ({"from": "2024-01-01", "to": "2024-12-31 23:59:59"}, ["2"]),
        ({"to": "2006-01-28T09:00:00"}, ["1"]),
    ],
)
def test_event_load(client, filters, ids):
    reply = OpenACD(client, "jdoe.agent").result("eventLoad", filters)
    if ids is None:
        assert reply == {"msg": "no results"}
    else:
        assert [r["eventid"] for r in reply] == ids
        assert all(set(r) == set(EVENT_1) for r in reply)


def test_the_event_on_case_6344(client):
    assert OpenACD(client, "jdoe.agent").result("eventLoad", {"caseid": 6344}) == [EVENT_1]
    event = OpenACD(client, "tsuper").result("eventLoad", {"eventid": 3})[0]
    assert (event["caseid"], event["agentid"]) == (None, None)


def test_events_of_another_company(client):
    assert [e["caseid"] for e in OpenACD(client, "mortiz").result("eventLoad", {})] == ["101"]
    assert (
        OpenACD(client, "admin").result("eventLoad", {"companyid": "2"})[0]["title"]
        == "Technician visit at Maria Clark's"
    )


def test_event_create_update_delete(client):
    spice = OpenACD(client, "tsuper")
    [row] = spice.result(
        "eventCreate",
        {
            "categoryid": 2,
            "title": "Review with Bob",
            "caseid": "6346",
            "starts": "2024-03-05T10:00:00Z",
            "ends": "2024-03-05 10:30",
        },
    )
    assert row == {
        "eventid": "4",
        "caseid": "6346",
        "categoryid": "2",
        "categorylabel": "Meeting",
        "title": "Review with Bob",
        "starts": "2024-03-05 10:00:00",
        "ends": "2024-03-05 10:30:00",
        "notes": "",
        "agentid": "3",
    }  # the session's agent by default
    assert company(client, 1)["events"][3] == {
        "id": 4,
        "case": 6346,
        "category": 2,
        "title": "Review with Bob",
        "starts": "2024-03-05 10:00:00",
        "ends": "2024-03-05 10:30:00",
        "notes": "",
        "agent": 3,
    }
    [row] = spice.result(
        "updateEvent",
        {"eventid": 4, "notes": "Bring the logs.", "agentid": 2, "caseid": None, "ends": None},
    )
    assert (row["notes"], row["agentid"], row["caseid"], row["ends"], row["title"]) == (
        "Bring the logs.",
        "2",
        None,
        None,
        "Review with Bob",
    )
    assert company(client, 1)["events"][3]["case"] is None
    assert spice.result("eventDelete", {"eventid": "4"}) == {"msg": "success", "eventid": "4"}
    assert [e["id"] for e in company(client, 1)["events"]] == [1, 2, 3]
    assert spice.result("eventLoad", {"eventid": 4}) == {"msg": "no results"}


def test_event_create_in_another_company_as_admin(client):
    [row] = OpenACD(client, "admin").result(
        "eventCreate",
        {
            "companyid": 2,
            "categoryid": 1,
            "title": "Visit",
            "starts": "2024-06-01 08:00:00",
            "agentid": 8,
        },
    )
    assert (row["eventid"], row["agentid"]) == ("2", "8")
    assert [e["title"] for e in company(client, 2)["events"]] == [
        "Technician visit at Maria Clark's",
        "Visit",
    ]


# --- alerts --------------------------------------------------------------------------------


def test_alert_load(client):
    spice = OpenACD(client, "jdoe.agent")
    alerts = spice.result("alertLoad", {})
    assert [a["alertid"] for a in alerts] == ["1", "2"]
    assert alerts[1] == {
        "alertid": "2",
        "message": "Billing system back to normal.",
        "created": "2024-02-01 08:00:00",
        "expires": None,
        "active": "0",
    }
    assert [a["alertid"] for a in spice.result("alertLoad", {"active": "1"})] == ["1"]
    assert [a["alertid"] for a in spice.result("alertLoad", {"active": False})] == ["2"]
    assert spice.result("alertLoad", {"alertid": 9}) == {"msg": "no results"}
    assert OpenACD(client, "lvance").result("alertLoad", {})[0]["message"] == (
        "Outage in the north region; engineers on site."
    )


def test_current_alerts_leave_out_the_expired(client):
    spice = OpenACD(client, "admin")
    spice.result("createAlert", {"message": "Long gone", "expires": "2001-01-01 00:00:00"})
    spice.result("createAlert", {"message": "For ever", "expires": "9999-01-01 00:00:00"})
    current = [a["message"] for a in spice.result("alertLoad", {"current": 1})]
    assert (
        "For ever" in current
        and "Long gone" not in current
        and "Billing system back to normal." not in current
    )


def test_create_and_delete_alert(client):
    spice = OpenACD(client, "jdoe.agent")
    [row] = spice.result(
        "createAlert", {"message": "Storm warning", "expires": "2099-01-01T12:00:00"}
    )
    assert (row["alertid"], row["message"], row["expires"], row["active"]) == (
        "3",
        "Storm warning",
        "2099-01-01 12:00:00",
        "1",
    )
    assert len(row["created"]) == 19
    stored = company(client, 1)["alerts"][2]
    assert stored == {
        "id": 3,
        "message": "Storm warning",
        "created": row["created"],
        "expires": "2099-01-01 12:00:00",
        "active": True,
    }
    assert spice.result("deleteAlert", {"alertid": "3"}) == {"msg": "success", "alertid": "3"}
    assert [a["id"] for a in company(client, 1)["alerts"]] == [1, 2]
    [row] = spice.result("createAlert", {"message": "Drafted", "active": 0})
    assert row["active"] == "0" and company(client, 1)["alerts"][2]["active"] is False


def test_changes_survive_an_export_and_import(client):
    spice = OpenACD(client, "admin")
    spice.result(
        "eventCreate", {"categoryid": 3, "title": "Upgrade", "starts": "2025-01-01 00:00:00"}
    )
    spice.result("createAlert", {"message": "Upgrade tonight"})
    exported = client.get(STATE).get_json()
    assert client.put(STATE, json=exported).status_code == 200
    assert client.get(STATE).get_json() == exported


# --- every error --------------------------------------------------------------------------

ERRORS = [
    (
        "eventLoad",
        {"caseid": "x"},
        -32602,
        "eventLoad: 'caseid' must be an id (a whole number from 1 to 2147483647), not 'x'",
    ),
    (
        "eventLoad",
        {"to": "x" * 100},
        -32602,
        f"eventLoad: 'to' must be a date and time like 2006-01-27 13:27:51, not '{'x' * 59}...",
    ),
    (
        "eventLoad",
        {"from": "soon"},
        -32602,
        "eventLoad: from: must be a date and time like 2006-01-27 13:27:51, not 'soon'",
    ),
    ("eventLoad", {"companyid": 2}, -32004, "eventLoad: no company 2"),
    ("eventLoad", [], -32602, "eventLoad: parameter obj must be an object, not an array"),
    (
        "eventCreate",
        {"title": "T", "starts": "2024-01-01"},
        -32602,
        "eventCreate: 'categoryid' is required",
    ),
    (
        "eventCreate",
        {"categoryid": 1, "starts": "2024-01-01"},
        -32602,
        "eventCreate: 'title' is required",
    ),
    (
        "eventCreate",
        {"categoryid": 1, "title": " ", "starts": "2024-01-01"},
        -32602,
        "eventCreate: 'title' must not be empty",
    ),
    ("eventCreate", {"categoryid": 1, "title": "T"}, -32602, "eventCreate: 'starts' is required"),
    (
        "eventCreate",
        {"categoryid": 1, "title": "T", "starts": "2024-13-01"},
        -32602,
        "eventCreate: starts: must be a date and time like 2006-01-27 13:27:51, not '2024-13-01'",
    ),
    (
        "eventCreate",
        {"categoryid": 1, "title": "T", "starts": "2024-01-02", "ends": "2024-01-01"},
        -32602,
        "eventCreate: ends (2024-01-01 00:00:00) is before starts (2024-01-02 00:00:00)",
    ),
    (
        "eventCreate",
        {"categoryid": 9, "title": "T", "starts": "2024-01-01"},
        -32004,
        "eventCreate: company 1 has no event category 9",
    ),
    (
        "eventCreate",
        {"categoryid": 1, "title": "T", "starts": "2024-01-01", "caseid": 101},
        -32004,
        "eventCreate: company 1 has no case 101",
    ),
    (
        "eventCreate",
        {"categoryid": 1, "title": "T", "starts": "2024-01-01", "agentid": 7},
        -32004,
        "eventCreate: company 1 has no agent 7",
    ),
    (
        "eventCreate",
        {"categoryid": 1, "title": "T", "starts": "2024-01-01", "notes": ["x"]},
        -32602,
        "eventCreate: 'notes' must be text, not an array",
    ),
    ("updateEvent", {"title": "T"}, -32602, "updateEvent: 'eventid' is required"),
    (
        "updateEvent",
        {"eventid": 99, "title": "T"},
        -32004,
        "updateEvent: company 1 has no event 99",
    ),
    (
        "updateEvent",
        {"eventid": 1, "ends": "2000-01-01"},
        -32602,
        "updateEvent: ends (2000-01-01 00:00:00) is before starts (2006-01-28 09:00:00)",
    ),
    (
        "updateEvent",
        {"eventid": 1, "categoryid": 4},
        -32004,
        "updateEvent: company 1 has no event category 4",
    ),
    ("eventDelete", {}, -32602, "eventDelete: 'eventid' is required"),
    ("eventDelete", {"eventid": 99}, -32004, "eventDelete: company 1 has no event 99"),
    (
        "eventCategory",
        {"categoryid": 0},
        -32602,
        "eventCategory: 'categoryid' must be an id (a whole number from 1 to 2147483647), not 0",
    ),
    ("eventCategory", {"companyid": 2}, -32004, "eventCategory: no company 2"),
    (
        "alertLoad",
        {"current": "yes"},
        -32602,
        "alertLoad: 'current' must be yes or no (true/false, 1/0 or their text), not 'yes'",
    ),
    (
        "alertLoad",
        {"alertid": -1},
        -32602,
        "alertLoad: 'alertid' must be an id (a whole number from 1 to 2147483647), not -1",
    ),
    ("createAlert", {}, -32602, "createAlert: 'message' is required"),
    (
        "createAlert",
        {"message": "M", "expires": "never"},
        -32602,
        "createAlert: expires: must be a date and time like 2006-01-27 13:27:51, not 'never'",
    ),
    ("createAlert", {"message": "M", "companyid": 2}, -32004, "createAlert: no company 2"),
    ("deleteAlert", {}, -32602, "deleteAlert: 'alertid' is required"),
    ("deleteAlert", {"alertid": 9}, -32004, "deleteAlert: company 1 has no alert 9"),
]


@pytest.mark.parametrize(
    "method, obj, code, message", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)]
)
def test_errors(client, method, obj, code, message):
    before = client.get(STATE).get_json()
    spice = OpenACD(client, "tsuper")
    assert spice.error(method, obj) == message
    reply = rpc20(client, spice.session, method, [obj])
    assert reply["error"]["code"] == code and reply["error"]["message"] == message
    assert client.get(STATE).get_json() == before


@pytest.mark.parametrize(
    "method",
    [
        "eventLoad",
        "eventCreate",
        "updateEvent",
        "eventDelete",
        "eventCategory",
        "alertLoad",
        "createAlert",
        "deleteAlert",
    ],
)
def test_every_method_needs_a_session(client, method):
    reply = client.post(API, json={"method": method, "params": [{}], "id": 1}).get_json()
    assert reply == {
        "result": None,
        "error": "invalid session: no session id was given (send it as the last "
        "positional parameter)",
        "id": 1,
    }
