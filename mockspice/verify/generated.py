"""Generated cases: searches with variable sets and values drawn by hypothesis from the whole
text space, each reply judged as the named cases judge it; a failure is shrunk to the smallest
input that still fails, and named with the seed that finds it again.

``generated.search`` draws one to four of the page's search variables (CustFields as one
``ID\\value`` pair) with any text; ``generated.load`` draws userkeys the partner is unlikely to
hold, whose load must not answer another account.
"""

from __future__ import annotations

from typing import Any

from mockspice.verify.runner import Case, Context
from mockspice.wire.documents import SEARCH_VARIABLES

DEFAULT_COUNT = 50
_KEYS = [key for _, key in SEARCH_VARIABLES if key != "fields"]


def _strategies():
    from hypothesis import strategies as st

    # Any text a person or a system might type, surrogates aside (they cannot be sent as UTF-8).
    text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)
    plain = st.dictionaries(st.sampled_from(_KEYS), text, min_size=1, max_size=4)
    field = st.tuples(st.integers(1, 20), text).map(lambda pair: {"fields": {pair[0]: pair[1]}})
    search = st.one_of(plain, st.tuples(plain, field).map(lambda p: {**p[0], **p[1]}))
    userkey = text.map(lambda value: f"mockspice-verify-{value}")
    return search, userkey


def _explore(ctx: Context, strategy, probe, count: int, seed: int) -> Any:
    """Run ``probe(value)`` (it returns a problem or None) on ``count`` drawn values; the
    smallest value that fails, with its problem, or None. Of the exchanges the probes add to
    the case, only the shrunk failure's stays (hypothesis runs it last); none when all pass."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    found: list[Any] = []
    exchanges = ctx.result.exchanges
    before = len(exchanges)

    @seeded(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def check(value):
        problem = probe(value)
        if problem is not None:
            found[:] = [value, problem]  # the last failing run is the shrunk one
            raise AssertionError(problem)

    try:
        check()
    except AssertionError:
        pass
    del exchanges[before : len(exchanges) - (1 if found else 0)]
    return found or None


def _generated_search(count: int, seed: int):
    def run(ctx: Context) -> None:
        ctx.endpoint("search")
        search, _ = _strategies()

        def probe(criteria):
            exchange = ctx.engine.search(ctx.endpoint("search"), criteria)
            ctx.result.exchanges.append(exchange)
            errors = [f for f in exchange.findings if f.severity == "error"]
            if exchange.outcome in ("timeout", "unreachable") or errors:
                return errors[0].code if errors else exchange.outcome
            return None

        failed = _explore(ctx, search, probe, count, seed)
        if failed:
            criteria, code = failed
            exchange = ctx.result.exchanges[-1]
            detail = next((f.message for f in exchange.findings if f.code == code), code)
            ctx.fail(
                code,
                f"a search by {_named(criteria)} (the smallest of {count} drawn with seed "
                f"{seed} that fails): {detail}",
            )

    return run


def _generated_load(count: int, seed: int):
    def run(ctx: Context) -> None:
        ctx.endpoint("load")
        _, userkeys = _strategies()

        def probe(userkey):
            exchange = ctx.engine.load(ctx.endpoint("load"), userkey)
            ctx.result.exchanges.append(exchange)
            other = [r.get("userkey") for r in exchange.records if r.get("userkey") != userkey]
            if exchange.outcome in ("timeout", "unreachable"):
                return exchange.outcome
            if exchange.status is not None and 200 <= exchange.status < 300 and any(other):
                return "userkey-mismatch"
            return None

        failed = _explore(ctx, userkeys, probe, count, seed)
        if failed:
            userkey, code = failed
            ctx.fail(
                code,
                f"a load of {userkey!r} (the smallest of {count} drawn with seed {seed} that "
                "fails) answered another account, or no answer in time",
            )

    return run


def _named(criteria: dict[str, Any]) -> str:
    names = dict((key, name) for name, key in SEARCH_VARIABLES)
    return ", ".join(f"{names[k]}={v!r}" for k, v in criteria.items())


def cases(count: int = DEFAULT_COUNT, seed: int = 0) -> list[Case]:
    """The generated cases for ``count`` examples each, drawn with ``seed``."""
    return [
        Case(
            "generated.search",
            "search",
            f"{count} searches by 1-4 variables with any text: every reply valid",
            "Account Search/Load",
            _generated_search(count, seed),
        ),
        Case(
            "generated.load",
            "load",
            f"{count} loads of userkeys the partner cannot hold: none answers another account",
            "Account Search/Load",
            _generated_load(count, seed),
        ),
    ]
