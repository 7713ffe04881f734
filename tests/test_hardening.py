"""Issue 11's defects 3, 5, 6 and 7 against a real ``mockspice serve``: secrets unreadable, journal
entries and the journal bounded, a dataset that is not one refused, passwords never journaled."""

from __future__ import annotations

import json

import pytest
import requests
from liveserver import LiveServer
from partner_servers import MiB, RawPartner, http_reply, search_reply, send
from spiceclients import API, FORM

MASK = "********"
SECRET = "S3cretPW-2"


def _rpc(server: LiveServer, method: str, *params, id_=1) -> dict:
    body = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": id_}
    return requests.post(server.url + API, json=body, timeout=10).json()


def _session(server: LiveServer, login: str = "jdoe.agent", password: str = "spice") -> str:
    return _rpc(server, "connect", login, password)["result"]["session"]


# --- 3. secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "select DataText from 1_tblBrandData where DataLabel = 'IntPass'",
        "select group_concat(DataText) from 1_tblBrandData",
        "select * from 1_tblBrandData",
        "select DataLabel, DataText from 2_tblBrandData",
    ],
)
def test_no_query_reads_an_int_pass(partner_live, sql):
    session = _session(partner_live)
    _rpc(
        partner_live,
        "setinContactCredentials",
        {"username": "ic", "password": "ic-" + SECRET},
        session,
    )
    reply = _rpc(partner_live, "query", sql, session)
    assert "error" not in reply, reply
    text = json.dumps(reply)
    assert (
        "secret" not in text
        and SECRET not in text
        and "IntPass" not in text
        and "inContact" not in text
    )


def test_the_secret_table_is_refused_to_query(partner_live):
    reply = _rpc(partner_live, "query", 'select * from "1_tblBrandSecret"', _session(partner_live))
    assert reply["error"]["code"] == -32010
    assert reply["error"]["message"] == (
        "query refused: only reading is allowed (the statement would READ 1_tblBrandSecret)"
    )


def test_control_answers_mask_every_secret_and_a_masked_state_puts_back(partner_live):
    state = partner_live.get("/_mockspice/state").json()
    brand = state["companies"][0]["brands"][0]
    assert brand["webcalls"]["int_pass"] == MASK
    assert {a["password_md5"] for a in state["agents"]} == {MASK}
    assert partner_live.get("/_mockspice/brands/1/1/webcalls").json()["int_pass"] == MASK
    text = json.dumps(state)
    assert '"secret"' not in text and "5f4dcc3b" not in text
    # Put back as it came: the secrets kept are the store's own, so the partner still lets us in.
    assert partner_live.request("PUT", "/_mockspice/state", json=state).status_code == 200
    fired = partner_live.request(
        "POST", "/_mockspice/webcalls/load", json={"company": 1, "brand": 1, "userkey": "jdoe"}
    ).json()
    assert fired["response"]["status"] == 200 and fired["request"]["form"]["intPass"] == MASK
    assert _session(partner_live)  # the agents' passwords were kept too
    # A mask where the store has no such secret is refused, naming it.
    state["companies"][0]["brands"].append({**brand, "id": 77, "label": "New"})
    response = partner_live.request("PUT", "/_mockspice/state", json=state)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad-dataset",
        "message": (
            "request body: company 1, brand 77: int_pass: is the mask '********', and the store "
            "has no such "
            "secret to keep; give its value"
        ),
    }


# --- 5. journal entries and the journal, bounded ------------------------------------------------

USER = (
    '<user status="Active" userkey="u{}" name="Name%20{}" email="u{}%40example%2Ecom" '
    'phone="555" />'
)


@pytest.fixture(scope="module")
def small_journal():
    server = LiveServer("--workers", "2", "--journal-max-bytes", str(2 * MiB))
    yield server
    server.stop()


def test_a_huge_reply_makes_a_bounded_entry_and_the_journal_keeps_to_its_bytes(small_journal):
    server = small_journal
    server.request("POST", "/_mockspice/reset")
    users = [USER.format(i, i, i) for i in range(30_000)]
    with RawPartner(
        send(http_reply("200 OK", search_reply(*users))), max_connections=10
    ) as partner:
        put = server.request(
            "PUT", "/_mockspice/brands/1/1/webcalls", json={"search_url": partner.url}
        )
        assert put.status_code == 200
        for _ in range(8):
            fired = requests.post(
                server.url + "/_mockspice/webcalls/search",
                json={"company": 1, "brand": 1, "name": "x"},
                timeout=60,
            ).json()
            assert (
                fired["outcome"] == "ok" and len(fired["records"]) == 30_000
            )  # the answer is whole
    journal = server.get("/_mockspice/journal?kind=webcall")
    entries = journal.json()["entries"]
    assert entries, "the newest entry is kept"
    for entry in entries:
        exchange = entry["exchange"]
        assert len(exchange["records"]) == 100 and exchange["records_dropped"] == 29_900
        assert len(json.dumps(entry)) <= 256 * 1024
    assert len(journal.content) <= 2 * MiB  # the cap in bytes, whatever the count cap allows
    assert journal.json()["dropped"] >= 8 - len(entries)


# --- 6. a dataset that is not one -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b"null",
            'request body: the dataset is empty; an empty dataset is written {"companies": []}',
        ),
        (
            b"{}",
            "request body: a dataset needs 'companies' (a list; {\"companies\": []} for an empty "
            "one)",
        ),
        (
            b'{"agents": []}',
            "request body: a dataset needs 'companies' (a list; {\"companies\": []} for an empty "
            "one)",
        ),
        (b"[]", "request body: must be a mapping (a dataset)"),
        (b'"x"', "request body: must be a mapping (a dataset)"),
        (b"0", "request body: must be a mapping (a dataset)"),
    ],
)
def test_what_is_not_a_dataset_is_refused_and_ends_nothing(live, body, message):
    session = _session(live)
    before = live.get("/_mockspice/state").json()
    response = live.request(
        "PUT", "/_mockspice/state", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "bad-dataset", "message": message}
    assert live.get("/_mockspice/state").json() == before
    assert _rpc(live, "checkSession", session)["result"] is not None  # no session ended


def test_an_explicitly_empty_dataset_is_loaded(live):
    response = live.request("PUT", "/_mockspice/state", json={"companies": []})
    assert response.status_code == 200
    assert response.json()["counts"] == {
        "companies": 0,
        "brands": 0,
        "accounts": 0,
        "cases": 0,
        "agents": 0,
    }


def test_empty_web_call_settings_are_refused(live):
    response = live.request("PUT", "/_mockspice/brands/1/1/webcalls", json={})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad-parameter"
    assert response.json()["error"]["message"].startswith(
        "no web-call settings given; to clear them, send each"
    )


# --- 7. passwords never journaled ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, content_type",
    [
        (
            '{"jsonrpc": "2.0", "method": "connect", "params": ["admin", "S3cretPW-2"], "id": '
            "true}",
            "application/json",
        ),
        (
            '{"jsonrpc": "2.0", "method": "connect", "params": ["admin", "S3cretPW-2"], "id": 1',
            "application/json",
        ),
        (
            '{"jsonrpc": 1, "method": "changePass", "params": [{"password": "S3cretPW-2"}], "id": '
            "1}",
            "application/json",
        ),
        (
            '{"jsonrpc": "2.0", "method": "connect", "params": "admin S3cretPW-2", "id": 1}',
            "application/json",
        ),
        (
            '[{"jsonrpc": "2.0", "method": "agentList", "params": [], "id": 1}, {"method": '
            '"Connect", '
            '"params": ["admin", "S3cretPW-2"]}]',
            "application/json",
        ),
        (
            '{"method": "\\u0063onnect", "params": ["admin", "S3cretPW-2"], "id": {}}',
            "application/json",
        ),
        ('{"method": ["connect"], "params": ["admin", "S3cretPW-2"], "id": 1}', "application/json"),
        (
            '{"method": "createAgent", "params": [{"login": "x", "newPassword": "S3cretPW-2"}], '
            '"id": 1}',
            "application/json",
        ),
        ('request={"method":"connect","params":["admin","S3cretPW-2"],"id":1', FORM),
        (
            "request=%7B%22method%22%3A%22connect%22%2C%22params%22%3A%5B%22admin%22%2C%22S3cretPW-2%22%5D%7D",
            FORM,
        ),
        ('request={"method":"agentList","params":[],"id":1}&password=S3cretPW-2', FORM),
        ("connect admin S3cretPW-2", "text/plain"),
        # A key given twice: the parsed call keeps the last, the journal would keep the text.
        (
            '{"jsonrpc": "2.0", "method": "agentList", "params": [{"x": {"password": '
            '"S3cretPW-2"}, "x": 1}], "id": 1}',
            "application/json",
        ),
        (
            'request={"method":"connect","params":["admin","S3cretPW-2"]}&request={"method":"agentList","params":[],"id":1}',
            FORM,
        ),
    ],
)
def test_no_journaled_request_holds_a_password(live, body, content_type):
    live.request("DELETE", "/_mockspice/journal")
    response = requests.post(
        live.url + API, data=body.encode(), headers={"Content-Type": content_type}, timeout=10
    )
    assert response.status_code in (200, 204)  # 204: a notification
    [entry] = live.get("/_mockspice/journal?kind=api").json()["entries"]
    assert SECRET not in json.dumps(entry)
    assert entry["request"].startswith("[not kept: ")


def test_a_request_without_secrets_is_journaled_as_sent(live):
    live.request("DELETE", "/_mockspice/journal")
    body = '{"jsonrpc": "2.0", "method": "agentList", "params": [], "id": 7}'
    requests.post(
        live.url + API, data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    [entry] = live.get("/_mockspice/journal?kind=api").json()["entries"]
    assert entry["request"] == body
