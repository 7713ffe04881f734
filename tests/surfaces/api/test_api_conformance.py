"""Every example of the JSON-RPC 2.0 specification's section 7, answered as the specification shows.

The specification's methods (``subtract``, ``sum``, ``notify_hello``, ``notify_sum``,
``get_data``) are not SpiceCSM's: stubs with ``params_match`` give the results it shows. An error
object may carry a ``data`` member ("may be omitted", section 5.1); mockspice fills it with the
reason, so documents are compared without it, and ``data`` is checked to be the only extra.
"""

from __future__ import annotations

import json

import pytest

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"

STUBS = [
    {"method": "subtract", "params_match": [42, 23], "result": 19},
    {"method": "subtract", "params_match": [23, 42], "result": -19},
    {"method": "subtract", "params_match": {"subtrahend": 23, "minuend": 42}, "result": 19},
    {"method": "sum", "params_match": [1, 2, 4], "result": 7},
    {"method": "notify_hello", "params_match": [7], "result": None},
    {"method": "notify_sum", "params_match": [1, 2, 4], "result": None},
    {"method": "get_data", "result": ["hello", 5]},
]

INVALID_REQUEST = {
    "jsonrpc": "2.0",
    "error": {"code": -32600, "message": "Invalid Request"},
    "id": None,
}
PARSE_ERROR = {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}

# (name, request text, expected reply document; None: no reply at all)
EXAMPLES = [
    (
        "positional-1",
        '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
        {"jsonrpc": "2.0", "result": 19, "id": 1},
    ),
    (
        "positional-2",
        '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}',
        {"jsonrpc": "2.0", "result": -19, "id": 2},
    ),
    (
        "named-1",
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, '
        '"id": 3}',
        {"jsonrpc": "2.0", "result": 19, "id": 3},
    ),
    (
        "named-2",
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, '
        '"id": 4}',
        {"jsonrpc": "2.0", "result": 19, "id": 4},
    ),
    ("notification-1", '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}', None),
    ("notification-2", '{"jsonrpc": "2.0", "method": "foobar"}', None),
    (
        "non-existent-method",
        '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"},
    ),
    ("invalid-json", '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]', PARSE_ERROR),
    ("invalid-request-object", '{"jsonrpc": "2.0", "method": 1, "params": "bar"}', INVALID_REQUEST),
    (
        "batch-invalid-json",
        '[\n  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},\n'
        '  {"jsonrpc": "2.0", "method"\n]',
        PARSE_ERROR,
    ),
    ("empty-array", "[]", INVALID_REQUEST),
    ("invalid-batch-1", "[1]", [INVALID_REQUEST]),
    ("invalid-batch-3", "[1,2,3]", [INVALID_REQUEST, INVALID_REQUEST, INVALID_REQUEST]),
    (
        "mixed-batch",
        """[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]""",
        [
            {"jsonrpc": "2.0", "result": 7, "id": "1"},
            {"jsonrpc": "2.0", "result": 19, "id": "2"},
            INVALID_REQUEST,
            {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
            {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"},
        ],
    ),
    (
        "all-notifications-batch",
        """[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]""",
        None,
    ),
]


@pytest.fixture
def stubbed(client):
    """The test client, with the specification's methods stubbed."""
    for stub in STUBS:
        assert client.post("/_mockspice/rpc/stubs", json=stub).status_code == 201
    return client


def _without_data(document):
    """The reply with each error's optional ``data`` member taken out (checked to be the only
    extra).
    """
    if isinstance(document, list):
        return [_without_data(d) for d in document]
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        error = {k: v for k, v in document["error"].items() if k != "data"}
        return {**document, "error": error}
    return document


def _key(document) -> str:
    return json.dumps(document, sort_keys=True)


@pytest.mark.parametrize("name, text, expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
@pytest.mark.parametrize("transport", ["json", "form"])
def test_section_7_example(stubbed, name, text, expected, transport):
    if transport == "json":
        response = stubbed.post(API, data=text.encode(), content_type="application/json")
    else:  # url-encoded, as a careful form client sends it
        response = stubbed.post(API, data={"request": text})
    if expected is None:
        assert response.status_code == 204 and response.data == b""
        return
    assert response.status_code == 200 and response.content_type == "application/json"
    got = response.get_json()
    if isinstance(expected, list):
        # The specification lets a batch's answers come in any order.
        assert isinstance(got, list)
        assert sorted(map(_key, _without_data(got))) == sorted(map(_key, expected))
    else:
        assert _without_data(got) == expected
    for document in got if isinstance(got, list) else [got]:
        assert set(document) == {"jsonrpc", "id", "result" if "result" in document else "error"}
        if "error" in document:
            assert set(document["error"]) <= {"code", "message", "data"}


def test_notifications_run_but_are_not_answered(stubbed):
    stubbed.post("/_mockspice/rpc/stubs", json={"method": "counted", "result": "once", "times": 1})
    response = stubbed.post(API, json={"jsonrpc": "2.0", "method": "counted"})
    assert response.status_code == 204
    # The notification used the stub's one answer: the method is now unknown.
    after = stubbed.post(API, json={"jsonrpc": "2.0", "method": "counted", "id": 1}).get_json()
    assert after["error"]["code"] == -32601


def test_jsonrpc_10_failure_keeps_both_members(client):
    response = client.post(API, json={"method": "foobar", "params": [], "id": 7})
    assert response.get_json() == {"result": None, "error": "Method not found: foobar", "id": 7}
