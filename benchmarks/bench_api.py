"""Benchmark of issue 5, §9: JSON-RPC API requests per second beside WireMock serving the same
bytes.

Run: ``.venv/bin/python benchmarks/bench_api.py [--rounds R] [--seconds S] [--quick] [--profile]``
(about 6 minutes by default, ``--quick`` about 2 minutes). Loopback only; every process it starts
is stopped on the way out.

Two calls, as SpiceCSM's clients send them, to ``python -m mockspice serve --port 0`` with its
default workers and threads:

- **accountLoad 1.0**: the OpenACD form, ``request=<raw JSON>``, the session appended, with a
  fixed id, as a poller sends it: from its third call on, a worker replays the answer it kept
  for those bytes;
- **accountLoad 1.0, counting ids**: the same, with the id counting up as OpenACD counts it:
  new bytes every time, so every call is dispatched (WireMock's stub answers them all with the
  same bytes, the id of the first);
- **load 2.0**: a JSON body, ``{"jsonrpc": "2.0", "method": "load", ...}``, the session
  appended, with a fixed id and with counting ids.

Each reply's bytes are captured from the mock first; WireMock standalone (the npm package
``wiremock`` installed into a temporary folder, its jar run with ``java -jar``) then serves ONE
static stub for that call: POST on the same URL path, answering exactly those bytes with the same
content type. Both are loaded by the same ``wrk`` (one thread, the same connections and duration,
keep-alive, a Lua script for the POST body and headers), in the same sitting, runs alternated
mock / WireMock with the order swapped every round; the ratio is the median of the per-round
ratios of req/s. The first call's rounds also load ``benchmarks/hello_server.py`` (a one-route
Flask app served the same way, ``GET /hello``): the ceiling of the serving stack
itself. Server CPU per request (the process tree's utime + stime) is printed beside it,
as it is steadier than req/s on a shared 2-core machine. Without java or npm, WireMock is
skipped with a message and the mock is still measured. ``--profile`` runs py-spy on a worker
during an extra accountLoad run and prints the top of its profile.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import KEPT_LOPSIDED, MAX_RERUNS, RERUNS, Server, balanced  # noqa: E402 - shared

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
CONNECTIONS = 8  # the default 2 workers x 4 threads: every connection has a thread
TARGET = 1.0
FIRST = "accountLoad 1.0 (form)"
COUNTING = "counting ids"  # in the name of a call whose id counts up
JVM_WARM_UP_S = (
    30  # WireMock's first warm-up: its req/s rose through the first 4 rounds of 6 s (~30 s of load)
)
WIREMOCK_VERSION = "3.13.2"  # the npm package's version this was measured with; any 3.x works


def free_port() -> int:
    """A free loopback port (WireMock needs one given; the mock picks its own)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, body: bytes, content_type: str) -> tuple[int, str, bytes]:
    """One POST to the API path: status, content type, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", API, body=body, headers={"Content-Type": content_type})
        reply = conn.getresponse()
        return reply.status, reply.getheader("Content-Type", ""), reply.read()
    finally:
        conn.close()


def calls(session: str) -> dict[str, tuple[bytes, str]]:
    """The benchmarked requests: body and content type."""
    account_load = json.dumps(
        {"method": "accountLoad", "params": [{"LastName": "Doe"}, session], "id": 1}
    )
    load = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "load",
            "params": [{"type": "account", "userkey": "jdoe"}, session],
            "id": 1,
        }
    )
    form = (b"request=" + account_load.encode(), "application/x-www-form-urlencoded")
    json_body = (load.encode(), "application/json")
    return {
        FIRST: form,
        f"accountLoad 1.0 (form, {COUNTING})": form,
        "load 2.0 (JSON)": json_body,
        f"load 2.0 (JSON, {COUNTING})": json_body,
    }


def lua_script(folder: Path, name: str, body: bytes, content_type: str) -> Path:
    """A wrk script that POSTs ``body`` with ``content_type`` (its id counting up if the name says
    so).
    """
    text = body.decode()
    assert "]==]" not in text
    path = folder / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.lua"
    script = (
        f'wrk.method = "POST"\nwrk.body = [==[{text}]==]\nwrk.headers["Content-Type"] = '
        f'"{content_type}"\n'
    )
    if COUNTING in name:
        head, tail = text.rsplit('"id": 1', 1)
        script += (
            f'local head, tail, id = [==[{head}"id": ]==], [==[{tail}]==], 0\n'
            "request = function()\n  id = id + 1\n  return wrk.format(nil, nil, nil, head .. id "
            ".. tail)\nend\n"
        )
    path.write_text(script)
    return path


def wrk(
    server: Server, port: int, script: Path | None, seconds: float, path: str = API
) -> tuple[float, float]:
    """Req/s from wrk and the server's CPU milliseconds per request (no script: a plain GET).

    A run in which one worker took every connection is run again (``bench_server.balanced``).
    """

    def run() -> tuple[float, float]:
        cpu = server.cpu_s()
        script_args = ["-s", str(script)] if script else []
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                f"-d{seconds:g}s",
                *script_args,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
        if "Non-2xx" in out or "Socket errors" in out:
            raise RuntimeError(f"wrk saw errors:\n{out}")
        count = int(re.search(r"(\d+) requests in", out).group(1))
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), (
            server.cpu_s() - cpu
        ) / count * 1000

    return balanced(server, run)


# --- WireMock -------------------------------------------------------------------------------------


def wiremock_jar(folder: Path) -> Path | None:
    """``npm install wiremock`` into ``folder`` and the standalone jar it ships; None without java
    or npm.
    """
    if not shutil.which("java") or not shutil.which("npm"):
        print(
            "WireMock skipped: java or npm is not installed; only the mock is measured",
            file=sys.stderr,
        )
        return None
    if subprocess.run(["java", "-version"], capture_output=True).returncode != 0:
        print("WireMock skipped: `java -version` fails; only the mock is measured", file=sys.stderr)
        return None
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), "wiremock"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    jars = sorted((folder / "node_modules").glob("wiremock/**/wiremock-standalone-*.jar"))
    if done.returncode != 0 or not jars:
        print(
            f"WireMock skipped: npm install wiremock failed: {done.stderr[-500:]}", file=sys.stderr
        )
        return None
    return jars[-1]


def start_wiremock(jar: Path, folder: Path, journal: bool) -> tuple[Server, int]:
    """``java -jar`` the standalone jar on a free port; returns once its admin API answers."""
    port = free_port()
    argv = [
        "java",
        "-jar",
        str(jar),
        "--port",
        str(port),
        "--bind-address",
        "127.0.0.1",
        "--root-dir",
        str(folder / "wiremock-root"),
        "--disable-banner",
    ]
    if not journal:
        argv.append(
            "--no-request-journal"
        )  # the stricter baseline: WireMock keeps nothing per request
    (folder / "wiremock-root" / "mappings").mkdir(parents=True, exist_ok=True)
    server = Server(argv, folder / "wiremock.log")
    server.port = port
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/__admin/mappings")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            pass
        if server.proc.poll() is not None:
            break
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(
        f"WireMock did not start: {(folder / 'wiremock.log').read_text(errors='replace')[-2000:]}"
    )


def stub(port: int, reply: bytes, content_type: str) -> None:
    """Replace WireMock's mappings by one: POST on the API path answers exactly ``reply``."""
    admin = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    admin.request("DELETE", "/__admin/mappings")
    admin.getresponse().read()
    mapping = {
        "request": {"method": "POST", "urlPath": API},
        "response": {
            "status": 200,
            "base64Body": base64.b64encode(reply).decode(),
            "headers": {"Content-Type": content_type},
        },
    }
    admin.request(
        "POST",
        "/__admin/mappings",
        body=json.dumps(mapping),
        headers={"Content-Type": "application/json"},
    )
    answer = admin.getresponse()
    answer.read()
    admin.close()
    if answer.status != 201:
        raise RuntimeError(f"WireMock refused the mapping: {answer.status}")


# --- profile --------------------------------------------------------------------------------------


def profile(mock: Server, port: int, script: Path, seconds: float, folder: Path) -> str:
    """py-spy on one worker while wrk loads the mock; the top functions by own and total time."""
    spy = Path(PY).with_name("py-spy")
    worker = mock.pids()[1]
    out = folder / "profile.txt"
    record = subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(worker),
            "--duration",
            str(int(seconds)),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wrk(mock, port, script, seconds)
        record.wait(timeout=seconds + 30)
    finally:
        if record.poll() is None:
            record.kill()
            record.wait()
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if "granian/wsgi.py" not in stack and "WriteBehind._run" not in stack:
            continue  # not serving a request, nor writing what requests journaled
        n = int(count)
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(re.sub(r":\d+\)$", ")", f) for f in frames):
            total[frame] = total.get(frame, 0) + n
    lines = [
        f"py-spy, one worker, {samples} busy samples (request threads and the journal's writer); "
        "own time:"
    ]
    lines += [
        f"  {n / samples:6.1%}  {f}" for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:15]
    ]
    lines.append("total time (inclusive), mockspice and library frames:")
    lines += [
        f"  {n / samples:6.1%}  {f}"
        for f, n in sorted(total.items(), key=lambda kv: -kv[1])[:40]
        if "threading.py" not in f
    ]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    """Measure and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s")
    parser.add_argument(
        "--wiremock-journal",
        action="store_true",
        help="keep WireMock's request journal on (its default; off is the stricter baseline)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy a mock worker during accountLoad"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    rounds, seconds = (2, 3.0) if args.quick else (args.rounds, args.seconds)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    started = time.monotonic()
    for key in [k for k in os.environ if k.startswith("MOCKSPICE_")]:
        del os.environ[key]  # the servers inherit this environment: defaults only
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    mock = wire = hello = None
    try:
        mock = Server(
            [
                PY,
                "-m",
                "mockspice",
                "serve",
                "--port",
                "0",
                "--db",
                str(folder / "store.db"),
                "--log-level",
                "warning",
            ],
            folder / "mock.log",
        )
        # The ceiling of the serving stack: a one-route Flask app served as the mock is.
        hello = Server(
            [PY, str(ROOT / "benchmarks" / "hello_server.py"), "--port", "0"], folder / "hello.log"
        )
        mock.wait_url()
        mock.wait_healthy(workers=2)
        hello.wait_url()
        status, _, data = post(
            mock.port,
            b'request={"method":"connect","params":["admin","admin"],"id":1}',
            "application/x-www-form-urlencoded",
        )
        session = json.loads(data)["result"]["session"]
        replies = {}
        for name, (body, content_type) in calls(session).items():
            status, reply_type, reply = post(mock.port, body, content_type)
            assert status == 200 and b'"error"' not in reply.replace(b'"error": null', b""), (
                name,
                reply[:300],
            )
            replies[name] = (reply, reply_type)
            print(
                f"{name}: {len(body)} bytes in, {len(reply)} bytes out: {reply[:120].decode()}...",
                file=sys.stderr,
            )
        scripts = {name: lua_script(folder, name, *call) for name, call in calls(session).items()}
        jar = wiremock_jar(folder / "npm")
        if jar is not None:
            wire, wire_port = start_wiremock(jar, folder, args.wiremock_journal)
            java = subprocess.run(
                ["java", "-version"], capture_output=True, text=True
            ).stderr.splitlines()[0]
            print(f"WireMock: {jar.name}, {java}", file=sys.stderr)
        results: dict[str, dict[str, list[float]]] = {}
        for name, script in scripts.items():
            runs: dict[str, list[float]] = {
                "mock": [],
                "wiremock": [],
                "mock_cpu": [],
                "wiremock_cpu": [],
            }
            targets = [("mock", mock, mock.port)]
            if name == FIRST:
                runs.update(hello=[], hello_cpu=[])
                targets.append(("hello", hello, hello.port))
            if wire is not None:
                stub(wire_port, *replies[name])
                status, reply_type, reply = post(wire_port, *calls(session)[name])
                assert (status, reply) == (200, replies[name][0]), (
                    f"WireMock's reply differs: {reply[:200]!r}"
                )
                targets.append(("wiremock", wire, wire_port))
            for label, server, port in targets:
                # Warm-up: the JIT, first connections, SQLite's page cache. WireMock's JIT goes on
                # speeding it up for tens of seconds under load: its first warm-up is longer, or
                # the first call's early rounds would flatter the mock.
                warm_s = JVM_WARM_UP_S if (label, name) == ("wiremock", FIRST) else 5
                wrk(server, port, *((None, 5, "/hello") if label == "hello" else (script, warm_s)))
            for round_ in range(rounds):
                # Swap the order every round, so that a slow spell of the machine hits all alike.
                for label, server, port in targets if round_ % 2 == 0 else targets[::-1]:
                    rps, cpu_ms = wrk(
                        server,
                        port,
                        *((None, seconds, "/hello") if label == "hello" else (script, seconds)),
                    )
                    runs[label].append(rps)
                    runs[label + "_cpu"].append(cpu_ms)
            status, _, reply = post(mock.port, *calls(session)[name])
            assert (status, reply) == (200, replies[name][0]), "the mock's reply changed under load"
            results[name] = runs
        profiled = profile(mock, mock.port, scripts[FIRST], 8, folder) if args.profile else ""
    finally:
        for server in (wire, hello, mock):
            if server is not None:
                server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    report(results, rounds, seconds, time.monotonic() - started, wire is not None)
    if profiled:
        print("\n" + profiled)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"rounds": rounds, "seconds": seconds, "connections": CONNECTIONS, "runs": results},
                indent=2,
            )
        )


def report(results: dict, rounds: int, seconds: float, elapsed: float, with_wiremock: bool) -> None:
    """The Markdown table: medians, and the median of per-round ratios."""
    load = os.getloadavg()[0]
    print(
        f"\nwrk -t1 -c{CONNECTIONS}, {rounds} rounds of {seconds:g} s, alternated; load average "
        f"{load:.1f}; "
        f"{elapsed:.0f} s in all; {len(RERUNS)} wrk runs done again because one worker had taken "
        "every "
        "connection"
        + (
            f", {len(KEPT_LOPSIDED)} kept lopsided after {MAX_RERUNS} tries"
            if KEPT_LOPSIDED
            else ""
        )
        + "\n"
    )
    print(
        "| call | mockspice req/s | WireMock req/s | ratio (median of rounds) | rounds | "
        "server CPU per request mock / WireMock |"
    )
    print("|---|---:|---:|---:|---|---:|")
    for name, runs in results.items():
        mock = statistics.median(runs["mock"])
        cpu = statistics.median(runs["mock_cpu"])
        if not with_wiremock:
            print(f"| {name} | {mock:,.0f} | skipped | - | - | {cpu:.2f} ms / - |")
            if "hello" in runs:
                print(
                    f"| (ceiling) Flask hello | {statistics.median(runs['hello']):,.0f} | skipped "
                    "| - | - | "
                    f"{statistics.median(runs['hello_cpu']):.2f} ms / - |"
                )
            continue
        ratios = [m / w for m, w in zip(runs["mock"], runs["wiremock"])]
        ratio = statistics.median(ratios)
        verdict = "met" if ratio >= TARGET else "missed"
        wire, wire_cpu = (
            statistics.median(runs["wiremock"]),
            statistics.median(runs["wiremock_cpu"]),
        )
        print(
            f"| {name} | {mock:,.0f} | {wire:,.0f} | **{ratio:.2f}×** ({verdict}) | "
            f"{', '.join(f'{r:.2f}' for r in ratios)} | {cpu:.2f} / {wire_cpu:.2f} ms |"
        )
        if "hello" in runs:
            ratios = [h / w for h, w in zip(runs["hello"], runs["wiremock"])]
            print(
                "| (ceiling) Flask hello, GET, same server | "
                f"{statistics.median(runs['hello']):,.0f} | "
                f"{wire:,.0f} | {statistics.median(ratios):.2f}× | "
                f"{', '.join(f'{r:.2f}' for r in ratios)} | "
                f"{statistics.median(runs['hello_cpu']):.2f} / {wire_cpu:.2f} ms |"
            )


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally: stop every server
    main()
