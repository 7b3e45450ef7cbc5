# SPDX-License-Identifier: MIT
"""``[ship] enabled = true``: the sensor itself ships its closed spool files (local object store)."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path

import asyncssh
from sensorutil import run_sensor


async def _login(port: int) -> None:
    async with asyncssh.connect(
        "127.0.0.1", port, username="root", password="ship-me", known_hosts=None, client_keys=None,
        preferred_auth="password", connect_timeout=10,
    ) as conn:  # fmt: skip
        await conn.run("uname -a", check=False, timeout=10)


def test_sensor_ships_its_closed_spool_files(tmp_path: Path) -> None:
    store = tmp_path / "objects"
    overrides = {
        "sensor.spool": {"rotate_seconds": 0.5},
        "ship": {"enabled": True, "local_dir": str(store), "poll_seconds": 0.2, "delete_after_ship": True},
    }
    with run_sensor(tmp_path, overrides) as s:
        asyncio.run(_login(s.ssh_port))
        deadline = time.monotonic() + 20
        found: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            found = [
                json.loads(line)
                for obj in store.rglob("*.jsonl.gz")
                for line in gzip.decompress(obj.read_bytes()).splitlines()
                if line.strip()
            ]
            if any(e.get("password") == "ship-me" for e in found):
                break
            time.sleep(0.2)
        assert any(e.get("eventid") == "cowrie.login.success" and e.get("password") == "ship-me" for e in found)
        keys = [p.relative_to(store).as_posix() for p in store.rglob("*.jsonl.gz")]
        assert all(k.startswith("raw/sensor=test-sensor/date=") for k in keys), keys
        # shipped files left the spool; the open one (.part) never ships
        assert not any(p.name.endswith(".part.gz") for p in store.rglob("*"))
