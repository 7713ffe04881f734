"""Errors of SpiceCSM's operations, one class per code; surfaces turn them into their wire shape.

Each carries a stable ``code`` (kebab-case), a ``message`` a user understands and the HTTP
``status`` a surface answers with.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error an operation raises on purpose."""

    code = "error"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, object]:
        """The error as ``{"code", "message"}``."""
        return {"code": self.code, "message": self.message}


class BadParameter(DomainError):
    """A parameter is missing or malformed."""

    code = "bad-parameter"


class CommunityLimit(DomainError):
    """The Community edition has one company and one brand, both id 1."""

    code = "community-edition"


class UnknownCompany(DomainError):
    """No active company has this id."""

    code = "unknown-company"
    status = 404


class UnknownBrand(DomainError):
    """The company has no active brand with this id."""

    code = "unknown-brand"
    status = 404


class BadDataset(DomainError):
    """A dataset sent to the control API cannot be loaded."""

    code = "bad-dataset"
