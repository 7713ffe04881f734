"""The API query's child processes: a pool shared by the threads, at most `threads`, reaped, closed
with the store.
"""

from __future__ import annotations

import threading
import time

from mockspice.domain import sql
from mockspice.domain.state import prepare
from mockspice.settings import Settings


def test_a_child_outlives_the_thread_that_started_it_and_ends_with_its_stdin(tmp_path):
    settings = Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db")})
    prepared = prepare(settings)
    processes = sql.QueryProcesses(prepared.store, settings)
    try:
        for _ in range(3):  # the threads that start and use the child come and go
            worker = threading.Thread(target=processes.run, args=("select 1",))
            worker.start()
            worker.join()
        [child] = processes._all
        time.sleep(0.2)
        assert child.poll() is None  # still there, for the next statement of any thread
        assert processes.run("select 2 as two") == {"rows": [{"two": "2"}]}
        assert processes._all == {child}
        child.stdin.close()  # as when the worker dies
        assert child.wait(timeout=5) == 0
        assert processes.run("select 3 as three") == {"rows": [{"three": "3"}]}  # a new one
        assert child not in processes._all and len(processes._all) == 1  # the ended one was reaped
        [mine] = processes._all
    finally:
        processes.close()
        prepared.cleanup()
    assert mine.returncode is not None and not processes._all


def test_at_most_threads_statements_run_at_once_and_a_waiting_one_keeps_to_the_time_limit(tmp_path):
    settings = Settings.load(
        environ={},
        overrides={"db": str(tmp_path / "s.db"), "threads": 1, "query_time_limit_ms": 600},
    )
    prepared = prepare(settings)
    processes = sql.QueryProcesses(prepared.store, settings)
    counting = (
        "with recursive r(x) as (select 1 union all select x+1 from r) select count(*) from r"
    )
    answers: list[tuple[str, float]] = []

    def run() -> None:
        started = time.monotonic()
        try:
            answer = processes.run(counting)
            message = f"query failed: {answer['message']}"  # as sql.query raises it
        except sql.QueryFailed as exc:
            message = str(exc)
        answers.append((message, time.monotonic() - started))

    try:
        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        most = 0
        while any(thread.is_alive() for thread in threads):
            most = max(most, sum(1 for proc in list(processes._all) if proc.poll() is None))
            time.sleep(0.005)
        assert most == 1  # one statement at a time: the others waited
        # Each within its own time limit (the wait counts in it), answered with the limit's error.
        assert len(answers) == 3
        for message, elapsed in answers:
            assert message.startswith("query failed: ") and "query_time_limit_ms" in message
            assert elapsed < 0.6 * 1.1 + 0.1
        assert processes.run("select 1 as one") == {"rows": [{"one": "1"}]}
    finally:
        processes.close()
        prepared.cleanup()
