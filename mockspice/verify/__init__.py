"""``mockspice verify``: the conformance suite a partner runs against its own web-call receivers.

:mod:`.catalog` names the cases, :mod:`.runner` runs them through the web-call engine (the
same requests SpiceCSM sends, the same judgement of the replies), :mod:`.reports` writes what
they found for people and CI. docs/verify.md describes the cases and the report formats.
"""
