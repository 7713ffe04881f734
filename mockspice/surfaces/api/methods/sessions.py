"""API methods: sessions (``connect``, ``checkSession``, ``portalconnect``, ``resetPass``)."""

from __future__ import annotations

from typing import Any

from mockspice.domain import sessions
from mockspice.domain.errors import BadParameter
from mockspice.store.schema import MAX_ID
from mockspice.surfaces.api.registry import Param, Registry

SESSION_RESULT = {
    "type": "object",
    "properties": {"session": {"type": "string"}, "security_level": {"type": "string"}},
}


def register(registry: Registry) -> None:
    """Declare the session methods."""

    @registry.method(
        "connect",
        Param("user", "string", "the agent's login"),
        Param("pass", "string", "the plain password (or its MD5 hex digest)"),
        summary="Log an agent in; later calls send the session id as their last parameter.",
        session=False,
        result=SESSION_RESULT,
        errors=("login-failed",),
    )
    def connect(call: Any, user: str, password: str) -> dict[str, Any]:
        return sessions.connect(call.store, user, password, call.settings.session_ttl_s)

    @registry.method(
        "checkSession",
        summary='Whether the session is alive: {"msg": "valid"}, else the invalid-session error.',
        result={"type": "object"},
        errors=("invalid-session",),
    )
    def check_session(call: Any) -> dict[str, Any]:
        return {"msg": "valid", "security_level": str(call.session.security_level)}

    @registry.method(
        "portalconnect",
        Param("id", "any", 'the account: its userkey, or {"company", "userkey"}'),
        summary="Log a client-portal user (an account) in; security level 0.",
        session=False,
        result=SESSION_RESULT,
        errors=("login-failed",),
    )
    def portal_connect(call: Any, who: Any) -> dict[str, Any]:
        company, userkey = 1, who
        if isinstance(who, dict):
            company, userkey = who.get("company", 1), who.get("userkey")
        if (
            isinstance(company, bool)
            or not isinstance(company, int)
            or not 1 <= company <= MAX_ID
            or not isinstance(userkey, str)
            or not userkey
        ):
            raise BadParameter(
                'portalconnect: id must be a userkey, or {"company": id, "userkey": text}'
            )
        return sessions.portal_connect(call.store, company, userkey, call.settings.session_ttl_s)

    @registry.method(
        "resetPass",
        Param("user", "string", "the agent's login"),
        summary='Ask for a password reset; the mock sends no e-mail and answers {"msg": "sent"}.',
        session=False,
        result={"type": "object"},
    )
    def reset_pass(call: Any, user: str) -> dict[str, Any]:
        # The same answer for any login, so that the call does not tell which logins exist.
        return {"msg": "sent"}
