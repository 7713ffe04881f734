"""The named cases of ``mockspice verify``, in the order they run (``--list`` prints them).

Each checks one thing the integration page says (its ``section``). Where the page is silent (what
a load of an unknown userkey answers, what an update or case reply holds), a case accepts every
answer a reasonable partner might give and at most warns; docs/verify.md lists those choices.
The searches run first: the userkeys they return are the accounts the load, update and case
cases work on (``--userkey`` adds one the partner is known to hold).
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from mockspice.verify import generated
from mockspice.verify.runner import Case, Context, Skip
from mockspice.wire.documents import CORRECTED_NAMES, SEARCH_VARIABLES

SEARCH = "Account Search/Load"
UPDATE = "Account Update"
CASE = "Case Update"
AUTH = "intUser / intPass"
#: A value for each search variable: the page's own example account (John Doe), and plausible
#: values for the variables the example leaves empty.
PROBES = {
    "userkey": "jdoe",
    "firstname": "John",
    "lastname": "Doe",
    "aone": "123 Fake St.",
    "atwo": "Suite 100",
    "city": "Anywhere",
    "region": "ZZ",
    "pc": "123456",
    "country": "US",
    "pphone": "(555) 555-5555",
    "sphone": "(555) 555-5555",
    "pemail": "johnd@xyz.net",
    "semail": "john.doe@example.com",
    "fax": "555-555-0100",
    "mobile": "555-555-0101",
    "password": "secret",
    "status": "Active",
    "account": "A-1001",
    "fields": {1: "Anything"},
}
#: Values that test the encoding both ways: characters that mean something in a form, in XML, in
#: CustFields (``\\`` and ``,``), and beyond ASCII.
AWKWARD = (
    "Mary Ann",
    "O'Brien",
    'the "Great"',
    "Smith & Sons",
    "a+b",
    "<tag>",
    "back\\slash",
    "one, two",
    "100%",
    "Zoë Müller",
    "Ærøskøbing",
    "山田",
    "😀",
    "x" * 2000,
)
MOST_LOADS = 20  # accounts loaded by load.found-accounts


def _search_one(key: str):
    def run(ctx: Context) -> None:
        exchange = ctx.search({key: PROBES[key]})
        ctx.judged(exchange, f"search by {_variable(key)}")

    return run


def _variable(key: str) -> str:
    name = next(v for v, k in SEARCH_VARIABLES if k == key)
    return f"{name} ({CORRECTED_NAMES[name]})" if name in CORRECTED_NAMES else name


def _combined(ctx: Context) -> None:
    criteria = {k: PROBES[k] for k in ("firstname", "lastname", "pphone")}
    ctx.judged(ctx.search(criteria), "search by FirstName, LastName and PrimaryPhone")


def _no_match(ctx: Context) -> None:
    nobody = f"mockspice-verify-nobody-{secrets.token_hex(6)}"
    exchange = ctx.search({"lastname": nobody, "userkey": nobody})
    if ctx.judged(exchange, "a search that matches nothing") and exchange.records:
        ctx.fail(
            "matches-nothing",
            f"a search for LastName={nobody!r} answered {len(exchange.records)} user(s); the "
            'page: "should no matching records be found the parent element must be returned '
            'with no child elements" (<users></users>)',
        )


def _awkward_values(ctx: Context) -> None:
    for value in AWKWARD:
        shown = value if len(value) <= 20 else f"{value[:12]}... ({len(value)} characters)"
        ctx.judged(ctx.search({"lastname": value}), f"search by LastName={shown!r}")
        ctx.judged(ctx.search({"fields": {1: value}}), f"search by CustFields=1\\{shown!r}")


def _accounts(ctx: Context) -> list[str]:
    if not ctx.userkeys:
        raise Skip(
            "no search returned an account (give --search-url, or --userkey of an account the "
            "partner holds)"
        )
    return ctx.userkeys[:MOST_LOADS]


def _load_found(ctx: Context) -> None:
    for userkey in _accounts(ctx):
        ctx.judged(ctx.load(userkey), f"load of {userkey!r}")


def _load_unknown(ctx: Context) -> None:
    nobody = f"mockspice-verify-nobody-{secrets.token_hex(6)}"
    exchange = ctx.load(nobody)
    if exchange.outcome in ("timeout", "unreachable"):
        return
    other = [r.get("userkey") for r in exchange.records if r.get("userkey")]
    if exchange.status is not None and 200 <= exchange.status < 300 and other:
        ctx.fail(
            "userkey-mismatch",
            f"a load of the unknown userkey {nobody!r} answered the account {other[0]!r}: the "
            "reply must be the account asked for, or no account",
        )
    elif exchange.status is not None and exchange.status >= 500:
        ctx.warn(
            "server-error",
            f"a load of an unknown userkey answered HTTP {exchange.status}; the page is silent "
            "here, but a 404 or an empty <userdata/> tells SpiceCSM more",
        )


def _loaded(ctx: Context, userkey: str) -> dict[str, Any] | None:
    exchange = ctx.load(userkey)
    if not ctx.judged(exchange, f"load of {userkey!r}") or not exchange.records:
        return None
    return exchange.records[0]


def _comparable(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": account.get("status", ""),
        "account": account.get("account", ""),
        "contacts": account.get("contacts", []),
        "fields": account.get("fields", []),
    }


def _accepted(ctx: Context, exchange, what: str) -> bool:
    if exchange.outcome in ("timeout", "unreachable"):
        return False
    if exchange.status is None or not 200 <= exchange.status < 300:
        ctx.fail(
            "http-status",
            f"{what} answered HTTP {exchange.status}; SpiceCSM expects a 2xx when it is done",
        )
        return False
    return True


def _update_same(ctx: Context) -> None:
    ctx.endpoint("update")
    userkey = _accounts(ctx)[0]
    before = _loaded(ctx, userkey)
    if before is None:
        return
    if not _accepted(ctx, ctx.update(before), f"an update of {userkey!r} with its own data"):
        return
    after = _loaded(ctx, userkey)
    if after is not None and _comparable(after) != _comparable(before):
        ctx.fail(
            "not-kept",
            f"after an update of {userkey!r} with the data it loaded with, a load answers "
            "other data: the update changed what it was not asked to",
        )


def _update_changed(ctx: Context) -> None:
    ctx.endpoint("update")
    userkey = _accounts(ctx)[0]
    before = _loaded(ctx, userkey)
    if before is None:
        return
    marker = f"Verifytown {secrets.token_hex(3)}"
    contacts = [dict(c) for c in before.get("contacts") or [{}]]
    contacts[0]["city"] = marker
    changed = {**before, "contacts": contacts}
    if not _accepted(ctx, ctx.update(changed), f"an update of {userkey!r}'s city"):
        return
    after = _loaded(ctx, userkey)
    try:
        if after is not None and (after.get("contacts") or [{}])[0].get("city") != marker:
            ctx.fail(
                "not-persisted",
                f"an update set {userkey!r}'s first contact's city to {marker!r} and was answered "
                "2xx, but the next load does not show it",
            )
    finally:
        ctx.update(before)  # the partner's data as it was


def _case_update(ctx: Context) -> None:
    ctx.endpoint("case")
    userkey = _accounts(ctx)[0]
    ticket = {
        "cid": "9001",
        "id": "1",
        "tier": "1",
        "date": datetime.datetime(2006, 1, 27, 13, 27, 51),
        "status": "2",
        "sid": "2",
        "issue": "Billing question",
        "agent": "Agent, Test",
        "aname": "Agent, Test",
        "journal": "Customer called about an invoice & asked for a copy <by email>.",
        "email": "",
        "article": "",
        "treepath": "Billing > Invoices",
        "events": "",
    }
    _accepted(ctx, ctx.case(userkey, [ticket]), f"a case update for {userkey!r}")


def _rejects(kind: str, **credentials: str):
    def run(ctx: Context) -> None:
        given = ctx.target.endpoint(kind)
        if given is None:
            raise Skip(f"no --{kind}-url given")
        if not (ctx.target.int_user or ctx.target.int_pass):
            raise Skip("no --int-user/--int-pass given: the partner does not ask for any")
        if kind == "search":
            exchange = ctx.search({"lastname": PROBES["lastname"]}, **credentials)
        else:
            exchange = ctx.load(PROBES["userkey"], **credentials)
        if exchange.status is not None and 200 <= exchange.status < 300 and exchange.ok:
            ctx.warn(
                "accepts-bad-credentials",
                f"the {kind} receiver answered HTTP {exchange.status} to "
                f"{_described(credentials)}: SpiceCSM sends intUser and intPass so that a "
                "partner can refuse others",
            )

    return run


def _described(credentials: dict[str, str]) -> str:
    if not any(credentials.values()):
        return "a call without intUser and intPass"
    return "a call with a wrong intPass"


def _cases() -> list[Case]:
    found = [
        Case(
            f"search.{name.lower()}",
            "search",
            f"a search by {_variable(key)} alone answers a valid <users> reply",
            SEARCH,
            _search_one(key),
        )
        for name, key in SEARCH_VARIABLES
    ]
    return found + [
        Case(
            "search.combined",
            "search",
            "a search by several variables at once answers a valid reply",
            SEARCH,
            _combined,
        ),
        Case(
            "search.no-match",
            "search",
            "a search that matches nothing answers <users></users>",
            SEARCH,
            _no_match,
        ),
        Case(
            "search.awkward-values",
            "search",
            "values with spaces, +, &, <, quotes, \\, commas, accents, CJK, emoji and 2,000 "
            "characters get valid, percent-encoded replies",
            SEARCH,
            _awkward_values,
        ),
        Case(
            "load.found-accounts",
            "load",
            f"a load of each account the searches returned (up to {MOST_LOADS}) answers that "
            "account, valid",
            SEARCH,
            _load_found,
        ),
        Case(
            "load.unknown-userkey",
            "load",
            "a load of a userkey the partner does not hold answers no account (any of 404, "
            "<userdata/>, a <userdata> without <user>)",
            SEARCH,
            _load_unknown,
        ),
        Case(
            "update.same-data",
            "update",
            "an update with the data a load gave is answered 2xx, and a load after it gives the "
            "same data",
            UPDATE,
            _update_same,
        ),
        Case(
            "update.changed-field",
            "update",
            "an update that changes a contact's city is answered 2xx and the next load shows it "
            "(the city is put back after)",
            UPDATE,
            _update_changed,
        ),
        Case(
            "case.update",
            "case",
            "a case update with a realistic caseXML for an account the partner holds is answered "
            "2xx",
            CASE,
            _case_update,
        ),
        Case(
            "auth.wrong-password",
            "search",
            "a call with a wrong intPass is refused (a warning when it is answered)",
            AUTH,
            _rejects("search", int_pass="mockspice-verify-wrong"),
        ),
        Case(
            "auth.no-credentials",
            "search",
            "a call without intUser and intPass is refused (a warning when it is answered)",
            AUTH,
            _rejects("search", int_user="", int_pass=""),
        ),
    ]


CASES: list[Case] = _cases()


def all_cases(count: int = generated.DEFAULT_COUNT, seed: int = 0) -> list[Case]:
    """The named cases, then (unless ``count`` is 0) the generated ones."""
    return CASES + (generated.cases(count, seed) if count else [])


NAMES = [case.name for case in all_cases()]


def select(
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    count: int = generated.DEFAULT_COUNT,
    seed: int = 0,
) -> list[Case]:
    """The cases to run: those named (a name, or a prefix ending in ``.`` such as ``search.``),
    all by default, less the excluded ones; in catalog order; ``count`` examples for each
    generated case, drawn with ``seed``.

    :raises KeyError: a name that names no case.
    """

    def matching(pattern: str) -> set[str]:
        found = {
            n for n in NAMES if n == pattern or (pattern.endswith(".") and n.startswith(pattern))
        }
        if not found:
            raise KeyError(pattern)
        return found

    chosen = set(NAMES) if not include else set().union(*(matching(p) for p in include))
    for pattern in exclude or ():
        chosen -= matching(pattern)
    return [case for case in all_cases(count, seed) if case.name in chosen]
