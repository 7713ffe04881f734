"""Tests of mockspice/wire/encoding.py: the page's examples,
decoding like rawurldecode, the lint.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockspice.wire.encoding import decode, encode, lint_value


@pytest.mark.parametrize(
    "text, encoded",
    [
        ("John Doe", "John%20Doe"),
        ("johnd@xyz.net", "johnd%40xyz%2Enet"),
        ("(555) 555-5555", "%28555%29%20555%2D5555"),
        ("123 Fake St.", "123%20Fake%20St%2E"),
        ("Anything", "Anything"),
        ("a_b~c", "a%5Fb%7Ec"),
        ("é", "%C3%A9"),
        ("", ""),
    ],
)
def test_encode_as_the_page_examples(text, encoded):
    assert encode(text) == encoded
    assert decode(encoded) == text


def test_decode_keeps_plus_and_malformed_escapes_like_rawurldecode():
    assert decode("a+b") == "a+b"
    assert decode("100%") == "100%"
    assert decode("%ZZ") == "%ZZ"
    assert decode("%2e") == "."
    assert decode("%E9") == "\ufffd"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_decode_of_encode_is_identity(text):
    encoded = encode(text)
    assert decode(encoded) == text
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%")
    # Text that itself holds "%XX" encodes to "%25XX", which is exactly what a double encoding
    # looks like: that warning, and only it, is expected there.
    expected = {"double-encoded"} if re.search("%[0-9A-Fa-f]{2}", text) else set()
    assert {code for code, _ in lint_value(encoded)} == expected


@pytest.mark.parametrize(
    "value, code, fragment",
    [
        ("John+Doe", "plus-in-value", "as a space"),
        ("John%2", "malformed-escape", "'%2'"),
        ("%ZZ", "malformed-escape", "'%ZZ'"),
        ("100%", "malformed-escape", "%25"),
        ("John%2520Doe", "double-encoded", "'%20'"),
        ("Jos%E9", "invalid-utf8", "0xE9"),
        ("%C3", "invalid-utf8", "not UTF-8"),
        ("John Doe", "unencoded-value", "U+0020"),
        ("a@b.net", "unencoded-value", "'@'"),
        ("José", "unencoded-value", "'é'"),
    ],
)
def test_lint_value(value, code, fragment):
    issues = dict(lint_value(value))
    assert code in issues and fragment in issues[code]


def test_lint_accepts_encoded_values():
    assert lint_value("John%20Doe") == [] and lint_value("%C3%A9") == [] and lint_value("") == []
