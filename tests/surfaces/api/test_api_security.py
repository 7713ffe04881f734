"""What a caller of the API must not reach: other users' secrets, the mock's own tables, stale
sessions.
"""

from __future__ import annotations

import copy
import hashlib

import pytest
from spiceclients import OpenACD, Rpc20


def test_a_portal_session_cannot_query(client):
    portal = Rpc20.on(client)
    portal.session = portal.result("portalconnect", "jdoe")["session"]
    error = portal.error("query", "select Login from tblAgent")
    assert (
        error["code"] == -32002
        and error["message"] == "query needs security level 1; this session has 0"
    )


@pytest.mark.parametrize(
    "table", ["tblJournal", "tblJournalText", "tblMockMeta", "tblRpcStub", "tblSession"]
)
def test_the_mocks_own_tables_are_not_shown(client, table):
    error = OpenACD(client, "admin").error("query", f"select * from {table}")
    assert error == f"query refused: only reading is allowed (the statement would READ {table})"


def test_passwords_read_as_null(client):
    rows = OpenACD(client, "admin").result(
        "query", "select Login, Password from tblAgent where Login='admin'"
    )
    assert rows == [{"login": "admin", "password": None}]


def test_connect_does_not_take_the_stored_digest_as_the_password(client):
    digest = hashlib.md5(b"admin").hexdigest()
    assert (
        OpenACD(client).error("connect", "admin", digest)
        == "login failed: unknown login or wrong password"
    )


def test_a_connect_request_is_not_journaled(client):
    OpenACD(client, "admin")
    entry = client.get("/_mockspice/journal?kind=api").get_json()["entries"][-1]
    assert entry["request"] == "[not kept: it holds a password]" and '"admin"' not in str(entry)


def test_replacing_the_state_ends_the_sessions(client):
    globex = OpenACD(client, "globex.admin")
    state = client.get("/_mockspice/state").get_json()
    smaller = copy.deepcopy(state)
    smaller["companies"] = smaller["companies"][:1]
    smaller["agents"] = [a for a in smaller["agents"] if a["company"] == 1]
    assert client.put("/_mockspice/state", json=smaller).status_code == 200
    assert globex.error("caseAggregate", {}).startswith("invalid session: unknown session")


def test_portalconnect_with_an_id_out_of_range(client):
    error = Rpc20.on(client).error("portalconnect", {"company": 10**30, "userkey": "jdoe"})
    assert error["code"] == -32602 and "portalconnect: id must be a userkey" in error["message"]


def test_sessions_are_capped_and_those_that_expire_first_end(client, monkeypatch):
    from mockspice.domain import sessions

    monkeypatch.setattr(sessions, "MAX_SESSIONS", 5)
    opened = [Rpc20.on(client, login="jdoe.agent").session for _ in range(8)]
    store = client.application.extensions["mockspice"].store
    assert store.read().execute("SELECT COUNT(*) FROM tblSession").fetchone()[0] == 5
    for session in opened[:3]:
        error = Rpc20.on(client, session=session).error("checkSession")
        assert error == {
            "code": -32001,
            "message": f"invalid session: unknown session {session!r}",
            "data": error["data"],
        }
    for session in opened[3:]:
        assert Rpc20.on(client, session=session).result("checkSession") is not None
