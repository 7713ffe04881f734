"""Opening the store file: new, kept, or refused with one line."""

from __future__ import annotations

import sqlite3
import time

import pytest

from mockspice.resources import DEMO_DATASET
from mockspice.store import schema
from mockspice.store.db import Store, StoreError


def test_new_file_gets_the_schema_in_wal_mode(tmp_path):
    store, existed = Store.open(tmp_path / "s.db")
    assert not existed
    conn = store.read()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT COUNT(*) FROM tblSecurityLevel").fetchone()[0] == 4
    store.close()
    again, existed = Store.open(tmp_path / "s.db")
    assert existed
    again.close()


def test_empty_file_is_treated_as_new(tmp_path):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    store, existed = Store.open(path)
    assert not existed
    store.close()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_text("hello, I am a text file\n"), "not an SQLite database"),
        (
            lambda p: sqlite3.connect(p).executescript(
                "CREATE TABLE invoices(id); CREATE TABLE users(id);"
            ),
            "holds another program's tables (invoices, users), not a mockspice store",
        ),
        (lambda p: p.mkdir(), "is a folder, not a file"),
        (
            lambda p: sqlite3.connect(p).executescript(
                "PRAGMA application_id = 1297305667; PRAGMA user_version = 99;CREATE TABLE t(x);"
            ),
            "mockspice store of schema version 99",
        ),
    ],
)
def test_unusable_files_are_refused(tmp_path, make, message):
    path = tmp_path / "other.db"
    make(path)
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert str(info.value).startswith(f"db {path}: ") and message in str(info.value)


def test_missing_folder(tmp_path):
    with pytest.raises(StoreError, match=r"folder .*nowhere does not exist"):
        Store.open(tmp_path / "nowhere" / "s.db")


def test_failed_write_rolls_back(tmp_path):
    store, _ = Store.open(tmp_path / "s.db")
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            Store.set_meta(conn, "k", "v")
            raise RuntimeError("boom")
    assert store.meta("k") is None
    store.close()


def test_closing_a_store_leaves_no_descriptor_open(tmp_path):
    import os

    before = len(os.listdir("/proc/self/fd"))
    for i in range(10):
        store, _ = Store.open(tmp_path / f"s{i}.db")
        with store.write() as conn:
            Store.set_meta(conn, "k", "v")
        store.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_close_ends_every_threads_connection_and_the_store_opens_again(tmp_path):
    import threading

    store, _ = Store.open(tmp_path / "s.db")
    opened = []
    worker = threading.Thread(target=lambda: opened.append(store.read()))
    worker.start()
    worker.join()
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")
    assert store.read().execute("SELECT 1").fetchone()[0] == 1  # a new connection after close
    store.close()


# What schema 5 added (MIGRATIONS[4]), taken out of a new store to make an older one.
_BEFORE_5 = (
    "ALTER TABLE tblRpcStub DROP COLUMN Hits; ALTER TABLE tblRpcStub DROP COLUMN Origin; "
    "ALTER TABLE tblSession DROP COLUMN SingleRowObject;"
)


def _schema_2_store(path):
    """A store as mockspice of schema 2 left it (no shared journal texts), with one entry."""
    Store.open(path)[0].close()
    conn = sqlite3.connect(path)
    conn.executescript(
        _BEFORE_5 + "DROP INDEX tblJournal_TextKey; DROP TABLE tblJournalText; "
        "ALTER TABLE tblJournal DROP COLUMN TextKey; PRAGMA user_version = 2;"
        "INSERT INTO tblJournal VALUES (1, 'pop', '2026-11-01T00:00:00.000Z', '{\"old\": 1}');"
    )
    conn.close()
    return path


def test_a_store_of_schema_2_is_brought_to_this_version_keeping_its_journal(tmp_path):
    path = _schema_2_store(tmp_path / "old.db")
    store, existed = Store.open(path)
    assert existed
    conn = store.read()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 5
    assert [tuple(r) for r in conn.execute("SELECT JournalID, Entry, TextKey FROM tblJournal")] == [
        (1, '{"old": 1}', None)
    ]
    assert conn.execute("SELECT COUNT(*) FROM tblJournalText").fetchone()[0] == 0
    store.close()


def test_a_store_of_schema_1_is_refused(tmp_path):
    path = _schema_2_store(tmp_path / "older.db")
    sqlite3.connect(path).execute("PRAGMA user_version = 1").connection.close()
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert str(info.value) == (
        f"db {path}: mockspice store of schema version 1, this mockspice needs 5; use a new file"
    )


def test_a_store_brought_to_this_version_by_another_process_meanwhile_is_left_as_it_is(tmp_path):
    path = _schema_2_store(tmp_path / "old.db")
    late = Store(path)
    assert late._check_file() == 2  # this one looked first ...
    Store.open(path)[0].close()  # ... another brought the file to version 5 ...
    late._migrate()  # ... and this one, holding the lock at last, leaves it alone
    assert late.read().execute("PRAGMA user_version").fetchone()[0] == 5
    late.close()


def test_a_store_of_schema_3_has_its_brands_secrets_moved_out_of_brand_data(tmp_path):
    from mockspice.domain import state
    from mockspice.store import dataset

    path = tmp_path / "v3.db"
    store, _ = Store.open(path)
    data = dataset.load_file(DEMO_DATASET)
    data["companies"][0]["brands"][0]["webcalls"]["int_pass"] = "old-secret"
    data["companies"][0]["brands"][0]["data"]["inContact:password"] = "ic-secret"
    with store.write() as conn:
        dataset.replace(conn, data)
    store.close()
    conn = sqlite3.connect(path)  # as schema 3 kept them: in brand data, no secret tables
    conn.executescript(_BEFORE_5)
    for cid in (1, 2):
        conn.execute(f'INSERT INTO "{cid}_tblBrandData" SELECT * FROM "{cid}_tblBrandSecret"')
        conn.execute(f'DROP TABLE "{cid}_tblBrandSecret"')
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    store, existed = Store.open(path)
    assert existed and store.read().execute("PRAGMA user_version").fetchone()[0] == 5
    read = store.read()
    assert (
        read.execute(
            "SELECT COUNT(*) FROM \"1_tblBrandData\" WHERE DataLabel = 'IntPass' "
            "OR DataLabel LIKE 'inContact:%'"
        ).fetchone()[0]
        == 0
    )
    assert dict(
        read.execute('SELECT DataLabel, DataText FROM "1_tblBrandSecret" WHERE BrandID = 1')
    ) == {"IntPass": "old-secret", "inContact:password": "ic-secret"}
    exported = dataset.export(read)
    assert exported["companies"][0]["brands"][0]["webcalls"]["int_pass"] == "old-secret"
    assert (
        state.export_state(store)["companies"][0]["brands"][0]["data"]["inContact:password"]
        == "********"
    )
    store.close()


def test_a_store_of_schema_4_keeps_its_stubs_and_sessions(tmp_path):
    from mockspice.domain import sessions
    from mockspice.domain.stubs import Stubs

    path = tmp_path / "v4.db"
    Store.open(path)[0].close()
    conn = sqlite3.connect(path)  # as schema 4 left them: no hits, origins or session quirks
    conn.executescript(_BEFORE_5 + "PRAGMA user_version = 4;")
    conn.execute(
        "INSERT INTO tblRpcStub(Method, Stub, TimesLeft) VALUES ('a', ?, 2)",
        (
            '{"method": "a", "params_match": null, "result": 1, "error": null, "times": 2, '
            '"delay_ms": 0, "fault": null}',
        ),
    )
    conn.execute(
        "INSERT INTO tblSession VALUES (?, 'agent', 4, 1, NULL, 4, '2026-01-01T00:00:00.000Z', ?)",
        ("ab" * 16, time.time() + 600),
    )
    conn.commit()
    conn.close()
    store, existed = Store.open(path)
    assert existed and store.read().execute("PRAGMA user_version").fetchone()[0] == 5
    found = Stubs(store)
    assert found.match("a", []).answer == {"result": 1, "error": None, "fault": None}
    [stub] = found.all()
    assert (
        stub["hits"],
        stub["times_left"],
        stub["origin"],
        stub["answers"],
        stub["single_row_object"],
    ) == (1, 1, "api", None, None)
    assert sessions.check(store, "ab" * 16, 3600).single_row_object is None
    assert sessions.get_settings(store, "ab" * 16)["single_row_object"] is None
    store.close()


def test_a_history_write_changes_only_history_and_never_the_generation(tmp_path):
    store, _ = Store.open(tmp_path / "h.db")
    with store.write() as conn:  # the dataset's tables exist once a company does
        conn.execute("INSERT INTO tblTenant(TenantID, TenantLabel, Active) VALUES (1, 'A', 1)")
    generation = store.generation()
    with store.write(history=True) as conn:
        conn.execute(
            "INSERT INTO tblJournal(JournalID, Kind, Created, Entry) VALUES (1, 'api', '', '{}')"
        )
    for statement in (
        "UPDATE tblTenant SET TenantLabel = 'B'",
        "DELETE FROM tblAgent",
        "INSERT INTO tblTier(TierID, TierLabel) VALUES (99, 'x')",
        "CREATE TABLE sneaky(x)",
        "DROP TABLE tblJournalText",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            with store.write(history=True) as conn:
                conn.execute(statement)
    assert store.generation() == generation
    label = store.read().execute("SELECT TenantLabel FROM tblTenant").fetchone()[0]
    assert label == "A"
    with store.write() as conn:  # an ordinary write may, and moves the generation
        conn.execute("UPDATE tblTenant SET TenantLabel = 'B'")
    assert store.generation() == generation + 1
    store.close()
