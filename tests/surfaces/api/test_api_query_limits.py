"""The API's ``query`` stays within its time, memory and answer limits whatever the statement,
against a real server (issue 11, defect 1)."""

from __future__ import annotations

import glob
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from liveserver import LiveServer
from spiceclients import API

QUERY_FAILED = -32011
DOUBLING = (
    "with recursive r(x) as (select 'a' union all select x||x from r) select length(x) from r"
)
COUNTING = "with recursive r(x) as (select 1 union all select x+1 from r) select count(*) from r"


@pytest.fixture(scope="module")
def server():
    """A server with small limits, so that each is reached quickly."""
    live = LiveServer(
        "--workers",
        "1",
        "--threads",
        "4",
        "--query-time-limit-ms",
        "2000",
        "--query-memory-mb",
        "32",
        "--query-max-bytes",
        "100000",
    )
    yield live
    live.stop()


def _session(server: LiveServer) -> str:
    reply = requests.post(
        server.url + API,
        json={"jsonrpc": "2.0", "method": "connect", "params": ["jdoe.agent", "spice"], "id": 1},
        timeout=10,
    ).json()
    return reply["result"]["session"]


def _query(server: LiveServer, session: str, sql: str) -> tuple[dict, float]:
    started = time.monotonic()
    reply = requests.post(
        server.url + API,
        json={"jsonrpc": "2.0", "method": "query", "params": [sql, session], "id": 2},
        timeout=30,
    ).json()
    return reply, time.monotonic() - started


def _failed(reply: dict) -> str:
    assert reply["error"]["code"] == QUERY_FAILED, reply
    return reply["error"]["message"]


@pytest.mark.parametrize(
    "sql",
    [
        COUNTING,
        # One step that runs long between the checks of the progress handler: the process is killed.
        "select length(printf('%.*c', 2000000000, 'x'))",
        "with recursive r(x) as (select 1 union all select x+1 from r limit 50000000) select x "
        "from r order by random() limit 1",
        "select count(*) from 1_tblAccount a, 1_tblAccount b, 1_tblAccount c, 1_tblAccount d, "
        "1_tblAccount e, "
        "1_tblAccount f, 1_tblAccount g, 1_tblAccount h",
    ],
)
def test_a_long_statement_is_stopped_within_ten_percent_of_the_time_limit(server, sql):
    reply, elapsed = _query(server, _session(server), sql)
    assert _failed(reply) == "query failed: stopped after 2 s (the query_time_limit_ms limit)"
    assert elapsed < 2.2  # within 10% of the limit, HTTP included


@pytest.mark.parametrize(
    "sql, message",
    [
        (DOUBLING, "query failed: a value is longer than 100000 bytes (the query_max_bytes limit)"),
        (
            "select zeroblob(50000000)",
            "query failed: a value is longer than 100000 bytes (the query_max_bytes limit)",
        ),
        (
            "select randomblob(999999999)",
            "query failed: a value is longer than 100000 bytes (the query_max_bytes limit)",
        ),
        # Aggregates and sorts that grow past the memory limit in SQLite's heap.
        # (Values of 1,000 characters, so that the limit comes in milliseconds, long before the time
        # limit.)
        (
            "with recursive r(x) as (select 1 union all select x+1 from r) "
            "select length(json_group_array(printf('%.*c', 1000, 'x'))) from r",
            "query failed: the statement needs more than 32 MiB of memory (the query_memory_mb "
            "limit)",
        ),
        (
            "with recursive r(x) as (select 1 union all select x+1 from r) select printf('%.*c', "
            "1000, 'x') || x, count(*) "
            "from r group by 1 order by 2 desc limit 1",
            "query failed: the statement needs more than 32 MiB of memory (the query_memory_mb "
            "limit)",
        ),
        # Each value is short, the row is not.
        (
            "with z(v) as (select randomblob(90000)) select " + ",".join(["v"] * 500) + " from z",
            "query failed: the statement needs more than 32 MiB of memory (the query_memory_mb "
            "limit)",
        ),
        (
            "select zeroblob(60000), zeroblob(60000)",
            "query failed: the answer is longer than 100000 bytes (the query_max_bytes limit); "
            "narrow it down",
        ),
        (
            "with recursive r(x) as (select 1 union all select x+1 from r limit 5000) select x, "
            "printf('%.*c', 100, 'y') from r",
            "query failed: the answer is longer than 100000 bytes (the query_max_bytes limit); "
            "narrow it down",
        ),
    ],
)
def test_a_statement_past_the_memory_or_answer_limit_gets_an_error_naming_it(server, sql, message):
    reply, elapsed = _query(server, _session(server), sql)
    assert _failed(reply) == message
    assert elapsed < 2.2


def test_four_hostile_statements_at_once_leave_the_server_answering(server):
    session = _session(server)
    hostile = [
        DOUBLING.replace("length(x)", "x"),
        COUNTING,
        "select length(printf('%.*c', 2000000000, 'x'))",
        "with recursive r(x) as (select 1 union all select x+1 from r) "
        "select length(json_group_array(printf('%.*c', 1000, 'x'))) from r",
    ]
    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(_query, server, session, sql) for sql in hostile]
        time.sleep(0.2)
        started = time.monotonic()
        assert server.get("/_mockspice/health").status_code == 200
        assert time.monotonic() - started < 0.5
        results = [future.result() for future in running]
    for reply, elapsed in results:
        # Four statements on two cores: each stopped, none runs on (a little slack for the sharing).
        assert reply["error"]["code"] == QUERY_FAILED and elapsed < 3
    # The worker's own memory did not grow by what the statements asked for.
    worker_rss_kib = max(_rss_kib(pid) for pid in _descendants(server.proc.pid) if _is_worker(pid))
    assert worker_rss_kib < 400 * 1024


def test_after_a_killed_statement_the_next_one_answers(server):
    session = _session(server)
    _query(server, session, "select length(printf('%.*c', 2000000000, 'x'))")
    reply, _ = _query(
        server, session, "select BrandID, BrandLabel from 1_tblBrand where BrandID = 1"
    )
    assert reply["result"] == [{"brandid": "1", "brandlabel": "Acme Support"}]


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent, kids = todo.pop(), []
        for task in glob.glob(f"/proc/{parent}/task/*/children"):  # children of every thread
            try:
                with open(task) as children:
                    kids += [int(p) for p in children.read().split()]
            except OSError:
                pass
        found += kids
        todo += kids
    return found


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"query_child" not in cmdline.read()
    except OSError:
        return False


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0
