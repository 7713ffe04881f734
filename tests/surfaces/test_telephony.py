"""telephonypop.php through Flask's test client: HTML, JSON, methods and parameters."""

from __future__ import annotations

import pytest

from mockspice.app import create_app
from mockspice.settings import Settings

POP = "/spiceinstall/integrations/telephony/telephonypop.php"


def test_html_pop_shows_brand_greeting_and_account(client):
    response = client.get(
        POP, query_string={"company": 1, "brand": 1, "ani": "+1 555 201 0001", "callid": "C77"}
    )
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Company 1: Acme Help Desk" in page and "Brand 1: Acme Support" in page
    assert "Am I speaking with Alice Smith?" in page
    assert 'data-userkey="asmith"' in page and 'id="callid">C77<' in page
    assert "6345 (New, Billing)" in page  # the open case
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "how", [{"query": {"format": "json"}}, {"headers": {"Accept": "application/json"}}]
)
def test_json_pop(client, how):
    query = {"company": 1, "brand": 1, "caseid": "6344", **how.get("query", {})}
    response = client.get(POP, query_string=query, headers=how.get("headers", {}))
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert set(body) >= {
        "pop_id",
        "company",
        "brand",
        "callid",
        "ani",
        "caseid",
        "greeting",
        "match",
    }
    assert (body["company"], body["brand"], body["caseid"], body["callid"], body["ani"]) == (
        1,
        1,
        "6344",
        None,
        None,
    )
    assert body["match"]["kind"] == "case" and body["match"]["case"]["id"] == 6344
    assert [a["userkey"] for a in body["match"]["accounts"]] == ["jdoe"]


def test_browser_accept_header_gets_html(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get(POP + "?company=1&brand=1", headers={"Accept": accept})
    assert response.mimetype == "text/html"


def test_repeated_parameter_keeps_the_last_like_php(client):
    body = client.get(
        POP + "?company=7&company=1&brand=1&ani=1&ani=5552010001&format=json"
    ).get_json()
    assert (
        body["company"] == 1 and body["ani"] == "5552010001" and body["match"]["kind"] == "account"
    )


def test_head_is_allowed_and_has_no_body(client):
    response = client.head(POP + "?company=1&brand=1")
    assert response.status_code == 200 and response.get_data() == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_refused(client, method):
    response = client.open(POP + "?company=1&brand=1&format=json", method=method)
    assert response.status_code == 405
    assert response.get_json()["error"] == {
        "code": "method-not-allowed",
        "message": f"method {method} is not allowed here; use GET, HEAD, OPTIONS",
    }
    assert "GET" in response.headers["Allow"]


def test_error_page_names_the_parameter(client):
    response = client.get(POP + "?brand=1")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "parameter &#39;company&#39; is required (a positive integer)" in response.get_data(
        as_text=True
    )


def test_reflected_values_are_escaped(client):
    payload = '"><script>alert(1)</script>'
    page = client.get(
        POP, query_string={"company": 1, "brand": 1, "callid": payload, "ani": payload}
    ).get_data(as_text=True)
    assert payload not in page
    # As text in the call ID, the ANI and the "no account matched" notice.
    assert page.count("&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;") == 3


def test_base_path_setting(tmp_path):
    app = create_app(
        Settings.load(
            environ={}, overrides={"db": str(tmp_path / "s.db"), "base_path": "/helpdesk"}
        )
    )
    try:
        client = app.test_client()
        assert (
            client.get(
                "/helpdesk/integrations/telephony/telephonypop.php?company=1&brand=1"
            ).status_code
            == 200
        )
        assert client.get(POP + "?company=1&brand=1").status_code == 404
    finally:
        app.extensions["mockspice"].prepared.cleanup()


PLANNED = [
    "company=1&brand=1&ani=%2B1%20555%20201%200001&callid=C77",
    "company=1&brand=1&ani=5552010001",  # no call id: the page says "none"
    "company=1&brand=1&callid=%3Cb%3E%22%26%27%00x",  # specials and a NUL in the call's own values
    "company=1&brand=1&caseid=6344&callid=c",
    "company=1&brand=1&ani=(555)%20000-0000&callid=nobody",  # a notice of no match
    "company=1&brand=1&ani=5552010001&callid=j&format=json",
    "company=1&brand=1&ani=5552010001&format=json",  # callid null
    "company=1&brand=2&callid=%22%5C%00%E2%9C%93&format=json",
]


@pytest.mark.parametrize("query", PLANNED)
def test_a_pop_filled_into_its_plan_is_the_page_rendered_whole(app, monkeypatch, query):
    """Each worker renders a match once with holes for the pop id, call id and greeting; the filled
    answer must be byte for byte what rendering the whole page (or JSON) gives."""
    from dataclasses import replace

    from mockspice.surfaces import telephony

    app.extensions["mockspice"].store.counters.raise_to(987654320)  # ids that appear nowhere else
    script = "Hello {caller}, call {callid} <ok?> & {unknown}"
    with app.extensions["mockspice"].store.write() as conn:  # a greeting naming the call id
        conn.execute(
            'UPDATE "1_tblBrandData" SET DataText = ? WHERE DataLabel = ?',
            (script, "GreetingScript"),
        )
    client = app.test_client()
    client.get(f"{POP}?{query}")  # the plan is made
    planned = client.get(f"{POP}?{query}")  # and used
    real = telephony.screen_pop
    monkeypatch.setattr(
        telephony, "screen_pop", lambda *a, **k: replace(real(*a, **k), cache_key=None)
    )
    whole = client.get(f"{POP}?{query}")
    assert planned.status_code == whole.status_code == 200
    assert planned.headers == whole.headers
    assert planned.data.replace(b"987654322", b"N") == whole.data.replace(b"987654323", b"N")
    assert (
        b"987654322" in planned.data and telephony._TOKEN.encode() not in planned.data
    )  # no hole left
