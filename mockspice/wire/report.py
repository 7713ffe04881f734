"""Findings as the ``mockspice validate`` command prints them, and its exit status (issue 3, §6)."""

import json

from mockspice.wire.findings import ERROR, Finding

FORMATS = ("text", "json")


def format_text_line(finding: Finding, source: str | None = None) -> str:
    """Return one finding as ``[SOURCE:]LINE:COLUMN: SEVERITY CODE: MESSAGE [at PATH]``."""
    where = ":".join(str(part) for part in (finding.line, finding.column) if part is not None)
    prefix = ":".join(part for part in (source, where) if part)
    path = f" [at {finding.path}]" if finding.path else ""
    return (
        f"{prefix}: " if prefix else ""
    ) + f"{finding.severity} {finding.code}: {finding.message}{path}"


def format_findings(findings: list[Finding], fmt: str = "text", source: str | None = None) -> str:
    """Return findings as text (one a line, "" when none) or as a JSON array of finding objects.

    ``source`` (a file name) prefixes text lines, as compilers do, so that editors can jump.
    """
    if fmt == "json":
        return json.dumps([finding.to_dict() for finding in findings], indent=2, ensure_ascii=False)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return "\n".join(format_text_line(finding, source) for finding in findings)


def exit_code(findings: list[Finding]) -> int:
    """Return the command's exit status: 1 when a finding is an error, else 0."""
    return 1 if any(finding.severity == ERROR for finding in findings) else 0
