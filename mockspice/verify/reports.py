"""What a run found, for people and CI: a summary (stdout), JUnit XML, JSON and a GitHub step
summary in Markdown. The JSON's shape is documented in docs/verify.md; it is also what the
other formats are made from (:func:`as_data`).
"""

from __future__ import annotations

import datetime
import json
import socket
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from mockspice import __version__
from mockspice.verify.runner import Result, Run
from mockspice.webcalls.engine import JOURNAL_BODY_LIMIT

FORMAT = "mockspice-verify/1"
EXCERPT_LINES = 12  # lines of a reply a failure quotes around the line of its first finding


def as_data(run: Run) -> dict[str, Any]:
    """The run as JSON data (docs/verify.md, "The JSON report")."""
    return {
        "format": FORMAT,
        "mockspice": __version__,
        "target": {
            "urls": run.target.urls,
            "int_user": run.target.int_user,
            "timeout_s": run.target.timeout_s,
            "budget_ms": run.target.budget_ms,
        },
        "summary": {
            "passed": run.count("passed"),
            "failed": run.count("failed"),
            "skipped": run.count("skipped"),
            "warnings": sum(len(r.warnings) for r in run.results),
            "elapsed_ms": round(run.elapsed_ms, 1),
        },
        "cases": [_case(result) for result in run.results],
        "coverage": coverage(run),
    }


def _case(result: Result) -> dict[str, Any]:
    return {
        "name": result.name,
        "kind": result.kind,
        "purpose": result.purpose,
        "section": result.section,
        "status": result.status,
        "skipped_because": result.skipped_because,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "problems": [p.to_dict() for p in result.problems],
        "exchanges": [e.as_dict(body_limit=JOURNAL_BODY_LIMIT) for e in result.exchanges],
    }


def coverage(run: Run) -> dict[str, list[str]]:
    """What the run exercised: the POST variables sent, the reply attributes seen, the finding
    and problem codes met."""
    sent: set[str] = set()
    attributes: set[str] = set()
    codes: set[str] = set()
    for result in run.results:
        codes.update(p.code for p in result.problems)
        for exchange in result.exchanges:
            sent.update(name for name, value in exchange.form if value)
            codes.update(f.code for f in exchange.findings)
            for record in exchange.records:
                attributes.update(k for k, v in record.items() if v not in ("", None, [], {}))
    return {
        "variables_sent": sorted(sent),
        "attributes_seen": sorted(attributes),
        "codes": sorted(codes),
    }


# --- the summary -------------------------------------------------------------------------------

_MARKS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


def summary_line(result: Result) -> str:
    """One line of the summary: mark, name, time, and the first problem or the reason skipped."""
    mark = _MARKS[result.status]
    if result.status == "passed" and result.warnings:
        mark = "WARN"
    detail = ""
    if result.status == "skipped":
        detail = f" ({result.skipped_because})"
    elif result.problems:
        first = (result.failures or result.warnings)[0]
        more = len(result.problems) - 1
        detail = f": {first.code}: {first.message}" + (f" (and {more} more)" if more else "")
    return f"{mark} {result.name} [{result.elapsed_ms:,.0f} ms]{detail}"


def summary(run: Run) -> str:
    """The closing lines of the summary: counts and time."""
    warnings = sum(len(r.warnings) for r in run.results)
    return (
        f"{run.count('passed')} passed, {run.count('failed')} failed, "
        f"{run.count('skipped')} skipped, {warnings} warning(s) in {run.elapsed_ms / 1000:.2f} s"
    )


# --- JUnit XML -------------------------------------------------------------------------------


def _failure_text(result: Result) -> str:
    lines = []
    for problem in result.failures:
        lines.append(f"{problem.code}: {problem.message}")
        if problem.exchange is not None and problem.exchange < len(result.exchanges):
            lines += _exchange_lines(result.exchanges[problem.exchange])
    return "\n".join(lines)


def _exchange_lines(exchange) -> list[str]:
    lines = [f"  request: POST {exchange.url}"]
    if exchange.status is not None:
        lines.append(f"  reply: HTTP {exchange.status}, {len(exchange.body):,} bytes")
        text = exchange.body[:JOURNAL_BODY_LIMIT].decode("utf-8", errors="replace").splitlines()
        at = next((f.line for f in exchange.findings if f.line), 1)
        start = max(1, at - EXCERPT_LINES // 2)
        for number in range(start, min(len(text), start + EXCERPT_LINES - 1) + 1):
            lines.append(f"  {number:>5} | {text[number - 1][:200]}")
    return lines


def junit(run: Run) -> str:
    """The run as JUnit XML: one ``<testcase>`` a case, as Jenkins and GitLab read it."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    failed, skipped = run.count("failed"), run.count("skipped")
    seconds = f"{run.elapsed_ms / 1000:.3f}"
    head = (
        f'<testsuite name="mockspice verify" tests="{len(run.results)}" failures="{failed}" '
        f'errors="0" skipped="{skipped}" time="{seconds}" timestamp="{stamp}" '
        f"hostname={quoteattr(socket.gethostname())}>"
    )
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="mockspice verify" tests="{len(run.results)}" failures="{failed}" '
        f'errors="0" skipped="{skipped}" time="{seconds}">',
        "  " + head,
        "    <properties>",
        *(
            f'      <property name="{kind}_url" value={quoteattr(url)}/>'
            for kind, url in run.target.urls.items()
        ),
        "    </properties>",
    ]
    for result in run.results:
        attributes = (
            f"name={quoteattr(result.name)} classname={quoteattr('verify.' + result.kind)} "
            f'time="{result.elapsed_ms / 1000:.3f}"'
        )
        body = []
        if result.status == "skipped":
            body.append(f"      <skipped message={quoteattr(result.skipped_because or '')}/>")
        elif result.status == "failed":
            first = result.failures[0]
            body.append(
                f"      <failure message={quoteattr(f'{first.code}: {first.message}')} "
                f"type={quoteattr(first.code)}>{escape(_failure_text(result))}</failure>"
            )
        if result.warnings:
            text = "\n".join(f"warning {p.code}: {p.message}" for p in result.warnings)
            body.append(f"      <system-out>{escape(text)}</system-out>")
        if body:
            out += [f"    <testcase {attributes}>", *body, "    </testcase>"]
        else:
            out.append(f"    <testcase {attributes}/>")
    out += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(out)


# --- JSON and Markdown -----------------------------------------------------------------------


def json_report(run: Run) -> str:
    return json.dumps(as_data(run), ensure_ascii=False, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(run: Run) -> str:
    """A GitHub step summary: the counts, then one row a case, then the coverage."""
    rows = ["| case | result | time | first problem |", "|---|---|---:|---|"]
    for result in run.results:
        first = (result.failures or result.warnings or [None])[0]
        problem = f"`{first.code}`: {_cell(first.message)}" if first else ""
        if result.status == "skipped":
            problem = _cell(result.skipped_because or "")
        mark = summary_line(result).split(" ", 1)[0]
        rows.append(f"| `{result.name}` | {mark} | {result.elapsed_ms:,.0f} ms | {problem[:300]} |")
    covered = coverage(run)
    return "\n".join(
        [
            "## mockspice verify",
            "",
            f"**{summary(run)}**",
            "",
            *rows,
            "",
            f"Variables sent: {', '.join(covered['variables_sent']) or 'none'}. "
            f"Codes met: {', '.join(covered['codes']) or 'none'}.",
            "",
        ]
    )
