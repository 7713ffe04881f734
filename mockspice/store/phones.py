"""Phone numbers as the screen pop matches them.

SpiceCSM does not say how an ANI is matched to an account (spicecsm-facts.md, "Not known").
The mock's rule, documented in docs/screen-pop.md: keep the digits only; a North American
number written with its country code (11 digits starting with 1) drops the 1; an international
number written with the 011 exit code drops it. "(555) 555-5555", "+1 555 555 5555",
"555.555.5555" and "15555555555" all become "5555555555".
"""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"[^0-9]+")  # ASCII digits only: "٣" is \d too
MAX_DIGITS = 20  # longer than any E.164 number with an exit code: not a phone number


def normalize_phone(value: str) -> str:
    """The digits that identify a phone number; "" when it has none (or far too many)."""
    digits = _NON_DIGITS.sub("", value)
    if len(digits) > MAX_DIGITS:
        return ""
    if len(digits) == 11 and digits.startswith("1"):
        return digits[1:]
    if digits.startswith("011") and len(digits) > 10:
        return digits[3:]
    return digits
