"""The ``mockspice`` command: thin, it parses and delegates.

Every command answers ``--help``; exits 0 on success, 1 when a contract check fails and 2 on
bad usage, with one line on stderr.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from mockspice import __version__
from mockspice.settings import Settings, SettingsError

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
            option = click.option(flag, name, type=int if kind == "int" else str, default=None, help=help_text)
        command = option(command)
    return click.option("--config", "config", type=str, default=None,
                        help="YAML file of settings [env MOCKSPICE_CONFIG]")(command)


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
    from mockspice.server import ServeError, serve as run
    from mockspice.store.dataset import DatasetError
    from mockspice.store.db import StoreError

    settings = load_settings(config, overrides)
    try:
        run(settings)
    except (ServeError, StoreError, DatasetError) as exc:
        raise UsageError(str(exc)) from None


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
