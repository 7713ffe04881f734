"""Accounts through the API: ``accountLoad``, ``load`` and the record batches of
``create``/``update``/``delete``.

SpiceCSM does not publish the shapes of these objects (spicecsm-facts.md, "The shapes of the
objects ... are not public"); the mock's choices, documented in docs/api.md:

- Which company: the session's. A portal session (``portalconnect``) sees and changes only its
  own account, and cannot create or delete accounts.
- ``accountLoad(obj)``: ``obj`` holds the search web call's variables, named as the integration
  page names them (``Userkey``, ``LastName``, ``PrimaryPhone``, ``CustFields``, ...), ANDed,
  plus an optional ``brand`` (or ``brandid``). Phones match by their digits through the phone index
  (any phone of any contact); ``Userkey`` and ``Password`` exactly; other text trimmed and
  case-insensitive. With a ``brand`` that has a search URL, the brand's external search runs too;
  its rows carry ``"external": "1"``. A row: :data:`ROW_KEYS`, values as strings.
- ``load(obj)``: one object, ``{"type": "account", "userkey"}`` or ``{"type": "case", "id"}``
  (without ``type``: a ``userkey`` alone means an account, an ``id`` a case).
- Record batches: every record has a ``type`` (account, contact, fieldvalue, case, response);
  the whole batch is one transaction; the first bad record fails it, named by its index.
  Committed changes fire the brands' web calls afterwards: ``update`` (userXML) for every
  account created or changed, ``case`` (caseXML of the new response) for every new case or
  response. A partner that fails does not undo anything; the result says how each call went.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockspice.domain.errors import (
    BadParameter,
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    UnknownBrand,
    UnknownCompany,
    json_type,
)
from mockspice.domain.outbound import NoWebCall, Outbound
from mockspice.domain.records import NO_RESULTS
from mockspice.domain.sessions import Session
from mockspice.store import dataset
from mockspice.store.dataset import CONTACT_COLUMNS, PHONE_KEYS, DatasetError
from mockspice.store.db import Store
from mockspice.store.phones import normalize_phone
from mockspice.store.schema import MAX_ID, table
from mockspice.webcalls.criteria import CriteriaError, search_criteria

MAX_RECORDS = 1000  # records in one create/update/delete call
MAX_ROWS = 10_000  # rows of one search, as query() caps them
ACTIONS = ("create", "update", "delete")
RECORD_TYPES = ("account", "contact", "fieldvalue", "case", "response")
LOAD_ARRAY = (
    "Only one object may be used for the load function. Arrays are not allowed."  # facts file
)
# A search row: the search reply's user attributes (name), the account and its first contact.
ROW_KEYS = ("userkey", "brandid", "status", "accountid", "external", "name", *CONTACT_COLUMNS)
# Names a client may use for an account's keys besides the dataset's own (docs/fixtures.md):
# the row keys of accountLoad.
ACCOUNT_ALIASES = {"brandid": "brand", "accountid": "account"}
_PHONE_CRITERIA = ("pphone", "sphone", "mobile", "fax")
_ACCOUNT_TEXT = {"status": "Status", "account": "ExternalID"}  # compared trimmed, any case


@dataclass(frozen=True)
class Scope:
    """What a session may reach: its company and, for a portal session, its one account."""

    company_id: int
    userkey: str | None  # a portal session: only this account
    agent_id: int | None  # the agent who writes responses (None for a portal session)

    @classmethod
    def of(cls, session: Session) -> Scope:
        """The scope of an API session."""
        if session.company_id is None:
            raise PermissionDenied("this session belongs to no company")
        return cls(
            session.company_id,
            session.userkey if session.kind == "portal" else None,
            session.agent_id if session.kind == "agent" else None,
        )

    def check_owner(self, userkey: str) -> None:
        """:class:`PermissionDenied` when a portal session reaches for another account."""
        if self.userkey is not None and userkey != self.userkey:
            raise PermissionDenied(
                f"a portal session may only use its own account ({self.userkey!r})"
            )


@dataclass
class Effects:
    """What a batch changed that partners hear about once it is committed."""

    accounts: dict[str, int] = field(default_factory=dict)  # userkey -> brand: update web call
    deleted: set[str] = field(default_factory=set)
    responses: list[tuple[int, int, int]] = field(
        default_factory=list
    )  # (brand, case, response): case call

    def account_changed(self, userkey: str, brand: int) -> None:
        """Remember an account created or changed."""
        self.accounts[userkey] = brand
        self.deleted.discard(userkey)


# --- small checks shared with cases.py -----------------------------------------------------


def fold(value: Any) -> str:
    """Text as the search compares it: trimmed, case-folded."""
    return str(value).strip().casefold()


def folded(column: str) -> str:
    """SQL giving :func:`fold` of ``column``: SQLite's own ``lower(trim())`` where it is exact (the
    value is printable ASCII: spaces are its only white space, A-Z its only cased letters), the
    Python function ``spice_fold`` for the rest. A Python function called on every row made the
    search take the GIL back from SQLite row by row, which under the server's threads tripled the
    cost of a search.

    ASCII without NUL: as many bytes as characters (SQLite's length() of text stops at a NUL,
    and so does GLOB, hence this test first); printable: GLOB finds no byte outside space..~.
    """
    return (
        f"(CASE WHEN length(CAST({column} AS BLOB)) = length({column}) AND NOT {column} GLOB '*[^ "
        "-~]*'"
        f" THEN lower(trim({column})) ELSE spice_fold({column}) END)"
    )


def text(record: dict[str, Any], key: str) -> str:
    """A text value of a record (a number is taken as its digits)."""
    value = record[key]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadParameter(f"'{key}' must be text, not {json_type(value)}")
    return value  # no lone surrogate: surfaces/api/dispatch.py refuses them before any method runs


def ident(value: Any, key: str) -> int:
    """An id: a whole number or its digits, 1 to 2147483647."""
    if (
        isinstance(value, str)
        and value.strip().isascii()
        and value.strip().isdigit()
        and len(value.strip()) <= 10
    ):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise BadParameter(
            f"'{key}' must be an id (a whole number from 1 to {MAX_ID}), not {_shown(value)}"
        )
    return value


def required(record: dict[str, Any], key: str, what: str) -> Any:
    """A key a record must have."""
    if key not in record or record[key] is None or record[key] == "":
        raise BadParameter(f"{'an' if what[0] in 'aeiou' else 'a'} {what} record needs '{key}'")
    return record[key]


def only_keys(record: dict[str, Any], known: tuple[str, ...], what: str) -> None:
    """Refuse a key the record type does not have (a typo would otherwise be ignored)."""
    unknown = [k for k in record if k not in known]
    if unknown:
        raise BadParameter(
            f"unknown key {unknown[0]!r} in a {what} record (known: {', '.join(known)})"
        )


def string(value: Any) -> str | None:
    """A value as PHP's MySQL functions give it: text, NULL as null."""
    return None if value is None else str(value)


def check_company(conn: sqlite3.Connection, company_id: int) -> None:
    """:class:`UnknownCompany` when the session's company is gone."""
    if conn.execute("SELECT 1 FROM tblTenant WHERE TenantID = ?", (company_id,)).fetchone() is None:
        raise UnknownCompany(f"company {company_id} does not exist")


def check_brand(conn: sqlite3.Connection, company_id: int, brand_id: int) -> None:
    """:class:`UnknownBrand` when the company has no such brand."""
    if (
        conn.execute(
            f"SELECT 1 FROM {table(company_id, 'tblBrand')} WHERE BrandID = ?", (brand_id,)
        ).fetchone()
        is None
    ):
        raise UnknownBrand(f"brand {brand_id} does not exist in company {company_id}")


def account_row(conn: sqlite3.Connection, scope: Scope, userkey: Any) -> tuple[int, int, str]:
    """``(AccountID, BrandID, Userkey)`` of an account of the scope; :class:`NotFound` otherwise."""
    if not isinstance(userkey, str):
        raise BadParameter(f"'userkey' must be text, not {json_type(userkey)}")
    scope.check_owner(userkey)
    row = conn.execute(
        f"SELECT AccountID, BrandID, Userkey FROM {table(scope.company_id, 'tblAccount')}"
        " WHERE Userkey = ?",
        (userkey,),
    ).fetchone()
    if row is None:
        raise NotFound(f"company {scope.company_id} has no account with userkey {userkey!r}")
    return row[0], row[1], row[2]


def _shown(value: Any) -> str:
    return (
        repr(value)[:60]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
        else json_type(value)
    )


# --- accountLoad --------------------------------------------------------------------------


def account_load(
    store: Store, outbound: Outbound, session: Session, obj: dict[str, Any], self_url: str
) -> tuple[list[dict[str, Any]] | dict[str, str], list[dict[str, Any]]]:
    """Search accounts: rows (or ``{"msg": "no results"}``) and the web calls made."""
    scope = Scope.of(session)
    if "brand" in obj and "brandid" in obj:
        raise BadParameter("accountLoad: 'brand' and 'brandid' are the same key; give one")
    brand = obj.get("brand", obj.get("brandid"))  # brandid: as the rows and other methods name it
    variables = {
        k: v for k, v in obj.items() if k not in ("brand", "brandid") and v not in ("", None)
    }
    brand_id = None if brand in (None, "") else ident(brand, "brand")
    try:
        criteria = search_criteria(variables)
    except CriteriaError as exc:
        raise BadParameter(f"accountLoad: {exc}") from None
    if "fields" in criteria:
        criteria["fields"] = {k: v for k, v in criteria["fields"].items() if v != ""}
        if not criteria["fields"]:
            del criteria["fields"]
    if not criteria:
        raise BadParameter(
            'accountLoad needs at least one search variable with data, e.g. {"LastName": "Doe"}; '
            "the variables are those of the search web call (Userkey, FirstName, LastName, "
            "PrimaryPhone, ..., CustFields), and optionally brand"
        )
    if scope.userkey is not None:
        if criteria.get("userkey", scope.userkey) != scope.userkey:
            return NO_RESULTS, []
        criteria["userkey"] = scope.userkey  # a portal user searches within their own account
    with store.snapshot() as conn:
        check_company(conn, scope.company_id)
        if brand_id is not None:
            check_brand(conn, scope.company_id, brand_id)
        rows = _search(conn, scope.company_id, brand_id, criteria)
    fired: list[dict[str, Any]] = []
    # The external search belongs to a brand: it runs only when the caller names one.
    if brand_id is not None and len(rows) < MAX_ROWS:
        try:
            target = outbound.brand_endpoint(scope.company_id, brand_id, "search", self_url)
        except NoWebCall:
            target = None
        if target is not None:
            exchange = outbound.engine.search(
                target, criteria, {"company": scope.company_id, "brand": brand_id}
            )
            fired.append(summary(exchange))
            if exchange.ok:
                rows += [
                    _external_row(r, brand_id)
                    for r in exchange.records
                    if scope.userkey is None or r["userkey"] == scope.userkey
                ][: MAX_ROWS - len(rows)]
    return (rows or NO_RESULTS), fired


def _search(
    conn: sqlite3.Connection, company_id: int, brand_id: int | None, criteria: dict[str, Any]
) -> list[dict[str, Any]]:
    conn.create_function(
        "spice_fold", 1, lambda v: None if v is None else fold(v), deterministic=True
    )
    t = {
        name: table(company_id, name)
        for name in ("tblAccount", "tblContact", "tblContactPhone", "tblCustomFieldValue")
    }
    where, args = [], []
    if brand_id is not None:
        where.append("a.BrandID = ?")
        args.append(brand_id)
    for key, value in criteria.items():
        if key == "userkey":
            where.append("a.Userkey = ?")  # the account's name: exact, and through its index
            args.append(value)
        elif key == "password":
            where.append("a.Password = ?")  # a secret: compared exactly
            args.append(value)
        elif key in _ACCOUNT_TEXT:
            where.append(f"{folded(f'a.{_ACCOUNT_TEXT[key]}')} = ?")
            args.append(fold(value))
        elif key in _PHONE_CRITERIA:
            # The phone index holds every phone of every contact by its digits (store/phones.py).
            where.append(
                f"a.AccountID IN (SELECT AccountID FROM {t['tblContactPhone']} WHERE Digits = ?)"
            )
            args.append(normalize_phone(value) or "-")  # no digits: matches nothing
        elif key == "fields":
            for field_id, wanted in value.items():
                where.append(
                    f"EXISTS (SELECT 1 FROM {t['tblCustomFieldValue']} v WHERE v.AccountID = "
                    "a.AccountID"
                    f" AND v.FieldID = ? AND {folded('v.Value')} = ?)"
                )
                args.extend((field_id, fold(wanted)))
        else:
            where.append(
                f"EXISTS (SELECT 1 FROM {t['tblContact']} k WHERE k.AccountID = a.AccountID"
                f" AND {folded(f'k.{CONTACT_COLUMNS[key]}')} = ?)"
            )
            args.append(fold(value))
    columns = ", ".join(f"c.{column}" for column in CONTACT_COLUMNS.values())
    sql = (
        f"SELECT a.Userkey, a.BrandID, a.Status, a.ExternalID, {columns} FROM {t['tblAccount']} a"
        f" LEFT JOIN {t['tblContact']} c ON c.AccountID = a.AccountID AND c.Position ="
        f" (SELECT MIN(Position) FROM {t['tblContact']} WHERE AccountID = a.AccountID)"
        f" WHERE {' AND '.join(where)} ORDER BY a.AccountID LIMIT ?"
    )
    rows = []
    for r in conn.execute(sql, (*args, MAX_ROWS)):
        contact = {key: r[4 + i] or "" for i, key in enumerate(CONTACT_COLUMNS)}
        name = " ".join(filter(None, (contact["firstname"], contact["lastname"])))
        rows.append(
            {
                "userkey": r[0],
                "brandid": str(r[1]),
                "status": r[2],
                "accountid": r[3],
                "external": "0",
                "name": name,
                **contact,
            }
        )
    return rows


def _external_row(record: dict[str, str], brand_id: int) -> dict[str, Any]:
    """A partner's search record as a row: what the search reply gives (status, userkey, name,
    email, phone).
    """
    row = dict.fromkeys(ROW_KEYS, "")
    row.update(
        userkey=record["userkey"],
        brandid=str(brand_id),
        status=record["status"],
        external="1",
        name=record["name"],
        pemail=record["email"],
        pphone=record["phone"],
    )
    return row


def summary(exchange: Any) -> dict[str, Any]:
    """A web call as a result names it: ``{"id", "kind", "outcome"}`` (the id is its journal
    entry's).
    """
    return {"id": string(exchange.id), "kind": exchange.kind, "outcome": exchange.outcome}


# --- load ---------------------------------------------------------------------------------


def load(store: Store, session: Session, obj: Any) -> dict[str, Any]:
    """One account (by userkey) or one case (by id), whole; ``NotFound`` when there is none."""
    if isinstance(obj, list):
        raise BadParameter(LOAD_ARRAY)
    if not isinstance(obj, dict):
        raise BadParameter(
            'load takes one object: {"type": "account", "userkey": ...} or {"type": "case", "id": '
            "...}"
        )
    kind = obj.get("type")
    if kind is None:
        kind = (
            "case" if ("id" in obj or "caseid" in obj) else "account" if "userkey" in obj else None
        )
    scope = Scope.of(session)
    if kind == "account":
        only_keys(obj, ("type", "userkey"), "load account")
        with store.snapshot() as conn:
            check_company(conn, scope.company_id)
            account_id = account_row(conn, scope, required(obj, "userkey", "load account"))[0]
            return _account(conn, scope.company_id, account_id)
    if kind == "case":
        from mockspice.domain import cases  # cases builds on this module: imported late, no cycle

        return cases.load_case(store, scope, obj)
    raise BadParameter(f'load: \'type\' must be "account" or "case", not {_shown(kind)}')


def _account(conn: sqlite3.Connection, company_id: int, account_id: int) -> dict[str, Any]:
    """An account with its contacts, custom field values and cases, values as strings."""
    t = {
        name: table(company_id, name)
        for name in (
            "tblAccount",
            "tblContact",
            "tblCustomFieldValue",
            "tblCustomField",
            "tblCase",
            "tblStatus",
            "tblIssue",
        )
    }
    a = conn.execute(
        f"SELECT Userkey, BrandID, Status, ExternalID FROM {t['tblAccount']} WHERE AccountID = ?",
        (account_id,),
    ).fetchone()
    columns = ", ".join(CONTACT_COLUMNS.values())
    contacts = [
        {"contactid": str(r[0]), "position": str(r[1]), **dict(zip(CONTACT_COLUMNS, r[2:]))}
        for r in conn.execute(
            f"SELECT ContactID, Position, {columns} FROM {t['tblContact']}"
            " WHERE AccountID = ? ORDER BY Position",
            (account_id,),
        )
    ]
    fields = [
        {"id": str(r[0]), "label": r[1], "value": r[2]}
        for r in conn.execute(
            f"SELECT v.FieldID, f.FieldLabel, v.Value FROM {t['tblCustomFieldValue']} v JOIN "
            f"{t['tblCustomField']} f"
            " ON f.FieldID = v.FieldID WHERE v.AccountID = ? ORDER BY v.FieldID",
            (account_id,),
        )
    ]
    cases = [
        {
            "caseid": str(r[0]),
            "statusid": str(r[1]),
            "status": r[2],
            "closed": str(r[3]),
            "issueid": string(r[4]),
            "issue": r[5],
            "created": r[6],
        }
        for r in conn.execute(
            "SELECT c.CaseID, c.StatusID, s.StatusLabel, s.Closed, c.IssueID, i.IssueLabel, "
            "c.Created"
            f" FROM {t['tblCase']} c JOIN {t['tblStatus']} s ON s.StatusID = c.StatusID"
            f" LEFT JOIN {t['tblIssue']} i ON i.IssueID = c.IssueID WHERE c.AccountID = ? ORDER "
            "BY c.CaseID",
            (account_id,),
        )
    ]
    return {
        "type": "account",
        "userkey": a[0],
        "brandid": str(a[1]),
        "status": a[2],
        "accountid": a[3],
        "contacts": contacts,
        "fields": fields,
        "cases": cases,
    }


# --- record batches -----------------------------------------------------------------------

Handler = Callable[[sqlite3.Connection, Scope, dict[str, Any], Effects], dict[str, Any]]


def apply(
    store: Store,
    outbound: Outbound,
    session: Session,
    action: str,
    records: list[dict[str, Any]],
    self_url: str,
) -> dict[str, Any]:
    """Run a batch of records in one transaction, then fire the web calls its changes call for.

    :returns: ``{"records": [what each record did], "webcalls": [{"id", "kind", "outcome"}]}``.
    :raises DomainError: the first bad record, named by its index; nothing was written.
    """
    from mockspice.domain import cases  # cases builds on this module: imported late, no cycle

    scope = Scope.of(session)
    if not records:
        raise BadParameter(f'{action} needs at least one record, e.g. [{{"type": "account", ...}}]')
    if len(records) > MAX_RECORDS:
        raise BadParameter(
            f"{action} takes at most {MAX_RECORDS} records in one call, not {len(records)}"
        )
    handlers: dict[str, dict[str, Handler]] = {**TYPES, **cases.TYPES}
    effects, done = Effects(), []
    with store.write() as conn:
        check_company(conn, scope.company_id)
        for index, record in enumerate(records):
            kind = record.get("type")
            try:
                if not isinstance(kind, str) or kind not in handlers:
                    raise BadParameter(
                        f"'type' must be one of {', '.join(RECORD_TYPES)}, not {_shown(kind)}"
                    )
                body = {k: v for k, v in record.items() if k != "type"}
                done.append(handlers[kind][action](conn, scope, body, effects))
            except DomainError as exc:
                raise _at(exc, index, kind) from None
            except sqlite3.IntegrityError as exc:  # a constraint the checks above did not foresee
                raise _at(Conflict(f"the store refused it ({exc})"), index, kind) from None
    return {"records": done, "webcalls": fire(outbound, scope.company_id, effects, self_url)}


def _at(exc: DomainError, index: int, kind: Any) -> DomainError:
    """The error, its message naming the record (all-or-nothing: nothing was written)."""
    named = f" ({kind})" if isinstance(kind, str) and kind in RECORD_TYPES else ""
    exc.message = f"record {index}{named}: {exc.message}; nothing was written"
    exc.args = (exc.message,)
    return exc


def fire(
    outbound: Outbound, company_id: int, effects: Effects, self_url: str
) -> list[dict[str, Any]]:
    """Fire the committed changes' web calls; a brand without the URL is skipped."""
    fired = []
    for userkey, brand_id in effects.accounts.items():
        if userkey in effects.deleted:
            continue
        try:
            target = outbound.brand_endpoint(company_id, brand_id, "update", self_url)
            account = outbound.stored_account(company_id, userkey)
        except DomainError:  # NoWebCall, or the brand or account went away since the commit
            continue
        fired.append(
            summary(
                outbound.engine.update(target, account, {"company": company_id, "brand": brand_id})
            )
        )
    for brand_id, case_id, response_id in effects.responses:
        try:
            target = outbound.brand_endpoint(company_id, brand_id, "case", self_url)
            userkey, tickets = outbound.case_tickets(company_id, brand_id, case_id, response_id)
        except DomainError:  # NoWebCall, or the case was deleted later in the same batch
            continue
        fired.append(
            summary(
                outbound.engine.case(
                    target, userkey, tickets, {"company": company_id, "brand": brand_id}
                )
            )
        )
    return fired


# --- account records ----------------------------------------------------------------------

ACCOUNT_KEYS = (
    "userkey",
    "brand",
    "brandid",
    "password",
    "status",
    "account",
    "accountid",
    "contacts",
    "fields",
)


def _account_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the dataset's key names, and ``fields`` as ``[{"id", "value"}]``."""
    only_keys(record, ACCOUNT_KEYS, "account")
    out = {}
    for key, value in record.items():
        name = ACCOUNT_ALIASES.get(key, key)
        if name in out:
            raise BadParameter(f"'{key}' and '{name}' are the same key; give one")
        out[name] = value
    if "brand" in out:
        out["brand"] = ident(out["brand"], "brand")
    if "fields" in out:
        out["fields"] = _field_list(out["fields"])
    return out


def _field_list(value: Any) -> list[dict[str, Any]]:
    """Custom field values as ``{id: value}`` or ``[{"id", "value"}]``, ids checked."""
    if isinstance(value, dict):
        value = [{"id": k, "value": v} for k, v in value.items()]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadParameter('\'fields\' must be {field id: value} or a list of {"id", "value"}')
    return [{**v, "id": ident(v.get("id"), "fields[].id")} for v in value]


def _check_fields(conn: sqlite3.Connection, company_id: int, fields: list[dict[str, Any]]) -> None:
    known = {
        r[0] for r in conn.execute(f"SELECT FieldID FROM {table(company_id, 'tblCustomField')}")
    }
    for value in fields:
        if value["id"] not in known:
            raise NotFound(f"company {company_id} has no custom field {value['id']}")


def _create_account(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    if scope.userkey is not None:
        raise PermissionDenied("a portal session cannot create accounts")
    record = _account_record(record)
    required(record, "userkey", "account")
    required(record, "brand", "account")
    try:
        account = dataset.check_account(record, "record")
    except DatasetError as exc:
        raise BadParameter(f"{exc.place}: {exc.reason}" if exc.place else exc.reason) from None
    cid = scope.company_id
    check_brand(conn, cid, account["brand"])
    _check_fields(conn, cid, account["fields"])
    if conn.execute(
        f"SELECT 1 FROM {table(cid, 'tblAccount')} WHERE Userkey = ?", (account["userkey"],)
    ).fetchone():
        raise Conflict(f"company {cid} already has an account with userkey {account['userkey']!r}")
    dataset.insert_accounts(conn, cid, [account])  # also writes the contacts' phone index rows
    account_id = conn.execute(
        f"SELECT AccountID FROM {table(cid, 'tblAccount')} WHERE Userkey = ?", (account["userkey"],)
    ).fetchone()[0]
    contact_ids = [
        str(r[0])
        for r in conn.execute(
            f"SELECT ContactID FROM {table(cid, 'tblContact')} WHERE AccountID = ? ORDER BY "
            "Position",
            (account_id,),
        )
    ]
    effects.account_changed(account["userkey"], account["brand"])
    return {
        "type": "account",
        "userkey": account["userkey"],
        "brandid": str(account["brand"]),
        "contactids": contact_ids,
    }


def _update_account(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    record = _account_record(record)
    if "contacts" in record:
        raise BadParameter(
            "an account update does not take 'contacts'; send contact records "
            '({"type": "contact", ...}) to create, update or delete contacts'
        )
    account_id, brand_id, userkey = account_row(conn, scope, required(record, "userkey", "account"))
    if "brand" in record and record["brand"] != brand_id:
        raise BadParameter(
            f"an account's brand cannot be changed (account {userkey!r} is in brand {brand_id})"
        )
    changes = {key: record[key] for key in ("password", "status", "account") if key in record}
    if not changes and "fields" not in record:
        raise BadParameter(
            "an account update needs something to change: password, status, account or fields"
        )
    columns = {"password": "Password", "status": "Status", "account": "ExternalID"}
    for key, value in changes.items():
        value = text(changes, key)
        if key == "status" and not value.strip():
            raise BadParameter("'status' must not be empty")
        conn.execute(
            f"UPDATE {table(scope.company_id, 'tblAccount')} SET {columns[key]} = ? WHERE "
            "AccountID = ?",
            (value, account_id),
        )
    for value in record.get("fields", ()):
        _set_field(conn, scope.company_id, account_id, value, upsert=True)
    effects.account_changed(userkey, brand_id)
    return {"type": "account", "userkey": userkey, "brandid": str(brand_id)}


def _delete_account(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    if scope.userkey is not None:
        raise PermissionDenied("a portal session cannot delete accounts")
    only_keys(record, ("userkey",), "account delete")
    account_id, brand_id, userkey = account_row(conn, scope, required(record, "userkey", "account"))
    cid = scope.company_id
    count = conn.execute(
        f"SELECT COUNT(*) FROM {table(cid, 'tblCase')} WHERE AccountID = ?", (account_id,)
    ).fetchone()[0]
    if count:
        raise Conflict(f"account {userkey!r} has {count} case(s); delete them first")
    # Contacts, their phone index rows and field values go with the account (ON DELETE CASCADE);
    # the index rows are named too, so the index never depends on the foreign-key setting.
    conn.execute(f"DELETE FROM {table(cid, 'tblContactPhone')} WHERE AccountID = ?", (account_id,))
    conn.execute(f"DELETE FROM {table(cid, 'tblAccount')} WHERE AccountID = ?", (account_id,))
    effects.deleted.add(userkey)
    effects.accounts.pop(userkey, None)
    return {"type": "account", "userkey": userkey, "brandid": str(brand_id)}


# --- contact records ----------------------------------------------------------------------

CONTACT_KEYS = ("contactid", "userkey", "position", *CONTACT_COLUMNS)


def _index_phones(conn: sqlite3.Connection, company_id: int, contact_id: int) -> None:
    """Rewrite one contact's rows of the phone index from its stored phones."""
    t = {name: table(company_id, name) for name in ("tblContact", "tblContactPhone", "tblAccount")}
    conn.execute(f"DELETE FROM {t['tblContactPhone']} WHERE ContactID = ?", (contact_id,))
    phones = ", ".join(f"c.{CONTACT_COLUMNS[key]}" for key in PHONE_KEYS)
    row = conn.execute(
        f"SELECT c.AccountID, a.BrandID, {phones} FROM {t['tblContact']} c"
        f" JOIN {t['tblAccount']} a ON a.AccountID = c.AccountID WHERE c.ContactID = ?",
        (contact_id,),
    ).fetchone()
    digits = sorted({normalize_phone(value) for value in row[2:]} - {""})
    conn.executemany(
        f"INSERT INTO {t['tblContactPhone']} VALUES (?,?,?,?)",
        [(contact_id, row[0], row[1], d) for d in digits],
    )


def _contact_values(record: dict[str, Any]) -> dict[str, str]:
    return {key: text(record, key) for key in CONTACT_COLUMNS if key in record}


def _position(value: Any, limit: int) -> int:
    if (
        isinstance(value, str)
        and value.strip().isascii()
        and value.strip().isdigit()
        and len(value.strip()) < 10
    ):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise BadParameter(
            f"'position' must be a whole number from 0 to {limit}, not {_shown(value)}"
        )
    return value


def _contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any]
) -> tuple[int, int, int, str, int]:
    """``(ContactID, AccountID, BrandID, Userkey, Position)`` of the contact a record names."""
    t = {name: table(scope.company_id, name) for name in ("tblContact", "tblAccount")}
    select = (
        "SELECT c.ContactID, c.AccountID, a.BrandID, a.Userkey, c.Position FROM "
        f"{t['tblContact']} c"
        f" JOIN {t['tblAccount']} a ON a.AccountID = c.AccountID"
    )
    if record.get("contactid") not in (None, ""):
        contact_id = ident(record["contactid"], "contactid")
        row = conn.execute(f"{select} WHERE c.ContactID = ?", (contact_id,)).fetchone()
        if row is None:
            raise NotFound(f"company {scope.company_id} has no contact {contact_id}")
        if "userkey" in record and record["userkey"] != row[3]:
            raise BadParameter(
                f"contact {contact_id} belongs to {row[3]!r}, not {record['userkey']!r}"
            )
        if (
            record.get("position") not in (None, "")
            and _position(record["position"], MAX_ID) != row[4]
        ):
            raise BadParameter(
                f"contact {contact_id} is at position {row[4]}; a position cannot be changed"
            )
        scope.check_owner(row[3])
        return tuple(row)  # type: ignore[return-value]
    if "userkey" not in record or "position" not in record:
        raise BadParameter(
            "a contact is named by 'contactid', or by 'userkey' and 'position' (0 is the first)"
        )
    account_id = account_row(conn, scope, record["userkey"])[0]
    position = _position(record["position"], MAX_ID)
    row = conn.execute(
        f"{select} WHERE c.AccountID = ? AND c.Position = ?", (account_id, position)
    ).fetchone()
    if row is None:
        raise NotFound(f"account {record['userkey']!r} has no contact at position {position}")
    return tuple(row)  # type: ignore[return-value]


def _contact_result(contact_id: int, userkey: str, position: int) -> dict[str, Any]:
    return {
        "type": "contact",
        "contactid": str(contact_id),
        "userkey": userkey,
        "position": str(position),
    }


def _create_contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, CONTACT_KEYS[1:], "contact")
    account_id, brand_id, userkey = account_row(conn, scope, required(record, "userkey", "contact"))
    values = _contact_values(record)
    t = table(scope.company_id, "tblContact")
    count = conn.execute(f"SELECT COUNT(*) FROM {t} WHERE AccountID = ?", (account_id,)).fetchone()[
        0
    ]
    position = (
        count if record.get("position") in (None, "") else _position(record["position"], count)
    )
    # Positions stay 0..n-1 in order: make room for the new one.
    conn.execute(
        f"UPDATE {t} SET Position = Position + 1 WHERE AccountID = ? AND Position >= ?",
        (account_id, position),
    )
    columns = ["AccountID", "Position", *(CONTACT_COLUMNS[key] for key in values)]
    contact_id = conn.execute(
        f"INSERT INTO {t}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        (account_id, position, *values.values()),
    ).lastrowid
    _index_phones(conn, scope.company_id, contact_id)
    effects.account_changed(userkey, brand_id)
    return _contact_result(contact_id, userkey, position)


def _update_contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, CONTACT_KEYS, "contact")
    contact_id, _, brand_id, userkey, position = _contact(conn, scope, record)
    values = _contact_values(record)
    if not values:
        raise BadParameter(
            f"a contact update needs something to change ({', '.join(CONTACT_COLUMNS)})"
        )
    assignments = ", ".join(f"{CONTACT_COLUMNS[key]} = ?" for key in values)
    conn.execute(
        f"UPDATE {table(scope.company_id, 'tblContact')} SET {assignments} WHERE ContactID = ?",
        (*values.values(), contact_id),
    )
    _index_phones(conn, scope.company_id, contact_id)
    effects.account_changed(userkey, brand_id)
    return _contact_result(contact_id, userkey, position)


def _delete_contact(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, ("contactid", "userkey", "position"), "contact delete")
    contact_id, account_id, brand_id, userkey, position = _contact(conn, scope, record)
    t = table(scope.company_id, "tblContact")
    conn.execute(
        f"DELETE FROM {table(scope.company_id, 'tblContactPhone')} WHERE ContactID = ?",
        (contact_id,),
    )
    conn.execute(f"DELETE FROM {t} WHERE ContactID = ?", (contact_id,))
    conn.execute(
        f"UPDATE {t} SET Position = Position - 1 WHERE AccountID = ? AND Position > ?",
        (account_id, position),
    )
    effects.account_changed(userkey, brand_id)
    return _contact_result(contact_id, userkey, position)


# --- custom field value records -----------------------------------------------------------

FIELDVALUE_KEYS = ("userkey", "id", "fieldid", "value")


def _field_record(conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], with_value: bool):
    only_keys(record, FIELDVALUE_KEYS if with_value else FIELDVALUE_KEYS[:3], "fieldvalue")
    if "id" in record and "fieldid" in record:
        raise BadParameter("'id' and 'fieldid' are the same key; give one")
    account_id, brand_id, userkey = account_row(
        conn, scope, required(record, "userkey", "fieldvalue")
    )
    field_id = ident(record.get("id", record.get("fieldid")), "id")
    value = None
    if with_value:
        if "value" not in record:
            raise BadParameter("a fieldvalue record needs 'value'")
        value = text(record, "value")
    return account_id, brand_id, userkey, {"id": field_id, "value": value}


def _set_field(
    conn: sqlite3.Connection, company_id: int, account_id: int, value: dict[str, Any], upsert: bool
) -> None:
    _check_fields(conn, company_id, [value])
    text_value = text(value, "value") if "value" in value else ""
    if upsert:
        conn.execute(
            f"INSERT INTO {table(company_id, 'tblCustomFieldValue')} VALUES (?,?,?) ON CONFLICT"
            "(AccountID, FieldID) DO UPDATE SET Value = excluded.Value",
            (account_id, value["id"], text_value),
        )
        return
    conn.execute(
        f"INSERT INTO {table(company_id, 'tblCustomFieldValue')} VALUES (?,?,?)",
        (account_id, value["id"], text_value),
    )


def _field_result(userkey: str, field_id: int, value: str | None) -> dict[str, Any]:
    return {"type": "fieldvalue", "userkey": userkey, "id": str(field_id), "value": value}


def _create_fieldvalue(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    account_id, brand_id, userkey, value = _field_record(conn, scope, record, True)
    if conn.execute(
        f"SELECT 1 FROM {table(scope.company_id, 'tblCustomFieldValue')} WHERE AccountID = ? AND "
        "FieldID = ?",
        (account_id, value["id"]),
    ).fetchone():
        raise Conflict(
            f"account {userkey!r} already has a value for custom field {value['id']}; use update"
        )
    _set_field(conn, scope.company_id, account_id, value, upsert=False)
    effects.account_changed(userkey, brand_id)
    return _field_result(userkey, value["id"], value["value"])


def _update_fieldvalue(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    account_id, brand_id, userkey, value = _field_record(conn, scope, record, True)
    _set_field(
        conn, scope.company_id, account_id, value, upsert=True
    )  # set, whether or not there was one
    effects.account_changed(userkey, brand_id)
    return _field_result(userkey, value["id"], value["value"])


def _delete_fieldvalue(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    account_id, brand_id, userkey, value = _field_record(conn, scope, record, False)
    gone = conn.execute(
        f"DELETE FROM {table(scope.company_id, 'tblCustomFieldValue')} WHERE AccountID = ? AND "
        "FieldID = ?",
        (account_id, value["id"]),
    ).rowcount
    if not gone:
        raise NotFound(f"account {userkey!r} has no value for custom field {value['id']}")
    effects.account_changed(userkey, brand_id)
    return _field_result(userkey, value["id"], None)


TYPES: dict[str, dict[str, Handler]] = {
    "account": {"create": _create_account, "update": _update_account, "delete": _delete_account},
    "contact": {"create": _create_contact, "update": _update_contact, "delete": _delete_contact},
    "fieldvalue": {
        "create": _create_fieldvalue,
        "update": _update_fieldvalue,
        "delete": _delete_fieldvalue,
    },
}
