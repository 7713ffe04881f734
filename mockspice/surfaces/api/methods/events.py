"""API methods: scheduled events and their categories (mockspice/domain/events.py).

Object keys: ``eventid``, ``caseid``, ``categoryid``, ``title``, ``starts``, ``ends``, ``notes``,
``agentid``, and ``companyid`` (a level-4 session only; default: the session's company).
"""

from __future__ import annotations

from typing import Any

from mockspice.domain import events
from mockspice.surfaces.api.methods.directory import SUCCESS, rows
from mockspice.surfaces.api.registry import Param, Registry

EVENT = rows(*events.EVENT_COLUMNS)
ONE_EVENT = rows(*events.EVENT_COLUMNS, empty=False)


def register(registry: Registry) -> None:
    """Declare the event methods."""

    @registry.method(
        "eventLoad",
        Param(
            "obj",
            "object",
            "filters: eventid, caseid, categoryid, agentid, from, to (on starts); {} for all",
        ),
        summary='The company\'s scheduled events, by start time, or {"msg": "no results"}.',
        result=EVENT,
        rows=True,
        errors=("bad-parameter", "unknown-company"),
    )
    def event_load(call: Any, obj: dict[str, Any]) -> Any:
        return events.load(call.store, call.session, obj)

    @registry.method(
        "eventCreate",
        Param(
            "obj",
            "object",
            "categoryid, title, starts (required); caseid, ends, "
            "notes, agentid (default: the session's agent)",
        ),
        summary="A new event; answers its row.",
        result=ONE_EVENT,
        rows=True,
        errors=("bad-parameter", "not-found", "unknown-company"),
    )
    def event_create(call: Any, obj: dict[str, Any]) -> Any:
        return events.create(call.store, call.session, obj)

    @registry.method(
        "updateEvent",
        Param("obj", "object", "eventid and the keys to change (caseid null: no case)"),
        summary="Change an event (only the keys given); answers its row.",
        result=ONE_EVENT,
        rows=True,
        errors=("bad-parameter", "not-found", "unknown-company"),
    )
    def update_event(call: Any, obj: dict[str, Any]) -> Any:
        return events.update(call.store, call.session, obj)

    @registry.method(
        "eventDelete",
        Param("obj", "object", "eventid"),
        summary="Remove an event.",
        result=SUCCESS,
        errors=("bad-parameter", "not-found", "unknown-company"),
    )
    def event_delete(call: Any, obj: dict[str, Any]) -> Any:
        return events.delete(call.store, call.session, obj)

    @registry.method(
        "eventCategory",
        Param("obj", "object", "optional categoryid; {} for all"),
        summary="The company's event categories: categoryid, categorylabel.",
        result=rows("categoryid", "categorylabel"),
        rows=True,
        errors=("bad-parameter", "unknown-company"),
        replayable=True,
    )
    def event_category(call: Any, obj: dict[str, Any]) -> Any:
        return events.categories(call.store, call.session, obj)
