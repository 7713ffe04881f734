"""The API's ``query(sql)``: read-only SQL on the store, as SpiceCSM's clients send it.

Clients send MySQL text such as ``select BrandID, BrandLabel from 1_tblBrand where Active=1``
(spicecsm-facts.md). SQLite needs a name that starts with a digit quoted, so such names are
quoted outside string literals before the statement runs. Only reading is allowed, enforced by
an SQLite authorizer (not by looking at the text); a statement that runs too long is
interrupted. Rows come back as PHP's MySQL functions give them: lower-case column names, values
as strings (NULL as null).
"""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from mockspice.domain.errors import DomainError
from mockspice.store.db import Store

MAX_ROWS = 10_000
TIME_CAP_S = 2.0
# The mock's own tables (sessions, the journal with its requests, the seed, the stubs) are not
# SpiceCSM's and hold credentials; password columns read as NULL.
HIDDEN_TABLES = {"tblSession", "tblJournal", "tblJournalText", "tblMockMeta", "tblRpcStub"}
HIDDEN_COLUMNS = {"password"}
_TOKENS = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\b\d+_tbl\w+\b)""", re.IGNORECASE)
_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
# The authorizer's action codes, for saying what a refused statement would have done.
_ACTION_NAMES = dict(enumerate((
    "CREATE INDEX", "CREATE TABLE", "CREATE TEMP INDEX", "CREATE TEMP TABLE", "CREATE TEMP TRIGGER",
    "CREATE TEMP VIEW", "CREATE TRIGGER", "CREATE VIEW", "DELETE", "DROP INDEX", "DROP TABLE",
    "DROP TEMP INDEX", "DROP TEMP TABLE", "DROP TEMP TRIGGER", "DROP TEMP VIEW", "DROP TRIGGER",
    "DROP VIEW", "INSERT", "PRAGMA", "READ", "SELECT", "TRANSACTION", "UPDATE", "ATTACH", "DETACH",
    "ALTER TABLE", "REINDEX", "ANALYZE", "CREATE VTABLE", "DROP VTABLE", "FUNCTION", "SAVEPOINT",
    "RECURSIVE"), start=1))


class QueryRefused(DomainError):
    """A statement that is not a read, or reads what the API does not show."""

    code = "query-refused"
    rpc_code = -32010


class QueryFailed(DomainError):
    """SQLite could not run the statement (syntax, unknown table, time cap)."""

    code = "query-failed"
    rpc_code = -32011


def quote_names(sql: str) -> str:
    """Quote ``1_tblBrand``-style names outside string literals (MySQL takes them bare)."""
    def replace(match: re.Match) -> str:
        token = match.group(0)
        return token if token[0] in "'\"`" else f'"{token}"'

    return _TOKENS.sub(replace, sql)


def query(store: Store, sql: str) -> list[dict[str, Any]] | dict[str, str]:
    """Run one read-only statement; the rows, or ``{"msg": "no results"}``."""
    conn = store.read()
    refused: list[str] = []

    def authorize(action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
        if action not in _ALLOWED:
            refused.append(_ACTION_NAMES.get(action, str(action)))
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_READ and arg1 in HIDDEN_TABLES:
            refused.append(f"READ {arg1}")
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_READ and isinstance(arg2, str) and arg2.lower() in HIDDEN_COLUMNS:
            return sqlite3.SQLITE_IGNORE  # the column reads as NULL
        return sqlite3.SQLITE_OK

    deadline = time.monotonic() + TIME_CAP_S
    conn.set_authorizer(authorize)
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        cursor = conn.execute(quote_names(sql))
        names = [d[0].lower() for d in cursor.description or ()]
        rows = cursor.fetchmany(MAX_ROWS + 1)
    except sqlite3.DatabaseError as exc:
        if refused:
            raise QueryRefused(f"query refused: only reading is allowed (the statement would {refused[0]})") from None
        if time.monotonic() > deadline:
            raise QueryFailed(f"query failed: interrupted after {TIME_CAP_S:g} s") from None
        raise QueryFailed(f"query failed: {exc}") from None
    except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
        raise QueryFailed(f"query failed: {exc}") from None
    finally:
        conn.set_authorizer(None)
        conn.set_progress_handler(None, 0)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    if len(rows) > MAX_ROWS:
        raise QueryFailed(f"query failed: more than {MAX_ROWS} rows; narrow it down")
    if not rows:
        return {"msg": "no results"}
    return [{name: _php(value) for name, value in zip(names, row)} for row in rows]


def _php(value: Any) -> Any:
    """A column value as PHP's MySQL functions give it: text, or null."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
