"""The ANI normalization rule (docs/screen-pop.md)."""

import pytest

from mockspice.store.phones import normalize_phone


@pytest.mark.parametrize(
    "raw, digits",
    [
        ("(555) 555-5555", "5555555555"),
        ("+1 555 555 5555", "5555555555"),
        ("555.555.5555", "5555555555"),
        ("1-555-555-5555", "5555555555"),
        ("15555555555", "5555555555"),
        ("011 44 20 7946 0958", "442079460958"),
        ("+44 20 7946 0958", "442079460958"),
        ("5551234", "5551234"),
        ("anonymous", ""),
        ("", ""),
        ("٣٣٣", ""),  # Arabic-Indic digits are not phone digits here
        ("1" * 25, ""),
    ],
)
def test_normalize(raw, digits):
    assert normalize_phone(raw) == digits
