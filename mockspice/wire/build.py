"""What mockspice sends to a partner's web calls: POST variables and the userXML and caseXML
documents.

Shapes (plain dicts, the store's attribute names, so that an account goes from the store to the
wire unchanged):

- an **account**: ``{"userkey", "password", "status", "account", "contacts": [contact, ...],
  "fields": {field_id (int): value (str)}}``;
- a **contact**: ``{"firstname", "lastname", "aone", "atwo", "city", "region", "pc",
  "country", "pphone", "sphone", "pemail", "semail", "mobile", "fax"}``;
- **search criteria**: any keys of an account and of a contact, plus ``"fields"``
  (:data:`~mockspice.wire.documents.SEARCH_VARIABLES` maps them to the page's variables);
- a **ticket** (one response of a case): ``{"cid", "id", "tier", "date", "status", "sid",
  "issue", "agent", "aname", "journal", "email", "article", "treepath", "events"}``; ``date``
  may be a :class:`datetime.datetime`, written in the page's format.

A missing key or ``None`` counts as empty. Forms are lists of ``(name, value)`` pairs in the
order they are sent; ``requests.post(url, data=form)`` sends them as they are.
"""

import datetime
import re

from mockspice.wire.documents import (
    ACCOUNT_USER_ATTRIBUTES,
    CONTACT_ATTRIBUTES,
    CORRECTED_NAMES,
    SEARCH_VARIABLES,
    TICKET_ATTRIBUTES,
)
from mockspice.wire.encoding import encode

Form = list[tuple[str, str]]

# Characters XML 1.0 cannot carry at all, even escaped: replaced by U+FFFD in caseXML.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def _text(value) -> str:
    """Return a value as text: None is empty, anything else its str()."""
    return "" if value is None else str(value)


def credentials(int_user: str, int_pass: str) -> Form:
    """Return the two variables every web call carries (page: "Web Call Integrations")."""
    return [("intUser", _text(int_user)), ("intPass", _text(int_pass))]


def custom_fields(fields: dict) -> str:
    """Return CustFields: ``ID\\value`` pairs joined by commas, by field id, empty values left out.

    The page gives no escape for a comma or backslash inside a value; they are sent as they are.
    """
    return ",".join(
        f"{field_id}\\{_text(value)}"
        for field_id, value in sorted(fields.items(), key=lambda item: int(item[0]))
        if _text(value)
    )


def search_form(
    criteria: dict, *, int_user: str = "", int_pass: str = "", corrected_names: bool = False
) -> Form:
    """Return the search web call's variables: credentials, then those with data, in page order.

    Names are the page's own (``SecondayPhone``, ``Modile``) unless ``corrected_names``.
    """
    form = credentials(int_user, int_pass)
    for name, key in SEARCH_VARIABLES:
        value = criteria.get(key)
        text = custom_fields(value or {}) if key == "fields" else _text(value)
        if text:
            form.append((CORRECTED_NAMES.get(name, name) if corrected_names else name, text))
    return form


def load_form(userkey: str, *, int_user: str = "", int_pass: str = "") -> Form:
    """Return the load web call's variables: credentials and ``Userkey``."""
    return credentials(int_user, int_pass) + [("Userkey", _text(userkey))]


def update_form(account: dict, *, int_user: str = "", int_pass: str = "") -> Form:
    """Return the update web call's variables: credentials and ``userXML``."""
    return credentials(int_user, int_pass) + [("userXML", user_xml(account))]


def case_form(userkey: str, tickets: list[dict], *, int_user: str = "", int_pass: str = "") -> Form:
    """Return the case update web call's variables: credentials, ``Userkey`` and ``caseXML``."""
    return credentials(int_user, int_pass) + [
        ("Userkey", _text(userkey)),
        ("caseXML", case_xml(tickets)),
    ]


class AccountError(ValueError):
    """An account given as data lacks what userXML needs; the message names the place."""


def account_of(raw: object, place: str) -> dict:
    """An account given as data (a YAML or JSON file in the dataset format's account shape,
    docs/fixtures.md) in the shape :func:`user_xml` is built from: ``userkey``, ``password``,
    ``status`` (default ``Active``), ``account``, ``contacts`` (every attribute, as text) and
    ``fields`` (``{id: value}``, given so or as ``[{"id", "value"}]``). Other keys are kept.

    :raises AccountError: no text ``userkey``, or contacts or fields of the wrong shape.
    """
    userkey = raw.get("userkey") if isinstance(raw, dict) else None
    if not isinstance(userkey, str) or not userkey.strip():
        raise AccountError(f"{place}: an account needs a 'userkey' (text)")
    contacts = raw.get("contacts") or []
    if not isinstance(contacts, list) or not all(isinstance(c, dict) for c in contacts):
        raise AccountError(f"{place}: 'contacts' must be a list of contacts (mappings)")
    fields = raw.get("fields") or {}
    if isinstance(fields, list) and all(isinstance(f, dict) for f in fields):
        fields = {f.get("id"): f.get("value") for f in fields}
    if not isinstance(fields, dict) or not all(str(k).isdigit() for k in fields):
        raise AccountError(
            f"{place}: 'fields' must map custom field ids to values, e.g. {{1: Gold}}"
        )
    return {
        **raw,
        "password": _text(raw.get("password")),
        "status": _text(raw.get("status", "Active")),
        "account": _text(raw.get("account")),
        "contacts": [
            {**dict.fromkeys(CONTACT_ATTRIBUTES, ""), **{k: _text(v) for k, v in c.items()}}
            for c in contacts
        ],
        "fields": {int(k): _text(v) for k, v in fields.items()},
    }


def _element(tag: str, attributes: tuple[str, ...], values: dict, convert) -> str:
    """Write one empty element with the documented attributes in order, values converted."""
    pairs = " ".join(f'{name}="{convert(_text(values.get(name)))}"' for name in attributes)
    return f"<{tag} {pairs} />"


def user_xml(account: dict) -> str:
    """Return the userXML of an account: the load structure, every value percent-encoded."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<userdata>",
        "  " + _element("user", ACCOUNT_USER_ATTRIBUTES, account, encode),
        "  <contacts>",
    ]
    lines += [
        "    " + _element("contact", CONTACT_ATTRIBUTES, contact, encode)
        for contact in account.get("contacts") or ()
    ]
    lines += ["  </contacts>", "  <fielddata>"]
    fields = account.get("fields") or {}
    lines += [
        f'    <field id="{int(field_id)}" value="{encode(_text(value))}" />'
        for field_id, value in sorted(fields.items(), key=lambda item: int(item[0]))
    ]
    lines += ["  </fielddata>", "</userdata>", ""]
    return "\n".join(lines)


def case_date(moment: datetime.datetime) -> str:
    """Format a time as the page does: ``1/27/06 1:27:51 PM`` (no leading zeros, 12-hour clock)."""
    hour = moment.hour % 12 or 12
    return (
        f"{moment.month}/{moment.day}/{moment.year % 100:02d} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {'PM' if moment.hour >= 12 else 'AM'}"
    )


def xml_escape(text: str) -> str:
    """Escape text for a double-quoted XML attribute; characters XML cannot hold become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text).translate(_ESCAPES)


def case_xml(tickets: list[dict]) -> str:
    """Return the caseXML of a case's responses: values unencoded but XML-escaped (page example)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<tickets>"]
    for ticket in tickets:
        values = dict(ticket)
        if isinstance(values.get("date"), datetime.datetime):
            values["date"] = case_date(values["date"])
        lines.append("  " + _element("ticket", TICKET_ATTRIBUTES, values, xml_escape))
    lines += ["</tickets>", ""]
    return "\n".join(lines)
