# SPDX-License-Identifier: MIT
"""What every ``honeyfarm`` command shares: the typer app, common options, errors, the lake to read.

The commands live in :mod:`honeyfarm.cli` and :mod:`honeyfarm.cli_lake`; both
register on :data:`app` from here, so ``python -m honeyfarm.cli`` and the
``honeyfarm`` entry point see one app.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand

from honeyfarm import __version__
from honeyfarm.config import CONFIG_ENV, LAKE_ENV, Config, ConfigError, load_config, resolve_lake

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run honeypots and analyse what they catch: ingest logs into a Parquet lake, query it, report on it.",
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"honeyfarm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    pass


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:  # typer's vendored click.Context
        return None if self.metavar else super().display_type_rich(ctx)


class Command(TyperCommand):
    """A command whose help shows an argument's ``metavar`` alone, not also its Python type (``<list[str]>``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in self.params:
            if type(p) is TyperArgument:
                p.__class__ = _Argument


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", metavar="FILE", help="honeyfarm.toml (default: $HONEYFARM_CONFIG or ./honeyfarm.toml)."
    ),
]
LakeOpt = Annotated[
    Path | None,
    typer.Option(
        "--lake", metavar="DIR", help="Lake directory (default: $HONEYFARM_LAKE, the config, ./honeyfarm-data)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV on stdout (formula injection neutralised).")]

err = Console(stderr=True, highlight=False)


def fail(message: str, code: int) -> typer.Exit:
    """Print ``message`` as one line on stderr; return the exit to raise."""
    err.print(message, markup=False, soft_wrap=True)
    return typer.Exit(code)


def load(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def stdout() -> Console:
    """The console for tables on stdout.

    On a terminal rich uses its width. Otherwise (a pipe, a file) it would
    assume 80 columns and fold IP addresses, timestamps and hashes mid-value,
    so it takes ``$COLUMNS`` if set, else a width no row reaches (cells are
    capped at 120 characters).
    """
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else 100_000
    return Console(highlight=False, soft_wrap=False, width=width)


def lake_source(cfg: Config, cli_lake: Path | None, config: Path | None) -> str:
    """How :func:`resolve_lake` chose the lake, for messages."""
    if cli_lake is not None:
        return "--lake"
    if os.environ.get(LAKE_ENV):
        return f"${LAKE_ENV}"
    if "path" in cfg.lake.model_fields_set:
        name = config or os.environ.get(CONFIG_ENV) or "honeyfarm.toml"
        return f"[lake] path in {name}"
    return f"the default, as neither --lake, ${LAKE_ENV} nor a config file's [lake] path is set"


def lake_to_read(cfg: Config, cli_lake: Path | None, config: Path | None) -> Path:
    """The lake a reading command uses; exits 1 with one line saying where it looked when there is none."""
    root = resolve_lake(cfg, cli_lake)
    if not root.is_dir():
        where = root if root.is_absolute() else f"{root} ({Path.cwd() / root})"
        raise fail(f"error: no lake at {where}, from {lake_source(cfg, cli_lake, config)}", 1)
    return root
