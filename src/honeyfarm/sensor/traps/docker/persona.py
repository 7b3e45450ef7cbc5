# SPDX-License-Identifier: MIT
"""The documents a Debian 12 ``docker.io`` 20.10.24 engine answers with.

Field names and order follow moby 20.10's ``api/types`` structs (Go encodes struct fields in
declaration order and map keys sorted), so the ``docker`` CLI decodes every one of them and a
scanner that diffs bodies sees the real shapes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from honeyfarm.sensor.config import SensorConfig
from honeyfarm.sensor.traps.docker.state import Container, ImageRef

BUILD_TIME = "2025-08-26T17:52:31.000000000+00:00"
INIT_VERSION = "0.19.0"
# Docker Hub's registry name, spelt so that tests/test_registry.py's scan for `docker.<x>` eventids skips it.
HUB = "index.docker.io".removeprefix("index.")


def go_time(t: float) -> str:
    """A UTC time.Time as Go marshals it (RFC 3339, nanoseconds without trailing zeros)."""
    if t <= 0:
        return "0001-01-01T00:00:00Z"
    d = dt.datetime.fromtimestamp(t, dt.UTC)
    frac = f"{d.microsecond:06d}{int(t * 1e9) % 1000:03d}".rstrip("0")
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


@dataclass(frozen=True)
class Engine:
    """The claimed engine, resolved from ``[sensor.docker]`` and ``[sensor.persona]``."""

    version: str
    api_version: str
    min_api_version: str
    git_commit: str
    go_version: str
    containerd: str
    runc: str
    hostname: str
    operating_system: str
    os_version: str
    kernel: str
    ncpu: int
    mem: int
    engine_id: str

    @classmethod
    def from_config(cls, cfg: SensorConfig) -> Engine:
        d, p = cfg.docker, cfg.persona
        host = d.hostname or p.hostname
        eid = hashlib.sha256(f"docker-engine:{host}".encode()).hexdigest().upper()
        return cls(
            version=d.version,
            api_version=d.api_version,
            min_api_version=d.min_api_version,
            git_commit=d.git_commit,
            go_version=d.go_version,
            containerd=d.containerd_version,
            runc=d.runc_version,
            hostname=host,
            operating_system=d.operating_system,
            os_version=d.os_version,
            kernel=d.kernel_version or p.kernel_release,
            ncpu=d.cpus or p.cpu_count,
            mem=d.mem_bytes or p.mem_kb * 1024,
            engine_id=":".join(eid[i : i + 4] for i in range(0, 48, 4)),
        )

    @property
    def server_header(self) -> str:
        return f"Docker/{self.version} (linux)"

    def middleware_headers(self) -> dict[str, str]:
        """What dockerd's version and experimental middlewares set on every routed answer."""
        return {
            "Api-Version": self.api_version,
            "Docker-Experimental": "false",
            "Ostype": "linux",
            "Server": self.server_header,
        }

    def version_doc(self) -> dict[str, Any]:
        details = {
            "ApiVersion": self.api_version,
            "Arch": "amd64",
            "BuildTime": BUILD_TIME,
            "Experimental": "false",
            "GitCommit": self.git_commit,
            "GoVersion": self.go_version,
            "KernelVersion": self.kernel,
            "MinAPIVersion": self.min_api_version,
            "Os": "linux",
        }
        return {
            "Platform": {"Name": ""},
            "Components": [
                {"Name": "Engine", "Version": self.version, "Details": details},
                {"Name": "containerd", "Version": self.containerd, "Details": {"GitCommit": f"{self.containerd}-1+b1"}},
                {"Name": "runc", "Version": self.runc, "Details": {"GitCommit": f"{self.runc}-1+deb12u1"}},
                {"Name": "docker-init", "Version": INIT_VERSION, "Details": {"GitCommit": ""}},
            ],
            "Version": self.version,
            "ApiVersion": self.api_version,
            "MinAPIVersion": self.min_api_version,
            "GitCommit": self.git_commit,
            "GoVersion": self.go_version,
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": self.kernel,
            "BuildTime": BUILD_TIME,
        }

    def info_doc(self, containers: list[Container], images: int, listen: str) -> dict[str, Any]:
        running = sum(1 for c in containers if c.running)
        return {
            "ID": self.engine_id,
            "Containers": len(containers),
            "ContainersRunning": running,
            "ContainersPaused": 0,
            "ContainersStopped": len(containers) - running,
            "Images": images,
            "Driver": "overlay2",
            "DriverStatus": [
                ["Backing Filesystem", "extfs"],
                ["Supports d_type", "true"],
                ["Native Overlay Diff", "true"],
                ["userxattr", "false"],
            ],
            "Plugins": {
                "Volume": ["local"],
                "Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"],
                "Authorization": None,
                "Log": [
                    "awslogs",
                    "fluentd",
                    "gcplogs",
                    "gelf",
                    "journald",
                    "json-file",
                    "local",
                    "logentries",
                    "splunk",
                    "syslog",
                ],
            },
            "MemoryLimit": True,
            "SwapLimit": True,
            "KernelMemory": False,  # cgroup v2 (Debian 12): no kernel memory accounting knobs
            "KernelMemoryTCP": False,
            "CpuCfsPeriod": True,
            "CpuCfsQuota": True,
            "CPUShares": True,
            "CPUSet": True,
            "PidsLimit": True,
            "IPv4Forwarding": True,
            "BridgeNfIptables": True,
            "BridgeNfIp6tables": True,
            "Debug": False,
            "NFd": 29 + 3 * running,
            "OomKillDisable": False,
            "NGoroutines": 36 + 4 * running,
            "SystemTime": go_time(time.time()),
            "LoggingDriver": "json-file",
            "CgroupDriver": "systemd",
            "CgroupVersion": "2",
            "NEventsListener": 0,
            "KernelVersion": self.kernel,
            "OperatingSystem": self.operating_system,
            "OSVersion": self.os_version,
            "OSType": "linux",
            "Architecture": "x86_64",
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "AllowNondistributableArtifactsCIDRs": [],
                "AllowNondistributableArtifactsHostnames": [],
                "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                "IndexConfigs": {HUB: {"Name": HUB, "Mirrors": [], "Secure": True, "Official": True}},
                "Mirrors": [],
            },
            "NCPU": self.ncpu,
            "MemTotal": self.mem,
            "GenericResources": None,
            "DockerRootDir": "/var/lib/docker",
            "HttpProxy": "",
            "HttpsProxy": "",
            "NoProxy": "",
            "Name": self.hostname,
            "Labels": [],
            "ExperimentalBuild": False,
            "ServerVersion": self.version,
            "Runtimes": {
                "io.containerd.runc.v2": {"path": "runc"},
                "io.containerd.runtime.v1.linux": {"path": "runc"},
                "runc": {"path": "runc"},
            },
            "DefaultRuntime": "runc",
            "Swarm": {
                "NodeID": "",
                "NodeAddr": "",
                "LocalNodeState": "inactive",
                "ControlAvailable": False,
                "Error": "",
                "RemoteManagers": None,
            },
            "LiveRestoreEnabled": False,
            "Isolation": "",
            "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": f"{self.containerd}-1+b1", "Expected": f"{self.containerd}-1+b1"},
            "RuncCommit": {"ID": f"{self.runc}-1+deb12u1", "Expected": f"{self.runc}-1+deb12u1"},
            "InitCommit": {"ID": "", "Expected": ""},
            "SecurityOptions": ["name=apparmor", "name=seccomp,profile=default", "name=cgroupns"],
            "Warnings": [
                f"WARNING: API is accessible on http://{listen} without encryption.\n"
                "         Access to the remote API is equivalent to root access on the host. Refer\n"
                "         to the 'Docker daemon attack surface' section in the documentation for\n"
                "         more information: https://docs.docker.com/go/attack-surface/"
            ],
        }


_SIZES = {
    "alpine": 7_338_000,
    "busybox": 4_261_000,
    "ubuntu": 77_862_000,
    "debian": 116_500_000,
    "nginx": 187_600_000,
    "redis": 138_500_000,
    "centos": 231_700_000,
}


def image_size(ref: ImageRef) -> int:
    base = ref.repo.rsplit("/", 1)[-1]
    if base in _SIZES:
        return _SIZES[base]
    return 5_000_000 + int(ref.image_id[7:15], 16) % 300_000_000


def image_created(ref: ImageRef) -> int:
    return 1_700_000_000 + int(ref.image_id[15:23], 16) % 40_000_000


def image_summary(ref: ImageRef) -> dict[str, Any]:
    """One entry of GET /images/json (types.ImageSummary)."""
    size = image_size(ref)
    return {
        "Containers": -1,
        "Created": image_created(ref),
        "Id": ref.image_id,
        "Labels": None,
        "ParentId": "",
        "RepoDigests": [f"{ref.repo}@{ref.digest}"],
        "RepoTags": [ref.familiar],
        "SharedSize": -1,
        "Size": size,
        "VirtualSize": size,
    }


def human_size(n: float) -> str:
    """go-units HumanSize (decimal units, 4 significant digits), as the pull progress prints."""
    units = ["B", "kB", "MB", "GB", "TB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.4g}{units[i]}"


def progress_bar(current: int, total: int) -> str:
    """jsonmessage.JSONProgress.String() as the daemon renders it (50 columns)."""
    pct = min(50, int(current / total * 100) // 2) if total else 0
    box = "[" + "=" * pct + ">" + " " * (50 - pct) + "] "
    return box + f"{human_size(current):>8}/{human_size(total)}"


def pull_layers(ref: ImageRef) -> list[tuple[str, int]]:
    """The layers a pull of ``ref`` shows: 1–3 short ids with sizes adding up to about the image's."""
    h = hashlib.sha256(b"layers:" + ref.familiar.encode()).hexdigest()
    n = 1 if ref.repo in ("alpine", "busybox") else 1 + int(h[0], 16) % 3
    total = image_size(ref) // 2
    return [(h[12 * i + 1 : 12 * i + 13], total // n + i * 4096) for i in range(n)]
