"""``mockspice verify``'s options and its run: every option from the command line, a
``MOCKSPICE_VERIFY_*`` variable or a YAML file (``--config``), flags winning, then the file; the
checks that make a bad usage exit 2 before any case runs; the reports written at the end.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from mockspice.verify import catalog, generated, reports
from mockspice.verify.runner import DEFAULT_BUDGET_MS, DEFAULT_TIMEOUT_S, Result, Target, run
from mockspice.wire.schemas import KINDS

ENV_PREFIX = "MOCKSPICE_VERIFY_"
LISTS = ("case", "exclude", "userkey")  # options given more than once (a list in the file)


class VerifyUsageError(Exception):
    """Bad usage of ``mockspice verify``: one line, exit 2."""


@dataclass
class Options:
    """Every option of ``mockspice verify`` (the flags' names with ``_``)."""

    search_url: str | None = None
    load_url: str | None = None
    update_url: str | None = None
    case_url: str | None = None
    int_user: str = ""
    int_pass: str = ""
    userkey: list[str] = field(default_factory=list)
    case: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT_S
    budget_ms: float = DEFAULT_BUDGET_MS
    junit: str | None = None
    json: str | None = None
    html: str | None = None
    github_summary: bool = False
    generated: int = generated.DEFAULT_COUNT
    seed: int | None = None  # None: a new one each run, printed


NAMES = [f.name for f in fields(Options)]


def _typed(name: str, value: Any, source: str) -> Any:
    kind = Options.__dataclass_fields__[name].type
    if name in LISTS:
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        raise VerifyUsageError(f"{source}: {name} must be true or false, not {value!r}")
    if kind in ("int", "int | None"):
        try:
            number = int(str(value).strip())
        except ValueError:
            raise VerifyUsageError(
                f"{source}: {name} must be a whole number, not {value!r}"
            ) from None
        if not 0 <= number < 2**32:
            raise VerifyUsageError(f"{source}: {name} must be from 0 to 4294967295, not {value!r}")
        return number
    if kind == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise VerifyUsageError(f"{source}: {name} must be a number, not {value!r}") from None
        if not 0 < number < 1e9:
            raise VerifyUsageError(f"{source}: {name} must be more than 0, not {value!r}")
        return number
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise VerifyUsageError(f"{source}: {name} must be text, not {value!r}")
    return str(value)


def load_options(
    config: str | None, flags: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Options:
    """The options from the file, then the environment, then the flags (None: not given)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config = config or environ.get(ENV_PREFIX + "CONFIG")
    if config:
        try:
            data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        except OSError as exc:
            raise VerifyUsageError(f"cannot read {config}: {exc.strerror}") from None
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise VerifyUsageError(f"{config}{where}: not YAML") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise VerifyUsageError(f"{config}: must be a mapping of options (search_url: ...)")
        for key, value in data.items():
            name = str(key).replace("-", "_")
            if name not in NAMES:
                raise VerifyUsageError(
                    f"{config}: unknown option {key!r} (known: {', '.join(NAMES)})"
                )
            values[name] = _typed(name, value, config)
    for name in NAMES:
        variable = ENV_PREFIX + name.upper()
        if variable in environ:
            values[name] = _typed(name, environ[variable], variable)
    for name, value in flags.items():
        if value not in (None, (), []):
            values[name] = _typed(name, list(value) if name in LISTS else value, f"--{name}")
    return Options(**values)


def check(options: Options) -> tuple[Target, list]:
    """The target and the cases, or :class:`VerifyUsageError` for what cannot work."""
    urls = {}
    for kind in KINDS:
        url = getattr(options, f"{kind}_url")
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise VerifyUsageError(f"--{kind}-url must be an http or https URL, not {url!r}")
        urls[kind] = url
    if not urls:
        raise VerifyUsageError(
            "give the partner's receivers: at least one of --search-url, --load-url, "
            "--update-url, --case-url"
        )
    seed = secrets.randbelow(2**32) if options.seed is None else options.seed
    try:
        cases = catalog.select(options.case, options.exclude, options.generated, seed)
    except KeyError as exc:
        raise VerifyUsageError(
            f"no case is named {exc.args[0]!r} (mockspice verify --list shows them)"
        ) from None
    if not cases:
        raise VerifyUsageError("--case and --exclude leave no case to run")
    for option in ("junit", "json", "html"):
        path = getattr(options, option)
        if path:
            _writable(path, f"--{option}")
    for kind, url in urls.items():
        _reachable(kind, url, options.timeout)
    target = Target(
        urls,
        options.int_user,
        options.int_pass,
        options.timeout,
        options.budget_ms,
        tuple(options.userkey),
        options.generated,
        seed,
    )
    return target, cases


def _writable(path: str, option: str) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise VerifyUsageError(f"{option} {path}: the folder {folder} does not exist")
    if Path(path).is_dir():
        raise VerifyUsageError(f"{option} {path}: is a folder")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise VerifyUsageError(f"{option} {path}: cannot be written")


def _reachable(kind: str, url: str, timeout_s: float) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=min(timeout_s, 5.0)):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise VerifyUsageError(f"--{kind}-url {url}: cannot reach the partner ({reason})") from None


def listing() -> str:
    """``mockspice verify --list``: each case's name, receiver, section and purpose."""
    width = max(len(name) for name in catalog.NAMES)
    return "\n".join(
        f"{case.name:<{width}}  [{case.kind}; {case.section}] {case.purpose}"
        for case in catalog.CASES
    )


def main(options: Options, *, out: Callable[[str], None] | None = None) -> int:
    """Run the cases and write the reports; the exit code (0 all passed, 1 any failed)."""
    target, cases = check(options)
    out = out or (lambda line: print(line, flush=True))
    on_terminal = sys.stderr.isatty()
    lines: list[str] = []

    def progress(result: Result) -> None:
        line = reports.summary_line(result)
        if result.status == "failed":
            line += "\n    again: " + reports.reproduce_for(target, result)
        if on_terminal:
            lines.append(line)
            done = len(lines)
            bar = "#" * (30 * done // len(cases))
            sys.stderr.write(f"\r[{bar:<30}] {done}/{len(cases)} {result.name[:40]:<40}")
            sys.stderr.flush()
        else:
            out(line)

    finished = run(target, cases, progress=progress)
    if on_terminal:
        sys.stderr.write("\r" + " " * 80 + "\r")
        for line in lines:
            out(line)
    if any(case.name.startswith("generated.") for case in cases):
        out(f"generated cases: {target.generated} examples each, seed {target.seed}")
    out(reports.summary(finished))
    if options.junit:
        Path(options.junit).write_text(reports.junit(finished), encoding="utf-8")
    if options.json:
        Path(options.json).write_text(reports.json_report(finished), encoding="utf-8")
    if options.html:
        Path(options.html).write_text(reports.html_report(finished), encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if options.github_summary and step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(reports.markdown(finished))
    return 0 if finished.passed else 1
