"""The readers of the values clients send: ids, whole numbers, text and yes/no, with one set of
messages. The API's methods, the control API (journal queries) and the domain all read through
these, so that a value means the same everywhere (docs/api.md, "Values").

The rule is PHP's, as a SpiceCSM client would expect (its own clients are PHP, and PHP sends a
number as a number or as its digits alike):

- an id is a JSON whole number, or its digits as text with white space around allowed
  (``7``, ``"7"``, ``" 7 "``), from 1 to :data:`~mockspice.store.schema.MAX_ID`;
- a whole number in a range reads the same, with a sign allowed (``"-1"``);
- text is a string, or a number taken as PHP prints it (``7`` is ``"7"``, ``1.5`` is ``"1.5"``);
  ``true``, ``null``, arrays and objects are not text;
- yes/no is ``true``/``false``, ``1``/``0``, or ``"1"``/``"0"``/``"true"``/``"false"``.

Each refusal is a :class:`~mockspice.domain.errors.BadParameter` naming the key (quoted, unless
the caller names it with a phrase such as ``parameter 'limit'``), what it must be, and what was
given (cut at 60 characters).
"""

from __future__ import annotations

import math
import re
from typing import Any

from mockspice.domain.errors import BadParameter, json_type
from mockspice.store.schema import MAX_ID

# Digits as PHP's is_numeric reads a whole number; 18 at most, so that int() stays cheap.
_WHOLE = re.compile(r"\s*([+-]?[0-9]{1,18})\s*", re.ASCII)
_FLAGS = {"1": True, "0": False, "true": True, "false": False}


def _a(what: str) -> str:
    """``what`` with its article: "an account", "a case"."""
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def _named(key: str) -> str:
    """The key as a message names it: quoted, unless it is a phrase already (``parameter 'x'``)."""
    return key if "'" in key else f"'{key}'"


def shown(value: Any) -> str:
    """A value as a message quotes it: text and numbers as written (cut), others by JSON type."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = repr(value)
        return text if len(text) <= 60 else text[:60] + "..."
    return json_type(value)


def _number(value: Any) -> int | None:
    """The whole number a value spells, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _WHOLE.fullmatch(value)
        return int(match[1]) if match else None
    return None


def ident(value: Any, key: str) -> int:
    """An id: a whole number or its digits, 1 to MAX_ID."""
    number = _number(value)
    if number is None or not 1 <= number <= MAX_ID:
        raise BadParameter(
            f"{_named(key)} must be an id (a whole number from 1 to {MAX_ID}), not {shown(value)}"
        )
    return number


def whole(value: Any, key: str, low: int, high: int) -> int:
    """A whole number (or its digits) from ``low`` to ``high``."""
    number = _number(value)
    if number is None or not low <= number <= high:
        raise BadParameter(
            f"{_named(key)} must be a whole number from {low} to {high}, not {shown(value)}"
        )
    return number


def text(value: Any, key: str) -> str:
    """Text, a number taken as PHP prints it."""
    if isinstance(value, str):
        return value  # no lone surrogate: surfaces/api/dispatch.py refuses them first
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    raise BadParameter(f"{_named(key)} must be text, not {json_type(value)}")


def flag(value: Any, key: str) -> bool:
    """Yes or no: true/false, 1/0, or their text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAGS:
        return _FLAGS[value.strip().lower()]
    raise BadParameter(
        f"{_named(key)} must be yes or no (true/false, 1/0 or their text), not {shown(value)}"
    )


def required(record: dict[str, Any], key: str, what: str) -> Any:
    """A key a record must have, not null and not empty."""
    if key not in record or record[key] is None or record[key] == "":
        raise BadParameter(f"{_a(what)} record needs '{key}'")
    return record[key]


def only_keys(record: dict[str, Any], known: tuple[str, ...], what: str) -> None:
    """Refuse a key the record type does not have (a typo would otherwise be ignored)."""
    unknown = [k for k in record if k not in known]
    if unknown:
        raise BadParameter(
            f"unknown key {unknown[0]!r} in {_a(what)} record (known: {', '.join(known)})"
        )
