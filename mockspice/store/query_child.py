"""The process that runs the API's ``query`` statements (started by :mod:`mockspice.domain.sql`).

A statement a client writes can ask SQLite for anything a read can do: a recursive CTE that
doubles a string, a sort of millions of generated rows, ``printf`` with a width of two billion.
SQLite's own limits bound most of it, but some single steps run long or allocate outside them,
so every statement runs here, in a process of its own, where the limits hold for all of it:

- memory: SQLite's hard heap limit (temporary tables and sorts kept in memory count too, so
  nothing spills to disk) and, for the rest of the process, an address-space limit;
- the answer: no value and no answer longer than ``max_bytes`` (the JSON of the rows);
- time: a progress handler stops the statement at its deadline, and the server kills this
  process if it has not answered shortly after (a step that runs long between checks).

Only the standard library is imported (it starts with ``python -I -S``). One JSON line of
settings comes first on stdin, then one line per statement (``{"sql", "time_s"}``: the time it
has left); each answer is one JSON line: ``{"rows": [{name: value, ...}, ...]}``, the rows as the
API answers them, or ``{"error": KIND, "message": ...}``.
"""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
import sys
import time
from typing import Any
from urllib.parse import quote

_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
# The authorizer's action codes, for saying what a refused statement would have done.
_ACTION_NAMES = dict(
    enumerate(
        (
            "CREATE INDEX",
            "CREATE TABLE",
            "CREATE TEMP INDEX",
            "CREATE TEMP TABLE",
            "CREATE TEMP TRIGGER",
            "CREATE TEMP VIEW",
            "CREATE TRIGGER",
            "CREATE VIEW",
            "DELETE",
            "DROP INDEX",
            "DROP TABLE",
            "DROP TEMP INDEX",
            "DROP TEMP TABLE",
            "DROP TEMP TRIGGER",
            "DROP TEMP VIEW",
            "DROP TRIGGER",
            "DROP VIEW",
            "INSERT",
            "PRAGMA",
            "READ",
            "SELECT",
            "TRANSACTION",
            "UPDATE",
            "ATTACH",
            "DETACH",
            "ALTER TABLE",
            "REINDEX",
            "ANALYZE",
            "CREATE VTABLE",
            "DROP VTABLE",
            "FUNCTION",
            "SAVEPOINT",
            "RECURSIVE",
        ),
        start=1,
    )
)


class _Over(Exception):
    """The statement went past one of the limits (the kind, and a message naming it)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _address_space() -> int:
    """This process's address space now, in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


class Runner:
    """One read-only connection with the limits set, running statements one at a time."""

    def __init__(self, config: dict[str, Any]):
        self.memory = config["memory_mb"] * 1024 * 1024
        self.max_bytes = config["max_bytes"]
        self.max_rows = config["max_rows"]
        self.time_s = config["time_ms"] / 1000
        self.hidden_tables = set(config["hidden_tables"])
        self.hidden_suffixes = tuple(config["hidden_suffixes"])
        self.hidden_columns = set(config["hidden_columns"])
        conn = sqlite3.connect(
            f"file:{quote(config['db'])}?mode=ro", uri=True, isolation_level=None
        )
        conn.execute(f"PRAGMA hard_heap_limit = {self.memory}")
        conn.execute("PRAGMA temp_store = MEMORY")  # sorts and temporary tables count in the heap
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_bytes)
        conn.set_authorizer(self._authorize)
        self.conn = conn
        self.refused: list[str] = []
        self.deadline = 0.0
        if hasattr(resource, "RLIMIT_AS"):
            # Room for SQLite's heap, the rows as Python objects and their JSON, beyond what the
            # process holds once started; past it an allocation fails instead of the host.
            room = _address_space() + 2 * self.memory + 8 * self.max_bytes + (64 << 20)
            resource.setrlimit(resource.RLIMIT_AS, (room, room))

    def _authorize(self, action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
        if action not in _ALLOWED:
            self.refused.append(_ACTION_NAMES.get(action, str(action)))
            return sqlite3.SQLITE_DENY
        if (
            action == sqlite3.SQLITE_READ
            and isinstance(arg1, str)
            and (arg1 in self.hidden_tables or arg1.endswith(self.hidden_suffixes))
        ):
            self.refused.append(f"READ {arg1}")
            return sqlite3.SQLITE_DENY
        if (
            action == sqlite3.SQLITE_READ
            and isinstance(arg2, str)
            and arg2.lower() in self.hidden_columns
        ):
            return sqlite3.SQLITE_IGNORE  # the column reads as NULL
        return sqlite3.SQLITE_OK

    def run(self, sql: str, time_s: float) -> str:
        """The answer to one statement as its JSON line (rows, or the error), stopped after
        ``time_s``.
        """
        self.refused = []
        self.deadline = time.monotonic() + time_s
        self.conn.set_progress_handler(lambda: int(time.monotonic() > self.deadline), 1000)
        try:
            return self._rows(sql)
        except _Over as over:
            error = {"error": over.kind, "message": str(over)}
        except MemoryError:
            error = self._memory()
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if self.refused:
                error = {"error": "refused", "message": self.refused[0]}
            elif time.monotonic() > self.deadline or text == "interrupted":
                error = self._time()
            elif "too big" in text:
                error = {
                    "error": "size",
                    "message": f"a value is longer than {self.max_bytes} bytes "
                    "(the query_max_bytes limit)",
                }
            elif "out of memory" in text:
                error = self._memory()
            else:
                error = {"error": "failed", "message": text}
        except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
            error = {"error": "failed", "message": str(exc)}
        finally:
            self.conn.set_progress_handler(None, 0)
            try:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        return json.dumps(error, ensure_ascii=False)

    def _rows(self, sql: str) -> str:
        cursor = self.conn.execute(sql)
        names = [d[0].lower() for d in cursor.description or ()]
        rows, size = [], 2
        for row in cursor:
            if len(rows) == self.max_rows:
                raise _Over("rows", f"more than {self.max_rows} rows; narrow it down")
            # The row as the API answers it, an object of the names (the last of a name wins),
            # counted as it is sent.
            text = json.dumps(dict(zip(names, map(_php, row))), ensure_ascii=False)
            size += len(text.encode("utf-8")) + 1
            if size > self.max_bytes:
                raise _Over(
                    "size",
                    f"the answer is longer than {self.max_bytes} bytes "
                    "(the query_max_bytes limit); narrow it down",
                )
            rows.append(text)
        return '{"rows": [' + ", ".join(rows) + "]}"

    def _time(self) -> dict[str, Any]:
        return {
            "error": "time",
            "message": f"stopped after {self.time_s:g} s (the query_time_limit_ms limit)",
        }

    def _memory(self) -> dict[str, Any]:
        return {
            "error": "memory",
            "message": f"the statement needs more than {self.memory >> 20} MiB "
            "of memory (the query_memory_mb limit)",
        }


def _php(value: Any) -> Any:
    """A column value as PHP's MySQL functions give it: text, or null."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def main() -> None:
    """Answer statements from stdin until it ends (the server closed it, or died): a statement
    under way when the server dies ends at its own time limit, and its answer finds no reader.

    No parent-death signal: it would follow the server *thread* that started this process, and
    the server's threads share these processes and come and go."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the server is the server's to handle
    stdin, out = sys.stdin.buffer, sys.stdout.buffer  # UTF-8 whatever the locale
    runner = Runner(json.loads(stdin.readline()))
    for line in stdin:
        try:
            statement = json.loads(line)
            answer = runner.run(statement["sql"], statement["time_s"]).encode("utf-8")
        except MemoryError:
            answer = json.dumps(runner._memory()).encode("utf-8")
        out.write(answer + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
