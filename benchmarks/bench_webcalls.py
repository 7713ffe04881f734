"""Benchmark of issue 4, §8: web calls per second against the reference partner, beside a raw POST
loop.

Run: ``.venv/bin/python benchmarks/bench_webcalls.py [--calls N] [--rounds R] [--profile]``.

The reference partner (:func:`mockspice.partner.serve_partner`, its threaded werkzeug server,
request log off) runs in a child process on a free loopback port, so that no loop shares its
interpreter with the partner. In this process three loops alternate call by call, in rotating
order, in the same sitting:

- **raw**: ``requests.Session().post(url, data=form)`` and read the body: the same HTTP client
  the transport uses, the same form, nothing else;
- **engine**: ``Engine(Transport()).search(...)``: builds the form, POSTs through the transport
  (watchdog deadline, streamed read, size cap), validates the reply (lxml + XSD + lint) and
  parses the records, as ``POST /_mockspice/webcalls/search`` does before journaling;
- **engine + journal**: the same through :class:`mockspice.domain.outbound.Outbound` on a real
  SQLite store, every exchange journaled.

Each round's rate is one over its median call time; a round's ratio is the engine's rate over
the raw loop's rate in that round, and the median of the rounds' ratios is reported (timings
on a 2-core machine are noisy). Client CPU per call is this process's CPU time, which the
partner does not share. ``--profile`` prints where the engine's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time

import requests

from mockspice.settings import Settings
from mockspice.webcalls.engine import Endpoint, Engine
from mockspice.webcalls.transport import Transport
from mockspice.wire import build

CRITERIA = {"pphone": "(555) 555-5555"}  # the page's example account, jdoe: one record
INT_USER, INT_PASS = "spice", "secret"
PARTNER = (
    "import logging; logging.getLogger('werkzeug').setLevel(logging.ERROR); "
    "from mockspice.partner import serve_partner; "
    f"serve_partner(host='127.0.0.1', port=0, int_user={INT_USER!r}, int_pass={INT_PASS!r})"
)


def start_partner() -> tuple[subprocess.Popen, str]:
    """Start the reference partner in a child process; return it and its search URL."""
    # The partner's request log is off: printing a line per call would be part of what is timed.
    proc = subprocess.Popen([sys.executable, "-c", PARTNER], stdout=subprocess.PIPE, text=True)
    banner = proc.stdout.readline()
    found = re.search(r"(http://\S+?)/? ", banner)
    if not found:
        proc.kill()
        raise SystemExit(f"the reference partner did not start: {banner!r}")
    return proc, found.group(1) + "/search"


def raw_call(session: requests.Session, url: str, form: list[tuple[str, str]]) -> None:
    """One plain POST with the body read."""
    response = session.post(url, data=form, timeout=10)
    assert response.status_code == 200 and response.content


def engine_call(engine: Engine, endpoint: Endpoint) -> None:
    """One search through the engine (transport, validation, parsing)."""
    exchange = engine.search(endpoint, CRITERIA)
    assert exchange.outcome == "ok" and len(exchange.records) == 1, exchange.findings


def journal_call(outbound, endpoint: Endpoint) -> None:
    """One search through the engine with the exchange journaled."""
    exchange = outbound.engine.search(endpoint, CRITERIA, {"company": 1, "brand": 1})
    assert exchange.outcome == "ok" and exchange.id is not None


def journaling_outbound(folder: str):
    """An Outbound on a real store (the demo dataset), as ``create_app`` builds it."""
    from mockspice.domain.outbound import Outbound
    from mockspice.domain.state import prepare

    settings = Settings.load(environ={}, overrides={"db": f"{folder}/bench.db"})
    prepared = prepare(settings)
    return Outbound(prepared.store, Engine(Transport()), settings.journal_limit), prepared


def main() -> None:
    """Measure and print the figures for docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls of each loop per round")
    parser.add_argument("--rounds", type=int, default=20, help="rounds")
    parser.add_argument("--profile", action="store_true", help="profile the engine's calls")
    args = parser.parse_args()

    proc, url = start_partner()
    try:
        with tempfile.TemporaryDirectory() as folder:
            run(url, args, folder)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(url: str, args, folder: str) -> None:
    """The alternating rounds, then the table."""
    form = build.search_form(CRITERIA, int_user=INT_USER, int_pass=INT_PASS)
    endpoint = Endpoint(url, INT_USER, INT_PASS, 10.0)
    session = requests.Session()
    session.trust_env = False  # as the transport does: no proxy look-up per call
    engine = Engine(Transport())
    outbound, prepared = journaling_outbound(folder)
    loops = {
        "raw": lambda: raw_call(session, url, form),
        "engine": lambda: engine_call(engine, endpoint),
        "journal": lambda: journal_call(outbound, endpoint),
    }
    for loop in loops.values():  # warm up: connections, compiled schemas, the store
        for _ in range(50):
            loop()
    # The loops alternate call by call (their order rotating), so that a slow spell of the
    # machine hits all of them alike; each round's median call time gives that round's rate.
    medians: dict[str, list[float]] = {name: [] for name in loops}
    cpu = dict.fromkeys(loops, 0.0)
    names = list(loops)
    for _ in range(args.rounds):
        times: dict[str, list[float]] = {name: [] for name in loops}
        for i in range(args.calls):
            for name in names[i % 3 :] + names[: i % 3]:
                wall, used = time.perf_counter(), time.process_time()
                loops[name]()
                times[name].append(time.perf_counter() - wall)
                cpu[name] += time.process_time() - used
        for name in loops:
            medians[name].append(statistics.median(times[name]))

    def ratios(name: str) -> list[float]:
        return [raw / mine for raw, mine in zip(medians["raw"], medians[name])]  # rate ratio

    calls = args.calls * args.rounds
    print(
        f"{args.rounds} rounds of {args.calls} calls of each loop, alternating call by call; "
        f"partner: {url}"
    )
    print(
        "| loop | calls/s | median call | client CPU per call | ratio to raw (median of rounds) |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, label in [
        ("raw", "raw `requests.Session().post` loop"),
        ("engine", "`Engine.search` (transport + validation + parse)"),
        ("journal", "`Engine.search` + journal (SQLite)"),
    ]:
        median = statistics.median(medians[name])
        shown = "1.00×" if name == "raw" else f"{statistics.median(ratios(name)):.2f}×"
        print(
            f"| {label} | {1 / median:,.0f} | {1000 * median:.2f} ms | "
            f"{1000 * cpu[name] / calls:.2f} ms | {shown} |"
        )
    low, mid, high = statistics.quantiles(ratios("engine"), n=4)
    print(
        f"engine/raw ratio over the rounds: quartiles {low:.2f} / {mid:.2f} / {high:.2f}, "
        f"min {min(ratios('engine')):.2f}"
    )

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.calls):
            engine_call(engine, endpoint)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    session.close()
    engine.transport.close()
    outbound.engine.transport.close()
    prepared.cleanup()


if __name__ == "__main__":
    main()
