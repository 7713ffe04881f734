"""Hostile partners (issue 4 §6): real servers on loopback ports, each met by the real engine.

Every case asserts the outcome, the finding code and a fragment of its message; the last tests
show that the real server goes on serving and journals the exchange once, and that memory stays
bounded after all of them.
"""

from __future__ import annotations

import gc
import gzip
import time
from pathlib import Path

import pytest
from partner_servers import (
    JDOE_SEARCH,
    MiB,
    RawPartner,
    RefusedPort,
    TrapFile,
    drip,
    http_reply,
    huge,
    load_reply,
    reset,
    search_reply,
    send,
)

from mockspice.webcalls.engine import MASK, Endpoint, Engine
from mockspice.webcalls.transport import Transport

TIMEOUT_S = 2.0
SECRET = "s3cret-pass"
OTHER_HOST = "127.0.0.2"  # loopback too, but another host than the partner's 127.0.0.1

HTML_500 = http_reply(
    "500 Internal Server Error",
    b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error"
    b"</title></head><body><h1>Internal Server Error</h1></body></html>\n",
    {"Content-Type": "text/html; charset=utf-8"},
)
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE users [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<users><user status="Active" userkey="jdoe" name="&lol9;" email="" phone="" /></users>
"""


def gzip_bomb(size: int = 100 * MiB) -> bytes:
    """A 200 reply of ``size`` zero bytes, gzip-compressed to about a thousandth of that."""
    return http_reply(
        "200 OK",
        gzip.compress(bytes(size), compresslevel=9, mtime=0),
        {"Content-Type": "text/xml", "Content-Encoding": "gzip"},
    )


# name: (reply, outcome, finding code, message fragment)
SIMPLE = {
    "html-500-page": (HTML_500, "error", "http-status", "the partner answered HTTP 500"),
    "empty-200": (http_reply("200 OK"), "invalid", "empty-body", "the body is empty"),
    "userdata-to-a-search": (
        http_reply("200 OK", load_reply("jdoe")),
        "invalid",
        "wrong-root",
        "the root element is <userdata>, but a search document must be <users>",
    ),
    "invalid-utf8-bytes-in-a-value": (
        http_reply("200 OK", search_reply(JDOE_SEARCH).replace(b"John%20Doe", b"Jo\xffhn")),
        "invalid",
        "bad-encoding",
        "the bytes are not in the declared encoding",
    ),
    "invalid-utf8-percent-encoded-in-a-value": (
        http_reply("200 OK", search_reply(JDOE_SEARCH.replace("John%20Doe", "Jo%C3%28hn"))),
        "invalid",
        "invalid-utf8",
        "'Jo%C3%28hn' decodes to bytes that are not UTF-8",
    ),
    "billion-laughs": (
        http_reply("200 OK", BILLION_LAUGHS),
        "invalid",
        "doctype-refused",
        "nothing was expanded or fetched",
    ),
    "gzip-bomb": (gzip_bomb(), "invalid", "reply-too-large", "the reply is larger than"),
    "reply-cut-short": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n<users>",
        "unreachable",
        "unreachable",
        "IncompleteRead(7 bytes read, 993 more expected)",
    ),
    "broken-chunked-encoding": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n",
        "unreachable",
        "unreachable",
        "invalid literal for int() with base 16",
    ),
    "broken-gzip": (
        http_reply("200 OK", b"<users/>", {"Content-Encoding": "gzip"}),
        "unreachable",
        "unreachable",
        "Error -3 while decompressing data: incorrect header check",
    ),
    "not-http": (
        b"220 smtp.partner.example ESMTP ready\r\n",
        "unreachable",
        "unreachable",
        "220 smtp.partner.example ESMTP ready",
    ),
}


def _status_kb(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{name} not in /proc/self/status")


@pytest.fixture
def engine():
    """The real engine and transport, as the app builds them, with a 1 MiB reply cap."""
    transport = Transport(max_reply_bytes=1 * MiB)
    yield Engine(transport)
    transport.close()


def search(engine: Engine, url: str):
    """One search web call, timed from outside the engine too."""
    started = time.monotonic()
    exchange = engine.search(Endpoint(url, "spice", SECRET, TIMEOUT_S), {"pphone": "5555555555"})
    return exchange, time.monotonic() - started


def assert_finding(exchange, outcome: str, code: str, fragment: str) -> None:
    """The outcome, and a finding of ``code`` whose message holds ``fragment``."""
    found = [(f.code, f.message) for f in exchange.findings]
    assert exchange.outcome == outcome, found
    assert any(c == code and fragment in m for c, m in found), found


@pytest.mark.parametrize("name", SIMPLE)
def test_a_hostile_reply_gets_its_outcome_and_finding(engine, name):
    reply, outcome, code, fragment = SIMPLE[name]
    with RawPartner(send(reply)) as partner:
        exchange, _ = search(engine, partner.url)
    assert_finding(exchange, outcome, code, fragment)
    assert partner.errors == []
    assert (
        dict(exchange.form)["intPass"] == SECRET
        and exchange.as_dict()["request"]["form"]["intPass"] == MASK
    )


@pytest.mark.parametrize(
    "head_at_once", [False, True], ids=["head-and-body-drip", "only-the-body-drips"]
)
def test_a_reply_at_one_byte_per_second_times_out_within_the_timeout_plus_one_second(
    engine, head_at_once
):
    reply = http_reply("200 OK", search_reply(JDOE_SEARCH))
    with RawPartner(drip(reply, head_at_once=head_at_once)) as partner:
        exchange, elapsed = search(engine, partner.url)
    assert_finding(exchange, "timeout", "timeout", "no complete reply within 2 s")
    assert TIMEOUT_S - 0.1 <= elapsed <= TIMEOUT_S + 1, elapsed
    assert TIMEOUT_S * 1000 - 100 <= exchange.elapsed_ms <= (TIMEOUT_S + 1) * 1000
    assert partner.connections == 1 and partner.errors == []


def test_a_connection_reset_is_unreachable(engine):
    with RawPartner(reset()) as partner:
        exchange, _ = search(engine, partner.url)
    assert_finding(exchange, "unreachable", "unreachable", "connection reset by the partner")
    assert partner.connections == 1 and len(partner.requests) == 1


def test_a_refused_port_is_unreachable(engine):
    with RefusedPort() as port:
        exchange, elapsed = search(engine, port.url)
    assert_finding(exchange, "unreachable", "unreachable", f"{port.url}: connection refused")
    assert elapsed < TIMEOUT_S


@pytest.mark.parametrize("cap", [1 * MiB, None], ids=["1-MiB-cap", "default-cap"])
def test_a_50_mib_reply_is_cut_at_the_cap(cap):
    transport = Transport() if cap is None else Transport(max_reply_bytes=cap)
    cap = transport.max_reply_bytes
    try:
        with RawPartner(huge(50 * MiB)) as partner:
            exchange, elapsed = search(Engine(transport), partner.url)
    finally:
        transport.close()
    assert_finding(
        exchange,
        "invalid",
        "reply-too-large",
        f"the reply is larger than {cap} bytes; it was cut there",
    )
    assert len(exchange.body) == cap and exchange.truncated and exchange.records == []
    assert partner.bytes_sent < 50 * MiB, (
        "the transport read the whole reply instead of dropping it"
    )
    assert elapsed < TIMEOUT_S


def test_a_redirect_to_another_host_is_an_error_and_not_followed(engine):
    with (
        RawPartner(send(http_reply("200 OK", search_reply(JDOE_SEARCH))), host=OTHER_HOST) as other,
        RawPartner(send(http_reply("302 Found", b"", {"Location": other.url}))) as partner,
    ):
        exchange, _ = search(engine, partner.url)
    assert_finding(
        exchange, "error", "redirect", f"the partner answered 302 pointing to {other.url}"
    )
    assert exchange.status == 302 and exchange.headers["Location"] == other.url
    assert other.connections == 0


XXE = """<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE users [
  <!ENTITY xxe SYSTEM "{url}">
  <!ENTITY % remote SYSTEM "{url}">
  %remote;
]>
<users><user status="Active" userkey="&xxe;" name="John%20Doe" email="" phone="" /></users>
"""
# (declared encoding, Python codec): UTF-16 with a byte-order mark, and without one.
ENCODINGS = {
    "utf-8": ("UTF-8", "utf-8"),
    "utf-16": ("UTF-16", "utf-16"),
    "utf-16-no-bom": ("UTF-16", "utf-16-le"),
}


def xxe(encoding: str, url: str) -> bytes:
    """A search reply whose DOCTYPE declares an external entity and an external parameter entity."""
    declared, codec = ENCODINGS[encoding]
    return XXE.format(encoding=declared, url=url).encode(codec)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_external_entity_on_a_server_is_refused_and_not_fetched(engine, encoding):
    with RawPartner(send(http_reply("200 OK", b"<!ENTITY leak 'stolen'>"))) as evil:
        with RawPartner(send(http_reply("200 OK", xxe(encoding, evil.url)))) as partner:
            exchange, _ = search(engine, partner.url)
        assert evil.connections == 0, "the external entity was fetched"
    assert exchange.records == []
    assert_finding(exchange, "invalid", "doctype-refused", "refuses DTDs")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_external_entity_on_a_local_file_is_refused_and_not_read(engine, encoding, tmp_path):
    with TrapFile(tmp_path) as trap:
        with RawPartner(send(http_reply("200 OK", xxe(encoding, trap.url)))) as partner:
            exchange, _ = search(engine, partner.url)
        assert not trap.opened, (
            f"the parser opened {trap.path}, named by an external entity of the reply"
        )
    assert exchange.records == []
    assert_finding(exchange, "invalid", "doctype-refused", "refuses DTDs")


def run_every_hostile_partner() -> None:
    """Meet each hostile partner once, through one engine with the default reply cap."""
    transport = Transport()
    engine = Engine(transport)
    try:
        for reply, outcome, _, _ in SIMPLE.values():
            with RawPartner(send(reply)) as partner:
                assert search(engine, partner.url)[0].outcome == outcome
        for behaviour, outcome in [
            (drip(http_reply("200 OK", b"<users/>"), head_at_once=True), "timeout"),
            (reset(), "unreachable"),
            (huge(50 * MiB), "invalid"),
            (huge(50 * MiB), "invalid"),
        ]:
            with RawPartner(behaviour) as partner:
                assert search(engine, partner.url)[0].outcome == outcome
        with RawPartner(send(b"")) as evil:
            for encoding in ENCODINGS:
                with RawPartner(send(http_reply("200 OK", xxe(encoding, evil.url)))) as partner:
                    assert search(engine, partner.url)[0].outcome == "invalid"
    finally:
        transport.close()


def test_memory_stays_bounded_after_every_hostile_partner():
    run_every_hostile_partner()  # warm up: imports, compiled schemas, allocator arenas
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from now
    before = _status_kb("VmRSS")
    run_every_hostile_partner()
    gc.collect()
    grown_mb, peak_mb = (_status_kb("VmRSS") - before) / 1024, (_status_kb("VmHWM") - before) / 1024
    assert grown_mb < 100, f"RSS grew by {grown_mb:.0f} MB"
    assert peak_mb < 100, f"RSS peaked {peak_mb:.0f} MB above where it started"


# --- through the real server ---------------------------------------------------------------

LIVE_CASES = {
    "drip": (
        lambda: drip(http_reply("200 OK", b"<users/>")),
        "timeout",
        "timeout",
        "no complete reply within 2 s",
    ),
    "reset": (reset, "unreachable", "unreachable", "connection reset by the partner"),
    "50-MiB": (lambda: huge(50 * MiB), "invalid", "reply-too-large", "larger than 10485760 bytes"),
    "html-500": (lambda: send(HTML_500), "error", "http-status", "HTTP 500"),
    "billion-laughs": (
        lambda: send(http_reply("200 OK", BILLION_LAUGHS)),
        "invalid",
        "doctype-refused",
        "nothing was expanded or fetched",
    ),
}


@pytest.mark.parametrize("name", LIVE_CASES)
def test_the_real_server_survives_a_hostile_partner_and_journals_it_once(live, name):
    behaviour, outcome, code, fragment = LIVE_CASES[name]
    with RawPartner(behaviour()) as partner:
        put = live.request(
            "PUT",
            "/_mockspice/brands/1/1/webcalls",
            json={
                "search_url": partner.url,
                "int_user": "spice",
                "int_pass": SECRET,
                "timeout_s": TIMEOUT_S,
            },
        )
        assert put.status_code == 200, put.text
        fired = live.request(
            "POST",
            "/_mockspice/webcalls/search",
            json={"company": 1, "brand": 1, "variables": {"PrimaryPhone": "5555555555"}},
        )
    assert fired.status_code == 200, fired.text
    answer = fired.json()
    assert answer["outcome"] == outcome, answer["findings"]
    assert any(f["code"] == code and fragment in f["message"] for f in answer["findings"]), answer[
        "findings"
    ]
    assert answer["request"]["form"]["intPass"] == MASK and SECRET not in fired.text
    assert live.get("/_mockspice/health").status_code == 200

    journal = live.get("/_mockspice/journal?kind=webcall").json()
    assert journal["count"] == 1
    entry = journal["entries"][0]
    assert entry["exchange"]["id"] == answer["id"] == entry["id"]
    assert entry["exchange"]["outcome"] == outcome
    assert entry["exchange"]["request"]["form"]["intPass"] == MASK
    assert SECRET not in live.get("/_mockspice/journal").text
    assert not [line for line in live.log if SECRET in line], "intPass in the server's log"
    if name == "50-MiB":
        assert entry["exchange"]["response"]["truncated"] is True
        assert len(entry["exchange"]["response"]["body"]) == 64 * 1024
        assert entry["exchange"]["response"]["size"] == 10 * MiB
    assert b"intPass=" + SECRET.encode() in partner.requests[0].body
