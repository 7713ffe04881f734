"""Errors of SpiceCSM's operations, one class per code; surfaces turn them into their wire shape.

Each carries a stable ``code`` (kebab-case), a ``message`` a user understands and the HTTP
``status`` a surface answers with.
"""

from __future__ import annotations


def json_type(value: object) -> str:
    """What a JSON value is, for an error message: "null", "a number", "an array", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


class DomainError(Exception):
    """Base of every error an operation raises on purpose."""

    code = "error"
    status = 400
    rpc_code = -32000  # the JSON-RPC 2.0 error code of the API (docs/api.md)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, object]:
        """The error as ``{"code", "message"}``."""
        return {"code": self.code, "message": self.message}


class BadParameter(DomainError):
    """A parameter is missing or malformed."""

    code = "bad-parameter"
    rpc_code = -32602  # JSON-RPC 2.0 "Invalid params"


class CommunityLimit(DomainError):
    """The Community edition has one company and one brand, both id 1."""

    code = "community-edition"


class UnknownCompany(DomainError):
    """No active company has this id."""

    code = "unknown-company"
    status = 404
    rpc_code = -32004


class UnknownBrand(DomainError):
    """The company has no active brand with this id."""

    code = "unknown-brand"
    status = 404
    rpc_code = -32004


class PermissionDenied(DomainError):
    """The session's security level is too low for this method."""

    code = "permission-denied"
    status = 403
    rpc_code = -32002


class NotFound(DomainError):
    """A record named by id does not exist (searches answer {"msg": "no results"} instead)."""

    code = "not-found"
    status = 404
    rpc_code = -32004


class BadDataset(DomainError):
    """A dataset sent to the control API cannot be loaded."""

    code = "bad-dataset"


class Conflict(DomainError):
    """The change clashes with what the store holds (a login or userkey taken, a value already
    there, a brand or account still in use); nothing was written."""

    code = "conflict"
    status = 409
    rpc_code = -32009
