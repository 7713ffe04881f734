"""The journal: every screen pop, API call and web call, and every server error, newest last,
capped in size.

Entries live in the store (``tblJournal``) so every worker writes to and reads from the same
journal. When the cap is reached the oldest entries are dropped and counted.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import traceback
from collections.abc import Callable
from typing import Any

from mockspice.store.behind import WriteBehind
from mockspice.store.db import Store

# The kinds of entries: a screen pop, an API request, a web call, an unhandled server error.
KINDS = ("pop", "api", "webcall", "error")
DROPPED_KEY = "journal_dropped"
BYTES_KEY = "journal_bytes"  # the journal's size: UTF-8 bytes of its rows' entries and shared texts
# The journal's cap in bytes (setting journal_max_bytes), kept in the store when the server starts
# (state.prepare), so that every process writing to it keeps to the same one.
MAX_BYTES_KEY = "journal_max_bytes"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
LAST_ID_KEY = "journal_last_id"  # the last id given before the journal was emptied
MAX_REFLECTED = 4096  # a value echoed into an entry is cut here so one request cannot bloat it
RECORDER = "journal"  # the store's per-process helper that writes entries
SETTLE_S = 1.0  # a reader waits at most this long for entries another process has not written yet


_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds (how entries are stamped).

    On every request: the date and time of day are formatted once a second.
    """
    global _second
    now = time.time()
    second = int(now)
    if _second[0] != second:
        _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second[1]}.{int((now - second) * 1000):03d}Z"


def clip(value: str, most: int = MAX_REFLECTED) -> str:
    """A reflected value, cut to ``most`` characters with a note of the full length."""
    if len(value) <= most:
        return value
    return value[:most] + f"...[{len(value)} characters]"


def error_entry(exc: BaseException, **where: Any) -> dict[str, Any]:
    """The entry (kind ``error``) of an unhandled exception: ``where`` it happened (``method``,
    ``path``, ``status``, ...), then ``error`` (``"<ExcType>: <message>"``) and the ``traceback``,
    so that a test harness can fail the test that caused it with the server's own traceback."""
    return {
        **where,
        "error": clip(f"{type(exc).__name__}: {exc}"),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


class _Recorder:
    """This process's journal writer and how far its readers have seen the journal complete."""

    def __init__(self, store: Store, limit: int):
        max_bytes = int(store.meta(MAX_BYTES_KEY) or DEFAULT_MAX_BYTES)
        self.writer = WriteBehind(store, lambda conn, rows: _write(conn, rows, limit, max_bytes))
        self.complete_to = 0  # every id up to here was found written (or given up on)

    def close(self) -> bool:
        return self.writer.close()


def _recorder(store: Store, limit: int) -> _Recorder:
    return store.helper(RECORDER, lambda: _Recorder(store, limit))


def append(store: Store, limit: int, kind: str, entry: dict[str, Any]) -> int:
    """Record an entry; returns its id at once, the row is written a moment later (store/behind.py).

    :param limit: the journal's cap (setting ``journal_limit``): older entries are dropped.
    """
    # The JSON first, before taking an id: an id is never left unused.
    return record(store, limit, kind, entry_text(entry))


def append_own(store: Store, limit: int, kind: str, build: Callable[[int], dict[str, Any]]) -> int:
    """Record an entry that holds its own id: ``build(id)`` makes it once the id is taken.

    The id is written whatever happens: should ``build`` fail, an ``error`` entry takes the id
    and the exception goes on (an id taken and never written would keep readers waiting for it,
    :func:`settle`).
    """
    entry_id = store.counters.take()
    try:
        text = entry_text(build(entry_id))
    except Exception as exc:
        record(store, limit, "error", entry_text(error_entry(exc, making=kind)), entry_id)
        raise
    return record(store, limit, kind, text, entry_id)


# An entry's JSON is at most this long (characters): a longer one is cut (:func:`entry_text`).
MAX_ENTRY = 256 * 1024
# How a longer entry is cut, tried in turn: each list keeps its first N items (the entry says how
# many it dropped, beside the list: "records": [...], "records_dropped": 129901), each text its
# first M characters (as :func:`clip` says).
_CUTS = ((100, 64 * 1024), (10, 4096), (1, 256))


def entry_text(entry: dict[str, Any]) -> str:
    """An entry's JSON, cut to at most :data:`MAX_ENTRY` characters whatever a partner or client
    sent (a reply of 130,000 users is 130,000 parsed records)."""
    text = json.dumps(entry, ensure_ascii=False)
    for items, chars in _CUTS:
        if len(text) <= MAX_ENTRY:
            return text
        text = json.dumps(_cut(entry, items, chars), ensure_ascii=False)
    if len(text) <= MAX_ENTRY:
        return text
    kept = {k: v for k, v in entry.items() if v is None or isinstance(v, (bool, int, float))}
    return json.dumps({**kept, "cut": f"an entry of {len(text)} characters, not kept"})


def _cut(value: Any, items: int, chars: int) -> Any:
    """``value`` with every list cut to ``items`` and every text to ``chars`` (a copy)."""
    if isinstance(value, str):
        return clip(value, chars)
    if isinstance(value, list):
        return [_cut(item, items, chars) for item in value[:items]]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        out[key] = _cut(item, items, chars)
        if isinstance(item, list) and len(item) > items:
            out[f"{key}_dropped"] = len(item) - items
    return out


class Shared:
    """The JSON of entries recorded many times (a replayed API answer's), stored once under a key
    drawn from its content; each entry is a row naming the key."""

    __slots__ = ("text", "key")

    def __init__(self, text: str):
        self.text = text  # the entry's JSON
        self.key = int.from_bytes(
            hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
        )


def record(
    store: Store, limit: int, kind: str, text: str | Shared, entry_id: int | None = None
) -> int:
    """Record an entry already written as JSON (an object's text, or a shared one); as
    :func:`append` otherwise."""
    row = (entry_id or store.counters.take(), kind, now_iso(), text)
    _recorder(store, limit).writer.put(row)
    return row[0]


# Rows go in by statements of 2**k rows, up to 128 (640 parameters, under the 999 of older
# SQLite builds): one call into SQLite for many rows, as each call lets go of the GIL and takes it
# again (a thread switch, under load), and at most 8 statement texts for the sqlite3 module to
# cache.
_INSERT = "INSERT OR REPLACE INTO tblJournal(JournalID, Kind, Created, Entry, TextKey) VALUES "
_MOST_ROWS = 128


def _write(
    conn: sqlite3.Connection,
    rows: list[tuple[int, str, str, Any]],
    limit: int,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> None:
    """Write a batch inside the writer's transaction, then drop what is past the caps (``limit``
    entries, ``max_bytes`` bytes) and count it.

    A shared entry's row has an empty ``Entry`` and the ``TextKey`` of its text in
    ``tblJournalText``.
    """
    cleared = _cleared_to(conn)
    size = _size(conn)
    values: list[Any] = []
    shared: dict[int, str] = {}
    for entry_id, kind, created, text in rows:
        if entry_id <= cleared:
            continue  # taken before the journal was emptied
        if isinstance(text, Shared):
            shared[text.key] = text.text
            values += (entry_id, kind, created, "", text.key)
        else:
            size += len(text.encode())
            values += (entry_id, kind, created, text, None)
    # In the same transaction as its rows: a text is never found missing.
    for key, text in shared.items():
        if conn.execute(
            "INSERT OR IGNORE INTO tblJournalText(TextKey, Entry) VALUES (?, ?)", (key, text)
        ).rowcount:
            size += len(text.encode())
    done = 0
    while done < len(values):
        count = 1 << (min((len(values) - done) // 5, _MOST_ROWS).bit_length() - 1)
        conn.execute(
            _INSERT + ", ".join(["(?, ?, ?, ?, ?)"] * count), values[done : done + count * 5]
        )
        done += count * 5
    dropped, size = _drop(
        conn, "JournalID <= (SELECT MAX(JournalID) FROM tblJournal) - ?", (limit,), size, cleared
    )
    if size > max_bytes:
        # Down to 90% of the cap, so that a full journal is not trimmed on every batch: the oldest
        # tenth of the rows at a time (a shared entry's text counts when its last row goes), so
        # that no more goes than what is over.
        while size > max_bytes * 9 // 10:
            count = conn.execute("SELECT COUNT(*) FROM tblJournal").fetchone()[0]
            if not count:
                break
            last = conn.execute(
                "SELECT JournalID FROM tblJournal ORDER BY JournalID LIMIT 1 OFFSET ?",
                (max(count // 10, 1) - 1,),
            ).fetchone()[0]
            more, size = _drop(conn, "JournalID <= ?", (last,), size, cleared)
            dropped += more
    conn.execute(
        "INSERT OR REPLACE INTO tblMockMeta(MetaKey, MetaValue) VALUES (?, ?)", (BYTES_KEY, size)
    )
    if dropped:
        conn.execute(
            "INSERT INTO tblMockMeta(MetaKey, MetaValue) VALUES (?, ?) ON CONFLICT(MetaKey) "
            "DO UPDATE SET MetaValue = CAST(MetaValue AS INTEGER) + excluded.MetaValue",
            (DROPPED_KEY, dropped),
        )


def _drop(
    conn: sqlite3.Connection, where: str, args: tuple, size: int, cleared: int
) -> tuple[int, int]:
    """Delete the rows ``where`` says, and the shared texts no row names any more: how many of
    them had been listed (not cleared away), and the journal's size after."""
    rows = conn.execute(
        f"DELETE FROM tblJournal WHERE {where} RETURNING JournalID, TextKey, "
        "length(CAST(Entry AS BLOB))",
        args,
    ).fetchall()
    size -= sum(r[2] for r in rows)
    for key in {r[1] for r in rows if r[1] is not None}:  # the texts no entry names any more
        gone = conn.execute(
            "DELETE FROM tblJournalText WHERE TextKey = ?1 AND NOT EXISTS "
            "(SELECT 1 FROM tblJournal WHERE TextKey = ?1) RETURNING length(CAST(Entry AS BLOB))",
            (key,),
        ).fetchall()
        size -= sum(r[0] for r in gone)
    return sum(1 for r in rows if r[0] > cleared), size


def _size(conn: sqlite3.Connection) -> int:
    """The journal's size in bytes (counted once, for a store that has not kept it yet)."""
    row = conn.execute(
        "SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (BYTES_KEY,)
    ).fetchone()
    if row is not None:
        return int(row[0])
    return conn.execute(
        "SELECT (SELECT COALESCE(SUM(length(CAST(Entry AS BLOB))), 0) FROM tblJournal)"
        " + (SELECT COALESCE(SUM(length(CAST(Entry AS BLOB))), 0) FROM tblJournalText)"
    ).fetchone()[0]


def _cleared_to(conn: sqlite3.Connection) -> int:
    """The last id the latest clear emptied away (entries at or below it are never listed)."""
    row = conn.execute(
        "SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (LAST_ID_KEY,)
    ).fetchone()
    return int(row[0]) if row else 0


def _newest(conn: sqlite3.Connection) -> int:
    """The highest id in the table (0 when it is empty)."""
    return conn.execute("SELECT COALESCE(MAX(JournalID), 0) FROM tblJournal").fetchone()[0]


def resume(store: Store) -> None:
    """Go on after the ids an existing store has already given (``mockspice serve --db`` of an
    earlier run).
    """
    with store.snapshot() as conn:
        store.counters.raise_to(max(_newest(conn), _cleared_to(conn)))


def settle(store: Store, limit: int | None) -> None:
    """Wait until the entries recorded before the call can be read, in every process.

    This process's queue is written at once. Another process's entries are waited for (they
    are written within milliseconds, later only behind a long write such as a state import),
    at most ``SETTLE_S`` in all; an id whose entry never came (its process was killed) is
    waited for once per process.
    :param limit: the journal's cap; None waits for this process's entries only.
    """
    deadline = time.monotonic() + SETTLE_S
    top = store.counters.last()
    recorder = store.helper(RECORDER)
    if recorder is not None:
        recorder.writer.flush(SETTLE_S)
    if limit is None:
        return
    seen_to = recorder.complete_to if recorder is not None else 0
    while True:
        with store.snapshot() as conn:
            # Ids at or below (newest - limit) may already be trimmed away: not waited for.
            low = max(_cleared_to(conn), max(top, _newest(conn)) - limit, seen_to)
            found = conn.execute(
                "SELECT COUNT(*) FROM tblJournal WHERE JournalID > ? AND JournalID <= ?", (low, top)
            ).fetchone()[0]
        if found >= top - low or time.monotonic() > deadline:
            break
        time.sleep(0.001)
    if recorder is not None:
        recorder.complete_to = max(recorder.complete_to, top)


def entries(
    store: Store,
    kind: str | None = None,
    since: int | str | None = None,
    limit: int | None = None,
    *,
    cap: int | None = None,
) -> dict[str, Any]:
    """The journal, oldest first: ``{"entries", "count", "dropped"}``.

    :param kind: only entries of this kind (one of :data:`KINDS`).
    :param since: an entry id (entries after it) or an ISO time (entries at or after it).
    :param limit: only the newest ``limit`` of the entries that pass the filters.
    :param cap: the journal's cap (setting ``journal_limit``): with it, entries other processes
        recorded before the call are waited for too (:func:`settle`).
    """
    settle(store, cap)
    where, args = ["JournalID > ?"], []  # the clear mark, read in the snapshot below
    if kind:
        where.append("Kind = ?")
        args.append(kind)
    if isinstance(since, int):
        where.append("JournalID > ?")
        args.append(since)
    elif since:
        where.append("Created >= ?")
        args.append(since)
    sql = (
        "SELECT JournalID, Kind, Created, Entry, "
        "(SELECT Entry FROM tblJournalText AS t WHERE t.TextKey = tblJournal.TextKey) "
        "FROM tblJournal WHERE " + " AND ".join(where)
    )
    sql += " ORDER BY JournalID DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with store.snapshot() as conn:
        # Entries cleared away are hidden also when they arrived after the clear (their ids are
        # older).
        rows = conn.execute(sql, [_cleared_to(conn), *args]).fetchall()
        dropped = conn.execute(
            "SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (DROPPED_KEY,)
        ).fetchone()
    out = [_entry(r) for r in reversed(rows)]
    return {"entries": out, "count": len(out), "dropped": int(dropped[0]) if dropped else 0}


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    """A stored entry as listed: the journal's id, kind and time first, never hidden by its own
    keys.
    """
    entry = {"id": row[0], "kind": row[1], "at": row[2]}
    entry.update((k, v) for k, v in json.loads(_whole(row[3], row[4])).items() if k not in entry)
    return entry


def _whole(entry: str, shared: str | None) -> str:
    """An entry's JSON from its row's ``Entry`` and its shared text (None: not shared)."""
    if shared is None:
        return entry
    if not entry:
        return shared
    # A row of a store written by an earlier mockspice: the strings between the shared parts.
    parts, fills = json.loads(shared), json.loads(entry)
    return parts[0] + "".join(fill + part for fill, part in zip(fills, parts[1:]))


def clear(conn: sqlite3.Connection, store: Store) -> None:
    """Empty the journal and its dropped count, inside the caller's write transaction.

    Every id given so far counts as cleared, so entries still on their way to the table are
    dropped when they arrive.
    """
    conn.execute(
        "INSERT OR REPLACE INTO tblMockMeta(MetaKey, MetaValue) VALUES (?, ?)",
        (LAST_ID_KEY, store.counters.last()),
    )
    conn.execute("DELETE FROM tblJournal")
    conn.execute("DELETE FROM tblJournalText")
    conn.execute("DELETE FROM tblMockMeta WHERE MetaKey IN (?, ?)", (DROPPED_KEY, BYTES_KEY))
