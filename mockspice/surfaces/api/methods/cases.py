"""API methods: cases and issues (``caseLoad``, ``issueLoad``);
shapes in mockspice/domain/case_search.py.
"""

from __future__ import annotations

from typing import Any

from mockspice.domain import case_search
from mockspice.surfaces.api.registry import NO_RESULTS_SCHEMA, Param, Registry

CASE_ROW = {
    "type": "object",
    "properties": {key: {"type": ["string", "null"]} for key in case_search.ROW_KEYS},
}
ISSUE_ROW = {
    "type": "object",
    "properties": {
        "issueid": {"type": "string"},
        "issuelabel": {"type": "string"},
        "parentid": {"type": ["string", "null"]},
    },
}


def register(registry: Registry) -> None:
    """Declare the case methods."""

    @registry.method(
        "caseLoad",
        Param(
            "search",
            "object",
            "criteria, ANDed: id, userkey, status (id or label), "
            "issue (id or label), callid, brand",
        ),
        summary="The responses of the matching cases, one row each (caseXML ticket names); "
        '{"msg": "no results"} for none.',
        result={"oneOf": [{"type": "array", "items": CASE_ROW}, NO_RESULTS_SCHEMA]},
        rows=True,
        errors=("bad-parameter", "not-found", "unknown-brand", "invalid-session"),
        replayable=True,
    )
    def case_load(call: Any, search: dict[str, Any]) -> Any:
        return case_search.case_load(call.store, call.session, search)

    @registry.method(
        "issueLoad",
        Param("filter", "object", "{} for all, or issueid, or parentid (0: top level)"),
        summary=(
            "The company's issues and sub-issues: issueid, issuelabel, parentid (null at the top)."
        ),
        result={"oneOf": [{"type": "array", "items": ISSUE_ROW}, NO_RESULTS_SCHEMA]},
        rows=True,
        errors=("bad-parameter", "invalid-session"),
        replayable=True,
    )
    def issue_load(call: Any, filter_: dict[str, Any]) -> Any:
        return case_search.issue_load(call.store, call.session, filter_)
