"""The control API through Flask's test client: health, reset, state, journal, token."""

from __future__ import annotations

import copy

import pytest

from mockspice.app import create_app
from mockspice.settings import Settings

POP = "/spiceinstall/integrations/telephony/telephonypop.php"


def test_health(client):
    body = client.get("/_mockspice/health").get_json()
    assert body["status"] == "ok" and body["version"] == "0.1.0" and body["edition"] == "enterprise"


def test_state_round_trip_and_reset(client):
    original = client.get("/_mockspice/state").get_json()
    changed = copy.deepcopy(original)
    changed["companies"][0]["brands"][0]["label"] = "Renamed Support"
    changed["companies"][0]["accounts"] = changed["companies"][0]["accounts"][:1]
    changed["companies"][0]["cases"] = [
        k for k in changed["companies"][0]["cases"] if k["userkey"] == "jdoe"
    ]
    kept = {k["id"] for k in changed["companies"][0]["cases"]}
    changed["companies"][0]["events"] = [
        e
        for e in changed["companies"][0].get("events", [])
        if e.get("case") in kept or e.get("case") is None
    ]
    put = client.put("/_mockspice/state", json=changed)
    assert put.status_code == 200
    assert put.get_json() == {
        "status": "loaded",
        "counts": {"companies": 2, "brands": 6, "accounts": 7, "cases": 4, "agents": 8},
    }
    assert client.get("/_mockspice/state").get_json() == changed
    pop = client.get(POP + "?company=1&brand=1&format=json").get_json()
    assert pop["brand_label"] == "Renamed Support"
    assert client.post("/_mockspice/reset").get_json() == {"status": "reset"}
    assert client.get("/_mockspice/state").get_json() == original
    assert client.get("/_mockspice/journal").get_json()["entries"] == []


def test_bad_state_is_refused_and_changes_nothing(client):
    before = client.get("/_mockspice/state").get_json()
    broken = copy.deepcopy(before)
    broken["companies"][0]["accounts"][1]["userkey"] = "jdoe"
    response = client.put("/_mockspice/state", json=broken)
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "bad-dataset",
        "message": (
            "request body: companies[0].accounts[1].userkey: duplicate userkey 'jdoe' (first at "
            "companies[0].accounts[0])"
        ),
    }
    assert client.get("/_mockspice/state").get_json() == before


def test_journal_lists_pops_and_can_be_cleared(client):
    client.get(POP + "?company=1&brand=1&callid=first")
    client.get(POP + "?company=1&brand=99&callid=second")
    body = client.get("/_mockspice/journal?kind=pop").get_json()
    assert [e["params"]["callid"] for e in body["entries"]] == ["first", "second"]
    assert [e["status"] for e in body["entries"]] == [200, 404]
    assert body["count"] == 2 and body["dropped"] == 0
    assert (
        client.get(f"/_mockspice/journal?since={body['entries'][0]['id']}").get_json()["count"] == 1
    )
    assert (
        client.get("/_mockspice/journal?limit=1").get_json()["entries"][0]["params"]["callid"]
        == "second"
    )
    assert client.delete("/_mockspice/journal").get_json() == {"status": "cleared"}
    assert client.get("/_mockspice/journal").get_json()["count"] == 0


def test_journal_since_an_iso_time(client):
    client.get(POP + "?company=1&brand=1")
    at = client.get("/_mockspice/journal").get_json()["entries"][0]["at"]
    assert client.get("/_mockspice/journal", query_string={"since": at}).get_json()["count"] == 1
    assert client.get("/_mockspice/journal?since=2999-01-01T00:00:00Z").get_json()["count"] == 0


def test_unknown_control_url_is_json_404(client):
    response = client.get("/_mockspice/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "not-found",
        "message": "no such URL: /_mockspice/nothing",
    }


def test_dashboard_links(client):
    page = client.get("/_mockspice/").get_data(as_text=True)
    assert 'href="health"' in page and "telephonypop.php?company=1&amp;brand=1" in page


@pytest.fixture
def guarded(tmp_path):
    app = create_app(
        Settings.load(
            environ={}, overrides={"db": str(tmp_path / "s.db"), "control_token": "s3cret"}
        )
    )
    yield app.test_client()
    app.extensions["mockspice"].prepared.cleanup()


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic s3cret", "s3cret", "Bearer"])
def test_token_is_required_when_set(guarded, header):
    headers = {"Authorization": header} if header else {}
    response = guarded.post("/_mockspice/reset", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == {
        "code": "unauthorized",
        "message": "the control API needs the header 'Authorization: Bearer <control_token>'",
    }


def test_token_opens_the_control_api_but_not_the_pop(guarded):
    assert (
        guarded.get("/_mockspice/health", headers={"Authorization": "Bearer s3cret"}).status_code
        == 200
    )
    assert guarded.get(POP + "?company=1&brand=1").status_code == 200
