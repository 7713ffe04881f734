"""``mockspice.Client``: the control API (docs/control-api.md), the screen pop and the JSON-RPC API
of a running mockspice, in Python.

::

    with Client("http://127.0.0.1:8080") as mock:
        mock.reset()
        session = mock.connect("jdoe.agent", "spice")
        mock.rpc("accountLoad", {"LastName": "Doe"}, session=session)
        assert mock.count(method="accountLoad") == 1

A control answer that is not 2xx raises :class:`ControlError`; so does a server that cannot be
reached (status 0). A JSON-RPC error, or an answer of the API that is no JSON-RPC reply, raises
:class:`RpcError`.

One module (about 500 lines) because it is one public class: each method is a control-API call
and its docstring, and a reader of the class finds them all in one place.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import requests
from urllib3.exceptions import MaxRetryError

from mockspice.urls import API_PATH, POP_PATH

CONTROL = "/_mockspice"
EXCERPT = 200  # characters of a body that is not what was expected, in an error's message


class ControlError(Exception):
    """A control request that failed: the server's ``{"error": {"code", "message"}}``, a non-JSON
    answer (code ``not-json``), another non-2xx JSON answer (code ``http-error``), or no answer at
    all (status 0, code ``unreachable`` or ``timeout``).

    :ivar status: the HTTP status; 0 when no answer came.
    :ivar code: the server's error code (``not-found``, ``bad-parameter``, ``unauthorized``, ...).
    :ivar message: the server's message, or what went wrong.
    :ivar url: the URL requested.
    """

    def __init__(self, status: int, code: str, message: str, url: str | None = None):
        super().__init__(status, code, message, url)  # the args rebuild it (pickle, xdist)
        self.status, self.code, self.message, self.url = status, code, message, url

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url and self.url not in self.message else ""
        return f"{self.status} {self.code}: {self.message}{where}"


class RpcError(Exception):
    """A JSON-RPC call that failed: the reply's ``error`` member, or (code -32700) an answer that
    is no JSON-RPC reply (a stub's ``http500``, ``malformed`` or ``drop`` fault).

    :ivar code: the JSON-RPC error code (docs/api.md, "Errors"); None for a JSON-RPC 1.0 error,
        which is a message alone.
    :ivar message: the error's message.
    :ivar data: the error's ``data`` (mockspice's own ``code`` and ``message``), or None.
    """

    def __init__(self, code: int | None, message: str, data: Any = None):
        super().__init__(code, message, data)
        self.code, self.message, self.data = code, message, data

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code is not None else self.message


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' HTTP adapter with its own ``send``, bound here: ``responses`` (and mocks like it)
    replace ``HTTPAdapter.send`` on the class while a test runs, so that every ``requests`` call
    of the code under test is mocked; the client's calls to the mock server still go out."""

    send = requests.adapters.HTTPAdapter.send


class Client:
    """A client of one mockspice server: its control API, its screen pop and its JSON-RPC API,
    over one keep-alive :class:`requests.Session`.

    :param url: the server's root, e.g. ``http://127.0.0.1:8080`` (a trailing slash is dropped).
    :param token: the server's ``control_token``, sent as ``Authorization: Bearer <token>`` on
        the control URLs only (SpiceCSM's own URLs never need it).
    :param base_path: the server's ``base_path`` setting, where SpiceCSM's URLs live.
    :param timeout: seconds to wait for each answer.

    :ivar url: the server's root, no trailing slash.
    :ivar base_url: ``url`` with the base path (``http://127.0.0.1:8080/spiceinstall``).
    :ivar api_url: the JSON-RPC API's URL.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        base_path: str = "/spiceinstall",
        timeout: float = 10.0,
    ):
        self.url = url.rstrip("/")
        self.base_url = self.url + "/" + base_path.strip("/") if base_path.strip("/") else self.url
        self.api_url = self.base_url + API_PATH
        self.token = token
        self.timeout = timeout
        self._http = requests.Session()
        for prefix in ("http://", "https://"):
            self._http.mount(prefix, _Adapter())
        self._ids = itertools.count(1)

    def close(self) -> None:
        """Close the client's connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # -- the control API ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /_mockspice/health``: ``{"status": "ok", "version", "edition", "base_path"}``."""
        return self._control("GET", "/health")

    def reset(self) -> None:
        """``POST /_mockspice/reset``: back to the dataset loaded at start; the journal, the API
        sessions and the stubs added over the API are gone, the files' stubs put back."""
        self._control("POST", "/reset")

    def state(self) -> dict[str, Any]:
        """``GET /_mockspice/state``: the whole dataset (docs/fixtures.md), secrets masked."""
        return self._control("GET", "/state")

    def put_state(self, data: dict[str, Any]) -> dict[str, int]:
        """``PUT /_mockspice/state``: replace the whole dataset, all or nothing.

        :param data: a dataset (docs/fixtures.md); a masked secret keeps the store's.
        :returns: the counts of what was loaded.
        """
        return self._control("PUT", "/state", data)["counts"]

    def journal(
        self,
        *,
        kind: str | None = None,
        since: int | str | datetime | None = None,
        limit: int | None = None,
        method: str | None = None,
        call: str | None = None,
        url: str | None = None,
        outcome: str | None = None,
        company: int | None = None,
        brand: int | None = None,
        ani: str | None = None,
        callid: str | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /_mockspice/journal``: the entries, oldest first. A filter left None is not sent.

        :param kind: ``pop``, ``api``, ``webcall`` or ``error``.
        :param since: an entry id (the entries after it) or a time (ISO 8601 text or a datetime;
            the entries at or after it; no zone means UTC).
        :param limit: keep the newest N of what the other filters pass.
        :param method: an API method (an API entry with a call of it, an error entry inside it).
        :param call: a web call's kind: ``search``, ``load``, ``update`` or ``case``.
        :param url: a web call's request URL, exactly.
        :param outcome: a web call's ``ok``, ``invalid``, ``error``, ``timeout``,
            ``unreachable``, or an API call's ``result``, ``error``, ``stub``.
        :param company: a web call's company, or a pop's ``company`` parameter.
        :param brand: a web call's brand, or a pop's ``brand`` parameter.
        :param ani: a pop's ``ani`` parameter, exactly.
        :param callid: a pop's ``callid`` parameter, exactly.
        """
        filters = {
            "kind": kind,
            "since": since,
            "limit": limit,
            "method": method,
            "call": call,
            "url": url,
            "outcome": outcome,
            "company": company,
            "brand": brand,
            "ani": ani,
            "callid": callid,
        }
        query = {k: _query_value(v) for k, v in filters.items() if v is not None}
        return self._control("GET", "/journal", params=query)["entries"]

    def clear_journal(self) -> None:
        """``DELETE /_mockspice/journal``: empty the journal (entry ids keep rising)."""
        self._control("DELETE", "/journal")

    def find(self, matcher: dict[str, Any] | None = None, /, **keys: Any) -> list[dict[str, Any]]:
        """``POST /_mockspice/journal/find``: the entries that match, oldest first.

        :param matcher: a matcher (docs/control-api.md, "Verification"): ``kind``, ``method``,
            ``params_match``, ``form_match``, ``call``, ``url``, ``outcome``, ``company``,
            ``brand``, ``ani``, ``callid``, ``since``, ``limit`` (the newest N of the matches).
        :param keys: more matcher keys, over ``matcher``'s; those given as None are left out.
        """
        return self._control("POST", "/journal/find", _matcher(matcher, keys))["entries"]

    def count(self, matcher: dict[str, Any] | None = None, /, **keys: Any) -> int:
        """``POST /_mockspice/journal/count``: how many entries match (a batch counts once).

        :param matcher: a matcher, as :meth:`find` takes it but without ``limit``.
        :param keys: more matcher keys, over ``matcher``'s; those given as None are left out.
        """
        return self._control("POST", "/journal/count", _matcher(matcher, keys))["count"]

    def near_misses(
        self, matcher: dict[str, Any] | None = None, /, *, limit: int | None = None, **keys: Any
    ) -> list[dict[str, Any]]:
        """``POST /_mockspice/journal/near-misses``: the entries closest to the matcher that do not
        meet it, fewest differences first, each ``{"entry", "differences": [{"key", "expected",
        "actual"}]}``.

        :param matcher: a matcher, as :meth:`find` takes it.
        :param limit: how many (the server's default: 5).
        :param keys: more matcher keys, over ``matcher``'s; those given as None are left out.
        """
        body = _matcher(matcher, {**keys, "limit": limit})
        return self._control("POST", "/journal/near-misses", body)["near_misses"]

    def errors(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """The journal's ``error`` entries: bugs of the mock's, each with the request's
        ``method`` and ``path``, ``status``, ``error``, ``traceback`` (and ``api_method``).

        :param timeout: seconds to wait for the answer, instead of the client's.
        """
        return self._control("GET", "/journal", params={"kind": "error"}, timeout=timeout)[
            "entries"
        ]

    def add_stub(self, method: str, **stub: Any) -> dict[str, Any]:
        """``POST /_mockspice/rpc/stubs``: a canned answer for the API calls of ``method``
        (docs/api.md, "Stubs and faults").

        :param method: the method name, known or not.
        :param stub: the stub's other keys: ``params_match``, ``result``, ``error``, ``fault``
            (``http500``, ``drop``, ``malformed``), ``answers``, ``then``, ``single_row_object``,
            ``times``, ``delay_ms``.
        :returns: the stub as listed, with its ``id`` and ``hits`` 0.
        """
        return self._control("POST", "/rpc/stubs", {"method": method, **stub})

    def stubs(self) -> list[dict[str, Any]]:
        """``GET /_mockspice/rpc/stubs``: every stub in the order they match, each with ``hits``,
        ``times_left``, ``origin`` and ``file``."""
        return self._control("GET", "/rpc/stubs")["stubs"]

    def clear_stubs(self) -> int:
        """``DELETE /_mockspice/rpc/stubs``: remove every stub, the files' too (a reset puts those
        back); returns how many were removed."""
        return self._control("DELETE", "/rpc/stubs")["count"]

    def session_quirks(self, session: str) -> dict[str, Any]:
        """``GET /_mockspice/rpc/sessions/<session>``: an API session and its single-row quirk.

        :param session: the session id (what ``connect`` answered).
        :returns: ``{"session", "kind", "agent", "company", "userkey", "security_level",
            "single_row_object"}``.
        """
        return self._control("GET", f"/rpc/sessions/{quote(session, safe='')}")

    def set_session_quirks(self, session: str, **quirks: Any) -> dict[str, Any]:
        """``PUT /_mockspice/rpc/sessions/<session>``: set an API session's quirks for its calls
        (none given: back to the server's settings).

        :param session: the session id (what ``connect`` answered).
        :param quirks: ``single_row_object``: True, False or None (the server's setting).
        :returns: the session, as :meth:`session_quirks` answers it.
        """
        return self._control("PUT", f"/rpc/sessions/{quote(session, safe='')}", quirks)

    def webcalls(self, company: int, brand: int) -> dict[str, Any]:
        """``GET /_mockspice/brands/<company>/<brand>/webcalls``: a brand's web-call settings
        (docs/webcalls.md), ``int_pass`` masked.

        :param company: the company's id.
        :param brand: the brand's id.
        """
        return self._control("GET", f"/brands/{int(company)}/{int(brand)}/webcalls")

    def set_webcalls(
        self, company: int, brand: int, *, replace: bool = False, **settings: Any
    ) -> dict[str, Any]:
        """Set a brand's web-call settings; returns them as the server now has them.

        :param company: the company's id.
        :param brand: the brand's id.
        :param replace: False: the settings given are merged into the brand's current ones (the
            others, its ``int_pass`` too, are kept); True: they replace them all (those left out
            take their defaults).
        :param settings: ``search_url``, ``load_url``, ``update_url``, ``case_url`` (http or https
            URLs, or paths of the mock itself such as ``/_partner/search``), ``int_user``,
            ``int_pass``, ``timeout_s``.
        """
        path = f"/brands/{int(company)}/{int(brand)}/webcalls"
        # The masked int_pass that GET answers, put back, keeps the brand's own (docs/webcalls.md).
        body = settings if replace else {**self._control("GET", path), **settings}
        return self._control("PUT", path, body)

    def fire(
        self, kind: str, *, company: int = 1, brand: int = 1, **payload: Any
    ) -> dict[str, Any]:
        """``POST /_mockspice/webcalls/<kind>``: fire a web call of a brand now.

        :param kind: ``search``, ``load``, ``update`` or ``case``.
        :param company: the brand's company.
        :param brand: the brand whose URLs and credentials are used.
        :param payload: search: ``variables`` (``{"PrimaryPhone": "5555555555"}``); load:
            ``userkey``; update: ``userkey`` or ``account``; case: ``case`` and ``response``.
        :returns: the exchange (docs/webcalls.md), whatever the partner answered.
        """
        return self._control(
            "POST",
            f"/webcalls/{quote(kind, safe='')}",
            {"company": company, "brand": brand, **payload},
        )

    # -- SpiceCSM's own URLs ------------------------------------------------------------------

    def pop_url(self, **params: Any) -> str:
        """The screen pop's URL (docs/screen-pop.md): ``company=1&brand=1`` unless given, then the
        other parameters, URL-encoded; those given as None are left out.

        :param params: ``company``, ``brand``, ``callid``, ``ani``, ``caseid``, ``format``.
        """
        given = {"company": 1, "brand": 1, **params}
        query = urlencode({k: _query_value(v) for k, v in given.items() if v is not None})
        return f"{self.base_url}{POP_PATH}?{query}"

    def pop(self, **params: Any) -> dict[str, Any]:
        """The screen pop's JSON answer (``format=json``) for these parameters; an error answer
        (400, 404) raises :class:`ControlError` with the pop's code and message.

        :param params: as :meth:`pop_url` takes them.
        """
        url = self.pop_url(**{**params, "format": "json"})
        return self._send("GET", url, headers={"Accept": "application/json"})

    def rpc(self, method: str, /, *params: Any, session: str | None = None, **named: Any) -> Any:
        """One JSON-RPC 2.0 call to the API (a JSON body); its ids count up per client.

        :param method: the method's name.
        :param params: its positional parameters (or ``named`` ones, not both).
        :param session: a session id: appended as the last positional parameter, as SpiceCSM's
            clients do, or given as the named parameter ``session``.
        :param named: its named parameters.
        :returns: the reply's ``result``.
        :raises RpcError: the reply's error, or (-32700) an answer that is no JSON-RPC reply.
        :raises ControlError: the API could not be reached (status 0).
        """
        if params and named:
            raise ValueError("give an API method positional or named parameters, not both")
        call: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": next(self._ids)}
        if named:
            call["params"] = {**named, **({"session": session} if session is not None else {})}
        elif params or session is not None:
            call["params"] = [*params, *([session] if session is not None else [])]
        try:
            answer = self._http.post(
                self.api_url,
                data=json.dumps(call),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
            body = answer.text
        except requests.RequestException as exc:
            if _no_answer(exc):
                raise _transport_error(exc, self.api_url, self.timeout) from None
            raise RpcError(-32700, f"the API's answer to {method} broke off: {exc}") from None
        try:
            reply = json.loads(body)
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or not ("result" in reply or "error" in reply):
            raise RpcError(
                -32700,
                f"the API answered {method} with HTTP {answer.status_code} and no "
                f"JSON-RPC reply: {body[:EXCERPT]!r}",
            )
        error = reply.get("error")
        if error is None:
            return reply.get("result")
        if isinstance(error, dict):
            raise RpcError(error.get("code"), str(error.get("message", "")), error.get("data"))
        raise RpcError(None, str(error))  # JSON-RPC 1.0: the message alone

    def connect(self, user: str, password: str) -> str:
        """Open an API session (``connect``); returns its id.

        :param user: the agent's login (the demo's ``jdoe.agent``).
        :param password: the agent's password, plain (the demo's ``spice``).
        :raises RpcError: -32003 ``login-failed`` when refused.
        """
        return self.rpc("connect", user, password)["session"]

    # -- the transport ------------------------------------------------------------------------

    def _control(
        self,
        verb: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        return self._send(
            verb,
            self.url + CONTROL + path,
            headers=headers,
            data=data,
            params=params,
            timeout=timeout,
        )

    def _send(self, verb: str, url: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer; :class:`ControlError` for anything else."""
        wait = self.timeout if timeout is None else timeout
        try:
            answer = self._http.request(verb, url, timeout=wait, **kwargs)
            body = answer.text
        except requests.RequestException as exc:
            raise _transport_error(exc, url, wait) from None
        try:
            value = answer.json()
        except ValueError:
            raise ControlError(
                answer.status_code,
                "not-json",
                f"{verb} answered HTTP {answer.status_code} with no JSON: {body[:EXCERPT]!r}",
                answer.url,
            ) from None
        if answer.ok:
            return value
        error = value.get("error") if isinstance(value, dict) else None
        if isinstance(error, dict) and "code" in error:
            raise ControlError(
                answer.status_code, str(error["code"]), str(error.get("message", "")), answer.url
            )
        raise ControlError(
            answer.status_code,
            "http-error",
            f"{verb} answered HTTP {answer.status_code}: {body[:EXCERPT]!r}",
            answer.url,
        )


def _matcher(matcher: dict[str, Any] | None, keys: dict[str, Any]) -> dict[str, Any]:
    merged = {**(matcher or {}), **{k: v for k, v in keys.items() if v is not None}}
    if isinstance(merged.get("since"), datetime):
        merged["since"] = merged["since"].isoformat()
    return merged


def _query_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _no_answer(exc: requests.RequestException) -> bool:
    """Whether the request never reached the server (refused, unknown host, connect timeout),
    rather than an answer that broke off."""
    reason = exc.args[0] if exc.args else None
    return isinstance(
        exc, (requests.Timeout, requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)
    ) or isinstance(reason, MaxRetryError)


def _transport_error(exc: requests.RequestException, url: str, timeout: float) -> ControlError:
    if isinstance(exc, requests.ConnectTimeout) or not isinstance(exc, requests.Timeout):
        return ControlError(
            0, "unreachable", f"mockspice is unreachable at {url}: {_reason(exc)}", url
        )
    return ControlError(
        0, "timeout", f"mockspice did not answer within {timeout:g} s at {url}", url
    )


def _reason(exc: requests.RequestException) -> str:
    reason = exc.args[0] if exc.args else exc
    text = str(getattr(reason, "reason", None) or reason)
    # urllib3 names its connection object first: "HTTPConnection(host=..., port=...): Failed to ..."
    return text.split("): ", 1)[1] if text.startswith("HTTPConnection(") and "): " in text else text
