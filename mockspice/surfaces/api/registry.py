"""The API's method table: each method's parameters, session rule, security level and handler.

A method is declared once, with :func:`method`; the table gives the dispatcher what to call,
``rpc.discover`` what to describe, and the docs page what to show. Handlers receive the call's
:class:`Call` (the store, the settings, the session) and their checked arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockspice.domain.errors import BadParameter, json_type

# The shapes a parameter can take, with the JSON Schema that rpc.discover shows for each.
SHAPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "object": {"type": "object"},
    "one_object": {
        "type": "object"
    },  # an object; an array gets SpiceCSM's "Only one object" message
    "objects": {"type": "array", "items": {"type": "object"}},
    "any": {},
    "integer": {"type": "integer"},
}


# The result schema of {"msg": "no results"}, SpiceCSM's answer when nothing is found.
NO_RESULTS_SCHEMA = {"type": "object", "properties": {"msg": {"const": "no results"}}}


@dataclass(frozen=True)
class Param:
    """One positional parameter (also accepted by name in JSON-RPC 2.0)."""

    name: str
    shape: str
    summary: str = ""
    required: bool = True


@dataclass(frozen=True)
class Method:
    """One API method as the table declares it."""

    name: str
    handler: Callable[..., Any]
    params: tuple[Param, ...]
    summary: str
    session: bool = True
    min_level: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    rows: bool = False  # the result is a list of rows (the single-row quirk applies)
    # The answer depends only on the arguments, the session and the dataset (not on the time,
    # nor on a partner): a worker may give it again while none of them changed (endpoint.py).
    replayable: bool = False

    def check_args(self, args: list[Any]) -> list[Any]:
        """The arguments, checked against the declared shapes; :class:`BadParameter` otherwise."""
        if len(args) > len(self.params):
            raise BadParameter(
                f"{self.name} takes {len(self.params)} parameter(s) besides the session, "
                f"got {len(args)}"
            )
        checked = []
        for i, param in enumerate(self.params):
            if i >= len(args):
                if param.required:
                    raise BadParameter(
                        f"{self.name}: parameter {i + 1} ({param.name}, {param.shape}) is missing"
                    )
                checked.append(None)
                continue
            checked.append(_shape(self.name, param, args[i]))
        return checked


def _shape(method: str, param: Param, value: Any) -> Any:
    if param.shape == "any":
        return value
    if param.shape == "one_object" and isinstance(value, list):
        # SpiceCSM's own words for load and its kin (spicecsm-facts.md).
        raise BadParameter(
            f"Only one object may be used for the {method} function. Arrays are not allowed."
        )
    if param.shape == "objects" and isinstance(value, dict):
        value = [value]  # a single record where a list of records is expected: take it as one
    ok = {
        "string": isinstance(value, str),
        "object": isinstance(value, dict),
        "one_object": isinstance(value, dict),
        "objects": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        "integer": isinstance(value, int) and not isinstance(value, bool),
    }[param.shape]
    if not ok:
        raise BadParameter(
            f"{method}: parameter {param.name} must be {_described(param.shape)}, "
            f"not {json_type(value)}"
        )
    return value


def _described(shape: str) -> str:
    return {
        "string": "a string",
        "object": "an object",
        "one_object": "an object",
        "objects": "an array of objects",
        "integer": "an integer",
    }[shape]


class Registry:
    """All methods by name."""

    def __init__(self) -> None:
        self.methods: dict[str, Method] = {}

    def add(self, method: Method) -> None:
        """Declare a method (a name may be declared once)."""
        if method.name in self.methods:
            raise ValueError(f"method {method.name} declared twice")
        self.methods[method.name] = method

    def method(
        self,
        name: str,
        *params: Param,
        summary: str,
        session: bool = True,
        min_level: int = 0,
        result: dict[str, Any] | None = None,
        errors: tuple[str, ...] = (),
        rows: bool = False,
        replayable: bool = False,
    ):
        """Decorator form of :meth:`add`."""

        def declare(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.add(
                Method(
                    name,
                    handler,
                    params,
                    summary,
                    session,
                    min_level,
                    result or {},
                    errors,
                    rows,
                    replayable,
                )
            )
            return handler

        return declare
