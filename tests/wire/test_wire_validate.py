"""Tests of mockspice/wire/validate.py: the page's examples, a table of broken replies, safety,
fuzzing.
"""

import random
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockspice.wire.findings import CODES
from mockspice.wire.validate import validate

DATA = Path(__file__).parent / "data"
DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
USER = '<user status="Active" userkey="jdoe" name="John%20Doe" email="johnd%40xyz%2Enet" />'
LOAD_OK = (
    DECL + '<userdata>\n  <user userkey="johnd" password="" status="Active" account="" />\n'
    '  <contacts>\n    <contact firstname="John" lastname="Doe" />\n  </contacts>\n'
    '  <fielddata>\n    <field id="1" value="Anything" />\n  </fielddata>\n</userdata>\n'
)
CASE_OK = (
    DECL + '<tickets>\n  <ticket cid="6344" id="7906" tier="1" date="1/27/06 1:27:51 PM" '
    'status="In Progress" sid="2" />\n</tickets>\n'
)


def search(*users: str) -> str:
    """Return a search reply with one user element a line, starting at line 3."""
    return DECL + "<users>\n" + "".join(f"  {u}\n" for u in users) + "</users>\n"


def codes(findings) -> list[str]:
    """Return the codes of findings, in order."""
    return [f.code for f in findings]


# --- the page's own examples ----------------------------------------------------------------


def test_page_search_example_as_written_has_typographic_quotes_on_lines_3_and_5():
    findings = validate("search", (DATA / "page_search_as_written.xml").read_bytes())
    assert [(f.code, f.line) for f in findings] == [
        ("typographic-quote", 3),
        ("typographic-quote", 5),
    ]
    assert "userkey" in findings[0].message and "U+201D" in findings[0].message
    assert findings[0].column == 33


def test_page_search_example_corrected_is_valid():
    assert validate("search", (DATA / "page_search_corrected.xml").read_bytes()) == []


def test_page_load_example_as_written_is_valid_and_matches_its_userkey():
    data = (DATA / "page_load_as_written.xml").read_bytes()
    assert validate("load", data, expected_userkey="johnd") == []


def test_page_case_example_as_written_is_not_xml():
    findings = validate("case", (DATA / "page_case_as_written.xml").read_bytes())
    assert codes(findings) == ["typographic-quote"]
    assert findings[0].line == 4 and "cid" in findings[0].message


def test_page_case_example_with_straight_quotes_still_fails_on_the_comments():
    text = (DATA / "page_case_as_written.xml").read_text(encoding="utf-8").replace("”", '"')
    findings = validate("case", text.encode())
    assert codes(findings) == ["not-well-formed"]
    assert findings[0].line == 4 and "'//' comments are not XML" in findings[0].message


def test_page_case_example_corrected_is_valid():
    assert validate("case", (DATA / "page_case_corrected.xml").read_bytes()) == []


def test_update_accepts_the_load_structure():
    assert validate("update", LOAD_OK.encode()) == []


# --- broken replies: kind, body, expected code, line, message fragment ----------------------

BROKEN = [
    ("empty", "search", "", "empty-body", 1, "empty"),
    ("blank", "search", "  \n\t ", "empty-body", 1, "empty"),
    (
        "bom-doubled",
        "search",
        "\ufeff\ufeff<users/>",
        "misplaced-byte-order-mark",
        1,
        "byte-order mark",
    ),
    (
        "bom-after-space",
        "search",
        " \ufeff<users/>",
        "misplaced-byte-order-mark",
        1,
        "after the start",
    ),
    (
        "blank-line-before-decl",
        "search",
        "\n" + DECL + "<users/>",
        "text-before-declaration",
        1,
        "white-space",
    ),
    (
        "php-notice",
        "search",
        "Notice: Undefined index: x in /s.php on line 3\n" + DECL + "<users/>",
        "text-before-declaration",
        1,
        "Notice: Undefined index",
    ),
    (
        "php-notice-html",
        "load",
        "<br />\n<b>Warning</b>: oops<br />\n" + DECL + "<userdata/>",
        "text-before-declaration",
        1,
        "<b>Warning</b>",
    ),
    ("text-before-root", "search", "\n\nOK <users/>", "text-before-root", 3, "'OK'"),
    ("json", "search", '{"users": []}', "not-well-formed", 1, "not XML"),
    (
        "php-fatal",
        "search",
        "<br />\n<b>Fatal error</b>: Call to undefined function",
        "html-not-xml",
        1,
        "HTML page",
    ),
    (
        "html-page",
        "load",
        "<html><head><title>500</title></head><body>Error</body></html>",
        "html-not-xml",
        1,
        "HTML page",
    ),
    (
        "html-doctype",
        "search",
        "<!DOCTYPE html>\n<html></html>",
        "html-not-xml",
        1,
        "<!DOCTYPE html>",
    ),
    ("doctype", "search", DECL + "<!DOCTYPE users>\n<users/>", "doctype-refused", 2, "DOCTYPE"),
    (
        "entity",
        "search",
        DECL + '<!DOCTYPE users [\n<!ENTITY x "y">\n]>\n<users/>',
        "doctype-refused",
        2,
        "entity",
    ),
    (
        "typographic-left",
        "search",
        search("<user userkey=“jdoe” />"),
        "typographic-quote",
        3,
        "U+201C",
    ),
    (
        "typographic-single",
        "search",
        search("<user userkey=‘jdoe’ />"),
        "typographic-quote",
        3,
        "U+2018",
    ),
    ("unclosed", "search", search('<user userkey="jdoe">'), "not-well-formed", 4, "tag mismatch"),
    (
        "raw-ampersand",
        "search",
        search('<user userkey="jdoe" name="AT&T" />'),
        "not-well-formed",
        3,
        "&amp;",
    ),
    (
        "html-entity",
        "search",
        search('<user userkey="jdoe" name="a&nbsp;b" />'),
        "not-well-formed",
        3,
        "nbsp",
    ),
    (
        "raw-lt",
        "search",
        search('<user userkey="jdoe" name="a<b" />'),
        "not-well-formed",
        3,
        "&lt;",
    ),
    ("two-roots", "search", DECL + "<users/>\n<users/>", "not-well-formed", 3, "one root"),
    (
        "attr-twice",
        "search",
        search('<user userkey="a" userkey="b" />'),
        "not-well-formed",
        3,
        "redefined",
    ),
    ("unquoted", "search", search("<user userkey=jdoe />"), "not-well-formed", 3, "AttValue"),
    ("latin1", "search", None, "bad-encoding", 3, "not in the declared encoding"),
    ("wrong-root", "search", DECL + "<userdata/>", "wrong-root", 2, "must be <users>"),
    ("wrong-root-case", "load", DECL + "<users/>", "wrong-root", 2, "must be <userdata>"),
    ("namespaced-root", "search", DECL + '<users xmlns="urn:x"/>', "wrong-root", 2, "namespace"),
    (
        "missing-userkey",
        "search",
        search('<user status="Active" name="John" />'),
        "missing-attribute",
        3,
        "'userkey'",
    ),
    (
        "misspelt-attribute",
        "search",
        search('<user userkey="j" Name="John" />'),
        "unexpected-attribute",
        3,
        "did you mean 'name'",
    ),
    (
        "unknown-attribute",
        "search",
        search('<user userkey="j" age="3" />'),
        "unexpected-attribute",
        3,
        "'age'",
    ),
    (
        "unknown-element",
        "search",
        search(USER, "<total>1</total>"),
        "unexpected-element",
        4,
        "<total>",
    ),
    (
        "nested-element",
        "search",
        search('<user userkey="j"><name>John</name></user>'),
        "unexpected-element",
        3,
        "<name>",
    ),
    ("text-in-users", "search", search(USER, "stray text"), "unexpected-text", 4, "stray text"),
    ("empty-userkey", "search", search('<user userkey="" />'), "empty-userkey", 3, "empty userkey"),
    (
        "blank-userkey",
        "search",
        search('<user userkey="%20%20" />'),
        "empty-userkey",
        3,
        "white space",
    ),
    ("duplicate-userkey", "search", search(USER, USER), "duplicate-userkey", 4, "line 3"),
    (
        "duplicate-decoded",
        "search",
        search('<user userkey="jdoe" />', '<user userkey="jd%6Fe" />'),
        "duplicate-userkey",
        4,
        "'jdoe'",
    ),
    (
        "plus",
        "search",
        search('<user userkey="j" name="John+Doe" />'),
        "plus-in-value",
        3,
        "as a space",
    ),
    (
        "malformed-escape",
        "search",
        search('<user userkey="j" name="John%2" />'),
        "malformed-escape",
        3,
        "'%2'",
    ),
    (
        "malformed-hex",
        "search",
        search('<user userkey="j" name="%ZZ" />'),
        "malformed-escape",
        3,
        "'%ZZ'",
    ),
    (
        "double-encoded",
        "search",
        search('<user userkey="j" name="John%2520Doe" />'),
        "double-encoded",
        3,
        "twice",
    ),
    (
        "not-utf8-escape",
        "search",
        search('<user userkey="j" name="Jos%E9" />'),
        "invalid-utf8",
        3,
        "0xE9",
    ),
    (
        "unencoded",
        "search",
        search('<user userkey="j" email="a@b.net" />'),
        "unencoded-value",
        3,
        "'@'",
    ),
    (
        "load-no-user",
        "load",
        DECL + "<userdata>\n  <contacts/>\n</userdata>",
        "element-order",
        3,
        "out of order",
    ),
    (
        "load-empty",
        "load",
        DECL + "<userdata>\n</userdata>",
        "missing-element",
        2,
        "<user> is missing",
    ),
    (
        "load-two-users",
        "load",
        DECL + '<userdata>\n<user userkey="a"/>\n<user userkey="b"/>\n</userdata>',
        "repeated-element",
        4,
        "only once",
    ),
    (
        "load-contact-outside",
        "load",
        DECL + '<userdata>\n<user userkey="a"/>\n<contact firstname="x"/>\n</userdata>',
        "unexpected-element",
        4,
        "<contact>",
    ),
    (
        "load-field-id",
        "load",
        DECL + '<userdata>\n<user userkey="a"/>\n<fielddata>\n<field id="x" value="1"/>\n'
        "</fielddata>\n</userdata>",
        "invalid-value",
        5,
        "'id'",
    ),
    (
        "load-field-no-id",
        "load",
        DECL + '<userdata>\n<user userkey="a"/>\n<fielddata>\n<field value="1"/>\n'
        "</fielddata>\n</userdata>",
        "missing-attribute",
        5,
        "'id'",
    ),
    (
        "load-contact-attr",
        "load",
        DECL + '<userdata>\n<user userkey="a"/>\n<contacts>\n<contact fname="x"/>\n'
        "</contacts>\n</userdata>",
        "unexpected-attribute",
        5,
        "'fname'",
    ),
    ("load-mismatch", "load", LOAD_OK, "userkey-mismatch", 3, "'jdoe' was asked for"),
    ("case-date", "case", CASE_OK.replace("1/27/06", "01/27/2006"), "invalid-value", 3, "'date'"),
    ("case-24h", "case", CASE_OK.replace("1:27:51 PM", "13:27:51"), "invalid-value", 3, "'date'"),
    ("case-no-cid", "case", CASE_OK.replace('cid="6344" ', ""), "missing-attribute", 3, "'cid'"),
    ("case-empty", "case", DECL + "<tickets/>", "missing-element", 2, "<ticket>"),
    (
        "deep",
        "search",
        DECL + "<users>" + "<a>" * 40 + "</a>" * 40 + "</users>",
        "too-deep",
        2,
        "32 deep",
    ),
    (
        "very-deep",
        "search",
        DECL + "<users>" + "<a>" * 300 + "</a>" * 300 + "</users>",
        "too-deep",
        2,
        "256 deep",
    ),
]


@pytest.mark.parametrize(
    "kind, body, code, line, fragment",
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_reply(kind, body, code, line, fragment):
    if body is None:  # Latin-1 bytes where UTF-8 is declared
        data = (DECL + '<users>\n  <user userkey="j" name="Jos').encode() + b'\xe9" />\n</users>\n'
    else:
        data = body.encode("utf-8")
    findings = validate(kind, data, expected_userkey="jdoe")
    matching = [f for f in findings if f.code == code]
    assert matching, f"expected {code}, got {[(f.code, f.line, f.message) for f in findings]}"
    assert matching[0].line == line
    assert fragment in matching[0].message
    assert matching[0].severity == CODES[code][0]


def test_the_table_has_at_least_40_cases_and_unique_ids():
    assert len(BROKEN) >= 40
    assert len({case[0] for case in BROKEN}) == len(BROKEN)


def test_every_xsd_violation_is_reported_not_only_the_first():
    data = search('<user name="a" />', '<user userkey="b" age="1" />', USER, "<foo />").encode()
    findings = validate("search", data)
    assert [(f.code, f.line) for f in findings] == [
        ("missing-attribute", 3),
        ("unexpected-attribute", 4),
        ("unexpected-element", 6),
    ]
    assert findings[0].path == "/users/user[1]/@userkey"
    assert findings[1].path == "/users/user[2]/@age" and findings[1].column == 21


def test_columns_point_at_the_attribute_even_in_a_tag_over_several_lines():
    data = (
        DECL + '<users>\n  <user\n    status="Active"\n    userkey="jdoe" Name="x"\n  />\n</users>'
    ).encode()
    [finding] = validate("search", data)
    assert (finding.code, finding.line, finding.column) == ("unexpected-attribute", 5, 20)


def test_byte_order_mark_alone_is_a_warning():
    findings = validate("search", b"\xef\xbb\xbf" + search(USER).encode())
    assert [(f.code, f.severity, f.line) for f in findings] == [("byte-order-mark", "warning", 1)]


def test_lines_after_a_byte_order_mark_still_count_from_the_body():
    findings = validate("search", b"\xef\xbb\xbf" + search('<user name="x" />').encode())
    assert [(f.code, f.line, f.column) for f in findings] == [
        ("byte-order-mark", 1, 1),
        ("missing-attribute", 3, 3),
    ]


def test_unencoded_values_are_reported_once_an_attribute_with_a_count():
    data = search(*[f'<user userkey="j{i}" name="John Doe" />' for i in range(5)]).encode()
    [finding] = validate("search", data)
    assert finding.code == "unencoded-value" and "4 more <user>" in finding.message


def test_expected_userkey_differing_in_case_is_named():
    [finding] = validate("load", LOAD_OK.encode(), expected_userkey="JohnD")
    assert finding.code == "userkey-mismatch" and "letter case" in finding.message


def test_finding_cap_and_note():
    data = search(*[f'<user name="n{i}" />' for i in range(30)]).encode()
    findings = validate("search", data, max_findings=10)
    assert len(findings) == 11 and findings[-1].code == "too-many-findings"


def test_too_large_is_refused_before_parsing():
    [finding] = validate("search", search(USER).encode(), max_bytes=50)
    assert finding.code == "too-large" and "cap of 50" in finding.message


def test_unknown_kind_is_a_callers_error():
    with pytest.raises(ValueError, match="unknown kind 'users'"):
        validate("users", b"<users/>")


def test_a_str_body_is_accepted_as_utf8():
    assert validate("search", search(USER)) == []


# --- safety -----------------------------------------------------------------------------------


def test_billion_laughs_is_refused_without_expansion():
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = (
        DECL + f'<!DOCTYPE users [<!ENTITY l0 "lol">{lol}]>\n<users><user userkey="&l9;"/></users>'
    ).encode()
    started = time.perf_counter()
    findings = validate("search", data)
    assert codes(findings) == ["doctype-refused"] and time.perf_counter() - started < 1


def test_external_entity_is_never_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        DECL + f'<!DOCTYPE users [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        '<users><user userkey="&x;"/></users>'
    ).encode()
    findings = validate("search", data)
    assert codes(findings) == ["doctype-refused"]
    assert all("TOP-SECRET" not in f.message for f in findings)


def test_utf16_document_is_read():
    data = ("\ufeff" + search(USER).replace("UTF-8", "UTF-16")).encode("utf-16-le")
    findings = validate("search", data)
    assert [(f.code, f.severity) for f in findings] == [("byte-order-mark", "warning")]


def test_internal_errors_become_a_finding(monkeypatch):
    from mockspice.wire import values

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(values, "lint", broken)
    [finding] = validate("search", search('<user userkey="j" name="a b" />').encode())
    assert finding.code == "internal-error" and "RuntimeError: boom" in finding.message


# --- fuzzing: findings, never an exception, each under one second -----------------------------

VALID = [
    ("search", search(USER, USER.replace("jdoe", "jdoe2")).encode()),
    ("load", LOAD_OK.encode()),
    ("case", CASE_OK.encode()),
]
PIECES = [
    b"<",
    b">",
    b"/>",
    b'"',
    b"'",
    b"=",
    b"&",
    b"&amp;",
    b"%",
    b"%2",
    b"+",
    b"\xef\xbb\xbf",
    b"\xe9",
    b"<!DOCTYPE x>",
    b"<user>",
    b"</users>",
    b"\x00",
    b"\n",
    b"<?xml version='1.0'?>",
    b"]]>",
    "”".encode(),
    b"<!--",
    b"userkey",
    b"<![CDATA[x]]>",
    b"&#0;",
    b"&#x1F600;",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """Return a copy of ``data`` with a few random cuts, insertions, deletions and byte flips."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out) + 1)
        action = rng.randrange(4)
        if action == 0:
            out[at:at] = rng.choice(PIECES)
        elif action == 1:
            del out[at : at + rng.randint(1, 8)]
        elif action == 2 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        else:
            out = out[:at]
    return bytes(out)


def _assert_quick(kind: str, data: bytes) -> None:
    """Validate and check the contract: a list of known findings, no exception, under a second."""
    started = time.perf_counter()
    findings = validate(kind, data)
    assert time.perf_counter() - started < 1.0, data[:200]
    assert all(f.code in CODES and f.code != "internal-error" for f in findings), (
        data[:200],
        findings,
    )


def test_5000_random_byte_strings():
    rng = random.Random(20060127)
    kinds = ["search", "load", "update", "case"]
    for _ in range(5000):
        _assert_quick(rng.choice(kinds), rng.randbytes(rng.randrange(0, 300)))


def test_5000_mutated_valid_documents():
    rng = random.Random(1272006)
    for _ in range(5000):
        kind, data = rng.choice(VALID)
        _assert_quick(kind, _mutate(rng, data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500), st.sampled_from(["search", "load", "update", "case"]))
def test_any_bytes_give_findings_never_an_exception(data, kind):
    _assert_quick(kind, data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_attribute_value_gives_findings_never_an_exception(value):
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    _assert_quick(
        "search", search(f'<user userkey="k" name="{escaped}" />').encode("utf-8", "replace")
    )


def test_findings_of_valid_fast_path_and_slow_path_agree():
    # '%2E' in a userkey keeps the fast path; a raw '.' forces the slow one: same verdicts.
    fast = search('<user userkey="a%2Eb" />', '<user userkey="a%2Eb" />').encode()
    slow = search('<user userkey="a.b" />', '<user userkey="a.b" />').encode()
    assert codes(validate("search", fast)) == ["duplicate-userkey"]
    assert codes(validate("search", slow)) == ["unencoded-value", "duplicate-userkey"]


def test_schema_findings_on_a_large_document_are_complete_and_located():
    users = [f'<user userkey="k{i}" name="n" />' for i in range(2000)]
    users[1500] = '<user name="n" />'
    findings = validate("search", search(*users).encode())
    assert [(f.code, f.line, f.path) for f in findings] == [
        ("missing-attribute", 1503, "/users/user[1501]/@userkey")
    ]


def test_no_finding_message_hides_a_position_in_its_text():
    findings = validate("search", search('<user userkey="jdoe">').encode())
    assert not re.search(r"line \d+, column \d+$", findings[0].message)
