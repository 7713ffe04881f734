"""JSON-RPC 1.0 and 2.0 envelopes around the method table; jsonrpcserver does the dispatching.

- No ``jsonrpc`` member: a JSON-RPC 1.0 call, as SpiceCSM's own clients send it. The reply has
  ``result``, ``error`` and ``id``, both always present; a failure is ``result: null`` with the
  message (a string) in ``error``. ``id: null`` is a notification: no reply.
- ``"jsonrpc": "2.0"``: the 2.0 specification, batches and notifications included. jsonrpcserver
  checks a whole batch against one schema and answers one "Invalid Request" for it, where the
  specification wants one error per bad member (section 7's examples), so each member is
  checked here and only valid members go to jsonrpcserver, one at a time.

Every call goes through :func:`invoke`: canned answers (stubs) first, then the session check
(the session id is the last positional parameter, a ``session`` named parameter, or the
``X-Spice-Session`` header), the security level, the parameter shapes, and the handler. A
pass-through stub answers nothing itself: the call goes on, with the stub's single-row quirk.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonrpcserver import Error, Success, dispatch_to_serializable

from mockspice.domain import journal, sessions
from mockspice.domain.errors import BadParameter, DomainError, PermissionDenied
from mockspice.domain.stubs import Hit
from mockspice.surfaces.api.registry import Method, Registry
from mockspice.urls import API_PATH

log = logging.getLogger(__name__)

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
)


@dataclass
class Call:
    """What one HTTP request to the API brings to each method it calls."""

    store: Any
    settings: Any
    outbound: Any
    self_url: str
    header_session: str | None = None
    stubs: Any = None
    session: sessions.Session | None = None
    webcalls: list[int] = field(default_factory=list)  # exchanges fired, for the journal
    fault: dict[str, Any] | None = None  # a stub's fault for the HTTP answer
    delay_ms: int = 0
    trace: list[dict[str, Any]] = field(default_factory=list)  # per call: method, params, outcome
    registry: Any = None  # the method table, for rpc.discover


@dataclass
class Reply:
    """The HTTP answer: a JSON document, or nothing (notifications only)."""

    body: Any | None
    style: str  # "1.0", "2.0", "batch" or "unknown"


def invoke(
    call: Call,
    registry: Registry,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    passing: Hit | None = None,
) -> Any:
    """Run one method call to a jsonrpcserver result (Success or Error).

    :param passing: the pass-through stub the call matched (the real method answers it).
    """
    try:
        hit = None
        if passing is None and call.stubs is not None:
            hit = call.stubs.match(name, kwargs if kwargs else args)
        if hit is not None:
            call.delay_ms = max(call.delay_ms, hit.delay_ms)
            if (
                hit.answer is None
            ):  # a pass-through: answered as any call, its trace naming the stub
                mark = len(call.trace)
                answered = invoke(call, registry, name, args, kwargs, passing=hit)
                for item in call.trace[mark:]:
                    item["stub"] = hit.stub_id  # and so never replayed (endpoint._replayable)
                return answered
            answer = hit.answer
            if answer["fault"]:
                call.fault = answer
            traced = {
                "method": name,
                "params": kwargs or args,
                "outcome": "stub",
                "stub": hit.stub_id,
            }
            call.trace.append(traced if hit.index is None else {**traced, "answer": hit.index})
            if answer["error"] is not None:
                error = answer["error"]
                data = (
                    () if error.get("data") is None else (error["data"],)
                )  # no "data" member when none
                return Error(error.get("code", -32000), error.get("message", "error"), *data)
            return Success(answer["result"])
        method = registry.methods.get(name)
        if method is None:  # a name only stubs answer, and none of them matched these params
            call.trace.append(
                {
                    "method": name,
                    "params": kwargs or args,
                    "outcome": "error",
                    "error": {"code": "no-stub-matched"},
                }
            )
            return Error(
                METHOD_NOT_FOUND,
                "Method not found",
                f"{name} is answered only by stubs, and no stub's params_match matches these "
                "params",
            )
        checked = _prepare(call, method, list(args), dict(kwargs))
        result = method.handler(call, *checked)
        if (
            method.rows
            and _single_row(call, method, passing)
            and isinstance(result, list)
            and len(result) == 1
        ):
            result = result[0]
        call.trace.append({"method": name, "params": kwargs or args, "outcome": "result"})
        return Success(result)
    except DomainError as exc:
        call.trace.append(
            {"method": name, "params": kwargs or args, "outcome": "error", "error": exc.as_dict()}
        )
        return Error(exc.rpc_code, exc.message, exc.as_dict())
    except Exception as exc:  # noqa: BLE001 - a bug must still be an answer, and be logged
        log.exception("API method %s failed", name)
        call.trace.append(
            {
                "method": name,
                "params": kwargs or args,
                "outcome": "error",
                "error": {"code": "internal-error"},
            }
        )
        # Journaled as a server error too, so that a test harness fails the test that caused it.
        journal.append(
            call.store,
            call.settings.journal_limit,
            "error",
            journal.error_entry(
                exc,
                method="POST",
                path=(call.settings.base_path or "") + API_PATH,
                status=200,
                api_method=name,
            ),
        )
        return Error(
            INTERNAL_ERROR,
            "Internal error",
            f"mockspice failed: {type(exc).__name__}; see GET /_mockspice/journal?kind=error",
        )


def _single_row(call: Call, method: Method, passing: Hit | None) -> bool:
    """Whether a one-row answer is a bare object: the pass-through stub's choice, else the
    session's (PUT /_mockspice/rpc/sessions/<id>), else the server's setting."""
    if passing is not None:
        return bool(passing.single_row_object)
    if method.session and call.session is not None and call.session.single_row_object is not None:
        return call.session.single_row_object
    return call.settings.rpc_single_row_object


def _prepare(call: Call, method: Method, args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
    """Take the session out of the arguments, check it and the level, and check the shapes."""
    session_id = None
    if kwargs:
        session_id = kwargs.pop("session", None)
        unknown = sorted(set(kwargs) - {p.name for p in method.params})
        if unknown:
            raise BadParameter(
                f"{method.name} has no parameter {unknown[0]!r} "
                f"(it takes: {', '.join(p.name for p in method.params) or 'none'}, session)"
            )
        args = [kwargs[p.name] for p in method.params if p.name in kwargs]
        if any(
            p.name not in kwargs for p in method.params[: len(args)]
        ):  # a gap: a later one without an earlier
            raise BadParameter(
                f"{method.name}: named parameters must give "
                f"{', '.join(p.name for p in method.params)}"
            )
    elif method.session and args and isinstance(args[-1], str) and call.header_session is None:
        # SpiceCSM's clients append the session as the last positional parameter, always; only a
        # client that sends the X-Spice-Session header keeps every positional parameter its own.
        session_id = args.pop()
    elif not method.session and len(args) == len(method.params) + 1 and isinstance(args[-1], str):
        args.pop()  # a session appended to a call that needs none (clients append it everywhere)
    if method.session:
        call.session = sessions.check(
            call.store,
            session_id if session_id is not None else call.header_session,
            call.settings.session_ttl_s,
        )
        if call.session.security_level < method.min_level:
            raise PermissionDenied(
                f"{method.name} needs security level {method.min_level}; "
                f"this session has {call.session.security_level}"
            )
    return method.check_args(args)


class _Methods(Mapping):
    """The names jsonrpcserver may call: the table's methods and any stubbed name."""

    def __init__(self, call: Call, registry: Registry):
        self.call, self.registry = call, registry

    def __getitem__(self, name: str) -> Callable[..., Any]:
        if name not in self.registry.methods and (
            self.call.stubs is None or not self.call.stubs.knows(name)
        ):
            # Journaled too, so that a test asking whether its code called this name finds it.
            self.call.trace.append(
                {
                    "method": name,
                    "params": None,
                    "outcome": "error",
                    "error": {"code": "method-not-found"},
                }
            )
            raise KeyError(name)  # the store is asked only about names the table does not have
        return lambda *args, **kwargs: invoke(self.call, self.registry, name, list(args), kwargs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry.methods)

    def __len__(self) -> int:
        return len(self.registry.methods)


def parse(text: str) -> Any:
    """A request body's JSON as the API reads it: no NaN, no Infinity, no lone surrogate.

    :raises ValueError, RecursionError: it is not such JSON (the message says why).
    """
    data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    if "\\u" in text:
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
        except UnicodeEncodeError:
            raise ValueError(
                "the JSON escapes a lone surrogate (\\ud800-\\udfff), which is no text"
            ) from None
    return data


def respond(text: str, call: Call, registry: Registry) -> Reply:
    """The answer to one API request body (the JSON text of a call or a batch)."""
    try:
        data = parse(text)
    except (ValueError, RecursionError) as exc:
        message = f"Parse error: {str(exc)[:200]}"
        if '"jsonrpc"' in text[:4096]:
            return Reply(_error20(PARSE_ERROR, "Parse error", None, str(exc)[:200]), "2.0")
        return Reply({"result": None, "error": message, "id": None}, "1.0")
    methods = _Methods(call, registry)
    if isinstance(data, list):
        if not data:
            return Reply(
                _error20(INVALID_REQUEST, "Invalid Request", None, "an empty batch"), "batch"
            )
        answers = [a for a in (_one20(item, methods) for item in data) if a is not None]
        return Reply(answers or None, "batch")
    if isinstance(data, dict) and "jsonrpc" not in data:
        return Reply(_one10(data, methods), "1.0")
    return Reply(_one20(data, methods), "2.0")


def _no_constant(name: str) -> Any:
    raise ValueError(
        f"{name} is not JSON"
    )  # Python's json reads NaN and Infinity; JSON has neither


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _error20(code: int, message: str, id_: Any, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": id_}


def _invalid20(item: Any) -> str | None:
    """Why ``item`` is not a JSON-RPC 2.0 request object, or None when it is one."""
    if not isinstance(item, dict):
        return "a request must be a JSON object"
    if item.get("jsonrpc") != "2.0":
        return 'the member "jsonrpc" must be exactly "2.0"'
    if not isinstance(item.get("method"), str):
        return 'the member "method" must be a string'
    if "params" in item and not isinstance(item["params"], (list, dict)):
        return 'the member "params" must be an array or an object'
    if "id" in item and (
        isinstance(item["id"], bool) or not isinstance(item["id"], (str, int, float, type(None)))
    ):
        return 'the member "id" must be a string, a number or null'
    return None


def _one20(item: Any, methods: _Methods) -> dict[str, Any] | None:
    problem = _invalid20(item)
    if problem is not None:
        id_ = item.get("id") if isinstance(item, dict) and _valid_id(item.get("id")) else None
        return _error20(INVALID_REQUEST, "Invalid Request", id_, problem)
    # Checked above, one member at a time; jsonrpcserver's own schema check would refuse a
    # request with members beyond the specification's, which the specification does not.
    return _dispatch(item, methods)


def _dispatch(item: dict[str, Any], methods: _Methods) -> dict[str, Any] | None:
    return dispatch_to_serializable(item, methods, deserializer=lambda x: x, validator=lambda x: x)


def _valid_id(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (str, int, float, type(None)))


def _one10(item: dict[str, Any], methods: _Methods) -> dict[str, Any] | None:
    """A JSON-RPC 1.0 call: dispatched as 2.0 inside, answered in 1.0's shape."""
    id_ = item.get("id")
    if not isinstance(item.get("method"), str):
        return {
            "result": None,
            "error": 'Invalid request: the member "method" must be a string',
            "id": id_,
        }
    params = item.get("params", [])
    if params is None:
        params = []
    if not isinstance(params, (list, dict)):
        return {
            "result": None,
            "error": 'Invalid request: the member "params" must be an array',
            "id": id_,
        }
    inner: dict[str, Any] = {"jsonrpc": "2.0", "method": item["method"], "params": params}
    if id_ is not None:
        inner["id"] = 0  # any id will do inside; the reply carries the client's own
    answer = _dispatch(inner, methods)
    if answer is None:  # id null: a 1.0 notification
        return None
    if "error" not in answer:
        return {"result": answer["result"], "error": None, "id": id_}
    message = answer["error"]["message"]
    if answer["error"]["code"] == METHOD_NOT_FOUND:
        message = f"Method not found: {item['method']}"
    return {"result": None, "error": message, "id": id_}
