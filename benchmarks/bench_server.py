"""Screen pop throughput, ANI match latency, start time and memory of ``mockspice serve``.

``python benchmarks/bench_server.py [--quick]`` (a full run takes about 3 minutes, ``--quick``
about 30 s). Loopback traffic only; every server it starts is stopped on the way out. Needs
``wrk`` (Debian: ``apt-get install wrk``). Prints a Markdown table and writes
``benchmarks/results/server.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
POP = "/spiceinstall/integrations/telephony/telephonypop.php?company=1&brand=1"
ASMITH = POP + "&ani=%2B1%20555%20201%200001"  # one match in the demo: account asmith
GUNICORN = ["--port", "0", "--workers", "2", "--threads", "4"]
CONNECTIONS = 8  # workers x threads: every connection has a thread, none waits in a queue
FORMATS = ("({a}) {e}-{n}", "+1 {a} {e} {n}", "{a}.{e}.{n}", "1{a}{e}{n}", "{a}-{e}-{n}")
TARGETS = {"match_p99_ms": 5.0, "start_s": 1.0, "ratio": 0.70}
LOPSIDED = 0.8  # a run in which one worker used more than this share of the workers' CPU ...
MAX_RERUNS = 4  # ... is run again, at most this many times
RERUNS: list[int] = []  # one item per run done again (warm-up runs included)
KEPT_LOPSIDED: list[int] = []  # one item per run still lopsided after MAX_RERUNS: reported


class Server:
    """A server subprocess whose output goes to a file; stopped by SIGTERM, then SIGKILL."""

    def __init__(self, argv: list[str], log: Path):
        self.log = log
        self.started = time.perf_counter()
        with open(log, "wb") as out:
            # A new session: a Ctrl-C reaches only this script, whose finally stops the server.
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )
        self.port = 0

    def wait_url(self, timeout: float = 30.0) -> int:
        """The port from the first ``... on http://127.0.0.1:PORT`` line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(
                r" on http://127\.0\.0\.1:(\d+)", self.log.read_text(errors="replace")
            )
            if found:
                self.port = int(found.group(1))
                return self.port
            if self.proc.poll() is not None:
                break
            time.sleep(0.002)
        raise RuntimeError(f"server did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def wait_healthy(self, workers: int = 0, timeout: float = 30.0) -> None:
        """Poll /_mockspice/health until a 200 (and until ``workers`` workers are running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                get(conn, "/_mockspice/health")
                conn.close()
                if len(self.pids()) > workers:
                    return
            except (OSError, RuntimeError):
                pass  # listening, but no worker has answered yet
            time.sleep(0.002)
        raise RuntimeError(f"server not healthy after {timeout} s")

    def pids(self) -> list[int]:
        """The master and its workers (children found through /proc)."""
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for entry in Path("/proc").iterdir():
                try:
                    if (
                        entry.name.isdigit()
                        and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid
                    ):
                        todo.append(int(entry.name))
                except (OSError, IndexError):
                    pass  # the process ended while we looked
        return found

    def memory_mb(self) -> dict[str, float]:
        """Sum over master and workers of VmRSS and of PSS (shared pages split, not counted
        twice), MiB."""
        total = {"rss": 0.0, "pss": 0.0}
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            total["rss"] += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
            total["pss"] += int(re.search(r"Pss:\s+(\d+)", rollup).group(1)) / 1024
        return total

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by master plus workers."""
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds (user + system) used so far, by process: the master first, then its
        workers."""
        used = {}
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf(
                "SC_CLK_TCK"
            )  # utime, stime
        return used

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL after 10 s; workers too."""
        workers = self.pids()[1:] if self.proc.poll() is None else []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in workers:  # a worker orphaned by a killed master
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def mockspice(tmp: Path, name: str, *extra: str, command: list[str] | None = None) -> Server:
    """Start ``mockspice serve`` on a fresh store with the given options."""
    argv = (command or [PY, "-m", "mockspice"]) + ["serve", "--db", str(tmp / f"{name}.db"), *extra]
    return Server(argv, tmp / f"{name}.log")


def get(conn: http.client.HTTPConnection, path: str) -> bytes:
    """One keep-alive GET that must answer 200."""
    conn.request("GET", path)
    reply = conn.getresponse()
    body = reply.read()
    if reply.status != 200:
        raise RuntimeError(f"GET {path}: {reply.status} {body[:300]!r}")
    return body


def balanced(server: Server, run: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """One wrk run, run again (at most MAX_RERUNS times) when one worker served nearly all of it.

    The workers share one listening socket: the connections wrk opens at the start of a
    run (and keeps) are accepted by whichever worker wakes first, and (under gunicorn) in about
    one run in three one worker gets all eight. The server then uses one core and twice the CPU per
    request
    (four threads contending for one GIL), so that run measures the accident, not the app.
    """
    for attempt in range(MAX_RERUNS + 1):
        before = server.cpu_by_process()
        result = run()
        after = server.cpu_by_process()
        workers = [after[pid] - before.get(pid, 0.0) for pid in list(after)[1:]]
        if len(workers) < 2 or max(workers) <= LOPSIDED * sum(workers):
            return result
        if attempt == MAX_RERUNS:
            KEPT_LOPSIDED.append(attempt)
            return result
        RERUNS.append(attempt)
    raise AssertionError("unreachable")


def wrk(server: Server, path: str, seconds: int) -> tuple[float, float]:
    """Req/s from wrk (keep-alive, one thread, CONNECTIONS connections) and server CPU ms per
    request."""

    def run() -> tuple[float, float]:
        cpu = server.cpu_s()
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                f"-d{seconds}s",
                f"http://127.0.0.1:{server.port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "Non-2xx" in out or "Socket errors" in out:
            raise RuntimeError(f"wrk saw errors:\n{out}")
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), (
            server.cpu_s() - cpu
        ) / requests * 1000

    return balanced(server, run)


def throughput(tmp: Path, rounds: int, seconds: int) -> dict:
    """Pop (HTML and JSON) and hello req/s, alternated in rounds; median pop/hello ratios."""
    pop = mockspice(tmp, "throughput", *GUNICORN)
    hello = Server([PY, str(ROOT / "benchmarks" / "hello_server.py"), *GUNICORN], tmp / "hello.log")
    try:
        pop.wait_url()
        hello.wait_url()
        for server, path in ((hello, "/hello"), (pop, ASMITH), (pop, ASMITH + "&format=json")):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            assert b"asmith" in get(conn, path) or path == "/hello", "the pop did not match asmith"
            conn.close()
        for server, path in ((hello, "/hello"), (pop, ASMITH)):
            wrk(server, path, 1)  # warm-up: first connections, lazy imports, SQLite page cache
        runs: dict[str, list[float]] = {"hello": [], "html": [], "json": []}
        cpu: dict[str, list[float]] = {"hello": [], "html": [], "json": []}
        for _ in range(rounds):  # alternate so drift on a noisy machine hits all three alike
            for name, server, path in (
                ("hello", hello, "/hello"),
                ("html", pop, ASMITH),
                ("json", pop, ASMITH + "&format=json"),
            ):
                rps, cpu_ms = wrk(server, path, seconds)
                runs[name].append(rps)
                cpu[name].append(cpu_ms)
    finally:
        pop.stop()
        hello.stop()
    ratio = {
        k: statistics.median(p / h for p, h in zip(runs[k], runs["hello"]))
        for k in ("html", "json")
    }
    # CPU per request is steadier than req/s when other jobs share the machine.
    cpu_ratio = {
        k: statistics.median(h / p for p, h in zip(cpu[k], cpu["hello"])) for k in ("html", "json")
    }
    return {
        "seconds": seconds,
        "connections": CONNECTIONS,
        "runs_rps": runs,
        "runs_cpu_ms_per_request": cpu,
        "median_rps": {k: statistics.median(v) for k, v in runs.items()},
        "median_cpu_ms": {k: statistics.median(v) for k, v in cpu.items()},
        "ratio_html": ratio["html"],
        "ratio_json": ratio["json"],
        "cpu_ratio_html": cpu_ratio["html"],
        "cpu_ratio_json": cpu_ratio["json"],
    }


def number(i: int, base: int) -> tuple[str, str, str]:
    """Account i's ten-digit number as (area, exchange, line); unique per (i, base)."""
    digits = f"{base + i * 37:010d}"
    return digits[:3], digits[3:6], digits[6:]


def big_dataset(accounts: int) -> dict:
    """One company, one brand, ``accounts`` accounts with one contact, phones in varied formats."""
    rows = []
    for i in range(accounts):
        contact = {
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "pphone": FORMATS[i % 5].format_map(dict(zip("aen", number(i, 2_000_000_000)))),
        }
        if i % 2:
            contact["mobile"] = FORMATS[(i + 2) % 5].format_map(
                dict(zip("aen", number(i, 6_000_000_000)))
            )
        rows.append({"userkey": f"u{i:06d}", "brand": 1, "contacts": [contact]})
    return {
        "format": "mockspice-dataset/1",
        "companies": [
            {
                "id": 1,
                "label": "Bench Co",
                "brands": [{"id": 1, "label": "Bench", "greeting": "Hello {caller}"}],
                "statuses": [{"id": 1, "label": "New"}],
                "accounts": rows,
            }
        ],
    }


def percentiles(samples: list[float]) -> dict:
    """p50 and p99 of durations in seconds, as milliseconds."""
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000, "n": len(samples)}


def matching(tmp: Path, accounts: int, lookups: int, pops: int) -> dict:
    """RSS idle and with ``accounts`` loaded; ANI match latency in-process and over HTTP."""
    from mockspice.domain import records
    from mockspice.domain.pop import MAX_CANDIDATES, screen_pop
    from mockspice.store.db import Store
    from mockspice.store.phones import normalize_phone

    rng = random.Random(2)
    # Callers' ANIs in another format than the stored one, so normalization is exercised.
    anis = []
    for i in (rng.randrange(accounts) for _ in range(lookups)):
        area, exchange, line = number(i, 2_000_000_000)
        anis.append(FORMATS[(i + 1) % 5].format(a=area, e=exchange, n=line))
    body = json.dumps(big_dataset(accounts)).encode()
    server = mockspice(tmp, "big", *GUNICORN)
    out: dict = {"accounts": accounts, "state_bytes": len(body)}
    try:
        server.wait_url()
        server.wait_healthy(workers=2)
        time.sleep(1)  # let both workers finish booting before calling it idle
        out["memory_idle_demo_mb"] = server.memory_mb()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        started = time.perf_counter()
        conn.request("PUT", "/_mockspice/state", body, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        assert reply.status == 200, reply.read()[:500]
        reply.read()
        out["put_state_s"] = time.perf_counter() - started
        out["memory_loaded_mb"] = server.memory_mb()

        store = Store(tmp / "big.db")  # the server's own file, read beside it as WAL allows
        db = store.connection()
        match, full = [], []
        for ani in anis:
            started = time.perf_counter()
            ids = records.accounts_by_phone(db, 1, 1, normalize_phone(ani), MAX_CANDIDATES + 1)
            found = [records.account(db, 1, account_id) for account_id in ids]
            match.append(time.perf_counter() - started)
            assert len(found) == 1, (ani, ids)
        for ani in anis[:pops]:  # the whole domain pop, with its journal write
            started = time.perf_counter()
            screen_pop(
                store,
                {"company": "1", "brand": "1", "ani": ani},
                edition="enterprise",
                journal_limit=10000,
            )
            full.append(time.perf_counter() - started)
        store.close()
        out["match"], out["screen_pop"] = percentiles(match), percentiles(full)

        over_http = []
        for ani in anis[:pops]:
            started = time.perf_counter()
            reply = json.loads(get(conn, f"{POP}&format=json&ani={quote(ani)}"))
            over_http.append(time.perf_counter() - started)
            assert reply["match"]["kind"] == "account", reply["match"]
        out["http_json"] = percentiles(over_http)
        out["memory_after_pops_mb"] = server.memory_mb()
        conn.close()
    finally:
        server.stop()
    return out


def start_to_healthy(tmp: Path, command: list[str], times: int) -> dict:
    """Seconds from spawn to the first 200 of /_mockspice/health (median, min, max of ``times``)."""
    samples = []
    for n in range(times):
        server = mockspice(tmp, f"start{n}", "--port", "0", command=command)
        try:
            server.wait_url()
            server.wait_healthy()
            samples.append(time.perf_counter() - server.started)
        finally:
            server.stop()
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "n": times,
    }


def verdict(ok: bool) -> str:
    """Pass or miss, as the table shows it."""
    return "pass" if ok else "**miss**"


def mem(figures: dict[str, float]) -> str:
    """Memory figures as the table shows them."""
    return f"RSS {figures['rss']:.0f} MiB (PSS {figures['pss']:.0f} MiB)"


def table(r: dict) -> str:
    """The results as a Markdown table (figure, value, target, result)."""
    t, m = r["throughput"], r["matching"]
    rows = [
        (
            "Hello vs pop HTML / JSON, server CPU per request",
            f"{t['median_cpu_ms']['hello']:.2f} vs {t['median_cpu_ms']['html']:.2f} / "
            f"{t['median_cpu_ms']['json']:.2f} ms (pop at {t['cpu_ratio_html']:.0%} / "
            f"{t['cpu_ratio_json']:.0%} of hello's requests per CPU second)",
            "-",
            "-",
        ),
        (
            "Pop HTML throughput / hello",
            f"{t['ratio_html']:.0%} ({t['median_rps']['html']:.0f} / "
            f"{t['median_rps']['hello']:.0f} req/s)",
            "≥ 70%",
            verdict(t["ratio_html"] >= TARGETS["ratio"]),
        ),
        (
            "Pop JSON throughput / hello",
            f"{t['ratio_json']:.0%} ({t['median_rps']['json']:.0f} / "
            f"{t['median_rps']['hello']:.0f} req/s)",
            "≥ 70%",
            verdict(t["ratio_json"] >= TARGETS["ratio"]),
        ),
        (
            f"ANI match, in-process, {m['accounts']:,} accounts",
            f"p50 {m['match']['p50_ms']:.3f} ms, p99 {m['match']['p99_ms']:.3f} ms",
            "p99 < 5 ms",
            verdict(m["match"]["p99_ms"] < TARGETS["match_p99_ms"]),
        ),
        (
            "Whole screen_pop (with journal write), in-process",
            f"p50 {m['screen_pop']['p50_ms']:.2f} ms, p99 {m['screen_pop']['p99_ms']:.2f} ms",
            "-",
            "-",
        ),
        (
            "Pop JSON over HTTP, one client",
            f"p50 {m['http_json']['p50_ms']:.2f} ms, p99 {m['http_json']['p99_ms']:.2f} ms",
            "-",
            "-",
        ),
        (
            "Start to healthy, `python -m mockspice serve`",
            f"{r['start_module']['median_s']:.2f} s",
            "< 1 s",
            verdict(r["start_module"]["median_s"] < TARGETS["start_s"]),
        ),
        (
            "Start to healthy, `.venv/bin/mockspice serve`",
            f"{r['start_script']['median_s']:.2f} s",
            "< 1 s",
            verdict(r["start_script"]["median_s"] < TARGETS["start_s"]),
        ),
        ("Memory idle (demo), master + 2 workers", mem(m["memory_idle_demo_mb"]), "-", "-"),
        (
            f"Memory with {m['accounts']:,} accounts (after PUT state)",
            mem(m["memory_loaded_mb"]),
            "-",
            "-",
        ),
        (
            f"Memory after {m['http_json']['n']:,} more pops",
            mem(m["memory_after_pops_mb"]),
            "-",
            "-",
        ),
    ]
    lines = ["| Figure | Measured | Target | Result |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows])


def main() -> None:
    """Run every part and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="shorter runs, for a smoke test (about 30 s)"
    )
    quick = parser.parse_args().quick
    if shutil.which("wrk") is None:
        sys.exit("bench_server: wrk is needed for the throughput part (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="mockspice-bench-"))
    try:
        results = {
            "quick": quick,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "load_average_before": os.getloadavg(),
            "throughput": throughput(tmp, rounds=2 if quick else 9, seconds=2 if quick else 4),
            "matching": matching(
                tmp,
                accounts=20_000 if quick else 100_000,
                lookups=500 if quick else 2000,
                pops=200 if quick else 1000,
            ),
            "start_module": start_to_healthy(tmp, [PY, "-m", "mockspice"], 2 if quick else 5),
            "start_script": start_to_healthy(
                tmp, [str(Path(PY).parent / "mockspice")], 2 if quick else 5
            ),
        }
        results["load_average_after"] = os.getloadavg()
        results["runs_done_again_lopsided"] = len(RERUNS)
        results["runs_kept_lopsided"] = len(KEPT_LOPSIDED)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(results))
    print(
        f"\nload average before / after: {results['load_average_before'][0]:.1f} / "
        f"{results['load_average_after'][0]:.1f} on {os.cpu_count()} CPUs "
        "(other jobs make req/s noisy); "
        f"{len(RERUNS)} wrk runs done again because one worker had taken every connection"
        + (
            f", {len(KEPT_LOPSIDED)} kept lopsided after {MAX_RERUNS} tries"
            if KEPT_LOPSIDED
            else ""
        )
    )
    out = ROOT / "benchmarks" / "results" / "server.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
