"""A kept API answer is never stale: after any kind of write, every replayable method answers what
a fresh dispatch answers.

For each write (every writing API method and every control API write), a fresh app keeps the
answer of every replayable method of the registry, the write happens, and each method is asked
again: its answer must equal the one given with nothing kept. Many of the writes change what some
read answers, so a replay that outlived a write would show.
"""

from __future__ import annotations

import json

import pytest
from spiceclients import OpenACD

from mockspice.app import create_app
from mockspice.settings import Settings
from mockspice.surfaces import extension

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
FORM = "application/x-www-form-urlencoded"

# One call of each replayable method whose answer is a result (so that it is kept).
READS = {
    "companyList": [],
    "agentExists": [["jdoe.agent", "new.agent"]],
    "agentList": [{}],
    "loadAgent": [{"login": "jdoe.agent"}],
    "getAgentAccess": [{}],
    "scriptLoad": [{"brandid": 1}],
    "accountLoad": [{"LastName": "Doe"}],
    "load": [{"type": "account", "userkey": "jdoe"}],
    "caseLoad": [{"userkey": "jdoe"}],
    "issueLoad": [{}],
    "eventCategory": [{}],
}

# Writes through the API, made by the admin: (method, params, whether some read above shows the
# change, the calls made before the reads are kept).
API_WRITES = [
    (
        "create",
        [
            [
                {
                    "type": "account",
                    "userkey": "zoe",
                    "brand": 1,
                    "status": "Active",
                    "contacts": [
                        {"firstname": "Zoe", "lastname": "Doe", "pphone": "(555) 777-0001"}
                    ],
                }
            ]
        ],
        True,
        [],
    ),
    ("update", [[{"type": "account", "userkey": "jdoe", "status": "Inactive"}]], True, []),
    (
        "update",
        [[{"type": "contact", "userkey": "jdoe", "position": 0, "lastname": "Doe-Smith"}]],
        True,
        [],
    ),
    ("delete", [[{"type": "account", "userkey": "jdoe2"}]], True, []),
    ("create", [[{"type": "case", "userkey": "jdoe", "journal": "a new case"}]], True, []),
    ("createAlert", [{"message": "the lines are down"}], False, []),
    (
        "createAgent",
        [{"login": "new.agent", "password": "s3cret", "firstname": "Nel", "lastname": "Doe"}],
        True,
        [],
    ),
    ("createAgent", [{"agentid": 1, "active": 0}], True, []),
    ("changePass", [{"password": "n3w-pass"}], False, []),
    ("createCompany", [{"companylabel": "Initech"}], True, []),
    ("deleteCompany", [{"companyid": 2}], True, []),
    ("createBrand", [{"companyid": 1, "brandlabel": "Acme Kids"}], True, []),
    ("updateBrand", [{"brandid": 1, "brandlabel": "Acme Renamed"}], True, []),
    (
        "deleteBrand",
        [{"brandid": 7}],
        True,
        [("createBrand", [{"companyid": 1, "brandid": 7, "brandlabel": "Brief"}])],
    ),
    ("copyBrand", [{"brandid": 1}], True, []),
    ("saveReaderState", [{}], False, []),
    ("createProcessIssue", [{}], False, []),
    ("setinContactCredentials", [{"username": "ic", "password": "ic-secret"}], False, []),
    ("connect", ["jdoe.agent", "spice"], False, []),
]


def _renamed_state(client) -> dict:
    state = client.get("/_mockspice/state").get_json()
    state["companies"][0]["brands"][0]["label"] = "Renamed by PUT"
    state["agents"][0]["lastname"] = "Renamed"
    return state


# Writes through the control API: (verb, path, body or a function of the client giving it, whether
# some read shows the change).
CONTROL_WRITES = [
    ("PUT", "/_mockspice/state", _renamed_state, True),
    ("POST", "/_mockspice/reset", None, True),  # the admin's connect and the reads' sessions end
    ("DELETE", "/_mockspice/journal", None, False),
    ("PUT", "/_mockspice/brands/1/1/webcalls", {"search_url": "http://127.0.0.1:9/search"}, False),
    (
        "POST",
        "/_mockspice/rpc/stubs",
        {"method": "accountLoad", "result": [{"userkey": "stubbed"}]},
        True,
    ),
    ("POST", "/_mockspice/rpc/stubs", {"method": "agentList", "single_row_object": True}, False),
    ("DELETE", "/_mockspice/rpc/stubs", None, False),
    ("PUT", "/_mockspice/rpc/sessions/{session}", {"single_row_object": True}, True),
    ("PUT", "/_mockspice/rpc/sessions/{session}", {"single_row_object": False}, False),
]


def test_the_tables_cover_every_replayable_method(tmp_path):
    app = create_app(Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db")}))
    try:
        replayable = {
            name for name, method in extension.of(app).registry.methods.items() if method.replayable
        }
    finally:
        extension.of(app).prepared.cleanup()
    assert set(READS) == replayable


def _body(method: str, params: list, session: str) -> bytes:
    return (
        b"request=" + json.dumps({"method": method, "params": [*params, session], "id": 1}).encode()
    )


def _ask(client, body: bytes) -> tuple[int, bytes]:
    reply = client.post(API, data=body, content_type=FORM)
    return reply.status_code, reply.data


@pytest.mark.parametrize(
    "write",
    [*(("api",) + w for w in API_WRITES), *(("control",) + w for w in CONTROL_WRITES)],
    ids=lambda w: f"{w[0]}-{w[1]}-{json.dumps(w[2])[:40] if w[0] == 'api' else w[2]}",
)
def test_after_a_write_every_replayable_method_answers_as_a_fresh_dispatch(
    tmp_path, monkeypatch, write
):
    from mockspice.surfaces.api import endpoint

    app = create_app(Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db")}))
    ext = extension.of(app)
    client = app.test_client()
    dispatched: list[str] = []
    real = endpoint.respond
    monkeypatch.setattr(
        endpoint,
        "respond",
        lambda text, call, registry: dispatched.append(text) or real(text, call, registry),
    )
    try:
        admin = OpenACD(client, "admin", "admin")
        for method, params in write[4] if write[0] == "api" else []:
            admin.result(method, *params)
        bodies = {name: _body(name, params, admin.session) for name, params in READS.items()}
        before = {}
        for name, body in bodies.items():
            answers = {_ask(client, body) for _ in range(3)}
            assert len(answers) == 1, name
            before[name] = answers.pop()
        dispatched.clear()
        assert all(_ask(client, body) == before[name] for name, body in bodies.items())
        assert dispatched == [], "every read is kept before the write"

        if write[0] == "api":
            admin.result(write[1], *write[2])
        else:
            verb, path, body = write[1:4]
            body = body(client) if callable(body) else body
            answer = client.open(path.format(session=admin.session), method=verb, json=body)
            assert answer.status_code in (200, 201), answer.data

        after = {name: _ask(client, body) for name, body in bodies.items()}
        ext.api_replies._items.clear()  # nothing kept: each read dispatched
        fresh = {name: _ask(client, body) for name, body in bodies.items()}
        assert after == fresh
        changes = write[3] if write[0] == "api" else write[4]
        assert (after != before) == changes, [name for name in after if after[name] != before[name]]
    finally:
        ext.prepared.cleanup()
