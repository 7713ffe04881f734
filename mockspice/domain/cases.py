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
from mockspice.domain.scope import (
    Effects,
    Handler,
    Scope,
    account_row,
    fold,
)
from mockspice.store.dataset import RESPONSE_TEXTS, now_text
from mockspice.store.schema import table


def tables(company_id: int) -> dict[str, str]:
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


def status_of(conn: sqlite3.Connection, company_id: int, value: Any) -> int:
    return _labelled(conn, company_id, value, "status", "tblStatus")


def issue_of(conn: sqlite3.Connection, company_id: int, value: Any) -> int | None:
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


def case_row(conn: sqlite3.Connection, scope: Scope, value: Any, key: str = "id") -> sqlite3.Row:
    """The case a record names (CaseID, BrandID, AccountID, Userkey, StatusID, IssueID, TierID)."""
    t = tables(scope.company_id)
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
    t = tables(scope.company_id)
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
        status_id = status_of(conn, cid, record["status"])
    issue_id = issue_of(conn, cid, record.get("issue"))
    tier = _tier(record.get("tier", 1))
    assigned = _agent(conn, cid, record.get("agent"))
    callid = text(record["callid"], "callid") if "callid" in record else ""
    t = tables(cid)
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
    case = case_row(conn, scope, required(record, "id", "case"))
    cid = scope.company_id
    changes: dict[str, Any] = {}
    if "status" in record:
        changes["StatusID"] = status_of(conn, cid, record["status"])
    if "issue" in record:
        changes["IssueID"] = issue_of(conn, cid, record["issue"])
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
    case = case_row(conn, scope, required(record, "id", "case"))
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
    t = tables(scope.company_id)
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
    case = case_row(conn, scope, required(record, "caseid", "response"), "caseid")
    cid = scope.company_id
    status_id = (
        status_of(conn, cid, record["status"])
        if record.get("status") not in (None, "")
        else case[4]
    )
    issue_id = issue_of(conn, cid, record["issue"]) if "issue" in record else case[5]
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
        changes["StatusID"] = status_of(conn, cid, record["status"])
    if "issue" in record:
        changes["IssueID"] = issue_of(conn, cid, record["issue"])
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
