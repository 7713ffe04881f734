"""The dataset format: checking, importing into the store and exporting from it.

A dataset is the whole state of the mock's help desk (companies, brands, accounts, cases,
agents), written as YAML on disk and as JSON over the control API; ``docs/fixtures.md``
describes it. :func:`check` turns raw data into the canonical form (every key present, in a
fixed order), which is exactly what :func:`export` produces, so import -> export -> import
gives identical data. A bad dataset raises :class:`DatasetError` naming the source, the place
(and line, for files) and the reason; nothing is written until the whole dataset is checked,
and :func:`replace` runs in one transaction.

One module (about 1,000 lines) on purpose: the format's rules (the ``_Key`` tables), its import
and its export sit side by side, so that a new key is added, imported and exported in one file,
and the round trip (import -> export -> import) stays checkable by reading one place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from mockspice.store import schema
from mockspice.store.phones import normalize_phone
from mockspice.store.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, MAX_ID, table
from mockspice.wire.schemas import KINDS

MASK = "********"  # how an answer shows a secret (the web-call engine's mask too)

FORMAT = "mockspice-dataset/1"
STORED_DATETIME = "%Y-%m-%d %H:%M:%S"  # how the store keeps a date and time (UTC)

# The contact values that are phone numbers (the phone index holds their digits).
PHONE_KEYS = ("pphone", "sphone", "mobile", "fax")
RESPONSE_TEXTS = {
    "journal": "Journal",
    "email": "Email",
    "article": "Article",
    "treepath": "TreePath",
    "events": "Events",
}


class DatasetError(ValueError):
    """A dataset that cannot be loaded: source, place and reason in one line."""

    def __init__(self, source: str, place: str, reason: str, line: int | None = None):
        self.source, self.place, self.reason, self.line = source, place, reason, line
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {place}: {reason}" if place else f"{where}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data."""
        return {
            "source": self.source,
            "place": self.place,
            "reason": self.reason,
            "line": self.line,
        }


class _Invalid(Exception):
    def __init__(self, path: tuple, reason: str):
        self.path, self.reason = path, reason


def _place(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --- value checkers: each takes (value, path) and returns the canonical value ---------------


def _int(value: Any, path: tuple) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(path, f"must be a whole number, not {value!r}")
    return value


def _id(value: Any, path: tuple) -> int:
    value = _int(value, path)
    if not 1 <= value <= MAX_ID:
        raise _Invalid(path, f"must be a positive id (1 to {MAX_ID}), not {value}")
    return value


def _opt_id(value: Any, path: tuple) -> int | None:
    return None if value is None else _id(value, path)


def _level(value: Any, path: tuple) -> int:
    value = _int(value, path)
    if not 1 <= value <= 4:
        raise _Invalid(path, f"must be 1, 2, 3 or 4, not {value}")
    return value


def _text(value: Any, path: tuple) -> str:
    # YAML reads 123456 or 5555555555 as numbers; postal codes and phones are text here.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _Invalid(path, f"must be text, not {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON may escape a lone surrogate ("\ud800"); no text store can keep it.
        raise _Invalid(
            path, f"is not valid Unicode text (a lone surrogate at character {exc.start})"
        ) from None
    return value


def _name(value: Any, path: tuple) -> str:
    value = _text(value, path)
    if not value.strip():
        raise _Invalid(path, "must not be empty")
    return value


def _bool(value: Any, path: tuple) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(path, f"must be true or false, not {value!r}")
    return value


def _md5(value: Any, path: tuple) -> str:
    value = _text(value, path)
    if value == MASK:
        return value  # GET /_mockspice/state's mask: the import keeps the agent's digest
    if not re.fullmatch(r"[0-9a-fA-F]{32}", value):
        raise _Invalid(path, "must be 32 hexadecimal digits (an MD5 digest)")
    return value.lower()


def _datetime(value: Any, path: tuple) -> str:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Invalid(
                path, f"must be a date and time like 2006-01-27 13:27:51, not {value!r}"
            ) from None
    else:
        raise _Invalid(path, f"must be a date and time like 2006-01-27 13:27:51, not {value!r}")
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:  # 9999-12-31T23:59:59-23:59 is past the last UTC date
            raise _Invalid(
                path, f"is outside the dates that can be kept in UTC: {value!r}"
            ) from None
    return moment.strftime(STORED_DATETIME)


def now_text() -> str:
    """Now, as the store keeps dates (UTC)."""
    return dt.datetime.now(dt.UTC).strftime(STORED_DATETIME)


def _opt_datetime(value: Any, path: tuple) -> str | None:
    return None if value is None else _datetime(value, path)


def _url(value: Any, path: tuple) -> str:
    value = _text(value, path).strip()
    if not value:
        return ""
    if value.startswith("/") and not value.startswith("//") and not any(c.isspace() for c in value):
        return value  # a path of the mock itself (the reference partner's /_partner/search)
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in value):
        raise _Invalid(path, f"must be an http or https URL, not {value!r}")
    return value


def _timeout(value: Any, path: tuple) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0.1 <= value <= 300
    ):
        raise _Invalid(path, f"must be a number of seconds from 0.1 to 300, not {value!r}")
    return float(value)


def _mapping_of_text(value: Any, path: tuple) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Invalid(path, "must be a mapping of names to text")
    return {_name(k, path): _text(v, path + (str(k),)) for k, v in value.items()}


@dataclass(frozen=True)
class _Key:
    check: Callable[[Any, tuple], Any]
    default: Any = ...  # Ellipsis: required

    @property
    def required(self) -> bool:
        return self.default is ...


def _a(what: str) -> str:
    """``what`` with its article: "an account", "a brand"."""
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def _record(spec: dict[str, _Key], value: Any, path: tuple, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(path, f"must be a mapping ({_a(what)})")
    unknown = [k for k in value if k not in spec]
    if unknown:
        raise _Invalid(
            path + (str(unknown[0]),),
            f"unknown key {unknown[0]!r} in {_a(what)} (known: {', '.join(spec)})",
        )
    out = {}
    for key, rule in spec.items():
        if key in value:
            out[key] = rule.check(value[key], path + (key,))
        elif rule.required:
            raise _Invalid(path, f"{_a(what)} needs the key {key!r}")
        else:
            out[key] = rule.default() if callable(rule.default) else rule.default
    return out


def _list_of(spec: dict[str, _Key], what: str) -> Callable[[Any, tuple], list]:
    def check(value: Any, path: tuple) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _Invalid(path, f"must be a list of {what} records")
        return [_record(spec, item, path + (i,), what) for i, item in enumerate(value)]

    return check


_TEXT = _Key(_text, "")
CONTACT = {key: _TEXT for key in CONTACT_COLUMNS}
FIELD_VALUE = {"id": _Key(_id), "value": _TEXT}
ACCOUNT = {
    "userkey": _Key(_name),
    "brand": _Key(_id),
    "password": _TEXT,
    "status": _Key(_name, "Active"),
    "account": _TEXT,
    "contacts": _Key(_list_of(CONTACT, "contact"), list),
    "fields": _Key(_list_of(FIELD_VALUE, "field value"), list),
}
RESPONSE = {
    "id": _Key(_id),
    "date": _Key(_datetime),
    "agent": _Key(_opt_id, None),
    "tier": _Key(_level, 1),
    "status": _Key(_id),
    "issue": _Key(_opt_id, None),
    "callid": _TEXT,
    **{key: _TEXT for key in RESPONSE_TEXTS},
}
CASE = {
    "id": _Key(_id),
    "userkey": _Key(_name),
    "brand": _Key(_opt_id, None),
    "status": _Key(_id),
    "issue": _Key(_opt_id, None),
    "tier": _Key(_level, 1),
    "agent": _Key(_opt_id, None),
    "callid": _TEXT,
    "created": _Key(_datetime),
    "responses": _Key(_list_of(RESPONSE, "response"), list),
}
# A brand's web-call settings, kept as brand data (<CompanyID>_tblBrandData) under these labels:
# SpiceCSM does not say where it keeps them (spicecsm-facts.md, "Not known"); per-brand
# settings are where it keeps everything else of a brand.
WEBCALL_LABELS = {
    **{f"{kind}_url": f"{kind.capitalize()}URL" for kind in KINDS},  # SearchURL, ...
    "int_user": "IntUser",
    "int_pass": "IntPass",
    "timeout_s": "WebCallTimeout",
}
DEFAULT_TIMEOUT_S = 10.0
WEBCALLS = {
    **{f"{kind}_url": _Key(_url, "") for kind in KINDS},
    "int_user": _TEXT,
    "int_pass": _TEXT,
    "timeout_s": _Key(_timeout, DEFAULT_TIMEOUT_S),
}


def _webcalls(value: Any, path: tuple) -> dict[str, Any]:
    return _record(WEBCALLS, value, path, "web-call settings")


BRAND = {
    "id": _Key(_id),
    "label": _Key(_name),
    "list_label": _Key(_text, None),
    "active": _Key(_bool, True),
    "greeting": _TEXT,
    "webcalls": _Key(_webcalls, lambda: _webcalls({}, ())),
    "data": _Key(_mapping_of_text, dict),
}
EVENT_CATEGORY = {"id": _Key(_id), "label": _Key(_name)}
EVENT = {
    "id": _Key(_id),
    "case": _Key(_opt_id, None),
    "category": _Key(_id),
    "title": _Key(_name),
    "starts": _Key(_datetime),
    "ends": _Key(_opt_datetime, None),
    "notes": _TEXT,
    "agent": _Key(_opt_id, None),
}
ALERT = {
    "id": _Key(_id),
    "message": _Key(_name),
    "created": _Key(_datetime),
    "expires": _Key(_opt_datetime, None),
    "active": _Key(_bool, True),
}
COMPANY = {
    "id": _Key(_id),
    "label": _Key(_name),
    "active": _Key(_bool, True),
    "brands": _Key(_list_of(BRAND, "brand"), list),
    "statuses": _Key(
        _list_of({"id": _Key(_id), "label": _Key(_name), "closed": _Key(_bool, False)}, "status"),
        list,
    ),
    "issues": _Key(
        _list_of({"id": _Key(_id), "label": _Key(_name), "parent": _Key(_opt_id, None)}, "issue"),
        list,
    ),
    "custom_fields": _Key(_list_of({"id": _Key(_id), "label": _Key(_name)}, "custom field"), list),
    "accounts": _Key(_list_of(ACCOUNT, "account"), list),
    "cases": _Key(_list_of(CASE, "case"), list),
    "event_categories": _Key(_list_of(EVENT_CATEGORY, "event category"), list),
    "events": _Key(_list_of(EVENT, "event"), list),
    "alerts": _Key(_list_of(ALERT, "alert"), list),
}
AGENT = {
    "id": _Key(_id),
    "company": _Key(_id),
    "login": _Key(_name),
    "password": _Key(_text, None),
    "password_md5": _Key(_md5, None),
    "firstname": _TEXT,
    "lastname": _TEXT,
    "email": _TEXT,
    "security_level": _Key(_level, 1),
    "tier": _Key(_level, 1),
    "active": _Key(_bool, True),
}
DATASET = {
    "format": _Key(_text, FORMAT),
    "companies": _Key(_list_of(COMPANY, "company"), list),
    "agents": _Key(_list_of(AGENT, "agent"), list),
}
# The greeting is stored as brand data under this label (scriptLoad reads it there too).
GREETING_LABEL = "GreetingScript"


def _unique(items: list[dict], key: str, path: tuple, what: str) -> dict[Any, int]:
    seen: dict[Any, int] = {}
    for i, item in enumerate(items):
        value = item[key]
        if value in seen:
            raise _Invalid(
                path + (i, key),
                f"duplicate {what} {value!r} (first at {_place(path + (seen[value],))})",
            )
        seen[value] = i
    return seen


def _refer(value: Any, known: dict, path: tuple, what: str) -> None:
    if value is not None and value not in known:
        raise _Invalid(
            path,
            f"no {what} with id {value!r}" if isinstance(value, int) else f"no {what} {value!r}",
        )


def _check_references(data: dict) -> None:
    companies = _unique(data["companies"], "id", ("companies",), "company id")
    _unique(data["agents"], "id", ("agents",), "agent id")
    _unique(data["agents"], "login", ("agents",), "agent login")
    agent_company = {a["id"]: a["company"] for a in data["agents"]}
    for i, agent in enumerate(data["agents"]):
        path = ("agents", i)
        _refer(agent["company"], companies, path + ("company",), "company")
        if agent["password"] is None and agent["password_md5"] is None:
            raise _Invalid(path, "an agent needs 'password' or 'password_md5'")
        if agent["password"] is not None:
            digest = hashlib.md5(agent["password"].encode("utf-8")).hexdigest()
            if agent["password_md5"] not in (None, digest):
                raise _Invalid(path + ("password_md5",), "does not match 'password'")
            agent["password_md5"] = digest
        del agent["password"]
    for c, company in enumerate(data["companies"]):
        cpath = ("companies", c)
        brands = _unique(company["brands"], "id", cpath + ("brands",), "brand id")
        statuses = _unique(company["statuses"], "id", cpath + ("statuses",), "status id")
        issues = _unique(company["issues"], "id", cpath + ("issues",), "issue id")
        fields = _unique(
            company["custom_fields"], "id", cpath + ("custom_fields",), "custom field id"
        )
        accounts = _unique(company["accounts"], "userkey", cpath + ("accounts",), "userkey")
        cases = _unique(company["cases"], "id", cpath + ("cases",), "case id")
        for b, brand in enumerate(company["brands"]):
            if brand["list_label"] is None:
                brand["list_label"] = brand["label"]
            for label in brand["data"]:
                if label == GREETING_LABEL or label in WEBCALL_LABELS.values():
                    raise _Invalid(
                        cpath + ("brands", b, "data", label),
                        f"{label!r} is set with the brand's 'greeting' or 'webcalls' keys",
                    )
        for i, issue in enumerate(company["issues"]):
            _refer(issue["parent"], issues, cpath + ("issues", i, "parent"), "issue")
        for a, account in enumerate(company["accounts"]):
            apath = cpath + ("accounts", a)
            _refer(account["brand"], brands, apath + ("brand",), "brand")
            _unique(account["fields"], "id", apath + ("fields",), "custom field id")
            for f, value in enumerate(account["fields"]):
                _refer(value["id"], fields, apath + ("fields", f, "id"), "custom field")
        responses: dict[int, tuple] = {}
        for k, case in enumerate(company["cases"]):
            kpath = cpath + ("cases", k)
            _refer(case["userkey"], accounts, kpath + ("userkey",), "account with userkey")
            owner_brand = company["accounts"][accounts[case["userkey"]]]["brand"]
            if case["brand"] is None:
                case["brand"] = owner_brand
            elif case["brand"] != owner_brand:
                raise _Invalid(
                    kpath + ("brand",),
                    f"account {case['userkey']!r} belongs to brand {owner_brand}",
                )
            _refer(case["status"], statuses, kpath + ("status",), "status")
            _refer(case["issue"], issues, kpath + ("issue",), "issue")
            _refer_agent(case["agent"], agent_company, company["id"], kpath + ("agent",))
            if not case["responses"]:
                # SpiceCSM opens a case with its first response (a ticket); caseXML needs one.
                raise _Invalid(kpath + ("responses",), "a case needs at least one response")
            for r, response in enumerate(case["responses"]):
                rpath = kpath + ("responses", r)
                if response["id"] in responses:
                    raise _Invalid(
                        rpath + ("id",),
                        f"duplicate response id {response['id']} "
                        f"(first at {_place(responses[response['id']])})",
                    )
                responses[response["id"]] = rpath
                _refer(response["status"], statuses, rpath + ("status",), "status")
                _refer(response["issue"], issues, rpath + ("issue",), "issue")
                _refer_agent(response["agent"], agent_company, company["id"], rpath + ("agent",))
        _check_events(company, cpath, cases, agent_company)


def _check_events(company: dict, cpath: tuple, cases: dict, agent_company: dict) -> None:
    categories = _unique(
        company["event_categories"], "id", cpath + ("event_categories",), "event category id"
    )
    _unique(company["events"], "id", cpath + ("events",), "event id")
    _unique(company["alerts"], "id", cpath + ("alerts",), "alert id")
    for e, event in enumerate(company["events"]):
        epath = cpath + ("events", e)
        _refer(event["case"], cases, epath + ("case",), "case")
        _refer(event["category"], categories, epath + ("category",), "event category")
        _refer_agent(event["agent"], agent_company, company["id"], epath + ("agent",))
        # Both are canonical "YYYY-MM-DD HH:MM:SS" text here, so text order is time order.
        if event["ends"] is not None and event["ends"] < event["starts"]:
            raise _Invalid(epath + ("ends",), f"ends before the event starts ({event['starts']})")


def _refer_agent(agent_id: int | None, agent_company: dict, company_id: int, path: tuple) -> None:
    _refer(agent_id, agent_company, path, "agent")
    if agent_id is not None and agent_company[agent_id] != company_id:
        raise _Invalid(path, f"agent {agent_id} belongs to company {agent_company[agent_id]}")


def check_webcalls(raw: Any, source: str) -> dict[str, Any]:
    """Check a brand's web-call settings alone (the control API's PUT) and return them canonical.

    :raises DatasetError: naming the bad field.
    """
    try:
        return _webcalls(raw, ())
    except _Invalid as exc:
        raise DatasetError(source, _place(exc.path), exc.reason) from None


def check_account(raw: Any, source: str) -> dict[str, Any]:
    """Check one account alone (as sent to the control API) and return it canonical.

    :raises DatasetError: naming the bad field.
    """
    try:
        return _record(ACCOUNT, raw, (), "account")
    except _Invalid as exc:
        raise DatasetError(source, _place(exc.path), exc.reason) from None


def datetime_text(value: Any, source: str) -> str:
    """A date and time as the dataset keeps it (``YYYY-MM-DD HH:MM:SS``, UTC).

    :raises DatasetError: naming ``source`` and the reason.
    """
    try:
        return _datetime(value, ())
    except _Invalid as exc:
        raise DatasetError(source, "", exc.reason) from None


def webcall_rows(brand_id: int, webcalls: dict[str, Any]) -> list[tuple[int, str, str]]:
    """The brand data rows that hold a brand's web-call settings (a secret among them)."""
    return [(brand_id, label, str(webcalls[key])) for key, label in WEBCALL_LABELS.items()]


def insert_brand_data(
    conn: sqlite3.Connection,
    company_id: int,
    rows: list[tuple[int, str, str]],
    replace: bool = False,
) -> None:
    """Write brand data rows, each secret to ``<c>_tblBrandSecret`` and the rest to
    ``<c>_tblBrandData``.
    """
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    for name, secret in (("tblBrandData", False), ("tblBrandSecret", True)):
        conn.executemany(
            f"{verb} INTO {table(company_id, name)}(BrandID, DataLabel, DataText) VALUES (?,?,?)",
            [row for row in rows if schema.is_secret_label(row[1]) is secret],
        )


def webcalls_from_data(data: dict[str, str]) -> dict[str, Any]:
    """A brand's web-call settings out of its brand data (taking them out of ``data``)."""
    out = {key: data.pop(label, "") for key, label in WEBCALL_LABELS.items()}
    out["timeout_s"] = float(out["timeout_s"] or DEFAULT_TIMEOUT_S)
    return out


def check(raw: Any, source: str = "dataset", text: str | None = None) -> dict[str, Any]:
    """Check raw dataset data and return its canonical form.

    :param raw: the parsed YAML or JSON.
    :param source: named in errors (a file name, or "request body").
    :param text: the YAML text, used to give the line of an error.
    :raises DatasetError: the first problem found.
    """
    try:
        # Nothing, or a mapping without companies, is a mistake rather than a wish to empty the
        # store (a JSON null wiped everything): an empty dataset is said so, as companies: [].
        if raw is None:
            raise _Invalid(
                (), 'the dataset is empty; an empty dataset is written {"companies": []}'
            )
        data = _record(DATASET, raw, (), "dataset")
        if data["format"] != FORMAT:
            raise _Invalid(("format",), f"unknown format {data['format']!r}, expected {FORMAT!r}")
        if "companies" not in raw:
            raise _Invalid(
                (), "a dataset needs 'companies' (a list; {\"companies\": []} for an empty one)"
            )
        _check_references(data)
    except _Invalid as exc:
        raise DatasetError(source, _place(exc.path), exc.reason, line_of(text, exc.path)) from None
    return data


class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML's hook
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(text: str, source: str, error: type[DatasetError] = DatasetError) -> Any:
    """YAML text as data (duplicate keys refused); ``error`` naming
    the line and column otherwise.
    """
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        col = f", column {mark.column + 1}" if mark is not None else ""
        raise error(source, "", f"not valid YAML{col}: {problem}", line) from None


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """Parse and check a dataset written as YAML."""
    return check(read_yaml(text, source), source, text)


def load_file(path: str | Path) -> dict[str, Any]:
    """Read, parse and check a dataset file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise DatasetError(str(path), "", f"cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None
    return parse_yaml(text, str(path))


def line_of(text: str | None, path: tuple) -> int | None:
    """The line of the YAML node at ``path`` (or of its nearest ancestor that exists)."""
    if text is None:
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
    return None if node is None else node.start_mark.line + 1


def dump_yaml(data: dict[str, Any]) -> str:
    """The canonical dataset as YAML text."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


# --- the store side --------------------------------------------------------------------------


def replace(conn: sqlite3.Connection, data: dict[str, Any]) -> None:
    """Replace the store's dataset with ``data`` (canonical), inside the caller's transaction."""
    wipe(conn)
    for company in data["companies"]:
        _insert_company(conn, company)
    conn.executemany(
        "INSERT INTO tblAgent(AgentID, TenantID, Login, Password, FirstName, LastName, Email,"
        " SecurityLevelID, TierID, Active) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                a["id"],
                a["company"],
                a["login"],
                a["password_md5"],
                a["firstname"],
                a["lastname"],
                a["email"],
                a["security_level"],
                a["tier"],
                int(a["active"]),
            )
            for a in data["agents"]
        ],
    )


def company_ids(conn: sqlite3.Connection) -> list[int]:
    """The ids of every company (tenant) in the store."""
    return [r[0] for r in conn.execute("SELECT TenantID FROM tblTenant ORDER BY TenantID")]


def wipe(conn: sqlite3.Connection) -> None:
    """Remove every dataset row and every company's tables, inside the caller's transaction."""
    for company_id in company_ids(conn):
        for name in reversed(schema.COMPANY_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {table(company_id, name)}")
    for name in schema.GLOBAL_DATA_TABLES:
        conn.execute(f"DELETE FROM {name}")


def create_company_tables(conn: sqlite3.Connection, company_id: int) -> None:
    """Create one company's tables inside the caller's transaction.

    ``executescript`` would commit the caller's transaction first, so the statements run
    one by one.
    """
    for statement in schema.company_ddl(company_id).split(";"):
        if statement.strip():
            conn.execute(statement)


def _insert_company(conn: sqlite3.Connection, company: dict[str, Any]) -> None:
    cid = company["id"]
    conn.execute(
        "INSERT INTO tblTenant(TenantID, TenantLabel, Active) VALUES (?,?,?)",
        (cid, company["label"], int(company["active"])),
    )
    create_company_tables(conn, cid)
    t = {name: table(cid, name) for name in schema.COMPANY_TABLES}
    conn.executemany(
        f"INSERT INTO {t['tblBrand']} VALUES (?,?,?,?)",
        [(b["id"], b["label"], b["list_label"], int(b["active"])) for b in company["brands"]],
    )
    insert_brand_data(
        conn,
        cid,
        [
            row
            for b in company["brands"]
            for row in [
                (b["id"], GREETING_LABEL, b["greeting"]),
                *webcall_rows(b["id"], b["webcalls"]),
                *((b["id"], label, text) for label, text in b["data"].items()),
            ]
        ],
    )
    conn.executemany(
        f"INSERT INTO {t['tblStatus']} VALUES (?,?,?)",
        [(s["id"], s["label"], int(s["closed"])) for s in company["statuses"]],
    )
    # Parents may come after their children in the file; foreign keys are checked per
    # statement, so insert the issues first and link them after.
    conn.executemany(
        f"INSERT INTO {t['tblIssue']}(IssueID, IssueLabel) VALUES (?,?)",
        [(i["id"], i["label"]) for i in company["issues"]],
    )
    conn.executemany(
        f"UPDATE {t['tblIssue']} SET ParentID = ? WHERE IssueID = ?",
        [(i["parent"], i["id"]) for i in company["issues"] if i["parent"] is not None],
    )
    conn.executemany(
        f"INSERT INTO {t['tblCustomField']} VALUES (?,?)",
        [(f["id"], f["label"]) for f in company["custom_fields"]],
    )
    insert_accounts(conn, cid, company["accounts"])
    account_ids = dict(conn.execute(f"SELECT Userkey, AccountID FROM {t['tblAccount']}").fetchall())
    conn.executemany(
        f"INSERT INTO {t['tblCase']} VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                k["id"],
                k["brand"],
                account_ids[k["userkey"]],
                k["status"],
                k["issue"],
                k["tier"],
                k["agent"],
                k["callid"],
                k["created"],
            )
            for k in company["cases"]
        ],
    )
    conn.executemany(
        f"INSERT INTO {t['tblResponse']} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                r["id"],
                k["id"],
                r["agent"],
                r["tier"],
                r["status"],
                r["issue"],
                r["date"],
                r["callid"],
                *(r[key] for key in RESPONSE_TEXTS),
            )
            for k in company["cases"]
            for r in k["responses"]
        ],
    )
    conn.executemany(
        f"INSERT INTO {t['tblEventCategory']} VALUES (?,?)",
        [(c["id"], c["label"]) for c in company["event_categories"]],
    )
    conn.executemany(
        f"INSERT INTO {t['tblEvent']}(EventID, CaseID, CategoryID, Title, Starts, Ends, Notes, "
        "AgentID)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                e["id"],
                e["case"],
                e["category"],
                e["title"],
                e["starts"],
                e["ends"],
                e["notes"],
                e["agent"],
            )
            for e in company["events"]
        ],
    )
    conn.executemany(
        f"INSERT INTO {t['tblAlert']}(AlertID, Message, Created, Expires, Active) VALUES "
        "(?,?,?,?,?)",
        [
            (a["id"], a["message"], a["created"], a["expires"], int(a["active"]))
            for a in company["alerts"]
        ],
    )


def insert_accounts(
    conn: sqlite3.Connection, company_id: int, accounts: list[dict[str, Any]]
) -> None:
    """Insert checked accounts with their contacts, phone index rows and field values."""
    t = {
        name: table(company_id, name)
        for name in ("tblAccount", "tblContact", "tblContactPhone", "tblCustomFieldValue")
    }
    next_account = conn.execute(
        f"SELECT COALESCE(MAX(AccountID), 0) + 1 FROM {t['tblAccount']}"
    ).fetchone()[0]
    next_contact = conn.execute(
        f"SELECT COALESCE(MAX(ContactID), 0) + 1 FROM {t['tblContact']}"
    ).fetchone()[0]
    account_rows, contact_rows, phone_rows, value_rows = [], [], [], []
    for account_id, account in enumerate(accounts, start=next_account):
        account_rows.append(
            (
                account_id,
                account["brand"],
                account["userkey"],
                *(account[key] for key in ACCOUNT_COLUMNS),
            )
        )
        for position, contact in enumerate(account["contacts"]):
            contact_rows.append(
                (next_contact, account_id, position, *(contact[key] for key in CONTACT_COLUMNS))
            )
            for digits in {normalize_phone(contact[key]) for key in PHONE_KEYS} - {""}:
                phone_rows.append((next_contact, account_id, account["brand"], digits))
            next_contact += 1
        value_rows.extend((account_id, f["id"], f["value"]) for f in account["fields"])
    columns = ("AccountID", "BrandID", "Userkey", *ACCOUNT_COLUMNS.values())
    conn.executemany(
        f"INSERT INTO {t['tblAccount']}({', '.join(columns)})"
        f" VALUES ({', '.join('?' * len(columns))})",
        account_rows,
    )
    columns = ("ContactID", "AccountID", "Position", *CONTACT_COLUMNS.values())
    conn.executemany(
        f"INSERT INTO {t['tblContact']}({', '.join(columns)})"
        f" VALUES ({', '.join('?' * len(columns))})",
        contact_rows,
    )
    conn.executemany(f"INSERT INTO {t['tblContactPhone']} VALUES (?,?,?,?)", phone_rows)
    conn.executemany(f"INSERT INTO {t['tblCustomFieldValue']} VALUES (?,?,?)", value_rows)


def export(conn: sqlite3.Connection) -> dict[str, Any]:
    """The store's whole dataset in canonical form (call inside a read snapshot)."""
    companies = []
    for row in conn.execute(
        "SELECT TenantID, TenantLabel, Active FROM tblTenant ORDER BY TenantID"
    ).fetchall():
        companies.append(_export_company(conn, row[0], row[1], bool(row[2])))
    agents = [
        {
            "id": r[0],
            "company": r[1],
            "login": r[2],
            "password_md5": r[3],
            "firstname": r[4],
            "lastname": r[5],
            "email": r[6],
            "security_level": r[7],
            "tier": r[8],
            "active": bool(r[9]),
        }
        for r in conn.execute(
            "SELECT AgentID, TenantID, Login, Password, FirstName, LastName, Email,"
            " SecurityLevelID, TierID, Active FROM tblAgent ORDER BY AgentID"
        )
    ]
    return {"format": FORMAT, "companies": companies, "agents": agents}


def _export_company(conn: sqlite3.Connection, cid: int, label: str, active: bool) -> dict[str, Any]:
    t = {name: table(cid, name) for name in schema.COMPANY_TABLES}
    data: dict[int, dict[str, str]] = {}
    for brand_id, key, text in conn.execute(
        f"SELECT BrandID, DataLabel, DataText FROM {t['tblBrandData']} UNION ALL "
        f"SELECT BrandID, DataLabel, DataText FROM {t['tblBrandSecret']} ORDER BY 1, 2"
    ):
        data.setdefault(brand_id, {})[key] = text
    brands = []
    for b in conn.execute(
        f"SELECT BrandID, BrandLabel, BrandListLabel, Active FROM {t['tblBrand']} ORDER BY BrandID"
    ):
        extra = data.get(b[0], {})
        greeting = extra.pop(GREETING_LABEL, "")
        webcalls = webcalls_from_data(extra)
        brands.append(
            {
                "id": b[0],
                "label": b[1],
                "list_label": b[2],
                "active": bool(b[3]),
                "greeting": greeting,
                "webcalls": webcalls,
                "data": extra,
            }
        )
    contacts: dict[int, list] = {}
    for r in conn.execute(f"SELECT * FROM {t['tblContact']} ORDER BY AccountID, Position"):
        contacts.setdefault(r[1], []).append(dict(zip(CONTACT_COLUMNS, r[3:])))
    values: dict[int, list] = {}
    for r in conn.execute(
        f"SELECT AccountID, FieldID, Value FROM {t['tblCustomFieldValue']} ORDER BY AccountID, "
        "FieldID"
    ):
        values.setdefault(r[0], []).append({"id": r[1], "value": r[2]})
    userkeys = {}
    accounts = []
    for r in conn.execute(
        f"SELECT AccountID, BrandID, Userkey, {', '.join(ACCOUNT_COLUMNS.values())}"
        f" FROM {t['tblAccount']} ORDER BY AccountID"
    ):
        userkeys[r[0]] = r[2]
        accounts.append(
            {
                "userkey": r[2],
                "brand": r[1],
                **dict(zip(ACCOUNT_COLUMNS, r[3:])),
                "contacts": contacts.get(r[0], []),
                "fields": values.get(r[0], []),
            }
        )
    responses: dict[int, list] = {}
    for r in conn.execute(f"SELECT * FROM {t['tblResponse']} ORDER BY CaseID, ResponseID"):
        responses.setdefault(r[1], []).append(
            {
                "id": r[0],
                "date": r[6],
                "agent": r[2],
                "tier": r[3],
                "status": r[4],
                "issue": r[5],
                "callid": r[7],
                **dict(zip(RESPONSE_TEXTS, r[8:])),
            }
        )
    cases = [
        {
            "id": r[0],
            "userkey": userkeys[r[2]],
            "brand": r[1],
            "status": r[3],
            "issue": r[4],
            "tier": r[5],
            "agent": r[6],
            "callid": r[7],
            "created": r[8],
            "responses": responses.get(r[0], []),
        }
        for r in conn.execute(f"SELECT * FROM {t['tblCase']} ORDER BY CaseID")
    ]
    return {
        "id": cid,
        "label": label,
        "active": active,
        "brands": brands,
        "statuses": [
            {"id": r[0], "label": r[1], "closed": bool(r[2])}
            for r in conn.execute(f"SELECT * FROM {t['tblStatus']} ORDER BY StatusID")
        ],
        "issues": [
            {"id": r[0], "label": r[1], "parent": r[2]}
            for r in conn.execute(f"SELECT * FROM {t['tblIssue']} ORDER BY IssueID")
        ],
        "custom_fields": [
            {"id": r[0], "label": r[1]}
            for r in conn.execute(f"SELECT * FROM {t['tblCustomField']} ORDER BY FieldID")
        ],
        "accounts": accounts,
        "cases": cases,
        "event_categories": [
            {"id": r[0], "label": r[1]}
            for r in conn.execute(
                f"SELECT CategoryID, CategoryLabel FROM {t['tblEventCategory']} ORDER BY CategoryID"
            )
        ],
        "events": [
            {
                "id": r[0],
                "case": r[1],
                "category": r[2],
                "title": r[3],
                "starts": r[4],
                "ends": r[5],
                "notes": r[6],
                "agent": r[7],
            }
            for r in conn.execute(
                "SELECT EventID, CaseID, CategoryID, Title, Starts, Ends, Notes, AgentID FROM "
                f"{t['tblEvent']}"
                " ORDER BY EventID"
            )
        ],
        "alerts": [
            {"id": r[0], "message": r[1], "created": r[2], "expires": r[3], "active": bool(r[4])}
            for r in conn.execute(
                f"SELECT AlertID, Message, Created, Expires, Active FROM {t['tblAlert']} ORDER BY "
                "AlertID"
            )
        ],
    }


def to_json(data: dict[str, Any]) -> str:
    """The canonical dataset as compact JSON (how the seed is kept in the store)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
