"""The API query's child processes: one per thread, gone with their thread, reaped, closed with the store."""

from __future__ import annotations

import threading
import time

from mockspice.domain import sql
from mockspice.domain.state import prepare
from mockspice.settings import Settings


def test_a_threads_process_ends_with_its_thread_and_is_reaped(tmp_path):
    settings = Settings.load(environ={}, overrides={"db": str(tmp_path / "s.db")})
    prepared = prepare(settings)
    processes = sql.QueryProcesses(prepared.store, settings)
    try:
        worker = threading.Thread(target=processes.run, args=("select 1",))
        worker.start()
        worker.join()
        [child] = processes._all
        deadline = time.monotonic() + 5
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert child.returncode == -9  # PR_SET_PDEATHSIG: it died with the thread that started it
        assert processes.run("select 2 as two") == {"names": ["two"], "rows": [["2"]]}
        assert child not in processes._all and len(processes._all) == 1  # the dead one was reaped
        [mine] = processes._all
    finally:
        processes.close()
        prepared.cleanup()
    assert mine.returncode is not None and not processes._all
