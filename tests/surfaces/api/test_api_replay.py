"""A worker gives a replayable read's answer again while nothing it depends on changed.

Each test sends the very same request bytes more than once and counts how many were dispatched
(a replayed one is not), and checks that the answers and journal entries are those a dispatch
gives. An answer is kept the second time its request is seen, and given from the third on.
"""

from __future__ import annotations

import io
import json
import urllib.parse

import pytest
from spiceclients import OpenACD

from mockspice.surfaces.api import endpoint

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def dispatched(monkeypatch) -> list[str]:
    """The request texts the endpoint dispatched (a replayed request is not among them)."""
    texts: list[str] = []
    real = endpoint.respond

    def counting(text, call, registry):
        texts.append(text)
        return real(text, call, registry)

    monkeypatch.setattr(endpoint, "respond", counting)
    return texts


@pytest.fixture
def session(client) -> str:
    return OpenACD(client, "admin", "admin").session


def form(method: str, *params, id_: object = 7) -> bytes:
    """A 1.0 call as SpiceCSM's clients send it (a fixed id unless told)."""
    return b"request=" + json.dumps({"method": method, "params": list(params), "id": id_}).encode()


def post(client, body: bytes, content_type: str = FORM, **headers) -> bytes:
    reply = client.post(API, data=body, content_type=content_type, headers=headers)
    assert reply.status_code == 200
    return reply.data


def api_entries(client) -> list[dict]:
    return client.get("/_mockspice/journal?kind=api").get_json()["entries"]


def without_place(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k not in ("id", "at")}


def test_a_repeated_read_is_replayed_with_the_same_bytes_and_journal_entry(
    client, session, dispatched
):
    body = form("accountLoad", {"LastName": "Doe"}, session)
    answers = [post(client, body) for _ in range(4)]
    assert len(dispatched) == 2 and len(set(answers)) == 1
    assert [r["userkey"] for r in json.loads(answers[0])["result"]] == ["jdoe", "jdoe2"]
    entries = api_entries(client)[-4:]
    assert len({e["id"] for e in entries}) == 4
    assert len({json.dumps(without_place(e), sort_keys=True) for e in entries}) == 1
    assert entries[0]["response"] == answers[0].decode() and entries[0]["calls"] == [
        {"method": "accountLoad", "params": [{"LastName": "Doe"}, session], "outcome": "result"}
    ]


def test_a_2_0_load_and_the_session_header_are_part_of_what_is_replayed(
    client, session, dispatched
):
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "load",
            "params": [{"type": "account", "userkey": "jdoe"}],
            "id": "a",
        }
    ).encode()
    answers = [
        post(client, body, "application/json", **{"X-Spice-Session": session}) for _ in range(3)
    ]
    assert len(set(answers)) == 1 and len(dispatched) == 2
    assert json.loads(answers[0])["result"]["userkey"] == "jdoe"
    # Without the header the same bytes are another request: dispatched, and refused.
    for _ in range(3):
        anonymous = json.loads(post(client, body, "application/json"))
        assert (
            anonymous["error"]["code"] == -32001
            and "invalid session" in anonymous["error"]["message"]
        )
    assert len(dispatched) == 5


def test_a_write_of_the_dataset_ends_the_replay(client, session, dispatched):
    body = form("load", {"type": "account", "userkey": "jdoe"}, session)
    assert [json.loads(post(client, body))["result"]["status"] for _ in range(3)] == ["Active"] * 3
    update = form("update", [{"type": "account", "userkey": "jdoe", "status": "Inactive"}], session)
    assert json.loads(post(client, update))["error"] is None
    assert json.loads(post(client, body))["result"]["status"] == "Inactive"
    assert len(dispatched) == 4  # load twice, update, load again after the write


def test_a_stub_added_or_cleared_later_is_answered_instead(client, session, dispatched):
    body = form("accountLoad", {"LastName": "Doe"}, session)
    real = post(client, body)
    assert post(client, body) == real  # kept
    stub = {"method": "accountLoad", "result": [{"userkey": "stubbed"}]}
    assert client.post("/_mockspice/rpc/stubs", json=stub).status_code == 201
    assert json.loads(post(client, body))["result"] == [{"userkey": "stubbed"}]
    assert json.loads(post(client, body))["result"] == [
        {"userkey": "stubbed"}
    ]  # a stub's answer is not kept
    assert client.delete("/_mockspice/rpc/stubs").status_code == 200
    assert post(client, body) == real
    assert len(dispatched) == 5


def test_a_session_that_needs_its_expiry_moved_is_checked_again(
    client, session, dispatched, monkeypatch
):
    body = form("accountLoad", {"LastName": "Doe"}, session)
    for _ in range(3):
        post(client, body)
    assert len(dispatched) == 2
    ttl = client.application.extensions["mockspice"].settings.session_ttl_s
    later = endpoint.time.time() + ttl / 2 + 1
    monkeypatch.setattr(endpoint.time, "time", lambda: later)  # the session's check would write now
    post(client, body)
    assert len(dispatched) == 3


@pytest.mark.parametrize(
    "method, params",
    [
        ("checkSession", []),  # answers about the session's time
        ("alertLoad", [{"current": 1}]),  # depends on the clock
        ("query", ["SELECT 1 AS one"]),  # any SELECT, time functions too
    ],
)
def test_methods_that_are_not_replayable_are_dispatched_every_time(
    client, session, dispatched, method, params
):
    body = form(method, *params, session)
    post(client, body)
    post(client, body)
    assert len(dispatched) == 2


def test_errors_batches_and_web_calls_are_dispatched_every_time(client, session, dispatched):
    unknown = form("load", {"type": "account", "userkey": "nobody"}, session)
    batch = json.dumps(
        [{"jsonrpc": "2.0", "method": "companyList", "params": [session], "id": 1}]
    ).encode()
    for _ in range(2):
        assert json.loads(post(client, unknown))["error"]
        post(client, batch, "application/json")
    assert len(dispatched) == 4


def test_an_account_load_that_fires_the_brands_search_is_dispatched_every_time(
    client, session, dispatched
):
    from partner_servers import serving

    from mockspice.partner import create_partner_app

    with serving(create_partner_app()) as url:
        assert (
            client.put(
                "/_mockspice/brands/1/1/webcalls",
                json={
                    "search_url": f"{url}/search",
                    "int_user": "spice",
                    "int_pass": "secret",
                    "timeout_s": 5,
                },
            ).status_code
            == 200
        )
        body = form("accountLoad", {"LastName": "Doe", "brand": 1}, session)
        first = json.loads(post(client, body))
        second = json.loads(post(client, body))
    assert (
        [r["external"] for r in first["result"]]
        == [r["external"] for r in second["result"]]
        == ["0", "0", "1"]
    )
    assert len(dispatched) == 2
    webcalls = [e["webcalls"] for e in api_entries(client)[-2:]]
    assert all(len(ids) == 1 for ids in webcalls) and webcalls[0] != webcalls[1]


def test_an_answer_read_while_a_write_commits_is_not_given_after_it(
    client, app, session, dispatched
):
    """A write publishes its generation just before COMMIT; a read in between sees the old data.

    That answer must be tagged with the generation it read (the old one), not the published one,
    or it would be replayed after the commit.
    """
    import threading

    from mockspice.store.schema import table

    body = form("load", {"type": "account", "userkey": "jdoe"}, session)
    post(client, body)  # seen once: the answer read during the write would be kept
    store = app.extensions["mockspice"].store
    during = []
    with store.write() as conn:  # the new generation is published, the change not yet committed
        conn.execute(
            f"UPDATE {table(1, 'tblAccount')} SET Status = ? WHERE Userkey = ?",
            ("Inactive", "jdoe"),
        )
        reader = threading.Thread(target=lambda: during.append(json.loads(post(client, body))))
        reader.start()
        reader.join(10)
    assert during[0]["result"]["status"] == "Active"
    assert json.loads(post(client, body))["result"]["status"] == "Inactive"
    assert len(dispatched) == 3


def test_a_replay_is_answered_with_the_same_bytes_and_headers(client, session, dispatched):
    body = form("load", {"type": "account", "userkey": "jdoe"}, session)
    first, kept, again = (client.post(API, data=body, content_type=FORM) for _ in range(3))
    assert again.data == kept.data == first.data and again.status_code == 200
    assert again.headers["Content-Type"] == first.headers["Content-Type"] == "application/json"
    assert again.headers["Content-Length"] == first.headers["Content-Length"]
    assert len(dispatched) == 2
    assert without_place(api_entries(client)[-1]) == without_place(api_entries(client)[-2])


def test_a_long_request_is_dispatched_every_time(client, session, dispatched):
    body = form("accountLoad", {"LastName": "Doe"}, session) + b" " * (
        endpoint.REPLAY_MAX_BYTES + 1
    )
    answers = {post(client, body) for _ in range(3)}
    assert len(answers) == 1
    assert [r["userkey"] for r in json.loads(answers.pop())["result"]] == ["jdoe", "jdoe2"]
    assert len(dispatched) == 3


def test_a_long_answer_is_not_kept(client, session, dispatched, monkeypatch):
    monkeypatch.setattr(endpoint, "REPLAY_MAX_ANSWER", 100)  # the demo's answers are short
    body = form("load", {"type": "account", "userkey": "jdoe"}, session)
    for _ in range(3):
        post(client, body)
    assert len(dispatched) == 3


def kept(app) -> int:
    return len(app.extensions["mockspice"].api_replies)


def test_requests_that_never_come_again_keep_nothing(client, app, session):
    """A client asking for ever new things must not fill the kept
    answers (and push a poller's out).
    """
    for n in range(20):
        post(client, form("load", {"type": "account", "userkey": f"user{n}"}, session, id_=n))
        post(client, form("accountLoad", {"LastName": "Doe"}, session, id_=n))
    assert kept(app) == 0


def test_a_client_counting_its_ids_is_dispatched_every_time(client, app, session, dispatched):
    api = OpenACD(
        client, "admin", "admin"
    )  # request=<raw JSON>, the session appended, ids counting up
    dispatched.clear()  # its connect
    rows = [api.result("accountLoad", {"LastName": "Doe"}) for _ in range(5)]
    assert len(dispatched) == 5 and kept(app) == 0
    assert all(r == rows[0] for r in rows) and [r["userkey"] for r in rows[0]] == ["jdoe", "jdoe2"]


def test_a_form_warning_is_journaled_with_each_replay(client, session, dispatched):
    # A literal '+' in the raw JSON: PHP reads it as a space.
    unencoded = form("accountLoad", {"LastName": "Doe", "FirstName": "John"}, session).replace(
        b" ", b"+"
    )
    answers = {post(client, unencoded) for _ in range(4)}
    assert len(dispatched) == 2 and len(answers) == 1
    findings = [e["findings"] for e in api_entries(client)[-4:]]
    assert (
        findings[0]
        and findings[0][0]["code"] == "unencoded-form-body"
        and all(f == findings[0] for f in findings)
    )
    call = {
        "method": "accountLoad",
        "params": [{"LastName": "Doe", "FirstName": "John"}, session],
        "id": 7,
    }
    post(
        client, b"request=" + urllib.parse.quote_plus(json.dumps(call)).encode()
    )  # without the warning: dispatched
    assert len(dispatched) == 3 and api_entries(client)[-1]["findings"] == []


@pytest.mark.parametrize(
    "call",
    [
        {"method": "companyList", "params": [], "id": None},  # 1.0: a notification
        {"method": "companyList", "params": [], "id": True},  # not a string or an integer
        {"method": "companyList", "params": [], "id": 1.5},
        {"method": "companyList", "params": [], "id": [1]},
    ],
)
def test_a_call_whose_id_is_not_a_string_or_integer_is_replayed_only_with_the_same_bytes(
    client, session, dispatched, call
):
    body = b"request=" + json.dumps({**call, "params": [session]}).encode()
    for n in range(3):
        assert client.post(API, data=body + b" " * n, content_type=FORM).status_code in (200, 204)
    assert len(dispatched) == 3


def test_a_call_with_another_id_params_session_or_host_is_another_request(
    client, session, dispatched
):
    other = OpenACD(client, "admin", "admin").session
    dispatched.clear()
    for _ in range(3):
        post(client, form("load", {"type": "account", "userkey": "jdoe"}, session))
    assert len(dispatched) == 2
    post(client, form("load", {"type": "account", "userkey": "jdoe"}, session, id_=8))
    post(client, form("load", {"type": "account", "userkey": "jdoe2"}, session))
    post(client, form("load", {"type": "account", "userkey": "jdoe"}, other))
    post(
        client, form("load", {"userkey": "jdoe", "type": "account"}, session)
    )  # members in another order
    post(
        client, form("load", {"type": "account", "userkey": "jdoe"}, session), Host="other.example"
    )
    assert len(dispatched) == 2 + 5


def test_a_long_request_and_answer_are_journaled_cut_short_replayed_or_not(
    client, session, dispatched, monkeypatch
):
    monkeypatch.setattr(endpoint, "MAX_JOURNALED", 60)
    body = form("accountLoad", {"LastName": "Doe"}, session)
    answers = {post(client, body) for _ in range(3)}
    assert len(dispatched) == 2 and len(answers) == 1
    entries = api_entries(client)[-3:]
    assert [e["request"] for e in entries] == [body[:60].decode()] * 3
    assert [e["response"] for e in entries] == [answers.pop()[:60].decode()] * 3


def _dispatched_again(
    client, app, body: bytes, content_type: str = FORM
) -> tuple[int, bytes, dict]:
    """The answer and journal entry a dispatch gives ``body``, with nothing kept."""
    ext = app.extensions["mockspice"]
    ext.api_replies._items.clear()
    ext.api_seen._hashes.clear()
    reply = client.post(API, data=body, content_type=content_type)
    return reply.status_code, reply.data, without_place(api_entries(client)[-1])


@pytest.mark.parametrize("id_text", [b'"\\ud800"', b'"\\udc00x"', b'"a\\ud83d"'])
def test_an_id_that_is_no_text_is_refused_as_a_dispatch_refuses_it(
    client, app, session, dispatched, id_text
):
    def call(id_: bytes) -> bytes:
        return form("accountLoad", {"LastName": "Doe"}, session, id_=0).replace(
            b'"id": 0', b'"id": ' + id_
        )

    post(client, call(b'"a"'))
    post(client, call(b'"b"'))  # kept
    reply = client.post(API, data=call(id_text), content_type=FORM)
    entry = without_place(api_entries(client)[-1])
    assert len(dispatched) == 3 and reply.status_code == 200
    assert json.loads(reply.data)["error"] == (
        "Parse error: the JSON escapes a lone surrogate (\\ud800-\\udfff), which is no text"
    )
    assert (reply.status_code, reply.data, entry) == _dispatched_again(client, app, call(id_text))


def test_a_long_request_of_a_kept_call_is_dispatched_all_the_same(client, session, dispatched):
    body = form("accountLoad", {"LastName": "Doe"}, session)
    post(client, body)
    post(client, body)  # kept
    post(client, body)
    assert len(dispatched) == 2
    long = body.replace(b'"id": 7', b" " * endpoint.REPLAY_MAX_BYTES + b'"id": 9')
    assert json.loads(post(client, long))["id"] == 9 and len(dispatched) == 3


def test_a_chunked_request_is_replayed_as_a_sized_one(client, session, dispatched):
    body = form("accountLoad", {"LastName": "Doe"}, session)
    for _ in range(3):
        post(client, body)  # dispatched, dispatched, replayed
    assert len(dispatched) == 2
    chunked = client.post(
        API,
        input_stream=io.BytesIO(body),
        content_type=FORM,  # as granian gives it
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": None},
    )
    assert chunked.status_code == 200 and json.loads(chunked.data)["result"]
    assert len(dispatched) == 2
