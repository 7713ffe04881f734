"""The API's transport: the form body as SpiceCSM's clients send it, a JSON body, and what PHP's
decoding does.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
FORM = "application/x-www-form-urlencoded"


class OpenACDClient:
    """Speaks as OpenACD's spicecsm_integration.erl does: raw JSON
    after ``request=``, counting ids.
    """

    def __init__(self, client):
        self.client, self.next_id, self.session = client, 1, None

    def call(self, method: str, *params):
        """One 1.0 call; the session (once connected) is appended as the last parameter."""
        if self.session is not None:
            params = (*params, self.session)
        text = json.dumps(
            {"method": method, "params": list(params), "id": self.next_id}, separators=(",", ":")
        )
        self.next_id += 1
        response = self.client.post(API, data=b"request=" + text.encode(), content_type=FORM)
        assert response.status_code == 200 and response.content_type == "application/json"
        return response.get_json()

    def connect(self, user: str, password: str) -> dict:
        """``connect`` and keep the session for later calls."""
        reply = self.call("connect", user, password)
        self.session = reply["result"]["session"]
        return reply


def _api_entries(client) -> list[dict]:
    return client.get("/_mockspice/journal?kind=api").get_json()["entries"]


def test_openacd_client_session_and_counting_ids(client):
    spice = OpenACDClient(client)
    connected = spice.connect("admin", "admin")
    assert connected["error"] is None and connected["id"] == 1
    assert (
        connected["result"]["security_level"] == "4" and len(connected["result"]["session"]) == 32
    )
    brands = spice.call(
        "query", "select BrandID, BrandLabel, BrandListLabel from 1_tblBrand where Active=1"
    )
    assert brands["id"] == 2 and brands["error"] is None
    assert brands["result"][0] == {
        "brandid": "1",
        "brandlabel": "Acme Support",
        "brandlistlabel": "Acme",
    }
    assert spice.call("checkSession") == {
        "result": {"msg": "valid", "security_level": "4"},
        "error": None,
        "id": 3,
    }
    assert all(
        e["transport"] == "form" and e["style"] == "1.0" and e["findings"] == []
        for e in _api_entries(client)
    )


def test_json_body(client):
    reply = client.post(
        API, json={"method": "connect", "params": ["admin", "admin"], "id": 9}
    ).get_json()
    assert reply["id"] == 9 and reply["error"] is None and reply["result"]["security_level"] == "4"
    assert _api_entries(client)[-1]["transport"] == "json"


def test_unencoded_plus_arrives_as_a_space_and_is_flagged(client):
    spice = OpenACDClient(client)
    spice.connect("admin", "admin")
    reply = spice.call("query", "select 'a+b' as v")
    assert reply["result"] == [{"v": "a b"}]  # as PHP's $_POST gives it to the real server
    finding = _api_entries(client)[-1]["findings"]
    assert [(f["severity"], f["code"]) for f in finding] == [("warning", "unencoded-form-body")]
    assert "literal '+'" in finding[0]["message"] and "%2B" in finding[0]["message"]


def test_url_encoded_form_keeps_the_plus_and_is_not_flagged(client):
    session = OpenACDClient(client).connect("admin", "admin")["result"]["session"]
    text = json.dumps({"method": "query", "params": ["select 'a+b' as v", session], "id": 1})
    response = client.post(API, data="request=" + quote(text, safe=""), content_type=FORM)
    assert response.get_json()["result"] == [{"v": "a+b"}]
    assert _api_entries(client)[-1]["findings"] == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json; charset=utf-8", "application/xml", None]
)
def test_a_json_body_is_read_whatever_the_content_type(client, content_type):
    # A generic PHP JSON-RPC server reads php://input, whatever the header says.
    body = b'{"method": "resetPass", "params": ["admin"], "id": 1}'
    response = client.post(API, data=body, content_type=content_type)
    assert response.get_json() == {"result": {"msg": "sent"}, "error": None, "id": 1}


@pytest.mark.parametrize(
    "content_type, body, message",
    [
        ("application/xml", b"<call/>", "Parse error: Expecting value"),
        (FORM, b"foo=bar", "Parse error: the form has no 'request' field"),
        (FORM, b"", "Parse error: the form has no 'request' field"),
        (
            FORM,
            b' {"method": "resetPass", "params": ["admin"], "id": 1}',  # curl -d '{...}'
            "Parse error: the body is JSON but its Content-Type is a form's "
            "(application/x-www-form-urlencoded): "
            "send JSON with Content-Type: application/json, or a form as request=<the JSON of the "
            "call>",
        ),
        (None, b"", "Parse error: Expecting value"),
        ("text/plain", b"\xff\xfe", "Parse error: the request is not UTF-8 text"),
    ],
)
def test_unreadable_bodies_get_a_10_parse_error(client, content_type, body, message):
    response = client.post(API, data=body, content_type=content_type)
    assert response.status_code == 200
    reply = response.get_json()
    assert reply["result"] is None and reply["id"] is None and reply["error"].startswith(message)


def test_multipart_form_with_a_request_field(client):
    response = client.post(
        API,
        data={"request": '{"method": "resetPass", "params": ["admin"], "id": 1}'},
        content_type="multipart/form-data",
    )
    assert response.get_json() == {"result": {"msg": "sent"}, "error": None, "id": 1}


def test_get_is_405(client):
    response = client.get(API, headers={"Accept": "application/json"})
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert response.get_json()["error"] == {
        "code": "method-not-allowed",
        "message": "method GET is not allowed here; use OPTIONS, POST",
    }
    assert client.get(API).status_code == 405  # a browser gets the same as a page


def test_session_by_header_and_by_name(client):
    session = OpenACDClient(client).connect("admin", "admin")["result"]["session"]
    by_header = client.post(
        API,
        json={"jsonrpc": "2.0", "method": "checkSession", "id": 1},
        headers={"X-Spice-Session": session},
    ).get_json()
    assert by_header == {
        "jsonrpc": "2.0",
        "result": {"msg": "valid", "security_level": "4"},
        "id": 1,
    }
    by_name = client.post(
        API,
        json={"jsonrpc": "2.0", "method": "checkSession", "params": {"session": session}, "id": 2},
    ).get_json()
    assert by_name["result"]["msg"] == "valid"
    missing = client.post(
        API, json={"jsonrpc": "2.0", "method": "checkSession", "id": 3}
    ).get_json()
    assert (
        missing["error"]["code"] == -32001 and missing["error"]["data"]["code"] == "invalid-session"
    )
