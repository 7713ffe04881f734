"""The API's ``query(sql)``: read-only SQL on the store, as SpiceCSM's clients send it.

Clients send MySQL text such as ``select BrandID, BrandLabel from 1_tblBrand where Active=1``
(spicecsm-facts.md). SQLite needs a name that starts with a digit quoted, so such names are
quoted outside string literals before the statement runs. Only reading is allowed, enforced by
an SQLite authorizer (not by looking at the text). Rows come back as PHP's MySQL functions give
them: lower-case column names, values as strings (NULL as null).

Each statement runs in a process of its own (:mod:`mockspice.store.query_child`; at most
``threads`` of them per server process, started on first use, kept for the next statement and
started again after one is killed), so that its time, its memory and the size of its answer are
bounded whatever it asks SQLite to do: the server waits for the answer until shortly after the
time limit, then kills that process.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mockspice.domain.errors import DomainError
from mockspice.domain.records import MAX_ROWS, NO_RESULTS
from mockspice.store.db import Store

CHILD = str(Path(__file__).resolve().parent.parent / "store" / "query_child.py")
# The mock's own tables (sessions, the journal with its requests, the seed, the stubs) are not
# SpiceCSM's and hold credentials; password columns read as NULL.
HIDDEN_TABLES = {"tblSession", "tblJournal", "tblJournalText", "tblMockMeta", "tblRpcStub"}
HIDDEN_COLUMNS = {"password"}
# Per company: the brands' secrets (intPass, inContact credentials).
HIDDEN_SUFFIXES = {"_tblBrandSecret"}
_TOKENS = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\b\d+_tbl\w+\b)""", re.IGNORECASE)


class QueryRefused(DomainError):
    """A statement that is not a read, or reads what the API does not show."""

    code = "query-refused"
    rpc_code = -32010


class QueryFailed(DomainError):
    """SQLite could not run the statement (syntax, unknown table), or it went past a limit."""

    code = "query-failed"
    rpc_code = -32011


def quote_names(sql: str) -> str:
    """Quote ``1_tblBrand``-style names outside string literals (MySQL takes them bare)."""

    def replace(match: re.Match) -> str:
        token = match.group(0)
        return token if token[0] in "'\"`" else f'"{token}"'

    return _TOKENS.sub(replace, sql)


class QueryProcesses:
    """A server process's query processes: at most ``threads`` at once, each running one statement
    at a time and kept for the next (a :meth:`Store.helper`, closed with the store)."""

    def __init__(self, store: Store, settings: Any):
        self.config = json.dumps(
            {
                "db": str(store.path.resolve()),
                "time_ms": settings.query_time_limit_ms,
                "memory_mb": settings.query_memory_mb,
                "max_bytes": settings.query_max_bytes,
                "max_rows": MAX_ROWS,
                "hidden_tables": sorted(HIDDEN_TABLES),
                "hidden_suffixes": sorted(HIDDEN_SUFFIXES),
                "hidden_columns": sorted(HIDDEN_COLUMNS),
            }
        )
        # Waited for past the limit (grace): the process stops the statement itself at the limit.
        self.limit_s = settings.query_time_limit_ms / 1000
        self.grace_s = self.limit_s * 0.04 + 0.02
        self.max_answer = settings.query_max_bytes + 64 * 1024
        # At most `threads` statements at once per server process, each in its own child: granian
        # may run many more requests at once than `threads` (surfaces/bodies.py), and each child
        # may use query_memory_mb. A statement waits for one, within its time limit.
        self.most = settings.threads
        self._slots = threading.BoundedSemaphore(self.most)
        self._idle: list[subprocess.Popen] = []
        self._all: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def run(self, sql: str) -> dict[str, Any]:
        """The child's answer to one statement; :class:`QueryFailed` if it had to be killed."""
        deadline = (
            time.monotonic() + self.limit_s
        )  # the wait and a start of the process count in the time
        if not self._slots.acquire(timeout=self.limit_s):
            raise QueryFailed(
                f"query failed: {self.most} statements were running in this server process for "
                f"{self.limit_s:g} s (as many as the threads setting; the query_time_limit_ms "
                "limit)"
            )
        try:
            proc = self._take()
            try:
                budget = max(deadline - time.monotonic(), 0.001)
                os.write(
                    proc.stdin.fileno(), json.dumps({"sql": sql, "time_s": budget}).encode() + b"\n"
                )
                line = self._answer(proc, deadline + self.grace_s)
            except OSError:
                line = None
            if line is None:
                code = proc.poll()
                self._stop(proc)
                if code is None:
                    raise QueryFailed(
                        f"query failed: stopped after {self.limit_s:g} s (the query_time_limit_ms "
                        "limit)"
                    )
                raise QueryFailed(
                    f"query failed: the statement's process ended (exit code {code}), most likely "
                    "past the query_memory_mb limit"
                )
            with self._lock:
                self._idle.append(proc)
            return json.loads(line)
        finally:
            self._slots.release()

    def _take(self) -> subprocess.Popen:
        """An idle child that is still alive, or a new one."""
        while True:
            with self._lock:
                proc = self._idle.pop() if self._idle else None
            if proc is None:
                return self._start()
            if proc.poll() is None:
                return proc
            self._stop(
                proc
            )  # it ended while idle (killed from outside): reaped, and another started

    def _answer(self, proc: subprocess.Popen, deadline: float) -> bytes | None:
        """One line from the child, or None when it does not come in time (or the child died)."""
        fd, chunks, size = proc.stdout.fileno(), [], 0
        waiting = select.poll()  # not select(): a server's descriptors may be past FD_SETSIZE
        waiting.register(fd, select.POLLIN)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not waiting.poll(left * 1000):
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            chunks.append(chunk)
            size += len(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)
            if size > self.max_answer:
                return None

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        proc.stdin.write(self.config.encode() + b"\n")
        with self._lock:
            self._all.add(proc)
        return proc

    def _stop(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._all.discard(proc)
            if proc in self._idle:
                self._idle.remove(proc)
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()

    def close(self) -> None:
        """End every query process of this server process."""
        with self._lock:
            procs = list(self._all)
        for proc in procs:
            self._stop(proc)


def query(store: Store, sql: str, settings: Any) -> list[dict[str, Any]] | dict[str, str]:
    """Run one read-only statement; the rows, or ``{"msg": "no results"}``."""
    processes = store.helper("query", lambda: QueryProcesses(store, settings))
    answer = processes.run(quote_names(sql))
    error = answer.get("error")
    if error == "refused":
        raise QueryRefused(
            f"query refused: only reading is allowed (the statement would {answer['message']})"
        )
    if error is not None:
        raise QueryFailed(f"query failed: {answer['message']}")
    return answer["rows"] or NO_RESULTS
