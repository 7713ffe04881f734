"""API methods: companies, brands and agents (mockspice/domain/directory.py holds the choices;
brands.py and agents.py the operations on those).

Object keys are lower-case column names (``companyid``, ``brandid``, ``agentid``,
``securitylevelid``, ``tierid``, ``login``, ``password``); ids may be numbers or their digits.
Without ``companyid`` a method works on the session's own company; only a System
Administrator (level 4) may name another one.
"""

from __future__ import annotations

from typing import Any

from mockspice.domain import agents, brands, directory
from mockspice.domain.errors import BadParameter
from mockspice.domain.sessions import ADMIN
from mockspice.surfaces.api.registry import NO_RESULTS_SCHEMA, Param, Registry

SUCCESS = {"type": "object", "properties": {"msg": {"const": "success"}}}


def rows(*columns: str, empty: bool = True) -> dict[str, Any]:
    """The JSON Schema of a row list with these text columns (or no results)."""
    listed = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {column: {"type": ["string", "null"]} for column in columns},
        },
    }
    return {"oneOf": [listed, NO_RESULTS_SCHEMA]} if empty else listed


COMPANY = ("companyid", "companylabel", "active")
BRAND = ("brandid", "brandlabel", "brandlistlabel", "active", "companyid")
AGENT = (
    "agentid",
    "securitylevelid",
    "tierid",
    "login",
    "firstname",
    "lastname",
    "companyid",
    "email",
    "active",
    "securitylevellabel",
    "tierlabel",
)
AUTH = AGENT[:7]


def _obj(summary: str) -> Param:
    return Param("obj", "object", summary)


def register(registry: Registry) -> None:
    """Declare the directory methods."""

    @registry.method(
        "companyList",
        summary="The companies the session sees (a level-4 session: all; else its own).",
        result=rows(*COMPANY),
        rows=True,
        replayable=True,
    )
    def company_list(call: Any) -> Any:
        return directory.company_list(call.store, call.session)

    @registry.method(
        "agentExists",
        Param("logins", "any", "[login, ...] (or one login as text)"),
        summary="A row per existing login; an agent of a company the session does not see gives "
        '{"login"} only (logins are unique across the install). Else {"msg": "no results"}.',
        result=rows(*AGENT),
        rows=True,
        errors=("bad-parameter",),
        replayable=True,
    )
    def agent_exists(call: Any, logins: Any) -> Any:
        if isinstance(logins, str):
            logins = [logins]
        if (
            not isinstance(logins, list)
            or not logins
            or not all(isinstance(x, str) for x in logins)
        ):
            raise BadParameter(
                'agentExists: logins must be an array of logins, e.g. ["jdoe.agent"]'
            )
        return agents.agent_exists(
            call.store,
            call.session,
            [directory.text_field({"login": login}, "login", "agentExists") for login in logins],
        )

    @registry.method(
        "agentAuth",
        Param("credentials", "any", '[{"login", "password": MD5 hex, any case}]'),
        summary="Check an agent's login and MD5 hex password: [{agentid, securitylevelid, tierid, "
        'login, firstname, lastname, companyid}]; {"msg": "deny"} for an unknown login or a wrong '
        'password; {"msg": "destroy"} for the right password of an inactive agent or company.',
        result={
            "oneOf": [
                rows(*AUTH, empty=False),
                {"type": "object", "properties": {"msg": {"enum": ["deny", "destroy"]}}},
            ]
        },
        rows=True,
        errors=("bad-parameter",),
    )
    def agent_auth(call: Any, credentials: Any) -> Any:
        if isinstance(credentials, list) and len(credentials) == 1:
            credentials = credentials[0]
        if not isinstance(credentials, dict):
            raise BadParameter(
                'agentAuth: credentials must be [{"login": text, "password": MD5 hex}]'
            )
        given = directory.fields(credentials)
        login = directory.text_field(given, "login", "agentAuth", required=True)
        password = directory.text_field(given, "password", "agentAuth", required=True)
        return agents.agent_auth(call.store, call.session, login, password)

    @registry.method(
        "agentList",
        _obj("filters: companyid, securitylevelid, tierid, active (1/0); {} for all"),
        summary="The agents the session sees, filtered; no passwords.",
        result=rows(*AGENT),
        rows=True,
        errors=("bad-parameter",),
        replayable=True,
    )
    def agent_list(call: Any, obj: dict[str, Any]) -> Any:
        return agents.agent_list(call.store, call.session, obj)

    @registry.method(
        "loadAgent",
        _obj('{"agentid"} or {"login"}'),
        summary='One agent, or {"msg": "no results"} (also for an agent the session does not see).',
        result=rows(*AGENT),
        rows=True,
        errors=("bad-parameter",),
        replayable=True,
    )
    def load_agent(call: Any, obj: dict[str, Any]) -> Any:
        return agents.load_agent(call.store, call.session, obj)

    @registry.method(
        "createAgent",
        _obj(
            "login, password (plain or MD5 hex), firstname, lastname, email, "
            "securitylevelid, tierid, active, companyid; with agentid: an update"
        ),
        summary="Create an agent, or update the one agentid names (only the keys given). Answers "
        "the agent's row. Security levels are not checked (the facts name none).",
        result=rows(*AGENT, empty=False),
        rows=True,
        errors=("bad-parameter", "conflict", "not-found", "unknown-company"),
    )
    def create_agent(call: Any, obj: dict[str, Any]) -> Any:
        return agents.create_agent(call.store, call.session, obj)

    @registry.method(
        "changePass",
        _obj(
            "password (or newpassword), optional oldpassword (checked when given), "
            "optional agentid or login (default: the session's agent)"
        ),
        summary="Set a password: one's own at any level, another agent's at security level 3 or "
        "more.",
        result=SUCCESS,
        errors=("bad-parameter", "not-found", "permission-denied"),
    )
    def change_pass(call: Any, obj: dict[str, Any]) -> Any:
        return agents.change_pass(call.store, call.session, obj)

    @registry.method(
        "getAgentAccess",
        _obj("optional agentid (default: the session's agent)"),
        summary='What an agent may do: its row with level and tier labels, "brands" (its '
        "company's active brands)"
        ' and "may" (createcompany, deletecompany, allcompanies, '
        'changeotherpasswords as "1"/"0").',
        result={"type": "object"},
        errors=("bad-parameter", "not-found"),
        replayable=True,
    )
    def get_agent_access(call: Any, obj: dict[str, Any]) -> Any:
        return agents.agent_access(call.store, call.session, obj)

    @registry.method(
        "createCompany",
        _obj("companylabel, optional companyid and active"),
        summary="A new company with its own tables (and statuses New, In Progress, Closed), in one "
        "transaction. System Administrator only; refused by the Community edition.",
        min_level=ADMIN,
        result=rows(*COMPANY, empty=False),
        rows=True,
        errors=("permission-denied", "bad-parameter", "conflict", "community-edition"),
    )
    def create_company(call: Any, obj: dict[str, Any]) -> Any:
        return directory.create_company(call.store, call.session, obj, call.settings.edition)

    @registry.method(
        "deleteCompany",
        _obj("companyid"),
        summary="Remove a company with its tables, agents and their sessions. System Administrator "
        "only; a session cannot delete its own company.",
        min_level=ADMIN,
        result=SUCCESS,
        errors=("permission-denied", "bad-parameter", "unknown-company", "conflict"),
    )
    def delete_company(call: Any, obj: dict[str, Any]) -> Any:
        return directory.delete_company(call.store, call.session, obj)

    @registry.method(
        "createBrand",
        _obj(
            "brandlabel, optional brandlistlabel (default: the label), greeting, "
            "active, brandid, companyid"
        ),
        summary="A new brand with its greeting script and empty web-call settings; refused by the "
        "Community edition.",
        result=rows(*BRAND, empty=False),
        rows=True,
        errors=("bad-parameter", "conflict", "unknown-company", "community-edition"),
    )
    def create_brand(call: Any, obj: dict[str, Any]) -> Any:
        return brands.create_brand(call.store, call.session, obj, call.settings.edition)

    @registry.method(
        "updateBrand",
        _obj("brandid, and any of brandlabel, brandlistlabel, greeting, active"),
        summary="Change a brand (only the keys given); answers its row.",
        result=rows(*BRAND, empty=False),
        rows=True,
        errors=("bad-parameter", "unknown-brand", "unknown-company"),
    )
    def update_brand(call: Any, obj: dict[str, Any]) -> Any:
        return brands.update_brand(call.store, call.session, obj)

    @registry.method(
        "deleteBrand",
        _obj("brandid"),
        summary="Remove a brand and its brand data; a brand with accounts or cases is refused "
        "(deactivate it with updateBrand instead).",
        result=SUCCESS,
        errors=("bad-parameter", "unknown-brand", "unknown-company", "conflict"),
    )
    def delete_brand(call: Any, obj: dict[str, Any]) -> Any:
        return brands.delete_brand(call.store, call.session, obj)

    @registry.method(
        "copyBrand",
        _obj(
            'brandid (the source), optional brandlabel (default: "<label> (copy)"), '
            "brandlistlabel, newbrandid"
        ),
        summary="A new brand with the source's brand data (greeting, web calls, settings); "
        "accounts and cases are not copied.",
        result=rows(*BRAND, empty=False),
        rows=True,
        errors=(
            "bad-parameter",
            "unknown-brand",
            "unknown-company",
            "conflict",
            "community-edition",
        ),
    )
    def copy_brand(call: Any, obj: dict[str, Any]) -> Any:
        return brands.copy_brand(call.store, call.session, obj, call.settings.edition)

    @registry.method(
        "scriptLoad",
        _obj("brandid"),
        summary="The brand's greeting script: [{brandid, brandlabel, filename "
        '("brand_<id>_greeting.txt"), script (its text, placeholders such as {caller} as '
        'stored)}], or {"msg": "no results"}.',
        result=rows("brandid", "brandlabel", "filename", "script"),
        rows=True,
        errors=("bad-parameter", "unknown-company"),
        replayable=True,
    )
    def script_load(call: Any, obj: dict[str, Any]) -> Any:
        return brands.script_load(call.store, call.session, obj)
