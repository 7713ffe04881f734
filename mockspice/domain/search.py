"""``accountLoad`` (the account search, with the brand's external search) and ``load`` (one
account or one case, whole). The shapes: docs/api.md, and the docstring of
:mod:`mockspice.domain.batch`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain import case_search
from mockspice.domain.errors import BadParameter
from mockspice.domain.outbound import NoWebCall, Outbound, summary
from mockspice.domain.readers import ident, only_keys, required, shown
from mockspice.domain.records import MAX_ROWS, NO_RESULTS, string
from mockspice.domain.scope import Scope, account_row, check_brand, check_company, fold, folded
from mockspice.domain.sessions import Session
from mockspice.store.db import Store
from mockspice.store.phones import normalize_phone
from mockspice.store.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, table
from mockspice.webcalls.criteria import CriteriaError, search_criteria

LOAD_ARRAY = (
    "Only one object may be used for the load function. Arrays are not allowed."  # facts file
)


# A search row: the search reply's user attributes (name), the account and its first contact.
ROW_KEYS = ("userkey", "brandid", "status", "accountid", "external", "name", *CONTACT_COLUMNS)


_PHONE_CRITERIA = ("pphone", "sphone", "mobile", "fax")


# Compared trimmed, any case (the password exactly: a secret).
_ACCOUNT_TEXT = {k: c for k, c in ACCOUNT_COLUMNS.items() if k != "password"}


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
        return case_search.load_case(store, scope, obj)
    raise BadParameter(f'load: \'type\' must be "account" or "case", not {shown(kind)}')


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
