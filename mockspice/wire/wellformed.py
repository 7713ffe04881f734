"""Steps 1 and 3 of the validator: the bytes before the first element, and parsing into a tree.

:func:`prelude` checks what stands before the root element (byte-order marks, text before the
declaration, an HTML page, a DOCTYPE) before anything is parsed; :func:`parse_tree` parses with
libxml2 (nothing loaded from outside, :mod:`.safexml`) and turns its first fatal error into
findings that name the usual causes (typographic quotes, a raw ``&``, ``//`` comments, the wrong
encoding).
"""

import re
import threading

from mockspice.wire.findings import Collector, Finding
from mockspice.wire.source import Source

_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARATION = re.compile(rb"<\?xml[\s?]")
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_HTML_DOCTYPE = re.compile(rb"<!doctype\s+html", re.IGNORECASE)
# Tags an HTML page, or PHP's error output ("<br />\n<b>Fatal error</b>: ..."), starts with.
_HTML_TAGS = frozenset(
    {
        "html",
        "head",
        "body",
        "br",
        "b",
        "p",
        "div",
        "h1",
        "h2",
        "title",
        "table",
        "pre",
        "font",
        "center",
        "hr",
    }
)
_TYPOGRAPHIC = re.compile(r"([\w:.-]+)\s*=\s*([“”‘’„‟])")
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")
# Hints for libxml2's messages that partners meet most, keyed by a fragment of the message.
_HINTS = (
    ("EntityRef: expecting ';'", "a raw '&' must be written &amp; (or percent-encoded as %26)"),
    ("xmlParseEntityRef: no name", "a raw '&' must be written &amp; (or percent-encoded as %26)"),
    (
        "not defined",
        "XML knows only &amp; &lt; &gt; &quot; &apos;; percent-encode other characters",
    ),
    ("Unescaped '<'", "a '<' in a value must be written &lt; (or percent-encoded as %3C)"),
    ("Extra content at the end", "a document has exactly one root element"),
    ("Opening and ending tag mismatch", "every element must be closed, in order"),
)
_ENCODING_ERRORS = (
    "Invalid bytes in character encoding",
    "not proper UTF",
    "Unsupported encoding",
    "Document labelled",
    "encoding mismatch",
)
# One parser a thread (an lxml parser must not parse in two threads at once), made on first use.
_PARSERS = threading.local()


def prelude(body: bytes, root_tag: str, found: Collector) -> bool:
    """Check the bytes before the first element; return True when parsing must not go on."""
    from mockspice.wire import safexml

    source = Source(body)
    first_lt = body.find(b"<")
    bom = body.find(_UTF8_BOM, 0, first_lt if first_lt >= 0 else len(body))
    if bom >= 0:
        line, column = source.byte_position(bom)
        found.add(
            Finding.of(
                "misplaced-byte-order-mark",
                "a byte-order mark stands after the start of the body "
                "(doubled, or after white space), which makes the document not well-formed; "
                "remove it (often a PHP include saved 'with BOM')",
                line,
                column,
            )
        )
        return True
    declaration = _DECLARATION.search(body)
    if declaration and declaration.start() > 0:
        before = body[: declaration.start()]
        if not re.search(rb"<" + root_tag.encode() + rb"[\s/>]", before):
            _text_before_declaration(before, source, found)
            return True
    lead = body[:first_lt] if first_lt >= 0 else body
    if lead.strip():
        offset = len(lead) - len(lead.lstrip())
        line, column = source.byte_position(offset)
        quoted = excerpt(lead.strip())
        if first_lt < 0:
            found.add(
                Finding.of(
                    "not-well-formed",
                    f"the body is not XML: it starts with {quoted} and has no element at all",
                    line,
                    column,
                )
            )
        else:
            found.add(
                Finding.of(
                    "text-before-root",
                    f"text {quoted} comes before the first "
                    "element; the reply must start with '<?xml' or the root "
                    "element",
                    line,
                    column,
                )
            )
        return True
    first_tag = _FIRST_TAG.search(body)
    html_doctype = _HTML_DOCTYPE.search(body, 0, first_tag.start() if first_tag else len(body))
    if html_doctype or (
        first_tag
        and first_tag.group(1).decode().lower() in _HTML_TAGS
        and first_tag.group(1).decode() != root_tag
    ):
        where = html_doctype or first_tag
        line, column = source.byte_position(where.start())
        found.add(
            Finding.of(
                "html-not-xml",
                f"the body is an HTML page (it starts with "
                f"{excerpt(body[where.start() :].strip())}), not the XML reply; often a PHP error "
                "message or a web server's error page",
                line,
                column,
            )
        )
        return True
    doctype = safexml.doctype_at(body)
    if doctype is not None:
        line, column = source.byte_position(doctype)
        found.add(
            Finding.of(
                "doctype-refused",
                "the document has a DOCTYPE or entity declaration; mockspice "
                "refuses DTDs (nothing was expanded or fetched) and SpiceCSM's documented replies "
                "have none; remove it",
                line,
                column,
            )
        )
        return True
    return False


def _text_before_declaration(before: bytes, source: Source, found: Collector) -> None:
    """Report what stands before the XML declaration: white space, or text such as a PHP notice."""
    stripped = before.strip()
    if not stripped:
        found.add(
            Finding.of(
                "text-before-declaration",
                f"{len(before)} white-space character(s) come before "
                "the XML declaration, which must be the very first thing in the body (often a "
                "blank line after a PHP '?>')",
                1,
                1,
            )
        )
        return
    offset = len(before) - len(before.lstrip())
    line, column = source.byte_position(offset)
    found.add(
        Finding.of(
            "text-before-declaration",
            f"{excerpt(stripped)} comes before the XML declaration, "
            "which must be the very first thing in the body (often a PHP notice or warning)",
            line,
            column,
        )
    )


def excerpt(raw: bytes, width: int = 60) -> str:
    """Quote the start of some bytes for a message, on one line."""
    text = " ".join(raw.decode("utf-8", "replace").split())
    return repr(text if len(text) <= width else text[:width] + "…")


def tree_parser():
    """Return this thread's tree-building parser, made on first use."""
    from mockspice.wire import safexml

    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        # No entity is resolved, no DTD loaded, nothing fetched; huge_tree stays off, so
        # libxml2 keeps its own caps (depth 256, 10 MB text nodes) behind those of validate().
        # White space between elements is dropped: fewer nodes to build, validate and free.
        parser = _PARSERS.parser = safexml.parser(remove_blank_text=True, collect_ids=False)
    return parser


def parse_tree(body: bytes, found: Collector):
    """Parse safely with libxml2; return the tree, or None after adding why it failed."""
    from lxml import etree

    try:
        return etree.fromstring(body, tree_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        _syntax_findings(body, exc, found)
        return None


def _syntax_findings(body: bytes, exc, found: Collector) -> None:
    """Turn libxml2's first fatal error into findings, naming the usual causes specifically."""
    message = _POSITION_SUFFIX.sub("", exc.msg or str(exc))
    line, column = exc.position if exc.position else (None, None)
    source = Source(body)
    quote_lines = set()
    for match in _TYPOGRAPHIC.finditer(source.text):
        quote_line, quote_column = source.position(match.start(2))
        quote_lines.add(quote_line)
        name, quote = match.groups()
        if not found.add(
            Finding.of(
                "typographic-quote",
                f"the value of attribute {name!r} starts with the "
                f"typographic quote {quote} (U+{ord(quote):04X}); XML needs a straight \" or ': "
                f'write {name}="…" (a word processor or a web page replaced it)',
                quote_line,
                quote_column,
            )
        ):
            return
    if line in quote_lines:
        return
    if "Excessive depth" in message:
        found.add(
            Finding.of(
                "too-deep",
                "elements are nested more than 256 deep; the documented replies are 3 deep",
                line,
                column,
            )
        )
        return
    if any(fragment in message for fragment in _ENCODING_ERRORS):
        found.add(
            Finding.of(
                "bad-encoding",
                f"{message}: the bytes are not in the declared encoding (UTF-8 "
                "when none is declared); send UTF-8 or declare the encoding used",
                line,
                column,
            )
        )
        return
    hint = next((h for fragment, h in _HINTS if fragment in message), None)
    if "//" in source.line_text(line):
        # The page's caseXML example annotates attributes with "//" comments (Case Update).
        hint = "'//' comments are not XML; XML has only <!-- --> comments, outside tags"
    found.add(
        Finding.of(
            "not-well-formed",
            f"not well-formed XML: {message}" + (f" ({hint})" if hint else ""),
            line,
            column,
        )
    )
