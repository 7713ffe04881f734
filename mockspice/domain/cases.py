"""Cases through the API: ``caseLoad``, ``issueLoad``, ``load`` of a case, and case and response
records.

The mock's choices (SpiceCSM publishes no shapes; docs/api.md):

- A case is made of responses (tickets). Creating a case creates its first response, written by
  the session's agent; a new response moves its case to the response's status, issue and tier.
  Each new response fires the brand's ``case`` web call once the batch is committed.
- ``caseLoad(obj)``: ANDed criteria ``id`` (or ``caseid``), ``userkey``, ``status`` (id or
  label), ``issue`` (id or label), ``callid`` (of the case or of any of its responses), ``brand``
  (or ``brandid``). One row per response (a case with its tickets, flat, as a SQL join gives it):
  the caseXML ticket attributes (``cid``, ``id``, ``tier``, ``date``, ``status``, ``sid``,
  ``issue``, ``agent``, ``aname``, ``journal``, ...) plus ids and the case's own state
  (:data:`ROW_KEYS`).
- ``issueLoad(obj)``: the company's issues (``issueid``, ``issuelabel``, ``parentid``: null
  for a top-level issue); ``obj`` may filter by ``issueid`` or ``parentid`` (0: top level).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain.errors import BadParameter, Conflict, NotFound
from mockspice.domain.readers import ident, only_keys, required, text
from mockspice.domain.records import MAX_ROWS, NO_RESULTS, string
from mockspice.domain.scope import (
    Effects,
    Handler,
    Scope,
    account_row,
    check_brand,
    check_company,
    fold,
)
from mockspice.domain.sessions import Session
from mockspice.store.dataset import RESPONSE_TEXTS, now_text
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


def _t(company_id: int) -> dict[str, str]:
    return {
        name: table(company_id, name)
        for name in ("tblAccount", "tblCase", "tblResponse", "tblStatus", "tblIssue")
    }


# --- ids and labels -----------------------------------------------------------------------


def _labelled(conn: sqlite3.Connection, company_id: int, value: Any, key: str, name: str) -> int:
    """A status or issue given by id or by label (any case)."""
    what = "status" if name == "tblStatus" else "issue"
    id_column, label_column = (
        ("StatusID", "StatusLabel") if what == "status" else ("IssueID", "IssueLabel")
    )
    if isinstance(value, str) and not value.strip().isdigit():
        for row_id, label in conn.execute(
            f"SELECT {id_column}, {label_column} FROM {table(company_id, name)}"
            f" ORDER BY {id_column}"
        ):
            if fold(label) == fold(value):
                return row_id
        raise NotFound(f"company {company_id} has no {what} labelled {value[:60]!r}")
    found = ident(value, key)
    if (
        conn.execute(
            f"SELECT 1 FROM {table(company_id, name)} WHERE {id_column} = ?", (found,)
        ).fetchone()
        is None
    ):
        raise NotFound(f"company {company_id} has no {what} {found}")
    return found


def _status(conn: sqlite3.Connection, company_id: int, value: Any) -> int:
    return _labelled(conn, company_id, value, "status", "tblStatus")


def _issue(conn: sqlite3.Connection, company_id: int, value: Any) -> int | None:
    return None if value in (None, "") else _labelled(conn, company_id, value, "issue", "tblIssue")


def _tier(value: Any) -> int:
    if isinstance(value, str) and value.strip() in ("1", "2", "3", "4"):
        return int(value)
    if isinstance(value, bool) or value not in (1, 2, 3, 4):
        raise BadParameter(f"'tier' must be 1, 2, 3 or 4, not {str(value)[:60]!r}")
    return value


def _agent(conn: sqlite3.Connection, company_id: int, value: Any) -> int | None:
    if value in (None, ""):
        return None
    agent_id = ident(value, "agent")
    if (
        conn.execute(
            "SELECT 1 FROM tblAgent WHERE AgentID = ? AND TenantID = ?", (agent_id, company_id)
        ).fetchone()
        is None
    ):
        raise NotFound(f"company {company_id} has no agent {agent_id}")
    return agent_id


def _owned(conn: sqlite3.Connection, scope: Scope, what: str, row_id: int, sql: str) -> sqlite3.Row:
    """The row ``sql`` selects for ``row_id`` (its fourth column the account's Userkey), when it
    exists and the session may see that account; :class:`NotFound` naming ``what`` otherwise."""
    row = conn.execute(sql, (row_id,)).fetchone()
    if row is None:
        raise NotFound(f"company {scope.company_id} has no {what} {row_id}")
    scope.check_owner(row[3])
    return row


def _case(conn: sqlite3.Connection, scope: Scope, value: Any, key: str = "id") -> sqlite3.Row:
    """The case a record names (CaseID, BrandID, AccountID, Userkey, StatusID, IssueID, TierID)."""
    t = _t(scope.company_id)
    return _owned(
        conn,
        scope,
        "case",
        ident(value, key),
        f"SELECT c.CaseID, c.BrandID, c.AccountID, a.Userkey, c.StatusID, c.IssueID, c.TierID"
        f" FROM {t['tblCase']} c JOIN {t['tblAccount']} a ON a.AccountID = c.AccountID"
        " WHERE c.CaseID = ?",
    )


def _texts(record: dict[str, Any]) -> dict[str, str]:
    return {key: text(record[key], key) for key in RESPONSE_TEXTS if key in record}


def _insert_response(
    conn: sqlite3.Connection,
    scope: Scope,
    case_id: int,
    status_id: int,
    issue_id: int | None,
    tier: int,
    callid: str,
    texts: dict[str, str],
) -> int:
    t = _t(scope.company_id)
    response_id = conn.execute(
        f"SELECT COALESCE(MAX(ResponseID), 0) + 1 FROM {t['tblResponse']}"
    ).fetchone()[0]
    conn.execute(
        f"INSERT INTO {t['tblResponse']} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            response_id,
            case_id,
            scope.agent_id,
            tier,
            status_id,
            issue_id,
            now_text(),
            callid,
            *(texts.get(key, "") for key in RESPONSE_TEXTS),
        ),
    )
    return response_id


# --- case records -------------------------------------------------------------------------

CASE_KEYS = (
    "id",
    "userkey",
    "brand",
    "status",
    "issue",
    "tier",
    "agent",
    "callid",
    *RESPONSE_TEXTS,
)


def _create_case(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, CASE_KEYS[1:], "case")
    cid = scope.company_id
    account_id, brand_id, userkey = account_row(conn, scope, required(record, "userkey", "case"))
    if record.get("brand") not in (None, "") and ident(record["brand"], "brand") != brand_id:
        raise BadParameter(
            f"account {userkey!r} belongs to brand {brand_id}; a case is in its account's brand"
        )
    if record.get("status") in (None, ""):
        status_id = conn.execute(
            f"SELECT MIN(StatusID) FROM {table(cid, 'tblStatus')} WHERE Closed = 0"
        ).fetchone()[0]
        if status_id is None:
            raise BadParameter(f"company {cid} has no open status; give 'status'")
    else:
        status_id = _status(conn, cid, record["status"])
    issue_id = _issue(conn, cid, record.get("issue"))
    tier = _tier(record.get("tier", 1))
    assigned = _agent(conn, cid, record.get("agent"))
    callid = text(record["callid"], "callid") if "callid" in record else ""
    t = _t(cid)
    case_id = conn.execute(f"SELECT COALESCE(MAX(CaseID), 0) + 1 FROM {t['tblCase']}").fetchone()[0]
    conn.execute(
        f"INSERT INTO {t['tblCase']} VALUES (?,?,?,?,?,?,?,?,?)",
        (case_id, brand_id, account_id, status_id, issue_id, tier, assigned, callid, now_text()),
    )
    response_id = _insert_response(
        conn, scope, case_id, status_id, issue_id, tier, callid, _texts(record)
    )
    effects.responses.append((brand_id, case_id, response_id))
    return {
        "type": "case",
        "id": str(case_id),
        "responseid": str(response_id),
        "userkey": userkey,
        "brandid": str(brand_id),
    }


def _update_case(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, ("id", "status", "issue", "tier", "agent", "callid"), "case update")
    case = _case(conn, scope, required(record, "id", "case"))
    cid = scope.company_id
    changes: dict[str, Any] = {}
    if "status" in record:
        changes["StatusID"] = _status(conn, cid, record["status"])
    if "issue" in record:
        changes["IssueID"] = _issue(conn, cid, record["issue"])
    if "tier" in record:
        changes["TierID"] = _tier(record["tier"])
    if "agent" in record:
        changes["AssignedAgentID"] = _agent(conn, cid, record["agent"])
    if "callid" in record:
        changes["CallID"] = text(record["callid"], "callid")
    if not changes:
        raise BadParameter(
            "a case update needs something to change: status, issue, tier, agent or callid"
        )
    assignments = ", ".join(f"{column} = ?" for column in changes)
    conn.execute(
        f"UPDATE {table(cid, 'tblCase')} SET {assignments} WHERE CaseID = ?",
        (*changes.values(), case[0]),
    )
    return {"type": "case", "id": str(case[0]), "userkey": case[3], "brandid": str(case[1])}


def _delete_case(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, ("id",), "case delete")
    case = _case(conn, scope, required(record, "id", "case"))
    # Its responses go with it (ON DELETE CASCADE); named too, not to depend on the setting.
    conn.execute(
        f"DELETE FROM {table(scope.company_id, 'tblResponse')} WHERE CaseID = ?", (case[0],)
    )
    conn.execute(f"DELETE FROM {table(scope.company_id, 'tblCase')} WHERE CaseID = ?", (case[0],))
    return {"type": "case", "id": str(case[0]), "userkey": case[3], "brandid": str(case[1])}


# --- response records ---------------------------------------------------------------------

RESPONSE_KEYS = ("id", "caseid", "status", "issue", "tier", "callid", *RESPONSE_TEXTS)


def _response(conn: sqlite3.Connection, scope: Scope, value: Any) -> sqlite3.Row:
    """The response a record names (ResponseID, CaseID, BrandID, Userkey)."""
    t = _t(scope.company_id)
    return _owned(
        conn,
        scope,
        "response",
        ident(value, "id"),
        f"SELECT r.ResponseID, r.CaseID, c.BrandID, a.Userkey FROM {t['tblResponse']} r"
        f" JOIN {t['tblCase']} c ON c.CaseID = r.CaseID JOIN {t['tblAccount']} a"
        " ON a.AccountID = c.AccountID WHERE r.ResponseID = ?",
    )


def _response_result(response_id: int, case_id: int, userkey: str) -> dict[str, Any]:
    return {"type": "response", "id": str(response_id), "caseid": str(case_id), "userkey": userkey}


def _create_response(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, RESPONSE_KEYS[1:], "response")
    case = _case(conn, scope, required(record, "caseid", "response"), "caseid")
    cid = scope.company_id
    status_id = (
        _status(conn, cid, record["status"]) if record.get("status") not in (None, "") else case[4]
    )
    issue_id = _issue(conn, cid, record["issue"]) if "issue" in record else case[5]
    tier = _tier(record["tier"]) if "tier" in record else case[6]
    callid = text(record["callid"], "callid") if "callid" in record else ""
    response_id = _insert_response(
        conn, scope, case[0], status_id, issue_id, tier, callid, _texts(record)
    )
    # The case's status, issue and tier are those of its latest response (caseXML: "current case
    # status").
    conn.execute(
        f"UPDATE {table(cid, 'tblCase')} SET StatusID = ?, IssueID = ?, TierID = ? WHERE CaseID = "
        "?",
        (status_id, issue_id, tier, case[0]),
    )
    effects.responses.append((case[1], case[0], response_id))
    return _response_result(response_id, case[0], case[3])


def _update_response(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(
        record, ("id", "status", "issue", "tier", "callid", *RESPONSE_TEXTS), "response update"
    )
    response = _response(conn, scope, required(record, "id", "response"))
    cid = scope.company_id
    changes: dict[str, Any] = {RESPONSE_TEXTS[key]: value for key, value in _texts(record).items()}
    if "status" in record:
        changes["StatusID"] = _status(conn, cid, record["status"])
    if "issue" in record:
        changes["IssueID"] = _issue(conn, cid, record["issue"])
    if "tier" in record:
        changes["TierID"] = _tier(record["tier"])
    if "callid" in record:
        changes["CallID"] = text(record["callid"], "callid")
    if not changes:
        raise BadParameter(
            f"a response update needs something to change ({', '.join(RESPONSE_KEYS[2:])})"
        )
    assignments = ", ".join(f"{column} = ?" for column in changes)
    conn.execute(
        f"UPDATE {table(cid, 'tblResponse')} SET {assignments} WHERE ResponseID = ?",
        (*changes.values(), response[0]),
    )
    return _response_result(response[0], response[1], response[3])


def _delete_response(
    conn: sqlite3.Connection, scope: Scope, record: dict[str, Any], effects: Effects
) -> dict[str, Any]:
    only_keys(record, ("id",), "response delete")
    response = _response(conn, scope, required(record, "id", "response"))
    t = table(scope.company_id, "tblResponse")
    if (
        conn.execute(f"SELECT COUNT(*) FROM {t} WHERE CaseID = ?", (response[1],)).fetchone()[0]
        == 1
    ):
        raise Conflict(
            f"response {response[0]} is the only response of case {response[1]}; delete the case "
            "instead"
        )
    conn.execute(f"DELETE FROM {t} WHERE ResponseID = ?", (response[0],))
    return _response_result(response[0], response[1], response[3])


TYPES: dict[str, dict[str, Handler]] = {
    "case": {"create": _create_case, "update": _update_case, "delete": _delete_case},
    "response": {
        "create": _create_response,
        "update": _update_response,
        "delete": _delete_response,
    },
}


# --- reading ------------------------------------------------------------------------------


def _select(company_id: int) -> str:
    t = _t(company_id)
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
                args.append(_status(conn, scope.company_id, value))
            elif key == "issue":
                where.append("c.IssueID = ?")
                args.append(_issue(conn, scope.company_id, value))
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
        case_id = _case(conn, scope, required(obj, key, "load case"), key)[0]
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
