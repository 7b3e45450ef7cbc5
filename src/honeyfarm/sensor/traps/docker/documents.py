# SPDX-License-Identifier: MIT
"""A fake container as dockerd 20.10 describes it: ``docker ps`` rows, ``docker inspect``, exec inspect.

Fields in the order of moby's ``types.Container`` / ``types.ContainerJSON`` (Go writes struct
fields in declaration order); only what a client or a bot reads is filled from the kept create
body, the rest holds the values a fresh container on Debian's docker.io has.
"""

from __future__ import annotations

import hashlib
from typing import Any

from honeyfarm.sensor.traps.docker.persona import Engine, go_time
from honeyfarm.sensor.traps.docker.state import Container, Exec


def _status_text(c: Container, now: float) -> str:
    if c.running:
        return f"Up {_human_duration(now - c.started)}"
    if c.started:
        return f"Exited ({c.exit_code}) {_human_duration(now - c.finished)} ago"
    return "Created"


def _human_duration(s: float) -> str:
    """go-units HumanDuration, as `docker ps` prints it."""
    if s < 1:
        return "Less than a second"
    if s < 2:
        return "1 second"
    if s < 60:
        return f"{int(s)} seconds"
    m = int(s / 60)
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = int(s / 3600 + 0.5)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    return f"{int(s / 86400)} days"


def container_summary(c: Container, now: float) -> dict[str, Any]:
    """One entry of GET /containers/json (types.Container)."""
    cfg = c.config
    return {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": c.image,
        "ImageID": c.ref.image_id,
        "Command": " ".join(c.command)[:1024],
        "Created": int(c.created),
        "Ports": [],
        "Labels": {},
        "State": "running" if c.running else ("exited" if c.started else "created"),
        "Status": _status_text(c, now),
        "HostConfig": {"NetworkMode": cfg.get("NetworkMode") or "default"},
        "NetworkSettings": {"Networks": {"bridge": _endpoint(c)}},
        "Mounts": [_mount(b) for b in cfg.get("Binds", [])],
    }


def _ip(c: Container) -> str:
    return f"172.17.0.{2 + int(c.id[:2], 16) % 250}" if c.running else ""


def _endpoint(c: Container) -> dict[str, Any]:
    ip = _ip(c)
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": None,
        "NetworkID": hashlib.sha256(b"bridge").hexdigest(),
        "EndpointID": hashlib.sha256(c.id.encode()).hexdigest() if ip else "",
        "Gateway": "172.17.0.1" if ip else "",
        "IPAddress": ip,
        "IPPrefixLen": 16 if ip else 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": ("02:42:ac:11:00:%02x" % (2 + int(c.id[:2], 16) % 250)) if ip else "",
        "DriverOpts": None,
    }


def _mount(bind: str) -> dict[str, Any]:
    parts = bind.split(":")
    src, dst = parts[0], parts[1] if len(parts) > 1 else parts[0]
    rw = not (len(parts) > 2 and "ro" in parts[2].split(","))
    return {
        "Type": "bind",
        "Source": src,
        "Destination": dst,
        "Mode": parts[2] if len(parts) > 2 else "",
        "RW": rw,
        "Propagation": "rprivate",
    }


def container_inspect(c: Container, engine: Engine) -> dict[str, Any]:
    """GET /containers/{id}/json (types.ContainerJSON), the fields the CLI and bots read."""
    cfg = c.config
    running = c.running
    return {
        "Id": c.id,
        "Created": go_time(c.created),
        "Path": (c.command or [""])[0],
        "Args": c.command[1:],
        "State": {
            "Status": "running" if running else ("exited" if c.started else "created"),
            "Running": running,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "Dead": False,
            "Pid": c.pid if running else 0,
            "ExitCode": c.exit_code,
            "Error": "",
            "StartedAt": go_time(c.started),
            "FinishedAt": go_time(c.finished),
        },
        "Image": c.ref.image_id,
        "ResolvConfPath": f"/var/lib/docker/containers/{c.id}/resolv.conf",
        "HostnamePath": f"/var/lib/docker/containers/{c.id}/hostname",
        "HostsPath": f"/var/lib/docker/containers/{c.id}/hosts",
        "LogPath": f"/var/lib/docker/containers/{c.id}/{c.id}-json.log",
        "Name": "/" + c.name,
        "RestartCount": 0,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "" if cfg.get("Privileged") else "docker-default",
        "ExecIDs": None,
        "HostConfig": {
            "Binds": cfg.get("Binds") or None,
            "ContainerIDFile": "",
            "LogConfig": {"Type": "json-file", "Config": {}},
            "NetworkMode": cfg.get("NetworkMode") or "default",
            "PortBindings": {},
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
            "AutoRemove": bool(cfg.get("AutoRemove")),
            "VolumeDriver": "",
            "VolumesFrom": None,
            "CapAdd": cfg.get("CapAdd") or None,
            "CapDrop": None,
            "CgroupnsMode": "private",
            "Dns": [],
            "DnsOptions": [],
            "DnsSearch": [],
            "ExtraHosts": None,
            "GroupAdd": None,
            "IpcMode": "private",
            "Cgroup": "",
            "Links": None,
            "OomScoreAdj": 0,
            "PidMode": cfg.get("PidMode") or "",
            "Privileged": bool(cfg.get("Privileged")),
            "PublishAllPorts": False,
            "ReadonlyRootfs": False,
            "SecurityOpt": None,
            "UTSMode": "",
            "UsernsMode": "",
            "ShmSize": 67108864,
            "Runtime": "runc",
            "ConsoleSize": [0, 0],
            "Isolation": "",
        },
        "GraphDriver": {
            "Data": {
                "MergedDir": f"/var/lib/docker/overlay2/{c.id}/merged",
                "UpperDir": f"/var/lib/docker/overlay2/{c.id}/diff",
                "WorkDir": f"/var/lib/docker/overlay2/{c.id}/work",
            },
            "Name": "overlay2",
        },
        "Mounts": [_mount(b) for b in cfg.get("Binds", [])],
        "Config": {
            "Hostname": cfg.get("Hostname") or c.id[:12],
            "Domainname": "",
            "User": cfg.get("User") or "",
            "AttachStdin": bool(cfg.get("AttachStdin")),
            "AttachStdout": bool(cfg.get("AttachStdout")),
            "AttachStderr": bool(cfg.get("AttachStderr")),
            "Tty": bool(cfg.get("Tty")),
            "OpenStdin": bool(cfg.get("OpenStdin")),
            "StdinOnce": bool(cfg.get("StdinOnce")),
            "Env": cfg.get("Env") or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cfg.get("Cmd") or None,
            "Image": c.image,
            "Volumes": None,
            "WorkingDir": cfg.get("WorkingDir") or "",
            "Entrypoint": cfg.get("Entrypoint") or None,
            "OnBuild": None,
            "Labels": {},
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": hashlib.sha256(b"sandbox:" + c.id.encode()).hexdigest() if running else "",
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": {},
            "SandboxKey": f"/var/run/docker/netns/{c.id[:12]}" if running else "",
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": _endpoint(c)["EndpointID"],
            "Gateway": _endpoint(c)["Gateway"],
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": _ip(c),
            "IPPrefixLen": 16 if running else 0,
            "IPv6Gateway": "",
            "MacAddress": _endpoint(c)["MacAddress"],
            "Networks": {"bridge": _endpoint(c)},
        },
    }


def exec_inspect(e: Exec) -> dict[str, Any]:
    """GET /exec/{id}/json (types.ContainerExecInspect + backend fields)."""
    return {
        "ID": e.id,
        "Running": e.running,
        "ExitCode": e.exit_code,
        "ProcessConfig": {
            "tty": e.tty,
            "entrypoint": (e.cmd or [""])[0],
            "arguments": e.cmd[1:],
            "privileged": False,
        },
        "OpenStdin": e.attach_stdin,
        "OpenStderr": True,
        "OpenStdout": True,
        "CanRemove": False,
        "ContainerID": e.container.id,
        "DetachKeys": "",
        "Pid": e.pid,
    }
