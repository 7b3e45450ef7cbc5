# SPDX-License-Identifier: MIT
"""``honeyfarm ingest --follow`` on a log that is rotated and copy-truncated while it is read.

A writer appends Cowrie lines to ``cowrie.json`` while a real ``ingest --follow``
process polls ``cowrie.json*``; the file is renamed away (logrotate's default),
recreated, later copy-truncated (T-Pot's way), and written again. After SIGTERM
the lake holds every line exactly once.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from lakeutil import cli_env, lake_counts, query, wait_for_events


def _line(i: int) -> str:
    return json.dumps(
        {
            "eventid": "cowrie.login.failed",
            "timestamp": f"2026-11-20T10:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z",
            "session": f"s{i:08x}",
            "src_ip": "198.51.100.9",
            "src_port": 40000 + i % 20000,
            "username": "root",
            "password": f"follow-{i}",
            "sensor": "rot",
        }
    )


def _append(path: Path, start: int, n: int) -> int:
    with path.open("a", encoding="utf-8") as fh:
        for i in range(start, start + n):
            fh.write(_line(i) + "\n")
    return start + n


def test_follow_survives_rename_rotation_and_copytruncate(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    live = logs / "cowrie.json"
    lake = tmp_path / "lake"
    i = _append(live, 0, 300)
    cmd = [sys.executable, "-m", "honeyfarm.cli", "ingest", str(logs / "cowrie.json*"), "--lake", str(lake)]
    proc = subprocess.Popen([*cmd, "--follow", "--interval", "0.3"], env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_for_events(lake, 300, proc)
        i = _append(live, i, 200)  # more lines, then logrotate's rename while the follower may be mid-read
        live.rename(logs / "cowrie.json.1")
        i = _append(live, i, 150)  # a new file under the old name
        wait_for_events(lake, 650, proc)
        i = _append(live, i, 100)
        # copytruncate: copy away, then cut the live file to zero and keep writing into it
        shutil.copyfile(live, logs / "cowrie.json.2")
        with live.open("r+b") as fh:
            fh.truncate(0)
        i = _append(live, i, 120)
        wait_for_events(lake, i, proc)
        time.sleep(1.0)  # a few more polls: nothing more may arrive
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert lake_counts(lake) == (i, i)  # every line once: none lost, none twice
    dead = query(lake, "SELECT count(*) FROM dead_letter")[0][0]
    assert dead == 0
