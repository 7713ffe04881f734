"""The journal: every screen pop, API call and web call, newest last, capped in size.

Entries live in the store (``tblJournal``) so every worker writes to and reads from the same
journal. When the cap is reached the oldest entries are dropped and counted.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from mockspice.store.db import Store

DROPPED_KEY = "journal_dropped"
LAST_ID_KEY = "journal_last_id"  # the last id given before the journal was emptied
MAX_REFLECTED = 4096  # a value echoed into an entry is cut here so one request cannot bloat it


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds (how entries are stamped)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clip(value: str) -> str:
    """A reflected value, cut to ``MAX_REFLECTED`` characters with a note of the full length."""
    if len(value) <= MAX_REFLECTED:
        return value
    return value[:MAX_REFLECTED] + f"...[{len(value)} characters]"


def next_id(conn: sqlite3.Connection) -> int:
    """The id the next entry will get (exact inside a write transaction, which holds the lock).

    Ids keep rising when the journal is emptied, so a pop id or an exchange id is never reused.
    """
    row = conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(JournalID) FROM tblJournal), 0),"
        " COALESCE((SELECT CAST(MetaValue AS INTEGER) FROM tblMockMeta WHERE MetaKey = ?), 0))",
        (LAST_ID_KEY,)).fetchone()
    return row[0] + 1


def record(conn: sqlite3.Connection, limit: int, kind: str, entry: dict[str, Any],
           entry_id: int | None = None) -> int:
    """Add an entry inside the caller's write transaction; returns its id.

    :param entry_id: the id :func:`next_id` gave in this same transaction, when the caller had
        to know it before writing the entry.
    """
    entry_id = entry_id or next_id(conn)
    conn.execute("INSERT INTO tblJournal(JournalID, Kind, Created, Entry) VALUES (?, ?, ?, ?)",
                 (entry_id, kind, now_iso(), json.dumps(entry, ensure_ascii=False)))
    if entry_id > limit:
        _trim(conn, entry_id, limit)
    return entry_id


def _trim(conn: sqlite3.Connection, entry_id: int, limit: int) -> None:
    """Drop the entries past the cap and count them, inside the caller's write transaction.

    Ids are consecutive (nothing is deleted but the oldest), so the entries past the cap are
    exactly those at or below entry_id - limit.
    """
    dropped = conn.execute("DELETE FROM tblJournal WHERE JournalID <= ?", (entry_id - limit,)).rowcount
    if dropped:
        conn.execute(
            "INSERT INTO tblMockMeta(MetaKey, MetaValue) VALUES (?, ?) ON CONFLICT(MetaKey) "
            "DO UPDATE SET MetaValue = CAST(MetaValue AS INTEGER) + excluded.MetaValue",
            (DROPPED_KEY, dropped))


def append(store: Store, limit: int, kind: str, entry: dict[str, Any]) -> int:
    """Add an entry in one statement of its own (the hot path of every request); returns its id."""
    entry_id = store.write_one(
        "INSERT INTO tblJournal(JournalID, Kind, Created, Entry)"
        " SELECT MAX(COALESCE((SELECT MAX(JournalID) FROM tblJournal), 0),"
        " COALESCE((SELECT CAST(MetaValue AS INTEGER) FROM tblMockMeta WHERE MetaKey = ?), 0)) + 1, ?, ?, ?"
        " RETURNING JournalID",
        (LAST_ID_KEY, kind, now_iso(), json.dumps(entry, ensure_ascii=False)))[0]
    if entry_id > limit:
        with store.write(history=True) as conn:
            _trim(conn, entry_id, limit)
    return entry_id


def entries(store: Store, kind: str | None = None, since: int | str | None = None,
            limit: int | None = None) -> dict[str, Any]:
    """The journal, oldest first: ``{"entries", "count", "dropped"}``.

    :param kind: only entries of this kind (``pop``, ``api``, ``webcall``).
    :param since: an entry id (entries after it) or an ISO time (entries at or after it).
    :param limit: only the newest ``limit`` of the entries that pass the filters.
    """
    where, args = [], []
    if kind:
        where.append("Kind = ?")
        args.append(kind)
    if isinstance(since, int):
        where.append("JournalID > ?")
        args.append(since)
    elif since:
        where.append("Created >= ?")
        args.append(since)
    sql = "SELECT JournalID, Kind, Created, Entry FROM tblJournal"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY JournalID DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with store.snapshot() as conn:
        rows = conn.execute(sql, args).fetchall()
        dropped = conn.execute("SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (DROPPED_KEY,)).fetchone()
    out = [_entry(r) for r in reversed(rows)]
    return {"entries": out, "count": len(out), "dropped": int(dropped[0]) if dropped else 0}


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    """A stored entry as listed: the journal's id, kind and time first, never hidden by its own keys."""
    entry = {"id": row[0], "kind": row[1], "at": row[2]}
    entry.update((k, v) for k, v in json.loads(row[3]).items() if k not in entry)
    return entry


def clear(conn: sqlite3.Connection) -> None:
    """Empty the journal and its dropped count, inside the caller's write transaction."""
    conn.execute("INSERT OR REPLACE INTO tblMockMeta(MetaKey, MetaValue) VALUES (?, ?)",
                 (LAST_ID_KEY, next_id(conn) - 1))
    conn.execute("DELETE FROM tblJournal")
    conn.execute("DELETE FROM tblMockMeta WHERE MetaKey = ?", (DROPPED_KEY,))
