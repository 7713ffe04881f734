"""The ``mockspice`` command: help, and bad usage answered in one line with exit 2."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys

import pytest

from mockspice import __version__


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mockspice", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin"},
    )


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
    broken.write_text(
        "companies:\n  - id: 1\n    label: C\n    brands: [{id: 1, label: B}]\n"
        "    accounts: [{userkey: a, brand: 5}]\n"
    )
    return text, other, broken


def test_port_in_use(busy_port):
    result = run("serve", "--port", str(busy_port))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"mockspice: error: cannot bind 127.0.0.1:{busy_port}: the port is in use\n"
    )


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda t, o, b: ["--db", str(t)], "mockspice: error: db {text}: not an SQLite database"),
        (
            lambda t, o, b: ["--db", str(o)],
            "mockspice: error: db {other}: holds another program's tables (customers)",
        ),
        (
            lambda t, o, b: ["--db", str(t.parent / "no" / "s.db")],
            "mockspice: error: db {tmp}/no/s.db: folder {tmp}/no does not exist",
        ),
        (
            lambda t, o, b: ["--fixtures", str(b)],
            "mockspice: error: {broken} line 5: companies[0].accounts[0].brand: no brand with id 5",
        ),
        (
            lambda t, o, b: ["--fixtures", str(t.parent / "missing.yaml")],
            "mockspice: error: {tmp}/missing.yaml: cannot read it",
        ),
        (
            lambda t, o, b: ["--edition", "free"],
            "mockspice: error: option --edition: edition='free' must be one of",
        ),
        (
            lambda t, o, b: ["--port", "x"],
            "mockspice: error: Invalid value for '--port': 'x' is not a valid integer.",
        ),
        (lambda t, o, b: ["--nope"], "mockspice: error: No such option '--nope'"),
    ],
)
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


def _data(name: str) -> str:
    from pathlib import Path

    return str(Path(__file__).parent / "wire" / "data" / name)


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["search", _data("page_search_corrected.xml")], 0, ""),
        (
            ["search", _data("page_search_as_written.xml")],
            1,
            ":3:33: error typographic-quote: the value of attribute 'userkey'",
        ),
        (["load", _data("page_search_corrected.xml")], 1, "error wrong-root"),
        (
            ["search", _data("page_search_as_written.xml"), "--format", "json"],
            1,
            '"code": "typographic-quote"',
        ),
    ],
)
def test_validate_command(args, code, fragment):
    result = run("validate", *args)
    assert result.returncode == code, result.stderr
    assert fragment in result.stdout


def test_validate_reads_stdin():
    result = subprocess.run(
        [sys.executable, "-m", "mockspice", "validate", "search", "-"],
        input=b"<users><user/></users>",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1 and b"missing-attribute" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["validate", "search", "/no/such/file.xml"],
            "mockspice: error: cannot read /no/such/file.xml: No such file or directory",
        ),
        (["validate", "bogus", "x.xml"], "mockspice: error: Invalid value for 'KIND'"),
        (
            ["call", "search", "--url", "ftp://example"],
            "mockspice: error: --url must be an http or https URL, not 'ftp://example'",
        ),
        (["call", "load", "--url", "http://127.0.0.1:9"], "mockspice: error: load needs --userkey"),
        (
            ["call", "update", "--url", "http://127.0.0.1:9"],
            "mockspice: error: update needs --account-file",
        ),
        (
            ["call", "search", "--url", "http://127.0.0.1:9", "--var", "Colour=red"],
            "mockspice: error: unknown search variable 'Colour'",
        ),
        (
            ["call", "search", "--url", "http://127.0.0.1:9", "--var", "novalue"],
            "mockspice: error: --var takes NAME=VALUE, not 'novalue'",
        ),
        (
            [
                "call",
                "case",
                "--url",
                "http://127.0.0.1:9",
                "--userkey",
                "jdoe",
                "--case-file",
                "/nope.yaml",
            ],
            "mockspice: error: cannot read /nope.yaml",
        ),
        (["call", "search"], "mockspice: error: Missing option '--url'"),
    ],
)
def test_call_and_validate_bad_usage(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_call_to_an_unreachable_partner_is_a_contract_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the connection is refused
        result = run(
            "call",
            "search",
            "--url",
            f"http://127.0.0.1:{port}/search",
            "--int-pass",
            "s3cret",
            "--var",
            "PrimaryPhone=(555) 555-5555",
        )
    assert result.returncode == 1
    assert "  intPass=********" in result.stdout and "s3cret" not in result.stdout
    assert "  PrimaryPhone=(555) 555-5555" in result.stdout
    assert "error unreachable: " in result.stdout and "connection refused" in result.stdout
    assert result.stdout.rstrip().endswith("outcome: unreachable")


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("missing.yaml", None, "mockspice: error: {path}: no such file or folder"),
        (
            "syntax.yaml",
            "- method: a\n  result: [1,\n",
            "mockspice: error: {path} line 3: not valid YAML, column 1: "
            "did not find expected node content",
        ),
        (
            "syntax.json",
            '{"method": "a",\n  "result": }',
            "mockspice: error: {path} line 2: not valid JSON, column 13: Expecting value",
        ),
        (
            "bad.yaml",
            "- {method: a, result: 1}\n- method: b\n  answers:\n    - result: 1\n    - {result: "
            "2, fault: drop}\n",
            "mockspice: error: {path} line 5: stub[1].answers[1]: 'answers'[1] must have exactly "
            "one of 'result', "
            "'error' or 'fault', not 'result' and 'fault'",
        ),
        (
            "rows.yaml",
            "method: load\nsingle_row_object: true\n",
            "mockspice: error: {path} line 1: stub.method: 'method': a pass-through stub answers "
            "through the real method, "
            "and 'load' is none of the API's methods that answer rows",
        ),
    ],
)
def test_serve_refuses_a_bad_stubs_file_in_one_line(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    result = run("serve", "--port", "0", "--db", str(tmp_path / "s.db"), "--stubs", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(message.format(path=path)), result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
