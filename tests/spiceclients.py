"""Clients of SpiceCSM's JSON-RPC API as real clients speak it, for the API tests.

``OpenACD`` speaks as the OpenACD integration does (spicecsm-facts.md): a form body
``request=`` followed by the raw JSON (not url-encoded), JSON-RPC 1.0, counting ids, the
session appended as the last parameter. ``Rpc20`` is a JSON-RPC 2.0 client with JSON bodies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

API = "/spiceinstall/api/spiceAPIServer/spiceAPIServer.php"
FORM = "application/x-www-form-urlencoded"
PASSWORDS = {"admin": "admin", "globex.admin": "admin"}  # every other demo agent's is "spice"


class OpenACD:
    """A JSON-RPC 1.0 client on Flask's test client; logged in when given a login."""

    def __init__(self, client: Any, login: str | None = None, password: str | None = None):
        self.client, self.next_id, self.session = client, 1, None
        if login is not None:
            self.session = self.result("connect", login, password or PASSWORDS.get(login, "spice"))[
                "session"
            ]

    def call(self, method: str, *params: Any) -> dict[str, Any]:
        """One call; the reply envelope (checked to be 1.0's: result, error and id)."""
        if self.session is not None:
            params = (*params, self.session)
        body = json.dumps(
            {"method": method, "params": list(params), "id": self.next_id}, ensure_ascii=False
        )
        response = self.client.post(API, data=b"request=" + body.encode(), content_type=FORM)
        assert response.status_code == 200, response.data
        reply = response.get_json()
        assert reply["id"] == self.next_id and set(reply) == {"result", "error", "id"}
        self.next_id += 1
        return reply

    def result(self, method: str, *params: Any) -> Any:
        """The result of a call that must succeed."""
        reply = self.call(method, *params)
        assert reply["error"] is None, reply["error"]
        return reply["result"]

    def error(self, method: str, *params: Any) -> str:
        """The 1.0 error message of a call that must fail."""
        reply = self.call(method, *params)
        assert reply["result"] is None and isinstance(reply["error"], str), reply
        return reply["error"]


class Rpc20:
    """A JSON-RPC 2.0 client over any ``post(body) -> reply``; the session is the last parameter."""

    def __init__(self, post: Callable[[dict], dict], session: str | None = None):
        self.post, self.session, self.id = post, session, 0

    @classmethod
    def on(cls, client: Any, session: str | None = None, login: str | None = None) -> Rpc20:
        """A 2.0 client on Flask's test client (logged in when given a login)."""
        rpc = cls(lambda body: client.post(API, json=body).get_json(), session)
        if login is not None:
            rpc.session = rpc.result("connect", login, PASSWORDS.get(login, "spice"))["session"]
        return rpc

    def call(self, method: str, *params: Any) -> dict[str, Any]:
        """The whole 2.0 reply."""
        self.id += 1
        reply = self.post(
            {
                "jsonrpc": "2.0",
                "method": method,
                "params": [*params, *([self.session] if self.session else [])],
                "id": self.id,
            }
        )
        assert reply["jsonrpc"] == "2.0" and reply["id"] == self.id
        return reply

    def result(self, method: str, *params: Any) -> Any:
        """The result of a call that must succeed."""
        reply = self.call(method, *params)
        assert "error" not in reply, reply
        return reply["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        """The error object of a call that must fail."""
        reply = self.call(method, *params)
        assert "result" not in reply, reply
        return reply["error"]
