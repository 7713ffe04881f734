"""Web calls of a brand: its settings in the store, firing calls, journaling every exchange.

A brand's web-call settings (``search_url``, ``load_url``, ``update_url``, ``case_url``,
``int_user``, ``int_pass``, ``timeout_s``) are brand data rows (docs/webcalls.md). A URL that
is a path (``/_partner/search``) means "this mock itself": it is resolved against the root URL
the request came in on, which is how the demo wires its brands to the reference partner mounted
in the same server.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from mockspice.domain import journal, records
from mockspice.domain.errors import BadParameter, DomainError
from mockspice.domain.records import string
from mockspice.domain.scope import check_brand
from mockspice.store import dataset
from mockspice.store.dataset import DatasetError
from mockspice.store.db import Store
from mockspice.store.schema import table
from mockspice.webcalls.criteria import CriteriaError, search_criteria
from mockspice.webcalls.engine import JOURNAL_BODY_LIMIT, KINDS, Endpoint, Engine, Exchange, ticket


class NoWebCall(DomainError):
    """The brand has no URL for this web call."""

    code = "no-webcall-url"
    status = 409


def settings_of(conn: sqlite3.Connection, company_id: int, brand_id: int) -> dict[str, Any]:
    """A brand's web-call settings (no checks: the brand is known to exist)."""
    return dataset.webcalls_from_data(records.brand_data(conn, company_id, brand_id))


def get_settings(store: Store, company_id: int, brand_id: int) -> dict[str, Any]:
    """A brand's web-call settings as answers show them: ``int_pass`` masked (when set)."""
    with store.snapshot() as conn:
        check_brand(conn, company_id, brand_id)
        return _masked(settings_of(conn, company_id, brand_id))


def _masked(settings: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "int_pass": dataset.MASK if settings["int_pass"] else ""}


def put_settings(store: Store, company_id: int, brand_id: int, raw: Any) -> dict[str, Any]:
    """Replace a brand's web-call settings; keys left out take their defaults, and ``int_pass``
    given as the mask keeps the brand's own. The answer masks it.

    :raises BadParameter: a field is wrong (named in the message); nothing changed.
    """
    try:
        settings = dataset.check_webcalls(raw, "web-call settings")
    except DatasetError as exc:
        raise BadParameter(f"{exc.place}: {exc.reason}" if exc.place else exc.reason) from None
    with store.write() as conn:
        check_brand(conn, company_id, brand_id)
        if raw == {}:  # a mistake more often than a wish: clearing them all is said key by key
            raise BadParameter(
                "no web-call settings given; to clear them, send each with an empty value "
                '(e.g. {"search_url": "", "load_url": ""})'
            )
        if settings["int_pass"] == dataset.MASK:  # as GET answered it: the one the brand has
            settings["int_pass"] = settings_of(conn, company_id, brand_id)["int_pass"]
            if not settings["int_pass"]:
                raise BadParameter(
                    f"int_pass: is the mask {dataset.MASK!r}, and the brand has no intPass to "
                    "keep; give its value"
                )
        dataset.insert_brand_data(
            conn, company_id, dataset.webcall_rows(brand_id, settings), replace=True
        )
    return _masked(settings)


PARTNER_PREFIX = "/_partner"
# The credentials the reference partner accepts unless told otherwise (sent as intUser/intPass).
PARTNER_INT_USER, PARTNER_INT_PASS = "spice", "secret"


def wire_to_partner(data: dict[str, Any], int_user: str, int_pass: str) -> dict[str, Any]:
    """Point every brand that has no web-call URL at the reference partner mounted in the mock.

    The demo (``make serve``, setting ``partner``) does this so that a pop shows the external
    search and load at once; brands that have web calls of their own keep them.
    """
    for company in data["companies"]:
        for brand in company["brands"]:
            webcalls = brand["webcalls"]
            if not any(webcalls[f"{kind}_url"] for kind in KINDS):
                webcalls.update({f"{kind}_url": f"{PARTNER_PREFIX}/{kind}" for kind in KINDS})
                webcalls.update(int_user=int_user, int_pass=int_pass)
    return data


def endpoint(settings: dict[str, Any], kind: str, self_url: str) -> Endpoint | None:
    """The endpoint of one kind of call, or None when the brand has no URL for it."""
    url = settings[f"{kind}_url"]
    if not url:
        return None
    if url.startswith("/"):
        url = self_url.rstrip("/") + url
    return Endpoint(url, settings["int_user"], settings["int_pass"], settings["timeout_s"])


class Outbound:
    """The engine bound to the store: every exchange it makes is journaled (kind ``webcall``)."""

    def __init__(self, store: Store, engine: Engine, journal_limit: int):
        self.store, self.engine, self.journal_limit = store, engine, journal_limit
        engine.record = self._record

    def _record(self, exchange: Exchange) -> int:
        def entry(entry_id: int) -> dict[str, Any]:
            exchange.id = entry_id  # the entry holds its own id
            return {"exchange": exchange.as_dict(body_limit=JOURNAL_BODY_LIMIT)}

        return journal.append_own(self.store, self.journal_limit, "webcall", entry)

    def brand_endpoint(self, company_id: int, brand_id: int, kind: str, self_url: str) -> Endpoint:
        """The brand's endpoint for ``kind``; :class:`NoWebCall` when it has none."""
        with self.store.snapshot() as conn:
            check_brand(conn, company_id, brand_id)
            found = endpoint(settings_of(conn, company_id, brand_id), kind, self_url)
        if found is None:
            raise NoWebCall(f"brand {brand_id} of company {company_id} has no {kind}_url")
        return found

    def fire(
        self, company_id: int, brand_id: int, kind: str, payload: dict[str, Any], self_url: str
    ) -> Exchange:
        """Fire one web call of a brand now (the control API's ``POST
        /_mockspice/webcalls/<kind>``).

        :param payload: search: ``variables`` (search criteria by the store's names, or by the
            page's variable names); load: ``userkey``; update: ``userkey`` of a stored account
            or a whole ``account``; case: ``case`` (a case id) and optionally ``response`` (a
            response id; default: the case's last response).
        """
        brand = {"company": company_id, "brand": brand_id}
        target = self.brand_endpoint(company_id, brand_id, kind, self_url)
        if kind == "search":
            try:
                criteria = search_criteria(payload.get("variables"))
            except CriteriaError as exc:
                raise BadParameter(str(exc)) from None
            return self.engine.search(target, criteria, brand)
        if kind == "load":
            return self.engine.load(target, _required_text(payload, "userkey"), brand)
        if kind == "update":
            account = payload.get("account")
            if account is None:
                account = self.stored_account(company_id, _required_text(payload, "userkey"))
            elif not isinstance(account, dict) or not isinstance(account.get("userkey"), str):
                raise BadParameter(
                    "'account' must be an account object with a 'userkey' (docs/fixtures.md)"
                )
            else:
                account = _checked_account(account)
            return self.engine.update(target, account, brand)
        userkey, tickets = self.case_tickets(
            company_id, brand_id, payload.get("case"), payload.get("response")
        )
        return self.engine.case(target, userkey, tickets, brand)

    def stored_account(self, company_id: int, userkey: str) -> dict[str, Any]:
        """An account of the store, in the shape userXML is built from."""
        with self.store.snapshot() as conn:
            row = conn.execute(
                f"SELECT AccountID, Password FROM {table(company_id, 'tblAccount')} WHERE Userkey "
                "= ?",
                (userkey,),
            ).fetchone()
            if row is None:
                raise BadParameter(f"company {company_id} has no account with userkey {userkey!r}")
            account = records.account(conn, company_id, row[0])
        account["password"] = row[1]
        return account

    def case_tickets(
        self, company_id: int, brand_id: int, case_id: Any, response_id: Any
    ) -> tuple[str, list[dict]]:
        """The userkey and the caseXML ticket of a stored case's response."""
        if isinstance(case_id, bool) or not isinstance(case_id, int):
            raise BadParameter("'case' must be the id of a case (a whole number)")
        with self.store.snapshot() as conn:
            case = records.case_by_id(conn, company_id, brand_id, str(case_id))
        if case is None:
            raise BadParameter(f"brand {brand_id} of company {company_id} has no case {case_id}")
        responses = case["responses"]
        if response_id is None:
            chosen = responses[-1:]
        else:
            chosen = [r for r in responses if r["id"] == response_id]
        if not chosen:
            raise BadParameter(f"case {case_id} has no response {response_id}")
        return case["userkey"], [ticket(case, chosen[0], case["agent"])]


def _required_text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise BadParameter(f"'{key}' is required (text)")
    return value


def _checked_account(account: dict[str, Any]) -> dict[str, Any]:
    """An account given in a request, checked as a dataset account is (brand not needed)."""
    try:
        checked = dataset.check_account({"brand": 1, **account}, "account")
    except DatasetError as exc:
        raise BadParameter(str(exc)) from None
    return checked


def summary(exchange: Any) -> dict[str, Any]:
    """A web call as a result names it: ``{"id", "kind", "outcome"}`` (the id is its journal
    entry's).
    """
    return {"id": string(exchange.id), "kind": exchange.kind, "outcome": exchange.outcome}
