"""Steps 6 and 7 of the validator: the percent-encoding lint of reply values, and the userkeys.

Read from the tree, or, for a valid document whose values the fast path found plain but for a
few (:class:`.fastpath.Facts`), from those elements' start tags parsed alone
(:func:`suspect_elements`): the findings are the same either way.
"""

import dataclasses
import re

from mockspice.wire import encoding, fastpath
from mockspice.wire.documents import CHILDREN, ENCODED_ATTRIBUTES
from mockspice.wire.findings import Collector, Finding
from mockspice.wire.source import Source
from mockspice.wire.wellformed import tree_parser

# A start tag as a plain body writes it (values "-delimited); group 2: "/" if self-closing.
_START_TAG = re.compile(rb'<([A-Za-z0-9]+)(?:\s+[A-Za-z0-9]+="[^"]*")*\s*(/?)>')
# Every element name of the documented structure, for counting start tags in a valid body.
_NAMES = frozenset(CHILDREN).union(*CHILDREN.values())


def suspect_elements(body: bytes, offsets: tuple[int, ...], root_tag: str):
    """Return ``[(element, path, source)]`` for the elements holding the offsets, or None.

    For a valid document whose values are plain but for these (:class:`fastpath.Facts`): every
    ``<`` outside a value then starts a tag (no comment, CDATA or processing instruction, and
    no value holds a raw ``<``). Each element's start tag is parsed alone, after the document's
    declaration and as many line breaks as stand before it, so that libxml2 reads its values
    and numbers its line as in the document; its path is the tree's (``getpath``): the names
    from the root (:data:`CHILDREN`, one way only, each ancestor once in the body) and its
    index among the elements of its name, when there are several; its source is the text of
    its lines only. None when any of this does not hold: the tree then answers.
    """
    from lxml import etree

    if b"\r" in body:
        return None  # libxml2 counts a lone CR as a line break; the padding below does not
    start = fastpath.declaration_end(body)
    declaration, declaration_lines = body[:start], body.count(b"\n", 0, start)
    parser = tree_parser()
    located = []
    counted: dict[bytes, tuple[int, int]] = {}  # name: (offset counted up to, tags before it)
    lines_at, lines = start, declaration_lines
    totals: dict[bytes, int] = {}
    whole = None
    for offset in offsets:
        tag_start = body.rfind(b"<", 0, offset)
        tag = _START_TAG.match(body, tag_start)
        if tag is None:
            return None
        name = tag.group(1)
        at, before = counted.get(name, (0, 0))
        before += _start_tags(body, name, at, tag_start)
        counted[name] = (tag_start, before)
        if located and located[-1][3] == tag_start:
            continue  # another suspect value of the same element
        ancestors = _ancestors(root_tag, name.decode())
        if ancestors is None or any(
            _start_tags(body, a.encode(), 0, len(body)) != 1 for a in ancestors[1:]
        ):
            return None
        if name not in totals:
            totals[name] = _start_tags(body, name, 0, len(body))
        lines += body.count(b"\n", lines_at, tag_start)
        lines_at = tag_start
        closing = b"" if tag.group(2) else b"</" + name + b">"
        fragment = declaration + b"\n" * (lines - declaration_lines) + tag.group() + closing
        try:
            tree = etree.fromstring(fragment, parser).getroottree()
        except etree.XMLSyntaxError:
            return None
        own = f"{name.decode()}[{before + 1}]" if totals[name] > 1 else name.decode()
        # The lines from the tag's first to the end of its last: libxml2's line is one of them.
        # Past line 65,535 libxml2 says 65,535 (lxml does not ask for more): the whole body,
        # as the tree path reads it there.
        first = body.rfind(b"\n", 0, tag_start) + 1
        last = body.find(b"\n", tag.end())
        lines_text = body[first : len(body) if last < 0 else last]
        if lines_text.startswith(b"\xef\xbb\xbf"):
            return None  # Source drops a leading byte-order mark, which only a body may have
        if not 0 <= tree.getroot().sourceline - (lines + 1) <= lines_text.count(b"\n"):
            if whole is None:
                whole = Source(body, tree.docinfo.encoding)
            source = whole
        else:
            source = Source(lines_text, tree.docinfo.encoding, first_line=lines + 1)
        located.append((tree.getroot(), "/" + "/".join([*ancestors, own]), source, tag_start))
    return [(element, path, source) for element, path, source, _ in located]


def _ancestors(root_tag: str, name: str) -> list[str] | None:
    """Return the names from the root to the parent of ``name``, when :data:`CHILDREN` allows
    exactly one way there; else None."""
    ways = []

    def walk(tag: str, above: list[str]) -> None:
        for child in CHILDREN.get(tag, ()):
            if child == name:
                ways.append(above + [tag])
            elif child not in above:
                walk(child, above + [tag])

    walk(root_tag, [])
    return ways[0] if len(ways) == 1 else None


def _start_tags(body: bytes, name: bytes, start: int, end: int) -> int:
    """Count the start tags of ``name`` between two offsets of a valid body whose every ``<``
    outside values starts a tag: ``<name`` less the longer documented names it begins
    (``<users`` for ``<user``), since no other element can be there."""
    longer = [n.encode() for n in _NAMES if n.startswith(name.decode()) and len(n) > len(name)]
    count = body.count(b"<" + name, start, end)
    return count - sum(body.count(b"<" + n, start, end) for n in longer)


def lint(root_tag: str, elements, found: Collector) -> None:
    """Add the percent-encoding findings of the encoded attribute values of ``elements``.

    ``elements``: ``(element, path, source)`` in document order (``path`` None: the element's
    own in its tree), every element or those whose values are not known clean. ``unencoded-
    value`` is informative and often true of every user, so it is reported once an element and
    attribute name, counting the others; the rest are reported one by one.
    """
    encoded = ENCODED_ATTRIBUTES.get(root_tag, {})
    unencoded: dict[tuple[str, str], list] = {}
    for count, (element, path, source) in enumerate(elements):
        # Only the time cap here: the finding cap stops the walk when a finding is refused,
        # so the walk of some elements and of all of them stop at the same one.
        if count % 256 == 0 and found.out_of_time():
            return
        for name in encoded.get(element.tag, ()):
            value = element.get(name)
            if not value:
                continue
            for code, message in encoding.lint_value(value):
                if code == encoding.UNENCODED_VALUE and (element.tag, name) in unencoded:
                    unencoded[(element.tag, name)][1] += 1
                    continue
                line, column = source.attribute(element.sourceline, element.tag, name)
                where = path or element.getroottree().getpath(element)
                finding = Finding.of(
                    code,
                    f"attribute {name!r} of <{element.tag}>: {message}",
                    line,
                    column,
                    f"{where}/@{name}",
                )
                if not found.add(finding):
                    return
                if code == encoding.UNENCODED_VALUE:
                    unencoded[(element.tag, name)] = [len(found.items) - 1, 0]
    for (tag, _name), (index, more) in unencoded.items():
        if more:
            finding = found.items[index]
            found.items[index] = dataclasses.replace(
                finding, message=f"{finding.message} (and in {more:,} more <{tag}> elements)"
            )


def check_search_userkeys(root, source: Source, found: Collector) -> None:
    """Add findings for userkeys of a search reply that are blank or repeated (decoded)."""
    tree = root.getroottree()
    first_line: dict[str, int | None] = {}
    for user in root.iterchildren("user"):
        raw = user.get("userkey")
        if not raw:
            continue  # missing or empty: the XSD findings say so
        key = encoding.decode(raw)
        if not key.strip():
            _blank_userkey(user, raw, source, tree, found)
        elif key in first_line:
            line, column = source.attribute(user.sourceline, "user", "userkey")
            if not found.add(
                Finding.of(
                    "duplicate-userkey",
                    f"userkey {key!r} is already the userkey of the user "
                    f"at line {first_line[key]}; each search record must be a distinct account",
                    line,
                    column,
                    f"{tree.getpath(user)}/@userkey",
                )
            ):
                return
        else:
            first_line[key] = user.sourceline


def _blank_userkey(user, raw: str, source: Source, tree, found: Collector) -> None:
    """Add the finding of a userkey that decodes to nothing but white space."""
    line, column = source.attribute(user.sourceline, "user", "userkey")
    found.add(
        Finding.of(
            "empty-userkey",
            f"userkey {raw!r} decodes to white space only; the "
            "userkey is the account name SpiceCSM loads it by",
            line,
            column,
            f"{tree.getpath(user)}/@userkey",
        )
    )


def check_account_userkey(root, expected: str | None, source: Source, found: Collector) -> None:
    """Check the userkey of a load reply or userXML: not blank, and the one asked for."""
    user = root.find("user")
    raw = user.get("userkey") if user is not None else None
    if not raw:
        return  # missing or empty: the XSD findings say so
    tree = root.getroottree()
    key = encoding.decode(raw)
    if not key.strip():
        _blank_userkey(user, raw, source, tree, found)
    elif expected is not None and key != expected:
        line, column = source.attribute(user.sourceline, "user", "userkey")
        case = " (they differ only in letter case)" if key.casefold() == expected.casefold() else ""
        found.add(
            Finding.of(
                "userkey-mismatch",
                f"the document is for userkey {key!r}, but {expected!r} was asked for{case}",
                line,
                column,
                f"{tree.getpath(user)}/@userkey",
            )
        )
