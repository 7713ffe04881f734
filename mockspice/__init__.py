"""mockspice: a mock SpiceCSM for contract testing.

The package does no work at import time; the server is built by
:func:`mockspice.app.create_app` and started by ``mockspice serve``.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """Import ``mockspice.validate`` on first use, so that importing mockspice stays free."""
    if name == "validate":
        from mockspice.wire.validate import validate

        return validate
    raise AttributeError(f"module 'mockspice' has no attribute {name!r}")
