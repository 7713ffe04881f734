"""The finding: one thing the validator has to say about a document, with its stable code.

A finding is what ``docs/contract.md`` and the public surface (``DESIGN.md``, "An exchange")
describe: ``{"severity", "code", "message", "line", "column", "path"}``. ``line`` and ``column``
are 1-based and point into the reply body; ``path`` is an XPath to the element or attribute
(``/users/user[2]/@userkey``). Codes never change meaning; each has one fixed severity, listed
in :data:`CODES`, so that partners can filter on either.
"""

import time
from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"
INFO = "info"

#: Every finding code, with its severity and what it means (the table of docs/contract.md).
CODES: dict[str, tuple[str, str]] = {
    "empty-body": (ERROR, "The body is empty or only white space."),
    "too-large": (ERROR, "The body is larger than the size cap; it was not parsed."),
    "too-deep": (ERROR, "Elements are nested deeper than the nesting cap."),
    "doctype-refused": (
        ERROR,
        "A DOCTYPE (DTD, entity declarations) is refused; nothing was expanded or fetched.",
    ),
    "byte-order-mark": (
        WARNING,
        "The body starts with a byte-order mark: legal XML, but code that compares the body with "
        "'<?xml' fails.",
    ),
    "misplaced-byte-order-mark": (
        ERROR,
        "A byte-order mark stands after the first byte (doubled, or after white space): not "
        "well-formed.",
    ),
    "text-before-declaration": (
        ERROR,
        "Something (often a PHP notice or white space) comes before the XML declaration.",
    ),
    "text-before-root": (ERROR, "Text comes before the first element."),
    "html-not-xml": (
        ERROR,
        "The body is an HTML page (often a PHP or web-server error page), not the XML reply.",
    ),
    "typographic-quote": (
        ERROR,
        "An attribute value is delimited by a typographic quote (“ ” ‘ ’) instead of \" or '.",
    ),
    "bad-encoding": (
        ERROR,
        "The bytes are not in the declared (or default UTF-8) character encoding.",
    ),
    "not-well-formed": (ERROR, "The body is not well-formed XML; the message is the parser's."),
    "wrong-root": (ERROR, "The root element is not the one this kind of document needs."),
    "missing-attribute": (ERROR, "A required attribute is missing."),
    "unexpected-attribute": (ERROR, "An attribute the documented structure does not have."),
    "missing-element": (ERROR, "A required child element is missing."),
    "unexpected-element": (
        ERROR,
        "An element the documented structure does not have at that place.",
    ),
    "element-order": (ERROR, "A documented element stands before one that must come first."),
    "repeated-element": (ERROR, "An element that may occur once occurs again."),
    "unexpected-text": (ERROR, "Text inside an element that may hold only elements."),
    "invalid-value": (ERROR, "A value is not of its type (a number, the case date format)."),
    "schema": (ERROR, "Another violation of the XSD; the message is the schema validator's."),
    "plus-in-value": (WARNING, "A raw '+' in a value: SpiceCSM may decode it as a space."),
    "malformed-escape": (ERROR, "A '%' that does not start a %XX escape."),
    "double-encoded": (
        WARNING,
        "An escape of '%' followed by hex digits (%2520): likely encoded twice.",
    ),
    "invalid-utf8": (ERROR, "The decoded bytes of a value are not UTF-8."),
    "unencoded-value": (
        INFO,
        "A value holds characters that the documented examples percent-encode.",
    ),
    "duplicate-userkey": (ERROR, "Two users of a search reply have the same userkey."),
    "userkey-mismatch": (ERROR, "The loaded account's userkey is not the one asked for."),
    "empty-userkey": (ERROR, "A userkey is empty or only white space once decoded."),
    "too-many-findings": (
        WARNING,
        "The finding cap was reached; later findings were not reported.",
    ),
    "internal-error": (ERROR, "mockspice failed to check the document; please report it."),
    # The web-call engine's findings about the exchange itself (docs/webcalls.md).
    "timeout": (ERROR, "The partner gave no complete reply within the brand's timeout."),
    "unreachable": (
        ERROR,
        "The partner could not be reached: refused, reset, unknown host, bad URL or TLS failure.",
    ),
    "redirect": (ERROR, "The partner answered with a redirect; SpiceCSM does not follow it."),
    "http-status": (ERROR, "The partner answered with a status other than 2xx."),
    "reply-too-large": (
        ERROR,
        "The reply is larger than the size cap; it was cut there and not parsed.",
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: severity, stable code, a message for the partner, and where (1-based)."""

    severity: str
    code: str
    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None

    @classmethod
    def of(
        cls,
        code: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> "Finding":
        """Make a finding of ``code`` with the severity that :data:`CODES` fixes for it."""
        return cls(CODES[code][0], code, message, line, column, path)

    def to_dict(self) -> dict:
        """Return the JSON form of the public surface: severity,
        code, message, line, column, path.
        """
        return asdict(self)


class Collector:
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
