"""The API's directory: how its methods read objects, who sees what, and the companies (the
brands and agents are in brands.py and agents.py).

Results are what SpiceCSM's clients show (spicecsm-facts.md): rows with lower-case column
names, values as text, ``{"msg": "no results"}`` when a search or load finds nothing. Methods
that change a record named by id raise :class:`NotFound` (or :class:`UnknownBrand`) instead.

Choices where the facts are silent (docs of each method in surfaces/api/methods/directory.py):

- Visibility: an agent sees its own company only; a System Administrator (security level 4)
  sees every company. Agents and companies outside the view are answered as if they did not
  exist, except by ``agentExists``: logins are unique across the install, so it says that a
  login is taken (a row with ``login`` only) without telling whose it is.
- Security levels are enforced only where the facts say (``createCompany``/``deleteCompany``:
  level 4, by the method table) and for ``changePass``: one's own password at any level,
  another agent's at level 3 or more.
- ``agentAuth`` answers ``deny`` for an unknown login, an agent outside the view or a wrong
  password, and ``destroy`` for the right password of an inactive agent (or of an agent of an
  inactive company): the account exists but its login must be ended.
- Passwords given to ``createAgent``/``changePass`` are an MD5 hex digest (32 hex digits, any
  case) or else plain text, which is stored as its digest.
- Object keys are read case-insensitively (``AgentID`` = ``agentid``); keys the mock does not
  know are ignored, as PHP code reading ``$obj->key`` ignores them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain import readers
from mockspice.domain.errors import (
    BadParameter,
    CommunityLimit,
    Conflict,
    UnknownCompany,
)
from mockspice.domain.records import php_row, rows_or_none
from mockspice.domain.sessions import ADMIN, Session
from mockspice.store import dataset
from mockspice.store.db import Store
from mockspice.store.schema import COMPANY_TABLES, MAX_ID, table

SUCCESS = "success"
# A new company's case statuses: SpiceCSM's status 2 is "In Progress" (integration page); the
# others are the mock's choice.
NEW_COMPANY_STATUSES = ((1, "New", 0), (2, "In Progress", 0), (3, "Closed", 1))


# --- reading the objects clients send ------------------------------------------------------------


def fields(obj: dict[str, Any]) -> dict[str, Any]:
    """The object's keys in lower case (clients spell ``agentid`` and ``AgentID``)."""
    return {str(key).lower(): value for key, value in obj.items()}


def _read(method: str, read, *args: Any) -> Any:
    """A reader of mockspice.domain.readers, its message prefixed with the method."""
    try:
        return read(*args)
    except BadParameter as exc:
        raise BadParameter(f"{method}: {exc.message}") from None


def int_field(
    obj: dict[str, Any],
    key: str,
    method: str,
    *,
    required: bool = False,
    low: int = 1,
    high: int = MAX_ID,
) -> int | None:
    """An id (or, with ``low``/``high``, a whole number in that range); None when not given."""
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise BadParameter(f"{method}: '{key}' is required")
        return None
    if (low, high) == (1, MAX_ID):
        return _read(method, readers.ident, value, key)
    return _read(method, readers.whole, value, key, low, high)


def text_field(
    obj: dict[str, Any],
    key: str,
    method: str,
    *,
    required: bool = False,
    default: str | None = None,
) -> str | None:
    """Text (a number taken as PHP prints it); required text must not be blank."""
    value = obj.get(key)
    if value is None:
        if required:
            raise BadParameter(f"{method}: '{key}' is required")
        return default
    value = _read(method, readers.text, value, key)
    if required and not value.strip():
        raise BadParameter(f"{method}: '{key}' must not be empty")
    return value


def flag_field(obj: dict[str, Any], key: str, method: str) -> bool | None:
    """Yes or no (true/false, 1/0 or their text); None when not given."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    return _read(method, readers.flag, value, key)


def datetime_field(
    obj: dict[str, Any], key: str, method: str, *, required: bool = False
) -> str | None:
    """A date and time as the store keeps it (``YYYY-MM-DD HH:MM:SS``)."""
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise BadParameter(f"{method}: '{key}' is required")
        return None
    if isinstance(value, str) and len(value) > 64:  # the dataset's message would reflect all of it
        raise BadParameter(
            f"{method}: '{key}' must be a date and time like 2006-01-27 13:27:51, "
            f"not {readers.shown(value)}"
        )
    try:
        return dataset.datetime_text(value, f"{method}: {key}")
    except dataset.DatasetError as exc:
        raise BadParameter(str(exc)) from None


def label_field(
    obj: dict[str, Any], keys: tuple[str, ...], method: str, *, required: bool = True
) -> str | None:
    """A label under the first of ``keys`` given (``brandlabel`` or ``label``); never blank."""
    key = next((k for k in keys if obj.get(k) is not None), keys[0])
    value = text_field(obj, key, method, required=required)
    if value is not None and not value.strip():
        raise BadParameter(f"{method}: '{key}' must not be empty")
    return value


# --- visibility ------------------------------------------------------------------------------


def sees_all(session: Session) -> bool:
    """A System Administrator's session sees every company."""
    return session.kind == "agent" and session.security_level >= ADMIN


def visible_companies(conn: sqlite3.Connection, session: Session) -> list[int]:
    """The ids of the companies this session sees."""
    if sees_all(session):
        return [r[0] for r in conn.execute("SELECT TenantID FROM tblTenant ORDER BY TenantID")]
    return [
        r[0]
        for r in conn.execute(
            "SELECT TenantID FROM tblTenant WHERE TenantID = ?", (session.company_id,)
        )
    ]


def company_for(
    conn: sqlite3.Connection, session: Session, obj: dict[str, Any], method: str
) -> int:
    """The company a call works on: ``companyid`` if given (and seen), else the session's own."""
    company_id = int_field(obj, "companyid", method)
    if company_id is None:
        company_id = session.company_id
    if company_id is None or company_id not in visible_companies(conn, session):
        raise UnknownCompany(f"{method}: no company {company_id}")
    return company_id


# --- companies -------------------------------------------------------------------------------


def company_list(store: Store, session: Session) -> list[dict[str, Any]] | dict[str, str]:
    """The companies this session sees: ``companyid``, ``companylabel``, ``active``."""
    with store.snapshot() as conn:
        seen = set(visible_companies(conn, session))
        rows = [
            php_row({"companyid": r[0], "companylabel": r[1], "active": r[2]})
            for r in conn.execute(
                "SELECT TenantID, TenantLabel, Active FROM tblTenant ORDER BY TenantID"
            )
            if r[0] in seen
        ]
    return rows_or_none(rows)


def create_company(
    store: Store, session: Session, obj: dict[str, Any], edition: str
) -> list[dict[str, Any]]:
    """A new company with its own tables and default statuses, in one transaction."""
    method = "createCompany"
    obj = fields(obj)
    if edition == "community":
        raise CommunityLimit(f"{method}: the Community edition has a single company (id 1)")
    label = label_field(obj, ("companylabel", "label"), method)
    wanted = int_field(obj, "companyid", method)
    active = flag_field(obj, "active", method)
    with store.write() as conn:
        if (
            wanted is not None
            and conn.execute("SELECT 1 FROM tblTenant WHERE TenantID = ?", (wanted,)).fetchone()
        ):
            raise Conflict(f"{method}: company {wanted} exists")
        company_id = (
            wanted
            or conn.execute("SELECT COALESCE(MAX(TenantID), 0) + 1 FROM tblTenant").fetchone()[0]
        )
        if company_id > MAX_ID:
            raise Conflict(f"{method}: no company id is left; give companyid")
        conn.execute(
            "INSERT INTO tblTenant(TenantID, TenantLabel, Active) VALUES (?,?,?)",
            (company_id, label, int(active is not False)),
        )
        dataset.create_company_tables(conn, company_id)
        conn.executemany(
            f"INSERT INTO {table(company_id, 'tblStatus')} VALUES (?,?,?)", NEW_COMPANY_STATUSES
        )
    return [
        php_row(
            {"companyid": company_id, "companylabel": label, "active": int(active is not False)}
        )
    ]


def delete_company(store: Store, session: Session, obj: dict[str, Any]) -> dict[str, Any]:
    """Remove a company: its tables, its agents and their sessions."""
    method = "deleteCompany"
    company_id = int_field(fields(obj), "companyid", method, required=True)
    with store.write() as conn:
        if not conn.execute("SELECT 1 FROM tblTenant WHERE TenantID = ?", (company_id,)).fetchone():
            raise UnknownCompany(f"{method}: no company {company_id}")
        if company_id == session.company_id:
            # The caller would delete its own login with it, mid-session.
            raise Conflict(f"{method}: a session cannot delete its own company ({company_id})")
        for name in reversed(COMPANY_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {table(company_id, name)}")
        conn.execute("DELETE FROM tblSession WHERE TenantID = ?", (company_id,))
        conn.execute("DELETE FROM tblAgent WHERE TenantID = ?", (company_id,))
        conn.execute("DELETE FROM tblTenant WHERE TenantID = ?", (company_id,))
    return {"msg": SUCCESS, "companyid": str(company_id)}
