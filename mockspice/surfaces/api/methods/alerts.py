"""API methods: alerts (being written)."""

from mockspice.surfaces.api.registry import Registry


def register(registry: Registry) -> None:
    """Declare this group's methods."""
