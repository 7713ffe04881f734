"""The case searches of the API: ``caseLoad`` (responses of the cases that match, one row
each), ``load`` of a case (:func:`load_case`) and ``issueLoad``. Rows are the case row keys
(:data:`ROW_KEYS`), values as strings.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain.cases import case_row, issue_of, status_of, tables
from mockspice.domain.errors import BadParameter
from mockspice.domain.readers import ident, only_keys, required, text
from mockspice.domain.records import MAX_ROWS, NO_RESULTS, string
from mockspice.domain.scope import (
    Scope,
    check_brand,
    check_company,
)
from mockspice.domain.sessions import Session
from mockspice.store.dataset import RESPONSE_TEXTS
from mockspice.store.db import Store
from mockspice.store.schema import table

ROW_KEYS = (
    "cid",
    "id",
    "userkey",
    "brandid",
    "tier",
    "date",
    "status",
    "sid",
    "issue",
    "issueid",
    "agent",
    "agentid",
    "aname",
    "anameid",
    "callid",
    *RESPONSE_TEXTS,
    "casestatus",
    "casesid",
    "caseclosed",
    "casecreated",
    "casecallid",
)
# caseXML names an agent "Doe, John" (integration page); an agent without names by the login.
_NAME = (
    "CASE WHEN {a}.AgentID IS NULL THEN NULL WHEN {a}.LastName <> '' AND {a}.FirstName <> ''"
    " THEN {a}.LastName || ', ' || {a}.FirstName WHEN {a}.LastName || {a}.FirstName <> ''"
    " THEN {a}.LastName || {a}.FirstName ELSE {a}.Login END"
)


def _select(company_id: int) -> str:
    t = tables(company_id)
    texts = ", ".join(f"r.{column}" for column in RESPONSE_TEXTS.values())
    return (
        "SELECT c.CaseID, r.ResponseID, a.Userkey, c.BrandID, r.TierID, r.Created, "
        "rs.StatusLabel, r.StatusID,"
        f" ri.IssueLabel, r.IssueID, {_NAME.format(a='ra')}, r.AgentID, {_NAME.format(a='ca')}, "
        "c.AssignedAgentID,"
        f" r.CallID, {texts}, cs.StatusLabel, c.StatusID, cs.Closed, c.Created, c.CallID"
        f" FROM {t['tblCase']} c JOIN {t['tblAccount']} a ON a.AccountID = c.AccountID"
        f" JOIN {t['tblStatus']} cs ON cs.StatusID = c.StatusID"
        f" JOIN {t['tblResponse']} r ON r.CaseID = c.CaseID"
        f" JOIN {t['tblStatus']} rs ON rs.StatusID = r.StatusID"
        f" LEFT JOIN {t['tblIssue']} ri ON ri.IssueID = r.IssueID"
        " LEFT JOIN tblAgent ra ON ra.AgentID = r.AgentID LEFT JOIN tblAgent ca ON ca.AgentID = "
        "c.AssignedAgentID"
    )


def _row(r: sqlite3.Row) -> dict[str, Any]:
    return {key: string(value) for key, value in zip(ROW_KEYS, r)}


CASE_CRITERIA = ("id", "caseid", "userkey", "status", "issue", "callid", "brand", "brandid")


def case_load(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """Responses of the cases that match every criterion, one row each; ``{"msg": "no results"}``
    for none.
    """
    scope = Scope.of(session)
    only_keys(obj, CASE_CRITERIA, "caseLoad")
    given = {k: v for k, v in obj.items() if v not in (None, "")}
    for one, other in (("id", "caseid"), ("brand", "brandid")):
        if one in given and other in given:
            raise BadParameter(f"caseLoad: '{one}' and '{other}' are the same criterion; give one")
    if not given:
        raise BadParameter(f"caseLoad needs at least one criterion: {', '.join(CASE_CRITERIA)}")
    where, args = [], []
    with store.snapshot() as conn:
        check_company(conn, scope.company_id)
        for key, value in given.items():
            if key in ("id", "caseid"):
                where.append("c.CaseID = ?")
                args.append(ident(value, key))
            elif key == "userkey":
                where.append("a.Userkey = ?")
                args.append(text(given[key], key))
            elif key == "status":
                where.append("c.StatusID = ?")
                args.append(status_of(conn, scope.company_id, value))
            elif key == "issue":
                where.append("c.IssueID = ?")
                args.append(issue_of(conn, scope.company_id, value))
            elif key in ("brand", "brandid"):
                check_brand(conn, scope.company_id, ident(value, key))
                where.append("c.BrandID = ?")
                args.append(ident(value, key))
            else:  # callid: recorded with the case and with its responses (integration page)
                where.append(
                    "(c.CallID = ? OR c.CaseID IN (SELECT CaseID FROM "
                    f"{table(scope.company_id, 'tblResponse')}"
                    " WHERE CallID = ?))"
                )
                args.extend((text(given[key], key),) * 2)
        if scope.userkey is not None:
            where.append("a.Userkey = ?")
            args.append(scope.userkey)
        rows = [
            _row(r)
            for r in conn.execute(
                f"{_select(scope.company_id)} WHERE {' AND '.join(where)} ORDER BY c.CaseID, "
                "r.ResponseID LIMIT ?",
                (*args, MAX_ROWS),
            )
        ]
    return rows or NO_RESULTS


def load_case(store: Store, scope: Scope, obj: dict[str, Any]) -> dict[str, Any]:
    """One case with its responses, values as strings; :class:`NotFound` when there is none."""
    only_keys(obj, ("type", "id", "caseid"), "load case")
    key = "caseid" if "caseid" in obj else "id"
    with store.snapshot() as conn:
        check_company(conn, scope.company_id)
        case_id = case_row(conn, scope, required(obj, key, "load case"), key)[0]
        rows = [
            _row(r)
            for r in conn.execute(
                f"{_select(scope.company_id)} WHERE c.CaseID = ? ORDER BY r.ResponseID", (case_id,)
            )
        ]
        head = conn.execute(
            f"SELECT c.IssueID, i.IssueLabel, c.TierID FROM {table(scope.company_id, 'tblCase')} c"
            f" LEFT JOIN {table(scope.company_id, 'tblIssue')} i ON i.IssueID = c.IssueID"
            " WHERE c.CaseID = ?",
            (case_id,),
        ).fetchone()
    first = rows[0]
    responses = [
        {
            k: row[k]
            for k in ROW_KEYS
            if not k.startswith("case")
            and k not in ("cid", "userkey", "brandid", "aname", "anameid")
        }
        for row in rows
    ]
    return {
        "type": "case",
        "id": str(case_id),
        "userkey": first["userkey"],
        "brandid": first["brandid"],
        "status": first["casestatus"],
        "sid": first["casesid"],
        "closed": first["caseclosed"],
        "issue": head[1],
        "issueid": string(head[0]),
        "tier": str(head[2]),
        "aname": first["aname"],
        "anameid": first["anameid"],
        "callid": first["casecallid"],
        "created": first["casecreated"],
        "responses": responses,
    }


def issue_load(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """The company's issues and sub-issues: ``issueid``, ``issuelabel``, ``parentid`` (null at the
    top).
    """
    scope = Scope.of(session)
    only_keys(obj, ("issueid", "parentid"), "issueLoad")
    where, args = [], []
    if obj.get("issueid") not in (None, ""):
        where.append("IssueID = ?")
        args.append(ident(obj["issueid"], "issueid"))
    if "parentid" in obj:
        if obj["parentid"] in (None, "", 0, "0"):
            where.append("ParentID IS NULL")  # 0 or null: the top-level issues
        else:
            where.append("ParentID = ?")
            args.append(ident(obj["parentid"], "parentid"))
    with store.snapshot() as conn:
        check_company(conn, scope.company_id)
        rows = [
            {"issueid": str(r[0]), "issuelabel": r[1], "parentid": string(r[2])}
            for r in conn.execute(
                f"SELECT IssueID, IssueLabel, ParentID FROM {table(scope.company_id, 'tblIssue')}"
                f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY IssueID",
                args,
            )
        ]
    return rows or NO_RESULTS
