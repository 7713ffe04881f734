"""Canned API answers for testing API clients, WireMock-style (``/_mockspice/rpc/stubs``).

A stub names a method, optionally a subset of the parameters it matches, and what to answer: a
``result``, an ``error``, or a fault of the whole HTTP answer (``http500``: an HTML error page;
``drop``: the connection is closed in the middle of the answer; ``malformed``: a reply that is not JSON),
after an optional ``delay_ms``, for ``times`` calls or forever. Stubs live in the store, so every
worker answers with them; the first added that matches wins. A reset removes them. Adding or
clearing stubs moves the store's generation, as a write of the dataset does: an API answer a
worker kept for the generation is not given where a stub now answers.
"""

from __future__ import annotations

import json
from typing import Any

from mockspice.domain.errors import BadParameter
from mockspice.store.db import Store

FAULTS = ("http500", "drop", "malformed")
MAX_DELAY_MS = 60_000
KEYS = ("method", "params_match", "result", "error", "times", "delay_ms", "fault")


def check(raw: Any) -> dict[str, Any]:
    """A stub from its JSON form, checked; :class:`BadParameter` naming the bad key otherwise."""
    if not isinstance(raw, dict):
        raise BadParameter("a stub is a JSON object: {\"method\", \"params_match\", \"result\" or \"error\", ...}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise BadParameter(f"unknown stub key {unknown[0]!r} (known: {', '.join(KEYS)})")
    if not isinstance(raw.get("method"), str) or not raw["method"]:
        raise BadParameter("'method' is required: the name of the API method to answer")
    given = [k for k in ("result", "error", "fault") if k in raw]
    if not given:
        raise BadParameter("a stub needs 'result', 'error' or 'fault'")
    if "result" in raw and "error" in raw:
        raise BadParameter("a stub has 'result' or 'error', not both")
    error = raw.get("error")
    if error is not None:
        if isinstance(error, str):
            error = {"code": -32000, "message": error}
        if not isinstance(error, dict) or not isinstance(error.get("message"), str) or \
                isinstance(error.get("code", -32000), bool) or not isinstance(error.get("code", -32000), int):
            raise BadParameter("'error' must be a message, or {\"code\": integer, \"message\": string, \"data\": any}")
        error = {"code": error.get("code", -32000), "message": error["message"], "data": error.get("data")}
    if "params_match" in raw and not isinstance(raw["params_match"], (list, dict)):
        raise BadParameter("'params_match' must be an array (positional) or an object (named) to match a subset of")
    for key, low, high in (("times", 1, 10**9), ("delay_ms", 0, MAX_DELAY_MS)):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise BadParameter(f"'{key}' must be a whole number from {low} to {high}")
    if raw.get("fault") is not None and raw["fault"] not in FAULTS:
        raise BadParameter(f"'fault' must be one of {', '.join(FAULTS)}")
    return {"method": raw["method"], "params_match": raw.get("params_match"), "result": raw.get("result"),
            "error": error, "times": raw.get("times"), "delay_ms": raw.get("delay_ms") or 0,
            "fault": raw.get("fault")}


def contains(pattern: Any, value: Any) -> bool:
    """Whether ``value`` holds ``pattern``: objects by subset of keys, arrays by position, else equal."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and contains(v, value[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and len(pattern) <= len(value) and all(
            contains(p, v) for p, v in zip(pattern, value))
    if isinstance(pattern, bool) or isinstance(value, bool):
        return pattern is value  # true is not 1 in JSON
    return pattern == value


class Stubs:
    """The stubs of a store."""

    def __init__(self, store: Store):
        self.store = store

    def add(self, raw: Any) -> dict[str, Any]:
        """Check and keep a stub; returns it with its id."""
        stub = check(raw)
        with self.store.write() as conn:
            stub_id = conn.execute("INSERT INTO tblRpcStub(Method, Stub, TimesLeft) VALUES (?, ?, ?)",
                                   (stub["method"], json.dumps(stub), stub["times"])).lastrowid
        return {"id": stub_id, **stub}

    def all(self) -> list[dict[str, Any]]:
        """Every stub, oldest first, with how many answers it has left (null: no limit)."""
        rows = self.store.read().execute("SELECT StubID, Stub, TimesLeft FROM tblRpcStub ORDER BY StubID")
        return [{"id": r[0], **json.loads(r[1]), "times_left": r[2]} for r in rows]

    def clear(self) -> int:
        """Remove every stub; returns how many there were."""
        with self.store.write() as conn:
            return conn.execute("DELETE FROM tblRpcStub").rowcount

    def knows(self, method: str) -> bool:
        """Whether a stub answers ``method`` (so that an unknown name is not 'Method not found')."""
        return self.store.read().execute(
            "SELECT 1 FROM tblRpcStub WHERE Method = ? LIMIT 1", (method,)).fetchone() is not None

    def match(self, method: str, params: Any) -> dict[str, Any] | None:
        """The first stub that answers this call (one of its ``times`` used), or None."""
        rows = self.store.read().execute(
            "SELECT StubID, Stub FROM tblRpcStub WHERE Method = ? ORDER BY StubID", (method,)).fetchall()
        for stub_id, text in rows:
            stub = json.loads(text)
            pattern = stub["params_match"]
            if pattern is not None and not contains(pattern, params):
                continue
            if stub["times"] is None:
                return {"id": stub_id, **stub}
            with self.store.write(history=True) as conn:
                # Taken under the write lock: two workers never both use the last answer.
                used = conn.execute("UPDATE tblRpcStub SET TimesLeft = TimesLeft - 1 WHERE StubID = ? AND TimesLeft > 0",
                                    (stub_id,)).rowcount
                conn.execute("DELETE FROM tblRpcStub WHERE StubID = ? AND TimesLeft <= 0", (stub_id,))
            if used:
                return {"id": stub_id, **stub}
        return None
