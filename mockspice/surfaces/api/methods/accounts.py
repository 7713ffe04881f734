"""API methods: accounts and records (``accountLoad``, ``load``, ``create``, ``update``,
``delete``).

Shapes and rules: mockspice/domain/search.py (accountLoad, load) and batch.py (the records).
"""

from __future__ import annotations

from typing import Any

from mockspice.domain import batch as batches
from mockspice.domain import search as lookup  # the parameter of accountLoad is "search"
from mockspice.surfaces.api.registry import NO_RESULTS_SCHEMA, Param, Registry

ACCOUNT_ROW = {
    "type": "object",
    "properties": {key: {"type": "string"} for key in lookup.ROW_KEYS},
}
WEBCALL = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "outcome": {"type": "string"},
    },
}
BATCH_RESULT = {
    "type": "object",
    "properties": {
        "records": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"type": {"enum": list(batches.RECORD_TYPES)}},
            },
        },
        "webcalls": {"type": "array", "items": WEBCALL},
    },
}
RECORD_ERRORS = (
    "bad-parameter",
    "not-found",
    "conflict",
    "permission-denied",
    "unknown-brand",
    "unknown-company",
    "invalid-session",
)
RECORDS = Param(
    "records",
    "objects",
    "records, each with a type: account, contact, fieldvalue, case or response",
)


def register(registry: Registry) -> None:
    """Declare the account and record methods."""

    @registry.method(
        "accountLoad",
        Param(
            "search",
            "object",
            "search web call variables (Userkey, LastName, "
            "PrimaryPhone, ..., CustFields), ANDed; optional brand",
        ),
        summary="Accounts matching every search variable, plus the named brand's external search "
        '(rows marked external); {"msg": "no results"} for none.',
        result={"oneOf": [{"type": "array", "items": ACCOUNT_ROW}, NO_RESULTS_SCHEMA]},
        rows=True,
        errors=("bad-parameter", "unknown-brand", "unknown-company", "invalid-session"),
        replayable=True,
    )
    def account_load(call: Any, search: dict[str, Any]) -> Any:
        rows, fired = lookup.account_load(
            call.store, call.outbound, call.session, search, call.self_url
        )
        call.webcalls.extend(int(w["id"]) for w in fired if w["id"] is not None)
        return rows

    @registry.method(
        "load",
        Param(
            "record",
            "one_object",
            'one object: {"type": "account", "userkey"} or '
            '{"type": "case", "id"}; an array is refused',
        ),
        summary="One account (contacts, custom field values, cases) or one case (responses); "
        "exactly one object.",
        result={"type": "object"},
        errors=("bad-parameter", "not-found", "permission-denied", "invalid-session"),
        replayable=True,
    )
    def load(call: Any, record: Any) -> Any:
        return lookup.load(call.store, call.session, record)

    def batch(action: str):
        def handler(call: Any, records: list[dict[str, Any]]) -> Any:
            result = batches.apply(
                call.store, call.outbound, call.session, action, records, call.self_url
            )
            call.webcalls.extend(int(w["id"]) for w in result["webcalls"] if w["id"] is not None)
            return result

        return handler

    registry.method(
        "create",
        RECORDS,
        summary="Create records in one transaction (all or nothing); new accounts "
        "fire the update web call, new cases and responses the case web call.",
        result=BATCH_RESULT,
        errors=RECORD_ERRORS,
    )(batch("create"))
    registry.method(
        "update",
        RECORDS,
        summary="Change records in one transaction (all or nothing); changed "
        "accounts fire the brand's update web call.",
        result=BATCH_RESULT,
        errors=RECORD_ERRORS,
    )(batch("update"))
    registry.method(
        "delete",
        RECORDS,
        summary="Delete records in one transaction (all or nothing); needs security level 2.",
        min_level=2,
        result=BATCH_RESULT,
        errors=RECORD_ERRORS,
    )(batch("delete"))
