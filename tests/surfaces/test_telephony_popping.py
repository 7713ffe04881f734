"""A pop this worker has planned is answered before Flask, exactly as the view answers it.

The first pop of a match goes through the view, which plans the answer; later ones are filled
before Flask sees them (``telephony.popping``).
"""

from __future__ import annotations

import re

import pytest

POP = "/spiceinstall/integrations/telephony/telephonypop.php"


@pytest.fixture
def reached_flask(app, monkeypatch) -> list[str]:
    """The query strings of the pops that reached Flask."""
    from flask import request

    seen: list[str] = []
    real = app.full_dispatch_request

    def counting():
        seen.append(request.query_string.decode())
        return real()

    monkeypatch.setattr(app, "full_dispatch_request", counting)
    return seen


def without_pop_id(data: bytes) -> bytes:
    return re.sub(rb'(pop_id"?:\s*|Screen pop |id="pop-id">)\d+', rb"\1N", data)


@pytest.mark.parametrize("query, headers", [
    ({"company": 1, "brand": 1, "ani": "+1 555 201 0001"}, {}),
    ({"company": 1, "brand": 1, "ani": "+1 555 201 0001", "format": "json"}, {}),
    ({"company": 1, "brand": 1, "ani": "5555555555", "callid": "<b>&'\"x"}, {}),
    ({"company": 1, "brand": 1, "ani": "5555555555", "callid": "c\u00e9-1"}, {"Accept": "application/json"}),
    ({"company": 1, "brand": 1}, {}),
    ({"company": 1, "brand": 1, "caseid": 1}, {}),
])
def test_a_planned_pop_skips_flask_and_answers_the_same(client, reached_flask, query, headers):
    answers = [client.get(POP, query_string=query, headers=headers) for _ in range(3)]
    assert len(reached_flask) == 1  # the first plans, through the view; the others fill the plan
    first, planned, direct = answers
    assert direct.status_code == planned.status_code == 200
    assert without_pop_id(direct.data) == without_pop_id(planned.data) == without_pop_id(first.data)
    for name in ("Content-Type", "Content-Security-Policy", "Content-Length"):
        assert direct.headers.get(name) == planned.headers.get(name), name
    entries = client.get("/_mockspice/journal?kind=pop").get_json()["entries"][-3:]
    assert [{k: v for k, v in e.items() if k not in ("id", "at")} for e in entries[1:]] == \
        [{k: v for k, v in entries[0].items() if k not in ("id", "at")}] * 2


@pytest.mark.parametrize("query", [
    {"company": 1, "brand": 99, "ani": "5555555555"},   # an error: journaled once, by the view
    {"company": "x", "brand": 1},
])
def test_errors_always_go_to_flask(client, reached_flask, query):
    codes = [client.get(POP, query_string=query).status_code for _ in range(3)]
    assert codes[0] in (400, 404) and len(set(codes)) == 1 and len(reached_flask) == 3
    assert client.get("/_mockspice/journal?kind=pop").get_json()["count"] == 3


def test_a_write_makes_the_next_pop_go_through_flask(client, reached_flask):
    query = {"company": 1, "brand": 1, "ani": "+1 555 201 0001", "format": "json"}
    for _ in range(3):
        client.get(POP, query_string=query)
    state = client.get("/_mockspice/state").get_json()
    state["companies"][0]["brands"][0]["label"] = "Renamed"
    assert client.put("/_mockspice/state", json=state).status_code == 200
    assert client.get(POP, query_string=query).get_json()["brand_label"] == "Renamed"
    assert reached_flask.count("company=1&brand=1&ani=%2B1+555+201+0001&format=json") == 2


def test_a_write_between_the_look_and_the_pop_is_answered_as_the_view_answers(client, monkeypatch):
    """The brand is deactivated just after the wrapper looked: the pop is the view's 404 page."""
    from mockspice.domain import pop

    query = {"company": 1, "brand": 2, "ani": "5555555555"}
    for _ in range(2):
        assert client.get(POP, query_string=query).status_code == 200
    state = client.get("/_mockspice/state").get_json()
    state["companies"][0]["brands"][1]["active"] = False
    real = pop.cached

    def racing(*args, **kwargs):
        found = real(*args, **kwargs)
        if found is not None:  # another worker writes now
            assert client.put("/_mockspice/state", json=state).status_code == 200
        return found

    monkeypatch.setattr(pop, "cached", racing)
    raced = client.get(POP, query_string=query)
    monkeypatch.setattr(pop, "cached", real)
    view = client.get(POP, query_string=query)
    assert raced.status_code == view.status_code == 404
    assert raced.data == view.data and raced.headers["Content-Type"] == view.headers["Content-Type"]
    assert [e["status"] for e in client.get("/_mockspice/journal?kind=pop").get_json()["entries"][-2:]] == [404, 404]
