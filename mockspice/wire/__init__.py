"""SpiceCSM's wire formats, without I/O: percent-encoding, web-call variables, XML documents,
validation.

Modules: :mod:`.encoding` (percent-encoding and the lint of reply values), :mod:`.build`
(what mockspice sends), :mod:`.parse` (what partners send back), :mod:`.findings`,
:mod:`.validate`, :mod:`.schemas` (compiled XSDs, lazily) and :mod:`.report` (findings as text
or JSON for the command line). Nothing is imported or compiled at import time.
"""
