"""The pytest plugin: mockspice as a test dependency (``pytest11`` entry point ``mockspice``).

Installed with the package, so the fixtures exist without an import (docs/testing.md):

- ``mockspice``: a live ``mockspice serve`` for the session (one per xdist worker) on a free
  loopback port, reset before every test; a test whose settings differ from the session's gets
  a server of its own (kept for the next test with the same settings). An error inside the
  server, or the server dying or hanging, fails the test that caused it.
- ``mockspice_settings``: the settings of a test's server (override it in a conftest.py).
- ``mockspice_app`` and ``mockspice_client``: the Flask app and its test client in the test's
  process, on a store in the test's temporary folder.
- ``@pytest.mark.mockspice(fixtures=..., edition=..., stubs=..., settings={...})`` per test or
  module; ini options and ``--mockspice-*`` options for the session's defaults.

One module (about 640 lines) because a pytest plugin is one: the fixtures, the hooks and the
options that pytest finds through the ``pytest11`` entry point, each with its docstring.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

# Imported with the plugin, before any test can activate ``responses``: the client's adapter
# keeps requests' own send (mockspice/client.py).
from mockspice.client import Client  # noqa: F401
from mockspice.runner import OWN, ServerError, ServerProcess
from mockspice.settings import Settings, SettingsError

MARKER = "mockspice"
MARKER_KEYS = ("fixtures", "edition", "stubs", "settings")
PATH_SETTINGS = ("fixtures", "stubs", "db")
SERVERS_KEPT = 3  # servers of other settings than the session's, kept for later tests
CHECK_TIMEOUT_S = 5.0  # a server that does not answer the check after a test within this is hung
DEMO_AGENT = ("jdoe.agent", "spice")  # of the bundled demo dataset

_SERVERS = pytest.StashKey["_Servers"]()


# -- configuration ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockspice", "mockspice (a mock SpiceCSM)")
    group.addoption(
        "--mockspice-fixtures", metavar="FILE", help="dataset the mockspice fixture's server loads"
    )
    group.addoption("--mockspice-edition", metavar="EDITION", help="enterprise or community")
    group.addoption(
        "--mockspice-stubs",
        metavar="PATH",
        help="API stubs (file or folder) loaded at the server's start",
    )
    group.addoption(
        "--mockspice-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other setting of mockspice serve, e.g. rpc_single_row_object=true (repeatable)",
    )
    parser.addini(
        "mockspice_fixtures", "dataset the mockspice fixture's server loads", type="paths"
    )
    parser.addini("mockspice_edition", "enterprise or community")
    parser.addini(
        "mockspice_stubs", "API stubs (file or folder) loaded at the server's start", type="paths"
    )
    parser.addini(
        "mockspice_settings",
        "other settings of mockspice serve, one NAME=VALUE a line",
        type="linelist",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockspice(fixtures=None, edition=None, stubs=None, settings=None): the settings of the "
        "mockspice fixture's server for this test or module (a server of its own when they differ)",
    )
    config.stash[_SERVERS] = _Servers(_session_settings(config))


def pytest_unconfigure(config: pytest.Config) -> None:
    servers = config.stash.get(_SERVERS, None)
    if servers is not None:
        servers.stop_all()


def _session_settings(config: pytest.Config) -> dict[str, Any]:
    """The session's settings: the ini options, then the command line's; a usage error names the bad
    one.
    """
    values: dict[str, Any] = {}
    for name in ("fixtures", "stubs"):
        paths = config.getini(f"mockspice_{name}")
        if paths:
            values[name] = (str(paths[0]), f"ini option mockspice_{name}")
    if config.getini("mockspice_edition"):
        values["edition"] = (config.getini("mockspice_edition"), "ini option mockspice_edition")
    for line in config.getini("mockspice_settings"):
        name, value = _name_value(line, "ini option mockspice_settings")
        values[name] = (value, "ini option mockspice_settings")
    for name in ("fixtures", "stubs", "edition"):
        given = config.getoption(f"mockspice_{name}")
        if given is not None:
            value = str(Path(given).resolve()) if name in PATH_SETTINGS else given
            values[name] = (value, f"option --mockspice-{name}")
    for item in config.getoption("mockspice_setting"):
        name, value = _name_value(item, "option --mockspice-setting")
        values[name] = (value, "option --mockspice-setting")
    try:
        return _checked(values)
    except _Bad as exc:
        raise pytest.UsageError(f"mockspice: {exc}") from None


def _name_value(text: str, source: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise pytest.UsageError(f"mockspice: {source}: {text!r} is not NAME=VALUE")
    return name.strip().replace("-", "_"), value.strip()


class _Bad(ValueError):
    """A setting that cannot be used; the message names it and its source."""


_CHECKED: dict[str, dict[str, Any]] = {}  # settings already checked, by their values


def _checked(values: Mapping[str, tuple[Any, str]]) -> dict[str, Any]:
    """Settings checked one by one (each error names its source) and together; datasets and stubs
    files read here, so that a bad one is a usage error and not a server that will not start.
    Checked once per distinct values (a dataset is not read again for every test)."""
    key = json.dumps({k: v[0] for k, v in values.items()}, sort_keys=True, default=repr)
    if key in _CHECKED:
        return dict(_CHECKED[key])
    out = {}
    for name, (value, source) in values.items():
        if name in OWN:
            raise _Bad(
                f"{source}: setting {name!r} is chosen by the plugin (127.0.0.1 on a free port)"
            )
        try:
            out[name] = Settings.coerce(name, value, source)
        except SettingsError as exc:
            raise _Bad(str(exc)) from None
    try:
        Settings.load(environ={}, overrides=out)
    except SettingsError as exc:
        raise _Bad(str(exc)) from None
    _check_files(out, values)
    _CHECKED[key] = out
    return dict(out)


def _check_files(settings: Mapping[str, Any], sources: Mapping[str, tuple[Any, str]]) -> None:
    from mockspice.store.dataset import DatasetError, load_file

    if settings.get("fixtures"):
        try:
            load_file(settings["fixtures"])
        except DatasetError as exc:
            raise _Bad(f"{sources['fixtures'][1]}: {exc}") from None
    if settings.get("stubs"):
        from mockspice.domain.stubs import StubsError, load_path

        try:
            load_path(settings["stubs"])
        except StubsError as exc:
            raise _Bad(f"{sources['stubs'][1]}: {exc}") from None


def _marker_settings(item: pytest.Item) -> dict[str, tuple[Any, str]]:
    """The settings the item's mockspice markers give, the closest last (so it wins)."""
    values: dict[str, tuple[Any, str]] = {}
    for mark in reversed(list(item.iter_markers(MARKER))):
        source = f"{item.nodeid}: @pytest.mark.mockspice"
        if mark.args:
            raise _Bad(f"{source}: takes keywords only ({', '.join(MARKER_KEYS)})")
        unknown = sorted(set(mark.kwargs) - set(MARKER_KEYS))
        if unknown:
            raise _Bad(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(MARKER_KEYS)})")
        given = dict(mark.kwargs.get("settings") or {})
        if not isinstance(mark.kwargs.get("settings") or {}, Mapping):
            raise _Bad(f"{source}: settings= must be a mapping of setting names to values")
        for key in ("fixtures", "edition", "stubs"):
            if mark.kwargs.get(key) is not None:
                given[key] = mark.kwargs[key]
        folder = Path(str(item.path)).parent
        for name, value in given.items():
            if name in PATH_SETTINGS and isinstance(value, (str, Path)) and str(value):
                value = str((folder / value).resolve())  # relative to the test's file
            values[name] = (value, f"{source} {name}=")
    return values


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Check every mockspice marker once, before any test runs: a bad one is a usage error."""
    defaults = {k: (v, "session settings") for k, v in config.stash[_SERVERS].defaults.items()}
    for item in items:
        if not any(True for _ in item.iter_markers(MARKER)):
            continue
        try:
            _checked({**defaults, **_marker_settings(item)})
        except _Bad as exc:
            raise pytest.UsageError(f"mockspice: {exc}") from None


# -- the servers -----------------------------------------------------------------------------


class _Servers:
    """The session's servers, one per distinct settings; the session's own kept for the whole
    run, the others (at most SERVERS_KEPT) until a newer one pushes them out."""

    def __init__(self, defaults: dict[str, Any]):
        self.defaults = defaults
        self._running: OrderedDict[str, ServerProcess] = OrderedDict()
        self._methods: dict[str, dict[str, bool]] = {}

    def get(self, settings: dict[str, Any]) -> ServerProcess:
        """A running server with these settings (a fresh one if the last one stopped)."""
        key = json.dumps(settings, sort_keys=True)
        server = self._running.get(key)
        if server is not None and not server.alive:
            self._drop(key)
            server = None
        if server is None:
            server = ServerProcess(settings).start()
            self._running[key] = server
            others = [k for k in self._running if k != self._key(self.defaults) and k != key]
            while len(others) > SERVERS_KEPT:
                self._drop(others.pop(0))
        self._running.move_to_end(key)
        return server

    @staticmethod
    def _key(settings: dict[str, Any]) -> str:
        return json.dumps(settings, sort_keys=True)

    def discard(self, server: ServerProcess) -> None:
        """Stop a server that failed a test (it died or hung); the next test gets a fresh one."""
        for key, running in list(self._running.items()):
            if running is server:
                self._drop(key)

    def _drop(self, key: str) -> None:
        server = self._running.pop(key)
        self._methods.pop(server.url, None)
        server.stop()

    def sessions_of(self, server: ServerProcess) -> dict[str, bool]:
        """Which API methods take a session (``rpc.discover``'s ``x-session``), asked once per
        server.
        """
        if server.url not in self._methods:
            found = server.client.rpc("rpc.discover")
            self._methods[server.url] = {
                m["name"]: bool(m.get("x-session")) for m in found["methods"]
            }
        return self._methods[server.url]

    def stop_all(self) -> None:
        for key in list(self._running):
            self._drop(key)


# -- the fixture's object --------------------------------------------------------------------


class MockSpice:
    """The ``mockspice`` fixture: a live server, reset for this test, and what a test asks of it.

    :ivar url: the server's root, e.g. ``http://127.0.0.1:40123``.
    :ivar base_url: the root with SpiceCSM's base path (``.../spiceinstall``).
    :ivar api_url: the JSON-RPC API's URL.
    :ivar client: the :class:`mockspice.Client` of the control API.
    :ivar fail_on_server_errors: set False in a test that provokes server errors on purpose.
    """

    def __init__(self, server: ServerProcess, servers: _Servers):
        self.server, self._servers = server, servers
        self.client = server.client
        self.url, self.base_url, self.api_url = (
            self.client.url,
            self.client.base_url,
            self.client.api_url,
        )
        self.settings = server.settings
        self.agent = DEMO_AGENT
        self.session: str | None = None
        self.fail_on_server_errors = True
        self.broken = False

    # SpiceCSM's own URLs

    def pop_url(self, **params: Any) -> str:
        """The screen pop's URL: ``company=1&brand=1`` unless given, and the other params."""
        return self.client.pop_url(**params)

    def pop(self, **params: Any) -> dict[str, Any]:
        """The screen pop's JSON answer (``format=json``) for these params."""
        return self.client.pop(**params)

    def api(self, method: str, *params: Any, **named: Any) -> Any:
        """Call an API method as SpiceCSM's clients do: connected as the agent (``self.agent``,
        the demo's ``jdoe.agent`` unless set) once per test, the session appended to the call of
        any method that takes one. Returns the result; raises :class:`mockspice.RpcError`.

        :param method: the method's name (``accountSearch``, ``rpc.discover``, ...).
        :param params: positional parameters (or ``named`` ones, not both).
        """
        if not self._servers.sessions_of(self.server).get(
            method, True
        ):  # a stub-only name takes one too
            return self.client.rpc(method, *params, **named)
        if self.session is None:
            self.session = self.client.connect(*self.agent)
        return self.client.rpc(method, *params, session=self.session, **named)

    # the control API

    def set_webcalls(self, company: int, brand: int, **settings: Any) -> dict[str, Any]:
        """Set a brand's web-call settings (``search_url``, ..., ``int_user``, ``int_pass``,
        ``timeout_s``); those not given keep their values."""
        return self.client.set_webcalls(company, brand, **settings)

    def fire(
        self, kind: str, *, company: int = 1, brand: int = 1, **variables: Any
    ) -> dict[str, Any]:
        """Fire a web call now and return the exchange (docs/webcalls.md).

        :param kind: ``search``, ``load``, ``update`` or ``case``.
        :param variables: search: the criteria (``PrimaryPhone="5554010001"``); load:
            ``userkey``; update: ``userkey`` or ``account``; case: ``case`` and ``response``.
        """
        if kind == "search":
            return self.client.fire(kind, company=company, brand=brand, variables=variables)
        return self.client.fire(kind, company=company, brand=brand, **variables)

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """The journal's entries, oldest first; filters as ``GET /_mockspice/journal``'s."""
        return self.client.journal(**filters)

    def load(self, dataset: str | Path | Mapping[str, Any]) -> dict[str, int]:
        """Replace the dataset for this test (the next test starts from the server's own again).

        :param dataset: a dataset file (YAML or JSON, docs/fixtures.md) or the dataset itself.
        """
        if isinstance(dataset, Mapping):
            return self.client.put_state(dict(dataset))
        from mockspice.store.dataset import load_file

        return self.client.put_state(load_file(dataset))

    def stub(self, method: str, **stub: Any) -> dict[str, Any]:
        """Add an API stub (docs/api.md): ``result``, ``error``, ``fault``, ``answers``, ..."""
        return self.client.add_stub(method, **stub)

    # verification

    def assert_called(
        self, method: str, params_match: Any = None, times: int | None = None, **matcher: Any
    ) -> list[dict[str, Any]]:
        """Assert that the API was called: ``method``, with params holding ``params_match``
        (the stubs' subset rule), ``times`` times exactly (None: at least once). Returns the
        matching journal entries; the failure message shows the nearest calls and what differed.
        """
        wanted = {"kind": "api", "method": method, **matcher}
        if params_match is not None:
            wanted["params_match"] = params_match
        return self._assert(wanted, times, f"API call {method}")

    def assert_not_called(self, method: str, params_match: Any = None, **matcher: Any) -> None:
        """Assert that no matching API call was made."""
        self.assert_called(method, params_match, times=0, **matcher)

    def assert_webcall(
        self,
        call: str | None = None,
        form_match: Mapping[str, str] | None = None,
        times: int | None = None,
        **matcher: Any,
    ) -> list[dict[str, Any]]:
        """Assert that web calls were made: of kind ``call`` (search, load, update, case), their
        form holding ``form_match``, and any matcher key (``url``, ``outcome``, ``company``,
        ``brand``), ``times`` times (None: at least once)."""
        wanted = {"kind": "webcall", **matcher}
        if call is not None:
            wanted["call"] = call
        if form_match is not None:
            wanted["form_match"] = dict(form_match)
        return self._assert(wanted, times, f"web call {call or ''}".strip())

    @staticmethod
    def assert_exchange_ok(exchange: Any) -> None:
        """:func:`assert_exchange_ok`, on the fixture (its name hides the package in a test)."""
        assert_exchange_ok(exchange)

    def assert_popped(self, times: int | None = None, **matcher: Any) -> list[dict[str, Any]]:
        """Assert that the screen pop was opened: matcher keys ``ani``, ``callid``, ``company``,
        ``brand``, ``params_match``, ``times`` times (None: at least once)."""
        return self._assert({"kind": "pop", **matcher}, times, "screen pop")

    def _assert(
        self, matcher: dict[str, Any], times: int | None, what: str
    ) -> list[dict[str, Any]]:
        found = self.client.find(matcher)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        expected = "at least once" if times is None else f"{times} time{'s' * (times != 1)}"
        lines = [
            f"expected {what} {expected}, matching {json.dumps(matcher, ensure_ascii=False)}; "
            f"it was made {len(found)} time{'s' * (len(found) != 1)}"
        ]
        if found:
            lines.append(
                "matching entries: " + ", ".join(f"#{e['id']} at {e['at']}" for e in found[:10])
            )
        else:
            lines += describe_near_misses(self.client.near_misses(matcher))
        raise AssertionError("\n".join(lines))

    # after the test

    def check(self, errors: bool = True) -> str | None:
        """Why the test must fail because of the server (it died, hung, or had an error), or None.
        Sets :attr:`broken` when the server cannot serve another test.

        :param errors: also look for errors inside the server (else only whether it answers).
        """
        self.broken = True
        if not self.server.alive:
            return f"{self.server.why_stopped()}\nThe next test gets a fresh server."
        try:
            found = self.client.errors(timeout=CHECK_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - whatever broke, the test must say so
            if not self.server.alive:
                return f"{self.server.why_stopped()}\nThe next test gets a fresh server."
            return (
                f"the mockspice server did not answer within {CHECK_TIMEOUT_S:.0f} s after the "
                "test "
                f"({exc}); it was stopped, and the next test gets a fresh server"
            )
        self.broken = False
        if errors and found and self.fail_on_server_errors:
            parts = [
                f"the mockspice server failed {len(found)} time{'s' * (len(found) != 1)} during "
                "this test:"
            ]
            for error in found[:5]:
                where = (
                    error.get("api_method")
                    or f"{error.get('method', '')} {error.get('path', '')}".strip()
                )
                parts.append(
                    f"--- {where}: {error.get('error')}\n{error.get('traceback', '').rstrip()}"
                )
            return "\n".join(parts)
        return None


def describe_near_misses(misses: list[dict[str, Any]]) -> list[str]:
    """Lines for an assertion message: each near miss, and what differed."""
    if not misses:
        return ["the journal holds no entry of that kind"]
    lines = ["nearest entries:"]
    for miss in misses:
        entry = miss["entry"]
        lines.append(f"  #{entry['id']} {entry['kind']} at {entry['at']}: {_summary(entry)}")
        for diff in miss.get("differences", []):
            lines.append(
                f"    {diff['key']}: expected {_short(diff.get('expected'))}, "
                f"was {_short(diff.get('actual'))}"
            )
    return lines


def _summary(entry: dict[str, Any]) -> str:
    if entry["kind"] == "api":
        calls = entry.get("calls") or []
        return (
            "; ".join(
                f"{c.get('method')}({_short(c.get('params'))}) -> {c.get('outcome')}" for c in calls
            )
            or "-"
        )
    if entry["kind"] == "webcall":
        exchange = entry.get("exchange") or {}
        url = exchange.get("request", {}).get("url")
        return f"{exchange.get('kind')} {url} -> {exchange.get('outcome')}"
    if entry["kind"] == "pop":
        return f"params {_short(entry.get('params'))} -> {entry.get('status')}"
    return _short(entry)


def _short(value: Any, most: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= most else text[:most] + "..."


def assert_exchange_ok(exchange: Any) -> None:
    """Assert that a web call's exchange is ``ok``; the failure lists every finding with its
    line, column and path, and the reply's lines around each.

    :param exchange: what ``mockspice.fire`` / ``Client.fire`` answer, or an engine ``Exchange``.
    """
    if hasattr(exchange, "as_dict"):
        exchange = exchange.as_dict()
    if exchange.get("outcome") == "ok":
        return
    request = exchange.get("request") or {}
    response = exchange.get("response") or {}
    lines = [
        f"web call {exchange.get('kind')} to {request.get('url')}: outcome "
        f"{exchange.get('outcome')}"
        + (f", HTTP {response['status']}" if response.get("status") is not None else "")
    ]
    body = (response.get("body") or "").splitlines()
    for finding in exchange.get("findings") or []:
        where = ", ".join(
            f"{k} {finding[k]}" for k in ("line", "column") if finding.get(k) is not None
        )
        if finding.get("path"):
            where = f"{where}, {finding['path']}" if where else finding["path"]
        lines.append(
            f"  {finding['severity']} {finding['code']}{f' ({where})' if where else ''}: "
            f"{finding['message']}"
        )
        line = finding.get("line")
        if isinstance(line, int) and 1 <= line <= len(body):
            for number in range(max(1, line - 2), min(len(body), line + 2) + 1):
                mark = ">" if number == line else " "
                lines.append(f"      {mark} {number:4d} | {body[number - 1][:160]}")
                if number == line and isinstance(finding.get("column"), int):
                    lines.append(f"               {' ' * min(finding['column'] - 1, 160)}^")
    raise AssertionError("\n".join(lines))


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def mockspice_settings() -> dict[str, Any]:
    """Settings of this test's mockspice server, over the session's (override in a conftest.py;
    a marker on the test wins over it)."""
    return {}


def _test_settings(request: pytest.FixtureRequest, overrides: Mapping[str, Any]) -> dict[str, Any]:
    servers = request.config.stash[_SERVERS]
    given = {k: (v, "the mockspice_settings fixture") for k, v in overrides.items()}
    try:
        values = {
            **{k: (v, "session settings") for k, v in servers.defaults.items()},
            **given,
            **_marker_settings(request.node),
        }
        return _checked(values)
    except _Bad as exc:
        pytest.fail(f"mockspice: {exc}", pytrace=False)


@pytest.fixture
def mockspice(
    request: pytest.FixtureRequest, mockspice_settings: dict[str, Any]
) -> Iterator[MockSpice]:
    """A live mockspice server, reset for this test (state, journal, stubs, sessions, web-call
    settings). See :class:`MockSpice`."""
    servers = request.config.stash[_SERVERS]
    settings = _test_settings(request, mockspice_settings)
    try:
        server = servers.get(settings)
    except ServerError as exc:
        pytest.fail(f"mockspice: {exc}", pytrace=False)
    try:
        server.client.reset()
    except Exception as exc:  # noqa: BLE001 - a server that cannot be reset is not used again
        servers.discard(server)
        pytest.fail(
            f"mockspice: the server could not be reset ({exc}); the next test gets a fresh one",
            pytrace=False,
        )
    handle = MockSpice(server, servers)
    request.node.stash[_HANDLE] = handle
    yield handle


_HANDLE = pytest.StashKey[MockSpice]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test that used the server: fail it if the server died, hung or had an error."""
    try:
        result = yield
    except BaseException:
        handle = item.stash.get(_HANDLE, None)
        if handle is not None and handle.check(errors=False) is not None:
            handle._servers.discard(handle.server)  # dead or hung: the next test gets a fresh one
        raise
    handle = item.stash.get(_HANDLE, None)
    if handle is not None:
        problem = handle.check()
        if problem is not None:
            if handle.broken:
                handle._servers.discard(handle.server)
            pytest.fail(problem, pytrace=False)
    return result


@pytest.fixture
def mockspice_app(
    tmp_path: Path, request: pytest.FixtureRequest, mockspice_settings: dict[str, Any]
) -> Iterator[Any]:
    """The Flask app in this test's process, its store in the test's temporary folder (removed
    with it), with the test's settings."""
    from mockspice.app import create_app

    settings = _test_settings(request, mockspice_settings)
    settings.setdefault("db", str(tmp_path / "mockspice.db"))
    settings.pop("workers", None)  # one process: the test's
    app = create_app(Settings.load(environ={}, overrides=settings))
    yield app
    app.extensions["mockspice"].prepared.cleanup()


@pytest.fixture
def mockspice_client(mockspice_app: Any) -> Any:
    """Flask's test client of :func:`mockspice_app`."""
    return mockspice_app.test_client()
