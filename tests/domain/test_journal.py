"""The journal written behind the request: ids at once, rows a
moment later, readers never miss one.
"""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest

from mockspice.domain import journal, state
from mockspice.domain.state import prepare
from mockspice.settings import Settings
from mockspice.store import behind
from mockspice.store.db import Store

CAP = 1000


@pytest.fixture
def store(tmp_path):
    prepared = prepare(Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db")}))
    yield prepared.store
    prepared.cleanup()


def listed(store: Store, **filters) -> list[int]:
    return [e["id"] for e in journal.entries(store, cap=CAP, **filters)["entries"]]


def test_an_entry_is_listed_as_soon_as_its_id_is_given(store):
    ids = [journal.append(store, CAP, "api", {"n": i}) for i in range(50)]
    assert ids == list(range(ids[0], ids[0] + 50))
    assert listed(store) == ids


def test_entries_taken_before_a_clear_stay_cleared_when_they_arrive_later(store):
    late = store.counters.take()  # a request in flight while the journal is emptied
    with store.write(history=True) as conn:
        journal.clear(conn, store)
    journal.record(store, CAP, "webcall", journal.entry_text({"late": True}), late)
    after = journal.append(store, CAP, "pop", {"late": False})
    assert listed(store) == [after] and after > late


def test_an_entry_that_holds_its_own_id(store):
    entry_id = journal.append_own(store, CAP, "webcall", lambda i: {"exchange": {"id": i}})
    [entry] = journal.entries(store, cap=CAP)["entries"]
    assert entry["id"] == entry_id and entry["exchange"] == {"id": entry_id}


def test_an_entry_whose_making_fails_leaves_an_error_in_its_place_not_a_gap(store):
    def broken(entry_id):
        raise ValueError(f"no entry {entry_id}")

    with pytest.raises(ValueError, match="no entry"):
        journal.append_own(store, CAP, "webcall", broken)
    after = journal.append(store, CAP, "pop", {})
    started = time.monotonic()
    found = journal.entries(store, cap=CAP)["entries"]
    assert time.monotonic() - started < journal.SETTLE_S / 2  # no id left to wait for
    assert [e["kind"] for e in found] == ["error", "pop"] and found[1]["id"] == after
    assert found[0]["id"] == after - 1 and found[0]["making"] == "webcall"
    assert found[0]["error"] == f"ValueError: no entry {after - 1}"


def test_reset_empties_the_journal_and_ids_keep_rising(store):
    before = journal.append(store, CAP, "pop", {})
    state.reset(store)
    assert listed(store) == []
    assert journal.append(store, CAP, "pop", {}) == before + 1


def test_an_existing_store_goes_on_after_its_last_id_even_without_its_counter_file(tmp_path):
    db = tmp_path / "kept.db"
    first = prepare(Settings.load(environ={}, overrides={"db": str(db)}))
    last = [journal.append(first.store, CAP, "pop", {}) for _ in range(5)][-1]
    first.cleanup()  # closes the store: queued entries are written
    (tmp_path / "kept.db-ids").unlink()
    second = prepare(Settings.load(environ={}, overrides={"db": str(db)}))
    assert listed(second.store) == list(range(last - 4, last + 1))
    assert journal.append(second.store, CAP, "pop", {}) == last + 1
    second.cleanup()


def test_the_cap_drops_the_oldest_and_counts_them(store):
    ids = [journal.append(store, 5, "pop", {"n": i}) for i in range(12)]
    result = journal.entries(store, cap=5)
    assert [e["id"] for e in result["entries"]] == ids[-5:] and result["dropped"] == 7


def _slow_child(db: str, ready, go) -> None:
    """Record 20 entries whose writer waits 0.3 s: the parent reads while they are still queued."""
    real = behind.WriteBehind._run

    def slow_run(self):
        time.sleep(0.3)
        real(self)

    behind.WriteBehind._run = slow_run
    store = Store(db)
    ids = [journal.append(store, CAP, "api", {"child": i}) for i in range(20)]
    ready.send(ids)
    go.recv()
    store.close()


def test_a_reader_waits_for_the_entries_another_process_has_not_written_yet(store):
    context = multiprocessing.get_context("fork")
    ready_r, ready_w = context.Pipe(duplex=False)
    go_r, go_w = context.Pipe(duplex=False)
    child = context.Process(target=_slow_child, args=(str(store.path), ready_w, go_r))
    child.start()
    try:
        child_ids = ready_r.recv()
        assert (
            store.read().execute("SELECT COUNT(*) FROM tblJournal").fetchone()[0] == 0
        )  # not written yet
        started = time.monotonic()
        assert listed(store) == child_ids
        assert time.monotonic() - started < journal.SETTLE_S
    finally:
        go_w.send(True)
        child.join(10)
    assert child.exitcode == 0


def test_an_id_whose_entry_never_comes_is_waited_for_once(store):
    store.counters.take()  # its process was killed before it could record the entry
    mine = journal.append(store, CAP, "pop", {})
    started = time.monotonic()
    assert listed(store) == [mine]
    first = time.monotonic() - started
    started = time.monotonic()
    assert listed(store) == [mine]
    assert first >= journal.SETTLE_S and time.monotonic() - started < journal.SETTLE_S / 2


def test_entries_are_stamped_in_utc_with_milliseconds():
    import datetime as dt
    import re

    before = dt.datetime.now(dt.UTC)
    stamps = [journal.now_iso() for _ in range(3)]
    after = dt.datetime.now(dt.UTC)
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
        at = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert before - dt.timedelta(milliseconds=1) <= at <= after
    assert stamps == sorted(stamps)


def test_a_reader_does_not_wait_for_ids_the_cap_has_already_dropped(store):
    """Another process gives ids past the reader's view and trims: nothing is missing."""
    ids = [journal.append(store, 5, "pop", {"n": i}) for i in range(10)]
    other = Store(store.path)
    late = other.counters.take()  # the reader's view will be: ids up to `late`, not written yet

    def write_later():
        time.sleep(0.05)
        journal.record(other, 5, "pop", journal.entry_text({"n": "late"}), late)
        journal.append(other, 5, "pop", {"n": "later"})
        other.helper(journal.RECORDER).writer.flush()

    import threading

    thread = threading.Thread(target=write_later)
    thread.start()
    started = time.monotonic()
    result = journal.entries(store, cap=5)
    thread.join()
    assert time.monotonic() - started < journal.SETTLE_S / 2
    assert [e["id"] for e in journal.entries(store, cap=5)["entries"]] == ids[-3:] + [
        late,
        late + 1,
    ]
    assert result["count"] <= 5
    other.close()


def test_an_entry_recorded_after_the_store_closed_is_not_lost(tmp_path):
    prepared = prepare(Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db")}))
    store = prepared.store
    first = journal.append(store, CAP, "api", {"n": 1})
    recorder = store.helper(journal.RECORDER)
    store.close()  # as a server worker does when it exits, while a request still runs
    late = journal.append(store, CAP, "api", {"n": 2})  # a new writer: flushed at close or exit
    recorder.writer.put((store.counters.take(), "api", journal.now_iso(), "{}"))  # an old reference
    store.close()
    again = Store(store.path)
    assert [e["id"] for e in journal.entries(again, cap=CAP)["entries"]] == [first, late, late + 1]
    again.close()
    prepared.cleanup()


def test_a_reader_waits_at_most_settle_s_in_all(store):
    import threading

    held, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with store.write(history=True):
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    held.wait(5)
    try:
        journal.append(store, CAP, "pop", {})  # queued; the writer cannot write it yet
        started = time.monotonic()
        journal.entries(store, cap=CAP)
        assert time.monotonic() - started < journal.SETTLE_S * 1.4
    finally:
        release.set()
        holder.join()


def _texts(store: Store) -> list[str]:
    return [
        row[0] for row in store.read().execute("SELECT Entry FROM tblJournalText ORDER BY Entry")
    ]


def test_a_shared_entry_is_stored_once_and_listed_whole_each_time(store):
    replayed = journal.Shared('{"response": "the same answer", "status": 200}')
    ids = [
        journal.record(store, CAP, "api", replayed),
        journal.append(store, CAP, "api", {"response": "another"}),
        journal.record(store, CAP, "api", replayed),
        journal.record(store, CAP, "api", replayed),
    ]
    listing = journal.entries(store, cap=CAP)["entries"]
    assert [e["id"] for e in listing] == ids
    assert [e.get("response") for e in listing] == [
        "the same answer",
        "another",
        "the same answer",
        "the same answer",
    ]
    assert listing[0]["status"] == 200 and listing[0]["kind"] == "api"
    assert _texts(store) == [replayed.text]
    rows = (
        store.read().execute("SELECT Entry, TextKey FROM tblJournal ORDER BY JournalID").fetchall()
    )
    assert [tuple(r) for r in rows] == [
        ("", replayed.key),
        ('{"response": "another"}', None),
        ("", replayed.key),
        ("", replayed.key),
    ]


def test_a_shared_text_goes_when_the_cap_or_a_clear_drops_its_last_entry(store):
    first, second = journal.Shared('{"n": 1}'), journal.Shared('{"n": 2}')
    for text in (first, first, second):
        journal.record(store, 3, "api", text)
    journal.entries(store, cap=3)
    assert _texts(store) == [first.text, second.text]
    journal.record(store, 3, "api", second)  # drops the first entry of `first`: one is left
    journal.entries(store, cap=3)
    assert _texts(store) == [first.text, second.text]
    journal.record(store, 3, "api", second)  # drops the last entry of `first`
    result = journal.entries(store, cap=3)
    assert _texts(store) == [second.text] and [e["n"] for e in result["entries"]] == [2, 2, 2]
    assert result["dropped"] == 2
    with store.write(history=True) as conn:
        journal.clear(conn, store)
    assert _texts(store) == []
    journal.record(store, 3, "api", first)  # stored again after the clear
    assert [e["n"] for e in journal.entries(store, cap=3)["entries"]] == [1]


def test_many_entries_in_one_batch_are_all_written_in_order(store):
    shared = journal.Shared('{"shared": true}')
    with store.write(history=True) as conn:  # the writer waits: the rows gather into one batch
        ids = [
            journal.record(store, CAP, "api", shared if n % 3 else f'{{"n": {n}}}')
            for n in range(300)
        ]
        assert store.read().execute("SELECT COUNT(*) FROM tblJournal").fetchone()[0] == 0
        del conn
    listing = journal.entries(store, cap=CAP)["entries"]
    assert [e["id"] for e in listing] == ids
    assert [e.get("n", "s") for e in listing] == [n if n % 3 == 0 else "s" for n in range(300)]


def test_a_cut_entry_an_earlier_mockspice_wrote_is_read_whole(store):
    """Earlier versions stored a replay's entry cut into shared parts, each row the strings
    between them; a store reused with --db still holds such rows."""
    parts = json.dumps(['{"request": "', '", "n": ', ', "same": "é"}'], ensure_ascii=False)
    with store.write(history=True) as conn:
        conn.execute("INSERT INTO tblJournalText(TextKey, Entry) VALUES (7, ?)", (parts,))
        conn.executemany(
            "INSERT INTO tblJournal(JournalID, Kind, Created, Entry, TextKey) VALUES (?, 'api', "
            "'t', ?, 7)",
            [(n, json.dumps([f'call {n} \\"quoted\\"', str(n)])) for n in (1, 2)],
        )
    listing = journal.entries(store, cap=CAP)["entries"]
    assert [(e["id"], e["request"], e["n"], e["same"]) for e in listing] == [
        (n, f'call {n} "quoted"', n, "é") for n in (1, 2)
    ]


def _bytes(conn) -> tuple[int, int]:
    """The journal's size as kept, and as the tables hold it."""
    kept = int(
        conn.execute(
            "SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (journal.BYTES_KEY,)
        ).fetchone()[0]
    )
    real = conn.execute(
        "SELECT (SELECT COALESCE(SUM(length(CAST(Entry AS BLOB))), 0) FROM tblJournal)"
        " + (SELECT COALESCE(SUM(length(CAST(Entry AS BLOB))), 0) FROM tblJournalText)"
    ).fetchone()[0]
    return kept, real


@pytest.mark.parametrize("shared", [False, True])
def test_past_its_bytes_the_journal_drops_only_its_oldest_and_keeps_its_size_right(store, shared):
    cap = 100_000
    with store.write(history=True) as conn:
        for entry_id in range(1, 61):  # ~5 KB each: ~300 KB written in all, three times the cap
            text = json.dumps({"n": entry_id, "pad": "a" * 5000})
            journal._write(
                conn, [(entry_id, "api", "t", journal.Shared(text) if shared else text)], CAP, cap
            )
            kept, real = _bytes(conn)
            assert kept == real <= cap
            ids = [
                r[0] for r in conn.execute("SELECT JournalID FROM tblJournal ORDER BY JournalID")
            ]
            assert ids[-1] == entry_id and ids == list(
                range(ids[0], entry_id + 1)
            )  # the newest, in a row
            assert len(ids) >= min(entry_id, 15)  # trimmed to 90% of the cap, never to nothing
