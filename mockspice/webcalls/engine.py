"""The outbound web-call engine: build a call as SpiceCSM sends it, send it, judge the reply.

Each call returns an :class:`Exchange` (``DESIGN.md``: request, response, elapsed, outcome,
findings, parsed records) and never raises. Outcomes:

- ``ok``: a 2xx reply that SpiceCSM would accept (no error finding);
- ``invalid``: a 2xx reply with error findings (not XML, wrong structure, cut at the size cap);
- ``error``: a reply that is not 2xx (a redirect included: SpiceCSM does not follow them);
- ``timeout``: no complete reply within the endpoint's timeout;
- ``unreachable``: refused, reset, unknown host, bad URL, TLS failure.

The integration page documents the replies of search and load only; for update and case any
2xx reply is accepted and its body kept as it came.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockspice.webcalls.transport import Reply, Transport
from mockspice.wire import build, schemas
from mockspice.wire.findings import Finding

KINDS = tuple(schemas.KINDS)  # search, load, update, case
OUTCOMES = (
    "ok",
    "invalid",
    "error",
    "timeout",
    "unreachable",
)  # an exchange's, as the module docstring says
MASK = "********"  # as datasets show secrets (store/dataset.py)
JOURNAL_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where a call goes and with which credentials (a brand's web-call settings)."""

    url: str
    int_user: str = ""
    int_pass: str = ""
    timeout_s: float = 10.0


@dataclass
class Exchange:
    """One web call: what was sent, what came back, and what mockspice makes of it."""

    kind: str
    url: str
    form: list[tuple[str, str]]
    outcome: str = "ok"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    elapsed_ms: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    brand: dict[str, int] | None = None
    id: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the partner answered as SpiceCSM expects."""
        return self.outcome == "ok"

    def as_dict(self, body_limit: int | None = None) -> dict[str, Any]:
        """The exchange as JSON data, the body cut at ``body_limit``; secrets are masked:
        ``intPass``, and an account's ``password`` in the userXML sent, the records and the reply
        (there with
        as many ``*`` as it had characters, so that the findings' columns still point right)."""
        body = self.body if body_limit is None else self.body[:body_limit]
        text = _PASSWORD_ATTRIBUTE.sub(
            lambda m: m[1] + "*" * len(m[3]) + m[4], body.decode("utf-8", errors="replace")
        )
        response = None
        if self.status is not None:
            response = {
                "status": self.status,
                "headers": self.headers,
                "body": text,
                "truncated": self.truncated or len(body) < len(self.body),
                "size": len(self.body),
            }
        return {
            "id": self.id,
            "kind": self.kind,
            "brand": self.brand,
            "request": {
                "url": self.url,
                "form": {name: _masked_field(name, value) for name, value in self.form},
            },
            "response": response,
            "elapsed_ms": self.elapsed_ms,
            "outcome": self.outcome,
            "findings": [f.to_dict() for f in self.findings],
            "records": [{**r, "password": MASK} if r.get("password") else r for r in self.records],
        }


# An account's password as XML writes it (the load structure's <user password="...">).
_PASSWORD_ATTRIBUTE = re.compile(r"""(\bpassword\s*=\s*(["']))(.*?)(\2)""", re.DOTALL)


def _without_passwords(
    findings: list[Finding], body: bytes, records: list[dict[str, Any]]
) -> list[Finding]:
    """The findings with no account password in their messages: a finding about the password
    attribute says what is wrong without the value; any other has the value masked where it
    quotes it."""
    if not findings:  # a valid reply (most of them): nothing to read the body again for
        return findings
    values = {m[3] for m in _PASSWORD_ATTRIBUTE.finditer(body.decode("utf-8", errors="replace"))}
    values |= {r["password"] for r in records if isinstance(r.get("password"), str)}
    values = sorted((v for v in values if len(v) >= 3), key=len, reverse=True)
    out = []
    for finding in findings:
        message = finding.message
        if (finding.path or "").endswith("/@password"):
            message = f"attribute 'password': {finding.code} (its value is not shown: a secret)"
        for value in values:
            message = message.replace(value, MASK)
        out.append(
            finding if message == finding.message else dataclasses.replace(finding, message=message)
        )
    return out


def _masked_field(name: str, value: str) -> str:
    if name == "intPass":
        return MASK if value else value
    if name == "userXML":
        return _PASSWORD_ATTRIBUTE.sub(lambda m: m[1] + (MASK if m[3] else "") + m[4], value)
    return value


class Engine:
    """Sends the four web calls; optionally hands every exchange to ``record`` (the journal)."""

    def __init__(
        self,
        transport: Transport,
        *,
        corrected_names: bool = False,
        max_depth: int = 32,
        record: Callable[[Exchange], int | None] | None = None,
        most: int | None = None,
    ):
        """:param most: calls sent and judged at once (each may hold a reply of webcall_max_bytes
        and its tree); another waits for one, within its own timeout. None: no limit."""
        self.transport = transport
        self.corrected_names = corrected_names
        self.max_depth = max_depth
        self.record = record
        self.most = most
        self._slots = threading.BoundedSemaphore(most) if most else None

    def search(
        self, endpoint: Endpoint, criteria: dict[str, Any], brand: dict | None = None
    ) -> Exchange:
        """Account search: the criteria as the page's POST variables (only those with data)."""
        form = build.search_form(
            criteria,
            int_user=endpoint.int_user,
            int_pass=endpoint.int_pass,
            corrected_names=self.corrected_names,
        )
        return self._call("search", endpoint, form, brand)

    def load(self, endpoint: Endpoint, userkey: str, brand: dict | None = None) -> Exchange:
        """Account load: ``Userkey``; the reply must be that account."""
        form = build.load_form(userkey, int_user=endpoint.int_user, int_pass=endpoint.int_pass)
        return self._call("load", endpoint, form, brand, expected_userkey=userkey)

    def update(
        self, endpoint: Endpoint, account: dict[str, Any], brand: dict | None = None
    ) -> Exchange:
        """Account update: ``userXML`` of the account (the load structure, percent-encoded)."""
        form = build.update_form(
            wire_account(account), int_user=endpoint.int_user, int_pass=endpoint.int_pass
        )
        return self._call("update", endpoint, form, brand)

    def case(
        self,
        endpoint: Endpoint,
        userkey: str,
        tickets: list[dict[str, Any]],
        brand: dict | None = None,
    ) -> Exchange:
        """Case update: ``Userkey`` and ``caseXML`` of the given responses (tickets)."""
        form = build.case_form(
            userkey, tickets, int_user=endpoint.int_user, int_pass=endpoint.int_pass
        )
        return self._call("case", endpoint, form, brand)

    def _call(
        self,
        kind: str,
        endpoint: Endpoint,
        form: list[tuple[str, str]],
        brand: dict | None,
        expected_userkey: str | None = None,
    ) -> Exchange:
        exchange = Exchange(kind, endpoint.url, form, brand=brand)
        started = time.monotonic()
        if self._slots is not None and not self._slots.acquire(timeout=endpoint.timeout_s):
            exchange.outcome, exchange.elapsed_ms = "timeout", (time.monotonic() - started) * 1000
            exchange.findings.append(
                Finding.of(
                    "timeout",
                    (
                        f"{endpoint.url}: not sent: {self.most} web calls were running in this "
                        f"server process for the call's whole timeout ({endpoint.timeout_s:g} s; "
                        "as many as the threads setting)"
                    ),
                )
            )
        else:
            try:
                # The wait for a slot counts in the call's timeout (in whole milliseconds, as said).
                left = round(max(endpoint.timeout_s - (time.monotonic() - started), 0.001), 3)
                reply = self.transport.post(endpoint.url, form, left)
                judge(exchange, reply, expected_userkey, self.max_depth)
                exchange.findings = _without_passwords(
                    exchange.findings, exchange.body, exchange.records
                )
            except Exception as exc:  # noqa: BLE001 - the contract: an exchange, never an exception
                exchange.outcome = "error"
                exchange.findings.append(
                    Finding.of("internal-error", f"mockspice failed: {type(exc).__name__}: {exc}")
                )
            finally:
                if self._slots is not None:
                    self._slots.release()
        if self.record is not None:
            exchange.id = self.record(exchange)
        return exchange


def judge(
    exchange: Exchange, reply: Reply, expected_userkey: str | None = None, max_depth: int = 32
) -> None:
    """Fill ``exchange`` from the transport's reply: outcome, findings and records."""
    from mockspice.wire import parse
    from mockspice.wire.validate import validate

    exchange.elapsed_ms = reply.elapsed_ms
    if reply.outcome != "ok":
        exchange.outcome = reply.outcome
        exchange.findings.append(Finding.of(reply.outcome, f"{exchange.url}: {reply.error}"))
        return
    exchange.status, exchange.headers = reply.status, reply.headers
    exchange.body, exchange.truncated = reply.body, reply.truncated
    status = reply.status or 0
    if 300 <= status < 400:
        exchange.outcome = "error"
        where = reply.headers.get("Location", "nowhere (no Location header)")
        exchange.findings.append(
            Finding.of(
                "redirect",
                f"the partner answered {status} pointing to {where}; SpiceCSM posts to the "
                "configured URL and does not follow redirects",
            )
        )
        return
    if not 200 <= status < 300:
        exchange.outcome = "error"
        exchange.findings.append(
            Finding.of(
                "http-status",
                f"the partner answered HTTP {status}; SpiceCSM expects 200 with the reply",
            )
        )
        return
    if reply.truncated:
        exchange.outcome = "invalid"
        exchange.findings.append(
            Finding.of(
                "reply-too-large",
                f"the reply is larger than {len(reply.body)} bytes; it was cut there and not read",
            )
        )
        return
    if exchange.kind in ("search", "load"):
        exchange.findings.extend(
            validate(
                exchange.kind,
                reply.body,
                expected_userkey=expected_userkey,
                max_bytes=len(reply.body) + 1,
                max_depth=max_depth,
            )
        )
        try:
            exchange.records = (
                parse.parse_search(reply.body)
                if exchange.kind == "search"
                else [store_account(parse.parse_account(reply.body))]
            )
        except parse.UnreadableDocument:
            exchange.records = []
    if any(f.severity == "error" for f in exchange.findings):
        exchange.outcome = "invalid"


def wire_account(account: dict[str, Any]) -> dict[str, Any]:
    """An account of the store's shape (fields as ``[{"id", "value"}]``) in the wire's shape."""
    fields = account.get("fields") or {}
    if isinstance(fields, list):
        fields = {int(f["id"]): f.get("value", "") for f in fields}
    return {**account, "fields": fields}


def store_account(account: dict[str, Any]) -> dict[str, Any]:
    """A parsed account (fields as a mapping) in the store's shape (fields as a list)."""
    fields = account.get("fields") or {}
    return {**account, "fields": [{"id": k, "value": v} for k, v in sorted(fields.items())]}


def ticket(case: dict[str, Any], response: dict[str, Any], assigned: str | None) -> dict[str, Any]:
    """One caseXML ticket from a case and one of its responses, as the page documents it."""
    return {
        "cid": case["id"],
        "id": response["id"],
        "tier": response["tier"],
        "date": dt.datetime.fromisoformat(response["date"]),
        "status": response["status"],
        "sid": response["status_id"],
        "issue": response["issue"] or "",
        "agent": response["agent"] or "",
        "aname": assigned or "",
        "journal": response["journal"],
        "email": response["email"],
        "article": response["article"],
        "treepath": response["treepath"],
        "events": response["events"],
    }
