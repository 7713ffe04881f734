"""What a run found, for people and CI: a summary (stdout), JUnit XML, JSON and a GitHub step
summary in Markdown. The JSON's shape is documented in docs/verify.md; it is also what the
other formats are made from (:func:`as_data`).
"""

from __future__ import annotations

import datetime
import html
import json
import shlex
import socket
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from mockspice import __version__
from mockspice.verify.runner import Result, Run, Target
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
            "generated": run.target.generated,
            "seed": run.target.seed,
        },
        "summary": {
            "passed": run.count("passed"),
            "failed": run.count("failed"),
            "skipped": run.count("skipped"),
            "warnings": sum(len(r.warnings) for r in run.results),
            "elapsed_ms": round(run.elapsed_ms, 1),
        },
        "cases": [_case(result, run) for result in run.results],
        "coverage": coverage(run),
    }


def _case(result: Result, run: Run) -> dict[str, Any]:
    return {
        "name": result.name,
        "kind": result.kind,
        "purpose": result.purpose,
        "section": result.section,
        "status": result.status,
        "skipped_because": result.skipped_because,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "problems": [p.to_dict() for p in result.problems],
        "exchanges": [
            {**e.as_dict(body_limit=JOURNAL_BODY_LIMIT), "curl": curl(e)} for e in result.exchanges
        ],
        "reproduce": reproduce(run, result),
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


SECRET = '"$MOCKSPICE_VERIFY_INT_PASS"'  # where a command needs intPass: from the environment


def reproduce(run: Run, result: Result) -> str:
    """The command that runs this case again, against the same receivers."""
    return reproduce_for(run.target, result)


def reproduce_for(target: Target, result: Result) -> str:
    """:func:`reproduce`, before the run is over."""
    words = ["mockspice", "verify"]
    for kind, url in target.urls.items():
        words += [f"--{kind}-url", shlex.quote(url)]
    if target.int_user:
        words += ["--int-user", shlex.quote(target.int_user)]
    if target.int_pass:
        words += ["--int-pass", SECRET]
    for userkey in target.userkeys:
        words += ["--userkey", shlex.quote(userkey)]
    if result.name.startswith("generated."):
        words += ["--generated", str(target.generated), "--seed", str(target.seed)]
    return " ".join([*words, "--case", shlex.quote(result.name)])


def curl(exchange) -> str:
    """The request as a curl command (intPass from the environment, never written out)."""
    words = ["curl", "-sS", "-X", "POST", shlex.quote(exchange.url)]
    for name, value in exchange.form:
        if name == "intPass" and value:
            words += ["--data-urlencode", '"intPass=$MOCKSPICE_VERIFY_INT_PASS"']
        else:
            words += ["--data-urlencode", shlex.quote(f"{name}={value}")]
    return " ".join(words)


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


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d1d1f}
h1{font-size:1.4em}h2{font-size:1.05em;margin:0}
.case{border:1px solid #ccc;border-radius:6px;margin:.6em 0;padding:.5em .8em}
.case>summary{cursor:pointer}
.failed{border-left:8px solid #c62828}.passed{border-left:8px solid #2e7d32}
.warned{border-left:8px solid #ef8f00}.skipped{border-left:8px solid #9e9e9e}
.mark{font-weight:bold;display:inline-block;width:3.5em}
.failed .mark{color:#c62828}.passed .mark{color:#2e7d32}.warned .mark{color:#b26a00}
.skipped .mark{color:#757575}
.problem{margin:.3em 0}.fail{color:#c62828}.warn{color:#b26a00}
.exchange{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,2fr);gap:1em;margin:.6em 0}
pre,table.reply{font:12px/1.4 ui-monospace,monospace;background:#f6f6f6;padding:.5em;
white-space:pre-wrap;word-break:break-all;
overflow-x:auto;margin:0}
table.reply{border-collapse:collapse;width:100%}
table.reply td{padding:0 .5em;vertical-align:top;white-space:pre-wrap;word-break:break-all}
td.n{color:#888;text-align:right;user-select:none;width:4em}
tr.hit td{background:#fde2e2}tr.note td{color:#c62828;background:#fff}
code{font:12px ui-monospace,monospace}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _reply_table(exchange, notes: dict[int, list[str]]) -> str:
    text = exchange.body[:JOURNAL_BODY_LIMIT].decode("utf-8", errors="replace").splitlines()
    rows = []
    for number, line in enumerate(text, 1):
        hit = " class='hit'" if number in notes else ""
        rows.append(f"<tr{hit}><td class='n'>{number}</td><td>{_e(line)}</td></tr>")
        rows += [
            f"<tr class='note'><td></td><td>&#9650; {_e(n)}</td></tr>"
            for n in notes.get(number, [])
        ]
    if len(exchange.body) > JOURNAL_BODY_LIMIT:
        rows.append(
            f"<tr><td></td><td>[{len(exchange.body):,} bytes; the rest not shown]</td></tr>"
        )
    return "<table class='reply'>" + "".join(rows) + "</table>"


def _exchange_html(exchange) -> str:
    shown = exchange.as_dict(body_limit=0)
    form = "\n".join(f"{k}={v}" for k, v in shown["request"]["form"].items())
    notes: dict[int, list[str]] = {}
    for f in exchange.findings:
        notes.setdefault(f.line or 1, []).append(f"{f.severity} {f.code}: {f.message}")
    status = "no reply" if exchange.status is None else f"HTTP {exchange.status}"
    return (
        "<div class='exchange'><div>"
        f"<h2>POST {_e(exchange.url)}</h2><pre>{_e(form)}</pre>"
        f"<p>curl:</p><pre>{_e(curl(exchange))}</pre></div><div>"
        f"<h2>{_e(status)}, {len(exchange.body):,} bytes, {exchange.elapsed_ms:,.1f} ms, "
        f"{_e(exchange.outcome)}</h2>{_reply_table(exchange, notes)}</div></div>"
    )


def _case_html(run: Run, result: Result) -> str:
    state = "warned" if result.status == "passed" and result.warnings else result.status
    mark = {"failed": "FAIL", "passed": "PASS", "warned": "WARN", "skipped": "SKIP"}[state]
    opened = " open" if state == "failed" else ""
    parts = [
        f"<details class='case {state}' id='{_e(result.name)}'{opened}>",
        f"<summary><span class='mark'>{mark}</span> <code>{_e(result.name)}</code> "
        f"({result.elapsed_ms:,.0f} ms): {_e(result.purpose)}</summary>",
        f"<p>{_e(result.section)}</p>",
    ]
    if result.skipped_because:
        parts.append(f"<p>Skipped: {_e(result.skipped_because)}</p>")
    for p in result.problems:
        parts.append(
            f"<p class='problem {p.level}'><b>{p.level}</b> <code>{_e(p.code)}</code>: "
            f"{_e(p.message)}</p>"
        )
    shown = sorted({p.exchange for p in result.problems if p.exchange is not None})
    for index in shown:
        if index < len(result.exchanges):
            parts.append(_exchange_html(result.exchanges[index]))
    if result.status != "skipped":
        parts.append(f"<p>Run it again:</p><pre>{_e(reproduce(run, result))}</pre>")
    parts.append("</details>")
    return "\n".join(parts)


def html_report(run: Run) -> str:
    """The run as one self-contained HTML page: nothing is fetched from outside."""
    covered = coverage(run)
    urls = "".join(f"<li>{_e(k)}: <code>{_e(u)}</code></li>" for k, u in run.target.urls.items())
    return "\n".join(
        [
            "<!doctype html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">",
            "<title>mockspice verify</title>",
            f"<style>{_CSS}</style></head><body>",
            "<h1>mockspice verify</h1>",
            f"<p id='summary'><b>{_e(summary(run))}</b></p>",
            f"<ul>{urls}</ul>",
            *(_case_html(run, r) for r in run.results),
            "<h2>Coverage</h2>",
            f"<p>Variables sent: {_e(', '.join(covered['variables_sent']) or 'none')}</p>",
            f"<p>Attributes seen: {_e(', '.join(covered['attributes_seen']) or 'none')}</p>",
            f"<p>Codes met: {_e(', '.join(covered['codes']) or 'none')}</p>",
            "</body></html>",
            "",
        ]
    )
