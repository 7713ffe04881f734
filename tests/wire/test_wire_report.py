"""Tests of mockspice/wire/report.py: what `mockspice validate` prints and its exit status."""

import json

import pytest

from mockspice.wire.findings import CODES, Finding
from mockspice.wire.report import exit_code, format_findings

MISSING = Finding.of("missing-attribute", "<user> lacks 'userkey'", 3, 5, "/users/user[1]/@userkey")
PLUS = Finding.of("plus-in-value", "raw '+'", 4, None, None)


def test_text_is_one_finding_a_line_with_source_line_and_column():
    assert format_findings([MISSING, PLUS], "text", source="reply.xml").splitlines() == [
        "reply.xml:3:5: error missing-attribute: <user> lacks 'userkey' [at "
        "/users/user[1]/@userkey]",
        "reply.xml:4: warning plus-in-value: raw '+'",
    ]


def test_text_without_source_or_position():
    assert format_findings([Finding.of("empty-body", "empty")]) == "error empty-body: empty"
    assert format_findings([]) == ""


def test_json_is_an_array_of_finding_objects():
    assert json.loads(format_findings([MISSING], "json")) == [
        {
            "severity": "error",
            "code": "missing-attribute",
            "message": "<user> lacks 'userkey'",
            "line": 3,
            "column": 5,
            "path": "/users/user[1]/@userkey",
        }
    ]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        format_findings([], "xml")


def test_exit_code_is_1_only_with_an_error():
    assert exit_code([]) == 0
    assert exit_code([PLUS, Finding.of("unencoded-value", "x")]) == 0
    assert exit_code([PLUS, MISSING]) == 1


def test_every_code_is_kebab_case_with_a_known_severity():
    for code, (severity, meaning) in CODES.items():
        assert code == code.lower() and " " not in code and "_" not in code
        assert severity in ("error", "warning", "info") and meaning


def test_docs_contract_lists_every_code_with_its_severity():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "contract.md").read_text(encoding="utf-8")
    for code, (severity, _) in CODES.items():
        assert f"| `{code}` | {severity} |" in text, code
