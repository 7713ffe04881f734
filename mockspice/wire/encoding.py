"""SpiceCSM's percent-encoding of XML attribute values, its decoding, and the lint of reply values.

The integration page ("Account Search/Load") shows every attribute value with each byte outside
``[A-Za-z0-9]`` of its UTF-8 text written as ``%XX`` in upper-case hex: ``John%20Doe``,
``johnd%40xyz%2Enet``, ``%28555%29%20555%2D5555``. :func:`encode` writes exactly that.

:func:`decode` reads values the way PHP's ``rawurldecode`` does: ``%XX`` becomes the byte, a
``%`` that starts no escape stays as it is, and ``+`` stays ``+`` (``urldecode`` would make it a
space; the page does not say which one SpiceCSM uses, see ``spicecsm-facts.md``). The bytes are
then read as UTF-8, an invalid sequence becoming U+FFFD.

:func:`lint_value` says what may go wrong with a value a partner sent, as ``(code, message)``
pairs; :mod:`mockspice.wire.validate` adds where.
"""

import re
from urllib.parse import unquote_to_bytes

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
# One entry a byte value: the byte itself when it may stay, else its upper-case escape.
_BYTE_TEXT = tuple(chr(b) if b in _SAFE else f"%{b:02X}" for b in range(256))

# A value that needs no look: only letters, digits and well-formed escapes, none of them %25
# (a likely double encoding) and none above %7F (whose bytes must still form UTF-8).
_CLEAN = re.compile(r"(?:[A-Za-z0-9]++|%(?:2[0-46-9A-Fa-f]|[013-7][0-9A-Fa-f]))*+")
_MALFORMED = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DOUBLE = re.compile(r"%25[0-9A-Fa-f]{2}")
_RAW = re.compile(r"[^A-Za-z0-9%+]")

PLUS_IN_VALUE = "plus-in-value"
MALFORMED_ESCAPE = "malformed-escape"
DOUBLE_ENCODED = "double-encoded"
INVALID_UTF8 = "invalid-utf8"
UNENCODED_VALUE = "unencoded-value"


def encode(text: str) -> str:
    """Percent-encode ``text`` as the page's examples do: every byte but A-Z, a-z, 0-9 as %XX."""
    return "".join([_BYTE_TEXT[b] for b in text.encode("utf-8")])


def decode(value: str) -> str:
    """Decode a percent-encoded value like PHP's rawurldecode, then read the bytes as UTF-8."""
    if "%" not in value:
        return value
    return unquote_to_bytes(value).decode("utf-8", "replace")


def _shown(char: str) -> str:
    """Name one character for a message: printable ones quoted, others by code point."""
    return f"'{char}'" if char.isprintable() and char != " " else f"U+{ord(char):04X}"


def lint_value(value: str) -> list[tuple[str, str]]:
    """Return ``(code, message)`` for each encoding problem of one reply attribute value."""
    if _CLEAN.fullmatch(value):
        return []
    issues = []
    if "+" in value:
        # Whether SpiceCSM uses urldecode (+ is a space) or rawurldecode (+ stays) is unknown.
        issues.append(
            (
                PLUS_IN_VALUE,
                f"raw '+' in {value!r}: SpiceCSM may decode it as a space; "
                "send a plus sign as %2B and a space as %20",
            )
        )
    bad = _MALFORMED.search(value)
    if bad:
        issues.append(
            (
                MALFORMED_ESCAPE,
                f"{value[bad.start() : bad.start() + 3]!r} at character {bad.start() + 1} "
                f"of {value!r} is not a %XX escape; a literal '%' must be sent as %25",
            )
        )
    double = _DOUBLE.search(value)
    if double:
        once = double.group()
        issues.append(
            (
                DOUBLE_ENCODED,
                f"{once!r} in {value!r} decodes to {decode(once)!r}: "
                "the value looks percent-encoded twice",
            )
        )
    try:
        unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        issues.append(
            (
                INVALID_UTF8,
                f"{value!r} decodes to bytes that are not UTF-8 "
                f"(byte 0x{exc.object[exc.start]:02X} at {exc.start + 1}); "
                "encode the UTF-8 bytes of the text",
            )
        )
    raw = _RAW.search(value)
    if raw:
        char = raw.group()
        issues.append(
            (
                UNENCODED_VALUE,
                f"{value!r} holds {_shown(char)} unencoded; the documented examples "
                f"percent-encode every character outside A-Za-z0-9 "
                f"({encode(char)})",
            )
        )
    return issues
