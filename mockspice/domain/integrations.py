"""Client data the real product keeps for integrations whose meaning is not public.

inContact credentials (``setinContactCredentials`` / ``inContactCredentials``): mockspice keeps
them as a brand's secrets (``<CompanyID>_tblBrandSecret``, labels ``inContact:<key>``), so they
are in ``GET /_mockspice/state`` (masked), ``query`` cannot read them, and a reset restores the
loaded dataset.
Case counts by status (``caseAggregate``) are read from the cases.
"""

from __future__ import annotations

import re
from typing import Any

from mockspice.domain.errors import BadParameter
from mockspice.domain.outbound import check_brand
from mockspice.domain.readers import ident
from mockspice.domain.records import NO_RESULTS
from mockspice.domain.scope import Scope, check_company
from mockspice.store.db import Store
from mockspice.store.schema import table

SUCCESS = {"msg": "success"}
INCONTACT_PREFIX = "inContact:"
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_BRAND_KEYS = ("brandid", "brand")
MAX_CREDENTIALS = 32
MAX_VALUE = 4096


def company_of(session: Any) -> int:
    """The company of a session (a portal or agent session always has one)."""
    return Scope.of(session).company_id


def brand_of(obj: dict[str, Any], method: str) -> int:
    """The brand an object names (``brandid`` or ``brand``, a number or its text), default 1."""
    for key in _BRAND_KEYS:
        if key in obj:
            try:
                return ident(obj[key], key)
            except BadParameter as exc:
                raise BadParameter(f"{method}: {exc.message}") from None
    return 1  # the Community edition's only brand, and every company's first


def case_aggregate(store: Store, company: int, obj: dict[str, Any]) -> Any:
    """The company's cases counted by status, optionally of one brand."""
    with store.snapshot() as conn:
        check_company(conn, company)
    where, args = "", []
    if any(key in obj for key in _BRAND_KEYS):
        where, args = "WHERE c.BrandID = ?", [brand_of(obj, "caseAggregate")]
    rows = (
        store.read()
        .execute(
            f"SELECT s.StatusID, s.StatusLabel, COUNT(*) FROM {table(company, 'tblCase')} c"
            f" JOIN {table(company, 'tblStatus')} s ON s.StatusID = c.StatusID {where}"
            " GROUP BY s.StatusID ORDER BY s.StatusID",
            args,
        )
        .fetchall()
    )
    if not rows:
        return dict(NO_RESULTS)
    return [{"statusid": str(r[0]), "statuslabel": r[1], "count": str(r[2])} for r in rows]


def set_incontact(store: Store, company: int, obj: dict[str, Any]) -> dict[str, Any]:
    """Keep a brand's inContact credentials, replacing the earlier ones whole."""
    brand = brand_of(obj, "setinContactCredentials")
    credentials = {k: v for k, v in obj.items() if k not in _BRAND_KEYS}
    if not credentials:
        raise BadParameter(
            "setinContactCredentials: give the credentials as keys of the object, e.g. "
            '{"username": "...", "password": "..."}'
        )
    if len(credentials) > MAX_CREDENTIALS:
        raise BadParameter(f"setinContactCredentials: at most {MAX_CREDENTIALS} keys")
    for key, value in credentials.items():
        if not _KEY.fullmatch(key):
            raise BadParameter(
                f"setinContactCredentials: {key[:64]!r} is not a key (letters, digits, _; "
                "a letter first; 64 at most)"
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, (str, int, float))
            or len(str(value)) > MAX_VALUE
        ):
            raise BadParameter(
                f"setinContactCredentials: {key} must be text (or a number), "
                f"{MAX_VALUE} characters at most"
            )
    data = table(company, "tblBrandSecret")
    with store.write() as conn:
        check_brand(conn, company, brand)
        # Replaced as a whole, so a key left out is gone, as a settings form would save it.
        conn.execute(
            f"DELETE FROM {data} WHERE BrandID = ? AND substr(DataLabel, 1, ?) = ?",
            (brand, len(INCONTACT_PREFIX), INCONTACT_PREFIX),
        )
        conn.executemany(
            f"INSERT INTO {data}(BrandID, DataLabel, DataText) VALUES (?, ?, ?)",
            [(brand, INCONTACT_PREFIX + k, str(v)) for k, v in credentials.items()],
        )
    return dict(SUCCESS)


def incontact(store: Store, company: int, obj: dict[str, Any]) -> dict[str, Any]:
    """A brand's inContact credentials, or {"msg": "no results"}."""
    brand = brand_of(obj, "inContactCredentials")
    with store.snapshot() as conn:
        check_brand(conn, company, brand)
        rows = conn.execute(
            f"SELECT DataLabel, DataText FROM {table(company, 'tblBrandSecret')}"
            " WHERE BrandID = ? AND substr(DataLabel, 1, ?) = ? ORDER BY rowid",
            (brand, len(INCONTACT_PREFIX), INCONTACT_PREFIX),
        ).fetchall()
    if not rows:
        return dict(NO_RESULTS)
    return {"brandid": str(brand), **{label[len(INCONTACT_PREFIX) :]: text for label, text in rows}}
