"""The telephony screen pop (integration page, "Telephony Screen Pop/Integration").

A phone system opens ``telephonypop.php?company=&brand=[&callid=&ani=&caseid=]`` in the agent's
browser: the brand is selected, its greeting script shown, and the caller's account (by ANI) or
case (by case id) loaded. :func:`screen_pop` does all of it and records the pop; the surface
only renders the result.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockspice.domain import journal, outbound, records
from mockspice.domain.cache import GenerationCache
from mockspice.domain.errors import (
    BadParameter,
    CommunityLimit,
    DomainError,
    UnknownBrand,
    UnknownCompany,
)
from mockspice.store import dataset
from mockspice.store.db import Store
from mockspice.store.phones import normalize_phone
from mockspice.store.schema import MAX_ID, table

MAX_CANDIDATES = 50  # a pop lists at most this many accounts sharing one phone number
_POSITIVE = re.compile(r"[1-9][0-9]{0,9}")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class PopResult:
    """What a pop shows: the JSON form is :meth:`as_dict`."""

    pop_id: int
    company: int
    company_label: str
    brand: int
    brand_label: str
    callid: str | None
    ani: str | None
    ani_digits: str | None
    caseid: str | None
    greeting: str
    kind: str  # none | account | candidates | case
    accounts: list[dict[str, Any]] = field(default_factory=list)
    case: dict[str, Any] | None = None
    candidates_total: int = 0
    notices: list[str] = field(default_factory=list)
    webcalls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "kind", "outcome"}
    search_endpoint: Any = None  # the brand's search and load web calls, if it has them
    load_endpoint: Any = None
    greeting_script: str = ""
    # (key, generation) when the match came from the dataset alone, so that what is rendered
    # from it can be kept for as long as the dataset's generation stays the same; else None.
    cache_key: tuple | None = None

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON answer of a pop."""
        return {
            "pop_id": self.pop_id,
            "company": self.company,
            "company_label": self.company_label,
            "brand": self.brand,
            "brand_label": self.brand_label,
            "callid": self.callid,
            "ani": self.ani,
            "ani_digits": self.ani_digits,
            "caseid": self.caseid,
            "greeting": self.greeting,
            "match": {
                "kind": self.kind,
                "accounts": self.accounts,
                "case": self.case,
                "candidates_total": self.candidates_total,
            },
            "notices": self.notices,
            "webcalls": self.webcalls,
        }


def parse_id(params: Mapping[str, str], name: str) -> int:
    """A required positive integer parameter, or :class:`BadParameter` naming it."""
    value = params.get(name)
    if value is None or value == "":
        raise BadParameter(f"parameter '{name}' is required (a positive integer)")
    if not _POSITIVE.fullmatch(value) or int(value) > MAX_ID:
        raise BadParameter(
            f"parameter '{name}' must be a positive integer, not {journal.clip(value)!r}"
        )
    return int(value)


def screen_pop(
    store: Store,
    params: Mapping[str, str],
    *,
    edition: str,
    journal_limit: int,
    calls: outbound.Outbound | None = None,
    self_url: str = "",
    cache: GenerationCache | None = None,
) -> PopResult:
    """Run a screen pop and record it (also when it fails: the journal keeps the error).

    :param params: the GET parameters, one value each (the last, as PHP's ``$_GET`` keeps).
    :param calls: the brand's web calls; with a ``search_url`` an ANI is also searched there.
    :param self_url: the root URL the pop came in on (for web-call URLs that are paths).
    :param cache: matches kept by this process, valid while the dataset's generation stays.
    :raises DomainError: bad or unknown company or brand.
    """
    reflected = {k: journal.clip(v) for k, v in params.items()}
    try:
        company_id, brand_id = parse_id(params, "company"), parse_id(params, "brand")
        if edition == "community" and (company_id, brand_id) != (1, 1):
            raise CommunityLimit(
                "the Community edition has a single company and a single brand: "
                f"company and brand must be 1 (got company={company_id}, brand={brand_id})"
            )
        result = _cached_match(store, cache, company_id, brand_id, params, self_url)
        if (
            calls is not None
            and result.search_endpoint is not None
            and result.kind != "case"
            and result.ani
        ):
            _external(calls, result)
        if result.kind == "none" and result.ani_digits:
            result.notices.append(f"no account matched ANI {journal.clip(result.ani or '')!r}")
    except DomainError as exc:
        journal.append(
            store,
            journal_limit,
            "pop",
            {"params": reflected, "status": exc.status, "error": exc.as_dict()},
        )
        raise
    if result.webcalls:
        result.cache_key = None  # the partner's answer is not the dataset's
    # A pop's id is its journal entry's id: the journal is the record of every pop.
    result.pop_id = journal.append(
        store,
        journal_limit,
        "pop",
        {
            "params": reflected,
            "status": 200,
            "match": result.kind,
            "accounts": [a["userkey"] for a in result.accounts],
            "case": result.case["id"] if result.case else None,
            "notices": result.notices,
            "webcalls": [w["id"] for w in result.webcalls],
        },
    )
    return result


def _match_key(company_id: int, brand_id: int, params: Mapping[str, str], self_url: str) -> tuple:
    return (company_id, brand_id, params.get("ani"), params.get("caseid"), self_url)


def _cached_match(
    store: Store,
    cache: GenerationCache | None,
    company_id: int,
    brand_id: int,
    params: Mapping[str, str],
    self_url: str,
) -> PopResult:
    """The match for these parameters: from this process's cache while the dataset is unchanged."""
    key = _match_key(company_id, brand_id, params, self_url)
    if cache is not None:
        found = cache.get(key, store.generation())
        if found is not None:
            return _for_call(found, params.get("callid"))
    with store.snapshot() as conn:
        generation = store.generation(conn)
        found = _match(conn, company_id, brand_id, params, self_url)
    found.cache_key = (key, generation)
    if cache is not None:
        cache.put(key, generation, found)
    return _for_call(found, params.get("callid"))


def _for_call(found: PopResult, callid: str | None) -> PopResult:
    """A copy of a (possibly shared) match for one call: its own call id, notices and greeting."""
    result = PopResult.__new__(PopResult)  # a shallow copy (copy.copy costs several times more):
    result.__dict__.update(
        found.__dict__
    )  # the shared accounts and case are never changed in place
    result.callid, result.notices, result.webcalls = callid, list(found.notices), []
    result.accounts = list(found.accounts)
    if "{callid}" in result.greeting_script:  # else the match's greeting is this call's too
        result.greeting = _fill_greeting(result.greeting_script, result)
    return result


def _match(
    conn: sqlite3.Connection,
    company_id: int,
    brand_id: int,
    params: Mapping[str, str],
    self_url: str,
) -> PopResult:
    company = conn.execute(
        "SELECT TenantLabel FROM tblTenant WHERE TenantID = ? AND Active = 1", (company_id,)
    ).fetchone()
    if company is None:
        raise UnknownCompany(f"company {company_id} does not exist or is not active")
    brand = conn.execute(
        f"SELECT BrandLabel, Active FROM {table(company_id, 'tblBrand')} WHERE BrandID = ?",
        (brand_id,),
    ).fetchone()
    if brand is None:
        raise UnknownBrand(f"brand {brand_id} does not exist in company {company_id}")
    if not brand[1]:
        raise UnknownBrand(f"brand {brand_id} of company {company_id} is not active")
    ani, caseid = params.get("ani"), params.get("caseid")
    result = PopResult(
        pop_id=0,
        company=company_id,
        company_label=company[0],
        brand=brand_id,
        brand_label=brand[0],
        callid=None,
        ani=ani,
        ani_digits=normalize_phone(ani) if ani is not None else None,
        caseid=caseid,
        greeting="",
        kind="none",
    )
    if caseid:
        case = records.case_by_id(conn, company_id, brand_id, caseid)
        if case is not None:
            result.kind, result.case = "case", case
            result.accounts = [records.account(conn, company_id, case["account_id"])]
        else:
            result.notices.append(
                f"case {journal.clip(caseid)!r} was not found in brand {brand_id}"
            )
    if result.kind == "none" and ani is not None:
        _match_ani(conn, result)
    data = records.brand_data(conn, company_id, brand_id)
    webcalls = dataset.webcalls_from_data(dict(data))
    result.search_endpoint = outbound.endpoint(webcalls, "search", self_url)
    result.load_endpoint = outbound.endpoint(webcalls, "load", self_url)
    result.greeting_script = data.get("GreetingScript", "")
    result.greeting = _fill_greeting(result.greeting_script, result)
    return result


def _external(calls: outbound.Outbound, result: PopResult) -> None:
    """Search the ANI at the brand's partner (``PrimaryPhone`` as received) and load a single hit.

    External results, when there are any, are what the pop shows (marked ``external``); when the
    partner fails or finds nothing, the local matches stay, with a notice of the failure.
    """
    brand = {"company": result.company, "brand": result.brand}
    search = calls.engine.search(result.search_endpoint, {"pphone": result.ani}, brand)
    result.webcalls.append(_summary(search))
    if not search.ok:
        result.notices.append(
            f"external search failed ({search.outcome}): {_first_problem(search)}; "
            "showing local matches"
        )
        return
    if not search.records:
        result.notices.append("the external search found no account; showing local matches")
        return
    found = [{**record, "external": True} for record in search.records[:MAX_CANDIDATES]]
    if len(search.records) == 1:
        load = None
        if result.load_endpoint is not None:
            load = calls.engine.load(result.load_endpoint, search.records[0]["userkey"], brand)
            result.webcalls.append(_summary(load))
        if load is not None and load.ok and load.records:
            account = {**load.records[0], "brand": result.brand, "open_cases": [], "external": True}
            result.kind, result.accounts, result.candidates_total = "account", [account], 1
            result.greeting = _fill_greeting(result.greeting_script, result)
            return
        if load is not None:
            result.notices.append(f"external load failed ({load.outcome}): {_first_problem(load)}")
    result.kind, result.accounts = "candidates", found
    result.candidates_total = len(search.records)
    result.greeting = _fill_greeting(result.greeting_script, result)


def _summary(exchange: Any) -> dict[str, Any]:
    return {"id": exchange.id, "kind": exchange.kind, "outcome": exchange.outcome}


def _first_problem(exchange: Any) -> str:
    errors = [f for f in exchange.findings if f.severity == "error"]
    return errors[0].message if errors else exchange.outcome


def _match_ani(conn: sqlite3.Connection, result: PopResult) -> None:
    if not result.ani_digits:
        result.notices.append(
            f"ANI {journal.clip(result.ani or '')!r} has no phone number digits to match"
        )
        return
    ids = records.accounts_by_phone(
        conn, result.company, result.brand, result.ani_digits, MAX_CANDIDATES + 1
    )
    result.candidates_total = (
        len(ids)
        if len(ids) <= MAX_CANDIDATES
        else records.count_accounts_by_phone(conn, result.company, result.brand, result.ani_digits)
    )
    ids = ids[:MAX_CANDIDATES]
    result.accounts = [records.account(conn, result.company, account_id) for account_id in ids]
    if len(ids) == 1:
        result.kind = "account"
    elif ids:
        result.kind = "candidates"


def _fill_greeting(script: str, result: PopResult) -> str:
    """Fill the documented placeholders (docs/screen-pop.md); unknown ones stay as written."""
    account = result.accounts[0] if len(result.accounts) == 1 else None
    # A candidate from a partner's search reply has no contacts (only a load gives them).
    contact = account["contacts"][0] if account and account.get("contacts") else {}
    values = {
        "company": result.company_label,
        "brand": result.brand_label,
        "callid": result.callid or "",
        "ani": result.ani or "",
        "caseid": str(result.case["id"]) if result.case else "",
        "userkey": account["userkey"] if account else "",
        "firstname": contact.get("firstname", ""),
        "lastname": contact.get("lastname", ""),
        "caller": " ".join(filter(None, (contact.get("firstname"), contact.get("lastname"))))
        or "caller",
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), script)
