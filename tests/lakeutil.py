# SPDX-License-Identifier: MIT
"""Small helpers shared by the test files (not collected: no test_ prefix)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from honeyfarm.lake.store import Lake


def query(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over the lake's views, on a connection closed afterwards."""
    con = Lake(lake).connect()
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no lake/config/colour settings leaking in, a wide terminal."""
    env = dict(os.environ)
    for k in ("HONEYFARM_LAKE", "HONEYFARM_CONFIG", "FORCE_COLOR", "NO_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE"):
        env.pop(k, None)
    env["COLUMNS"] = "250"
    env.update(extra)
    return env


def hf(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``honeyfarm ARGS`` as a subprocess (``python -m honeyfarm.cli``), with :func:`cli_env`."""
    return subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", *args],
        cwd=cwd,
        env=env if env is not None else cli_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
