"""API sessions: ``connect``, ``portalconnect``, ``checkSession`` and the session check of every
call.

A session id is 32 lower-case hex digits, like a PHP session id. Sessions live in the store, so
every worker knows them; each use moves the expiry ``session_ttl_s`` into the future. They are
runtime state: not part of the dataset, emptied by a reset. The control API may set a session's
own single-row quirk (``PUT /_mockspice/rpc/sessions/<id>``), which its calls then follow.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from mockspice.domain import journal
from mockspice.domain.errors import BadParameter, DomainError, NotFound, json_type
from mockspice.store.db import Store
from mockspice.store.schema import table

ADMIN = 4  # securitylevelid 4: System Administrator (spicecsm-facts.md)
MAX_SESSIONS = 10_000  # live sessions kept; past it those that would expire first end


class InvalidSession(DomainError):
    """A call without a session, with an unknown one, or with an expired one."""

    code = "invalid-session"
    status = 401
    rpc_code = -32001

    def __init__(self, reason: str):
        super().__init__(f"invalid session: {reason}")
        self.reason = reason

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "reason": self.reason}


class LoginFailed(DomainError):
    """``connect`` with a login or password that does not match an active agent."""

    code = "login-failed"
    status = 403
    rpc_code = -32003


@dataclass(frozen=True)
class Session:
    """Who is calling: an agent (``connect``) or a portal account (``portalconnect``)."""

    id: str
    kind: str  # agent | portal
    agent_id: int | None
    company_id: int | None
    userkey: str | None
    security_level: int
    expires_at: float = float("inf")  # seconds since the epoch; the check may move it on
    single_row_object: bool | None = None  # the quirk for its calls (None: the server's setting)


def _password_matches(stored_md5: str, given: str) -> bool:
    """The plain password. Not its digest: whoever read the stored digest could log in with it."""
    digest = hashlib.md5(given.encode("utf-8")).hexdigest()
    return secrets.compare_digest(digest, stored_md5)


def connect(store: Store, login: str, password: str, ttl_s: float) -> dict[str, Any]:
    """Open an agent session: ``{"session", "security_level"}`` (as the real server answers)."""
    row = (
        store.read()
        .execute(
            "SELECT AgentID, TenantID, Password, SecurityLevelID FROM tblAgent WHERE Login = ? "
            "AND Active = 1",
            (login,),
        )
        .fetchone()
    )
    if row is None or not _password_matches(row[2], password):
        raise LoginFailed("login failed: unknown login or wrong password")
    session = _open(store, "agent", row[0], row[1], None, row[3], ttl_s)
    return {"session": session, "security_level": str(row[3])}


def portal_connect(store: Store, company_id: int, userkey: str, ttl_s: float) -> dict[str, Any]:
    """Open a client-portal session for an account (``portalconnect(id)``): level 0."""
    row = None
    if store.read().execute("SELECT 1 FROM tblTenant WHERE TenantID = ?", (company_id,)).fetchone():
        row = (
            store.read()
            .execute(
                f"SELECT AccountID FROM {table(company_id, 'tblAccount')} WHERE Userkey = ?",
                (userkey,),
            )
            .fetchone()
        )
    if row is None:
        raise LoginFailed(f"portal login failed: no account {userkey!r} in company {company_id}")
    return {
        "session": _open(store, "portal", None, company_id, userkey, 0, ttl_s),
        "security_level": "0",
    }


def _open(
    store: Store,
    kind: str,
    agent_id: int | None,
    company_id: int | None,
    userkey: str | None,
    level: int,
    ttl_s: float,
) -> str:
    session_id = secrets.token_hex(16)
    with store.write(history=True) as conn:
        conn.execute("DELETE FROM tblSession WHERE ExpiresAt < ?", (time.time(),))
        conn.execute(
            "INSERT INTO tblSession(SessionID, Kind, AgentID, TenantID, Userkey, SecurityLevelID, "
            "Created,"
            " ExpiresAt) VALUES (?,?,?,?,?,?,?,?)",
            (
                session_id,
                kind,
                agent_id,
                company_id,
                userkey,
                level,
                journal.now_iso(),
                time.time() + ttl_s,
            ),
        )
        # A client that connects in a loop must not fill the disk: past the cap, the sessions that
        # would expire first end (as the oldest entries of the journal are dropped).
        conn.execute(
            "DELETE FROM tblSession WHERE rowid IN (SELECT rowid FROM tblSession ORDER BY ExpiresAt"
            " LIMIT max(0, (SELECT COUNT(*) FROM tblSession) - ?))",
            (MAX_SESSIONS,),
        )
    return session_id


def check(store: Store, session_id: Any, ttl_s: float) -> Session:
    """The live session with this id, its expiry moved on; :class:`InvalidSession` otherwise."""
    if session_id is None or session_id == "":
        raise InvalidSession("no session id was given (send it as the last positional parameter)")
    if not isinstance(session_id, str):
        raise InvalidSession(f"the session id must be text, not {type(session_id).__name__}")
    row = (
        store.read()
        .execute(
            "SELECT SessionID, Kind, AgentID, TenantID, Userkey, SecurityLevelID, ExpiresAt, "
            "SingleRowObject"
            " FROM tblSession WHERE SessionID = ?",
            (session_id,),
        )
        .fetchone()
    )
    if row is None:
        raise InvalidSession(f"unknown session {journal.clip(session_id)!r}")
    now = time.time()
    if row[6] < now:
        raise InvalidSession("the session has expired; connect again")
    expires_at = row[6]
    if expires_at - now < ttl_s / 2:  # slide the expiry, without a write on every call
        expires_at = now + ttl_s
        with store.write(history=True) as conn:
            conn.execute(
                "UPDATE tblSession SET ExpiresAt = ? WHERE SessionID = ?", (expires_at, session_id)
            )
    return Session(row[0], row[1], row[2], row[3], row[4], row[5], expires_at, _quirk(row[7]))


def get_settings(store: Store, session_id: str) -> dict[str, Any]:
    """A live session as the control API shows it, with its settings (``single_row_object``)."""
    _check_id(session_id)
    row = (
        store.read()
        .execute(
            "SELECT SessionID, Kind, AgentID, TenantID, Userkey, SecurityLevelID, ExpiresAt, "
            "SingleRowObject"
            " FROM tblSession WHERE SessionID = ? AND ExpiresAt >= ?",
            (session_id, time.time()),
        )
        .fetchone()
    )
    if row is None:
        raise _not_found(session_id)
    return _shown(row)


def put_settings(store: Store, session_id: str, raw: Any) -> dict[str, Any]:
    """Set a live session's settings (a key left out takes its default: the server's setting).

    A plain write, which moves the generation: an API answer a worker kept in the old shape is
    not given again.
    """
    _check_id(session_id)
    if not isinstance(raw, dict):
        raise BadParameter(
            f'the body must be a JSON object: {{"single_row_object": true, false or null}}, '
            f"not {json_type(raw)}"
        )
    unknown = sorted(set(raw) - set(SETTINGS))
    if unknown:
        raise BadParameter(f"unknown session setting {unknown[0]!r} (known: {', '.join(SETTINGS)})")
    single = raw.get("single_row_object")
    if single is not None and not isinstance(single, bool):
        raise BadParameter(
            f"'single_row_object' must be true, false or null (null: the server's setting), "
            f"not {json_type(single)}"
        )
    with store.write() as conn:
        row = conn.execute(
            "UPDATE tblSession SET SingleRowObject = ? WHERE SessionID = ? AND ExpiresAt >= ? "
            "RETURNING SessionID,"
            " Kind, AgentID, TenantID, Userkey, SecurityLevelID, ExpiresAt, SingleRowObject",
            (None if single is None else int(single), session_id, time.time()),
        ).fetchone()
        if row is None:
            raise _not_found(session_id)  # rolled back: the generation stays
    return _shown(row)


SETTINGS = ("single_row_object",)
_ID = re.compile(r"[0-9a-f]{32}")


def _check_id(session_id: str) -> None:
    if not _ID.fullmatch(session_id):
        raise BadParameter(
            f"the session id must be 32 lower-case hex digits, as connect and portalconnect "
            f"answer it, not {journal.clip(session_id)!r}"
        )


def _not_found(session_id: str) -> NotFound:
    return NotFound(
        f"no live session {session_id!r} (it never was, it expired, or a reset ended it)"
    )


def _quirk(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _shown(row: Any) -> dict[str, Any]:
    return {
        "session": row[0],
        "kind": row[1],
        "agent": row[2],
        "company": row[3],
        "userkey": row[4],
        "security_level": row[5],
        "single_row_object": _quirk(row[7]),
    }


def close_all(conn) -> None:
    """End every session (a reset), inside the caller's write transaction."""
    conn.execute("DELETE FROM tblSession")
