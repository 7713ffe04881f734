"""API methods whose meaning is not public: they exist, check the session and the shape, answer plausibly.

SpiceCSM's clients call these methods (spicecsm-facts.md, "Methods that clients call") but
nothing public says what they take or give back beyond "one object". mockspice checks the
session and that one object, and answers a documented, plausible result: ``{"msg": "no
results"}`` for look-ups of things it does not keep, ``{"msg": "success"}`` for writes it does not
keep, case counts by status for ``caseAggregate``, and the brand's own values for the inContact
credentials, which it keeps as brand data (``<CompanyID>_tblBrandData``, labels ``inContact:<key>``),
so they are in ``GET /_mockspice/state`` and a reset restores them. A client that expects
something else stubs the method (``POST /_mockspice/rpc/stubs``).
"""

from __future__ import annotations

import re
from typing import Any

from mockspice.domain.errors import BadParameter
from mockspice.domain.outbound import check_brand
from mockspice.store.schema import table
from mockspice.surfaces.api.registry import Method, Param, Registry

NO_RESULTS = {"msg": "no results"}
SUCCESS = {"msg": "success"}
STUB_IT = "stub it (POST /_mockspice/rpc/stubs) for the answer your client expects."
MSG_RESULT = {"type": "object", "properties": {"msg": {"type": "string"}}}

# The facts give SpiceCSM's message for an array given to load and say the same one-object rule
# holds for these five; the message is the same with the method's name in it.
ONE_OBJECT = ("recipientSearch", "billingOverview", "getViews", "runReport", "getProcessAccessList")

INCONTACT_PREFIX = "inContact:"
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_BRAND_KEYS = ("brandid", "brand")
MAX_CREDENTIALS = 32
MAX_VALUE = 4096


def _summary(answer: str) -> str:
    return f"meaning not public; mockspice answers {answer} — {STUB_IT}"


def _object(summary: str = "search criteria or settings; its keys are not public", shape: str = "object") -> Param:
    return Param("obj", shape, summary)


# Each entry: name, what mockspice answers (for the summary), the constant answer.
_CONSTANT = (
    ("reviewLoad", '{"msg": "no results"} (it keeps no review cases)', NO_RESULTS),
    ("portalLoad", '{"msg": "no results"} (it keeps no client-portal content)', NO_RESULTS),
    ("businessRuleCheck", '{"msg": "no results"} (no business rule applies: it keeps none)', NO_RESULTS),
    ("businessRuleLoad", '{"msg": "no results"} (it keeps no business rules)', NO_RESULTS),
    ("processList", '{"msg": "no results"} (it keeps no process flows)', NO_RESULTS),
    ("createProcessIssue", '{"msg": "success"} and keeps nothing', SUCCESS),
    ("saveReaderState", '{"msg": "success"} and keeps nothing', SUCCESS),
    ("getProcessAccessList", '{"msg": "no results"} (it keeps no process flows)', NO_RESULTS),
    ("recipientSearch", '{"msg": "no results"} (it keeps no recipients)', NO_RESULTS),
    ("billingOverview", '{"msg": "no results"} (it keeps no billing)', NO_RESULTS),
    ("getViews", '{"msg": "no results"} (it keeps no saved views)', NO_RESULTS),
    ("runReport", '{"msg": "no results"} (it keeps no reports)', NO_RESULTS),
)


def register(registry: Registry) -> None:
    """Declare the methods whose meaning is not public."""
    for name, answer, result in _CONSTANT:
        param = _object(shape="one_object" if name in ONE_OBJECT else "object")
        registry.add(Method(name, _constant(result), (param,), _summary(answer),
                          result=MSG_RESULT, errors=("invalid-session", "bad-parameter")))

    registry.add(Method(
        "caseAggregate", _case_aggregate, (_object("optional filter: brandid"),),
        _summary('the number of the company\'s cases per status, rows {"statusid", "statuslabel", "count"} '
                 '(strings), filtered by "brandid" when given, or {"msg": "no results"}'),
        result={"type": "array", "items": {"type": "object", "properties": {
            "statusid": {"type": "string"}, "statuslabel": {"type": "string"}, "count": {"type": "string"}}}},
        errors=("invalid-session", "bad-parameter"), rows=True))

    registry.add(Method(
        "setinContactCredentials", _set_incontact,
        (_object('"brandid" (default 1) and the credentials as text, e.g. "username", "password", '
                 '"application", "vendor", "businessunit"'),),
        _summary('{"msg": "success"} and keeps the credentials as the brand\'s data (labels inContact:<key>, '
                 'replacing earlier ones)'),
        result=MSG_RESULT, errors=("invalid-session", "bad-parameter", "unknown-brand")))

    registry.add(Method(
        "inContactCredentials", _incontact, (_object('"brandid" (default 1)'),),
        _summary('the credentials last set by setinContactCredentials for the brand, '
                 '{"brandid", <key>: <text>, ...}, or {"msg": "no results"}'),
        result={"type": "object", "additionalProperties": {"type": "string"}},
        errors=("invalid-session", "bad-parameter", "unknown-brand")))


def _constant(result: dict[str, Any]):
    def answer(call: Any, obj: dict[str, Any]) -> dict[str, Any]:
        return dict(result)

    return answer


def _company(call: Any) -> int:
    company = call.session.company_id
    if company is None:
        raise BadParameter("this session belongs to no company")
    return company


def _brand(obj: dict[str, Any], method: str) -> int:
    """The brand an object names (``brandid`` or ``brand``, a number or its text), default 1."""
    for key in _BRAND_KEYS:
        if key in obj:
            value = obj[key]
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
                raise BadParameter(f"{method}: {key} must be a brand id (a positive whole number or its text)")
            return value
    return 1  # the Community edition's only brand, and every company's first


def _case_aggregate(call: Any, obj: dict[str, Any]) -> Any:
    company = _company(call)
    where, args = "", []
    if any(key in obj for key in _BRAND_KEYS):
        where, args = "WHERE c.BrandID = ?", [_brand(obj, "caseAggregate")]
    rows = call.store.read().execute(
        f"SELECT s.StatusID, s.StatusLabel, COUNT(*) FROM {table(company, 'tblCase')} c"
        f" JOIN {table(company, 'tblStatus')} s ON s.StatusID = c.StatusID {where}"
        " GROUP BY s.StatusID ORDER BY s.StatusID", args).fetchall()
    if not rows:
        return dict(NO_RESULTS)
    return [{"statusid": str(r[0]), "statuslabel": r[1], "count": str(r[2])} for r in rows]


def _set_incontact(call: Any, obj: dict[str, Any]) -> dict[str, Any]:
    company, brand = _company(call), _brand(obj, "setinContactCredentials")
    credentials = {k: v for k, v in obj.items() if k not in _BRAND_KEYS}
    if not credentials:
        raise BadParameter("setinContactCredentials: give the credentials as keys of the object, e.g. "
                           '{"username": "...", "password": "..."}')
    if len(credentials) > MAX_CREDENTIALS:
        raise BadParameter(f"setinContactCredentials: at most {MAX_CREDENTIALS} keys")
    for key, value in credentials.items():
        if not _KEY.fullmatch(key):
            raise BadParameter(f"setinContactCredentials: {key[:64]!r} is not a key (letters, digits, _; "
                               "a letter first; 64 at most)")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or len(str(value)) > MAX_VALUE:
            raise BadParameter(f"setinContactCredentials: {key} must be text (or a number), "
                               f"{MAX_VALUE} characters at most")
    data = table(company, "tblBrandData")
    with call.store.write() as conn:
        check_brand(conn, company, brand)
        # Replaced as a whole, so a key left out is gone, as a settings form would save it.
        conn.execute(f"DELETE FROM {data} WHERE BrandID = ? AND substr(DataLabel, 1, ?) = ?",
                     (brand, len(INCONTACT_PREFIX), INCONTACT_PREFIX))
        conn.executemany(f"INSERT INTO {data}(BrandID, DataLabel, DataText) VALUES (?, ?, ?)",
                         [(brand, INCONTACT_PREFIX + k, str(v)) for k, v in credentials.items()])
    return dict(SUCCESS)


def _incontact(call: Any, obj: dict[str, Any]) -> dict[str, Any]:
    company, brand = _company(call), _brand(obj, "inContactCredentials")
    with call.store.snapshot() as conn:
        check_brand(conn, company, brand)
        rows = conn.execute(f"SELECT DataLabel, DataText FROM {table(company, 'tblBrandData')}"
                            " WHERE BrandID = ? AND substr(DataLabel, 1, ?) = ? ORDER BY rowid",
                            (brand, len(INCONTACT_PREFIX), INCONTACT_PREFIX)).fetchall()
    if not rows:
        return dict(NO_RESULTS)
    return {"brandid": str(brand), **{label[len(INCONTACT_PREFIX):]: text for label, text in rows}}
