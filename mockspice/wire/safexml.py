"""The one way mockspice parses partners' XML: libxml2 with nothing loaded from outside.

``resolve_entities=False, load_dtd=False, no_network=True`` are not enough on their own: with a
UTF-16 body, libxml2 (2.14) still loads an external *parameter* entity declared in the internal
subset (a file, even /dev/zero, or a URL until no_network stops it). Every parser made here
also carries a resolver that answers every external load with nothing, so no file is opened
and no URL is fetched whatever the document says; the DOCTYPE itself is then refused by the
caller (finding ``doctype-refused``).
"""

from __future__ import annotations

import re

from lxml import etree


class _NothingFromOutside(etree.Resolver):
    """Resolve every external DTD or entity to empty text (nothing is opened or fetched)."""

    def resolve(self, url, public_id, context):  # noqa: D102 - lxml's hook
        return self.resolve_string("", context)


def parser(**options) -> etree.XMLParser:
    """A parser that loads nothing from outside; ``options`` add to the safe ones."""
    made = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        **options,
    )
    made.resolvers.add(_NothingFromOutside())
    return made


_WIDE = (  # byte-order marks and the first bytes of "<" in the encodings libxml2 detects by them
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


# What may stand before a DOCTYPE: white space, processing instructions (the XML declaration
# among them) and comments, whatever they contain ("<!-- <x -->" hides nothing).
_PROLOG = r"(?:\s+|<\?.*?\?>|<!--.*?-->)*"
_PROLOG_TEXT = re.compile(_PROLOG, re.DOTALL)
_PROLOG_BYTES = re.compile(_PROLOG.encode(), re.DOTALL)
_DOCTYPE = r"<!(?:DOCTYPE|doctype|ENTITY)\b"
_DOCTYPE_TEXT = re.compile(_DOCTYPE)
_DOCTYPE_BYTES = re.compile(_DOCTYPE.encode())


def doctype_at(body: bytes | str) -> int | None:
    """Return the offset of a DOCTYPE (or entity declaration) in the prolog, or None."""
    prolog, doctype = (
        (_PROLOG_BYTES, _DOCTYPE_BYTES)
        if isinstance(body, bytes)
        else (_PROLOG_TEXT, _DOCTYPE_TEXT)
    )
    end = prolog.match(body).end()
    return end if doctype.match(body, end) else None


def declares_doctype(body: bytes) -> bool:
    """Whether the document has a DOCTYPE before its root element, in any encoding libxml2 reads."""
    encoding = next((name for prefix, name in _WIDE if body.startswith(prefix)), "latin-1")
    return (
        doctype_at(body[: 1 << 16].decode(encoding, errors="ignore").lstrip("\ufeff")) is not None
    )
