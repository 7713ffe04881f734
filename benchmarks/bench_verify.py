"""Benchmark of ``mockspice verify``: a whole run against the reference partner, beside a raw
POST loop of the same requests, same sitting.

Run: ``.venv/bin/python benchmarks/bench_verify.py [--rounds R] [--generated N]``. The reference
partner runs in a child process on a loopback port (as in bench_webcalls.py). Each round runs
every case (the named ones and the generated ones, ``--generated`` examples each, one seed for
all rounds) through :func:`mockspice.verify.runner.run`, recording every request it sends; then
a raw loop, ``requests.Session().post`` with the body read, sends exactly those requests again.
The ratio is calls per second of the run over calls per second of the raw loop (the raw loop's
time over the run's), the median of the rounds; the target is at least 0.7.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_webcalls import INT_PASS, INT_USER, start_partner  # noqa: E402

from mockspice.verify import catalog  # noqa: E402
from mockspice.verify.runner import Target, run  # noqa: E402
from mockspice.webcalls.engine import Engine  # noqa: E402
from mockspice.webcalls.transport import Transport  # noqa: E402

SEED = 20261204


class Recording(Transport):
    """The engine's transport, keeping every request it sends."""

    def __init__(self):
        super().__init__()
        self.sent: list[tuple[str, list[tuple[str, str]]]] = []

    def post(self, url, form, timeout_s):
        self.sent.append((url, list(form)))
        return super().post(url, form, timeout_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--generated", type=int, default=50)
    args = parser.parse_args()
    proc, search_url = start_partner()
    base = search_url.rsplit("/", 1)[0]
    try:
        target = Target(
            {kind: f"{base}/{kind}" for kind in ("search", "load", "update", "case")},
            INT_USER,
            INT_PASS,
            generated=args.generated,
            seed=SEED,
        )
        cases = catalog.select(count=args.generated, seed=SEED)
        rows = []
        for round_ in range(args.rounds + 1):  # the first round warms up
            transport = Recording()
            engine = Engine(transport)
            started = time.perf_counter()
            finished = run(target, cases, engine=engine)
            wall = time.perf_counter() - started
            transport.close()
            assert finished.passed, [r.name for r in finished.results if r.status == "failed"]
            session = requests.Session()
            session.trust_env = False
            started = time.perf_counter()
            for url, form in transport.sent:
                assert session.post(url, data=form, timeout=10).content is not None
            raw = time.perf_counter() - started
            session.close()
            if round_:
                rows.append((len(transport.sent), wall, raw))
    finally:
        proc.kill()
        proc.wait()
    calls = rows[0][0]
    walls = [w for _, w, _ in rows]
    raws = [r for _, _, r in rows]
    ratios = [r / w for _, w, r in rows]
    print(
        f"{len(cases)} cases ({args.generated} examples per generated case, seed {SEED}), "
        f"{calls} calls a run, {args.rounds} rounds after a warm-up\n"
    )
    print("| loop | wall (median) | calls/s | ratio (median of rounds) | per round |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| mockspice verify, every case | {statistics.median(walls) * 1000:,.0f} ms | "
        f"{calls / statistics.median(walls):,.0f} | **{statistics.median(ratios):.2f}×** | "
        f"{', '.join(f'{r:.2f}' for r in ratios)} |"
    )
    print(
        f"| raw POST loop, the same requests | {statistics.median(raws) * 1000:,.0f} ms | "
        f"{calls / statistics.median(raws):,.0f} | 1.00× | - |"
    )
    verdict = "met" if statistics.median(ratios) >= 0.7 else "missed"
    print(f"\ntarget: at least 0.7x the raw loop: {verdict}")


if __name__ == "__main__":
    main()
