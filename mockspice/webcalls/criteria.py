"""Search criteria from a caller's variables, named as the integration page names them or as the
store does.

The control API (``POST /_mockspice/webcalls/search``) and ``mockspice call --var`` take the
page's variable names (``PrimaryPhone``, ``SecondayPhone``, ...), their corrected spellings, or
the store's attribute names (``pphone``); the engine's builder takes the store's names.
"""

from __future__ import annotations

from typing import Any

from mockspice.wire.documents import CORRECTED_NAMES, SEARCH_VARIABLES


class CriteriaError(ValueError):
    """A variable that is not a search variable, or a value of the wrong type."""


# The page's variable names (and the corrected spellings) for the store's names of criteria.
_VARIABLE_KEYS = {name: key for name, key in SEARCH_VARIABLES if key != "fields"}
_VARIABLE_KEYS.update((CORRECTED_NAMES[name], _VARIABLE_KEYS[name]) for name in CORRECTED_NAMES)


def search_criteria(variables: Any) -> dict[str, Any]:
    """Search criteria from the caller's variables, named as the page or as the store names them.

    ``CustFields`` may be a mapping ``{id: value}`` or the page's ``ID\\value,ID\\value`` text.
    """
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise CriteriaError(
            "'variables' must be an object of search variables, e.g. {\"PrimaryPhone\": "
            '"5555555555"}'
        )
    criteria: dict[str, Any] = {}
    known = set(_VARIABLE_KEYS.values())
    for name, value in variables.items():
        if name in ("CustFields", "fields"):
            criteria["fields"] = _custom_fields(value)
            continue
        key = _VARIABLE_KEYS.get(name, name if name in known else None)
        if key is None:
            raise CriteriaError(
                f"unknown search variable {name!r} (known: {', '.join(_VARIABLE_KEYS)}, CustFields)"
            )
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise CriteriaError(f"search variable {name!r} must be text")
        criteria[key] = str(value)
    return criteria


def _custom_fields(value: Any) -> dict[int, str]:
    if isinstance(value, str):
        pairs = [item.split("\\", 1) for item in value.split(",") if item]
        value = {k: v for k, v in (p if len(p) == 2 else (p[0], "") for p in pairs)}
    if not isinstance(value, dict):
        raise CriteriaError(
            "'CustFields' must be an object {id: value} or 'ID\\value' pairs joined by commas"
        )
    out = {}
    for key, text in value.items():
        if not str(key).strip().isdigit():
            raise CriteriaError(f"custom field id {key!r} is not a number")
        out[int(str(key).strip())] = str(text)
    return out
