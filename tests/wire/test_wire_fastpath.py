"""Tests of mockspice/wire/fastpath.py: the fast path clears only what the tree path finds clean.

``validate`` first lets libxml2 validate the document as it parses, building no tree, and byte
scans prove that neither the percent-encoding lint nor the userkey checks can find anything;
only when that fails is the tree built, validated and every value read from it. These tests run
each document both ways (the tree path alone through ``validate._findings(fast=False)``) and
require identical findings, and that whatever the fast path clears has no finding on the tree
path; and they check that documents of every shape the integration page shows are cleared.
"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mockspice.wire import explain, fastpath, values, wellformed
from mockspice.wire import validate as validate_module
from mockspice.wire.findings import Collector
from mockspice.wire.schemas import KINDS
from mockspice.wire.validate import validate

DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def search(*users: str, decl: str = DECL) -> bytes:
    """Return a search reply with one user element a line."""
    return (decl + "<users>\n" + "".join(f"  {u}\n" for u in users) + "</users>\n").encode()


def user(key: str = "jdoe", name: str = "John%20Doe", email: str = "johnd%40xyz%2Enet") -> str:
    """Return one ``<user>`` of a search reply."""
    return (
        f'<user status="Active" userkey="{key}" name="{name}" email="{email}" phone="%28555%29" />'
    )


LOAD = (
    DECL + '<userdata>\n  <user userkey="{key}" password="" status="Active" account="" />\n'
    '  <contacts>\n    <contact firstname="{first}" lastname="Doe" />\n  </contacts>\n'
    '  <fielddata>\n    <field id="1" value="{value}" />\n  </fielddata>\n</userdata>\n'
)
CASE = (
    DECL + '<tickets>\n  <ticket cid="6344" id="7906" tier="1" date="1/27/06 1:27:51 PM" '
    'status="In Progress" sid="2" />\n</tickets>\n'
).encode()


def load(key: str = "johnd", first: str = "John", value: str = "Anything") -> bytes:
    """Return a load reply (also a valid userXML)."""
    return LOAD.format(key=key, first=first, value=value).encode()


# (id, kind, document, whether the fast path may prove it clean)
DOCUMENTS = [
    ("clean", "search", search(user("jdoe0"), user("jdoe1"), user("jdoe2")), True),
    ("no-users", "search", search(), True),
    ("no-declaration", "search", search(user(), decl=""), True),
    (
        "declaration-without-encoding",
        "search",
        search(user(), decl='<?xml version="1.0" ?>\n'),
        True,
    ),
    ("one-line", "search", (DECL + "<users>" + user("a") + user("b") + "</users>").encode(), True),
    ("tabs-and-crlf", "search", search(user().replace(" name=", "\t\r\n name=")), True),
    (
        "open-close-tags",
        "search",
        search('<user userkey="a"></user>', '<user userkey="b" name="B"></user>'),
        True,
    ),
    ("only-userkey", "search", search('<user userkey="x"/>'), True),
    ("plus-in-value", "search", search(user(name="John+Doe")), False),
    ("double-encoded", "search", search(user(name="John%2520Doe")), False),
    ("percent-25-alone", "search", search(user(name="100%25")), True),
    ("percent-25-then-escape", "search", search(user(name="100%25%41%42")), False),
    ("lower-case-escape", "search", search(user(email="johnd%40xyz%2enet")), True),
    ("malformed-escape", "search", search(user(name="John%2")), False),
    ("bad-escape-letter", "search", search(user(name="John%G0Doe")), False),
    ("non-ascii-escape", "search", search(user(name="Jos%C3%A9")), True),
    (
        "international",
        "search",
        search(user(name="Zo%C3%AB%20M%C3%BCller", email="%E2%82%AC")),
        True,
    ),
    ("four-byte-escape", "search", search(user(name="%F0%9F%98%80")), True),
    ("lower-case-non-ascii", "search", search(user(name="Jos%c3%a9")), True),
    ("encoded-equals-sign", "search", search(user(name="a%3Db")), True),
    ("invalid-utf8-escape", "search", search(user(name="Jos%E9")), False),
    ("truncated-sequence", "search", search(user(name="Zo%C3", email="%AB")), False),
    ("surrogate-escape", "search", search(user(name="%ED%A0%80")), False),
    ("overlong-escape", "search", search(user(name="%C0%AE")), False),
    ("stray-continuation", "search", search(user(name="a%80")), False),
    ("percent-at-value-end", "search", search(user(name="John%")), False),
    ("percent-percent", "search", search(user(name="%%41")), False),
    ("unencoded-space", "search", search(user(name="John Doe")), False),
    ("unencoded-slash-and-gt", "search", search(user(name="a/b>c")), False),
    ("unencoded-non-ascii", "search", search(user(name="José")), False),
    ("entity-in-value", "search", search(user(name="John&amp;Jane")), False),
    ("char-reference", "search", search(user(name="John&#32;Doe")), False),
    ("single-quotes", "search", search("<user userkey='jdoe' name='John%20Doe' />"), False),
    ("space-around-equals", "search", search('<user userkey = "jdoe" name= "x" />'), False),
    ("comment", "search", search(user("a"), '<!-- userkey="a" -->', user("b")), False),
    ("comment-hiding-duplicate", "search", search(user("a"), "<!-- x -->", user("a")), False),
    ("processing-instruction", "search", search(user("a"), "<?php echo 1 ?>", user("b")), False),
    (
        "comment-before-suspect",
        "search",
        search(user("a"), "<!-- <user -->", user("b", name="x y")),
        False,
    ),
    (
        "pi-before-suspect",
        "search",
        search(user("a"), "<?pi <user?>", user("b", name="x+y"), user("c", name="z y")),
        False,
    ),
    (
        "namespace-declaration",
        "search",
        search('<user xmlns:userkey="urnx" userkey="a" />', '<user userkey="b" />'),
        False,
    ),
    ("duplicate-userkeys", "search", search(user("jdoe"), user("jdoe"), user("jane")), True),
    ("duplicate-after-decoding", "search", search(user("aA"), user("a%41")), True),
    ("blank-after-decoding", "search", search(user("%20"), user("jdoe")), True),
    ("encoded-distinct-userkeys", "search", search(user("j%2Edoe"), user("jdoe")), True),
    ("escaped-userkeys", "search", search(user("jdoe%2D1"), user("jdoe%2D2"), user("jdoe")), True),
    ("lower-case-duplicate", "search", search(user("Jos%C3%A9"), user("Jos%c3%a9")), True),
    ("letter-escape-duplicate", "search", search(user("a%2Db"), user("%61%2Db")), True),
    ("non-ascii-blank-userkey", "search", search(user("%C2%A0"), user("jdoe")), True),
    ("escapes-only-userkey", "search", search(user("%2D%2D"), user("jdoe")), True),
    ("duplicate-and-plus", "search", search(user("jdoe", name="a+b"), user("jdoe")), False),
    ("load-clean", "load", load(), True),
    ("load-plus", "load", load(first="Jo+hn"), False),
    ("load-double-encoded", "load", load(value="50%2525"), False),
    ("load-encoded-userkey", "load", load(key="john%2Ed"), True),
    ("load-international", "load", load(first="Zo%C3%AB", value="K%C3%B6ln"), True),
    ("load-other-userkey", "load", load(key="jane"), True),
    ("load-blank-userkey", "load", load(key="%E3%80%80"), True),
    ("update-clean", "update", load(), True),
    ("update-unencoded", "update", load(value="Any thing"), False),
    ("case", "case", CASE, True),
]


def _expected(kind: str) -> str | None:
    """Return the userkey a load or update is asked for in these tests."""
    return "johnd" if kind in ("load", "update") else None


def tree_path(kind: str, data: bytes, expected_userkey: str | None = None) -> list:
    """Validate without the fast path: the tree is built and validated, every value read."""
    return validate_module._findings(
        kind,
        data,
        expected_userkey,
        validate_module.DEFAULT_MAX_BYTES,
        validate_module.DEFAULT_MAX_DEPTH,
        validate_module.DEFAULT_MAX_FINDINGS,
        validate_module.DEFAULT_MAX_SECONDS,
        fast=False,
    )


def both_paths(kind: str, data: bytes, expected_userkey: str | None = None) -> bool:
    """Check the contract on one document; return whether the fast path cleared it."""
    slow = tree_path(kind, data, expected_userkey)
    assert validate(kind, data, expected_userkey=expected_userkey) == slow, data
    cleared = fastpath.clears(kind, KINDS[kind][0], data, expected_userkey)
    if cleared:
        assert slow == [], data
    return cleared


@pytest.mark.parametrize(
    "kind, data, provable", [pytest.param(k, d, p, id=i) for i, k, d, p in DOCUMENTS]
)
def test_the_fast_path_clears_exactly_the_clean_documents(kind, data, provable):
    """Identical findings both ways; cleared exactly when provable and without any finding."""
    slow = tree_path(kind, data, _expected(kind))
    assert both_paths(kind, data, _expected(kind)) is (provable and slow == [])
    assert not [f for f in slow if f.code in ("schema", "internal-error", "not-well-formed")]
    if provable:
        lint_codes = {"plus-in-value", "malformed-escape", "double-encoded", "invalid-utf8"}
        assert not [f for f in slow if f.code in lint_codes | {"unencoded-value"}]


def test_a_clean_valid_reply_never_reads_the_tree(monkeypatch):
    """On the fast path neither the lint nor the userkey walk runs, and xmlschema is not used."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the slow path ran")

    monkeypatch.setattr(wellformed, "parse_tree", forbidden)
    monkeypatch.setattr(values, "lint", forbidden)
    monkeypatch.setattr(values, "check_search_userkeys", forbidden)
    monkeypatch.setattr(values, "check_account_userkey", forbidden)
    monkeypatch.setattr(explain, "xmlschema_schema", forbidden)
    data = search(*(user(f"jdoe{i}") for i in range(200)))
    assert validate("search", data) == []
    assert validate("load", load(key="john%2Ed"), expected_userkey="john.d") == []
    assert validate("update", load()) == []
    assert validate("case", CASE) == []


@pytest.mark.parametrize(
    "kind, data, code",
    [
        ("load", load(key="jane"), "userkey-mismatch"),
        ("load", load(key="%20"), "empty-userkey"),
        ("search", search(user("a"), user("a")), "duplicate-userkey"),
    ],
)
def test_what_the_bytes_cannot_clear_is_found_in_the_tree(kind, data, code):
    """A valid, clean document with a userkey finding takes the tree, which locates it."""
    [finding] = validate(kind, data, expected_userkey="johnd" if kind == "load" else None)
    assert (finding.code, finding.line) == (code, 4 if kind == "search" else 3)
    assert finding.path.endswith("/@userkey")


VALUES = [
    "John",
    "John%20Doe",
    "a%2Eb",
    "%20",
    "x+y",
    "a b",
    "Jos%C3%A9",
    "Jos%E9",
    "50%2525",
    "%2",
    "%G0",
    "100%25",
    "j%2edoe",
    "",
    "a%41",
    "aA",
    "Ren&amp;e",
    "&#32;",
    "ü",
]


def _random_document(rng: random.Random) -> tuple[str, bytes]:
    """Return a kind and a well-formed document whose values come from VALUES, often valid."""
    kind = rng.choice(["search", "load", "update"])
    if kind == "search":
        keys = [rng.choice(VALUES[:6] + ["k1", "k2", "k3"]) for _ in range(rng.randint(0, 6))]
        return kind, search(
            *(user(k, name=rng.choice(VALUES), email=rng.choice(VALUES)) for k in keys)
        )
    return kind, load(
        key=rng.choice(["johnd", "john%64", "jane", "%20", ""]),
        first=rng.choice(VALUES),
        value=rng.choice(VALUES),
    )


def test_random_documents_give_the_same_findings_on_both_paths(monkeypatch):
    rng = random.Random(20261127)
    fast_taken = 0
    for _ in range(400):
        kind, data = _random_document(rng)
        expected = "johnd" if kind != "search" else None
        fast_taken += both_paths(kind, data, expected)
    assert fast_taken > 20  # the generator does reach the fast path


def _mutated_kind_and_documents():
    """Yield (xsd, well-formed body) from random cuts and insertions into valid documents."""
    rng = random.Random(127)
    pieces = [
        b'userkey="x" ',
        b"<user/>",
        b"<contacts/>",
        b"<field id='x'/>",
        b"<x/>",
        b"text",
        b'id="7" ',
        b" ",
        b"<ticket/>",
        b'cid="0" ',
    ]
    originals = [
        ("users.xsd", search(user("a"), user("b"))),
        ("userdata.xsd", load()),
        ("tickets.xsd", CASE),
    ]
    for _ in range(1500):
        xsd, data = rng.choice(originals)
        out = bytearray(data)
        for _ in range(rng.randint(1, 2)):
            at = rng.randrange(len(out))
            if rng.random() < 0.7:
                out[at:at] = rng.choice(pieces)
            else:
                del out[at : at + rng.randint(1, 6)]
        try:
            tree = etree.fromstring(bytes(out))
        except etree.XMLSyntaxError:
            continue
        yield xsd, bytes(out), tree


def test_validation_as_parsed_agrees_with_validation_of_the_tree():
    """libxml2 validating while it parses says valid exactly when the tree validates."""
    from mockspice.wire.schemas import lxml_schema

    verdicts = []
    for xsd, data, _ in _mutated_kind_and_documents():
        found = Collector(10, 10)
        tree = wellformed.parse_tree(data, found)  # the validator's own parser
        assert tree is not None, found.items
        as_parsed = fastpath.valid_as_parsed(xsd, data)
        assert as_parsed == lxml_schema(xsd).validate(tree), data
        verdicts.append(as_parsed)
    assert verdicts.count(True) > 50 and verdicts.count(False) > 50


def test_validation_as_parsed_is_safe_in_threads():
    """Each thread has its own parser: valid and invalid documents give their own verdicts."""
    from concurrent.futures import ThreadPoolExecutor

    good = search(*(user(f"k{i}") for i in range(300)))
    bad = search(*(user(f"k{i}") for i in range(300)), "<user/>")
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda i: (i % 2, validate("search", bad if i % 2 else good)), range(200))
        )
    assert all(bool(findings) == bool(odd) for odd, findings in results)
    assert {f.code for odd, findings in results if odd for f in findings} == {"missing-attribute"}


def test_duplicates_found_by_the_fast_scan_are_diagnosed_by_the_tree():
    findings = validate("search", search(user("jdoe"), user("jane"), user("jdoe")))
    assert [(f.code, f.line) for f in findings] == [("duplicate-userkey", 5)]
    findings = validate("search", search(user("aA"), user("a%41")))
    assert [(f.code, f.line) for f in findings] == [("duplicate-userkey", 4)]
    findings = validate("search", search(user("%20%09")))
    assert [f.code for f in findings] == ["empty-userkey"]


def test_a_large_clean_reply_has_no_findings_and_one_duplicate_is_found():
    users = [user(f"jdoe{i}", name=f"John%20Doe{i}") for i in range(5000)]
    assert validate("search", search(*users)) == []
    users[4000] = user("jdoe17")
    findings = validate("search", search(*users))
    assert [(f.code, f.line) for f in findings] == [("duplicate-userkey", 4003)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_doctype_in_a_wide_encoding_is_refused_before_parsing(encoding, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    text = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
        f'<!DOCTYPE users [<!ENTITY % remote SYSTEM "file://{secret}"> %remote;]><users/>'
    )
    findings = validate("search", text.encode(encoding))
    # Encodings written with a byte-order mark also get the (warning) byte-order-mark finding.
    assert [f.code for f in findings if f.code != "byte-order-mark"] == ["doctype-refused"]
    from mockspice.wire import parse

    with pytest.raises(parse.UnreadableDocument, match="DOCTYPE"):
        parse.parse_search(text.encode(encoding))


HIDDEN_DOCTYPE = [
    (
        "case",
        b'<!-- <x --><!DOCTYPE tickets [<!ENTITY e "1">]><tickets><ticket cid="1" '
        b'id="2"/></tickets>',
    ),
    (
        "case",
        b'<?xml version="1.0"?><?pi <x?><!DOCTYPE tickets><tickets><ticket cid="1" '
        b'id="2"/></tickets>',
    ),
    (
        "case",
        b'<?xml version="1.0"?>\n<!-- a -->\n<!DOCTYPE tickets [<!ATTLIST ticket status CDATA '
        b'"x">]>'
        b'<tickets><ticket cid="1" id="2"/></tickets>',
    ),
    (
        "search",
        b'<!-- <users> --><!DOCTYPE users [<!ENTITY k "a">]><users><user userkey="&k;"/></users>',
    ),
    ("load", b'<?php <a ?><!DOCTYPE userdata><userdata><user userkey="johnd"/></userdata>'),
]


@pytest.mark.parametrize("kind, data", HIDDEN_DOCTYPE)
def test_a_doctype_behind_a_comment_or_pi_is_refused_before_parsing(kind, data, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the document was parsed")

    monkeypatch.setattr(fastpath, "valid_as_parsed", forbidden)
    monkeypatch.setattr(wellformed, "parse_tree", forbidden)
    assert [f.code for f in validate(kind, data)] == ["doctype-refused"]


@pytest.mark.parametrize("kind, data", HIDDEN_DOCTYPE)
def test_a_doctype_the_prelude_missed_never_passes_the_fast_path(kind, data, monkeypatch):
    """Were a DOCTYPE to get past the byte checks, the streaming parser's target notes it."""
    monkeypatch.setattr(wellformed, "prelude", lambda *args: False)
    assert [f.code for f in validate(kind, data)] == ["doctype-refused"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_doctype_behind_a_comment_is_found_in_a_wide_encoding(encoding):
    from mockspice.wire import safexml

    text = '<?xml version="1.0"?><!-- <x --><!DOCTYPE users><users/>'
    assert safexml.declares_doctype(text.encode(encoding))
    assert not safexml.declares_doctype("<!-- <!DOCTYPE x> --><users/>".encode(encoding))


@pytest.mark.parametrize(
    "kind, data, expected",
    [
        (
            "search",
            b'<?xml-stylesheet userkey="?><users><user userkey="a"/><user userkey="a"/></users>',
            None,
        ),
        ("load", b'<?xml-stylesheet userkey="?><userdata><user userkey="%20"/></userdata>', None),
        ("update", b'<?xml-stylesheet userkey="?><userdata><user userkey="%20"/></userdata>', None),
        (
            "load",
            (
                '<?xml-stylesheet userkey="\u00e9?><userdata><user userkey="johnd"/></userdata>'
            ).encode(),
            "johnd",
        ),
    ],
)
def test_a_processing_instruction_hides_no_userkey_from_the_scans(
    kind, data, expected, monkeypatch
):
    """Only the XML declaration is skipped by the byte scans, not <?xml-stylesheet ...?>."""
    fast = validate(kind, data, expected_userkey=expected)
    assert fast == tree_path(kind, data, expected)
    assert "internal-error" not in [f.code for f in fast]
    assert [f.code for f in fast] == (
        [] if expected else ["duplicate-userkey" if kind == "search" else "empty-userkey"]
    )


# Pieces of values: letters, escapes the page writes (ASCII, 2-, 3- and 4-byte UTF-8), escapes
# it does not write (lower case, of a letter, %25), broken ones, and raw characters.
PIECES = [
    "a",
    "Z",
    "0",
    "%20",
    "%2D",
    "%C3%A9",
    "%E2%82%AC",
    "%F0%9F%98%80",
    "%c3%b6",
    "%41",
    "%25",
    "%2541",
    "%C3",
    "%A9",
    "%ED%A0%80",
    "%E0%80%AF",
    "%C2%A0",
    "%",
    "%G1",
    "+",
    " ",
    "\t",
    "é",
    "&amp;",
    "&#37;",
    "-",
]
value_text = st.lists(st.sampled_from(PIECES), max_size=4).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    keys=st.lists(value_text, max_size=5),
    names=st.lists(value_text, min_size=5, max_size=5),
    status=value_text,
)
def test_generated_search_replies_give_the_same_findings_on_both_paths(keys, names, status):
    users = [
        f'<user status="{status}" userkey="{key}" name="{name}" />'
        for key, name in zip(keys, names, strict=False)
    ]
    both_paths("search", search(*users))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["load", "update"]), key=value_text, first=value_text, value=value_text)
def test_generated_load_replies_give_the_same_findings_on_both_paths(kind, key, first, value):
    data = load(key=key, first=first, value=value)
    both_paths(kind, data, "johnd")
    both_paths(kind, data)


def page_shaped(kind: str, count: int) -> bytes:
    """Return a document shaped as the integration page's examples, with ``count`` records."""
    if kind == "search":
        return search(
            *(
                user(f"jdoe%2D{i}", name="Zo%C3%AB%20M%C3%BCller", email=f"z{i}%40k%C3%B6ln%2Ede")
                for i in range(count)
            )
        )
    if kind == "case":
        ticket = (
            '<ticket cid="6344" id="{}" tier="1" date="1/27/06 1:27:51 PM" status="In Progress" '
            'sid="2" issue="Browsing" agent="Doe, John" journal="13:28:41 - a second ticket" />\n'
        )
        tickets = "".join(ticket.format(7906 + i) for i in range(count))
        return (DECL + "<tickets>\n" + tickets + "</tickets>\n").encode()
    contact = (
        '<contact firstname="J%C3%BCrgen" lastname="M%C3%BCller" aone="123%20Fake%20St%2E" '
        'atwo="" city="K%C3%B6ln" pc="50667" pphone="%28555%29%20555%2D5555" />'
    )
    return (
        DECL + '<userdata>\n  <user userkey="johnd" password="" status="Active" account="" />\n'
        "  <contacts>\n"
        + contact * count
        + "\n  </contacts>\n  <fielddata>\n"
        + "".join(f'<field id="{i}" value="K%C3%B6ln%20{i}"/>' for i in range(count))
        + "\n  </fielddata>\n</userdata>\n"
    ).encode()


@pytest.mark.parametrize("kind", ["search", "load", "update", "case"])
def test_documents_of_every_shape_are_cleared_without_a_tree(kind, monkeypatch):
    """International names, escaped userkeys, many contacts: all cleared by the fast path."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the tree path ran")

    data = page_shaped(kind, 300)
    assert tree_path(kind, data, _expected(kind)) == []
    monkeypatch.setattr(wellformed, "parse_tree", forbidden)
    assert validate(kind, data, expected_userkey=_expected(kind)) == []


def test_a_reply_with_a_warning_takes_the_tree_and_gets_it_located():
    users = [user(f"jdoe%2D{i}", name="Zo%C3%AB") for i in range(50)]
    users[30] = users[30].replace('status="Active"', 'status="On+Hold"')
    data = search(*users)
    assert not fastpath.clears("search", "users.xsd", data, None)
    [finding] = validate("search", data)
    assert (finding.code, finding.line, finding.path) == (
        "plus-in-value",
        33,
        "/users/user[31]/@status",
    )
    assert finding == tree_path("search", data)[0]


@pytest.mark.parametrize("count, every", [(300, 7), (9000, 2)])
def test_many_suspect_values_give_the_same_findings_on_both_paths(count, every):
    """Dozens of values to read (a list of the elements), or thousands (every value is read)."""
    users = [user(f"k{i}", name="Zo%C3%AB") for i in range(count)]
    for i in range(0, count, every):
        users[i] = users[i].replace('status="Active"', 'status="On Hold"')
    for i in range(5, count, 11):
        users[i] = users[i].replace('name="Zo%C3%AB"', 'name="Zo+%C3%AB"')
    data = search(*users)
    findings = validate("search", data)
    assert findings == tree_path("search", data)
    [unencoded] = [f for f in findings if f.code == "unencoded-value"]
    more = len(range(0, count, every)) - 1
    assert unencoded.path == "/users/user[1]/@status"
    assert unencoded.message.endswith(f"(and in {more:,} more <user> elements)")
    pluses = [f for f in findings if f.code == "plus-in-value"]
    assert [f.path for f in pluses[:2]] == ["/users/user[6]/@name", "/users/user[17]/@name"]
    assert len(pluses) == len(range(5, count, 11))


def test_a_suspect_value_in_a_load_reply_is_found_in_its_element():
    contacts = "".join(f'<contact firstname="C{i}" city="K%C3%B6ln"/>' for i in range(20))
    data = load().replace(b'<contact firstname="John" lastname="Doe" />', contacts.encode())
    data = data.replace(
        b'<contact firstname="C13" city="K%C3%B6ln"/>', '<contact city="Köln"/>'.encode()
    )
    data = data.replace(b'value="Anything"', b'value="Any+thing"')
    findings = validate("load", data, expected_userkey="johnd")
    assert [(f.code, f.path) for f in findings] == [
        ("unencoded-value", "/userdata/contacts/contact[14]/@city"),
        ("plus-in-value", "/userdata/fielddata/field/@value"),
    ]
    assert findings == tree_path("load", data, "johnd")


SUSPECT_DOCUMENTS = [
    ("one-warning", "search", search(user("a"), user("b", name="x+y"), user("c"))),
    (
        "multi-line-tag",
        "search",
        search(user("a"), user("b", name="x y").replace(" email", "\n email")),
    ),
    ("open-close-tag", "search", search('<user userkey="a" name="x y"></user>', user("b"))),
    (
        "latin-1",
        "search",
        search(
            user("a", name="Jos\xe9"), decl='<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        ).replace(b"\xc3\xa9", b"\xe9"),
    ),
    ("carriage-returns", "search", search(user("a", name="x y"), user("b")).replace(b"\n", b"\r")),
    ("two-in-one-element", "search", search(user("a", name="x y", email="a+b"), user("b"))),
    ("entity", "search", search(user("a", name="x&amp;y"), user("b", name="%41&#32;"))),
    ("load", "load", load(first="Jo hn", value="x+y")),
    (
        "load-one-contact-two-fields",
        "update",
        load(value="x y").replace(b"</fielddata>", b'<field id="2" value="a b"/></fielddata>'),
    ),
]


@pytest.mark.parametrize("kind, data", [pytest.param(k, d, id=i) for i, k, d in SUSPECT_DOCUMENTS])
def test_suspect_values_are_linted_without_the_tree(kind, data, monkeypatch):
    """A valid reply with a few values to lint: their elements alone are parsed, same findings."""
    expected = tree_path(kind, data, _expected(kind))
    assert expected and {f.severity for f in expected} <= {"warning", "info"}
    if b"\r" not in data:
        monkeypatch.setattr(wellformed, "parse_tree", lambda *args: pytest.fail("tree built"))
    assert validate(kind, data, expected_userkey=_expected(kind)) == expected


def test_a_warning_past_line_65535_is_located_as_the_tree_locates_it():
    users = [user(f"k{i}") for i in range(70_000)]
    users[69_000] = user("k69000", name="x+y")
    data = search(*users)
    [finding] = validate("search", data)
    # libxml2 numbers lines up to 65,535 (lxml does not ask it for more): both paths say so.
    assert (finding.line, finding.path) == (65_535, "/users/user[69001]/@name")
    assert [finding] == tree_path("search", data)
