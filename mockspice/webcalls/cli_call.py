"""``mockspice call``: one web call to a partner from the command line, without a server.

Reads what the call needs from the options and files, sends it with the engine, and renders
the exchange as text or JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from mockspice.webcalls.criteria import CriteriaError, search_criteria
from mockspice.webcalls.engine import Endpoint, Engine, Exchange
from mockspice.webcalls.transport import Transport
from mockspice.wire.build import AccountError, account_of
from mockspice.wire.documents import TICKET_ATTRIBUTES
from mockspice.wire.report import format_text_line


class CallUsageError(ValueError):
    """The options or files of ``mockspice call`` cannot make a call (exit 2)."""


def run(
    kind: str,
    *,
    url: str,
    int_user: str,
    int_pass: str,
    variables: tuple[str, ...],
    userkey: str | None,
    account_file: str | None,
    case_file: str | None,
    timeout_s: float,
    corrected_names: bool,
    verify_tls: bool,
) -> Exchange:
    """Check the options, make the call and return the exchange."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallUsageError(f"--url must be an http or https URL, not {url!r}")
    if not 0 < timeout_s <= 300:
        raise CallUsageError("--timeout must be more than 0 and at most 300 seconds")
    target = Endpoint(url, int_user, int_pass, timeout_s)
    engine = Engine(Transport(verify_tls=verify_tls), corrected_names=corrected_names)
    try:
        if kind == "search":
            return engine.search(target, _criteria(variables))
        if kind == "load":
            return engine.load(target, _need(userkey, "--userkey", kind))
        if kind == "update":
            return engine.update(target, _account(_need(account_file, "--account-file", kind)))
        return engine.case(
            target,
            _need(userkey, "--userkey", kind),
            _tickets(_need(case_file, "--case-file", kind)),
        )
    finally:
        engine.transport.close()


def _need(value: str | None, option: str, kind: str) -> str:
    if not value:
        raise CallUsageError(f"{kind} needs {option}")
    return value


def _criteria(variables: tuple[str, ...]) -> dict[str, Any]:
    pairs = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CallUsageError(f"--var takes NAME=VALUE, not {item!r}")
        pairs[name] = value
    try:
        return search_criteria(pairs)
    except CriteriaError as exc:
        raise CallUsageError(str(exc)) from None


def _load(path: str) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CallUsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CallUsageError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CallUsageError(f"{path}{where}: not YAML or JSON: {problem}") from None


def _account(path: str) -> dict[str, Any]:
    try:
        return account_of(_load(path), path)
    except AccountError as exc:
        raise CallUsageError(str(exc)) from None


def _tickets(path: str) -> list[dict[str, Any]]:
    """Tickets from a file: one mapping or a list, with caseXML's attribute names."""
    raw = _load(path)
    items = raw if isinstance(raw, list) else [raw]
    tickets = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CallUsageError(f"{path}: ticket {i + 1} must be a mapping of caseXML attributes")
        unknown = sorted(set(item) - set(TICKET_ATTRIBUTES))
        if unknown:
            raise CallUsageError(
                f"{path}: ticket {i + 1} has unknown attribute {unknown[0]!r} "
                f"(caseXML has {', '.join(TICKET_ATTRIBUTES)})"
            )
        ticket = {k: ("" if v is None else v) for k, v in item.items()}
        date = ticket.get("date")
        if isinstance(date, str) and date:
            try:
                ticket["date"] = dt.datetime.fromisoformat(date)
            except ValueError:
                pass  # sent as written: a date already in the page's format, or a deliberate oddity
        tickets.append(ticket)
    return tickets


def render(exchange: Exchange, fmt: str) -> str:
    """The exchange as JSON, or as text: request, reply (status, body) and findings."""
    data = exchange.as_dict()
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    lines = [f"POST {exchange.url}  ({exchange.kind})"]
    lines += [f"  {name}={value}" for name, value in data["request"]["form"].items()]
    if data["response"] is None:
        lines.append(f"no reply: {exchange.outcome} after {exchange.elapsed_ms:g} ms")
    else:
        response = data["response"]
        lines.append(
            f"HTTP {response['status']}  ({exchange.elapsed_ms:g} ms, {response['size']} bytes"
            f"{', cut at the cap' if response['truncated'] else ''})"
        )
        lines.append(response["body"].rstrip())
    lines.append("findings:" if exchange.findings else "findings: none")
    lines += ["  " + format_text_line(f) for f in exchange.findings]
    if exchange.records and exchange.kind == "search":
        lines.append(
            f"records: {len(exchange.records)} "
            f"({', '.join(r['userkey'] for r in exchange.records[:10])}"
            f"{', ...' if len(exchange.records) > 10 else ''})"
        )
    lines.append(f"outcome: {exchange.outcome}")
    return "\n".join(lines)
