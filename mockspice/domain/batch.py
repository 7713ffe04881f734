"""The record batches of ``create``/``update``/``delete``: one transaction, then the web calls.

SpiceCSM does not publish the shapes of these objects (spicecsm-facts.md, "The shapes of the
objects ... are not public"); the mock's choices, documented in docs/api.md:

- Every record has a ``type`` (account, contact, fieldvalue, case, response); the whole batch
  is one transaction; the first bad record fails it, named by its index.
- Committed changes fire the brands' web calls afterwards: ``update`` (userXML) for every
  account created or changed, ``case`` (caseXML of the new response) for every new case or
  response. A partner that fails does not undo anything; the result says how each call went.
- Which company: the session's. A portal session (``portalconnect``) sees and changes only its
  own account, and cannot create or delete accounts.

The records' handlers are in accounts.py (account, contact, fieldvalue) and cases.py (case,
response); each module's ``TYPES`` maps a type and an action to its handler.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain import accounts, cases
from mockspice.domain.errors import BadParameter, Conflict, DomainError
from mockspice.domain.outbound import Outbound, summary
from mockspice.domain.readers import shown
from mockspice.domain.scope import Effects, Handler, Scope, check_company
from mockspice.domain.sessions import Session
from mockspice.store.db import Store

MAX_RECORDS = 1000  # records in one create/update/delete call


ACTIONS = ("create", "update", "delete")
TYPES: dict[str, dict[str, Handler]] = {**accounts.TYPES, **cases.TYPES}
RECORD_TYPES = tuple(TYPES)


def apply(
    store: Store,
    outbound: Outbound,
    session: Session,
    action: str,
    records: list[dict[str, Any]],
    self_url: str,
) -> dict[str, Any]:
    """Run a batch of records in one transaction, then fire the web calls its changes call for.

    :returns: ``{"records": [what each record did], "webcalls": [{"id", "kind", "outcome"}]}``.
    :raises DomainError: the first bad record, named by its index; nothing was written.
    """
    scope = Scope.of(session)
    if not records:
        raise BadParameter(f'{action} needs at least one record, e.g. [{{"type": "account", ...}}]')
    if len(records) > MAX_RECORDS:
        raise BadParameter(
            f"{action} takes at most {MAX_RECORDS} records in one call, not {len(records)}"
        )
    effects, done = Effects(), []
    with store.write() as conn:
        check_company(conn, scope.company_id)
        for index, record in enumerate(records):
            kind = record.get("type")
            try:
                if not isinstance(kind, str) or kind not in TYPES:
                    raise BadParameter(
                        f"'type' must be one of {', '.join(RECORD_TYPES)}, not {shown(kind)}"
                    )
                body = {k: v for k, v in record.items() if k != "type"}
                done.append(TYPES[kind][action](conn, scope, body, effects))
            except DomainError as exc:
                raise _at(exc, index, kind) from None
            except sqlite3.IntegrityError as exc:  # a constraint the checks above did not foresee
                raise _at(Conflict(f"the store refused it ({exc})"), index, kind) from None
    return {"records": done, "webcalls": fire(outbound, scope.company_id, effects, self_url)}


def _at(exc: DomainError, index: int, kind: Any) -> DomainError:
    """The error, its message naming the record (all-or-nothing: nothing was written)."""
    named = f" ({kind})" if isinstance(kind, str) and kind in RECORD_TYPES else ""
    exc.message = f"record {index}{named}: {exc.message}; nothing was written"
    exc.args = (exc.message,)
    return exc


def fire(
    outbound: Outbound, company_id: int, effects: Effects, self_url: str
) -> list[dict[str, Any]]:
    """Fire the committed changes' web calls; a brand without the URL is skipped."""
    fired = []
    for userkey, brand_id in effects.accounts.items():
        if userkey in effects.deleted:
            continue
        try:
            target = outbound.brand_endpoint(company_id, brand_id, "update", self_url)
            account = outbound.stored_account(company_id, userkey)
        except DomainError:  # NoWebCall, or the brand or account went away since the commit
            continue
        fired.append(
            summary(
                outbound.engine.update(target, account, {"company": company_id, "brand": brand_id})
            )
        )
    for brand_id, case_id, response_id in effects.responses:
        try:
            target = outbound.brand_endpoint(company_id, brand_id, "case", self_url)
            userkey, tickets = outbound.case_tickets(company_id, brand_id, case_id, response_id)
        except DomainError:  # NoWebCall, or the case was deleted later in the same batch
            continue
        fired.append(
            summary(
                outbound.engine.case(
                    target, userkey, tickets, {"company": company_id, "brand": brand_id}
                )
            )
        )
    return fired
