"""The API's methods, one module per concept; :func:`build` declares them all in one table.

Each module has ``register(registry)``; its handlers take the :class:`~..dispatch.Call` and the
checked arguments, and call the domain. Results follow what the real server's clients show
(spicecsm-facts.md): lower-case column names, values as strings, ``{"msg": "no results"}`` when
nothing is found.
"""

from __future__ import annotations

from importlib import import_module

from mockspice.surfaces.api.registry import Registry

GROUPS = (
    "sessions",
    "directory",
    "query",
    "accounts",
    "cases",
    "events",
    "alerts",
    "undocumented",
    "discovery",
)


def build() -> Registry:
    """A registry with every method of every group."""
    registry = Registry()
    for group in GROUPS:
        import_module(f"{__name__}.{group}").register(registry)
    return registry
