"""The embedded SQLite database: opening, checking and connections.

One file, WAL mode, shared by every server worker (each process and thread has its own
connection; WAL lets readers run beside one writer). Writes go through :meth:`Store.write`,
which holds SQLite's write lock for the whole transaction (``BEGIN IMMEDIATE``), so a change is
all or nothing and two workers never interleave.

Every write of the dataset bumps the store's *generation* (a counter in ``tblMockMeta``), so a
worker can keep what it computed from the dataset for as long as the generation stays the same.
Writes of history (the journal) say so and leave it alone.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mockspice.store import schema
from mockspice.store.behind import Counters

BUSY_TIMEOUT_S = 10.0
GENERATION_KEY = "generation"
_SQLITE_HEADER = b"SQLite format 3\x00"


_WRITES = frozenset({sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE})
_SCHEMA_CHANGES = frozenset(
    code
    for name, code in vars(sqlite3).items()
    if name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_", "SQLITE_ALTER"))
)


def _history_only(action: int, table: str | None, *_: object) -> int:
    """The authorizer of a history write: rows of :data:`schema.HISTORY_TABLES` only, and no
    schema change (a statement that would do more is refused when it is prepared)."""
    if action in _WRITES and table not in schema.HISTORY_TABLES:
        return sqlite3.SQLITE_DENY
    if action in _SCHEMA_CHANGES:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class StoreError(Exception):
    """The database file cannot be used; the message is one line naming the file."""


class _Owned:
    """A thread's connection, closed when the thread ends (its ``threading.local`` goes with
    it) unless the store has closed it first. Without this, every thread that ever used the
    store kept its connection (descriptors and page cache) until the store closed, and granian
    starts new threads under load and ends them when idle."""

    __slots__ = ("conn", "pid", "opened")

    def __init__(self, conn: sqlite3.Connection, opened: dict[int, tuple[int, sqlite3.Connection]]):
        self.conn, self.pid, self.opened = conn, os.getpid(), opened
        opened[id(self)] = (self.pid, conn)

    def __del__(self) -> None:
        # Only in the process that opened it: a forked child must not close its parent's.
        if self.opened.pop(id(self), None) is not None and self.pid == os.getpid():
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - nothing to do about it as the thread ends
                pass


class Store:
    """A mockspice database file and the connections to it."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._local = threading.local()
        # Writers queue on locks that wake the next one at once: threads of a process on a
        # threading lock, processes on a POSIX lock of a file beside the store. SQLite's own
        # busy handler would make them sleep in steps of milliseconds.
        self._write_lock = threading.Lock()
        self._write_owner: int | None = None  # the thread holding it
        self._lock_file: tuple[int, int] | None = None  # (pid, fd)
        self._opened: dict[
            int, tuple[int, sqlite3.Connection]
        ] = {}  # (pid, connection) of each live thread
        self._epoch = 0  # bumped by close(): a thread's connection from before is closed
        # Journal ids and the generation, shared by the processes using the file (store/behind.py).
        self.counters = Counters(self.path)  # files <db>-ids and <db>-generation
        self._helpers: dict[str, tuple[int, Any]] = {}  # name -> (pid, helper): per process
        self._helpers_lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> tuple[Store, bool]:
        """Check ``path`` and create the schema if the file is new.

        Returns the store and whether the file already held a mockspice store.
        :raises StoreError: the file is unwritable, not SQLite, another program's database or
            a store of an incompatible version.
        """
        store = cls(path)
        version = store._check_file()
        existed = version is not None
        if not existed:
            conn = store.connection()
            conn.executescript(
                "BEGIN IMMEDIATE;"
                + schema.GLOBAL_DDL
                + f"PRAGMA application_id = {schema.APPLICATION_ID};"
                + f"PRAGMA user_version = {schema.SCHEMA_VERSION};COMMIT;"
            )
            # A counter file left by an earlier store of this name is not this one's.
            store.counters.restart()
        else:
            with store._writer():  # in order with the writers of a store already being served
                store._migrate()
                store.counters.set_generation(store.generation(store.read()))
        return store, existed

    def _migrate(self) -> None:
        """Bring a store of an older schema version (checked) to this one's, all at once.

        The caller holds the write lock: the version is read again under it, as another process
        may have just done it.
        """
        version = self.read().execute("PRAGMA user_version").fetchone()[0]
        if version >= schema.SCHEMA_VERSION:
            return
        companies = [
            r[0] for r in self.read().execute("SELECT TenantID FROM tblTenant ORDER BY TenantID")
        ]
        steps = "".join(
            step if isinstance(step, str) else step(companies)
            for step in (schema.MIGRATIONS[v] for v in range(version, schema.SCHEMA_VERSION))
        )
        try:
            self.connection().executescript(
                f"BEGIN IMMEDIATE;{steps}PRAGMA user_version = {schema.SCHEMA_VERSION};COMMIT;"
            )
        except sqlite3.DatabaseError as exc:
            conn = self.connection()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(
                f"db {self.path}: cannot be brought from schema version {version} to "
                f"{schema.SCHEMA_VERSION} ({exc})"
            ) from None

    def _check_file(self) -> int | None:
        """The file's schema version (None: a new file, or an empty one, to be created)."""
        path = self.path
        if path.is_dir():
            raise StoreError(f"db {path}: is a folder, not a file")
        parent = path.parent
        if not parent.is_dir():
            raise StoreError(f"db {path}: folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"db {path}: folder {parent} is not writable")
        if path.exists():
            if not os.access(path, os.R_OK | os.W_OK):
                raise StoreError(f"db {path}: file is not readable and writable")
            with open(path, "rb") as fh:
                head = fh.read(len(_SQLITE_HEADER))
            if head and head != _SQLITE_HEADER:
                raise StoreError(f"db {path}: not an SQLite database")
        else:
            return None
        # Look before writing: a read-only connection, so another program's file is never changed
        # (even switching it to WAL would rewrite its header).
        try:
            probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                app_id = probe.execute("PRAGMA application_id").fetchone()[0]
                version = probe.execute("PRAGMA user_version").fetchone()[0]
                tables = [
                    r[0]
                    for r in probe.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                    )
                ]
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"db {path}: cannot be opened as SQLite ({exc})") from None
        if app_id == 0 and not tables:
            return None
        if app_id != schema.APPLICATION_ID:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(
                f"db {path}: holds another program's tables ({shown}), not a mockspice store"
            )
        if version > schema.SCHEMA_VERSION or not all(
            v in schema.MIGRATIONS for v in range(version, schema.SCHEMA_VERSION)
        ):
            raise StoreError(
                f"db {path}: mockspice store of schema version {version}, this mockspice needs "
                f"{schema.SCHEMA_VERSION}; use a new file"
            )
        return version

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (made on first use; never shared across a fork)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid() and self._local.epoch == self._epoch:
            return conn
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            # A mock's state need not survive a power cut: no fsync, not even at checkpoints.
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"db {self.path}: cannot be opened as SQLite ({exc})") from None
        self._local.conn = conn
        self._local.pid = os.getpid()
        self._local.epoch = self._epoch
        self._local.owner = _Owned(conn, self._opened)  # the one it replaces was closed by close()
        return conn

    def read(self) -> sqlite3.Connection:
        """A connection for reads (each statement sees a consistent snapshot)."""
        return self.connection()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several statements see the same state."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def write(self, *, history: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        :param history: the transaction writes only history (the journal), not the dataset, so
            the generation stays as it is.
        """
        with self._writer():
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            generation = None
            if history:
                conn.set_authorizer(_history_only)
            try:
                if not history:
                    generation = int(
                        conn.execute(
                            "INSERT INTO tblMockMeta(MetaKey, MetaValue) VALUES (?, '1') ON "
                            "CONFLICT(MetaKey) "
                            "DO UPDATE SET MetaValue = CAST(MetaValue AS INTEGER) + 1 RETURNING "
                            "MetaValue",
                            (GENERATION_KEY,),
                        ).fetchone()[0]
                    )
                    # Published before COMMIT, still under the write lock: a reader that sees it
                    # early only misses its cache (what it computes is tagged with the table's
                    # value).
                    self.counters.set_generation(generation)
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    if generation is not None:
                        self.counters.set_generation(
                            self.generation(conn)
                        )  # back to what the table holds
                except Exception:  # noqa: BLE001 - the first error is the one to report
                    pass
                raise
            finally:
                if history:
                    conn.set_authorizer(None)

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """Hold this process's write lock and the store's cross-process one."""
        with self._write_lock:
            fd = self._process_lock_fd()
            fcntl.lockf(fd, fcntl.LOCK_EX)
            self._write_owner = threading.get_ident()
            try:
                yield
            finally:
                self._write_owner = None
                fcntl.lockf(fd, fcntl.LOCK_UN)

    def writing(self) -> bool:
        """Whether the calling thread holds the store's write lock."""
        return self._write_owner == threading.get_ident()

    def _process_lock_fd(self) -> int:
        """This process's descriptor of the lock file (POSIX locks belong to a process)."""
        if self._lock_file is None or self._lock_file[0] != os.getpid():
            fd = os.open(f"{self.path}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_file = (os.getpid(), fd)
        return self._lock_file[1]

    def generation(self, conn: sqlite3.Connection | None = None) -> int:
        """The dataset's generation: it changes with every committed write of the dataset.

        :param conn: read it in this connection's transaction (else: the shared counter, no SQL).
        """
        if conn is None:
            return self.counters.generation()
        row = conn.execute(
            "SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (GENERATION_KEY,)
        ).fetchone()
        return int(row[0]) if row else 0

    def helper(self, name: str, make: Callable[[], Any] | None = None) -> Any:
        """This process's helper called ``name``, made on first use by ``make`` (None: not made).

        A helper's ``close()`` runs at :meth:`close`, before the connections are closed.
        """
        found = self._helpers.get(name)
        if found is None or found[0] != os.getpid():
            if make is None:
                return None
            with self._helpers_lock:
                found = self._helpers.get(name)
                if found is None or found[0] != os.getpid():
                    found = self._helpers[name] = (os.getpid(), make())
        return found[1]

    def close(self) -> None:
        """Close this process's helpers (writing what they hold), then every connection it opened
        (all threads') and its lock files."""
        pid = os.getpid()
        with self._helpers_lock:
            mine = [
                (name, helper) for name, (owner, helper) in self._helpers.items() if owner == pid
            ]
            for name, _ in mine:
                del self._helpers[name]
        finished = [helper.close() is not False for _, helper in mine]
        if not all(finished):
            return  # a helper still writes through this process's connection and lock: leave them
        self.counters.close()
        for key, (owner, conn) in list(self._opened.items()):
            if owner == pid and self._opened.pop(key, None) is not None:
                conn.close()  # sqlite3 lets another thread close it (check_same_thread=False)
        self._epoch += 1
        if self._lock_file is not None and self._lock_file[0] == os.getpid():
            os.close(self._lock_file[1])
            self._lock_file = None

    def meta(self, key: str, default: str | None = None) -> str | None:
        """A value of the store's own key/value table."""
        row = (
            self.read()
            .execute("SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (key,))
            .fetchone()
        )
        return default if row is None else row[0]

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        """Set a value of the store's own key/value table inside a write transaction."""
        conn.execute(
            "INSERT OR REPLACE INTO tblMockMeta(MetaKey, MetaValue) VALUES (?, ?)", (key, value)
        )
