"""Reading accounts, cases and brand data out of the store in the shapes the surfaces show.

An account is ``{"userkey", "brand", "status", "account", "contacts": [...], "fields": [...],
"open_cases": [...]}`` with the contact keys of the load reply (``firstname``, ``pphone``, ...);
a case is ``{"id", "userkey", "status", "responses": [...], ...}`` (docs/screen-pop.md).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.store.dataset import RESPONSE_TEXTS
from mockspice.store.schema import CONTACT_COLUMNS, table

# SpiceCSM answers a search or load that finds nothing with this result, not an error.
NO_RESULTS = {"msg": "no results"}
# Rows of one search or query at most (accountLoad, caseLoad, query).
MAX_ROWS = 10_000

_CONTACT_SELECT = ", ".join(CONTACT_COLUMNS.values())


def string(value: Any) -> str | None:
    """A stored value as PHP's MySQL functions give it to a client: text, NULL as null."""
    return None if value is None else str(value)


def php_row(values: dict[str, Any]) -> dict[str, Any]:
    """A row as PHP's MySQL functions give it: every value text, or null."""
    return {key: string(value) for key, value in values.items()}


def rows_or_none(rows: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, str]:
    """The rows, or ``{"msg": "no results"}`` when there are none."""
    return rows if rows else dict(NO_RESULTS)


def brand_data(conn: sqlite3.Connection, company_id: int, brand_id: int) -> dict[str, str]:
    """A brand's key/value settings (``<CompanyID>_tblBrandData``), its secrets included
    (``<CompanyID>_tblBrandSecret``)."""
    return dict(
        conn.execute(
            f"SELECT DataLabel, DataText FROM {table(company_id, 'tblBrandData')} WHERE BrandID = "
            "?1 UNION ALL "
            f"SELECT DataLabel, DataText FROM {table(company_id, 'tblBrandSecret')} WHERE BrandID "
            "= ?1",
            (brand_id,),
        ).fetchall()
    )


def accounts_by_phone(
    conn: sqlite3.Connection, company_id: int, brand_id: int, digits: str, limit: int
) -> list[int]:
    """Ids of the brand's accounts with a contact phone whose digits are ``digits`` (indexed)."""
    return [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT AccountID FROM {table(company_id, 'tblContactPhone')}"
            " WHERE Digits = ? AND BrandID = ? ORDER BY AccountID LIMIT ?",
            (digits, brand_id, limit),
        )
    ]


def count_accounts_by_phone(
    conn: sqlite3.Connection, company_id: int, brand_id: int, digits: str
) -> int:
    """How many of the brand's accounts have this phone number."""
    return conn.execute(
        f"SELECT COUNT(DISTINCT AccountID) FROM {table(company_id, 'tblContactPhone')}"
        " WHERE Digits = ? AND BrandID = ?",
        (digits, brand_id),
    ).fetchone()[0]


def account(conn: sqlite3.Connection, company_id: int, account_id: int) -> dict[str, Any]:
    """One account with its contacts, custom field values and open cases."""
    t = lambda name: table(company_id, name)  # noqa: E731 - local shorthand
    row = conn.execute(
        f"SELECT Userkey, BrandID, Status, ExternalID FROM {t('tblAccount')} WHERE AccountID = ?",
        (account_id,),
    ).fetchone()
    contacts = [
        dict(zip(CONTACT_COLUMNS, r))
        for r in conn.execute(
            f"SELECT {_CONTACT_SELECT} FROM {t('tblContact')} WHERE AccountID = ? ORDER BY "
            "Position",
            (account_id,),
        )
    ]
    fields = [
        {"id": r[0], "label": r[1], "value": r[2]}
        for r in conn.execute(
            f"SELECT v.FieldID, f.FieldLabel, v.Value FROM {t('tblCustomFieldValue')} v"
            f" JOIN {t('tblCustomField')} f ON f.FieldID = v.FieldID WHERE v.AccountID = ? ORDER "
            "BY v.FieldID",
            (account_id,),
        )
    ]
    open_cases = [
        _case_summary(r)
        for r in conn.execute(
            "SELECT c.CaseID, c.StatusID, s.StatusLabel, s.Closed, i.IssueLabel, c.TierID, "
            "c.Created, c.CallID"
            f" FROM {t('tblCase')} c JOIN {t('tblStatus')} s ON s.StatusID = c.StatusID"
            f" LEFT JOIN {t('tblIssue')} i ON i.IssueID = c.IssueID"
            f" WHERE c.AccountID = ? AND s.Closed = 0 ORDER BY c.CaseID",
            (account_id,),
        )
    ]
    return {
        "userkey": row[0],
        "brand": row[1],
        "status": row[2],
        "account": row[3],
        "contacts": contacts,
        "fields": fields,
        "open_cases": open_cases,
    }


def _case_summary(r: sqlite3.Row | tuple) -> dict[str, Any]:
    return {
        "id": r[0],
        "status_id": r[1],
        "status": r[2],
        "closed": bool(r[3]),
        "issue": r[4],
        "tier": r[5],
        "created": r[6],
        "callid": r[7],
    }


def case_by_id(
    conn: sqlite3.Connection, company_id: int, brand_id: int, caseid: str
) -> dict[str, Any] | None:
    """The brand's case with this id and every response, or None (also for a non-numeric id)."""
    if not caseid.isascii() or not caseid.isdigit() or len(caseid) > 10:
        return None
    t = lambda name: table(company_id, name)  # noqa: E731 - local shorthand
    row = conn.execute(
        "SELECT c.CaseID, c.StatusID, s.StatusLabel, s.Closed, i.IssueLabel, c.TierID, "
        "c.Created, c.CallID,"
        f" c.AccountID, a.Userkey, c.AssignedAgentID, c.IssueID"
        f" FROM {t('tblCase')} c JOIN {t('tblStatus')} s ON s.StatusID = c.StatusID"
        f" JOIN {t('tblAccount')} a ON a.AccountID = c.AccountID"
        f" LEFT JOIN {t('tblIssue')} i ON i.IssueID = c.IssueID"
        f" WHERE c.CaseID = ? AND c.BrandID = ?",
        (int(caseid), brand_id),
    ).fetchone()
    if row is None:
        return None
    case = _case_summary(row)
    case.update(
        account_id=row[8], userkey=row[9], issue_id=row[11], agent=_agent_name(conn, row[10])
    )
    texts = ", ".join(f"r.{column}" for column in RESPONSE_TEXTS.values())
    case["responses"] = [
        {
            "id": r[0],
            "date": r[1],
            "agent": _agent_name(conn, r[2]),
            "tier": r[3],
            "status_id": r[4],
            "status": r[5],
            "issue": r[6],
            "callid": r[7],
            **dict(zip(RESPONSE_TEXTS, r[8:])),
        }
        for r in conn.execute(
            "SELECT r.ResponseID, r.Created, r.AgentID, r.TierID, r.StatusID, s.StatusLabel, "
            "i.IssueLabel,"
            f" r.CallID, {texts} FROM {t('tblResponse')} r JOIN {t('tblStatus')} s ON s.StatusID "
            "= r.StatusID"
            f" LEFT JOIN {t('tblIssue')} i ON i.IssueID = r.IssueID WHERE r.CaseID = ? ORDER BY "
            "r.ResponseID",
            (row[0],),
        )
    ]
    return case


def _agent_name(conn: sqlite3.Connection, agent_id: int | None) -> str | None:
    """An agent as caseXML names one: "Last, First" (integration page, ``agent="Doe, John"``)."""
    if agent_id is None:
        return None
    row = conn.execute(
        "SELECT LastName, FirstName, Login FROM tblAgent WHERE AgentID = ?", (agent_id,)
    ).fetchone()
    if row is None:
        return None
    return ", ".join(filter(None, (row[0], row[1]))) or row[2]
