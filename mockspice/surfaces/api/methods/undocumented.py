"""API methods whose meaning is not public: they exist, check the session and the shape, answer
plausibly.

SpiceCSM's clients call these methods (spicecsm-facts.md, "Methods that clients call") but
nothing public says what they take or give back beyond "one object". mockspice checks the
session and that one object, and answers a documented, plausible result: ``{"msg": "no
results"}`` for look-ups of things it does not keep, ``{"msg": "success"}`` for writes it does not
keep, case counts by status for ``caseAggregate``, and the brand's own values for the inContact
credentials, which it keeps as brand secrets (``<CompanyID>_tblBrandSecret``, labels
``inContact:<key>``), so they are in ``GET /_mockspice/state`` (masked), ``query`` cannot read them,
and a reset restores them. A client that expects something else stubs the method (``POST
/_mockspice/rpc/stubs``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockspice.domain import integrations
from mockspice.domain.integrations import NO_RESULTS, SUCCESS
from mockspice.surfaces.api.registry import Method, Param, Registry

STUB_IT = "stub it (POST /_mockspice/rpc/stubs) for the answer your client expects."
MSG_RESULT = {"type": "object", "properties": {"msg": {"type": "string"}}}

# The facts give SpiceCSM's message for an array given to load and say the same one-object rule
# holds for these five; the message is the same with the method's name in it.
ONE_OBJECT = ("recipientSearch", "billingOverview", "getViews", "runReport", "getProcessAccessList")


def _summary(answer: str) -> str:
    return f"meaning not public; mockspice answers {answer} — {STUB_IT}"


def _object(
    summary: str = "search criteria or settings; its keys are not public", shape: str = "object"
) -> Param:
    return Param("obj", shape, summary)


# Each entry: name, what mockspice answers (for the summary), the constant answer.
_CONSTANT = (
    ("reviewLoad", '{"msg": "no results"} (it keeps no review cases)', NO_RESULTS),
    ("portalLoad", '{"msg": "no results"} (it keeps no client-portal content)', NO_RESULTS),
    (
        "businessRuleCheck",
        '{"msg": "no results"} (no business rule applies: it keeps none)',
        NO_RESULTS,
    ),
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
        registry.add(
            Method(
                name,
                _constant(result),
                (param,),
                _summary(answer),
                result=MSG_RESULT,
                errors=("invalid-session", "bad-parameter"),
            )
        )

    registry.add(
        Method(
            "caseAggregate",
            _delegate(integrations.case_aggregate),
            (_object("optional filter: brandid"),),
            _summary(
                'the number of the company\'s cases per status, rows {"statusid", "statuslabel", '
                '"count"} '
                '(strings), filtered by "brandid" when given, or {"msg": "no results"}'
            ),
            result={
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "statusid": {"type": "string"},
                        "statuslabel": {"type": "string"},
                        "count": {"type": "string"},
                    },
                },
            },
            errors=("invalid-session", "bad-parameter"),
            rows=True,
        )
    )

    registry.add(
        Method(
            "setinContactCredentials",
            _delegate(integrations.set_incontact),
            (
                _object(
                    '"brandid" (default 1) and the credentials as text, e.g. "username", '
                    '"password", '
                    '"application", "vendor", "businessunit"'
                ),
            ),
            _summary(
                '{"msg": "success"} and keeps the credentials as the brand\'s data (labels '
                "inContact:<key>, "
                "replacing earlier ones)"
            ),
            result=MSG_RESULT,
            errors=("invalid-session", "bad-parameter", "unknown-brand"),
        )
    )

    registry.add(
        Method(
            "inContactCredentials",
            _delegate(integrations.incontact),
            (_object('"brandid" (default 1)'),),
            _summary(
                "the credentials last set by setinContactCredentials for the brand, "
                '{"brandid", <key>: <text>, ...}, or {"msg": "no results"}'
            ),
            result={"type": "object", "additionalProperties": {"type": "string"}},
            errors=("invalid-session", "bad-parameter", "unknown-brand"),
        )
    )


def _constant(result: dict[str, Any]):
    def answer(call: Any, obj: dict[str, Any]) -> dict[str, Any]:
        return dict(result)

    return answer


def _delegate(operation: Callable[..., Any]) -> Callable[..., Any]:
    """A handler that runs a domain operation for the session's company."""

    def handler(call: Any, obj: dict[str, Any]) -> Any:
        return operation(call.store, integrations.company_of(call.session), obj)

    return handler
