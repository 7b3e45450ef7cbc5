# SPDX-License-Identifier: MIT
"""Small helpers shared by the test files (not collected: no test_ prefix)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
    for k in (
        "HONEYFARM_LAKE",
        "HONEYFARM_CONFIG",
        "FORCE_COLOR",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "TTY_COMPATIBLE",
        "VT_API_KEY",
    ):
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


def lake_counts(lake: Path) -> tuple[int, int]:
    """(events, distinct passwords) in the lake; (0, 0) before its first commit."""
    if not (lake / "events").exists():
        return (0, 0)
    row = query(lake, "SELECT count(*), count(DISTINCT password) FROM events")[0]
    return int(row[0]), int(row[1])


def wait_for_events(lake: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Until the lake holds ``n`` events (bounded); fails if ``proc`` (an ``ingest --follow``) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "ingest --follow exited early"
        try:
            if lake_counts(lake)[0] >= n:
                return
        except Exception:  # the lake may be mid-commit; ask again
            pass
        time.sleep(0.2)
    raise AssertionError(f"lake did not reach {n} events in {timeout} s (has {lake_counts(lake)})")


def z(t: dt.datetime) -> str:
    """``t`` as Cowrie writes timestamps (UTC, ``Z``)."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def cowrie(ts: str, i: int, session: str = "dead0001") -> dict[str, Any]:
    """A Cowrie command event at ``ts``; ``i`` makes it distinct."""
    return {"timestamp": ts, "eventid": "cowrie.command.input", "sensor": "cow-t", "session": session,
            "src_ip": "8.8.4.4", "input": f"echo {i}"}  # fmt: skip


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "1m") -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``where`` (a full disk on demand); skips without root; unmounted after."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
