"""Journal matchers, WireMock-style: which entries a test's code caused, how many, and the closest
misses with what differs (``/_mockspice/journal`` and
``/_mockspice/journal/find|count|near-misses``).

A matcher is a JSON object of criteria, all of which an entry must meet; ``{}`` matches every
entry. Each key is declared once, in :data:`KEYS`: how its value is checked (and read from a
query string), and what it is compared with in an entry. A key that does not apply to an entry's
kind (``url`` for a pop) is not met by it. An API entry holds several calls when it was a batch:
it matches when one of its calls meets ``method``, ``params_match`` and ``outcome`` together.
``since`` is not compared: it bounds which entries are looked at (those after an entry id, or at
or after a time), as the journal's own filter does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mockspice.domain import journal, readers
from mockspice.domain.errors import BadParameter, json_type
from mockspice.domain.stubs import contains
from mockspice.store.db import Store
from mockspice.webcalls.engine import KINDS as WEBCALL_KINDS
from mockspice.webcalls.engine import OUTCOMES as WEBCALL_OUTCOMES

# An API call's outcome (surfaces/api/dispatch.py): answered by its method, failed, or a stub's
# answer.
API_OUTCOMES = ("result", "error", "stub")
OUTCOMES = tuple(dict.fromkeys(WEBCALL_OUTCOMES + API_OUTCOMES))
MOST = 10**9  # the largest limit


class Matcher:
    """Checked criteria (key -> value, only the keys given), and the ``limit`` given with them."""

    __slots__ = ("criteria", "limit", "of_entry", "of_call")

    def __init__(self, criteria: dict[str, Any], limit: int | None = None):
        self.criteria, self.limit = criteria, limit
        compared = [
            (name, KEYS[name], value)
            for name, value in criteria.items()
            if KEYS[name].actual is not None
        ]
        self.of_entry = [c for c in compared if not c[1].per_call]  # compared with the entry
        self.of_call = [c for c in compared if c[1].per_call]  # with one of an API entry's calls

    @property
    def kind(self) -> str | None:
        return self.criteria.get("kind")

    @property
    def since(self) -> int | str | None:
        return self.criteria.get("since")


# --- checking values ---------------------------------------------------------------------------


def _text(value: Any, label: str) -> str:
    return readers.text(value, label)


def _name(value: Any, label: str) -> str:
    if not _text(value, label):
        raise BadParameter(f"{label} must not be empty")
    return value


def _one_of(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def check(value: Any, label: str) -> str:
        if not isinstance(value, str) or value not in choices:
            raise BadParameter(f"{label} must be one of {', '.join(choices)}")
        return value

    return check


def _id(value: Any, label: str) -> int:
    return readers.ident(value, label)


def _pattern(value: Any, label: str) -> Any:
    if not isinstance(value, (list, dict)):
        raise BadParameter(
            f"{label} must be an array (positional) or an object (named) to match a subset of, "
            f"not {json_type(value)}"
        )
    return value


def _form(value: Any, label: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadParameter(
            f"{label} must be an object of form variable names and their values (strings)"
        )
    return value


def _since(value: Any, label: str) -> int | str:
    """An entry id, or an ISO 8601 time as the journal's rows stamp it (UTC, milliseconds)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        return value
    if isinstance(value, str):
        return since_text(value, label)
    raise BadParameter(f"{label} must be an entry id or an ISO 8601 time like 2026-01-01T12:00:00Z")


def since_text(value: str, label: str = "parameter 'since'") -> int | str:
    """``since`` as a query string gives it: an entry id, or an ISO 8601 time (no zone: UTC)."""
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59-23:59 overflows in UTC
        raise BadParameter(
            f"{label} must be an entry id or an ISO 8601 time like 2026-01-01T12:00:00Z"
        ) from None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _limit(value: Any, label: str) -> int:
    return readers.whole(value, label, 0, MOST)


# --- what an entry holds -----------------------------------------------------------------------


def _exchange(entry: dict[str, Any]) -> dict[str, Any]:
    return (entry.get("exchange") or {}) if entry.get("kind") == "webcall" else {}


def _pop_params(entry: dict[str, Any]) -> dict[str, Any]:
    params = entry.get("params") if entry.get("kind") == "pop" else None
    return params if isinstance(params, dict) else {}


def _pop_id(entry: dict[str, Any], name: str) -> Any:
    """A pop's company or brand: the number its parameter gives, else the parameter as it came."""
    value = _pop_params(entry).get(name)
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value


def _brand_of(name: str) -> Callable[[dict[str, Any], Any], Any]:
    def actual(entry: dict[str, Any], call: Any) -> Any:
        if entry.get("kind") == "pop":
            return _pop_id(entry, name)
        return (_exchange(entry).get("brand") or {}).get(name)

    return actual


def _method(entry: dict[str, Any], call: dict[str, Any] | None) -> Any:
    if call is not None:
        return call.get("method")
    return entry.get("api_method") if entry.get("kind") == "error" else None


def _params(entry: dict[str, Any], call: dict[str, Any] | None) -> Any:
    if call is not None:
        return call.get("params")
    return entry.get("params") if entry.get("kind") == "pop" else None


def _outcome(entry: dict[str, Any], call: dict[str, Any] | None) -> Any:
    return call.get("outcome") if call is not None else _exchange(entry).get("outcome")


def _equal(expected: Any, actual: Any) -> bool:
    return expected == actual and not isinstance(actual, bool)


@dataclass(frozen=True)
class Key:
    """One matcher key: how its value is checked (from JSON, and from a query string when it is a
    filter of ``GET /_mockspice/journal``), what an entry (and the call, for an API entry's
    per-call keys) holds for it, and how the two are compared."""

    check: Callable[[Any, str], Any]
    actual: Callable[[dict[str, Any], Any], Any] | None  # None: not compared (since)
    from_text: Callable[[str, str], Any] | None = None  # None: not a query parameter
    per_call: bool = False
    meets: Callable[[Any, Any], bool] = _equal


KEYS: dict[str, Key] = {
    "kind": Key(_one_of(journal.KINDS), lambda e, c: e.get("kind"), _one_of(journal.KINDS)),
    "method": Key(_name, _method, _name, per_call=True),
    "params_match": Key(_pattern, _params, per_call=True, meets=contains),
    "form_match": Key(
        _form, lambda e, c: (_exchange(e).get("request") or {}).get("form"), meets=contains
    ),
    "call": Key(
        _one_of(WEBCALL_KINDS), lambda e, c: _exchange(e).get("kind"), _one_of(WEBCALL_KINDS)
    ),
    "url": Key(_text, lambda e, c: (_exchange(e).get("request") or {}).get("url"), _text),
    "outcome": Key(_one_of(OUTCOMES), _outcome, _one_of(OUTCOMES), per_call=True),
    "company": Key(_id, _brand_of("company"), _id),
    "brand": Key(_id, _brand_of("brand"), _id),
    "ani": Key(_text, lambda e, c: _pop_params(e).get("ani"), _text),
    "callid": Key(_text, lambda e, c: _pop_params(e).get("callid"), _text),
    "since": Key(_since, None, since_text),
}
QUERY_KEYS = (
    "kind",
    "since",
    "limit",
    *(k for k, key in KEYS.items() if key.from_text and k not in ("kind", "since")),
)


def check(raw: Any, *, with_limit: bool = False) -> Matcher:
    """A matcher from its JSON form; :class:`BadParameter` naming the unknown or bad key otherwise.

    :param with_limit: whether a ``limit`` (a whole number of entries) may come with the criteria.
    """
    known = (*KEYS, "limit") if with_limit else tuple(KEYS)
    if not isinstance(raw, dict):
        raise BadParameter(
            f"a matcher is a JSON object of criteria (known keys: {', '.join(known)}), "
            f"not {json_type(raw)}"
        )
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise BadParameter(f"unknown matcher key {unknown[0]!r} (known: {', '.join(known)})")
    criteria = {
        name: KEYS[name].check(value, f"'{name}'") for name, value in raw.items() if name != "limit"
    }
    return Matcher(criteria, _limit(raw["limit"], "'limit'") if "limit" in raw else None)


def from_query(args: Mapping[str, str]) -> Matcher:
    """The matcher of ``GET /_mockspice/journal``'s query parameters (:data:`QUERY_KEYS`)."""
    unknown = sorted(set(args) - set(QUERY_KEYS))
    if unknown:
        raise BadParameter(f"unknown parameter {unknown[0]!r} (known: {', '.join(QUERY_KEYS)})")
    criteria = {
        name: KEYS[name].from_text(value, f"parameter '{name}'")
        for name, value in args.items()
        if name != "limit"
    }
    return Matcher(
        criteria, _limit(args["limit"], "parameter 'limit'") if "limit" in args else None
    )


# --- comparing ---------------------------------------------------------------------------------


def _calls(entry: dict[str, Any]) -> list[Any]:
    """The calls an entry's per-call keys are compared with: an API entry's (one empty call when it
    has none: nothing was called), or None for another kind's."""
    if entry.get("kind") != "api":
        return [None]
    calls = entry.get("calls")
    found = [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
    return found or [{}]


def differences(matcher: Matcher, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """What of the matcher the entry does not meet, key by key, in the matcher's order:
    ``[{"key", "expected", "actual"}]`` (empty: it matches). For a batch, the per-call keys are
    those of the call that meets most of them (the first of equals)."""
    out = [_difference(name, key, value, entry, None) for name, key, value in matcher.of_entry]
    if matcher.of_call:
        best: list[dict[str, Any] | None] = []
        for call in _calls(entry):
            found = [
                _difference(name, key, value, entry, call) for name, key, value in matcher.of_call
            ]
            if not best or sum(d is not None for d in found) < sum(d is not None for d in best):
                best = found
            if not any(found):
                break
        out += best
    order = list(matcher.criteria)
    return sorted((d for d in out if d is not None), key=lambda d: order.index(d["key"]))


def _difference(
    name: str, key: Key, expected: Any, entry: dict[str, Any], call: Any
) -> dict[str, Any] | None:
    actual = key.actual(entry, call)
    return (
        None
        if key.meets(expected, actual)
        else {"key": name, "expected": expected, "actual": actual}
    )


def matches(matcher: Matcher, entry: dict[str, Any]) -> bool:
    """Whether the entry meets every criterion (one call of a batch
    meeting all the per-call ones).
    """
    if not all(key.meets(value, key.actual(entry, None)) for _, key, value in matcher.of_entry):
        return False
    return not matcher.of_call or any(
        all(key.meets(value, key.actual(entry, call)) for _, key, value in matcher.of_call)
        for call in _calls(entry)
    )


def _plain(matcher: Matcher) -> bool:
    """Whether the store's own select does all of the matcher (only ``kind`` and ``since``)."""
    return set(matcher.criteria) <= {"kind", "since"}


def select(
    store: Store, matcher: Matcher, limit: int | None = None, *, cap: int | None = None
) -> dict[str, Any]:
    """The entries that match, oldest first: ``{"entries", "count", "dropped"}`` as
    :func:`mockspice.domain.journal.entries` answers, ``limit`` keeping the newest of those that
    match.

    :param cap: the journal's cap (setting ``journal_limit``), to wait for other processes' entries.
    """
    if _plain(matcher):
        return journal.entries(store, kind=matcher.kind, since=matcher.since, limit=limit, cap=cap)
    listed = journal.entries(store, kind=matcher.kind, since=matcher.since, cap=cap)
    kept = [entry for entry in listed["entries"] if matches(matcher, entry)]
    if limit is not None:
        kept = kept[len(kept) - limit :] if limit < len(kept) else kept
    return {**listed, "entries": kept, "count": len(kept)}


def near_misses(
    store: Store, matcher: Matcher, limit: int = 5, *, cap: int | None = None
) -> list[dict[str, Any]]:
    """The entries (after ``since``) closest to the matcher without matching it, each with what
    differs: ``[{"entry", "differences"}]``, the fewest differences first, then the newest."""
    listed = journal.entries(store, since=matcher.since, cap=cap)["entries"]
    found = [(differences(matcher, entry), entry) for entry in reversed(listed)]  # newest first
    misses = sorted(
        (f for f in found if f[0]), key=lambda f: len(f[0])
    )  # stable: ties stay newest first
    return [{"entry": entry, "differences": diffs} for diffs, entry in misses[:limit]]
