"""Why a value is invalid, said as a partner reads it: the XSD type's own documentation or the
kind of value expected, never xmlschema's internals (a Python exception, a raw pattern).
"""

from __future__ import annotations

#: What each XSD built-in that the schemas use expects, in words.
BUILTINS = {
    "integer": "a whole number",
    "nonNegativeInteger": "a whole number, 0 or more",
    "positiveInteger": "a whole number, 1 or more",
    "int": "a whole number",
    "long": "a whole number",
    "decimal": "a number",
    "boolean": "true or false",
    "date": "a date like 2006-01-27",
    "dateTime": "a date and time like 2006-01-27T13:27:51",
}
#: The marks of a reason that quotes internals rather than explaining.
_INTERNAL = ("invalid literal for", "could not convert", "doesn't match any pattern", "Error(")


def _documentation(xsd_type: object) -> str | None:
    annotation = getattr(xsd_type, "annotation", None)
    texts = [str(d.text).strip() for d in getattr(annotation, "documentation", ()) if d.text]
    return " ".join(texts) or None


def value_reason(error: object, reason: str) -> str:
    """The reason a value does not fit its type, for a finding's message.

    :param error: xmlschema's validation error (its ``validator`` is the type or the facet that
        refused the value).
    :param reason: xmlschema's own text, kept where it already explains (an enumeration, a
        length).
    """
    validator = getattr(error, "validator", None)
    xsd_type = getattr(validator, "parent", None) if "Facet" in type(validator).__name__ else None
    xsd_type = xsd_type or validator
    documented = _documentation(xsd_type)
    if documented and any(mark in reason for mark in _INTERNAL):
        return f"it must be {documented[0].lower()}{documented[1:]}"
    name = str(getattr(xsd_type, "name", "") or "").rpartition("}")[2]
    if name in BUILTINS:
        return f"it must be {BUILTINS[name]}"
    if any(mark in reason for mark in _INTERNAL):
        return "it is not a value of the documented type"
    return reason
