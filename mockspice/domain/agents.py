"""Agents as the API's directory methods read and change them: exists, auth, list, load,
create, change password, access. The rules of mockspice/domain/directory.py apply (visibility,
passwords as MD5 digests, keys read case-insensitively).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from typing import Any

from mockspice.domain.directory import (
    SUCCESS,
    company_for,
    fields,
    flag_field,
    int_field,
    sees_all,
    text_field,
    visible_companies,
)
from mockspice.domain.errors import (
    BadParameter,
    Conflict,
    NotFound,
    PermissionDenied,
)
from mockspice.domain.records import NO_RESULTS, php_row, rows_or_none
from mockspice.domain.sessions import ADMIN, Session
from mockspice.store.db import Store
from mockspice.store.schema import MAX_ID, table

# --- agents ----------------------------------------------------------------------------------

MAX_LOGINS = 1000  # agentExists: logins per call
SUPERVISOR = 3  # securitylevelid 3 and up may change another agent's password (the mock's choice)
_MD5 = re.compile(r"[0-9a-fA-F]{32}")

_AGENT_SELECT = (
    "SELECT a.AgentID, a.TenantID, a.Login, a.Password, a.FirstName, a.LastName, a.Email, "
    "a.SecurityLevelID,"
    " s.SecurityLevelLabel, a.TierID, t.TierLabel, a.Active, c.Active AS CompanyActive FROM "
    "tblAgent a"
    " JOIN tblSecurityLevel s ON s.SecurityLevelID = a.SecurityLevelID JOIN tblTier t ON t.TierID "
    "= a.TierID"
    " JOIN tblTenant c ON c.TenantID = a.TenantID"
)


def _visible_agent(
    conn: sqlite3.Connection, session: Session, where: str, args: tuple
) -> sqlite3.Row | None:
    row = conn.execute(f"{_AGENT_SELECT} WHERE {where}", args).fetchone()
    if row is None or not (sees_all(session) or row["TenantID"] == session.company_id):
        return None
    return row


def password_md5(value: str) -> str:
    """An MD5 hex digest as given, or the digest of a plain password."""
    return (
        value.lower() if _MD5.fullmatch(value) else hashlib.md5(value.encode("utf-8")).hexdigest()
    )


def _agent_row(row: sqlite3.Row) -> dict[str, Any]:
    return php_row(
        {
            "agentid": row["AgentID"],
            "securitylevelid": row["SecurityLevelID"],
            "tierid": row["TierID"],
            "login": row["Login"],
            "firstname": row["FirstName"],
            "lastname": row["LastName"],
            "companyid": row["TenantID"],
            "email": row["Email"],
            "active": row["Active"],
            "securitylevellabel": row["SecurityLevelLabel"],
            "tierlabel": row["TierLabel"],
        }
    )


def agent_exists(
    store: Store, session: Session, logins: list[str]
) -> list[dict[str, Any]] | dict[str, str]:
    """A row per existing login: the whole agent if seen, else only the login (it is taken)."""
    if len(logins) > MAX_LOGINS:
        raise BadParameter(f"agentExists: at most {MAX_LOGINS} logins per call, not {len(logins)}")
    conn = store.read()
    rows = []
    for login in logins:
        row = conn.execute(f"{_AGENT_SELECT} WHERE a.Login = ?", (login,)).fetchone()
        if row is None:
            continue
        seen = sees_all(session) or row["TenantID"] == session.company_id
        rows.append(_agent_row(row) if seen else {"login": row["Login"]})
    return rows_or_none(rows)


def agent_auth(
    store: Store, session: Session, login: str, password: str
) -> list[dict[str, Any]] | dict[str, str]:
    """The agent if the MD5 hex password matches; ``deny`` or ``destroy`` otherwise."""
    row = _visible_agent(store.read(), session, "a.Login = ?", (login,))
    if (
        row is None
        or not _MD5.fullmatch(password)
        or not secrets.compare_digest(password.lower(), row["Password"])
    ):
        return {"msg": "deny"}
    if not row["Active"] or not row["CompanyActive"]:
        return {"msg": "destroy"}
    full = _agent_row(row)
    return [
        {
            key: full[key]
            for key in (
                "agentid",
                "securitylevelid",
                "tierid",
                "login",
                "firstname",
                "lastname",
                "companyid",
            )
        }
    ]


def agent_list(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """The agents this session sees, filtered by company, security level, tier and active."""
    method = "agentList"
    obj = fields(obj)
    where, args = [], []
    for key, column, high in (
        ("companyid", "a.TenantID", MAX_ID),
        ("securitylevelid", "a.SecurityLevelID", 4),
        ("tierid", "a.TierID", 4),
    ):
        value = int_field(obj, key, method, high=high)
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    active = flag_field(obj, "active", method)
    if active is not None:
        where.append("a.Active = ?")
        args.append(int(active))
    with store.snapshot() as conn:
        seen = visible_companies(conn, session)
        where.append(f"a.TenantID IN ({','.join('?' * len(seen)) or 'NULL'})")
        args.extend(seen)
        rows = [
            _agent_row(r)
            for r in conn.execute(
                f"{_AGENT_SELECT} WHERE {' AND '.join(where)} ORDER BY a.AgentID", args
            )
        ]
    return rows_or_none(rows)


def load_agent(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """One agent by ``agentid`` or ``login``, or no results."""
    method = "loadAgent"
    obj = fields(obj)
    agent_id = int_field(obj, "agentid", method)
    login = text_field(obj, "login", method)
    if agent_id is None and login is None:
        raise BadParameter(f"{method}: give agentid or login")
    where, args = (
        ("a.AgentID = ?", (agent_id,)) if agent_id is not None else ("a.Login = ?", (login,))
    )
    row = _visible_agent(store.read(), session, where, args)
    return [_agent_row(row)] if row is not None else dict(NO_RESULTS)


def create_agent(store: Store, session: Session, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Create an agent, or change one when ``agentid`` names it (as SpiceCSM's clients use it)."""
    method = "createAgent"
    obj = fields(obj)
    agent_id = int_field(obj, "agentid", method)
    login = text_field(obj, "login", method, required=agent_id is None)
    if login is not None and not login.strip():
        raise BadParameter(f"{method}: login must not be empty")
    password = text_field(obj, "password", method, required=agent_id is None)
    if password is not None and not password:
        raise BadParameter(f"{method}: password must not be empty")
    texts = {
        column: text_field(obj, key, method)
        for key, column in (
            ("firstname", "FirstName"),
            ("lastname", "LastName"),
            ("email", "Email"),
        )
    }
    active = flag_field(obj, "active", method)
    level = int_field(
        obj, "securitylevelid", method, high=4
    )  # tblSecurityLevel and tblTier hold 1..4
    tier = int_field(obj, "tierid", method, high=4)
    with store.write() as conn:
        company_id = (
            company_for(conn, session, obj, method)
            if "companyid" in obj or agent_id is None
            else None
        )
        if login is not None:
            taken = conn.execute(
                "SELECT AgentID FROM tblAgent WHERE Login = ?", (login,)
            ).fetchone()
            if taken is not None and taken[0] != agent_id:
                raise Conflict(f"{method}: login {login!r} is taken")
        if agent_id is None:
            agent_id = conn.execute(
                "SELECT COALESCE(MAX(AgentID), 0) + 1 FROM tblAgent"
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO tblAgent(AgentID, TenantID, Login, Password, SecurityLevelID, TierID)"
                " VALUES (?,?,?,?,?,?)",
                (agent_id, company_id, login, password_md5(password), level or 1, tier or 1),
            )
        elif _visible_agent(conn, session, "a.AgentID = ?", (agent_id,)) is None:
            raise NotFound(f"{method}: no agent {agent_id}")
        changes = {
            **texts,
            "TenantID": company_id,
            "Login": login,
            "Password": None if password is None else password_md5(password),
            "SecurityLevelID": level,
            "TierID": tier,
            "Active": None if active is None else int(active),
        }
        for column, value in changes.items():
            if value is not None:
                conn.execute(
                    f"UPDATE tblAgent SET {column} = ? WHERE AgentID = ?", (value, agent_id)
                )
        # Open sessions follow the agent: a deactivated or moved agent's sessions end, a new
        # security level applies to the next call.
        if active is False:
            conn.execute("DELETE FROM tblSession WHERE AgentID = ?", (agent_id,))
        if company_id is not None:
            conn.execute(
                "DELETE FROM tblSession WHERE AgentID = ? AND TenantID <> ?", (agent_id, company_id)
            )
        if level is not None:
            conn.execute(
                "UPDATE tblSession SET SecurityLevelID = ? WHERE AgentID = ?", (level, agent_id)
            )
        return [
            _agent_row(conn.execute(f"{_AGENT_SELECT} WHERE a.AgentID = ?", (agent_id,)).fetchone())
        ]


def change_pass(store: Store, session: Session, obj: dict[str, Any]) -> dict[str, Any]:
    """Set an agent's password: one's own at any level, another agent's at level 3 or more."""
    method = "changePass"
    obj = fields(obj)
    password = text_field(obj, "newpassword", method) or text_field(
        obj, "password", method, required=True
    )
    if not password:
        raise BadParameter(f"{method}: password must not be empty")
    old = text_field(obj, "oldpassword", method)
    agent_id = int_field(obj, "agentid", method)
    login = text_field(obj, "login", method)
    with store.write() as conn:
        if agent_id is None and login is None:
            if session.agent_id is None:
                raise BadParameter(
                    f"{method}: a portal session has no agent; give agentid or login"
                )
            agent_id = session.agent_id
        where, args = (
            ("a.AgentID = ?", (agent_id,)) if agent_id is not None else ("a.Login = ?", (login,))
        )
        row = _visible_agent(conn, session, where, args)
        if row is None:
            raise NotFound(
                f"{method}: no agent {agent_id if agent_id is not None else repr(login)}"
            )
        if row["AgentID"] != session.agent_id and session.security_level < SUPERVISOR:
            raise PermissionDenied(
                f"{method}: changing another agent's password needs security level "
                f"{SUPERVISOR}; this session has {session.security_level}"
            )
        if old is not None and password_md5(old) != row["Password"]:
            raise PermissionDenied(f"{method}: the old password does not match")
        conn.execute(
            "UPDATE tblAgent SET Password = ? WHERE AgentID = ?",
            (password_md5(password), row["AgentID"]),
        )
    return {"msg": SUCCESS, "agentid": str(row["AgentID"])}


def agent_access(store: Store, session: Session, obj: dict[str, Any]) -> dict[str, Any]:
    """What an agent may do: its level and tier (ids and labels), its brands, its rights."""
    method = "getAgentAccess"
    obj = fields(obj)
    agent_id = int_field(obj, "agentid", method)
    if agent_id is None:
        if session.agent_id is None:
            raise BadParameter(f"{method}: a portal session has no agent; give agentid")
        agent_id = session.agent_id
    with store.snapshot() as conn:
        row = _visible_agent(conn, session, "a.AgentID = ?", (agent_id,))
        if row is None:
            raise NotFound(f"{method}: no agent {agent_id}")
        brands = [
            php_row({"brandid": r[0], "brandlabel": r[1], "brandlistlabel": r[2]})
            for r in conn.execute(
                "SELECT BrandID, BrandLabel, BrandListLabel FROM "
                f"{table(row['TenantID'], 'tblBrand')}"
                " WHERE Active = 1 ORDER BY BrandID"
            )
        ]
    level = row["SecurityLevelID"]
    full = _agent_row(row)
    del full["email"]
    may = {
        "createcompany": level >= ADMIN,
        "deletecompany": level >= ADMIN,
        "allcompanies": level >= ADMIN,
        "changeotherpasswords": level >= SUPERVISOR,
    }
    return {**full, "brands": brands, "may": {key: str(int(value)) for key, value in may.items()}}
