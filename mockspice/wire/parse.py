"""What partners send back, as the engine stores and shows it: search records and a loaded account.

Parsing is lenient: it reads what is there (a missing attribute is ``""``, a field whose id is
not a number is skipped) and decodes every value (:func:`mockspice.wire.encoding.decode`); it
is :func:`mockspice.wire.validate.validate` that says what is wrong. It raises
:class:`UnreadableDocument` only when there is nothing to read: not XML, a DOCTYPE, or another
root element. The shapes are those of :mod:`mockspice.wire.build`; a search record is
``{"status", "userkey", "name", "email", "phone"}``.
"""

from mockspice.wire.documents import (
    ACCOUNT_USER_ATTRIBUTES,
    CONTACT_ATTRIBUTES,
    SEARCH_USER_ATTRIBUTES,
)
from mockspice.wire.encoding import decode


class UnreadableDocument(ValueError):
    """The document cannot be read at all (validate() says why)."""


def _root(data: bytes, tag: str):
    """Parse safely (no DTD, no entities, no network) and return the root, which must be ``tag``."""
    from lxml import etree

    if isinstance(data, str):
        data = data.encode("utf-8")
    from mockspice.wire import safexml

    if safexml.declares_doctype(data):
        raise UnreadableDocument("the document has a DOCTYPE, which mockspice refuses")
    parser = safexml.parser(remove_blank_text=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise UnreadableDocument(f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise UnreadableDocument("the document has a DOCTYPE, which mockspice refuses")
    if root.tag != tag:
        raise UnreadableDocument(f"the root element is <{root.tag}>, not <{tag}>")
    return root


def _decoded(element, names: tuple[str, ...]) -> dict[str, str]:
    """Return the decoded values of the named attributes of an element, missing ones as ""."""
    return {name: decode(element.get(name, "")) for name in names}


def parse_search(data: bytes) -> list[dict[str, str]]:
    """Return the records of a search reply (``<users>``), in document order, decoded."""
    return [
        _decoded(user, SEARCH_USER_ATTRIBUTES) for user in _root(data, "users").iterchildren("user")
    ]


def parse_account(data: bytes) -> dict:
    """Return the account of a load reply or of userXML (``<userdata>``), decoded."""
    root = _root(data, "userdata")
    user = root.find("user")
    account = _decoded(
        user if user is not None else root.makeelement("user"), ACCOUNT_USER_ATTRIBUTES
    )
    account["contacts"] = [
        _decoded(contact, CONTACT_ATTRIBUTES) for contact in root.iterfind("contacts/contact")
    ]
    fields = {}
    for field in root.iterfind("fielddata/field"):
        field_id = (field.get("id") or "").strip()
        if field_id.isdigit():
            fields[int(field_id)] = decode(field.get("value", ""))
    account["fields"] = fields
    return account
