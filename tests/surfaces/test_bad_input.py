"""Bad input to the screen pop and the control API (issue 2, section 9).

Two halves. 10,000 hypothesis-generated requests through Flask's test client (6,000 to the pop;
4,000 to the control API: 1,500 to any path, 1,000 journal filters, 1,500 PUT state bodies) and
300 more through ``requests`` to a real ``mockspice serve``: whatever arrives, the answer is a
2xx or a 4xx that says what was wrong, never a 5xx, and a HEAD answer has no body. Then tables
of explicit negative cases: each input with the status, the error code and a fragment of the
message it must get.

Requests are built at the WSGI level (``QUERY_STRING`` and ``PATH_INFO`` set from raw bytes) so
invalid percent-encodings such as ``%ZZ``, ``%FF`` or ``%C3%28`` reach the app exactly as a
server would pass them on, which no well-behaved HTTP client would send.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import http.client
import json
import urllib.parse
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from liveserver import POP

from mockspice.app import create_app
from mockspice.settings import Settings

CONTROL = "/_mockspice"
POP_DIR = POP.rsplit("/", 1)[0]
JSON = {"Accept": "application/json"}

# One budget for the whole file: 6,000 pop + 4,000 control requests through the test client.
POP_EXAMPLES = 6000
CONTROL_EXAMPLES = 1500
JOURNAL_EXAMPLES = 1000
STATE_EXAMPLES = 1500
LIVE_EXAMPLES = 300
ONE_MB = 1024 * 1024

FUZZ = settings(
    deadline=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    database=None,  # no .hypothesis/ folder in the shared tree; a failure prints its reproduction
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)


# --- the app under test -----------------------------------------------------------------------


@contextlib.contextmanager
def fresh_app(tmp_path_factory: pytest.TempPathFactory, **overrides: Any) -> Iterator[Any]:
    """One app on its own store for one test function (hypothesis runs many examples in it)."""
    folder = tmp_path_factory.mktemp("bad-input")
    app = create_app(
        Settings.load(environ={}, overrides={"db": str(folder / "store.db"), **overrides})
    )
    try:
        yield app
    finally:
        app.extensions["mockspice"].prepared.cleanup()


def raw_request(
    client,
    method: str,
    raw_path: str,
    raw_query: str = "",
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
):
    """Send ``method raw_path?raw_query`` as a server would pass it to the app, bytes untouched."""
    path_bytes = urllib.parse.unquote_to_bytes(raw_path)
    query_bytes = raw_query.encode("utf-8")
    return client.open(
        "/",
        method=method,
        headers=headers or {},
        data=body,
        environ_overrides={
            "PATH_INFO": path_bytes.decode("latin-1"),
            "QUERY_STRING": query_bytes.decode("latin-1"),
        },
    )


class _TextById(HTMLParser):
    """The text inside the element with one id (enough for the mock's own templates)."""

    def __init__(self, wanted: str):
        super().__init__(convert_charrefs=True)
        self.wanted, self.depth, self.parts = wanted, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.wanted:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text_by_id(html: str, element_id: str) -> str | None:
    """The text of ``#element_id`` in ``html``; None when there is no such element."""
    parser = _TextById(element_id)
    parser.feed(html)
    return "".join(parser.parts).strip() if parser.parts or f'id="{element_id}"' in html else None


def assert_answer(method: str, response, *, control: bool) -> None:
    """The contract of every answer: 2xx, or 4xx with a message; never 5xx; HEAD has no body."""
    status = response.status_code
    where = f"{method} {response.request.path!r} ?{response.request.query_string[:200]!r}"
    assert status < 500, f"{where} -> {status}: {response.data[:500]!r}"
    if 300 <= status < 400:
        # Werkzeug's own routing redirects ("/_mockspice" -> "/_mockspice/", "//" merged).
        assert status == 308 and response.headers.get("Location"), f"{where} -> {status}"
        return
    assert 200 <= status < 500, f"{where} -> {status}"
    if method == "HEAD":
        assert response.data == b"", f"{where}: HEAD answered with a body"
        return
    if status < 400:
        return
    content_type = response.mimetype
    if control:
        assert content_type == "application/json", f"{where} -> {status} as {content_type}"
    if content_type == "application/json":
        error = json.loads(response.data)["error"]
        assert isinstance(error["code"], str) and error["code"], f"{where}: {error}"
        assert isinstance(error["message"], str) and error["message"].strip(), f"{where}: {error}"
    else:
        assert content_type == "text/html", f"{where} -> {status} as {content_type}"
        page = response.get_data(as_text=True)
        assert text_by_id(page, "error-code"), f"{where}: no #error-code on the error page"
        assert text_by_id(page, "error-message"), f"{where}: empty #error-message"


# --- strategies --------------------------------------------------------------------------------

PARAM_NAMES = ("company", "brand", "ani", "callid", "caseid", "format")
JOURNAL_NAMES = ("kind", "since", "limit")
METHODS = (
    "GET",
    "GET",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "MKCOL",
    "FOO",
    "get",
    "M-SEARCH",
)
ESCAPES = (
    "%ZZ",
    "%FF",
    "%C3%28",
    "%00",
    "%",
    "%2",
    "%25",
    "%E2%82",
    "%ED%A0%80",
    "%EF%BB%BF",
    "%C0%AF",
    "%26",
    "%3D",
    "%2B",
    "+",
    "%0D%0A",
    "%7F",
    "%F4%90%80%80",
)
WORDS = (
    "1",
    "2",
    "3",
    "4",
    "0",
    "-1",
    "1.5",
    " 1",
    "01",
    "1e3",
    "99",
    "2147483647",
    "2147483648",
    "99999999999",
    "json",
    "html",
    "JSON",
    "5552010001",
    "5555555555",
    "+1 (555) 201-0001",
    "6344",
    "6345",
    "<script>window.__x=1</script>",
    "'\"",
    "\\",
    "null",
    "[]",
    "\u0663",
    "pop",
    "api",
    "webcall",
    "2026-01-01T12:00:00Z",
    "Z",
    "T",
    "9" * 40,
)
ACCEPTS = (
    None,
    "text/html",
    "application/json",
    "*/*",
    "application/json;q=0.5, text/html",
    "application/json, text/html;q=0.1",
    "text/*",
    "garbage;;q=x",
    "",
)
CONTENT_TYPES = (
    None,
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "application/json; charset=latin-1",
    "application/octet-stream",
    ";;;",
)

ODD_CHARACTERS = tuple(
    "<>\"'&=;#/?\\`{}[]|^~!$*(),:@\u00e9\u00ff\u0100\u0663\u4e2d\u200b\u202e\ufeff\ufffd\U0001f600"
)
# What a server passes on in a request line: any UTF-8 but control characters and the space.
# Mostly tokens (one draw each, which keeps 6,000 examples fast), sometimes any text.
raw_text = st.one_of(
    st.lists(st.sampled_from(ESCAPES + WORDS + ODD_CHARACTERS), max_size=4).map("".join),
    st.lists(st.sampled_from(ESCAPES + WORDS + ODD_CHARACTERS), max_size=4).map("".join),
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters=" "),
        max_size=8,
    ),
)

# ISO times, often at the edges of what Python can hold, with any offset a timezone can have.
offsets = st.timedeltas(
    min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
)
zones = st.one_of(st.none(), st.just(dt.UTC), st.builds(dt.timezone, offsets))
iso_times = st.one_of(
    st.datetimes(timezones=zones).map(lambda moment: moment.isoformat()),
    st.builds(
        "{}T{:02d}:{:02d}:{:02d}{}{:02d}:{:02d}".format,
        st.sampled_from(("0001-01-01", "9999-12-31")),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
)


@st.composite
def values(draw, extra: st.SearchStrategy[str] = st.nothing()) -> str:
    """A raw (still percent-encoded) value; a few are 64 KB or 1 MB long."""
    if draw(st.integers(0, 1999)) == 1000:
        # 1 MB of plain characters; escapes and non-ASCII at 64 KB (Werkzeug's test client alone
        # needs seconds to turn a megabyte of them into the request's URL).
        size, unit = draw(
            st.one_of(
                st.tuples(st.just(ONE_MB), st.sampled_from(("1", "x", "+"))),
                st.tuples(st.just(64 * 1024), st.sampled_from(("%41", "<b>", "\u00e9", "%FF"))),
            )
        )
        return unit * (size // len(unit))
    return draw(st.one_of(raw_text, extra))


@st.composite
def query_strings(
    draw,
    names: tuple[str, ...],
    prefixes: tuple[str, ...] = ("",),
    extra_values: st.SearchStrategy[str] = st.nothing(),
) -> str:
    """A raw query string: real and random names, repeats, odd separators, names without '='."""
    pairs = draw(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(names), st.sampled_from(names), raw_text),
                st.one_of(st.none(), values(extra_values)),
            ),
            max_size=5,
        )
    )
    if pairs and draw(st.booleans()):
        pairs += draw(
            st.lists(st.sampled_from(pairs), min_size=1, max_size=3)
        )  # repeated parameters
    separator = draw(st.sampled_from(("&", "&", "&", ";", "&&")))
    text = separator.join(name if value is None else f"{name}={value}" for name, value in pairs)
    return draw(st.sampled_from(prefixes)) + text


@st.composite
def headers(draw) -> dict[str, str]:
    """Random Accept and Content-Type headers (or none)."""
    out = {}
    accept = draw(st.sampled_from(ACCEPTS))
    if accept is not None:
        out["Accept"] = accept
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        out["Content-Type"] = content_type
    return out


pop_paths = st.one_of(
    st.sampled_from(
        (POP,) * 6
        + (
            POP + "/",
            POP.replace(".php", ".PHP"),
            POP + "%00",
            POP + "x",
            POP.replace("/integrations", "//integrations"),
            POP_DIR + "/",
            "/spiceinstall",
            "/spiceinstall/",
            "/",
            "/telephonypop.php",
        )
    ),
    raw_text.map(lambda tail: POP_DIR + "/" + tail),
)
POP_PREFIXES = (
    "",
    "company=1&brand=1&",
    "company=1&brand=1&",
    "company=1&brand=2&",
    "company=2&brand=1&",
    "company=1&brand=4&",
    "company=1&brand=1&format=json&",
)

control_paths = st.one_of(
    st.sampled_from(
        ("journal",) * 6
        + (
            "health",
            "reset",
            "state",
            "journal",
            "",
            "journal/",
            "state/x",
            "..",
            "%2e%2e/health",
            "HEALTH",
            "health%00",
            "%FF",
            "/health",
            "jour%6Eal",
        )
    ).map(lambda tail: CONTROL + "/" + tail),
    st.just(CONTROL),
    raw_text.map(lambda tail: CONTROL + "/" + tail),
)
CONTROL_METHODS = ("GET",) * 8 + METHODS
journal_values = st.one_of(
    iso_times, st.integers(-10, 10**20).map(str), st.sampled_from(("pop", "api"))
)
bodies = st.one_of(st.just(b""), st.binary(max_size=64), raw_text.map(str.encode))


# --- the generated requests ---------------------------------------------------------------------


@pytest.mark.slow
def test_generated_pop_requests_never_get_a_5xx(tmp_path_factory):
    """6,000 random requests to the screen pop: 2xx or 4xx with a message, never a 5xx."""
    sent = []
    with fresh_app(tmp_path_factory) as app:
        client = app.test_client()

        @settings(FUZZ, max_examples=POP_EXAMPLES)
        @given(
            method=st.sampled_from(METHODS),
            path=pop_paths,
            query=query_strings(PARAM_NAMES, POP_PREFIXES),
            head=headers(),
            body=bodies,
        )
        def run(method, path, query, head, body):
            response = raw_request(
                client,
                method,
                path,
                query,
                headers=head,
                body=b"" if method in ("GET", "HEAD") else body,
            )
            sent.append(1)
            assert_answer(method, response, control=False)
            if (
                head.get("Accept") == "application/json"
                and "format" not in query
                and method != "HEAD"
            ):
                assert response.mimetype == "application/json" or response.status_code < 400
            if method == "GET" and response.status_code == 200 and path == POP:
                if response.mimetype == "application/json":
                    assert isinstance(json.loads(response.data)["pop_id"], int)
                else:
                    assert text_by_id(response.get_data(as_text=True), "pop-id")

        run()
    assert len(sent) >= POP_EXAMPLES


@pytest.mark.slow
def test_generated_control_requests_never_get_a_5xx(tmp_path_factory):
    """1,500 random requests under /_mockspice/ (PUT state has its own test): JSON errors only."""
    sent = []
    with fresh_app(tmp_path_factory) as app:
        client = app.test_client()

        @settings(FUZZ, max_examples=CONTROL_EXAMPLES)
        @given(
            method=st.sampled_from(CONTROL_METHODS),
            path=control_paths,
            query=query_strings(JOURNAL_NAMES + ("x",), extra_values=journal_values),
            head=headers(),
            body=bodies,
        )
        def run(method, path, query, head, body):
            if method.upper() == "PUT" and urllib.parse.unquote(path) == CONTROL + "/state":
                method = "GET"  # random datasets go through test_generated_state_bodies_...
            response = raw_request(client, method, path, query, headers=head, body=body)
            sent.append(1)
            assert_answer(method, response, control=True)

        run()
        assert client.get(CONTROL + "/health").status_code == 200
    assert len(sent) >= CONTROL_EXAMPLES


journal_filters = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.one_of(st.sampled_from(("pop", "api", "webcall", "POP", "")), raw_text),
        "since": st.one_of(iso_times, iso_times, st.integers(-2, 10**20).map(str), raw_text),
        "limit": st.one_of(st.integers(-2, 10**12).map(str), raw_text),
    },
)


def test_generated_journal_filters_never_get_a_5xx(tmp_path_factory):
    """1,000 random journal filters (``kind``, ``since``, ``limit``, repeated or not) on a busy
    journal.
    """
    sent = []
    with fresh_app(tmp_path_factory, journal_limit=50) as app:
        client = app.test_client()
        for callid in range(60):  # past the cap, so "dropped" and the id filters have work to do
            assert client.get(f"{POP}?company=1&brand=1&callid={callid}").status_code == 200

        @settings(FUZZ, max_examples=JOURNAL_EXAMPLES)
        @given(
            filters=journal_filters,
            repeat=st.booleans(),
            method=st.sampled_from(("GET", "GET", "HEAD")),
        )
        def run(filters, repeat, method):
            pairs = list(filters.items()) * (2 if repeat else 1)
            query = "&".join(
                f"{name}={urllib.parse.quote(value, safe='%')}" for name, value in pairs
            )
            response = raw_request(client, method, CONTROL + "/journal", query)
            sent.append(1)
            assert_answer(method, response, control=True)
            if method == "GET" and response.status_code == 200:
                answer = response.get_json()
                assert answer["count"] == len(answer["entries"]) <= 50

        run()
    assert len(sent) >= JOURNAL_EXAMPLES


# Edge values a mutated dataset gets at a random place.
EDGE_CONSTANTS = st.sampled_from(
    (
        None,
        True,
        False,
        0,
        -1,
        1,
        2**31,
        2**63,
        1.5,
        "",
        " ",
        "\ud800",
        "a\udfffb",
        "\x00",
        "not a date",
        [],
        {},
        [None],
        {"x": 1},
        "jdoe",
        6344,
    )
)
EDGE_VALUES = st.one_of(
    EDGE_CONSTANTS,
    EDGE_CONSTANTS,
    st.sampled_from(("\ud800", "a\udfffb", "9999-12-31T23:59:59-23:59")),
    iso_times,
    st.text(st.characters(exclude_categories=()), max_size=8),  # surrogates included
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)


def places(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON value (the root, each container and each leaf), as key paths."""
    yield path
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield from places(child, path + (key,))


@st.composite
def mutated(draw, data: Any, where: list[tuple]) -> Any:
    """``data`` with one place of ``where`` (any depth, uniformly) replaced, deleted or added to."""
    data = copy.deepcopy(data)
    path = draw(st.sampled_from(where))
    parent, key, node = None, None, data
    for part in path:
        parent, key, node = node, part, node[part]
    action = draw(st.sampled_from(("replace", "replace", "delete", "add", "duplicate")))
    if parent is None or action == "add":
        target = node if isinstance(node, (dict, list)) else data
        if isinstance(target, dict):
            target[
                draw(
                    st.one_of(
                        st.sampled_from(("id", "label", "brand", "userkey", "bogus")),
                        st.text(max_size=5),
                    )
                )
            ] = draw(EDGE_VALUES)
        else:
            target.append(draw(EDGE_VALUES))
    elif action == "replace":
        parent[key] = draw(EDGE_VALUES)
    elif action == "delete":
        del parent[key]
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))  # a duplicate id, userkey, login ...
    else:
        parent[key] = copy.deepcopy(parent)
    return data


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ODD_BODIES = (
    b"",
    b" ",
    b"null",
    b"[]",
    b"{}",
    b'"x"',
    b"1e999999",
    b"9" * 5000,
    b"[" * 100000,
    b'{"companies": ' * 5000,
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b'{"a":1,"a":2}',
    b"NaN",
    b'{"format": NaN}',
)


@pytest.mark.slow
def test_generated_state_bodies_are_loaded_whole_or_refused_whole(tmp_path_factory):
    """1,500 random PUT state bodies: loaded (state valid) or refused with 4xx (state unchanged).

    After every load the store is reset, so a random dataset never leaves the next example (or a
    later test) popping against nothing.
    """
    sent = []
    with fresh_app(tmp_path_factory) as app:
        client = app.test_client()
        demo = client.get(CONTROL + "/state").get_json()
        where = list(places(demo))

        def encoded(value: Any) -> bytes:
            return json.dumps(value).encode()

        @settings(FUZZ, max_examples=STATE_EXAMPLES)
        @given(
            body=st.one_of(
                mutated(demo, where).map(encoded),
                mutated(demo, where).map(encoded),
                json_values.map(encoded),
                st.binary(max_size=200),
                st.sampled_from(ODD_BODIES),
            ),
            content_type=st.sampled_from(CONTENT_TYPES),
        )
        def run(body, content_type):
            response = client.put(
                CONTROL + "/state",
                data=body,
                headers={"Content-Type": content_type} if content_type else {},
            )
            sent.append(1)
            assert_answer("PUT", response, control=True)
            after = client.get(CONTROL + "/state")
            assert after.status_code == 200
            if response.status_code >= 400:
                assert after.get_json() == demo, (
                    f"a refused PUT state changed the state: {body[:300]!r}"
                )
            else:
                assert after.get_json()["format"] == "mockspice-dataset/1"
                assert client.post(CONTROL + "/reset").status_code == 200
                assert client.get(CONTROL + "/state").get_json() == demo

        run()
        assert client.get(CONTROL + "/state").get_json() == demo
        popped = client.get(POP + "?company=1&brand=1&ani=5552010001", headers=JSON)
        assert popped.status_code == 200 and popped.get_json()["match"]["kind"] == "account"
    assert len(sent) >= STATE_EXAMPLES


# --- the same against a real server -------------------------------------------------------------

LIVE_METHODS = (
    "GET",
    "GET",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "TRACE",
    "PROPFIND",
    "FOO",
)


def test_generated_requests_to_a_real_server(live):
    """300 random requests through ``requests`` to ``mockspice serve``; the server stays healthy.

    urllib3 re-escapes an invalid ``%`` (``%ZZ`` becomes ``%25ZZ``), so the raw invalid escapes
    reach the real server in :func:`test_raw_escapes_reach_a_real_server` instead.
    """
    sent = []
    session = requests.Session()

    @settings(FUZZ, max_examples=LIVE_EXAMPLES)
    @given(
        method=st.sampled_from(LIVE_METHODS),
        path=st.one_of(pop_paths, control_paths),
        query=query_strings(PARAM_NAMES + JOURNAL_NAMES, POP_PREFIXES, journal_values),
        head=headers(),
        body=bodies,
    )
    def run(method, path, query, head, body):
        # The URL line only carries ASCII; a server would reject anything else before the app.
        url = (
            live.url
            + urllib.parse.quote(path, safe="/%")
            + "?"
            + urllib.parse.quote(query, safe="&;=%+")
        )
        response = session.request(
            method, url, headers=head, data=None if method in ("GET", "HEAD") else body, timeout=30
        )
        sent.append(1)
        status = response.status_code
        assert status < 500, f"{method} {url[:300]} -> {status}: {response.text[:300]}"
        if method == "HEAD":
            assert response.content == b""

    run()
    # A query value of 1 MB: the server refuses the request line itself (431), which is a 4xx.
    huge = session.get(live.url + POP + "?company=1&brand=1&callid=" + "1" * ONE_MB, timeout=30)
    assert 400 <= huge.status_code < 500
    assert len(sent) >= LIVE_EXAMPLES
    assert live.get(CONTROL + "/health").status_code == 200


@pytest.mark.parametrize(
    "query, status, fragment",
    [
        ("company=1&brand=1&ani=%ZZ", 200, '"ani":"%ZZ"'),
        ("company=1&brand=1&callid=%FF", 200, '"callid":"%FF"'),
        ("company=1&brand=1&callid=%C3%28", 200, '"callid":"%C3('),
        ("company=1&brand=1&callid=%00", 200, '"callid":"\\u0000"'),
        ("company=%FF&brand=1", 400, "parameter 'company' must be a positive integer"),
        ("company=1&brand=%ZZ", 400, "parameter 'brand' must be a positive integer"),
    ],
    ids=["ani-ZZ", "callid-FF", "callid-C328", "callid-NUL", "company-FF", "brand-ZZ"],
)
def test_raw_escapes_reach_a_real_server(live, query, status, fragment):
    """Invalid percent-escapes, sent byte for byte (http.client), get a normal answer."""
    address = urllib.parse.urlsplit(live.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", f"{POP}?{query}", headers=JSON)
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    assert (response.status, response.getheader("Content-Type")) == (status, "application/json")
    assert fragment in body


# --- the explicit negative cases -----------------------------------------------------------------


@pytest.mark.parametrize(
    "query, status, code, fragment",
    [
        ("", 400, "bad-parameter", "parameter 'company' is required"),
        ("brand=1", 400, "bad-parameter", "parameter 'company' is required"),
        ("company=1", 400, "bad-parameter", "parameter 'brand' is required"),
        ("company=&brand=1", 400, "bad-parameter", "parameter 'company' is required"),
        (
            "company=0&brand=1",
            400,
            "bad-parameter",
            "parameter 'company' must be a positive integer, not '0'",
        ),
        (
            "company=-1&brand=1",
            400,
            "bad-parameter",
            "parameter 'company' must be a positive integer, not '-1'",
        ),
        (
            "company=abc&brand=1",
            400,
            "bad-parameter",
            "parameter 'company' must be a positive integer, not 'abc'",
        ),
        (
            "company=1.5&brand=1",
            400,
            "bad-parameter",
            "parameter 'company' must be a positive integer, not '1.5'",
        ),
        (
            "company=%201&brand=1",
            400,
            "bad-parameter",
            "parameter 'company' must be a positive integer, not ' 1'",
        ),
        (
            "company=99999999999&brand=1",
            400,
            "bad-parameter",
            "parameter 'company' must be a positive integer",
        ),
        (
            "company=1&brand=0",
            400,
            "bad-parameter",
            "parameter 'brand' must be a positive integer, not '0'",
        ),
        (
            "company=1&brand=x",
            400,
            "bad-parameter",
            "parameter 'brand' must be a positive integer, not 'x'",
        ),
        ("company=99&brand=1", 404, "unknown-company", "company 99 does not exist"),
        ("company=1&brand=99", 404, "unknown-brand", "brand 99 does not exist in company 1"),
        ("company=1&brand=4", 404, "unknown-brand", "brand 4 of company 1 is not active"),
        ("company=2&brand=9", 404, "unknown-brand", "brand 9 does not exist in company 2"),
    ],
    ids=[
        "nothing",
        "missing-company",
        "missing-brand",
        "empty-company",
        "company-0",
        "company-minus-1",
        "company-abc",
        "company-1.5",
        "company-space-1",
        "company-too-big",
        "brand-0",
        "brand-x",
        "unknown-company",
        "unknown-brand",
        "inactive-brand",
        "unknown-brand-company-2",
    ],
)
def test_bad_pop_parameters(client, query, status, code, fragment):
    """A bad or unknown company or brand: the status, the code and a message naming it."""
    response = client.get(f"{POP}?{query}", headers=JSON)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]


def test_bad_pop_parameter_on_the_html_error_page(client):
    """A browser gets the same code and message as a page, the bad value reflected (escaped)."""
    response = client.get(f"{POP}?company=%3Cb%3Eabc&brand=1")
    assert (response.status_code, response.mimetype) == (400, "text/html")
    page = response.get_data(as_text=True)
    assert text_by_id(page, "error-code") == "bad-parameter"
    assert (
        text_by_id(page, "error-message")
        == "parameter 'company' must be a positive integer, not '<b>abc'"
    )
    assert "<b>abc" not in page


@pytest.mark.parametrize(
    "query, status, code, fragment",
    [
        (
            "company=2&brand=1",
            400,
            "community-edition",
            "company and brand must be 1 (got company=2, brand=1)",
        ),
        (
            "company=1&brand=2",
            400,
            "community-edition",
            "company and brand must be 1 (got company=1, brand=2)",
        ),
        (
            "company=2&brand=2",
            400,
            "community-edition",
            "the Community edition has a single company",
        ),
        (
            "company=x&brand=1",
            400,
            "bad-parameter",
            "parameter 'company' must be a positive integer",
        ),
    ],
    ids=["company-2", "brand-2", "both-2", "malformed-first"],
)
def test_community_edition_allows_only_company_1_brand_1(tmp_path, query, status, code, fragment):
    """In the Community edition a pop to anything but company 1, brand 1 is a 400 that says why."""
    app = create_app(
        Settings.load(
            environ={}, overrides={"db": str(tmp_path / "store.db"), "edition": "community"}
        )
    )
    try:
        client = app.test_client()
        assert client.get(f"{POP}?company=1&brand=1", headers=JSON).status_code == 200
        response = client.get(f"{POP}?{query}", headers=JSON)
        assert response.status_code == status
        error = response.get_json()["error"]
        assert (error["code"], fragment in error["message"]) == (code, True), error
    finally:
        app.extensions["mockspice"].prepared.cleanup()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE"])
def test_pop_answers_only_get_and_head(client, method):
    """Any other method on the pop is a 405 that names the method and the allowed ones."""
    response = client.open(f"{POP}?company=1&brand=1", method=method, headers=JSON)
    assert response.status_code == 405
    error = response.get_json()["error"]
    assert error["code"] == "method-not-allowed"
    assert f"method {method} is not allowed here; use GET, HEAD" in error["message"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", POP + "?company=1&brand=1"),
        ("DELETE", CONTROL + "/health"),
        ("GET", CONTROL + "/reset"),
    ],
)
def test_405_has_the_allow_header(client, method, path):
    """RFC 9110 section 15.5.6: a 405 answer MUST carry an Allow header listing the methods."""
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.headers.get("Allow"), f"405 without Allow: {dict(response.headers)}"


@pytest.mark.parametrize(
    "method, path, status, code, fragment",
    [
        ("GET", "/nope", 404, "not-found", "no such URL: /_mockspice/nope"),
        (
            "GET",
            "/journal?kind=bogus",
            400,
            "bad-parameter",
            "parameter 'kind' must be one of pop, api, webcall",
        ),
        ("GET", "/journal?kind=", 400, "bad-parameter", "parameter 'kind' must be one of"),
        (
            "GET",
            "/journal?limit=-1",
            400,
            "bad-parameter",
            "parameter 'limit' must be a whole number",
        ),
        (
            "GET",
            "/journal?limit=ten",
            400,
            "bad-parameter",
            "parameter 'limit' must be a whole number",
        ),
        (
            "GET",
            "/journal?since=garbage",
            400,
            "bad-parameter",
            "parameter 'since' must be an entry id or an ISO 8601 time",
        ),
        (
            "GET",
            "/journal?since=2026-13-01",
            400,
            "bad-parameter",
            "parameter 'since' must be an entry id or an ISO 8601 time",
        ),
        (
            "GET",
            "/journal?since=9999-12-31T23:59:59-23:59",
            400,
            "bad-parameter",
            "parameter 'since'",
        ),
        (
            "GET",
            "/journal?since=0001-01-01T00:00:00%2B23:59",
            400,
            "bad-parameter",
            "parameter 'since'",
        ),
        ("POST", "/health", 405, "method-not-allowed", "method POST is not allowed here"),
        ("GET", "/reset", 405, "method-not-allowed", "method GET is not allowed here"),
    ],
    ids=[
        "unknown-path",
        "kind-bogus",
        "kind-empty",
        "limit-minus-1",
        "limit-word",
        "since-garbage",
        "since-month-13",
        "since-overflows-up",
        "since-overflows-down",
        "post-health",
        "get-reset",
    ],
)
def test_bad_control_requests(client, method, path, status, code, fragment):
    """The control API's errors: JSON with the status, the code and a message naming the problem."""
    response = client.open(CONTROL + path, method=method)
    assert response.status_code == status, response.data[:300]
    error = response.get_json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]


def _set(path: tuple, value: Any) -> Callable[[dict], dict]:
    def change(state: dict) -> dict:
        node = state
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        return state

    return change


@pytest.mark.parametrize(
    "body, status, code, fragment",
    [
        (b"", 400, "bad-parameter", "the request body is empty"),
        (b"not json", 400, "bad-parameter", "the request body is not valid JSON"),
        (b"\xff\xfe\x00", 400, "bad-parameter", "the request body is not UTF-8 text"),
        (b"[" * 100000, 400, "bad-parameter", "the request body is not valid JSON"),
        (b"[]", 400, "bad-dataset", "request body: must be a mapping (a dataset)"),
        (b'"demo"', 400, "bad-dataset", "request body: must be a mapping (a dataset)"),
        (
            b'{"bogus": 1}',
            400,
            "bad-dataset",
            "request body: bogus: unknown key 'bogus' in a dataset",
        ),
        (
            b'{"format": "other/9"}',
            400,
            "bad-dataset",
            "request body: format: unknown format 'other/9'",
        ),
        (
            _set(("companies", 0, "accounts", 0, "brand"), 77),
            400,
            "bad-dataset",
            "request body: companies[0].accounts[0].brand: no brand with id 77",
        ),
        (
            _set(("companies", 0, "accounts", 1, "userkey"), "jdoe"),
            400,
            "bad-dataset",
            "request body: companies[0].accounts[1].userkey: duplicate userkey 'jdoe' (first at "
            "companies[0].accounts[0])",
        ),
        (
            _set(("companies", 0, "cases", 0, "userkey"), "nobody"),
            400,
            "bad-dataset",
            "request body: companies[0].cases[0].userkey: no account with userkey 'nobody'",
        ),
        (
            _set(("companies", 0, "brands", 0, "id"), 0),
            400,
            "bad-dataset",
            "request body: companies[0].brands[0].id: must be a positive id",
        ),
        (
            _set(("companies", 0, "cases", 0, "created"), "9999-12-31T23:59:59-23:59"),
            400,
            "bad-dataset",
            "request body: companies[0].cases[0].created",
        ),
        (_set(("companies", 0, "label"), "\ud800"), 400, "bad-parameter", "lone surrogate"),
        (_set(("agents", 0, "password"), "\ud800"), 400, "bad-parameter", "lone surrogate"),
        (
            b'{"companies": [{"id": 1, "label": "a\\udfffb"}]}',
            400,
            "bad-parameter",
            "lone surrogate",
        ),
    ],
    ids=[
        "empty",
        "not-json",
        "not-utf8",
        "too-deep",
        "array",
        "string",
        "unknown-key",
        "unknown-format",
        "dangling-brand",
        "duplicate-userkey",
        "dangling-userkey",
        "brand-id-0",
        "created-overflows",
        "lone-surrogate-label",
        "lone-surrogate-password",
        "lone-low-surrogate",
    ],
)
def test_bad_state_is_refused_and_nothing_changes(client, body, status, code, fragment):
    """PUT state with a bad dataset: 400 naming the place and the reason; the state is as before."""
    before = client.get(CONTROL + "/state").get_json()
    if callable(body):
        body = json.dumps(body(copy.deepcopy(before))).encode()
    response = client.put(CONTROL + "/state", data=body, content_type="application/json")
    assert response.status_code == status, response.data[:300]
    error = response.get_json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]
    assert client.get(CONTROL + "/state").get_json() == before


def test_repeated_format_follows_the_last_value_like_every_other_parameter(client):
    """PHP's ``$_GET`` (and the pop, for its parameters) keeps the last of a repeated parameter.

    ``format`` is read with the same rule, so ``format=html&format=json`` answers JSON.
    """
    response = client.get(f"{POP}?company=1&brand=1&callid=a&callid=b&format=html&format=json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["callid"] == "b"
