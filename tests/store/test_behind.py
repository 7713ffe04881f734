"""Ids shared by processes, and rows written behind the request (``store/behind.py``)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import pytest

from mockspice.store.behind import Counters, WriteBehind
from mockspice.store.db import Store


def _take_many(path: str, times: int, out) -> None:
    counter = Counters(path)
    out.send([counter.take() for _ in range(times)])


def test_ids_are_unique_and_consecutive_across_processes_and_threads(tmp_path):
    path = str(tmp_path / "s.db")
    counter = Counters(path)
    context = multiprocessing.get_context("fork")
    pipes = [context.Pipe(duplex=False) for _ in range(3)]
    children = [context.Process(target=_take_many, args=(path, 400, send)) for _, send in pipes]
    for child in children:
        child.start()
    mine: list[int] = []
    threads = [
        threading.Thread(target=lambda: mine.extend(counter.take() for _ in range(200)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    taken = [i for receive, _ in pipes for i in receive.recv()]
    for thread in threads:
        thread.join()
    for child in children:
        child.join()
        assert child.exitcode == 0
    assert sorted(taken + mine) == list(range(1, 1601))
    assert counter.last() == 1600


def test_raise_to_and_restart(tmp_path):
    counter = Counters(tmp_path / "s.db")
    assert counter.take() == 1
    assert counter.raise_to(50) == 50 and counter.take() == 51
    assert counter.raise_to(10) == 51  # never down
    counter.restart()
    assert counter.take() == 1
    counter.close()


def _on_disk(path) -> int:
    return os.stat(path).st_blocks * 512


def test_the_ids_file_holds_a_bounded_number_of_bytes_on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(Counters, "PUNCH_EVERY", 16 * 4096)
    counter = Counters(tmp_path / "s.db")
    for _ in range(10 * Counters.PUNCH_EVERY):
        counter.take()
    assert counter.last() == 10 * Counters.PUNCH_EVERY  # the ids go on
    assert os.stat(counter.ids_path).st_size == counter.last()
    assert _on_disk(counter.ids_path) <= Counters.PUNCH_EVERY + 8192  # not 640 KiB
    counter.close()


def test_a_store_used_again_lets_its_old_ids_go_from_disk(tmp_path):
    counter = Counters(tmp_path / "s.db")
    with open(counter.ids_path, "wb") as old:  # an earlier run's file, its blocks all written
        old.write(b"\0" * 400_000)
    assert _on_disk(counter.ids_path) >= 400_000
    assert counter.raise_to(10) == 400_000 and counter.take() == 400_001
    assert _on_disk(counter.ids_path) <= 16384
    counter.close()


def test_a_new_store_starts_its_ids_again_over_an_old_counter_file(tmp_path):
    db = tmp_path / "s.db"
    Counters(db).raise_to(999)  # left behind by an earlier store of that name
    store, existed = Store.open(db)
    assert not existed and store.counters.take() == 1
    store.close()


@pytest.fixture
def store(tmp_path):
    store, _ = Store.open(tmp_path / "s.db")
    yield store
    store.close()


# The writer's rows are history: they go to the journal's table (a history write may change
# nothing else, store/db.py).
_INSERT = "INSERT INTO tblJournal(JournalID, Kind, Created, Entry) VALUES (?, 'api', '', '{}')"


def rows(store: Store) -> list[int]:
    return [r[0] for r in store.read().execute("SELECT JournalID FROM tblJournal ORDER BY 1")]


def test_rows_from_many_threads_are_all_written_by_flush(store):
    behind = WriteBehind(
        store,
        lambda conn, batch: conn.executemany(_INSERT, [(x,) for x in batch]),
    )
    threads = [
        threading.Thread(target=lambda k=k: [behind.put(k * 1000 + i) for i in range(300)])
        for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    behind.flush()
    assert rows(store) == sorted(k * 1000 + i for k in range(4) for i in range(300))
    generation = store.generation()
    behind.put(-1)
    behind.close()  # writes what is queued
    assert (
        rows(store)[0] == -1 and store.generation() == generation
    )  # history leaves the generation alone
    behind.put(10_000)  # a request that outlived close(): written at once, in its own thread
    assert 10_000 in rows(store) and behind.flush()


def test_flush_waits_only_for_what_was_queued_before_it(store):
    behind = WriteBehind(
        store,
        lambda conn, batch: conn.executemany(_INSERT, [(x,) for x in batch]),
    )
    stop = threading.Event()

    def busy(k):
        i = 0
        while not stop.is_set():
            behind.put(k * 10**6 + i)
            i += 1

    threads = [threading.Thread(target=busy, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    try:
        behind.put(-1)
        started = time.monotonic()
        assert behind.flush()  # others keep queueing: it still returns
        assert time.monotonic() - started < 0.5 and -1 in rows(store)
        with store.write(history=True):  # holding the write lock the writer needs: no deadlock
            assert behind.flush() is False
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        behind.close()


def test_a_failed_batch_is_retried_with_a_message(store, capfd):
    failures = []

    def write(conn, batch):
        if not failures:
            failures.append(batch)
            raise OSError("disk full")
        conn.executemany(_INSERT, [(x,) for x in batch])

    behind = WriteBehind(store, write)
    behind.put(7)
    behind.flush()
    assert rows(store) == [7] and failures == [[7]]
    assert (
        "mockspice: error: writing 1 journal entries failed (disk full); retrying"
        in capfd.readouterr().err
    )
    behind.close()


def test_closing_the_store_writes_what_its_helper_holds(tmp_path):
    store, _ = Store.open(tmp_path / "s.db")
    gate = threading.Event()

    def write(conn, batch):
        gate.wait(5)
        conn.executemany(_INSERT, [(x,) for x in batch])

    behind = store.helper("test", lambda: WriteBehind(store, write))
    assert store.helper("test") is behind and store.helper("other") is None
    behind.put(1)
    behind.put(2)
    threading.Timer(0.05, gate.set).start()
    store.close()
    again, _ = Store.open(tmp_path / "s.db")
    assert rows(again) == [1, 2]
    again.close()


def test_the_generation_is_published_to_every_process_on_commit_only(tmp_path):
    db = tmp_path / "s.db"
    store, _ = Store.open(db)
    other = Store(db)  # another process's view of the same files
    before = other.generation()
    assert before == store.generation(store.read())  # the shared counter agrees with the table
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            Store.set_meta(conn, "k", "v")
            raise RuntimeError("rolled back")
    assert other.generation() == before
    with store.write() as conn:
        Store.set_meta(conn, "k", "v")
    assert other.generation() == before + 1 == store.generation(store.read())
    store.close()
    Counters(db).set_generation(0)  # a stale counter file: opening the store fixes it
    again, existed = Store.open(db)
    assert existed and again.generation() == before + 1
    again.close()
    other.close()


def test_no_descriptor_outlives_its_thread_or_the_store(tmp_path):
    import gc
    import os

    before = len(os.listdir("/proc/self/fd"))
    counter = Counters(tmp_path / "s.db")
    threads = [threading.Thread(target=counter.take) for _ in range(20)]
    for thread in threads:
        thread.start()
        thread.join()
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before and counter.last() == 20
    counter.take()  # this thread's descriptor, and the generation's mapping
    counter.generation()
    counter.close()
    assert len(os.listdir("/proc/self/fd")) == before
    assert counter.take() == 22  # usable again after close
    counter.close()


def _insert(conn, batch):
    conn.executemany(_INSERT, [(x,) for x in batch])


def test_a_row_put_inside_the_callers_own_write_joins_it(store):
    behind = WriteBehind(store, _insert)
    behind.close()
    done = threading.Event()

    def inside_a_write():
        with store.write(history=True):
            behind.put(9)  # closed writer, caller holds the write lock: no deadlock
        done.set()

    thread = threading.Thread(target=inside_a_write, daemon=True)
    thread.start()
    assert done.wait(5) and rows(store) == [9]


class _Died(BaseException):
    """Not an Exception: ends the writer thread as nothing else would."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_writer_is_reported_by_flush_and_rows_still_get_written(store):
    calls = []

    def write(conn, batch):
        calls.append(batch)
        if len(calls) == 1:
            raise _Died()
        _insert(conn, batch)

    behind = WriteBehind(store, write)
    behind.put(1)
    assert behind.flush() is False  # its row was never written: not reported as flushed
    behind.put(2)  # the thread is gone: written at once
    assert rows(store) == [2]


def test_closing_a_store_whose_writer_is_still_busy_leaves_it_what_it_needs(
    tmp_path, monkeypatch, capfd
):
    from mockspice.store import behind as module

    monkeypatch.setattr(module, "CLOSE_S", 0.05)
    store, _ = Store.open(tmp_path / "s.db")
    gate = threading.Event()

    def slow(conn, batch):
        gate.wait(5)
        _insert(conn, batch)

    writer = store.helper("test", lambda: WriteBehind(store, slow))
    writer.put(1)
    time.sleep(0.02)  # the writer has taken its batch and waits inside its transaction
    store.close()  # gives up waiting: the connection and lock stay for the writer
    assert "1 journal entries are still being written after 0.05 s" in capfd.readouterr().err
    gate.set()
    assert writer.flush()
    assert rows(store) == [1]
    store.close()
