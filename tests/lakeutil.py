# SPDX-License-Identifier: MIT
"""Small helpers shared by the test files (not collected: no test_ prefix)."""

from __future__ import annotations

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
