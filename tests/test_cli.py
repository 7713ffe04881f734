"""The ``mockspice`` command: help, and bad usage answered in one line with exit 2."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys

import pytest

from mockspice import __version__


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockspice", *args], capture_output=True, text=True,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin"})


def test_help_and_version():
    assert "serve" in run("--help").stdout
    assert "--fixtures" in run("serve", "--help").stdout
    result = run("--version")
    assert result.returncode == 0 and __version__ in result.stdout


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _bad_files(tmp_path):
    text = tmp_path / "text.db"
    text.write_text("not a database")
    other = tmp_path / "other.db"
    sqlite3.connect(other).executescript("CREATE TABLE customers(id INTEGER);")
    broken = tmp_path / "broken.yaml"
    broken.write_text("companies:\n  - id: 1\n    label: C\n    brands: [{id: 1, label: B}]\n"
                      "    accounts: [{userkey: a, brand: 5}]\n")
    return text, other, broken


def test_port_in_use(busy_port):
    result = run("serve", "--port", str(busy_port))
    assert result.returncode == 2
    assert result.stderr == f"mockspice: error: cannot bind 127.0.0.1:{busy_port}: the port is in use\n"


@pytest.mark.parametrize("make_args, message", [
    (lambda t, o, b: ["--db", str(t)], "mockspice: error: db {text}: not an SQLite database"),
    (lambda t, o, b: ["--db", str(o)], "mockspice: error: db {other}: holds another program's tables (customers)"),
    (lambda t, o, b: ["--db", str(t.parent / "no" / "s.db")], "mockspice: error: db {tmp}/no/s.db: folder {tmp}/no does not exist"),
    (lambda t, o, b: ["--fixtures", str(b)], "mockspice: error: {broken} line 5: companies[0].accounts[0].brand: no brand with id 5"),
    (lambda t, o, b: ["--fixtures", str(t.parent / "missing.yaml")], "mockspice: error: {tmp}/missing.yaml: cannot read it"),
    (lambda t, o, b: ["--edition", "free"], "mockspice: error: option --edition: edition='free' must be one of"),
    (lambda t, o, b: ["--port", "x"], "mockspice: error: Invalid value for '--port': 'x' is not a valid integer."),
    (lambda t, o, b: ["--nope"], "mockspice: error: No such option '--nope'"),
])
def test_serve_refuses_bad_input_in_one_line(tmp_path, make_args, message):
    text, other, broken = _bad_files(tmp_path)
    result = run("serve", "--port", "0", *make_args(text, other, broken))
    assert result.returncode == 2
    expected = message.format(text=text, other=other, tmp=tmp_path, broken=broken)
    assert result.stderr.startswith(expected), result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_refused_db_is_left_untouched(tmp_path):
    text, other, _ = _bad_files(tmp_path)
    before = other.read_bytes()
    assert run("serve", "--port", "0", "--db", str(other)).returncode == 2
    assert other.read_bytes() == before
