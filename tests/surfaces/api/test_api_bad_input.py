"""Bad input to the JSON-RPC API (issue 5, section 8).

10,000 hypothesis-generated request bodies through Flask's test client (4,000 envelopes: 1.0,
2.0 and batches, every transport; 3,000 bodies of anything: random JSON, bytes, invalid UTF-8,
empty, forms with random fields, wrong content types, huge numbers, 10,000-deep nesting, 5 MiB
strings; 3,000 calls of every registered method with wrong types for every parameter and a valid
session appended) and 300 more through ``requests`` to a real ``mockspice serve``. Whatever
arrives, the answer is a JSON-RPC document (204 for notifications only) or a 4xx with
``{"error": {"code", "message"}}``: never a 5xx, never a traceback, never JSON that a strict
parser refuses, and a 2.0 error code is the specification's or a documented application one.
Then explicit regression cases for what the generated inputs found.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import urllib.parse
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mockspice.app import create_app
from mockspice.domain.errors import BadParameter, DomainError
from mockspice.settings import Settings

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
STATE = "/_mockspice/state"
HEALTH = "/_mockspice/health"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "api.md"

# One budget for the file: 4,000 + 3,000 + 3,000 through the test client, 300 over HTTP.
ENVELOPE_EXAMPLES = 4000
BODY_EXAMPLES = 3000
WRONG_TYPE_EXAMPLES = 3000
LIVE_EXAMPLES = 300
FIVE_MIB = 5 * 1024 * 1024
DEEP = 10_000

SPEC_CODES = {-32700, -32600, -32601, -32602, -32603}
# A formatted traceback's frame line; "line 1 column 1" in json's own parse messages is not one.
TRACEBACK = re.compile(
    r'Traceback \(most recent call last\)|File "[^"]*", line \d+|, line \d+, in '
)

FUZZ = settings(
    deadline=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a failure prints the body as sent
    database=None,  # no .hypothesis/ folder in the shared tree
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)


# --- the app and the contract ------------------------------------------------------------------


@contextlib.contextmanager
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One app on its own store for one test function (hypothesis runs many examples in it)."""
    folder = tmp_path_factory.mktemp("api-bad-input")
    app = create_app(Settings.load(environ={}, overrides={"db": str(folder / "store.db")}))
    try:
        yield app
    finally:
        app.extensions["mockspice"].prepared.cleanup()


def _domain_codes() -> set[int]:
    found, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        found.add(cls.rpc_code)
        todo.extend(cls.__subclasses__())
    return found


def documented_codes() -> set[int]:
    """The application codes of the error table in docs/api.md."""
    return {
        int(code) for code in re.findall(r"^\| (-320\d\d) \|", DOCS.read_text(), re.M)
    } - SPEC_CODES


def strict_json(data: bytes) -> Any:
    """Parse as RFC 8259 JSON: NaN and Infinity are not JSON, whatever Python's json accepts."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(data, parse_constant=refuse)


def check_answer(
    status: int, content_type: str, data: bytes, allowed: set[int], where: str
) -> None:
    """The contract of every answer of the API URL to a POST."""
    text = data.decode("utf-8", errors="replace")
    assert status < 500, f"{where} -> {status}: {text[:500]}"
    assert not TRACEBACK.search(text), f"{where}: a traceback in the reply: {text[:800]}"
    if status == 204:
        assert data == b"", f"{where}: 204 with a body"
        return
    assert content_type.startswith("application/json"), f"{where} -> {status} as {content_type}"
    try:
        document = strict_json(data)
    except ValueError as exc:
        raise AssertionError(f"{where} -> {status}: not JSON ({exc}): {text[:300]}") from None
    if status >= 400:
        error = document["error"]
        assert isinstance(error["code"], (str, int)) and error["code"] != "", f"{where}: {error}"
        assert isinstance(error["message"], str) and error["message"].strip(), f"{where}: {error}"
        return
    assert status == 200, f"{where} -> {status}"
    if isinstance(document, list):
        assert document, f"{where}: an empty batch answer (should be 204)"
        for member in document:
            check_reply20(member, allowed, where)
    elif "jsonrpc" in document:
        check_reply20(document, allowed, where)
    else:
        # 1.0 (docs/api.md "Envelopes"): result, error and id always; a failure is a message.
        assert {"result", "error", "id"} <= set(document), f"{where}: {text[:300]}"
        error = document["error"]
        assert error is None or (
            document["result"] is None and isinstance(error, str) and error.strip()
        ), f"{where}: {text[:300]}"
        assert error != "Internal error", (
            f"{where}: an internal error (a bug, docs/api.md): {text[:300]}"
        )


def check_reply20(reply: Any, allowed: set[int], where: str) -> None:
    """A JSON-RPC 2.0 response object (specification section 5)."""
    assert isinstance(reply, dict) and reply.get("jsonrpc") == "2.0", f"{where}: {reply!r:.300}"
    assert "id" in reply and (("result" in reply) != ("error" in reply)), f"{where}: {reply!r:.300}"
    if "error" in reply:
        error = reply["error"]
        code = error.get("code")
        assert isinstance(code, int) and not isinstance(code, bool), f"{where}: {error!r:.300}"
        assert isinstance(error.get("message"), str), f"{where}: {error!r:.300}"
        assert code in allowed, f"{where}: undocumented code {code}: {error!r:.300}"
        # docs/api.md: -32603 is "a bug in mockspice"; bad input must never reach one.
        assert code != -32603, f"{where}: an internal error: {error!r:.300}"


class Api:
    """The API URL through one app's test client, every answer checked against the contract."""

    def __init__(self, app: Any):
        self.client = app.test_client()
        self.allowed = SPEC_CODES | documented_codes() | _domain_codes()
        self.sent = 0

    def post(self, body: bytes, content_type: str | None) -> Any:
        """POST ``body`` and check the answer; the parsed answer (None for 204)."""
        headers = {"Content-Type": content_type} if content_type is not None else {}
        response = self.client.post(API, data=body, headers=headers)
        self.sent += 1
        where = (
            f"POST {content_type!r} {body[:300]!r}{' ...' if len(body) > 300 else ''} "
            f"({len(body):,} bytes)"
        )
        check_answer(
            response.status_code, response.content_type or "", response.data, self.allowed, where
        )
        return None if response.status_code == 204 else strict_json(response.data)

    def connect(self) -> str:
        """A session of the demo's level-4 admin."""
        reply = self.post(
            b'request={"method":"connect","params":["admin","admin"],"id":1}',
            "application/x-www-form-urlencoded",
        )
        return reply["result"]["session"]

    def still_serving(self) -> None:
        """Health answers and the store can be read whole."""
        assert self.client.get(HEALTH).status_code == 200
        assert self.client.get(STATE).status_code == 200


# --- strategies --------------------------------------------------------------------------------

JSON_TYPES = st.sampled_from(
    (
        None,
        True,
        False,
        0,
        1,
        -1,
        2**31,
        2**63,
        -(10**30),
        1.5,
        -0.0,
        1e308,
        5e-324,
        "",
        "1",
        "x",
        "\u0000",
        "' OR 1=1 --",
        "admin",
        "\ufeff\u202e\U0001f600",
        [],
        [1],
        [None],
        [{}],
        [[]],
        {},
        {"a": 1},
        {"type": "account"},
        {"type": "case"},
    )
)
# Keys the methods read (docs page), so that objects reach the domain's own checks.
KEYS = (
    "id",
    "type",
    "userkey",
    "companyid",
    "brandid",
    "brand",
    "agentid",
    "caseid",
    "eventid",
    "alertid",
    "categoryid",
    "issueid",
    "parentid",
    "login",
    "password",
    "oldpassword",
    "status",
    "LastName",
    "PrimaryPhone",
    "CustFields",
    "active",
    "expires",
    "starts",
    "ends",
    "title",
    "message",
    "greeting",
    "brandlabel",
    "companylabel",
    "securitylevelid",
    "tierid",
    "from",
    "to",
    "callid",
    "company",
    "Userkey",
    "records",
    "session",
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    JSON_TYPES,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=4),
    ),
    max_leaves=10,
)
keyed_objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4)


def method_names(registry: Any) -> st.SearchStrategy[str]:
    """Registered names (mostly), near misses, and any text."""
    names = sorted(registry.methods)
    return st.one_of(
        st.sampled_from(names),
        st.sampled_from(names),
        st.sampled_from(
            (
                "rpc.discover",
                "rpc.other",
                "",
                " connect",
                "CONNECT",
                "__init__",
                "__class__",
                "keys",
                "load\u0000",
                "get",
                "items",
            )
        ),
        st.text(max_size=10),
    )


# Body transports (docs/api.md "Transport"): JSON body under any content type, forms, multipart.
CONTENT_TYPES = (
    "application/json",
    None,
    "text/plain",
    "application/xml",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "application/octet-stream",
    "",
    ";;;",
)
FORM = "application/x-www-form-urlencoded"


def multipart(fields: list[tuple[str, bytes]]) -> bytes:
    """A multipart/form-data body with boundary ``x``."""
    parts = [
        b'--x\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name.encode(), value)
        for name, value in fields
    ]
    return b"".join(parts) + b"--x--\r\n"


@st.composite
def framed(draw, text: bytes) -> tuple[bytes, str | None]:
    """The JSON ``text`` as one of the ways a client may send it, with a content type."""
    way = draw(
        st.sampled_from(
            ("json", "json", "form-raw", "form-raw", "form-encoded", "multipart", "any")
        )
    )
    if way == "json":
        return text, draw(
            st.sampled_from(("application/json", None, "text/plain", "application/xml"))
        )
    if way == "form-raw":  # OpenACD: raw JSON after request= (spicecsm-facts.md)
        return b"request=" + text, draw(st.sampled_from((FORM, FORM, None, "text/plain")))
    if way == "form-encoded":
        return b"request=" + urllib.parse.quote_plus(text).encode(), FORM
    if way == "multipart":
        return multipart([("request", text)]), "multipart/form-data; boundary=x"
    return text, draw(st.sampled_from(CONTENT_TYPES))


def dumps(value: Any) -> bytes:
    """JSON text as UTF-8, non-ASCII escaped as \\uXXXX for half of
    the values (stable per value).
    """
    # hypothesis's text has no lone surrogates; those are the regression cases at the end.
    return json.dumps(value, ensure_ascii=zlib.crc32(repr(value).encode()) % 2 == 0).encode("utf-8")


@st.composite
def envelope(draw, names: st.SearchStrategy[str], session: str) -> Any:
    """One call: a 1.0 or 2.0 request object, often malformed in one member."""
    call: dict[str, Any] = {}
    version = draw(st.sampled_from(("1.0", "2.0", "2.0", "odd")))
    if version == "2.0":
        call["jsonrpc"] = "2.0"
    elif version == "odd":
        call["jsonrpc"] = draw(st.one_of(JSON_TYPES, st.sampled_from(("1.0", "2", "2.00", " 2.0"))))
    if draw(st.integers(0, 9)):
        call["method"] = draw(st.one_of(names, names, names, JSON_TYPES))
    params = draw(
        st.one_of(
            st.lists(json_values, max_size=3),
            st.lists(keyed_objects, max_size=2),
            keyed_objects,
            json_values,
            st.just([]),
            st.none(),
        )
    )
    if isinstance(params, list) and draw(st.booleans()):
        params = [*params, session]  # SpiceCSM's clients append the session
    if isinstance(params, dict) and draw(st.booleans()):
        params = {**params, "session": session}
    if draw(st.integers(0, 4)):
        call["params"] = params
    if draw(st.integers(0, 4)):
        call["id"] = draw(
            st.one_of(
                st.integers(),
                st.text(max_size=8),
                st.none(),
                st.floats(allow_nan=False, allow_infinity=False),
                JSON_TYPES,
            )
        )
    if draw(st.integers(0, 9)) == 0:
        call[draw(st.text(max_size=6))] = draw(json_values)  # members beyond the specification's
    return call


# --- 1: envelopes --------------------------------------------------------------------------------


def test_generated_envelopes_get_json_rpc_answers(tmp_path_factory):
    """4,000 1.0, 2.0 and batch envelopes, every transport: a JSON-RPC answer, never a 5xx."""
    with fresh_app(tmp_path_factory) as app:
        api = Api(app)
        session = api.connect()
        names = method_names(app.extensions["mockspice"].registry)
        calls = envelope(names, session)
        bodies = st.one_of(
            calls, calls, calls, st.lists(st.one_of(calls, calls, json_values), max_size=5)
        )

        @settings(FUZZ, max_examples=ENVELOPE_EXAMPLES)
        @given(data=st.data())
        def run(data):
            text = dumps(data.draw(bodies, label="call"))
            body, content_type = data.draw(framed(text), label="framed")
            api.post(body, content_type)

        run()
        api.still_serving()
        assert api.sent >= ENVELOPE_EXAMPLES


# --- 2: bodies of anything ------------------------------------------------------------------------


def nested(depth: int, inner: bytes = b"1") -> bytes:
    """``depth`` arrays and objects around ``inner``, alternating."""
    opens = b"".join(b"[" if i % 2 else b'{"a":' for i in range(depth))
    closes = b"".join(b"]" if i % 2 else b"}" for i in reversed(range(depth)))
    return opens + inner + closes


HUGE_NUMBERS = (
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"9" * 5000,
    b"-" + b"9" * 5000,
    b"1" + b"0" * 4300,
    b"0." + b"0" * 5000 + b"1",
    b"1" * 5000 + b".5",
    b"NaN",
    b"Infinity",
    b"-Infinity",
)


def special_bodies(session: str) -> list[bytes]:
    """The inputs the issue names, each in the places a client could put them."""
    sid = session.encode()
    deep_array, deep_mixed = b"[" * DEEP + b"]" * DEEP, nested(DEEP)
    out = [
        b"",
        b" ",
        b"\r\n",
        deep_array,
        deep_mixed,
        b'{"method":"load","params":[%s,"%s"],"id":1}' % (deep_array, sid),
        b'{"jsonrpc":"2.0","method":"load","params":%s,"id":1}' % deep_array,
        b'{"jsonrpc":"2.0","method":"checkSession","id":%s}' % deep_mixed,
        b"["
        + b",".join([b'{"jsonrpc":"2.0","method":"load","params":[%s],"id":1}' % nested(980)] * 3)
        + b"]",
    ]
    for number in HUGE_NUMBERS:
        out += [
            number,
            b'{"method":"load","params":[%s,"%s"],"id":1}' % (number, sid),
            b'{"jsonrpc":"2.0","method":"caseLoad","params":[{"id":%s},"%s"],"id":%s}'
            % (number, sid, number),
            b'{"jsonrpc":"2.0","method":"accountLoad","params":{"search":{"userkey":%s},"session":"%s"},"id":2}'
            % (number, sid),
        ]
    for unit in (b"x", "\u00e9".encode(), b"\\u00e9", b"+"):
        big = unit * (FIVE_MIB // len(unit))
        out += [
            b'{"jsonrpc":"2.0","method":"accountLoad","params":[{"LastName":"%s"},"%s"],"id":1}'
            % (big, sid),
            b'{"method":"query","params":["%s","%s"],"id":1}' % (big, sid),
        ]
    out += [
        b'"%s"' % (b"y" * FIVE_MIB),
        b'{"method":"connect","params":["%s","x"],"id":"%s"}' % (b"a" * FIVE_MIB, b"b" * 64),
    ]
    return out


@st.composite
def any_body(draw, names: st.SearchStrategy[str]) -> tuple[bytes, str | None]:
    """Bytes of any kind: JSON of any shape, bytes, broken UTF-8, forms with random fields."""
    kind = draw(
        st.sampled_from(
            (
                "json",
                "json",
                "json",
                "bytes",
                "utf8-broken",
                "form",
                "form",
                "multipart",
                "number",
                "text",
            )
        )
    )
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if kind == "json":
        return dumps(draw(json_values)), content_type
    if kind == "bytes":
        return draw(st.binary(max_size=64)), content_type
    if kind == "utf8-broken":  # a valid call with an invalid UTF-8 sequence somewhere inside
        text = dumps({"method": draw(names), "params": [draw(st.text(max_size=6))], "id": 1})
        at = draw(st.integers(0, len(text)))
        bad = draw(
            st.sampled_from(
                (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80")
            )
        )
        return text[:at] + bad + text[at:], content_type
    if kind == "number":
        return draw(st.sampled_from(HUGE_NUMBERS)), content_type
    if kind == "text":
        return draw(st.text(max_size=30)).encode("utf-8"), content_type
    fields = draw(
        st.lists(
            st.tuples(
                st.one_of(
                    st.sampled_from(
                        ("request", "request", "Request", "request[]", "req", "", "request ")
                    ),
                    st.text(max_size=5),
                ),
                st.one_of(st.binary(max_size=20), json_values.map(dumps)),
            ),
            max_size=4,
        )
    )
    if kind == "multipart":
        return multipart(
            [(name.replace('"', ""), value) for name, value in fields]
        ), "multipart/form-data; boundary=x"
    return b"&".join(
        urllib.parse.quote(name).encode() + b"=" + value for name, value in fields
    ), draw(st.sampled_from((FORM, FORM, None)))


def test_generated_bodies_of_anything_leave_the_demo_unchanged(tmp_path_factory):
    """3,000 bodies of anything, with the issue's named extremes
    first: an answer, state unchanged.
    """
    with fresh_app(tmp_path_factory) as app:
        api = Api(app)
        demo = api.client.get(STATE).get_json()
        names = method_names(app.extensions["mockspice"].registry)
        # No valid session in the random part: nothing it sends may write to the demo.
        for body in special_bodies("0" * 32):
            api.post(body, "application/json")
            api.post(b"request=" + body, FORM)

        @settings(FUZZ, max_examples=BODY_EXAMPLES - api.sent)
        @given(sent=any_body(names))
        def run(sent):
            api.post(*sent)

        run()
        api.still_serving()
        assert api.client.get(STATE).get_json() == demo
        assert api.sent >= BODY_EXAMPLES


# --- 3: wrong types for every parameter of every method -------------------------------------------

TYPE_SAMPLES = (None, True, 0, -1, 1.5, 2**63, "", "x", [], [1], [{}], {}, {"a": None})


def fits(method: Any, param: Any, value: Any) -> bool:
    """Whether the table's own shape check takes ``value`` for ``param`` (new shapes included)."""
    try:
        dataclasses.replace(method, params=(param,)).check_args([value])
    except BadParameter:
        return False
    return True


def wrong_values(method: Any, param: Any) -> list[Any]:
    """One value of every JSON type the parameter's shape refuses (every type for ``any``)."""
    refused = [v for v in TYPE_SAMPLES if not fits(method, param, v)]
    return refused or list(TYPE_SAMPLES)


def good_value(method: Any, param: Any) -> Any:
    """A value of the right type, so that only the parameter under test is wrong."""
    return next((v for v in ("x", {}, [{}], 1) if fits(method, param, v)), None)


def test_wrong_types_for_every_parameter_of_every_method(tmp_path_factory):
    """Every parameter of every method with every wrong type, then 3,000 in all with random ones."""
    with fresh_app(tmp_path_factory) as app:
        api = Api(app)
        session = api.connect()
        registry = app.extensions["mockspice"].registry
        for method in registry.methods.values():
            for i, param in enumerate(method.params):
                good = [good_value(method, p) for p in method.params]
                for value in wrong_values(method, param):
                    args = [*good[:i], value, *good[i + 1 :], session]
                    api.post(
                        b"request="
                        + dumps({"method": method.name, "params": args, "id": api.sent}),
                        FORM,
                    )
                    named = {**{p.name: a for p, a in zip(method.params, args)}, "session": session}
                    api.post(
                        dumps(
                            {
                                "jsonrpc": "2.0",
                                "method": method.name,
                                "params": named,
                                "id": api.sent,
                            }
                        ),
                        "application/json",
                    )
        methods = sorted(registry.methods.values(), key=lambda m: m.name)

        @settings(FUZZ, max_examples=WRONG_TYPE_EXAMPLES - api.sent)
        @given(data=st.data())
        def run(data):
            method = data.draw(st.sampled_from(methods), label="method")
            count = data.draw(st.integers(0, len(method.params) + 1), label="count")
            args = data.draw(
                st.lists(
                    st.one_of(json_values, keyed_objects, JSON_TYPES),
                    min_size=count,
                    max_size=count,
                ),
                label="args",
            )
            call: dict[str, Any] = {
                "method": method.name,
                "params": [*args, session],
                "id": api.sent,
            }
            if data.draw(st.booleans(), label="2.0"):
                call["jsonrpc"] = "2.0"
            api.post(*data.draw(framed(dumps(call)), label="framed"))

        run()
        # Valid writes may have happened (createAlert with a message ...): the store must still
        # read whole, and the session still answer.
        api.still_serving()
        assert api.sent >= WRONG_TYPE_EXAMPLES


def test_every_application_error_code_is_documented():
    """Each domain error's ``rpc_code`` is in docs/api.md's error table, as the fuzz's check
    assumes.
    """
    from mockspice.surfaces.api.methods import build

    build()  # imports every method module, and with them every domain error class
    missing = sorted(_domain_codes() - documented_codes() - SPEC_CODES - {DomainError.rpc_code})
    assert not missing, f"rpc_code(s) {missing} are not in docs/api.md's error table"


# --- 4: a real server ---------------------------------------------------------------------------


def test_generated_bodies_to_a_real_server(live):
    """300 bodies over HTTP to ``mockspice serve --workers 2``, 5 MiB and 10,000 deep among them."""
    session = requests.Session()
    allowed = SPEC_CODES | documented_codes() | _domain_codes()
    sid = session.post(
        live.url + API,
        data=b'request={"method":"connect","params":["admin","admin"],"id":1}',
        headers={"Content-Type": FORM},
        timeout=30,
    ).json()["result"]["session"]
    sent = []

    def post(body: bytes, content_type: str | None) -> None:
        response = session.post(
            live.url + API,
            data=body,
            timeout=60,
            headers={"Content-Type": content_type} if content_type is not None else {},
        )
        sent.append(1)
        check_answer(
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.content,
            allowed,
            f"POST {content_type!r} {body[:300]!r} ({len(body):,} bytes)",
        )

    extremes = [
        b"[" * DEEP + b"]" * DEEP,
        nested(DEEP),
        b'{"method":"load","params":[%s,"%s"],"id":1}' % (nested(980), sid.encode()),
        b'{"jsonrpc":"2.0","method":"accountLoad","params":[{"LastName":"%s"},"%s"],"id":1}'
        % (b"x" * FIVE_MIB, sid.encode()),
        b"request=" + b'"' + b"z" * FIVE_MIB + b'"',
        b"9" * 5000,
        b"1e400",
    ]
    for body in extremes:
        post(body, FORM if body.startswith(b"request=") else "application/json")
    names = st.sampled_from(
        (
            "connect",
            "load",
            "accountLoad",
            "query",
            "caseLoad",
            "createAlert",
            "nope",
            "rpc.discover",
        )
    )
    bodies = st.one_of(any_body(names), envelope(names, sid).map(dumps).flatmap(framed))

    @settings(FUZZ, max_examples=LIVE_EXAMPLES - len(sent))
    @given(sent_body=bodies)
    def run(sent_body):
        post(*sent_body)

    run()
    assert len(sent) >= LIVE_EXAMPLES
    assert live.get(HEALTH).status_code == 200
    reply = session.post(
        live.url + API,
        data=b'request={"method":"connect","params":["admin","admin"],"id":7}',
        headers={"Content-Type": FORM},
        timeout=30,
    ).json()
    assert reply["error"] is None and reply["result"]["session"] and reply["id"] == 7


# --- regression cases: what the generated inputs found --------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"method":"checkSession","params":[],"id":1e400}',
        b'{"method":"checkSession","params":[],"id":NaN}',
        b'{"method":"checkSession","params":[],"id":[-Infinity]}',
        b'{"jsonrpc":"2.0","method":"checkSession","params":[],"id":1e400}',
        b'[{"jsonrpc":"2.0","method":"checkSession","id":-1e400}]',
    ],
    ids=[
        "1.0-id-1e400",
        "1.0-id-NaN",
        "1.0-id-minus-Infinity-in-array",
        "2.0-id-1e400",
        "batch-id-minus-1e400",
    ],
)
def test_non_finite_numbers_never_make_the_reply_invalid_json(client, body):
    """A non-finite number in the request never comes back as ``NaN`` / ``Infinity``, which are not
    JSON.
    """
    # Found by the generated bodies: Python's json reads 1e400 as inf (and NaN as nan), and the
    # endpoint's json.dumps writes them back in the echoed id. RFC 8259 section 6 has no such
    # values; PHP's json_decode refuses NaN and json_encode cannot write INF.
    response = client.post(API, data=body, content_type="application/json")
    assert response.status_code == 200
    strict_json(response.data)  # raises on NaN / Infinity


@pytest.mark.parametrize(
    "call",
    [
        ["connect", ["\\ud800", "x"]],
        ["resetPass", ["\\udfff"]],
        ["query", ["select '\\ud800'", "{sid}"]],
        ["accountLoad", [{"LastName": "\\ud800"}, "{sid}"]],
        ["load", [{"type": "account", "userkey": "\\ud800"}, "{sid}"]],
        ["portalconnect", ["\\ud800"]],
        ["checkSession", ["\\ud800"]],
    ],
    ids=["connect", "resetPass", "query", "accountLoad", "load", "portalconnect", "session-id"],
)
def test_lone_surrogates_are_bad_parameters_not_internal_errors(client, call):
    """A lone surrogate escape (JSON syntax, but no text) is refused as such, never -32603 "Internal
    error".
    """
    # Found while probing the fuzz's inputs: SQLite's binding raised UnicodeEncodeError, which the
    # dispatcher answered as -32603 (docs/api.md: a bug in mockspice). A parse error or an
    # invalid-params error that names the surrogate is what a client can act on.
    sid = client.post(
        API, data={"request": '{"method":"connect","params":["admin","admin"],"id":1}'}
    ).get_json()["result"]["session"]
    method, params = call
    text = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
    text = text.replace("\\\\u", "\\u").replace("{sid}", sid)
    reply = client.post(API, data=text.encode(), content_type="application/json").get_json()
    assert reply["error"]["code"] in (-32700, -32602), reply
    assert "surrogate" in json.dumps(reply["error"]), reply
