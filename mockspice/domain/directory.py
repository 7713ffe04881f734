"""Companies, brands and agents as the API's directory methods read and change them.

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

import hashlib
import re
import secrets
import sqlite3
from typing import Any

from mockspice.domain import readers
from mockspice.domain.errors import (
    BadParameter,
    CommunityLimit,
    Conflict,
    NotFound,
    PermissionDenied,
    UnknownBrand,
    UnknownCompany,
)
from mockspice.domain.records import NO_RESULTS, php_row, rows_or_none
from mockspice.domain.sessions import ADMIN, Session
from mockspice.store import dataset
from mockspice.store.db import Store
from mockspice.store.schema import COMPANY_TABLES, MAX_ID, table

MAX_LOGINS = 1000  # agentExists: logins per call
SUCCESS = "success"
SUPERVISOR = 3  # securitylevelid 3 and up may change another agent's password (the mock's choice)
# A new company's case statuses: SpiceCSM's status 2 is "In Progress" (integration page); the
# others are the mock's choice.
NEW_COMPANY_STATUSES = ((1, "New", 0), (2, "In Progress", 0), (3, "Closed", 1))
_MD5 = re.compile(r"[0-9a-fA-F]{32}")


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


def password_md5(value: str) -> str:
    """An MD5 hex digest as given, or the digest of a plain password."""
    return (
        value.lower() if _MD5.fullmatch(value) else hashlib.md5(value.encode("utf-8")).hexdigest()
    )


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


def _visible_agent(
    conn: sqlite3.Connection, session: Session, where: str, args: tuple
) -> sqlite3.Row | None:
    row = conn.execute(f"{_AGENT_SELECT} WHERE {where}", args).fetchone()
    if row is None or not (sees_all(session) or row["TenantID"] == session.company_id):
        return None
    return row


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


# --- brands ----------------------------------------------------------------------------------


def _brand_row(conn: sqlite3.Connection, company_id: int, brand_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT BrandID, BrandLabel, BrandListLabel, Active FROM {table(company_id, 'tblBrand')}"
        " WHERE BrandID = ?",
        (brand_id,),
    ).fetchone()
    if row is None:
        return None
    return php_row(
        {
            "brandid": row[0],
            "brandlabel": row[1],
            "brandlistlabel": row[2],
            "active": row[3],
            "companyid": company_id,
        }
    )


def _existing_brand(
    conn: sqlite3.Connection, company_id: int, obj: dict[str, Any], method: str
) -> int:
    brand_id = int_field(obj, "brandid", method, required=True)
    if _brand_row(conn, company_id, brand_id) is None:
        raise UnknownBrand(f"{method}: company {company_id} has no brand {brand_id}")
    return brand_id


def _new_brand_id(
    conn: sqlite3.Connection, company_id: int, wanted: int | None, method: str
) -> int:
    brands = table(company_id, "tblBrand")
    if wanted is not None:
        if conn.execute(f"SELECT 1 FROM {brands} WHERE BrandID = ?", (wanted,)).fetchone():
            raise Conflict(f"{method}: company {company_id} has a brand {wanted}")
        return wanted
    brand_id = conn.execute(f"SELECT COALESCE(MAX(BrandID), 0) + 1 FROM {brands}").fetchone()[0]
    if brand_id > MAX_ID:
        raise Conflict(f"{method}: no brand id is left; give brandid")
    return brand_id


def create_brand(
    store: Store, session: Session, obj: dict[str, Any], edition: str
) -> list[dict[str, Any]]:
    """A new brand with its greeting and empty web-call settings."""
    method = "createBrand"
    obj = fields(obj)
    if edition == "community":
        raise CommunityLimit(f"{method}: the Community edition has a single brand (id 1)")
    label = label_field(obj, ("brandlabel", "label"), method)
    list_label = label_field(obj, ("brandlistlabel",), method, required=False) or label
    greeting = text_field(obj, "greeting", method, default="")
    active = flag_field(obj, "active", method)
    wanted = int_field(obj, "brandid", method)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = _new_brand_id(conn, company_id, wanted, method)
        conn.execute(
            f"INSERT INTO {table(company_id, 'tblBrand')} VALUES (?,?,?,?)",
            (brand_id, label, list_label, int(active is not False)),
        )
        webcalls = dataset.check_webcalls({}, method)
        dataset.insert_brand_data(
            conn,
            company_id,
            [
                (brand_id, dataset.GREETING_LABEL, greeting),
                *dataset.webcall_rows(brand_id, webcalls),
            ],
        )
        return [_brand_row(conn, company_id, brand_id)]


def update_brand(store: Store, session: Session, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Change a brand's labels, active flag or greeting (only the keys given)."""
    method = "updateBrand"
    obj = fields(obj)
    label = label_field(obj, ("brandlabel", "label"), method, required=False)
    list_label = label_field(obj, ("brandlistlabel",), method, required=False)
    greeting = text_field(obj, "greeting", method)
    active = flag_field(obj, "active", method)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = _existing_brand(conn, company_id, obj, method)
        brands = table(company_id, "tblBrand")
        for column, value in (
            ("BrandLabel", label),
            ("BrandListLabel", list_label),
            ("Active", None if active is None else int(active)),
        ):
            if value is not None:
                conn.execute(
                    f"UPDATE {brands} SET {column} = ? WHERE BrandID = ?", (value, brand_id)
                )
        if greeting is not None:
            conn.execute(
                f"INSERT OR REPLACE INTO {table(company_id, 'tblBrandData')}(BrandID, DataLabel, "
                "DataText)"
                " VALUES (?,?,?)",
                (brand_id, dataset.GREETING_LABEL, greeting),
            )
        return [_brand_row(conn, company_id, brand_id)]


def delete_brand(store: Store, session: Session, obj: dict[str, Any]) -> dict[str, Any]:
    """Remove a brand and its brand data; a brand that still has accounts or cases is refused."""
    method = "deleteBrand"
    obj = fields(obj)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = _existing_brand(conn, company_id, obj, method)
        accounts = conn.execute(
            f"SELECT COUNT(*) FROM {table(company_id, 'tblAccount')} WHERE BrandID = ?", (brand_id,)
        ).fetchone()[0]
        cases = conn.execute(
            f"SELECT COUNT(*) FROM {table(company_id, 'tblCase')} WHERE BrandID = ?", (brand_id,)
        ).fetchone()[0]
        if accounts or cases:
            raise Conflict(
                f"{method}: brand {brand_id} still has {accounts} account(s) and {cases} case(s); "
                'deactivate it with updateBrand {"active": 0} instead'
            )
        conn.execute(f"DELETE FROM {table(company_id, 'tblBrand')} WHERE BrandID = ?", (brand_id,))
    return {"msg": SUCCESS, "brandid": str(brand_id)}


def copy_brand(
    store: Store, session: Session, obj: dict[str, Any], edition: str
) -> list[dict[str, Any]]:
    """A new brand with a brand's settings and brand data (greeting, web calls); no accounts or
    cases.
    """
    method = "copyBrand"
    obj = fields(obj)
    if edition == "community":
        raise CommunityLimit(f"{method}: the Community edition has a single brand (id 1)")
    label = label_field(obj, ("brandlabel", "label"), method, required=False)
    list_label = label_field(obj, ("brandlistlabel",), method, required=False)
    wanted = int_field(obj, "newbrandid", method)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        source = _existing_brand(conn, company_id, obj, method)
        brands = table(company_id, "tblBrand")
        row = conn.execute(
            f"SELECT BrandLabel, BrandListLabel, Active FROM {brands} WHERE BrandID = ?", (source,)
        ).fetchone()
        brand_id = _new_brand_id(conn, company_id, wanted, method)
        conn.execute(
            f"INSERT INTO {brands} VALUES (?,?,?,?)",
            (brand_id, label or f"{row[0]} (copy)", list_label or row[1], row[2]),
        )
        for name in ("tblBrandData", "tblBrandSecret"):
            data = table(company_id, name)
            conn.execute(
                f"INSERT INTO {data}(BrandID, DataLabel, DataText) SELECT ?, DataLabel, DataText "
                f"FROM {data}"
                " WHERE BrandID = ?",
                (brand_id, source),
            )
        return [_brand_row(conn, company_id, brand_id)]


def script_file(brand_id: int) -> str:
    """The file name ``scriptLoad`` gives a brand's greeting script."""
    return f"brand_{brand_id}_greeting.txt"


def script_load(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """The brand's greeting script: its file name and its text, or no results."""
    method = "scriptLoad"
    obj = fields(obj)
    with store.snapshot() as conn:
        company_id = company_for(conn, session, obj, method)
        brand_id = int_field(obj, "brandid", method, required=True)
        brand = _brand_row(conn, company_id, brand_id)
        if brand is None:
            return dict(NO_RESULTS)
        text = conn.execute(
            f"SELECT DataText FROM {table(company_id, 'tblBrandData')} WHERE BrandID = ?"
            " AND DataLabel = ?",
            (brand_id, dataset.GREETING_LABEL),
        ).fetchone()
    return [
        {
            "brandid": brand["brandid"],
            "brandlabel": brand["brandlabel"],
            "filename": script_file(brand_id),
            "script": text[0] if text else "",
        }
    ]


# --- agents ----------------------------------------------------------------------------------

_AGENT_SELECT = (
    "SELECT a.AgentID, a.TenantID, a.Login, a.Password, a.FirstName, a.LastName, a.Email, "
    "a.SecurityLevelID,"
    " s.SecurityLevelLabel, a.TierID, t.TierLabel, a.Active, c.Active AS CompanyActive FROM "
    "tblAgent a"
    " JOIN tblSecurityLevel s ON s.SecurityLevelID = a.SecurityLevelID JOIN tblTier t ON t.TierID "
    "= a.TierID"
    " JOIN tblTenant c ON c.TenantID = a.TenantID"
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
