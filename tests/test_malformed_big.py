# SPDX-License-Identifier: MIT
"""Malformed input at full size, with the default limits: a 10 MB line, binary garbage, wrong types.

Every bad record lands in dead-letter with its reason; every good one is ingested.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lakeutil import query

from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.pipeline import ingest


def _good(i: int) -> bytes:
    rec = {"eventid": "cowrie.login.failed", "timestamp": f"2026-11-01T00:00:{i % 60:02d}.{i:06d}Z",
           "session": f"g{i:06d}", "src_ip": "192.0.2.1", "username": "root", "password": f"pw{i}"}  # fmt: skip
    return json.dumps(rec).encode()


def test_ten_megabyte_line_binary_garbage_and_wrong_types(tmp_path: Path) -> None:
    big_garbage = b"{" + b"A" * (10 * 1024 * 1024) + b"\n"  # 10 MB, not JSON
    big_valid = json.dumps(
        {
            "eventid": "cowrie.command.input",
            "timestamp": "2026-11-01T00:01:00Z",
            "session": "big",
            "input": "x" * (10 * 1024 * 1024),
        }
    ).encode()
    wrong_type = b'{"eventid":"cowrie.login.failed","timestamp":"2026-11-01T00:02:00Z","src_port":"not-a-port"}'
    truncated = _good(999)[:40]
    lines = [_good(0), big_garbage.rstrip(b"\n"), _good(1), os.urandom(4096).replace(b"\n", b"."), _good(2),
             wrong_type, _good(3), truncated, _good(4), big_valid, _good(5)]  # fmt: skip
    src = tmp_path / "cowrie.json"
    src.write_bytes(b"\n".join(lines) + b"\n")
    cfg = Config(geoip=GeoIPConfig(enabled=False))
    res = ingest([str(src)], cfg, tmp_path / "lake", force_format="cowrie")
    assert res.ingested == 7  # six good lines and the valid 10 MB one
    assert res.dead_letter == 4
    dead = query(tmp_path / "lake", "SELECT line, reason, raw_size FROM dead_letter ORDER BY line")
    assert [d[0] for d in dead] == [2, 4, 6, 8]
    assert dead[0][2] == len(big_garbage) - 1 and "JSON" in dead[0][1]
    assert all(d[1] for d in dead)  # every one says why
    assert "src_port" in dead[2][1]
    big = query(tmp_path / "lake", "SELECT length(command) FROM events WHERE session = 'big'")
    assert big == [(10 * 1024 * 1024,)]
