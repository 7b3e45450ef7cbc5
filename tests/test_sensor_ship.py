# SPDX-License-Identifier: MIT
"""``[ship] enabled = true``: the sensor itself ships its closed spool files and the files it caught."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
from pathlib import Path

import asyncssh
from payloadserver import serve_payload
from sensorutil import run_sensor

PAYLOAD = b"#!/bin/sh\necho shipped by the sensor itself\n"


async def _login(port: int, payload_port: int) -> None:
    async with asyncssh.connect(
        "127.0.0.1", port, username="root", password="ship-me", known_hosts=None, client_keys=None,
        preferred_auth="password", connect_timeout=10,
    ) as conn:  # fmt: skip
        await conn.run("uname -a", check=False, timeout=10)
        await conn.run(f"wget http://127.0.0.1:{payload_port}/p.sh", check=False, timeout=20)


def test_sensor_ships_its_closed_spool_files(tmp_path: Path) -> None:
    store = tmp_path / "objects"
    overrides = {
        "sensor.spool": {"rotate_seconds": 0.5},
        "sensor.downloads": {"allow_loopback": True},
        "ship": {"enabled": True, "local_dir": str(store), "poll_seconds": 0.2, "delete_after_ship": True},
    }
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    with run_sensor(tmp_path, overrides) as s, serve_payload(PAYLOAD) as payload_port:
        asyncio.run(_login(s.ssh_port, payload_port))
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
        # the file the shell fetched went up too, raw, named by its content; the sensor keeps its own copy
        shipped = store / "files" / "sha256" / sha[:2] / sha
        while not shipped.exists() and time.monotonic() < deadline + 10:
            time.sleep(0.2)
        assert shipped.read_bytes() == PAYLOAD
        assert (s.spool / "downloads" / sha[:2] / sha).read_bytes() == PAYLOAD
