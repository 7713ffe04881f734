"""Benchmark of issue 12, section 6: what the ``mockspice`` fixture costs a test.

Run: ``.venv/bin/python benchmarks/bench_plugin.py [--tests 200]``. Writes a partner's test
project in a temporary folder and runs pytest on it once, in one process, so every figure is
from the same sitting:

- ``mockspice: pop`` and ``mockspice: API call``: each test one screen pop, or one API call;
- ``mockspice: nothing``: each test takes the fixture and sends nothing (the reset before the
  test and the check after it: the fixture's own cost);
- ``httpserver: one request``: pytest-httpserver's fixture, each test one expected request
  served and checked (its ``check_assertions``): the baseline.

Each figure is a test's whole time, setup + call + teardown, from pytest's own reports; the
median over the tests of its kind (the first of each kind apart: it starts the server).
Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CONFTEST = """
import json, os

TIMES = {}

def pytest_runtest_logreport(report):
    TIMES.setdefault(report.nodeid, 0.0)
    TIMES[report.nodeid] += report.duration

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump(TIMES, fh)
"""

TESTS = """
import pytest, requests

N = {n}

@pytest.mark.parametrize("i", range(N))
def test_mockspice_nothing(mockspice, i):
    pass

@pytest.mark.parametrize("i", range(N))
def test_mockspice_pop(mockspice, i):
    assert mockspice.pop(ani="5552010001")["match"]["kind"] == "account"

@pytest.mark.parametrize("i", range(N))
def test_mockspice_api_call(mockspice, i):
    assert mockspice.api("accountLoad", {{"Userkey": "asmith"}})[0]["userkey"] == "asmith"

@pytest.mark.parametrize("i", range(N))
def test_httpserver_request(httpserver, i):
    httpserver.expect_request("/ping").respond_with_json({{"ok": True}})
    assert requests.get(httpserver.url_for("/ping"), timeout=5).json() == {{"ok": True}}
    httpserver.check_assertions()
"""

KINDS = {
    "mockspice: nothing": "test_mockspice_nothing",
    "mockspice: pop": "test_mockspice_pop",
    "mockspice: API call (connect once a test, then the call)": "test_mockspice_api_call",
    "httpserver: one request": "test_httpserver_request",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200, help="tests of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as folder:
        root = Path(folder)
        (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
        (root / "test_bench.py").write_text(
            textwrap.dedent(TESTS.format(n=args.tests)), encoding="utf-8"
        )
        out = root / "times.json"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
            cwd=root,
            env={**__import__("os").environ, "BENCH_OUT": str(out)},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.exit(f"the benchmark's tests failed:\n{done.stdout[-3000:]}")
        times = json.loads(out.read_text())
    starts = [times[node] for node in times if node.endswith("test_mockspice_nothing[0]")]
    print(f"| per test ({args.tests} of each, median, ms) | median | p90 |")
    print("|---|---|---|")
    medians = {}
    for label, name in KINDS.items():
        values = sorted(
            t * 1000
            for node, t in times.items()
            if f"::{name}[" in node and not node.endswith("[0]")
        )
        medians[label] = statistics.median(values)
        print(f"| {label} | {medians[label]:.2f} | {values[int(len(values) * 0.9)]:.2f} |")
    base = medians["httpserver: one request"]
    print()
    if starts:
        print(
            "- session start (the first mockspice test, its server started): "
            f"{starts[0] * 1000:.0f} ms"
        )
    print(
        f"- ratio to pytest-httpserver's one request: pop {medians['mockspice: pop'] / base:.2f}x, "
        "API call "
        f"{medians['mockspice: API call (connect once a test, then the call)'] / base:.2f}x, "
        f"the fixture alone {medians['mockspice: nothing'] / base:.2f}x"
    )


if __name__ == "__main__":
    main()
