"""The journal's matchers (mockspice/domain/matching.py): checking, matching, what differs."""

from __future__ import annotations

import pytest

from mockspice.domain import matching
from mockspice.domain.errors import BadParameter

SESSION = "0123456789abcdef0123456789abcdef"

POP = {
    "id": 1,
    "kind": "pop",
    "at": "2026-01-01T00:00:00.000Z",
    "status": 200,
    "match": "account",
    "params": {"company": "1", "brand": "2", "ani": "5555555555", "callid": "call-1"},
}
BATCH = {
    "id": 2,
    "kind": "api",
    "at": "2026-01-01T00:00:01.000Z",
    "status": 200,
    "calls": [
        {"method": "accountLoad", "params": [{"LastName": "Doe"}, SESSION], "outcome": "result"},
        {
            "method": "companyList",
            "params": [SESSION],
            "outcome": "error",
            "error": {"code": "unknown-session"},
        },
        {
            "method": "load",
            "params": {"type": "account", "userkey": "jdoe", "session": SESSION},
            "outcome": "stub",
            "stub": 3,
        },
    ],
}
SECRET = {
    "id": 3,
    "kind": "api",
    "at": "2026-01-01T00:00:02.000Z",
    "status": 200,
    "request": "[not kept: it holds a password]",
    "calls": [
        {"method": "connect", "params": "[not kept: it holds a password]", "outcome": "result"}
    ],
}
UNREADABLE = {"id": 4, "kind": "api", "at": "2026-01-01T00:00:03.000Z", "status": 200, "calls": []}
WEBCALL = {
    "id": 5,
    "kind": "webcall",
    "at": "2026-01-01T00:00:04.000Z",
    "exchange": {
        "id": 5,
        "kind": "search",
        "brand": {"company": 1, "brand": 1},
        "outcome": "ok",
        "request": {
            "url": "http://127.0.0.1:9/_partner/search",
            "form": {"intUser": "spice", "intPass": "********", "PrimaryPhone": "5555555555"},
        },
    },
}
ERROR = {
    "id": 6,
    "kind": "error",
    "at": "2026-01-01T00:00:05.000Z",
    "method": "POST",
    "path": "/x",
    "status": 200,
    "api_method": "accountLoad",
    "error": "RuntimeError: boom",
    "traceback": "...",
}
ENTRIES = [POP, BATCH, SECRET, UNREADABLE, WEBCALL, ERROR]


def ids(raw: dict) -> list[int]:
    matcher = matching.check(raw)
    return [e["id"] for e in ENTRIES if matching.matches(matcher, e)]


MATCHES = [
    ({}, [1, 2, 3, 4, 5, 6]),
    ({"kind": "api"}, [2, 3, 4]),
    ({"kind": "error"}, [6]),
    ({"method": "accountLoad"}, [2, 6]),  # an API call, and the error inside one
    ({"method": "companyList", "outcome": "error"}, [2]),
    ({"method": "accountLoad", "outcome": "error"}, []),  # one call must meet both
    ({"method": "load", "params_match": {"userkey": "jdoe"}}, [2]),
    ({"method": "load", "params_match": {"session": SESSION}}, [2]),  # the session as sent
    ({"params_match": [{"LastName": "Doe"}]}, [2]),
    ({"params_match": [{"LastName": "Doe"}, "other"]}, []),
    ({"params_match": {"ani": "5555555555"}}, [1]),  # a pop's params
    ({"method": "connect"}, [3]),
    ({"method": "connect", "params_match": []}, []),  # its params are not kept: nothing to match
    ({"outcome": "stub"}, [2]),
    ({"outcome": "ok"}, [5]),
    ({"outcome": "result"}, [2, 3]),
    ({"url": "http://127.0.0.1:9/_partner/search"}, [5]),
    ({"url": "http://127.0.0.1:9/_partner/search/"}, []),  # exact
    ({"call": "search"}, [5]),
    ({"call": "load"}, []),
    ({"form_match": {"PrimaryPhone": "5555555555"}}, [5]),
    ({"form_match": {"intPass": "secret"}}, []),  # the journal keeps it masked
    ({"form_match": {}}, [5]),  # any web call
    ({"company": 1}, [1, 5]),
    ({"brand": 2}, [1]),
    ({"company": 1, "brand": 1}, [5]),
    ({"ani": "5555555555"}, [1]),
    ({"ani": "555"}, []),
    ({"callid": "call-1"}, [1]),
    ({"since": 3}, [1, 2, 3, 4, 5, 6]),  # not compared: it bounds the select
]


@pytest.mark.parametrize("raw, expected", MATCHES)
def test_what_matches(raw, expected):
    assert ids(raw) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            {"methd": "x"},
            "unknown matcher key 'methd' (known: kind, method, params_match, form_match, call, "
            "url, outcome, "
            "company, brand, ani, callid, since)",
        ),
        ({"limit": 1}, "unknown matcher key 'limit'"),
        ([], "a matcher is a JSON object of criteria"),
        ("method", "a matcher is a JSON object of criteria"),
        ({"kind": "pops"}, "'kind' must be one of pop, api, webcall, error"),
        ({"kind": 1}, "'kind' must be one of"),
        ({"method": {}}, "'method' must be text, not an object"),
        ({"method": ""}, "'method' must not be empty"),
        (
            {"params_match": "x"},
            "'params_match' must be an array (positional) or an object (named) to match a subset "
            "of, "
            "not a string",
        ),
        (
            {"form_match": ["x"]},
            "'form_match' must be an object of form variable names and their values (strings)",
        ),
        (
            {"form_match": {"a": 1}},
            "'form_match' must be an object of form variable names and their values",
        ),
        ({"url": None}, "'url' must be text, not null"),
        ({"call": "fetch"}, "'call' must be one of search, load, update, case"),
        (
            {"outcome": "fine"},
            "'outcome' must be one of ok, invalid, error, timeout, unreachable, result, stub",
        ),
        (
            {"company": "1x"},
            "'company' must be an id (a whole number from 1 to 2147483647), not '1x'",
        ),
        (
            {"company": True},
            "'company' must be an id (a whole number from 1 to 2147483647), not a boolean",
        ),
        ({"brand": 0}, "'brand' must be an id (a whole number from 1 to 2147483647), not 0"),
        ({"ani": False}, "'ani' must be text, not a boolean"),
        ({"callid": []}, "'callid' must be text, not an array"),
        ({"since": "yesterday"}, "'since' must be an entry id or an ISO 8601 time"),
        ({"since": -1}, "'since' must be an entry id or an ISO 8601 time"),
        ({"since": 1.5}, "'since' must be an entry id or an ISO 8601 time"),
    ],
)
def test_bad_matchers(raw, message):
    with pytest.raises(BadParameter) as caught:
        matching.check(raw)
    assert caught.value.code == "bad-parameter"
    assert message in caught.value.message


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"limit": -1}, "'limit' must be a whole number from 0 to 1000000000, not -1"),
        ({"limit": "5 entries"}, "'limit' must be a whole number from 0 to 1000000000"),
        (
            {"limite": 5},
            "unknown matcher key 'limite' (known: kind, method, params_match, form_match, call, "
            "url, outcome, "
            "company, brand, ani, callid, since, limit)",
        ),
    ],
)
def test_bad_limits(raw, message):
    with pytest.raises(BadParameter) as caught:
        matching.check(raw, with_limit=True)
    assert message in caught.value.message


def test_the_limit_and_since_are_kept_apart_from_the_compared_criteria():
    matcher = matching.check(
        {"kind": "api", "since": "2026-01-01T13:00:00+01:00", "limit": 3}, with_limit=True
    )
    assert (matcher.kind, matcher.since, matcher.limit) == ("api", "2026-01-01T12:00:00.000Z", 3)
    assert matching.check({"since": 7}).since == 7


def test_from_query_reads_strings_through_the_same_keys():
    matcher = matching.from_query(
        {"kind": "pop", "company": "1", "since": "12", "limit": "2", "ani": "555"}
    )
    assert (
        matcher.criteria == {"kind": "pop", "company": 1, "since": 12, "ani": "555"}
        and matcher.limit == 2
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"company": "x"},
            "parameter 'company' must be an id (a whole number from 1 to 2147483647), not 'x'",
        ),
        (
            {"brand": "-1"},
            "parameter 'brand' must be an id (a whole number from 1 to 2147483647), not '-1'",
        ),
        ({"kind": "bogus"}, "parameter 'kind' must be one of pop, api, webcall, error"),
        (
            {"outcome": "fine"},
            "parameter 'outcome' must be one of ok, invalid, error, timeout, unreachable, result, "
            "stub",
        ),
        ({"method": ""}, "parameter 'method' must not be empty"),
        (
            {"limit": "ten"},
            "parameter 'limit' must be a whole number from 0 to 1000000000, not 'ten'",
        ),
        ({"since": "garbage"}, "parameter 'since' must be an entry id or an ISO 8601 time"),
        (
            {"params_match": "[]"},
            "unknown parameter 'params_match' (known: kind, since, limit, method, call, url, "
            "outcome, "
            "company, brand, ani, callid)",
        ),
        ({"Kind": "pop"}, "unknown parameter 'Kind'"),
    ],
)
def test_bad_query_filters(args, message):
    with pytest.raises(BadParameter) as caught:
        matching.from_query(args)
    assert message in caught.value.message


def test_differences_name_each_key_with_what_was_expected_and_found():
    matcher = matching.check(
        {
            "kind": "api",
            "method": "accountLoad",
            "params_match": [{"LastName": "Smith"}],
            "company": 1,
        }
    )
    assert matching.differences(matcher, BATCH) == [
        {
            "key": "params_match",
            "expected": [{"LastName": "Smith"}],
            "actual": [{"LastName": "Doe"}, SESSION],
        },
        {"key": "company", "expected": 1, "actual": None},
    ]
    assert matching.differences(matcher, POP) == [
        {"key": "kind", "expected": "api", "actual": "pop"},
        {"key": "method", "expected": "accountLoad", "actual": None},
        {"key": "params_match", "expected": [{"LastName": "Smith"}], "actual": POP["params"]},
    ]


def test_a_batch_is_compared_with_its_closest_call():
    matcher = matching.check(
        {"method": "load", "params_match": {"userkey": "asmith"}, "outcome": "stub"}
    )
    assert matching.differences(matcher, BATCH) == [
        {
            "key": "params_match",
            "expected": {"userkey": "asmith"},
            "actual": BATCH["calls"][2]["params"],
        }
    ]
    assert matching.differences(matching.check({"method": "accountLoad"}), UNREADABLE) == [
        {"key": "method", "expected": "accountLoad", "actual": None}
    ]


def test_differences_are_empty_exactly_when_it_matches():
    for raw, _ in MATCHES:
        matcher = matching.check(raw)
        for entry in ENTRIES:
            assert (matching.differences(matcher, entry) == []) == matching.matches(
                matcher, entry
            ), (raw, entry["id"])


def test_a_secret_params_is_shown_as_not_kept():
    [difference] = matching.differences(matching.check({"params_match": ["admin"]}), SECRET)
    assert difference["actual"] == "[not kept: it holds a password]"
