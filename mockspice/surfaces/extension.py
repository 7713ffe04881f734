"""What every surface of one app shares: ``app.extensions["mockspice"]``, an :class:`Extension`.

Read it with :func:`of` (the current app's, or a given app's), never by key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, current_app

from mockspice.domain.cache import GenerationCache, Seen

if TYPE_CHECKING:
    from mockspice.domain.outbound import Outbound
    from mockspice.domain.state import Prepared
    from mockspice.domain.stubs import Stubs
    from mockspice.settings import Settings
    from mockspice.store.db import Store
    from mockspice.surfaces.api.registry import Registry

KEY = "mockspice"


@dataclass(eq=False)
class Extension:
    """One app's settings, store and services, and its per-process caches (each valid for one
    generation of the store: domain/cache.py)."""

    settings: Settings
    prepared: Prepared
    version: str
    outbound: Outbound
    registry: Registry  # the API's methods
    stubs: Stubs  # the API's stubs
    pop_matches: GenerationCache = field(default_factory=GenerationCache)  # domain/pop.py
    pop_plans: GenerationCache = field(default_factory=GenerationCache)  # surfaces/telephony.py
    api_replies: GenerationCache = field(default_factory=lambda: GenerationCache(256))
    api_seen: Seen = field(default_factory=Seen)  # the API requests seen lately (endpoint.py)

    @property
    def store(self) -> Store:
        return self.prepared.store


def of(app: Flask | None = None) -> Extension:
    """The extension of ``app`` (default: Flask's current app)."""
    return (current_app if app is None else app).extensions[KEY]
