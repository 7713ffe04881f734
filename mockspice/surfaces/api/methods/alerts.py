"""API methods: the company's global alerts (mockspice/domain/events.py).

Object keys: ``alertid``, ``message``, ``expires``, ``active``, ``current``, and ``companyid`` (a
level-4 session only; default: the session's company).
"""

from __future__ import annotations

from typing import Any

from mockspice.domain import events
from mockspice.surfaces.api.methods.directory import SUCCESS, rows
from mockspice.surfaces.api.registry import Param, Registry


def register(registry: Registry) -> None:
    """Declare the alert methods."""

    @registry.method(
        "alertLoad",
        Param(
            "obj",
            "object",
            "filters: alertid, active (1/0), current (1: active and not expired); {} for all",
        ),
        summary='The company\'s alerts, or {"msg": "no results"}.',
        result=rows(*events.ALERT_COLUMNS),
        rows=True,
        errors=("bad-parameter", "unknown-company"),
    )
    def alert_load(call: Any, obj: dict[str, Any]) -> Any:
        return events.load_alerts(call.store, call.session, obj)

    @registry.method(
        "createAlert",
        Param("obj", "object", "message; optional expires, active (default 1)"),
        summary="A new alert, created now; answers its row.",
        result=rows(*events.ALERT_COLUMNS, empty=False),
        rows=True,
        errors=("bad-parameter", "unknown-company"),
    )
    def create_alert(call: Any, obj: dict[str, Any]) -> Any:
        return events.create_alert(call.store, call.session, obj)

    @registry.method(
        "deleteAlert",
        Param("obj", "object", "alertid"),
        summary="Remove an alert.",
        result=SUCCESS,
        errors=("bad-parameter", "not-found", "unknown-company"),
    )
    def delete_alert(call: Any, obj: dict[str, Any]) -> Any:
        return events.delete_alert(call.store, call.session, obj)
