# SPDX-License-Identifier: MIT
"""The real tools' ``--help``/``--version`` texts, captured on Debian 12 (``LC_ALL=C``).

Kept apart from :mod:`~honeyfarm.sensor.shell.commands.misc` (which wraps every command with
them) so that a command module can answer ``--version`` itself without importing ``misc``,
which imports the other command modules: no import circle.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources

from honeyfarm.sensor.shell.commands.base import IO


@cache
def help_texts() -> dict[str, dict[str, list[str | int]]]:
    raw = resources.files("honeyfarm.sensor").joinpath("data/coreutils_help.json.gz").read_bytes()
    data: dict[str, dict[str, list[str | int]]] = json.loads(gzip.decompress(raw))
    return data


def answer_help(prog: str, flag: str, io: IO) -> int | None:
    """Print the real ``prog --help``/``--version`` text; None if not known."""
    entry = help_texts().get(prog, {}).get(flag)
    if entry is None:
        return None
    out, err, status = entry
    io.out(str(out))
    io.err(str(err))
    return int(status)
