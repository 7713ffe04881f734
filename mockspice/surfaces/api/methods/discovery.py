"""API methods: discovery (being written)."""

from mockspice.surfaces.api.registry import Registry


def register(registry: Registry) -> None:
    """Declare this group's methods."""
