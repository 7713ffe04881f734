"""What a record handler works within, shared by accounts.py and cases.py: the session's
:class:`Scope`, the batch's :class:`Effects`, the company/brand/account checks, and the text
folding the searches compare with.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockspice.domain.errors import (
    BadParameter,
    NotFound,
    PermissionDenied,
    UnknownBrand,
    UnknownCompany,
    json_type,
)
from mockspice.domain.sessions import Session
from mockspice.store.schema import MAX_ID, table


@dataclass(frozen=True)
class Scope:
    """What a session may reach: its company and, for a portal session, its one account."""

    company_id: int
    userkey: str | None  # a portal session: only this account
    agent_id: int | None  # the agent who writes responses (None for a portal session)

    @classmethod
    def of(cls, session: Session) -> Scope:
        """The scope of an API session."""
        if session.company_id is None:
            raise PermissionDenied("this session belongs to no company")
        return cls(
            session.company_id,
            session.userkey if session.kind == "portal" else None,
            session.agent_id if session.kind == "agent" else None,
        )

    def check_owner(self, userkey: str) -> None:
        """:class:`PermissionDenied` when a portal session reaches for another account."""
        if self.userkey is not None and userkey != self.userkey:
            raise PermissionDenied(
                f"a portal session may only use its own account ({self.userkey!r})"
            )


@dataclass
class Effects:
    """What a batch changed that partners hear about once it is committed."""

    accounts: dict[str, int] = field(default_factory=dict)  # userkey -> brand: update web call
    deleted: set[str] = field(default_factory=set)
    responses: list[tuple[int, int, int]] = field(
        default_factory=list
    )  # (brand, case, response): case call

    def account_changed(self, userkey: str, brand: int) -> None:
        """Remember an account created or changed."""
        self.accounts[userkey] = brand
        self.deleted.discard(userkey)


#: One record of a batch: ``(conn, scope, record without its type, effects) -> result``.
Handler = Callable[[sqlite3.Connection, Scope, dict[str, Any], Effects], dict[str, Any]]


def fold(value: Any) -> str:
    """Text as the search compares it: trimmed, case-folded."""
    return str(value).strip().casefold()


def folded(column: str) -> str:
    """SQL giving :func:`fold` of ``column``: SQLite's own ``lower(trim())`` where it is exact (the
    value is printable ASCII: spaces are its only white space, A-Z its only cased letters), the
    Python function ``spice_fold`` for the rest. A Python function called on every row made the
    search take the GIL back from SQLite row by row, which under the server's threads tripled the
    cost of a search.

    ASCII without NUL: as many bytes as characters (SQLite's length() of text stops at a NUL,
    and so does GLOB, hence this test first); printable: GLOB finds no byte outside space..~.
    """
    return (
        f"(CASE WHEN length(CAST({column} AS BLOB)) = length({column}) AND NOT {column} GLOB '*[^ "
        "-~]*'"
        f" THEN lower(trim({column})) ELSE spice_fold({column}) END)"
    )


def check_company(conn: sqlite3.Connection, company_id: int) -> None:
    """:class:`UnknownCompany` when the session's company is gone."""
    if conn.execute("SELECT 1 FROM tblTenant WHERE TenantID = ?", (company_id,)).fetchone() is None:
        raise UnknownCompany(f"company {company_id} does not exist")


def check_brand(conn: sqlite3.Connection, company_id: int, brand_id: int) -> str:
    """The brand's label; :class:`UnknownCompany` or :class:`UnknownBrand` if it does not exist."""
    if (
        not 1 <= company_id <= MAX_ID
        or conn.execute("SELECT 1 FROM tblTenant WHERE TenantID = ?", (company_id,)).fetchone()
        is None
    ):
        raise UnknownCompany(f"company {company_id} does not exist")
    row = (
        None
        if not 1 <= brand_id <= MAX_ID
        else conn.execute(
            f"SELECT BrandLabel FROM {table(company_id, 'tblBrand')} WHERE BrandID = ?", (brand_id,)
        ).fetchone()
    )
    if row is None:
        raise UnknownBrand(f"brand {brand_id} does not exist in company {company_id}")
    return row[0]


def account_row(conn: sqlite3.Connection, scope: Scope, userkey: Any) -> tuple[int, int, str]:
    """``(AccountID, BrandID, Userkey)`` of an account of the scope; :class:`NotFound` otherwise."""
    if not isinstance(userkey, str):
        raise BadParameter(f"'userkey' must be text, not {json_type(userkey)}")
    scope.check_owner(userkey)
    row = conn.execute(
        f"SELECT AccountID, BrandID, Userkey FROM {table(scope.company_id, 'tblAccount')}"
        " WHERE Userkey = ?",
        (userkey,),
    ).fetchone()
    if row is None:
        raise NotFound(f"company {scope.company_id} has no account with userkey {userkey!r}")
    return row[0], row[1], row[2]
