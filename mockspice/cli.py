"""The ``mockspice`` command: thin, it parses and delegates.

Every command answers ``--help``; exits 0 on success, 1 when a contract check fails and 2 on
bad usage, with one line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from mockspice import __version__
from mockspice.settings import Settings, SettingsError
from mockspice.wire.schemas import KINDS

USAGE_EXIT = 2


class UsageError(click.ClickException):
    """Bad usage: one line on stderr, exit 2."""

    exit_code = USAGE_EXIT


def settings_options(command: Callable) -> Callable:
    """Add a ``--name`` option for every setting (and ``--config``) to a command."""
    for name in reversed(Settings.names()):
        kind = Settings.__dataclass_fields__[name].type
        flag = "--" + name.replace("_", "-")
        help_text = f"{Settings.help_of(name)} [env MOCKSPICE_{name.upper()}]"
        if kind == "bool":
            option = click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)
        else:
            option = click.option(
                flag, name, type=int if kind == "int" else str, default=None, help=help_text
            )
        command = option(command)
    return click.option(
        "--config",
        "config",
        type=str,
        default=None,
        help="YAML file of settings [env MOCKSPICE_CONFIG]",
    )(command)


def load_settings(config: str | None, overrides: dict[str, Any]) -> Settings:
    """Settings from all layers, or a usage error naming the bad one."""
    try:
        return Settings.load(config, overrides=overrides)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mockspice")
def cli() -> None:
    """mockspice: a mock SpiceCSM for contract testing."""


@cli.command()
@settings_options
def serve(config: str | None, **overrides: Any) -> None:
    """Serve SpiceCSM's URLs and the control API on the embedded store."""
    from mockspice.domain.stubs import StubsError
    from mockspice.server import ServeError
    from mockspice.server import serve as run
    from mockspice.store.dataset import DatasetError
    from mockspice.store.db import StoreError

    settings = load_settings(config, overrides)
    try:
        run(settings)
    except (ServeError, StoreError, DatasetError, StubsError) as exc:
        raise UsageError(str(exc)) from None


@cli.command()
@click.argument("kind", type=click.Choice(list(KINDS)), metavar="KIND")
@click.argument("file", type=str)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="how to print the findings",
)
@click.option("--userkey", default=None, help="for load and update: the userkey that was asked for")
def validate(kind: str, file: str, fmt: str, userkey: str | None) -> None:
    """Validate a web-call document (a reply, or userXML/caseXML) read from FILE or - (stdin).

    Prints the findings, one a line; exits 0 when none is an error, 1 when one is.
    """
    from mockspice.wire.report import exit_code, format_findings
    from mockspice.wire.validate import validate as check

    data = _read_input(file)
    findings = check(kind, data, expected_userkey=userkey)
    text = format_findings(findings, fmt, source=None if file == "-" else file)
    if text:
        click.echo(text)
    sys.exit(exit_code(findings))


@cli.command()
@click.argument("kind", type=click.Choice(list(KINDS)), metavar="KIND")
@click.option("--url", required=True, help="the partner's receiver (http or https)")
@click.option("--int-user", default="", help="intUser sent with the call")
@click.option("--int-pass", default="", help="intPass sent with the call (shown masked)")
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="search: a variable, named as the page names it (PrimaryPhone=...); repeatable",
)
@click.option("--userkey", default=None, help="load and case: the account's userkey")
@click.option(
    "--account-file", default=None, help="update: the account (YAML or JSON, docs/fixtures.md)"
)
@click.option(
    "--case-file",
    default=None,
    help="case: the ticket(s) of caseXML (YAML or JSON, docs/webcalls.md)",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=10.0,
    show_default=True,
    help="seconds for the whole reply",
)
@click.option(
    "--corrected-names",
    is_flag=True,
    help="send SecondaryPhone and Mobile instead of the page's spelling",
)
@click.option("--insecure", is_flag=True, help="accept self-signed TLS certificates")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def call(
    kind: str,
    url: str,
    int_user: str,
    int_pass: str,
    variables: tuple[str, ...],
    userkey: str | None,
    account_file: str | None,
    case_file: str | None,
    timeout_s: float,
    corrected_names: bool,
    insecure: bool,
    fmt: str,
) -> None:
    """Send one web call to a partner as SpiceCSM sends it, and judge the reply.

    Prints the request, the reply and the findings; exits 0 when the partner answered as
    SpiceCSM expects, 1 when it did not (contract failure), 2 on bad usage.
    """
    from mockspice.webcalls import cli_call

    try:
        exchange = cli_call.run(
            kind,
            url=url,
            int_user=int_user,
            int_pass=int_pass,
            variables=variables,
            userkey=userkey,
            account_file=account_file,
            case_file=case_file,
            timeout_s=timeout_s,
            corrected_names=corrected_names,
            verify_tls=not insecure,
        )
    except cli_call.CallUsageError as exc:
        raise UsageError(str(exc)) from None
    click.echo(cli_call.render(exchange, fmt))
    sys.exit(0 if exchange.ok else 1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind")
@click.option(
    "--port", type=int, default=9000, show_default=True, help="port to bind; 0 picks a free one"
)
@click.option(
    "--data",
    "data_file",
    default=None,
    help="dataset file of the partner's accounts (default: the bundled one)",
)
@click.option("--int-user", default=None, help="the intUser it accepts (default: spice)")
@click.option("--int-pass", default=None, help="the intPass it accepts (default: secret)")
def partner(
    host: str, port: int, data_file: str | None, int_user: str | None, int_pass: str | None
) -> None:
    """Serve the reference partner: the four web-call receivers, as a template
    (docs/partner-guide.md).
    """
    from mockspice.partner.app import (
        DEFAULT_INT_PASS,
        DEFAULT_INT_USER,
        PartnerDataError,
        serve_partner,
    )
    from mockspice.server import ServeError, check_bind

    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} must be between 0 and 65535")
    try:
        check_bind(host, port)
        serve_partner(
            host, port, data_file, int_user or DEFAULT_INT_USER, int_pass or DEFAULT_INT_PASS
        )
    except (ServeError, PartnerDataError) as exc:
        raise UsageError(str(exc)) from None


@cli.command()
@click.option("--search-url", default=None, help="the partner's search receiver")
@click.option("--load-url", default=None, help="the partner's load receiver")
@click.option("--update-url", default=None, help="the partner's update receiver")
@click.option("--case-url", default=None, help="the partner's case receiver")
@click.option("--int-user", default=None, help="intUser sent with every call")
@click.option("--int-pass", default=None, help="intPass sent with every call")
@click.option(
    "--userkey", multiple=True, help="an account the partner holds (repeatable; searches add more)"
)
@click.option("--case", "case", multiple=True, help="run only this case, or prefix such as search.")
@click.option("--exclude", multiple=True, help="leave this case (or prefix) out")
@click.option("--timeout", type=str, default=None, help="seconds a call may take (default 10)")
@click.option("--budget-ms", type=str, default=None, help="a slower reply warns (default 2000)")
@click.option("--junit", default=None, help="write a JUnit XML report to this file")
@click.option("--json", "json_file", default=None, help="write the JSON report to this file")
@click.option("--html", default=None, help="write a self-contained HTML report to this file")
@click.option(
    "--github-summary/--no-github-summary",
    default=None,
    help="append a Markdown summary to $GITHUB_STEP_SUMMARY",
)
@click.option(
    "--generated", default=None, help="examples for each generated case (default 50; 0: none)"
)
@click.option("--seed", default=None, help="draw the generated examples with this seed")
@click.option("--list", "list_cases", is_flag=True, help="list the cases and exit")
@click.option(
    "--config", default=None, help="YAML file of these options [env MOCKSPICE_VERIFY_CONFIG]"
)
def verify(list_cases: bool, config: str | None, json_file: str | None, **flags: Any) -> int:
    """Check the partner's web-call receivers against SpiceCSM's contract (docs/verify.md).

    Exit 0 when every case passes, 1 when any fails; every option also as
    MOCKSPICE_VERIFY_<OPTION> or in the --config file.
    """
    from mockspice.verify import command

    if list_cases:
        click.echo(command.listing())
        return 0
    try:
        options = command.load_options(config, {**flags, "json": json_file})
        return command.main(options, out=click.echo)
    except command.VerifyUsageError as exc:
        raise UsageError(str(exc)) from None


def _read_input(file: str) -> bytes:
    """The bytes of FILE, or of stdin for '-'; a usage error if it cannot be read."""
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(file, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None


def main(argv: list[str] | None = None) -> None:
    """Run the command; errors are one line on stderr (``mockspice: error: ...``)."""
    try:
        code = cli.main(args=argv, prog_name="mockspice", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("mockspice: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"mockspice: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
