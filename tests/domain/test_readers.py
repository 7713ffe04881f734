"""The one rule for the values clients send (mockspice/domain/readers.py, docs/api.md "Values")."""

import math

import pytest

from mockspice.domain import readers
from mockspice.domain.errors import BadParameter

ID = "must be an id (a whole number from 1 to 2147483647)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        ("7", 7),
        (" 7 ", 7),
        ("\t7\n", 7),
        ("1234567890", 1234567890),
        (2147483647, 2147483647),
    ],
)
def test_an_id_is_a_whole_number_or_its_digits(value, expected):
    assert readers.ident(value, "brandid") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, f"'brandid' {ID}, not 0"),
        (2147483648, f"'brandid' {ID}, not 2147483648"),
        ("12345678901", f"'brandid' {ID}, not '12345678901'"),
        (1.5, f"'brandid' {ID}, not 1.5"),
        (7.0, f"'brandid' {ID}, not 7.0"),
        ("7a", f"'brandid' {ID}, not '7a'"),
        ("", f"'brandid' {ID}, not ''"),
        ("٣", f"'brandid' {ID}, not '٣'"),  # a digit, but not an ASCII one
        ("9" * 5000, f"'brandid' {ID}, not '{'9' * 59}"),
        (True, f"'brandid' {ID}, not a boolean"),
        (None, f"'brandid' {ID}, not null"),
        ([7], f"'brandid' {ID}, not an array"),
    ],
)
def test_anything_else_is_not_an_id(value, message):
    with pytest.raises(BadParameter) as caught:
        readers.ident(value, "brandid")
    assert caught.value.code == "bad-parameter"
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(("value", "expected"), [(0, 0), ("-1", -1), (" +3 ", 3), (20, 20)])
def test_a_whole_number_in_a_range(value, expected):
    assert readers.whole(value, "position", -5, 20) == expected


def test_a_whole_number_out_of_its_range_names_the_range():
    with pytest.raises(BadParameter) as caught:
        readers.whole("21", "position", 0, 20)
    assert caught.value.message == "'position' must be a whole number from 0 to 20, not '21'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Doe", "Doe"), ("", ""), (7, "7"), (1.5, "1.5"), (2.0, "2"), (-0.25, "-0.25")],
)
def test_text_is_a_string_or_a_number_as_php_prints_it(value, expected):
    assert readers.text(value, "lastname") == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "a boolean"),
        (None, "null"),
        ([], "an array"),
        ({}, "an object"),
        (math.inf, "a number"),
    ],
)
def test_other_json_values_are_not_text(value, kind):
    with pytest.raises(BadParameter) as caught:
        readers.text(value, "lastname")
    assert caught.value.message == f"'lastname' must be text, not {kind}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
        ("true", True),
        ("FALSE", False),
        (" true ", True),
    ],
)
def test_yes_or_no(value, expected):
    assert readers.flag(value, "active") is expected


@pytest.mark.parametrize("value", [2, "yes", "", None, 1.0, []])
def test_anything_else_is_not_yes_or_no(value):
    with pytest.raises(BadParameter) as caught:
        readers.flag(value, "active")
    assert caught.value.message.startswith(
        "'active' must be yes or no (true/false, 1/0 or their text), not "
    )


def test_a_phrase_names_the_key_as_it_is():
    with pytest.raises(BadParameter) as caught:
        readers.ident("x", "parameter 'company'")
    assert caught.value.message == f"parameter 'company' {ID}, not 'x'"
