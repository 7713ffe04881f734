"""mockspice: a mock SpiceCSM for contract testing.

The package does no work at import time; the server is built by
:func:`mockspice.app.create_app` and started by ``mockspice serve``.
"""

from importlib import import_module

__version__ = "0.1.0"

# Imported on first use, so that importing mockspice stays free (no requests, Flask or lxml).
_LAZY = {
    "validate": "mockspice.wire.validate",
    "Client": "mockspice.client",
    "ControlError": "mockspice.client",
    "RpcError": "mockspice.client",
    "assert_exchange_ok": "mockspice.testing",
}


def __getattr__(name: str):
    """Import the names of ``_LAZY`` on first use."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mockspice' has no attribute {name!r}")
