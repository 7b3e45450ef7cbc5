# SPDX-License-Identifier: MIT
"""A real S3 server for tests: single-node Ceph (Debian's Pacific) with radosgw, on loopback.

Follows ``../shared/peers/start-ceph-rgw.sh``: one monitor, one memstore OSD
(RAM only), no cephx, radosgw's beast frontend on a free 127.0.0.1 port, and
an S3 user with a fixed key pair. About 20 s to the first request. The
packages come from ``scripts/install-system-deps.sh``; without them (or without
root) the tests that need S3 skip with the reason.

``ceph-osd -i 0`` used to exit 250 now and then with ``mon_cmd_maybe_osd_create
fail: 'wrong fsid'``: at start the OSD sets its CRUSH device class and location
by monitor commands, and one could leave before its monitor client had the
monmap, carrying a zero fsid (the monitor's log says ``handle_command on fsid
00000000-…``). The OSD no longer sends them (``osd_*_update_on_start = false``;
the OSD is placed in CRUSH by hand). Beyond that, every start gets its own
fsid, ports and directory; the monitor must answer ``ceph fsid`` with *this*
cluster's fsid before the OSD is created; the OSD start is retried once, and
the OSD must be up before radosgw starts. Each retry is logged (logger
``cephutil``) with the failing command's stderr and the tail of the daemon's log.
"""

from __future__ import annotations

import contextlib
import json
import logging
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

log = logging.getLogger("cephutil")

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
# No monitor commands while the OSD starts: it sent them before it had the monmap, with a zero fsid,
# and died ('wrong fsid', exit 250) now and then. Its CRUSH place is set by hand below; memstore has no class.
osd_crush_update_on_start = false
osd_class_update_on_start = false
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


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} not written)"


def _failure(exc: BaseException) -> str:
    """One readable account of a failed step: the command, its exit status and its stderr."""
    if isinstance(exc, subprocess.CalledProcessError):
        err = (exc.stderr or b"").decode("utf-8", "replace").strip()
        return f"`{' '.join(map(str, exc.cmd))}` exited {exc.returncode}: {err[-800:]}"
    return str(exc)


@contextlib.contextmanager
def run_ceph_rgw(workdir: Path) -> Iterator[RGW]:
    """Start it; once more from scratch (new fsid, ports and directory) if the first start fails."""
    try:
        ctx = _ceph(workdir / "try1")
        rgw = ctx.__enter__()
    except (subprocess.SubprocessError, TimeoutError) as exc:
        log.warning("Ceph start in %s failed, starting a fresh cluster in %s: %s", workdir / "try1",
                    workdir / "try2", _failure(exc))  # fmt: skip
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

    def run(*args: str, timeout: float = 60) -> str:
        done = subprocess.run(list(args), env=env, check=True, timeout=timeout, capture_output=True)
        return done.stdout.decode("utf-8", "replace")

    def wait_mon(timeout: float = 90) -> None:
        """Until *our* monitor answers: ``ceph fsid`` prints this cluster's fsid (a stray monitor would not)."""
        deadline, last = time.monotonic() + timeout, "no answer yet"
        while time.monotonic() < deadline:
            try:
                got = run("ceph", "--connect-timeout", "10", "fsid", timeout=30).strip()
            except (subprocess.SubprocessError, OSError) as exc:
                last = _failure(exc)
            else:
                if got == fsid:
                    return
                last = f"a monitor with fsid {got} answers, not ours ({fsid})"
            time.sleep(1)
        raise TimeoutError(f"ceph-mon did not answer within {timeout} s: {last}\n{_tail(d / 'log' / 'mon.a.log')}")

    def wait_osd_up(timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.SubprocessError, ValueError):
                stat = json.loads(run("ceph", "--connect-timeout", "10", "osd", "stat", "-f", "json", timeout=30))
                if stat.get("num_up_osds", stat.get("osdmap", {}).get("num_up_osds")) == 1:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"osd.0 was not up within {timeout} s\n{_tail(d / 'log' / 'osd.0.log')}")

    def start_osd() -> None:
        try:
            run("ceph-osd", "-i", "0")
        except subprocess.CalledProcessError as exc:
            log.warning("%s; osd.0.log ends:\n%s\nretrying `ceph-osd -i 0` once after the monitor answers",
                        _failure(exc), _tail(d / "log" / "osd.0.log"))  # fmt: skip
            _kill(rgw.pid("osd.0"))
            wait_mon()
            run("ceph-osd", "-i", "0")

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
        wait_mon()
        run("ceph", "osd", "create")
        run("ceph-osd", "-i", "0", "--mkfs")
        run("ceph", "osd", "crush", "add-bucket", "localhost", "host")
        run("ceph", "osd", "crush", "move", "localhost", "root=default")
        run("ceph", "osd", "crush", "add", "osd.0", "1.0", "host=localhost")
        start_osd()
        wait_osd_up()
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
