"""The validator: what is wrong with a web-call document, where, and what SpiceCSM would make of it.

``validate(kind, data)`` returns a list of :class:`~mockspice.wire.findings.Finding`. The steps,
each stopping the ones after it when it finds a blocking problem:

1. the body as bytes: empty, too large, byte-order marks, text before the declaration, an HTML
   page, a DOCTYPE (refused before any parsing, so nothing is expanded or fetched);
2. the fast path: libxml2 parses and validates against the XSD in one pass, building no tree,
   and byte scans prove that steps 6 and 7 have nothing to say; a document cleared so has no
   finding, and the rest is not done;
3. parsing into a tree with libxml2 (no entities resolved, no DTD loaded, no network): not
   well-formed, typographic quotes, wrong encoding, too deep;
4. the root element of the kind;
5. the XSD: lxml decides valid or not; only when not valid does xmlschema explain every
   violation (reason, path), with lines from the lxml tree;
6. the percent-encoding lint of reply values;
7. the meaning (userkeys).

It never raises for a document: an unexpected failure becomes an ``internal-error`` finding.
"""

import dataclasses
import difflib
import re
import threading
import time
from bisect import bisect_right
from itertools import accumulate

from mockspice.wire import encoding, fastpath
from mockspice.wire.documents import ATTRIBUTES, CHILDREN, ENCODED_ATTRIBUTES
from mockspice.wire.findings import Finding
from mockspice.wire.schemas import KINDS, LXML_LOCK, lxml_schema, xmlschema_schema

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_FINDINGS = 1000
DEFAULT_MAX_SECONDS = 10.0

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_NEWLINE = re.compile(r"\r\n?|\n")
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
_ATTRIBUTE_REASON = re.compile(r"attribute ([\w:.-]+)='(.*)': (.*)", re.DOTALL)
_QUOTED_NAME = re.compile(r"'([^']+)'")
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
# A start tag as a plain body writes it (values "-delimited); group 2: "/" if self-closing.
_START_TAG = re.compile(rb'<([A-Za-z0-9]+)(?:\s+[A-Za-z0-9]+="[^"]*")*\s*(/?)>')
# Every element name of the documented structure, for counting start tags in a valid body.
_NAMES = frozenset(CHILDREN).union(*CHILDREN.values())
# One parser a thread (an lxml parser must not parse in two threads at once), made on first use.
_PARSERS = threading.local()


class _Source:
    """The body as text, to turn offsets and an element's line into lines and columns."""

    def __init__(self, body: bytes, encoding_name: str | None = None):
        self._body = body
        self._encoding = encoding_name or "utf-8"
        self._text: str | None = None
        self._starts: list[int] | None = None

    @property
    def text(self) -> str:
        """Return the body decoded (once, on first use: the fast path never needs it)."""
        if self._text is None:
            try:
                text = self._body.decode(self._encoding, "replace")
            except LookupError:
                text = self._body.decode("utf-8", "replace")
            self._text = text.removeprefix("\ufeff")
        return self._text

    def byte_position(self, offset: int) -> tuple[int, int]:
        """Return the 1-based line and column of a byte offset of a UTF-8 body."""
        return self.position(len(self._body[:offset].decode("utf-8", "replace")))

    def _line_starts(self) -> list[int]:
        """Return the offset of each line's first character, computed once."""
        if self._starts is None:
            text = self.text
            if "\r" in text:
                self._starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
            else:
                # The same offsets from C-level passes: 5 times faster at 50,000 lines.
                lengths = map(len, text.split("\n")[:-1])
                self._starts = list(accumulate(map((1).__add__, lengths), initial=0))
        return self._starts

    def position(self, offset: int) -> tuple[int, int]:
        """Return the 1-based line and column of a text offset."""
        starts = self._line_starts()
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    def _line_end(self, line: int) -> int:
        """Return the offset just past the end of a 1-based line."""
        starts = self._line_starts()
        return starts[line] if line < len(starts) else len(self.text)

    def line_text(self, line: int | None) -> str:
        """Return the text of a 1-based line, or "" when there is no such line."""
        starts = self._line_starts()
        if not line or line > len(starts):
            return ""
        return self.text[starts[line - 1] : self._line_end(line)]

    def tag_offset(self, line: int | None, tag: str) -> int | None:
        """Return the offset of ``<tag`` whose start tag ends on ``line`` (libxml2's sourceline)."""
        if not line or line > len(self._line_starts()):
            return None
        end = self._line_end(line)
        while True:
            found = self.text.rfind("<" + tag, 0, end)
            if found < 0:
                return None
            after = self.text[found + 1 + len(tag) : found + 2 + len(tag)]
            if after in ("", ">", "/") or after.isspace():
                return found
            end = found

    def element(self, line: int | None, tag: str) -> tuple[int | None, int | None]:
        """Return the line and column of an element's ``<``, or its line alone if not found."""
        offset = self.tag_offset(line, tag)
        return self.position(offset) if offset is not None else (line, None)

    def attribute(self, line: int | None, tag: str, name: str) -> tuple[int | None, int | None]:
        """Return the line and column of attribute ``name`` of the element ``<tag`` at ``line``."""
        offset = self.tag_offset(line, tag)
        if offset is None:
            return line, None
        found = re.compile(r"\s(" + re.escape(name) + r")\s*=").search(
            self.text, offset, self._line_end(line)
        )
        return self.position(found.start(1)) if found else self.position(offset)


class _Collector:
    """The findings of one validation, with the finding cap and the time cap."""

    def __init__(self, max_findings: int, max_seconds: float):
        self.items: list[Finding] = []
        self.max_findings = max_findings
        self.deadline = time.monotonic() + max_seconds
        self.truncated = ""

    def full(self) -> bool:
        """Say whether no more findings may be added (cap or time reached), noting why."""
        if len(self.items) >= self.max_findings:
            self.truncated = f"only the first {self.max_findings} findings are reported"
        elif time.monotonic() > self.deadline:
            self.truncated = "the time cap was reached; later findings are not reported"
        return bool(self.truncated)

    def out_of_time(self) -> bool:
        """Say whether the time cap is reached, noting it."""
        if time.monotonic() > self.deadline:
            self.truncated = "the time cap was reached; later findings are not reported"
        return bool(self.truncated)

    def add(self, finding: Finding) -> bool:
        """Add a finding unless full; return False once full."""
        if self.full():
            return False
        self.items.append(finding)
        return True

    def result(self) -> list[Finding]:
        """Return the findings in document order, with a note when some were left out."""
        ordered = sorted(self.items, key=lambda f: (f.line or 0, f.column or 0))
        if self.truncated:
            ordered.append(Finding.of("too-many-findings", self.truncated))
        return ordered


def validate(
    kind: str,
    data: bytes,
    *,
    expected_userkey: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_findings: int = DEFAULT_MAX_FINDINGS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> list[Finding]:
    """Validate one web-call document and return its findings, in document order.

    :param kind: ``search`` (a search reply, ``<users>``), ``load`` (a load reply,
        ``<userdata>``), ``update`` (userXML, ``<userdata>``) or ``case`` (caseXML,
        ``<tickets>``). Any other value raises :class:`ValueError`: that is a caller's mistake,
        not the document's.
    :param data: the body exactly as received (bytes; a ``str`` is encoded as UTF-8 first).
    :param expected_userkey: for ``load`` and ``update``, the userkey that was asked for; a
        document for another userkey gets a ``userkey-mismatch`` finding. ``None``: not checked.
    :param max_bytes: a larger body gets one ``too-large`` finding and is not parsed.
    :param max_depth: elements nested deeper get a ``too-deep`` finding (libxml2 itself stops
        at 256).
    :param max_findings: at most this many findings, then a ``too-many-findings`` note.
    :param max_seconds: the explaining and linting stop after this long, with the same note.
    :returns: a list of findings; empty when the document is valid and clean. It contains an
        ``error`` finding exactly when SpiceCSM would not accept the document.
    """
    return _findings(
        kind, data, expected_userkey, max_bytes, max_depth, max_findings, max_seconds, fast=True
    )


def _findings(
    kind, data, expected_userkey, max_bytes, max_depth, max_findings, max_seconds, *, fast: bool
) -> list[Finding]:
    """Do what :func:`validate` says; ``fast=False`` (for tests only) skips the fast path."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if isinstance(data, str):
        data = data.encode("utf-8")
    found = _Collector(max_findings, max_seconds)
    try:
        _validate(
            kind,
            data if type(data) is bytes else bytes(data),
            expected_userkey,
            max_bytes,
            max_depth,
            found,
            fast,
        )
    except Exception as exc:  # noqa: BLE001 - the contract: never raise to the caller
        found.items.append(
            Finding.of("internal-error", f"the validator failed: {type(exc).__name__}: {exc}")
        )
    return found.result()


def _validate(
    kind, data, expected_userkey, max_bytes, max_depth, found: _Collector, fast: bool
) -> None:
    """Run the steps of the module docstring, adding findings to ``found``."""
    if not data or data.isspace():
        found.add(
            Finding.of("empty-body", "the body is empty: the reply must be an XML document", 1, 1)
        )
        return
    if len(data) > max_bytes:
        found.add(
            Finding.of(
                "too-large",
                f"the body has {len(data):,} bytes, more than the "
                f"cap of {max_bytes:,}; it was not parsed",
                1,
                1,
            )
        )
        return
    body = data
    if data.startswith(_UTF8_BOM) or data.startswith(_UTF16_BOMS):
        utf16 = not data.startswith(_UTF8_BOM)
        found.add(
            Finding.of(
                "byte-order-mark",
                f"the body starts with a {'UTF-16' if utf16 else 'UTF-8'} byte-order mark; it is "
                "legal XML, but code that expects the body to start with '<?xml' fails (often a "
                "PHP file saved 'with BOM'); send the document without it",
                1,
                1,
            )
        )
        if not utf16:
            body = data[len(_UTF8_BOM) :]
    root_tag = KINDS[kind][1]
    utf8 = body is not data or not data.startswith(_UTF16_BOMS)
    if not utf8 or body[:1] == b"\x00" or body[1:2] == b"\x00":
        # A wide encoding: the byte scans of _prelude do not apply; refuse a DOCTYPE here.
        from mockspice.wire import safexml

        if safexml.declares_doctype(body):
            found.add(
                Finding.of(
                    "doctype-refused",
                    "the document has a DOCTYPE; mockspice refuses DTDs and entity declarations",
                    1,
                    1,
                )
            )
            return
    if utf8 and _prelude(body, root_tag, found):
        return
    xsd = KINDS[kind][0]
    # The fast path, without a tree: libxml2 validates as it parses, and byte scans prove that
    # the lint and the userkey checks have nothing to say. A document they cannot clear takes
    # the path below, which builds the tree and explains.
    proof = fastpath.proof(kind, xsd, body, expected_userkey) if utf8 and fast else None
    if proof is not None and proof.clean and proof.keys_checked:
        return
    if proof is not None and proof.keys_checked and proof.suspects:
        # Valid, userkeys proven, and only these values to lint: their start tags are parsed
        # alone, where the tree would place them, instead of the whole document.
        located = _suspect_elements(body, proof.suspects, root_tag)
        if located is not None:
            elements, encoding_name = located
            _lint(root_tag, elements, _Source(body, encoding_name), found)
            return
    tree = _parse(body, found)
    if tree is None:
        return
    root = tree.getroot()
    if tree.docinfo.doctype:
        found.add(
            Finding.of(
                "doctype-refused",
                "the document has a DOCTYPE; mockspice refuses DTDs and entity declarations",
                1,
                1,
            )
        )
        return
    source = _Source(body, tree.docinfo.encoding)
    if root.tag != root_tag:
        line, column = source.element(root.sourceline, _qualified(root))
        found.add(
            Finding.of(
                "wrong-root",
                f"the root element is <{_qualified(root)}>, but a {kind} document "
                f"must be <{root_tag}>{_namespace_note(root)}",
                line,
                column,
                f"/{_qualified(root)}",
            )
        )
        return
    if proof is None:
        schema = lxml_schema(xsd)
        with LXML_LOCK:
            valid = schema.validate(tree)
            lxml_log = (
                []
                if valid
                else [
                    (e.line, e.column, e.path, e.message)
                    for e in list(schema.error_log)[: found.max_findings]
                ]
            )
    else:
        valid = True
    if valid:
        # A valid document is at most as deep as the schema allows: no depth check needed.
        # The byte scans run (if they have not) while the tree is alive, and their temporaries
        # are freed before it is: see fastpath.byte_facts for why the order matters.
        if proof is None:
            proof = (
                fastpath.byte_facts(kind, body, expected_userkey)
                if utf8 and fast
                else fastpath.Facts(False, False)
            )
    else:
        proof = fastpath.Facts(False, False)
        if _too_deep(root, max_depth, source, found):
            return
        _explain(xsd, tree, source, lxml_log, found)
    if not proof.clean:
        encoded = ENCODED_ATTRIBUTES.get(root_tag, {})
        _lint(root_tag, ((e, None) for e in root.iter(*encoded)) if encoded else (), source, found)
    if proof.keys_checked:
        return
    if kind == "search":
        _check_search_userkeys(root, source, found)
    elif kind in ("load", "update"):
        _check_account_userkey(root, expected_userkey, source, found)


def _prelude(body: bytes, root_tag: str, found: _Collector) -> bool:
    """Check the bytes before the first element; return True when parsing must not go on."""
    from mockspice.wire import safexml

    source = _Source(body)
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
        excerpt = _excerpt(lead.strip())
        if first_lt < 0:
            found.add(
                Finding.of(
                    "not-well-formed",
                    f"the body is not XML: it starts with {excerpt} and has no element at all",
                    line,
                    column,
                )
            )
        else:
            found.add(
                Finding.of(
                    "text-before-root",
                    f"text {excerpt} comes before the first "
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
                f"{_excerpt(body[where.start() :].strip())}), not the XML reply; often a PHP error "
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


def _text_before_declaration(before: bytes, source: _Source, found: _Collector) -> None:
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
            f"{_excerpt(stripped)} comes before the XML declaration, "
            "which must be the very first thing in the body (often a PHP notice or warning)",
            line,
            column,
        )
    )


def _excerpt(raw: bytes, width: int = 60) -> str:
    """Quote the start of some bytes for a message, on one line."""
    text = " ".join(raw.decode("utf-8", "replace").split())
    return repr(text if len(text) <= width else text[:width] + "…")


def _parser():
    """Return this thread's tree-building parser, made on first use."""
    from mockspice.wire import safexml

    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        # No entity is resolved, no DTD loaded, nothing fetched; huge_tree stays off, so
        # libxml2 keeps its own caps (depth 256, 10 MB text nodes) behind those of validate().
        # White space between elements is dropped: fewer nodes to build, validate and free.
        parser = _PARSERS.parser = safexml.parser(remove_blank_text=True, collect_ids=False)
    return parser


def _parse(body: bytes, found: _Collector):
    """Parse safely with libxml2; return the tree, or None after adding why it failed."""
    from lxml import etree

    try:
        return etree.fromstring(body, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        _syntax_findings(body, exc, found)
        return None


def _syntax_findings(body: bytes, exc, found: _Collector) -> None:
    """Turn libxml2's first fatal error into findings, naming the usual causes specifically."""
    message = _POSITION_SUFFIX.sub("", exc.msg or str(exc))
    line, column = exc.position if exc.position else (None, None)
    source = _Source(body)
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


def _qualified(element) -> str:
    """Return an element's name as written (prefix:local), without lxml's {namespace}."""
    local = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else str(element.tag)
    return f"{element.prefix}:{local}" if element.prefix else local


def _namespace_note(element) -> str:
    """Explain a namespace on the root, which the documented replies never have."""
    if isinstance(element.tag, str) and element.tag.startswith("{"):
        return f" in no namespace (it is in {element.tag[1:].partition('}')[0]!r})"
    return ""


def _too_deep(root, max_depth: int, source: _Source, found: _Collector) -> bool:
    """Add a ``too-deep`` finding for the first element nested deeper than ``max_depth``."""
    deeper = root.xpath("/" + "/".join(["*"] * (max_depth + 1)) + "[1]")
    if not deeper:
        return False
    element = deeper[0]
    line, column = source.element(element.sourceline, _qualified(element))
    found.add(
        Finding.of(
            "too-deep",
            f"elements are nested more than {max_depth} deep; the documented replies are 3 deep",
            line,
            column,
            element.getroottree().getpath(element),
        )
    )
    return True


def _explain(xsd: str, tree, source: _Source, lxml_log: list, found: _Collector) -> None:
    """Add one finding for every XSD violation that xmlschema finds, located in the lxml tree."""
    before = len(found.items)
    try:
        for error in xmlschema_schema(xsd).iter_errors(tree):
            if not found.add(_schema_finding(error, tree, source)):
                break
    except Exception:  # noqa: BLE001 - fall back to libxml2's own messages below
        pass
    if len(found.items) == before:
        # xmlschema saw nothing lxml saw (or failed): say what libxml2 said, line by line.
        for line, column, path, message in lxml_log:
            if not found.add(Finding.of("schema", message, line, column or None, path)):
                break


def _schema_finding(error, tree, source: _Source) -> Finding:
    """Turn one xmlschema validation error into a finding with a specific code."""
    element = getattr(error, "elem", None)
    if element is None or not hasattr(element, "sourceline"):
        return Finding.of("schema", error.reason or str(error), None, None, error.path)
    tag = _qualified(element)
    path = tree.getpath(element)
    reason = error.reason or ""
    if hasattr(error, "invalid_tag") and hasattr(error, "index"):
        return _content_finding(error, element, tree, source)
    if "attribute not allowed" in reason:
        name = _QUOTED_NAME.search(reason).group(1)
        documented = ATTRIBUTES.get(tree.getroot().tag, {}).get(tag, ())
        close = difflib.get_close_matches(name.lower(), documented, n=1, cutoff=0.6)
        near = f"; did you mean {close[0]!r}?" if close else ""
        line, column = source.attribute(element.sourceline, tag, name)
        return Finding.of(
            "unexpected-attribute",
            f"<{tag}> has the attribute {name!r}, which the "
            f"documented structure does not have (it has: {', '.join(documented)})"
            f"{near}",
            line,
            column,
            f"{path}/@{name}",
        )
    if reason.startswith("missing required attribute"):
        name = _QUOTED_NAME.search(reason).group(1)
        line, column = source.element(element.sourceline, tag)
        why = " (the account name)" if name == "userkey" else ""
        return Finding.of(
            "missing-attribute",
            f"<{tag}> lacks the required attribute {name!r}{why}",
            line,
            column,
            f"{path}/@{name}",
        )
    if "character data" in reason:
        return _text_finding(element, tag, path, source)
    attribute = _ATTRIBUTE_REASON.match(reason)
    if attribute:
        name, value, why = attribute.groups()
        line, column = source.attribute(element.sourceline, tag, name)
        if name == "userkey" and value == "":
            return Finding.of(
                "empty-userkey",
                f"<{tag}> has an empty userkey; the userkey is "
                "the account name SpiceCSM loads it by",
                line,
                column,
                f"{path}/@{name}",
            )
        return Finding.of(
            "invalid-value",
            f"attribute {name!r} of <{tag}> has the invalid value {value!r}: {why}",
            line,
            column,
            f"{path}/@{name}",
        )
    line, column = source.element(element.sourceline, tag)
    return Finding.of("schema", f"<{tag}>: {reason}", line, column, path)


def _content_finding(error, element, tree, source: _Source) -> Finding:
    """Explain an unexpected or missing child element."""
    tag = _qualified(element)
    expected = [getattr(e, "local_name", None) or str(e) for e in (error.expected or ())]
    wanted = " or ".join(f"<{name}>" for name in expected if name) or "nothing more"
    documented = CHILDREN.get(tag, ())
    order = (
        f" (documented: {', '.join(f'<{n}>' for n in documented)}, in this order)"
        if len(documented) > 1
        else ""
    )
    if error.invalid_tag is None:
        line, column = source.element(element.sourceline, tag)
        return Finding.of(
            "missing-element",
            f"<{tag}> is incomplete: {wanted} is missing{order}",
            line,
            column,
            tree.getpath(element),
        )
    children = [c for c in element if isinstance(c.tag, str)]
    child = children[error.index] if error.index < len(children) else element
    name = _qualified(child)
    line, column = source.element(child.sourceline, name)
    if name in documented:
        earlier = [_qualified(c) for c in children[: error.index]]
        code = "repeated-element" if name in earlier else "element-order"
        what = "may occur only once" if code == "repeated-element" else "is out of order"
        message = f"<{name}> {what} inside <{tag}>; expected here: {wanted}{order}"
    else:
        code = "unexpected-element"
        allowed = (
            f"<{tag}> may hold only {', '.join(f'<{n}>' for n in documented)}"
            if documented
            else f"<{tag}> may hold no element"
        )
        message = f"<{name}> is not expected inside <{tag}>: {allowed}{order}"
    return Finding.of(code, message, line, column, tree.getpath(child))


def _text_finding(element, tag: str, path: str, source: _Source) -> Finding:
    """Locate the first text in an element that may hold only elements."""
    text, line = element.text, element.sourceline
    if not (text and text.strip()):
        for child in element:
            if child.tail and child.tail.strip():
                text, line = child.tail, child.sourceline
                break
    text = (text or "").strip()
    column = None
    if line and text:
        at = source.text.find(text[:20], source.tag_offset(line, tag) or 0)
        if at >= 0:
            line, column = source.position(at)
    return Finding.of(
        "unexpected-text",
        f"<{tag}> may hold only elements, but holds the text {_excerpt(text.encode())}",
        line,
        column,
        path,
    )


def _suspect_elements(body: bytes, offsets: tuple[int, ...], root_tag: str):
    """Return ``([(element, path)], encoding)`` for the elements holding the offsets, or None.

    For a valid document whose values are plain but for these (:class:`fastpath.Facts`): every
    ``<`` outside a value then starts a tag (no comment, CDATA or processing instruction, and
    no value holds a raw ``<``). Each element's start tag is parsed alone, after the document's
    declaration and as many line breaks as stand before it, so that libxml2 reads its values
    and numbers its line as in the document; its path is the tree's (``getpath``): the names
    from the root (:data:`CHILDREN`, one way only, each ancestor once in the body) and its
    index among the elements of its name, when there are several. None when any of this does
    not hold: the tree then answers.
    """
    from lxml import etree

    if b"\r" in body:
        return None  # libxml2 counts a lone CR as a line break; the padding below does not
    start = fastpath.declaration_end(body)
    declaration, declaration_lines = body[:start], body.count(b"\n", 0, start)
    parser = _parser()
    located = []
    counted: dict[bytes, tuple[int, int]] = {}  # name: (offset counted up to, tags before it)
    lines_at, lines = start, declaration_lines
    encoding_name = None
    for offset in offsets:
        tag_start = body.rfind(b"<", 0, offset)
        tag = _START_TAG.match(body, tag_start)
        if tag is None:
            return None
        name = tag.group(1)
        at, before = counted.get(name, (0, 0))
        before += _start_tags(body, name, at, tag_start)
        counted[name] = (tag_start, before)
        if located and located[-1][2] == tag_start:
            continue  # another suspect value of the same element
        ancestors = _ancestors(root_tag, name.decode())
        if ancestors is None or any(
            _start_tags(body, a.encode(), 0, len(body)) != 1 for a in ancestors[1:]
        ):
            return None
        lines += body.count(b"\n", lines_at, tag_start)
        lines_at = tag_start
        closing = b"" if tag.group(2) else b"</" + name + b">"
        fragment = declaration + b"\n" * (lines - declaration_lines) + tag.group() + closing
        try:
            tree = etree.fromstring(fragment, parser).getroottree()
        except etree.XMLSyntaxError:
            return None
        encoding_name = tree.docinfo.encoding
        total = _start_tags(body, name, 0, len(body))
        own = f"{name.decode()}[{before + 1}]" if total > 1 else name.decode()
        located.append((tree.getroot(), "/" + "/".join([*ancestors, own]), tag_start))
    return [(element, path) for element, path, _ in located], encoding_name


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


def _lint(root_tag: str, elements, source: _Source, found: _Collector) -> None:
    """Add the percent-encoding findings of the encoded attribute values of ``elements``.

    ``elements``: ``(element, path)`` pairs in document order (``path`` None: the element's
    own in its tree), every element or those whose values are not known clean. ``unencoded-
    value`` is informative and often true of every user, so it is reported once an element and
    attribute name, counting the others; the rest are reported one by one.
    """
    encoded = ENCODED_ATTRIBUTES.get(root_tag, {})
    unencoded: dict[tuple[str, str], list] = {}
    for count, (element, path) in enumerate(elements):
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


def _check_search_userkeys(root, source: _Source, found: _Collector) -> None:
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


def _blank_userkey(user, raw: str, source: _Source, tree, found: _Collector) -> None:
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


def _check_account_userkey(root, expected: str | None, source: _Source, found: _Collector) -> None:
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


__all__ = [
    "validate",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FINDINGS",
    "DEFAULT_MAX_SECONDS",
]
