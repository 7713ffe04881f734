"""One ``Settings`` object: defaults < YAML file < ``MOCKSPICE_*`` environment < CLI flags.

This is the only module that reads ``os.environ``. Every setting has the same name in the YAML
file, as an environment variable (``MOCKSPICE_`` + upper case) and as a CLI flag (``--`` + dashes
for underscores). A wrong key, type or value raises :class:`SettingsError` with one line that
names it and says where it came from.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ENV_PREFIX = "MOCKSPICE_"
EDITIONS = ("enterprise", "community")
LOG_LEVELS = ("debug", "info", "warning", "error")


_BOOLEANS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line naming it."""


def _port(value: int) -> None:
    if not 0 <= value <= 65535:
        raise ValueError("must be between 0 and 65535 (0 picks a free port)")


def _positive(value: int) -> None:
    if value < 1:
        raise ValueError("must be 1 or more")


def _workers(value: int) -> None:
    if not 1 <= value <= 64:
        raise ValueError("must be between 1 and 64")


def _one_of(choices: tuple[str, ...]) -> Callable[[str], None]:
    def check(value: str) -> None:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")

    return check


def _host(value: str) -> None:
    if not value or any(c.isspace() for c in value):
        raise ValueError("must be a host name or address without spaces")


def _base_path(value: str) -> None:
    if value and (not value.startswith("/") or value.endswith("/") or "//" in value):
        raise ValueError("must start with '/' and not end with '/' (or be empty for the root)")


def _setting(default: Any, help: str, check: Callable[[Any], None] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "check": check})


@dataclass(frozen=True)
class Settings:
    """Every knob of mockspice, validated. Build it with :meth:`load`."""

    host: str = _setting("127.0.0.1", "address to bind", _host)
    port: int = _setting(8080, "port to bind; 0 picks a free one", _port)
    base_path: str = _setting("/spiceinstall", "URL prefix of SpiceCSM's own pages", _base_path)
    db: str = _setting("", "SQLite file of the store; empty: a new file in a temporary folder")
    fixtures: str = _setting("", "dataset file (YAML) to load; empty: the bundled demo dataset")
    stubs: str = _setting(
        "",
        "API stubs to load at start: a YAML or JSON file, or a folder of them; a reset restores "
        "them",
    )
    edition: str = _setting("enterprise", "enterprise or community", _one_of(EDITIONS))
    workers: int = _setting(2, "server worker processes sharing the store", _workers)
    threads: int = _setting(4, "threads per worker process", _workers)
    body_timeout_s: int = _setting(
        10,
        "seconds a request body may take to arrive whole; a slower one is answered 408",
        _positive,
    )
    control_token: str = _setting("", "bearer token the control API requires; empty: none")
    journal_limit: int = _setting(10000, "journal entries kept; the oldest are dropped", _positive)
    journal_max_bytes: int = _setting(
        64 * 1024 * 1024, "bytes of journal entries kept; the oldest are dropped", _positive
    )
    log_level: str = _setting("info", "debug, info, warning or error", _one_of(LOG_LEVELS))
    webcall_max_bytes: int = _setting(
        10 * 1024 * 1024, "a partner's reply is cut at this many bytes", _positive
    )
    webcall_verify_tls: bool = _setting(
        True, "verify partners' TLS certificates (false accepts self-signed ones)"
    )
    webcall_corrected_names: bool = _setting(
        False, "send SecondaryPhone and Mobile instead of the page's SecondayPhone and Modile"
    )
    xml_max_depth: int = _setting(32, "a reply nested deeper than this is refused", _positive)
    query_time_limit_ms: int = _setting(
        2000, "the API's query: a statement is stopped after this many ms", _positive
    )
    query_memory_mb: int = _setting(
        64, "the API's query: memory a statement may use (MiB)", _positive
    )
    query_max_bytes: int = _setting(
        4 * 1024 * 1024, "the API's query: longest answer (bytes of JSON)", _positive
    )
    session_ttl_s: int = _setting(3600, "seconds an idle API session lives", _positive)
    rpc_single_row_object: bool = _setting(
        False,
        "answer a one-row API result as a bare object instead of a one-element list (a quirk "
        "clients meet)",
    )
    partner: bool = _setting(
        False,
        "mount the reference partner at /_partner and wire brands without web calls to it (the "
        "demo)",
    )

    @classmethod
    def names(cls) -> list[str]:
        """The names of all settings, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def help_of(cls, name: str) -> str:
        """The one-line description of a setting."""
        return cls.__dataclass_fields__[name].metadata["help"]

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Merge the layers and validate the result.

        :param config_file: a YAML mapping of setting names to values; ``None`` reads
            ``MOCKSPICE_CONFIG`` from the environment, if set.
        :param environ: the environment to read ``MOCKSPICE_*`` from (default ``os.environ``).
        :param overrides: values from the command line; ``None`` values are ignored.
        :raises SettingsError: one line naming the bad key, its source and the reason.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if config_file is None:
            config_file = env.get(ENV_PREFIX + "CONFIG") or None
        if config_file is not None:
            values.update(_read_file(Path(config_file)))
        for name in cls.names():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = _coerce(
                    name, raw, f"environment variable {ENV_PREFIX}{name.upper()}"
                )
        for name, value in (overrides or {}).items():
            if value is not None:
                values[name] = _coerce(name, value, f"option --{name.replace('_', '-')}")
        return cls(**values)

    @classmethod
    def coerce(cls, name: str, value: Any, source: str) -> Any:
        """One setting's value converted to its type and checked (text is parsed, as from the
        environment); :class:`SettingsError` naming ``source`` otherwise."""
        return _coerce(name, value, source)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check = f.metadata["check"]
            value = getattr(self, f.name)
            if check is not None:
                try:
                    check(value)
                except ValueError as exc:
                    raise SettingsError(f"setting {f.name}={value!r}: {exc}") from None

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain mapping (the token masked)."""
        data = dataclasses.asdict(self)
        if data["control_token"]:
            data["control_token"] = "***"
        return data


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"config file {path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"config file {path}: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SettingsError(f"config file {path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: must be a mapping of setting names to values")
    return {
        str(key): _coerce(str(key), value, f"config file {path} key {key!r}")
        for key, value in data.items()
    }


def _coerce(name: str, value: Any, source: str) -> Any:
    """Convert ``value`` to the type of setting ``name``; strings are parsed."""
    fields = Settings.__dataclass_fields__
    if name not in fields:
        raise SettingsError(f"{source}: unknown setting {name!r} (known: {', '.join(fields)})")
    kind = fields[name].type
    if kind == "bool":
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            value = _BOOLEANS[value.strip().lower()]
        if not isinstance(value, bool):
            raise SettingsError(f"{source}: {name} must be true or false, not {value!r}")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise SettingsError(f"{source}: {name} must be a whole number, not {value!r}")
        try:
            value = int(value)
        except ValueError:
            raise SettingsError(f"{source}: {name} must be a whole number, not {value!r}") from None
    elif isinstance(value, (dict, list, bool)) or value is None:
        raise SettingsError(f"{source}: {name} must be text, not {value!r}")
    else:
        value = str(value)
    check = fields[name].metadata["check"]
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            raise SettingsError(f"{source}: {name}={value!r} {exc}") from None
    return value
