"""The XSDs of ``mockspice/data/schemas``, compiled on first use, once per process.

lxml (libxml2) decides valid or not, fast; xmlschema explains each failure. Both are built the
first time a kind is validated, never at import time (STYLE.md: no work at import time).
"""

import threading
from functools import cache

from mockspice.resources import SCHEMAS_DIR

#: The web-call kinds, each with the XSD file and root element of its reply: the one list of
#: kinds (the engine, the CLI, the brand settings and the journal queries take theirs from here).
KINDS: dict[str, tuple[str, str]] = {
    "search": ("users.xsd", "users"),
    "load": ("userdata.xsd", "userdata"),
    "update": ("userdata.xsd", "userdata"),
    "case": ("tickets.xsd", "tickets"),
}

#: Held while an lxml schema validates: its error log is shared by every caller of the object.
LXML_LOCK = threading.Lock()
_BUILD_LOCK = threading.Lock()


@cache
def lxml_schema(filename: str):
    """Return the lxml ``XMLSchema`` of one XSD file, compiled on the first call."""
    from lxml import etree

    with _BUILD_LOCK:
        return etree.XMLSchema(etree.parse(str(SCHEMAS_DIR / filename)))


@cache
def xmlschema_schema(filename: str):
    """Return the ``xmlschema.XMLSchema`` of one XSD file, built on the first call."""
    import xmlschema

    with _BUILD_LOCK:
        return xmlschema.XMLSchema(str(SCHEMAS_DIR / filename))
