"""The transport's edge cases, with ``responses`` standing in for the partner (unit tests only)."""

from __future__ import annotations

import pytest
import requests
import responses
import urllib3

from mockspice.webcalls.transport import USER_AGENT, Transport

URL = "https://partner.example/spice/search.php"
FORM = [
    ("intUser", "spice"),
    ("intPass", "p&ss word"),
    ("PrimaryPhone", "(555) 555-5555"),
    ("SecondayPhone", "+1 555"),
    ("CustFields", "1\\Gold,2\\2024"),
]


@pytest.fixture
def transport():
    """A transport with a small reply cap, closed after the test."""
    t = Transport(max_reply_bytes=1000)
    yield t
    t.close()


@pytest.mark.parametrize(
    "error, outcome, message",
    [
        (
            requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused")),
            "unreachable",
            "connection refused",
        ),
        (
            requests.exceptions.ConnectionError(
                ConnectionResetError(104, "Connection reset by peer")
            ),
            "unreachable",
            "connection reset by the partner",
        ),
        (
            requests.exceptions.ConnectionError("Failed to resolve 'partner.example'"),
            "unreachable",
            "host name not found",
        ),
        (
            requests.exceptions.SSLError("certificate verify failed: self-signed certificate"),
            "unreachable",
            "TLS failed: certificate verify failed: self-signed certificate",
        ),
        (
            requests.exceptions.ConnectTimeout("connect timed out"),
            "timeout",
            "no complete reply within 3 s",
        ),
        (
            requests.exceptions.ReadTimeout("read timed out"),
            "timeout",
            "no complete reply within 3 s",
        ),
    ],
    ids=["refused", "reset", "dns", "tls", "connect-timeout", "read-timeout"],
)
@responses.activate
def test_a_failure_is_a_reply_never_an_exception(transport, error, outcome, message):
    responses.post(URL, body=error)
    reply = transport.post(URL, FORM, timeout_s=3)
    assert (reply.outcome, reply.error) == (outcome, message)
    assert reply.status is None and reply.body == b"" and reply.elapsed_ms >= 0


@pytest.mark.parametrize(
    "url, message",
    [
        (
            "ftp://partner.example/x",
            "bad URL: No connection adapters were found for 'ftp://partner.example/x'",
        ),
        ("partner.example/x", "bad URL: Invalid URL 'partner.example/x': No scheme supplied"),
        ("http://", "bad URL: Invalid URL 'http://': No host supplied"),
    ],
)
def test_a_bad_url_is_unreachable_with_the_reason(transport, url, message):
    reply = transport.post(url, FORM, timeout_s=3)
    assert reply.outcome == "unreachable"
    assert reply.error.startswith(message), reply.error


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@responses.activate
def test_a_redirect_is_not_followed_and_its_location_kept(transport, status):
    responses.post(URL, status=status, headers={"Location": "https://elsewhere.example/steal"})
    responses.get("https://elsewhere.example/steal", body="followed")
    responses.post("https://elsewhere.example/steal", body="followed")
    reply = transport.post(URL, FORM, timeout_s=3)
    assert (reply.outcome, reply.status) == ("ok", status)
    assert reply.headers["Location"] == "https://elsewhere.example/steal"
    assert [c.request.url for c in responses.calls] == [URL]


@pytest.mark.parametrize(
    "size, truncated", [(999, False), (1000, False), (1001, True), (200_000, True)]
)
@responses.activate
def test_a_body_over_the_cap_is_cut_at_the_cap(transport, size, truncated):
    responses.post(URL, body=b"x" * size)
    reply = transport.post(URL, FORM, timeout_s=3)
    assert reply.outcome == "ok" and reply.truncated is truncated
    assert reply.body == b"x" * min(size, 1000)


@responses.activate
def test_status_and_headers_are_kept(transport):
    responses.post(
        URL,
        status=500,
        body=b"<html>oops</html>",
        headers={"X-Powered-By": "PHP/5.2.17", "Set-Cookie": "PHPSESSID=abc"},
        content_type="text/html; charset=iso-8859-1",
    )
    reply = transport.post(URL, FORM, timeout_s=3)
    assert (reply.outcome, reply.status, reply.body) == ("ok", 500, b"<html>oops</html>")
    assert reply.headers["X-Powered-By"] == "PHP/5.2.17"
    assert reply.headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert reply.headers["Set-Cookie"] == "PHPSESSID=abc"


@responses.activate
def test_the_form_is_sent_urlencoded_in_order(transport):
    responses.post(URL, body=b"<users/>")
    transport.post(URL, FORM, timeout_s=3)
    request = responses.calls[0].request
    assert request.body == (
        "intUser=spice&intPass=p%26ss+word&PrimaryPhone=%28555%29+555-5555"
        "&SecondayPhone=%2B1+555&CustFields=1%5CGold%2C2%5C2024"
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.method == "POST"


@pytest.mark.parametrize("verify", [True, False])
@responses.activate
def test_the_tls_setting_is_passed_to_every_call(verify):
    transport = Transport(verify_tls=verify)
    responses.post(URL, body=b"<users/>")
    try:
        transport.post(URL, FORM, timeout_s=3)
    finally:
        transport.close()
    assert responses.calls[0].request.req_kwargs["verify"] is verify


@responses.activate
def test_the_timeouts_are_passed_connect_capped_by_the_call(transport):
    responses.post(URL, body=b"<users/>")
    transport.post(URL, FORM, timeout_s=2.5)
    transport.post(URL, FORM, timeout_s=30)
    assert [c.request.req_kwargs["timeout"] for c in responses.calls] == [(2.5, 2.5), (5.0, 30)]
    assert all(c.request.req_kwargs["stream"] is True for c in responses.calls)


@responses.activate
def test_a_reply_cut_mid_stream_is_unreachable(transport):
    # What requests raises when the connection ends before Content-Length bytes came.
    responses.post(
        URL,
        body=requests.exceptions.ChunkedEncodingError(
            urllib3.exceptions.ProtocolError(
                "Connection broken: IncompleteRead(10 bytes read, 90 more expected)"
            )
        ),
    )
    reply = transport.post(URL, FORM, timeout_s=3)
    assert reply.outcome == "unreachable"
    assert "IncompleteRead(10 bytes read, 90 more expected)" in reply.error
