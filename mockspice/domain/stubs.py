"""Canned API answers for testing API clients, WireMock-style (``/_mockspice/rpc/stubs``).

A stub names a method, optionally a subset of the parameters it matches, and what to answer: a
``result``, an ``error``, or a fault of the whole HTTP answer (``http500``: an HTML error page;
``drop``: the connection is closed in the middle of the answer; ``malformed``: a reply that is not
JSON), after an optional ``delay_ms``, for ``times`` calls or forever. Instead of one answer it may
give an ordered list (``answers``: the first call gets the first, the next the second, ...; after
the last, the last again or, with ``"then": "end"``, the stub is used up), for a client's retry
logic. A stub with only ``single_row_object`` is a pass-through: the real method answers the calls
it matches, with the single-row quirk on or off for them.

Stubs live in the store, so every worker answers with them; a call uses a stub (its hit, its
place in the answer list, one of its ``times``) under the store's write lock, so that two workers
never both take the same answer. Stubs added by the API match first, oldest first, then those
loaded from files at start (``--stubs``: a test's own stub overrides a file's). A reset removes the
API's and restores the files' as they were loaded. Adding or clearing stubs moves the store's
generation, as a write of the dataset does: an API answer a worker kept for the generation is not
given where a stub now answers.

One module (about 540 lines): a stub's checks, its matching and its use under the write lock
are one lifecycle, and each needs the others' rules at hand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockspice.domain.errors import BadParameter, json_type
from mockspice.store.dataset import DatasetError, line_of, read_yaml
from mockspice.store.db import Store

FAULTS = ("http500", "drop", "malformed")
MAX_DELAY_MS = 60_000
MAX_TIMES = 10**9
MAX_ANSWERS = 1000
KEYS = (
    "method",
    "params_match",
    "result",
    "error",
    "times",
    "delay_ms",
    "fault",
    "answers",
    "then",
    "single_row_object",
)
ANSWER_KEYS = ("result", "error", "fault", "delay_ms")
THEN = ("repeat", "end")  # after the last answer: it again, or the stub is used up
FILE_SUFFIXES = (".yaml", ".yml", ".json")
SEED_KEY = "stub_seed"  # tblMockMeta: the stubs loaded from files, as a reset restores them
# What a stub kept by an older mockspice lacks.
_DEFAULTS = {"answers": None, "then": None, "single_row_object": None}


class BadStub(BadParameter):
    """A stub that cannot be used; ``path`` is where in it (``("answers", 1, "fault")``)."""

    def __init__(self, message: str, *path: str | int):
        super().__init__(message)
        self.path = path


class StubsError(DatasetError):
    """A stubs file (``--stubs``) that cannot be loaded: source, place and reason in one line."""


def check(raw: Any, row_methods: Collection[str] | None = None) -> dict[str, Any]:
    """A stub from its JSON form, checked; :class:`BadStub` naming the bad key otherwise.

    :param row_methods: the API's methods that answer rows (those a pass-through stub may name);
        None: not checked.
    """
    if not isinstance(raw, dict):
        raise BadStub(
            'a stub is a JSON object: {"method", "params_match", "result" or "error", ...}, '
            f"not {json_type(raw)}"
        )
    unknown = sorted(set(raw) - set(KEYS), key=str)
    if unknown:
        raise BadStub(
            f"unknown stub key {unknown[0]!r} (known: {', '.join(KEYS)})", str(unknown[0])
        )
    for key, value in raw.items():
        _check_json(value, key)
    if not isinstance(raw.get("method"), str) or not raw["method"]:
        raise BadStub("'method' is required: the name of the API method to answer", "method")
    if "params_match" in raw and not isinstance(raw["params_match"], (list, dict)):
        raise BadStub(
            "'params_match' must be an array (positional) or an object (named) to match a subset "
            "of",
            "params_match",
        )
    times = _whole(raw, "times", 1, MAX_TIMES)
    delay_ms = _whole(raw, "delay_ms", 0, MAX_DELAY_MS)
    single = raw.get("single_row_object")
    if single is not None and not isinstance(single, bool):
        raise BadStub(
            f"'single_row_object' must be true or false, not {json_type(single)}",
            "single_row_object",
        )
    given = [k for k in ("result", "error", "fault") if k in raw]
    stub = {
        "method": raw["method"],
        "params_match": raw.get("params_match"),
        "result": None,
        "error": None,
        "times": times,
        "delay_ms": delay_ms or 0,
        "fault": None,
        "answers": None,
        "then": None,
        "single_row_object": single,
    }
    if single is not None:
        if given or "answers" in raw:
            raise BadStub(
                "'single_row_object' makes a pass-through stub (the real method answers, with the "
                "quirk on "
                "or off): it goes without 'result', 'error', 'fault' and 'answers'",
                "single_row_object",
            )
        _check_passing(raw["method"], row_methods)
    elif "answers" in raw:
        if given:
            raise BadStub(
                f"a stub has 'answers' or {given[0]!r}, not both: each answer has its own", given[0]
            )
        stub["answers"] = _answers(raw["answers"])
    elif not given:
        raise BadStub(
            "a stub needs 'result', 'error', 'fault', 'answers' (one per call), or "
            "'single_row_object' "
            "(a pass-through)"
        )
    else:
        stub.update(_answer(raw, ()))
    if "then" in raw:
        if stub["answers"] is None:
            raise BadStub("'then' goes with 'answers': what follows the last answer", "then")
        if raw["then"] not in THEN:
            raise BadStub(
                "'then' must be repeat (the last answer again, the default) or end (the stub is "
                "used "
                "up: later calls go to the next stub or the real method)",
                "then",
            )
        stub["then"] = raw["then"]
    elif stub["answers"] is not None:
        stub["then"] = "repeat"
    return stub


def _check_passing(method: str, row_methods: Collection[str] | None) -> None:
    if row_methods is not None and method not in row_methods:
        raise BadStub(
            f"'method': a pass-through stub answers through the real method, and {method!r} is "
            "none of "
            "the API's methods that answer rows (the single-row quirk applies only to those)",
            "method",
        )


def _check_json(value: Any, key: str) -> None:
    """Refuse what JSON cannot carry (NaN, Infinity; from a YAML file, a date or a set)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadStub(
            f"{key!r} holds a value JSON has not ({str(exc).splitlines()[0][:120]}); "
            "in YAML, quote a date",
            key,
        ) from None


def _whole(raw: dict[str, Any], key: str, low: int, high: int, *path: str | int) -> int | None:
    value = raw.get(key)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        raise BadStub(f"'{key}' must be a whole number from {low} to {high}", *path, key)
    return value


def _answers(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise BadStub(
            '\'answers\' must be a non-empty array of {"result"} | {"error"} | {"fault"} objects '
            '(each may have "delay_ms"), one per call',
            "answers",
        )
    if len(raw) > MAX_ANSWERS:
        raise BadStub(
            f"'answers' may hold at most {MAX_ANSWERS} answers, not {len(raw)}", "answers"
        )
    out = []
    for index, item in enumerate(raw):
        where = ("answers", index)
        if not isinstance(item, dict):
            raise BadStub(
                f"'answers'[{index}] must be an object with one of 'result', 'error' or 'fault', "
                f"not {json_type(item)}",
                *where,
            )
        unknown = sorted(set(item) - set(ANSWER_KEYS), key=str)
        if unknown:
            raise BadStub(
                f"'answers'[{index}]: unknown key {unknown[0]!r} (known: {', '.join(ANSWER_KEYS)})",
                *where,
                str(unknown[0]),
            )
        given = [k for k in ("result", "error", "fault") if k in item]
        if len(given) != 1:
            raise BadStub(
                f"'answers'[{index}] must have exactly one of 'result', 'error' or 'fault'"
                + (f", not {' and '.join(repr(k) for k in given)}" if given else ""),
                *where,
            )
        answer = _answer(item, where)
        out.append(
            {
                given[0]: answer[given[0]],
                "delay_ms": _whole(item, "delay_ms", 0, MAX_DELAY_MS, *where),
            }
        )
    return out


def _answer(raw: dict[str, Any], where: tuple) -> dict[str, Any]:
    """The ``result``, ``error`` and ``fault`` of a stub or of one of its answers, checked."""
    if "result" in raw and "error" in raw:
        raise BadStub("a stub has 'result' or 'error', not both", *where, "error")
    error = raw.get("error")
    if error is not None:
        if isinstance(error, str):
            error = {"code": -32000, "message": error}
        if (
            not isinstance(error, dict)
            or not isinstance(error.get("message"), str)
            or isinstance(error.get("code", -32000), bool)
            or not isinstance(error.get("code", -32000), int)
            or set(error) - {"code", "message", "data"}
        ):
            raise BadStub(
                '\'error\' must be a message, or {"code": integer, "message": string, "data": any}'
                f", not {json_type(error)}"
                + (" (in YAML, quote yes, no, on and off)" if isinstance(error, bool) else ""),
                *where,
                "error",
            )
        error = {
            "code": error.get("code", -32000),
            "message": error["message"],
            "data": error.get("data"),
        }
    if raw.get("fault") is not None and raw["fault"] not in FAULTS:
        raise BadStub(f"'fault' must be one of {', '.join(FAULTS)}", *where, "fault")
    return {"result": raw.get("result"), "error": error, "fault": raw.get("fault")}


def contains(pattern: Any, value: Any) -> bool:
    """Whether ``value`` holds ``pattern``: objects by subset of keys, arrays by position, else
    equal.
    """
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and contains(v, value[k]) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        return (
            isinstance(value, list)
            and len(pattern) <= len(value)
            and all(contains(p, v) for p, v in zip(pattern, value))
        )
    if isinstance(pattern, bool) or isinstance(value, bool):
        return pattern is value  # true is not 1 in JSON
    return pattern == value


def _times_left(stub: dict[str, Any]) -> int | None:
    """How many calls a new stub answers (None: no end): ``times``, and an ending list's length."""
    if stub["answers"] is not None and stub["then"] == "end":
        return min(len(stub["answers"]), stub["times"] or MAX_TIMES)
    return stub["times"]


# --- files (--stubs) ---------------------------------------------------------------------------


def load_path(path: str | Path, row_methods: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The stubs of a file, or of every ``*.yaml``, ``*.yml`` and ``*.json`` of a folder (in name
    order), each checked: ``{"file", "place", "line", "stub"}``.

    A file holds one stub object or a list of them, in the shape ``POST /_mockspice/rpc/stubs``
    takes; a ``.json`` file is read as JSON, any other as YAML.

    :raises StubsError: a file cannot be read or parsed, or holds a bad stub (named by its place).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in FILE_SUFFIXES and p.is_file()),
            key=lambda p: p.name,
        )
    elif path.exists():
        files = [path]
    else:
        raise StubsError(str(path), "", "no such file or folder")
    return [entry for file in files for entry in _load_file(file, row_methods)]


def _load_file(path: Path, row_methods: Collection[str] | None) -> list[dict[str, Any]]:
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise StubsError(source, "", f"cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise StubsError(source, "", f"not UTF-8 text (byte {exc.start})") from None
    raw = (
        _parse_json(text, source)
        if path.suffix.lower() == ".json"
        else read_yaml(text, source, StubsError)
    )
    if raw is None:
        raise StubsError(source, "", "holds nothing: write a stub object, or a list of them")
    many = isinstance(raw, list)
    entries = []
    for index, item in enumerate(raw if many else [raw]):
        place = f"stub[{index}]" if many else "stub"
        at = (index,) if many else ()
        try:
            stub = check(item, row_methods)
        except BadStub as exc:
            where = place + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
            raise StubsError(source, where, exc.message, line_of(text, at + exc.path)) from None
        entries.append({"file": source, "place": place, "line": line_of(text, at), "stub": stub})
    return entries


def _parse_json(text: str, source: str) -> Any:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"key {key!r} is given twice in one object")
            out[key] = value
        return out

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, object_pairs_hook=unique, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise StubsError(
            source, "", f"not valid JSON, column {exc.colno}: {exc.msg}", exc.lineno
        ) from None
    except (ValueError, RecursionError) as exc:
        raise StubsError(source, "", f"not valid JSON: {exc}") from None


# --- the store ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """A call a stub matched: what it answers (None: a pass-through, the real method answers)."""

    stub_id: int
    answer: dict[str, Any] | None  # result, error, fault, delay_ms
    index: int | None  # the answer's place in the stub's answer list
    single_row_object: bool | None  # a pass-through's quirk
    delay_ms: int


def seed(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> None:
    """Keep the stubs loaded from files (:func:`load_path`) as a reset restores them, and put them
    in place of the files' stubs the store has, inside the caller's write transaction."""
    Store.set_meta(conn, SEED_KEY, json.dumps(entries))
    conn.execute("DELETE FROM tblRpcStub WHERE Origin IS NOT NULL")
    _insert_files(conn, entries)


def restore(conn: sqlite3.Connection) -> None:
    """Every stub removed and the files' put back as loaded (a
    reset), in the caller's transaction.
    """
    conn.execute("DELETE FROM tblRpcStub")
    row = conn.execute(
        "SELECT MetaValue FROM tblMockMeta WHERE MetaKey = ?", (SEED_KEY,)
    ).fetchone()
    _insert_files(conn, json.loads(row[0]) if row else [])


def _insert_files(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO tblRpcStub(Method, Stub, TimesLeft, Origin) VALUES (?, ?, ?, ?)",
        [
            (e["stub"]["method"], json.dumps(e["stub"]), _times_left(e["stub"]), e["file"])
            for e in entries
        ],
    )


# API stubs first (oldest first), then the files' (in the order loaded).
_ORDER = "ORDER BY Origin IS NOT NULL, StubID"
_LIVE = "(TimesLeft IS NULL OR TimesLeft > 0)"


class Stubs:
    """The stubs of a store.

    :param row_methods: the API's methods that answer rows, which a pass-through stub may name
        (None: not checked).
    """

    def __init__(self, store: Store, row_methods: Collection[str] | None = None):
        self.store = store
        self.row_methods = None if row_methods is None else frozenset(row_methods)

    def add(self, raw: Any) -> dict[str, Any]:
        """Check and keep a stub; returns it as :meth:`all` lists it."""
        stub = check(raw, self.row_methods)
        with self.store.write() as conn:
            stub_id = conn.execute(
                "INSERT INTO tblRpcStub(Method, Stub, TimesLeft) VALUES (?, ?, ?)",
                (stub["method"], json.dumps(stub), _times_left(stub)),
            ).lastrowid
        return _listed(stub_id, stub, _times_left(stub), 0, None)

    def all(self) -> list[dict[str, Any]]:
        """Every stub in the order they match, with the calls it has left (null: no end), its
        hits and its origin; a used-up stub stays, with ``times_left`` 0."""
        rows = self.store.read().execute(
            f"SELECT StubID, Stub, TimesLeft, Hits, Origin FROM tblRpcStub {_ORDER}"
        )
        return [_listed(r[0], json.loads(r[1]), r[2], r[3], r[4]) for r in rows]

    def clear(self) -> int:
        """Remove every stub, the files' too (a reset restores
        those); returns how many there were.
        """
        with self.store.write() as conn:
            return conn.execute("DELETE FROM tblRpcStub").rowcount

    def check_files(self) -> None:
        """Check the files' stubs against the method table (which :func:`load_path` at the store's
        preparation did not have).

        :raises StubsError: a pass-through stub names a method that answers no rows.
        """
        if self.row_methods is None:
            return
        for entry in json.loads(self.store.meta(SEED_KEY) or "[]"):
            if entry["stub"]["single_row_object"] is None:
                continue
            try:
                _check_passing(entry["stub"]["method"], self.row_methods)
            except BadStub as exc:
                raise StubsError(
                    entry["file"], f"{entry['place']}.method", exc.message, entry["line"]
                ) from None

    def knows(self, method: str) -> bool:
        """Whether a stub answers ``method`` itself (so that an unknown name is not 'Method not
        found').
        """
        return (
            self.store.read()
            .execute(
                f"SELECT 1 FROM tblRpcStub WHERE Method = ? AND {_LIVE} "
                "AND json_extract(Stub, '$.single_row_object') IS NULL LIMIT 1",
                (method,),
            )
            .fetchone()
            is not None
        )

    def match(self, method: str, params: Any) -> Hit | None:
        """The first stub that answers this call, used (its hit, its next answer, one of its
        ``times``), or None."""
        select = f"SELECT StubID, Stub FROM tblRpcStub WHERE Method = ? AND {_LIVE} {_ORDER}"
        if self._first(self.store.read(), select, method, params) is None:
            return None  # the common case: no stub matches, and no write
        with self.store.write(history=True) as conn:
            # Chosen again and used under the write lock: two workers never both take the last
            # answer (or the same place in the answer list), nor a stub a reset just replaced.
            found = self._first(conn, select, method, params)
            if found is None:
                return None
            stub_id, stub = found
            hits = conn.execute(
                "UPDATE tblRpcStub SET Hits = Hits + 1, TimesLeft = TimesLeft - 1 "
                "WHERE StubID = ? RETURNING Hits",
                (stub_id,),
            ).fetchone()[0]
        return _hit(stub_id, stub, hits)

    @staticmethod
    def _first(
        conn: sqlite3.Connection, select: str, method: str, params: Any
    ) -> tuple[int, dict] | None:
        for stub_id, text in conn.execute(select, (method,)).fetchall():
            stub = {**_DEFAULTS, **json.loads(text)}
            if stub["params_match"] is None or contains(stub["params_match"], params):
                return stub_id, stub
        return None


def _hit(stub_id: int, stub: dict[str, Any], hits: int) -> Hit:
    if stub["single_row_object"] is not None:
        return Hit(stub_id, None, None, stub["single_row_object"], stub["delay_ms"])
    if stub["answers"] is None:
        answer = {k: stub[k] for k in ("result", "error", "fault")}
        return Hit(stub_id, answer, None, None, stub["delay_ms"])
    index = min(hits, len(stub["answers"])) - 1  # the last again once the list is through
    item = stub["answers"][index]
    answer = {k: item.get(k) for k in ("result", "error", "fault")}
    delay = item["delay_ms"] if item["delay_ms"] is not None else stub["delay_ms"]
    return Hit(stub_id, answer, index, None, delay)


def _listed(
    stub_id: int, stub: dict[str, Any], times_left: int | None, hits: int, origin: str | None
) -> dict:
    return {
        "id": stub_id,
        **{k: stub.get(k) for k in KEYS},
        "times_left": times_left,
        "hits": hits,
        "origin": "api" if origin is None else "file",
        "file": origin,
    }
