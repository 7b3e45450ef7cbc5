# SPDX-License-Identifier: MIT
"""A real S3 server for tests: single-node Ceph (Debian's Pacific) with radosgw, on loopback.

Follows ``../shared/peers/start-ceph-rgw.sh``: one monitor, one memstore OSD
(RAM only), no cephx, radosgw's beast frontend on a free 127.0.0.1 port, and
an S3 user with a fixed key pair. About 20 s to the first request. The
packages come from ``scripts/install-system-deps.sh``; without them (or without
root) the tests that need S3 skip with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sensorutil import free_port

ACCESS_KEY = "HPACCESSKEY"
SECRET_KEY = "HPSECRETKEY0123456789"
BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool", "ceph-authtool")

CONF = """\
[global]
fsid = {fsid}
mon_host = v1:127.0.0.1:{mon_port}
mon_initial_members = a
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_autoscale_mode = off
osd_pool_default_pg_num = 8
mon_max_pg_per_osd = 1000
osd_crush_chooseleaf_type = 0
run_dir = {d}/run
admin_socket = {d}/run/$name.asok
log_file = {d}/log/$name.log
pid_file = {d}/run/$name.pid
ms_bind_ipv4 = true
ms_bind_ipv6 = false
[mon]
mon_data = {d}/mon.$id
[osd]
osd_data = {d}/osd.$id
osd_objectstore = memstore
memstore_device_bytes = 1073741824
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw_data = {d}/rgw.a
"""


def ceph_unavailable() -> str | None:
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        return f"Ceph is not installed ({', '.join(missing)}; scripts/install-system-deps.sh installs it)"
    if os.geteuid() != 0:
        return "single-node Ceph needs root"
    return None


@dataclass
class RGW:
    endpoint: str
    access_key: str
    secret_key: str
    workdir: Path
    env: dict[str, str]

    def pid(self, name: str) -> int | None:
        p = self.workdir / "run" / f"{name}.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(p.read_text().strip())
        return None

    def stop_rgw(self) -> None:
        """Stop radosgw only (the S3 endpoint goes down; the cluster stays)."""
        _kill(self.pid("client.rgw.a"))

    def start_rgw(self) -> None:
        subprocess.run(["radosgw", "-n", "client.rgw.a"], env=self.env, check=True, timeout=60)
        _wait_http(self.endpoint, 60)


def _kill(pid: int | None, timeout: float = 15.0) -> None:
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (403 for an anonymous list is fine)
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"radosgw did not answer at {url} within {timeout} s")


@contextlib.contextmanager
def run_ceph_rgw(workdir: Path) -> Iterator[RGW]:
    """Start it (one retry in a fresh directory: a first start has been seen to fail once)."""
    try:
        ctx = _ceph(workdir / "try1")
        rgw = ctx.__enter__()
    except (subprocess.SubprocessError, TimeoutError):
        ctx = _ceph(workdir / "try2")
        rgw = ctx.__enter__()
    try:
        yield rgw
    finally:
        ctx.__exit__(None, None, None)


@contextlib.contextmanager
def _ceph(workdir: Path) -> Iterator[RGW]:
    d = workdir
    for sub in ("run", "log", "mon.a", "osd.0", "rgw.a"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    mon_port, rgw_port = free_port(), free_port()
    fsid = str(uuid.uuid4())
    conf = d / "ceph.conf"
    conf.write_text(CONF.format(fsid=fsid, mon_port=mon_port, rgw_port=rgw_port, d=d), encoding="utf-8")
    env = {**os.environ, "CEPH_CONF": str(conf)}

    def run(*args: str, timeout: float = 60) -> None:
        subprocess.run(list(args), env=env, check=True, timeout=timeout, capture_output=True)

    rgw = RGW(f"http://127.0.0.1:{rgw_port}", ACCESS_KEY, SECRET_KEY, d, env)
    try:
        run("monmaptool", "--create", "--add", "a", f"v1:127.0.0.1:{mon_port}", "--fsid", fsid, str(d / "monmap"))
        run(
            "ceph-authtool",
            "--create-keyring",
            str(d / "mon.keyring"),
            "--gen-key",
            "-n",
            "mon.",
            "--cap",
            "mon",
            "allow *",
        )
        run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(d / "monmap"), "--keyring", str(d / "mon.keyring"))
        run("ceph-mon", "-i", "a")
        time.sleep(2)
        run("ceph", "osd", "create")
        run("ceph-osd", "-i", "0", "--mkfs")
        run("ceph", "osd", "crush", "add-bucket", "localhost", "host")
        run("ceph", "osd", "crush", "move", "localhost", "root=default")
        run("ceph", "osd", "crush", "add", "osd.0", "1.0", "host=localhost")
        run("ceph-osd", "-i", "0")
        time.sleep(3)
        run("radosgw", "-n", "client.rgw.a")
        _wait_http(rgw.endpoint, 90)
        run(
            "radosgw-admin", "user", "create", "--uid=hp", "--display-name=hp",
            f"--access-key={ACCESS_KEY}", f"--secret={SECRET_KEY}",
        )  # fmt: skip
        yield rgw
    finally:
        # Order matters: radosgw first, then the OSD, then the monitor.
        _kill(rgw.pid("client.rgw.a"))
        _kill(rgw.pid("osd.0"))
        _kill(rgw.pid("mon.a"))
