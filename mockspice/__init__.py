"""mockspice: a mock SpiceCSM for contract testing.

The package does no work at import time; the server is built by
:func:`mockspice.app.create_app` and started by ``mockspice serve``.
"""

__version__ = "0.1.0"
