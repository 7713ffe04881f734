"""Reading the API's request body as SpiceCSM's PHP server reads it.

SpiceCSM's clients post ``request=<json>`` as a form; the OpenACD client does not url-encode the
JSON (spicecsm-facts.md), and PHP decodes the form all the same: ``&`` ends a field, ``+`` is a
space, ``%xx`` is a byte. A JSON text holding any of these arrives changed; the mock decodes it
the same way and says what changed, so a client author sees why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")


@dataclass
class Body:
    """The JSON text of the call, how it came, and what PHP's decoding changed in it."""

    text: str | None
    transport: str  # "form" or "json"
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def php_fields(raw: bytes) -> dict[bytes, bytes]:
    """The fields of a form body as PHP's parser gives them: split on '&', '+' and %xx decoded, last
    wins.
    """
    fields: dict[bytes, bytes] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        fields[_decode(name)] = _decode(value)
    return fields


def _decode(value: bytes) -> bytes:
    return unquote_to_bytes(value.replace(b"+", b" "))


def read(raw: bytes, content_type: str) -> Body:
    """The call's JSON text from a form body (``request=``) or from a JSON body."""
    is_form = content_type.startswith("application/x-www-form-urlencoded") or raw.startswith(
        b"request="
    )
    if not is_form:
        return _text(raw, "json", [])
    fields = php_fields(raw)
    if b"request" not in fields:
        if raw.lstrip()[:1] in (b"{", b"["):  # curl -d '{...}' sends JSON as a form
            return Body(
                None,
                "form",
                error="the body is JSON but its Content-Type is a form's "
                f"({content_type.split(';')[0].strip() or 'none'}): send JSON with Content-Type: "
                "application/json, or a form as request=<the JSON of the call>",
            )
        return Body(
            None,
            "form",
            error="the form has no 'request' field (send request=<the JSON of the call>)",
        )
    warnings = _changes(raw)
    return _text(fields[b"request"], "form", warnings)


def _text(data: bytes, transport: str, warnings: list[str]) -> Body:
    try:
        return Body(data.decode("utf-8"), transport, warnings)
    except UnicodeDecodeError as exc:
        return Body(
            None, transport, warnings, error=f"the request is not UTF-8 text (byte {exc.start})"
        )


def _changes(raw: bytes) -> list[str]:
    """What PHP's form decoding changed in the raw ``request=`` value, in words."""
    tail = raw[raw.find(b"request=") + len(b"request=") :]
    if tail.lstrip()[:1] not in (b"{", b"["):
        return []  # url-encoded ("%7B..."), as a form should be: PHP's decoding is what was meant
    field = tail.split(b"&", 1)[0]
    notes = []
    if b"+" in field:
        notes.append(
            "a literal '+' in the request was read as a space (PHP form decoding); url-encode it "
            "as %2B"
        )
    if _ESCAPE.search(field):
        notes.append(
            "'%xx' in the request was decoded as a byte (PHP form decoding); url-encode '%' as %25"
        )
    if b"&" in tail:
        notes.append(
            "an '&' in the request ended the form field (PHP form decoding); url-encode it as %26"
        )
    return notes
