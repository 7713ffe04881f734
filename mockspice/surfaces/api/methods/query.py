"""API method ``query(sql)``: read-only SQL on the store (mockspice/domain/sql.py)."""

from __future__ import annotations

from typing import Any

from mockspice.domain import sql
from mockspice.surfaces.api.registry import Param, Registry


def register(registry: Registry) -> None:
    """Declare ``query``."""

    @registry.method(
        "query",
        Param("sql", "string", "one SELECT statement, MySQL names such as 1_tblBrand work"),
        summary="Rows of a read-only SQL statement, lower-case column names, values as strings; "
        "agents only (level 1 and up); passwords read as null and the mock's own tables are not "
        "shown.",
        result={"type": "array", "items": {"type": "object"}},
        rows=True,
        min_level=1,
        errors=("query-refused", "query-failed"),
    )
    def query(call: Any, statement: str) -> Any:
        return sql.query(call.store, statement, call.settings)
