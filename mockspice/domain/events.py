"""Scheduled events (with their categories) and global alerts of a company, for the API.

Rows follow the API's conventions (mockspice/domain/directory.py): lower-case column names,
values as text, ``{"msg": "no results"}`` for an empty search; a change to a record named by id
that does not exist raises :class:`NotFound`. Dates are ``YYYY-MM-DD HH:MM:SS`` (UTC; ISO 8601
is accepted). The columns are the mock's choice: SpiceCSM says only that it has scheduled events
and global alerts (spicecsm-facts.md). Security levels are not checked: the facts name none.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain.directory import (
    SUCCESS,
    company_for,
    datetime_field,
    fields,
    flag_field,
    int_field,
    label_field,
    text_field,
)
from mockspice.domain.errors import BadParameter, NotFound
from mockspice.domain.records import php_row, rows_or_none
from mockspice.domain.sessions import Session
from mockspice.store.dataset import now_text
from mockspice.store.db import Store
from mockspice.store.schema import table

_EVENT_SELECT = (
    "SELECT e.EventID, e.CaseID, e.CategoryID, c.CategoryLabel, e.Title, e.Starts, e.Ends, e.Notes,"
    " e.AgentID FROM {events} e JOIN {categories} c ON c.CategoryID = e.CategoryID"
)
EVENT_COLUMNS = (
    "eventid",
    "caseid",
    "categoryid",
    "categorylabel",
    "title",
    "starts",
    "ends",
    "notes",
    "agentid",
)
ALERT_COLUMNS = ("alertid", "message", "created", "expires", "active")


# --- events ----------------------------------------------------------------------------------


def _select(company_id: int) -> str:
    return _EVENT_SELECT.format(
        events=table(company_id, "tblEvent"), categories=table(company_id, "tblEventCategory")
    )


def _event_row(conn: sqlite3.Connection, company_id: int, event_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"{_select(company_id)} WHERE e.EventID = ?", (event_id,)).fetchone()
    return None if row is None else php_row(dict(zip(EVENT_COLUMNS, row)))


def load(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """Events filtered by eventid, caseid, categoryid, agentid and a start window (from, to)."""
    method = "eventLoad"
    obj = fields(obj)
    where, args = [], []
    for key, column in (
        ("eventid", "e.EventID"),
        ("caseid", "e.CaseID"),
        ("categoryid", "e.CategoryID"),
        ("agentid", "e.AgentID"),
    ):
        value = int_field(obj, key, method)
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    for key, test in (("from", "e.Starts >= ?"), ("to", "e.Starts <= ?")):
        value = datetime_field(obj, key, method)
        if value is not None:
            where.append(test)
            args.append(value)
    with store.snapshot() as conn:
        company_id = company_for(conn, session, obj, method)
        found = conn.execute(
            f"{_select(company_id)} {'WHERE ' + ' AND '.join(where) if where else ''}"
            " ORDER BY e.Starts, e.EventID",
            args,
        ).fetchall()
    return rows_or_none([php_row(dict(zip(EVENT_COLUMNS, r))) for r in found])


def _event_values(
    conn: sqlite3.Connection,
    session: Session,
    company_id: int,
    obj: dict[str, Any],
    method: str,
    creating: bool,
) -> dict[str, Any]:
    """The columns an eventCreate or updateEvent object sets, checked against the store."""
    values: dict[str, Any] = {}
    category = int_field(obj, "categoryid", method, required=creating)
    if category is not None:
        if not conn.execute(
            f"SELECT 1 FROM {table(company_id, 'tblEventCategory')} WHERE CategoryID = ?",
            (category,),
        ).fetchone():
            raise NotFound(f"{method}: company {company_id} has no event category {category}")
        values["CategoryID"] = category
    if "caseid" in obj:  # null or "" detaches the event from its case
        case = int_field(obj, "caseid", method)
        if (
            case is not None
            and not conn.execute(
                f"SELECT 1 FROM {table(company_id, 'tblCase')} WHERE CaseID = ?", (case,)
            ).fetchone()
        ):
            raise NotFound(f"{method}: company {company_id} has no case {case}")
        values["CaseID"] = case
    agent = int_field(obj, "agentid", method)
    if agent is None and creating:
        agent = session.agent_id
    if agent is not None:
        if not conn.execute(
            "SELECT 1 FROM tblAgent WHERE AgentID = ? AND TenantID = ?", (agent, company_id)
        ).fetchone():
            raise NotFound(f"{method}: company {company_id} has no agent {agent}")
        values["AgentID"] = agent
    title = label_field(obj, ("title",), method, required=creating)
    if title is not None:
        values["Title"] = title
    starts = datetime_field(obj, "starts", method, required=creating)
    if starts is not None:
        values["Starts"] = starts
    if "ends" in obj:
        values["Ends"] = datetime_field(obj, "ends", method)
    notes = text_field(obj, "notes", method)
    if notes is not None:
        values["Notes"] = notes
    return values


def _check_times(conn: sqlite3.Connection, company_id: int, event_id: int, method: str) -> None:
    starts, ends = conn.execute(
        f"SELECT Starts, Ends FROM {table(company_id, 'tblEvent')} WHERE EventID = ?", (event_id,)
    ).fetchone()
    if ends is not None and ends < starts:  # both canonical text: text order is time order
        raise BadParameter(f"{method}: ends ({ends}) is before starts ({starts})")


def create(store: Store, session: Session, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """A new event (agentid defaults to the session's agent); answers its row."""
    method = "eventCreate"
    obj = fields(obj)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        values = _event_values(conn, session, company_id, obj, method, creating=True)
        events = table(company_id, "tblEvent")
        event_id = conn.execute(f"SELECT COALESCE(MAX(EventID), 0) + 1 FROM {events}").fetchone()[0]
        values["EventID"] = event_id
        conn.execute(
            f"INSERT INTO {events}({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
        _check_times(conn, company_id, event_id, method)
        return [_event_row(conn, company_id, event_id)]


def update(store: Store, session: Session, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Change an event (only the keys given); answers its row."""
    method = "updateEvent"
    obj = fields(obj)
    event_id = int_field(obj, "eventid", method, required=True)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        if _event_row(conn, company_id, event_id) is None:
            raise NotFound(f"{method}: company {company_id} has no event {event_id}")
        values = _event_values(conn, session, company_id, obj, method, creating=False)
        if values:
            conn.execute(
                f"UPDATE {table(company_id, 'tblEvent')} SET "
                f"{', '.join(f'{c} = ?' for c in values)}"
                " WHERE EventID = ?",
                (*values.values(), event_id),
            )
        _check_times(conn, company_id, event_id, method)
        return [_event_row(conn, company_id, event_id)]


def delete(store: Store, session: Session, obj: dict[str, Any]) -> dict[str, Any]:
    """Remove an event."""
    return _delete(store, session, obj, "eventDelete", "tblEvent", "EventID", "event")


def _delete(
    store: Store,
    session: Session,
    obj: dict[str, Any],
    method: str,
    table_name: str,
    column: str,
    what: str,
) -> dict[str, Any]:
    """Remove the record ``obj`` names by ``<what>id`` from one of the company's tables."""
    obj = fields(obj)
    key = f"{what}id"
    record_id = int_field(obj, key, method, required=True)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        if not conn.execute(
            f"DELETE FROM {table(company_id, table_name)} WHERE {column} = ?", (record_id,)
        ).rowcount:
            raise NotFound(f"{method}: company {company_id} has no {what} {record_id}")
    return {"msg": SUCCESS, key: str(record_id)}


def categories(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """The company's event categories (or the one categoryid names)."""
    method = "eventCategory"
    obj = fields(obj)
    category = int_field(obj, "categoryid", method)
    with store.snapshot() as conn:
        company_id = company_for(conn, session, obj, method)
        found = conn.execute(
            f"SELECT CategoryID, CategoryLabel FROM {table(company_id, 'tblEventCategory')}"
            f"{' WHERE CategoryID = ?' if category is not None else ''} ORDER BY CategoryID",
            () if category is None else (category,),
        ).fetchall()
    return rows_or_none([php_row({"categoryid": r[0], "categorylabel": r[1]}) for r in found])


# --- alerts ----------------------------------------------------------------------------------


def _alert_rows(
    conn: sqlite3.Connection, company_id: int, where: str = "", args: tuple = ()
) -> list[dict[str, Any]]:
    return [
        php_row(dict(zip(ALERT_COLUMNS, r)))
        for r in conn.execute(
            "SELECT AlertID, Message, Created, Expires, Active FROM "
            f"{table(company_id, 'tblAlert')}"
            f"{' WHERE ' + where if where else ''} ORDER BY AlertID",
            args,
        )
    ]


def load_alerts(
    store: Store, session: Session, obj: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, str]:
    """Alerts filtered by alertid, active (1/0) and current (1: active and not expired now)."""
    method = "alertLoad"
    obj = fields(obj)
    where, args = [], []
    alert_id = int_field(obj, "alertid", method)
    if alert_id is not None:
        where.append("AlertID = ?")
        args.append(alert_id)
    active = flag_field(obj, "active", method)
    if active is not None:
        where.append("Active = ?")
        args.append(int(active))
    if flag_field(obj, "current", method):
        where.append("Active = 1 AND (Expires IS NULL OR Expires > ?)")
        args.append(now_text())
    with store.snapshot() as conn:
        company_id = company_for(conn, session, obj, method)
        return rows_or_none(_alert_rows(conn, company_id, " AND ".join(where), tuple(args)))


def create_alert(store: Store, session: Session, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """A new alert, created now; answers its row."""
    method = "createAlert"
    obj = fields(obj)
    message = label_field(obj, ("message",), method)
    expires = datetime_field(obj, "expires", method)
    active = flag_field(obj, "active", method)
    with store.write() as conn:
        company_id = company_for(conn, session, obj, method)
        alerts = table(company_id, "tblAlert")
        alert_id = conn.execute(f"SELECT COALESCE(MAX(AlertID), 0) + 1 FROM {alerts}").fetchone()[0]
        conn.execute(
            f"INSERT INTO {alerts}(AlertID, Message, Created, Expires, Active) VALUES (?,?,?,?,?)",
            (alert_id, message, now_text(), expires, int(active is not False)),
        )
        return _alert_rows(conn, company_id, "AlertID = ?", (alert_id,))


def delete_alert(store: Store, session: Session, obj: dict[str, Any]) -> dict[str, Any]:
    """Remove an alert."""
    return _delete(store, session, obj, "deleteAlert", "tblAlert", "AlertID", "alert")
