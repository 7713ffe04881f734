"""The validator's fast path: a verdict on a web-call document without building its tree.

The contract: :func:`clears` is true only where the tree path (steps 3-7 of
:mod:`mockspice.wire.validate`: parse into a tree, root, XSD, percent-encoding lint, userkeys)
would find nothing. It may be false for a document that has no finding (the tree path then
says so, more slowly); it is never true for one that has a finding. ``tests/wire`` holds the
two paths equal on hand-written, random and mutated documents.

How, for any kind and shape of document, in passes that run in C:

1. libxml2 parses with the XSD plugged into its stream, building no tree
   (:func:`valid_as_parsed`): well-formed, no DOCTYPE, valid, nothing logged;
2. the bytes after the XML declaration are plain (:func:`_values_are_plain`): once letters,
   digits and ``%`` are deleted, only white space, ``<``, ``/``, ``>`` and ``=""`` remain. In a
   well-formed, valid document this means every attribute value is ``"``-delimited, holds only
   letters, digits and ``%``, and is the value the tree would hold (no reference, no white space
   to normalise), and there is no comment, processing instruction or CDATA to hide markup;
3. the escapes are sound (:func:`_escapes_are_sound`): ``%`` becomes ``=`` and binascii's
   quoted-printable decoder (C) decodes every ``%XX``; each ``%`` must have taken two bytes
   with it (else one starts no escape), no decoded ``%`` may be followed by two hex digits
   (``%2541``: encoded twice), and the decoded bytes must be UTF-8, read only when some are
   not ASCII. Values are separated by ``"``, so a sequence cut short at the end of one value is
   not completed by the next. Then :func:`encoding.lint_value` has nothing to say of any value;
4. the userkeys (:func:`_search_userkeys_plain`, :func:`_account_userkey_plain`): one regex
   finds every ``userkey="``, which after step 2 can only start a userkey attribute. A search
   reply's are distinct as written; where one holds an escape, none may be a lower-case escape
   or an escape of a letter or digit (then the page's encoding is one-to-one and distinct as
   written is distinct decoded), and those made only of escapes are decoded and must not be
   white space.

Any step that cannot tell says no, and the document takes the tree path. When only some values
hold other bytes (a raw space or ``+``, a non-ASCII byte: often a warning or a note), one regex
finds them, they are emptied and steps 2-4 run on the rest: :class:`Facts` then names those
values, and the validator lints their elements only (:func:`.values.suspect_elements`) with the
userkeys still proven; its findings are the same as when it reads every value.
"""

import binascii
import dataclasses
import re
import threading

from mockspice.wire import encoding

_DECLARATION = re.compile(rb"<\?xml[\s?]")
_ALNUM_PERCENT = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%"
# Bytes that may stand between attributes and elements: XML white space and tag delimiters.
_LAYOUT = b" \t\r\n</>"
_EMPTY_VALUE = b'=""'
# '%' becomes '=' for binascii.a2b_qp; the document's own '=' a byte no plain body holds.
_PERCENT_AS_QP = bytes.maketrans(b"%=", b"=\x00")
_HEX_PAIR = re.compile(rb"%[0-9A-Fa-f]{2}")
# A value holding a byte other than a letter, digit or '%' (up to that byte).
_SUSPECT_VALUE = re.compile(rb'="[A-Za-z0-9%]*+[^A-Za-z0-9%"]')
# More suspect values than this and the lint reads every value anyway.
_MAX_SUSPECTS = 4096
# The byte scans' chunk: about this many bytes, up to the next '<'.
_CHUNK = 1 << 16
# Without a group: findall then returns each whole match, twice as fast as with one.
_USERKEY_ATTRIBUTE = re.compile(rb'userkey="[^"]*')
_EMPTY_USERKEY = b'userkey="'
_USERKEY_PREFIX = len(_EMPTY_USERKEY)
# An escape that the page's encoding never writes: lower-case hex, or a letter's or digit's.
_NOT_CANONICAL = re.compile(rb"%(?:[a-f]|[0-9A-F][a-f]|3[0-9]|[46][1-9A-F]|[57][0-9A])")
# A userkey made only of escapes, in the keys joined by '"': the only kind that can be blank.
_ONLY_ESCAPES = re.compile(rb'userkey="((?:%[0-9A-F]{2})+)(?="|\Z)')
# One streaming parser a thread and XSD (an lxml parser must not parse in two threads at once).
_PARSERS = threading.local()
_NO_PARSERS: dict = {}


@dataclasses.dataclass(frozen=True, slots=True)
class Facts:
    """What the byte scans prove of a body, provided libxml2 finds it well-formed and valid."""

    #: The percent-encoding lint has nothing to say of any value.
    clean: bool
    #: The userkey checks have nothing to say.
    keys_checked: bool
    #: Offsets of the values the lint must read (every other value is clean), in document
    #: order; None when the scans cannot tell (then every value must be read).
    suspects: tuple[int, ...] | None = None


_UNKNOWN = Facts(False, False)


def clears(kind: str, xsd: str, body: bytes, expected_userkey: str | None) -> bool:
    """Say that the tree path would find nothing in a UTF-8 (or ASCII-compatible) body."""
    facts = proof(kind, xsd, body, expected_userkey)
    return facts is not None and facts.clean and facts.keys_checked


def proof(kind: str, xsd: str, body: bytes, expected_userkey: str | None) -> Facts | None:
    """Return :func:`byte_facts` of a body libxml2 found valid as it parsed, or None."""
    if not valid_as_parsed(xsd, body):
        return None
    return byte_facts(kind, body, expected_userkey)


def byte_facts(kind: str, body: bytes, expected_userkey: str | None) -> Facts:
    """Return what byte scans prove of a body, true if the body is well-formed and valid.

    Steps 2 to 4 of the module docstring, a chunk of about 64 KiB at a time (each ends before
    a ``<``, which no value, escape or ``userkey="`` spans): the copies stay small and in the
    cache, and a value to lint is searched for in its chunk only. Where step 2 fails in a chunk,
    the values holding a byte the lint would look at (a raw space, ``+``, a non-ASCII byte...)
    are found by one regex and emptied, and steps 2 to 4 run on the rest: the lint then need
    read those values only, and the userkeys are still checked (an emptied one fails).

    When a tree exists, call it while the tree is alive: everything it allocates is freed when
    it returns. Freeing a block of 64 KiB or more makes glibc give the free top of the heap back
    to the system; had the lists of this function been freed after the tree (or made before
    the parse, on the heap the previous tree left), the tree's memory would be returned and
    faulted in again by the next parse: 17,000 page faults, +40% at 50,000 users.
    """
    if kind == "case":
        return Facts(True, True, ())  # nothing in a caseXML is percent-encoded, nor a userkey
    suspects: list[int] = []
    keys: list[bytes] = []
    at = declaration_end(body)
    while at < len(body):
        end = body.find(b"<", at + _CHUNK)
        end = len(body) if end < 0 else end
        piece = body[at:end]
        if not _values_are_plain(piece):
            found = _suspect_values(piece)
            if not found or len(suspects) + len(found) > _MAX_SUSPECTS:
                return _UNKNOWN
            suspects += [at + value for value in found]
            piece = _emptied(piece, found)
            if not _values_are_plain(piece):
                return _UNKNOWN
        if not _escapes_are_sound(piece):
            return _UNKNOWN
        keys += _USERKEY_ATTRIBUTE.findall(piece)
        at = end
    if kind == "search":
        keys_checked = _search_userkeys_plain(keys)
    else:
        keys_checked = _account_userkey_plain(keys, expected_userkey)
    return Facts(not suspects, keys_checked, tuple(suspects))


def _suspect_values(piece: bytes) -> list[int]:
    """Return the offsets of the ``"``-delimited values that hold a byte other than a letter,
    digit or ``%``. A value missed here (one not after ``="``) leaves the emptied piece not
    plain."""
    found = []
    match = _SUSPECT_VALUE.search(piece)
    while match is not None:
        close = piece.find(b'"', match.end())
        if close < 0:
            return []
        found.append(match.start() + 2)
        match = _SUSPECT_VALUE.search(piece, close + 1)
    return found


def _emptied(piece: bytes, values: list[int]) -> bytes:
    """Return the piece with the values starting at ``values`` made empty."""
    pieces = []
    at = 0
    for value in values:
        pieces.append(piece[at:value])
        at = piece.find(b'"', value)
    pieces.append(piece[at:])
    return b"".join(pieces)


def declaration_end(body: bytes) -> int:
    """Return the offset just past the XML declaration, or 0 when there is none.

    Only the declaration: ``<?xml-stylesheet …?>`` is a processing instruction, which the byte
    scans must see (and which sends a document to the tree path).
    """
    if _DECLARATION.match(body):
        end = body.find(b"?>")
        return end + 2 if end >= 0 else 0
    return 0


def _values_are_plain(piece: bytes) -> bool:
    """Say that every value in a piece of the body is ``"``-delimited letters, digits and ``%``.

    Once letters, digits and ``%`` are deleted, what remains must be white space, ``<``, ``/``,
    ``>`` and ``=""`` (counted before the layout bytes are deleted too); so there is no other
    quote, no text but white space, no comment, CDATA, processing instruction or reference, no
    byte outside ASCII.
    """
    markup = piece.translate(None, _ALNUM_PERCENT)
    return len(markup.translate(None, _LAYOUT)) == len(_EMPTY_VALUE) * markup.count(_EMPTY_VALUE)


def _escapes_are_sound(piece: bytes) -> bool:
    """Say that every ``%`` of a plain piece starts an escape the lint accepts.

    That is: two hex digits follow it, it is not ``%25`` before two hex digits (the lint's
    double encoding; ``%25%41%42`` is refused too, more than the lint does), and the bytes the
    escapes decode to are UTF-8.
    """
    escapes = piece.count(b"%")
    if not escapes:
        return True
    decoded = binascii.a2b_qp(piece.translate(_PERCENT_AS_QP))
    if len(decoded) != len(piece) - 2 * escapes:
        # An escape shrinks by two bytes; a '%' that starts none, which a2b_qp keeps (or drops
        # at the end), does not. (A plain body has no '%' before a line break, a soft break.)
        return False
    if b"%" in decoded and _HEX_PAIR.search(decoded):
        return False
    if not decoded.isascii():
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _search_userkeys_plain(keys: list[bytes]) -> bool:
    """Say that no userkey finding is possible: distinct once decoded, none only white space.

    ``keys`` are the ``userkey="...`` of a clean body (the prefix is the same for all, so
    comparing items compares values).
    """
    unique = set(keys)
    if len(unique) != len(keys) or _EMPTY_USERKEY in unique:
        return False
    joined = b'"'.join(keys)
    if b"%" not in joined:
        return True  # a letter or digit is never white space
    if _NOT_CANONICAL.search(joined):
        decoded = {encoding.decode(key[_USERKEY_PREFIX:].decode("ascii")) for key in keys}
        return len(decoded) == len(keys) and all(key.strip() for key in decoded)
    return all(
        encoding.decode(escapes.decode("ascii")).strip()
        for escapes in _ONLY_ESCAPES.findall(joined)
    )


def _account_userkey_plain(keys: list[bytes], expected_userkey: str | None) -> bool:
    """Say that the one userkey of a load reply or userXML is not blank and the one asked for."""
    if len(keys) != 1:
        return False
    key = encoding.decode(keys[0][_USERKEY_PREFIX:].decode("ascii"))
    return bool(key.strip()) and expected_userkey in (None, key)


class _NoTree:
    """A parser target that builds nothing: libxml2 only parses, and the schema validates.

    It notes a DOCTYPE (the prelude refuses one it sees, and the tree path any other).
    """

    def __init__(self) -> None:
        self.doctype_seen = False

    def doctype(self, *args) -> None:
        """Note that the document has a DOCTYPE: it must take the tree path and be refused."""
        self.doctype_seen = True

    def close(self) -> None:
        """Return nothing: the verdict is in the parser's error log."""


def valid_as_parsed(xsd: str, body: bytes) -> bool:
    """Say whether libxml2, validating as it parses, finds the body well-formed and valid.

    No tree is built, so nothing is allocated a node and freed again: at 50,000 users this
    takes half the time of parsing and then validating the tree. False (not well-formed, not
    valid, or anything logged at all) says only that the tree must be built to find out more.
    """
    made = getattr(_PARSERS, "streaming", _NO_PARSERS).get(xsd) or _streaming_parser(xsd)
    target, parser, fromstring, syntax_error = made
    target.doctype_seen = False
    try:
        fromstring(body, parser)
    except syntax_error:
        return False
    return not target.doctype_seen and len(parser.error_log) == 0


def _streaming_parser(xsd: str) -> tuple:
    """Make this thread's streaming parser for one XSD, with lxml's parse function and error."""
    from lxml import etree

    from mockspice.wire import safexml
    from mockspice.wire.schemas import lxml_schema

    target = _NoTree()
    parser = safexml.parser(target=target, schema=lxml_schema(xsd), collect_ids=False)
    if not hasattr(_PARSERS, "streaming"):
        _PARSERS.streaming = {}
    made = _PARSERS.streaming[xsd] = (target, parser, etree.fromstring, etree.XMLSyntaxError)
    return made
