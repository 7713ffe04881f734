"""The validator: what is wrong with a web-call document, where, and what SpiceCSM would make of it.

``validate(kind, data)`` returns a list of :class:`~mockspice.wire.findings.Finding`. The steps,
each stopping the ones after it when it finds a blocking problem, and the module of each:

1. the body as bytes: empty, too large, byte-order marks (here), text before the declaration,
   an HTML page, a DOCTYPE (:func:`.wellformed.prelude`; refused before any parsing, so nothing
   is expanded or fetched);
2. the fast path (:mod:`.fastpath`): libxml2 parses and validates against the XSD in one pass,
   building no tree, and byte scans prove that steps 6 and 7 have nothing to say; a document
   cleared so has no finding, and the rest is not done. A valid one in which the scans find a
   few values to lint has those elements' start tags parsed alone for step 6 instead of steps
   3 to 5;
3. parsing into a tree with libxml2 (no entities resolved, no DTD loaded, no network): not
   well-formed, typographic quotes, wrong encoding (:func:`.wellformed.parse_tree`);
4. the root element of the kind (here);
5. the XSD: lxml decides valid or not; only when not valid does xmlschema explain every
   violation (reason, path), with lines from the lxml tree (:mod:`.explain`; too deep first);
6. the percent-encoding lint of reply values (:func:`.values.lint`);
7. the meaning: userkeys (:mod:`.values`).

Positions come from :class:`.source.Source`, findings are gathered under their caps by
:class:`.findings.Collector`. It never raises for a document: an unexpected failure becomes an
``internal-error`` finding."""

from mockspice.wire import explain, fastpath, values, wellformed
from mockspice.wire.documents import ENCODED_ATTRIBUTES
from mockspice.wire.findings import Collector, Finding
from mockspice.wire.schemas import KINDS, LXML_LOCK, lxml_schema
from mockspice.wire.source import Source

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_FINDINGS = 1000
DEFAULT_MAX_SECONDS = 10.0

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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
    found = Collector(max_findings, max_seconds)
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
    kind, data, expected_userkey, max_bytes, max_depth, found: Collector, fast: bool
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
        # A wide encoding: the byte scans of prelude do not apply; refuse a DOCTYPE here.
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
    if utf8 and wellformed.prelude(body, root_tag, found):
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
        located = values.suspect_elements(body, proof.suspects, root_tag)
        if located is not None:
            values.lint(root_tag, located, found)
            return
    tree = wellformed.parse_tree(body, found)
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
    source = Source(body, tree.docinfo.encoding)
    if root.tag != root_tag:
        line, column = source.element(root.sourceline, explain.qualified(root))
        found.add(
            Finding.of(
                "wrong-root",
                f"the root element is <{explain.qualified(root)}>, but a {kind} document "
                f"must be <{root_tag}>{explain.namespace_note(root)}",
                line,
                column,
                f"/{explain.qualified(root)}",
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
        if explain.too_deep(root, max_depth, source, found):
            return
        explain.explain(xsd, tree, source, lxml_log, found)
    if not proof.clean:
        encoded = ENCODED_ATTRIBUTES.get(root_tag, {})
        elements = ((e, None, source) for e in root.iter(*encoded)) if encoded else ()
        values.lint(root_tag, elements, found)
    if proof.keys_checked:
        return
    if kind == "search":
        values.check_search_userkeys(root, source, found)
    elif kind in ("load", "update"):
        values.check_account_userkey(root, expected_userkey, source, found)


__all__ = [
    "validate",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FINDINGS",
    "DEFAULT_MAX_SECONDS",
]
