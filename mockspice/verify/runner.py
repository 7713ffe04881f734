"""Running the cases: a :class:`Target` (the partner's receivers), a :class:`Context` each case
calls through, and the :class:`Result` of each case.

A case fails on a ``fail`` problem and passes with its warnings otherwise; a case whose receiver
was not given is skipped and says so. Every exchange is judged as SpiceCSM judges it (the
engine's findings), and the runner adds what every case checks: a call that timed out or found
no partner fails; one slower than the budget warns; an update or case reply that is an HTML page
or an XML error document warns (the page does not say what those replies hold).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mockspice.webcalls.engine import Endpoint, Engine, Exchange
from mockspice.webcalls.transport import Transport
from mockspice.wire.schemas import KINDS

#: What a case's status may be, worst first.
STATUSES = ("failed", "passed", "skipped")
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_BUDGET_MS = 2000.0
_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)
_XML_ERROR = re.compile(rb"^\s*(<\?xml[^>]*\?>\s*)?<(error|fault|errors)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """The partner's receivers (a URL for any subset of the four kinds) and how to call them."""

    urls: dict[str, str]
    int_user: str = ""
    int_pass: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    budget_ms: float = DEFAULT_BUDGET_MS
    userkeys: tuple[str, ...] = ()  # accounts the partner is known to hold (--userkey)
    generated: int = 0  # examples drawn for each generated case (--generated)
    seed: int = 0  # what they are drawn with (--seed)

    def endpoint(self, kind: str, *, int_user: str | None = None, int_pass: str | None = None):
        """The endpoint of ``kind`` (None when its URL was not given), credentials overridable."""
        url = self.urls.get(kind)
        if not url:
            return None
        return Endpoint(
            url,
            self.int_user if int_user is None else int_user,
            self.int_pass if int_pass is None else int_pass,
            self.timeout_s,
        )


@dataclass
class Problem:
    """One thing a case found wrong: ``fail`` fails the case, ``warn`` does not."""

    level: str
    code: str
    message: str
    exchange: int | None = None  # the index of the exchange it is about, in the case's list

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "message": self.message,
            "exchange": self.exchange,
        }


@dataclass
class Result:
    """What one case did: its status, its problems and every exchange it made."""

    name: str
    kind: str
    purpose: str
    section: str
    status: str = "passed"
    problems: list[Problem] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    elapsed_ms: float = 0.0
    skipped_because: str | None = None

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warn"]

    @property
    def failures(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "fail"]


class Skip(Exception):
    """Raised by a case that cannot run (its receiver or an account it needs is missing)."""


class Context:
    """What a case runs with: the target, the engine, what earlier cases learned (the userkeys
    the searches returned), and the result being filled."""

    def __init__(self, target: Target, engine: Engine):
        self.target, self.engine = target, engine
        # The accounts to load, update and send cases for: those given, then every userkey a
        # search returned, in order, once each.
        self.userkeys: list[str] = list(target.userkeys)
        self.result: Result | None = None

    # --- calls -----------------------------------------------------------------------------

    def endpoint(self, kind: str, **credentials: str) -> Endpoint:
        found = self.target.endpoint(kind, **credentials)
        if found is None:
            raise Skip(f"no --{kind}-url given")
        return found

    def search(self, criteria: dict[str, Any], **credentials: str) -> Exchange:
        exchange = self.engine.search(self.endpoint("search", **credentials), criteria)
        self._keep(exchange)
        for record in exchange.records if exchange.ok else ():
            key = record.get("userkey")
            if key and key not in self.userkeys:
                self.userkeys.append(key)
        return exchange

    def load(self, userkey: str, **credentials: str) -> Exchange:
        return self._keep(self.engine.load(self.endpoint("load", **credentials), userkey))

    def update(self, account: dict[str, Any]) -> Exchange:
        return self._keep(self.engine.update(self.endpoint("update"), account))

    def case(self, userkey: str, tickets: list[dict[str, Any]]) -> Exchange:
        return self._keep(self.engine.case(self.endpoint("case"), userkey, tickets))

    def _keep(self, exchange: Exchange) -> Exchange:
        result = self.result
        assert result is not None
        result.exchanges.append(exchange)
        index = len(result.exchanges) - 1
        if exchange.outcome in ("timeout", "unreachable"):
            detail = "; ".join(f.message for f in exchange.findings) or exchange.outcome
            self.fail(exchange.outcome, f"{exchange.kind} {exchange.url}: {detail}", index)
        elif exchange.elapsed_ms > self.target.budget_ms:
            self.warn(
                "slow",
                f"the {exchange.kind} reply took {exchange.elapsed_ms:,.0f} ms, over the budget of "
                f"{self.target.budget_ms:,.0f} ms",
                index,
            )
        if exchange.kind in ("update", "case") and exchange.status is not None:
            if _HTML.match(exchange.body):
                self.warn(
                    "html-reply",
                    f"the {exchange.kind} reply is an HTML page (HTTP {exchange.status}): a "
                    "PHP error page looks like this; SpiceCSM takes any 2xx as done",
                    index,
                )
            elif _XML_ERROR.match(exchange.body):
                self.warn(
                    "error-document",
                    f"the {exchange.kind} reply is an XML error document (HTTP "
                    f"{exchange.status}) although its status says success",
                    index,
                )
        return exchange

    # --- verdicts --------------------------------------------------------------------------

    def fail(self, code: str, message: str, exchange: int | None = None) -> None:
        self._problem("fail", code, message, exchange)

    def warn(self, code: str, message: str, exchange: int | None = None) -> None:
        self._problem("warn", code, message, exchange)

    def _problem(self, level: str, code: str, message: str, exchange: int | None) -> None:
        result = self.result
        assert result is not None
        if exchange is None and result.exchanges:
            exchange = len(result.exchanges) - 1
        result.problems.append(Problem(level, code, message, exchange))

    def judged(self, exchange: Exchange, what: str) -> bool:
        """Fail the case with the engine's error findings of ``exchange``; whether it was valid."""
        errors = [f for f in exchange.findings if f.severity == "error"]
        if exchange.outcome in ("timeout", "unreachable"):
            return False  # already failed by _keep
        for finding in errors:
            where = f" (line {finding.line}, column {finding.column})" if finding.line else ""
            self.fail(finding.code, f"{what}: {finding.message}{where}")
        for finding in exchange.findings:
            if finding.severity == "warning":
                self.warn(finding.code, f"{what}: {finding.message}")
        return not errors and exchange.outcome == "ok"


@dataclass(frozen=True)
class Case:
    """A named case: ``run(ctx)`` makes its calls and states its problems."""

    name: str
    kind: str  # the receiver it is about (its call may need others too)
    purpose: str
    section: str  # the integration page's section it checks
    run: Callable[[Context], None]


@dataclass
class Run:
    """A whole run: the results in order and the time it took."""

    target: Target
    results: list[Result]
    elapsed_ms: float

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def passed(self) -> bool:
        return self.count("failed") == 0


def run(
    target: Target,
    cases: Iterable[Case],
    *,
    engine: Engine | None = None,
    progress: Callable[[Result], None] | None = None,
) -> Run:
    """Run ``cases`` in order against ``target``; ``progress`` hears of each result."""
    own = engine is None
    engine = engine or Engine(Transport())
    ctx = Context(target, engine)
    results = []
    started = time.monotonic()
    try:
        for case in cases:
            result = Result(case.name, case.kind, case.purpose, case.section)
            ctx.result = result
            began = time.monotonic()
            try:
                case.run(ctx)
            except Skip as skip:
                result.status, result.skipped_because = "skipped", str(skip)
                result.problems = []
            result.elapsed_ms = (time.monotonic() - began) * 1000
            if result.status != "skipped" and result.failures:
                result.status = "failed"
            results.append(result)
            if progress is not None:
                progress(result)
    finally:
        if own:
            engine.transport.close()
    return Run(target, results, (time.monotonic() - started) * 1000)


def kinds_given(target: Target) -> list[str]:
    """The kinds whose URL the target has, in the page's order."""
    return [kind for kind in KINDS if target.urls.get(kind)]
