"""API method ``rpc.discover``: an OpenRPC 1.2 document of the method table, built at call time.

Every method of the registry is described: its parameters (schemas from ``registry.SHAPES``),
its result schema, its errors with their JSON-RPC codes (taken from the domain error classes'
``rpc_code``), the group it belongs to (as a tag), and the session parameter that SpiceCSM's
clients append. The docs page (``<base>/docs/api_client/``) renders the same document.
"""

from __future__ import annotations

from typing import Any

from mockspice import __version__
from mockspice.domain.errors import DomainError
from mockspice.surfaces.api.registry import SHAPES, Method, Registry
from mockspice.urls import API_PATH

OPENRPC_VERSION = "1.2.6"
META_SCHEMA = "https://raw.githubusercontent.com/open-rpc/meta-schema/master/schema.json"
DEFAULT_RPC_CODE = DomainError.rpc_code

SESSION_NOTE = (
    "Methods marked x-session need the session id that connect (or portalconnect) returned. "
    "Send it as the LAST positional parameter, after the method's own parameters (as SpiceCSM's "
    "clients do; fill left-out optional parameters with null); with named parameters (JSON-RPC "
    "2.0) "
    'as the parameter "session"; or in the HTTP header X-Spice-Session. A missing, unknown or '
    "expired session is the invalid-session error (-32001)."
)

SESSION_PARAM = {
    "name": "session",
    "required": False,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    "description": "the session id from connect: the last positional parameter, the named "
    'parameter "session", or the header X-Spice-Session (one of the three is needed)',
}

# Errors every method of a kind can give, besides those it lists itself.
IMPLIED = (
    ("invalid-session", lambda m: m.session),
    ("permission-denied", lambda m: m.min_level > 0),
    ("bad-parameter", lambda m: bool(m.params)),
)


def register(registry: Registry) -> None:
    """Declare ``rpc.discover``."""

    @registry.method(
        "rpc.discover",
        summary="This API as an OpenRPC 1.2 document (every method, its "
        "parameters, result and errors); no session needed.",
        session=False,
        result={"$ref": META_SCHEMA},
    )
    def discover(call: Any) -> dict[str, Any]:
        base = call.self_url.rstrip("/") + (call.settings.base_path or "")
        return document(call.registry, base + API_PATH)


def document(registry: Registry, server_url: str) -> dict[str, Any]:
    """The OpenRPC document of ``registry``, served at ``server_url``."""
    codes = error_codes()
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "SpiceCSM JSON-RPC API (mockspice)",
            "version": __version__,
            "description": "SpiceCSM's API as mockspice serves it: JSON-RPC 1.0 (SpiceCSM's own "
            "clients) and 2.0, a form field request=<json> or a JSON body. " + SESSION_NOTE,
        },
        "servers": [{"name": "mockspice", "url": server_url}],
        "methods": [
            _method(m, codes)
            for m in sorted(registry.methods.values(), key=lambda m: m.name.lower())
        ],
        "x-session-parameter": SESSION_NOTE,
    }


def error_codes() -> dict[str, tuple[int, str]]:
    """Every domain error code known now, with its JSON-RPC code and a description."""
    found: dict[str, tuple[int, str]] = {}
    pending = list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        doc = (cls.__doc__ or cls.code).strip().splitlines()[0]
        found.setdefault(cls.code, (cls.rpc_code, doc))
    return found


def _method(method: Method, codes: dict[str, tuple[int, str]]) -> dict[str, Any]:
    params = [_param(p) for p in method.params]
    if method.session:
        params.append(SESSION_PARAM)
    listed = [code for code, applies in IMPLIED if applies(method)] + list(method.errors)
    errors = []
    for code in dict.fromkeys(listed):  # in order, once each
        rpc_code, message = codes.get(code, (DEFAULT_RPC_CODE, code))
        errors.append({"code": rpc_code, "message": message, "data": {"code": code}})
    entry: dict[str, Any] = {
        "name": method.name,
        "tags": [{"name": method.handler.__module__.rsplit(".", 1)[-1]}],
        "summary": method.summary,
        "paramStructure": "either",
        "params": params,
        "result": {"name": "result", "schema": method.result or {}},
        "errors": errors,
        "x-session": method.session,
        "x-min-security-level": method.min_level,
    }
    if method.rows:
        entry["description"] = (
            "A list of rows; with the setting rpc_single_row_object, one row comes as a "
            'bare object. Nothing found is {"msg": "no results"}.'
        )
    return entry


def _param(param: Any) -> dict[str, Any]:
    return {
        "name": param.name,
        "summary": param.summary,
        "required": param.required,
        "schema": dict(SHAPES[param.shape]),
    }
