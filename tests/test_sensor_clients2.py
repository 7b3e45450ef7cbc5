# SPDX-License-Identifier: MIT
"""Real clients against the sensor, part 2: telnet, hydra/medusa over Telnet, one uid per user
over both protocols, download capture, connection and garbage floods, and the road from the
spool to ``honeyfarm ingest`` / ``report`` / ``query``.

Helpers and the module sensor's settings come from ``test_sensor_clients.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.server
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from sensorutil import HONEYFARM, SensorProc, run_sensor
from test_sensor_clients import (
    CLIENT_OVERRIDES,
    Events,
    Spawn,
    ids,
    one,
    run,
    skip_unless,
    ssh_argv,
    unique_pw,
    wait_session,
)


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    with run_sensor(tmp_path_factory.mktemp("clients2"), CLIENT_OVERRIDES) as s:
        yield s


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def telnet_login(sp: SensorProc, user: str, password: str) -> Spawn:
    """The real telnet client, logged in (or not: the caller checks what came back)."""
    cli = Spawn(["telnet", "127.0.0.1", str(sp.telnet_port)])
    cli.expect("web-01 login: ")
    cli.send(user + "\n")
    cli.expect("Password: ")
    cli.send(password + "\n")
    return cli


def telnet_run(sp: SensorProc, user: str, password: str, command: str) -> str:
    cli = telnet_login(sp, user, password)
    try:
        prompt = "# " if user == "root" else "$ "
        cli.expect(prompt)
        cli.send(command + "\n")
        out = cli.expect(prompt)
        cli.send("exit\n")
        cli.expect("logout")
    finally:
        cli.close()
    return out


def new_sessions(sp: SensorProc, before: set[str], protocol: str) -> Events:
    evs = sp.events()
    sids = {e["session"] for e in evs if e["eventid"] == "cowrie.session.connect" and e["protocol"] == protocol}
    return [e for e in evs if e.get("session") in sids - before]


def sessions(sp: SensorProc) -> set[str]:
    return {str(e["session"]) for e in sp.events() if "session" in e}


def wait_all_closed(sp: SensorProc, before: set[str], timeout: float = 30) -> None:
    def ok(evs: Events) -> bool:
        opened = {e["session"] for e in evs if e["eventid"] == "cowrie.session.connect"} - before
        shut = {e["session"] for e in evs if e["eventid"] == "cowrie.session.closed"}
        return bool(opened) and opened <= shut

    sp.wait_for(ok, timeout)


def creds(evs: Events, eventid: str) -> list[tuple[str, str]]:
    return [(e["username"], e["password"]) for e in evs if e["eventid"] == eventid]


# --- 9. telnet -----------------------------------------------------------------------


@skip_unless("telnet")
def test_telnet_client_login_and_busybox(sensor: SensorProc) -> None:
    pw = unique_pw()
    cli = Spawn(["telnet", "127.0.0.1", str(sensor.telnet_port)])
    try:
        # inetutils-telnetd's banner (uname and the client's name), not /etc/issue.net
        assert "\nLinux 6.1.0-28-cloud-amd64 (localhost) (pts/" in cli.expect("web-01 login: ")
        cli.send("root\n")
        cli.expect("Password: ")
        cli.send("root\n")  # denied by the userdb
        cli.expect("Login incorrect")
        cli.expect("web-01 login: ")
        cli.send("root\n")
        cli.expect("Password: ")
        cli.send(pw + "\n")
        cli.expect("root@web-01:~# ")
        cli.send("/bin/busybox ECCHI\n")
        # Debian 12 cloud images ship no BusyBox (the persona's package list has none): bash's answer.
        assert "-bash: /bin/busybox: No such file or directory" in cli.expect("root@web-01:~# ")
        cli.send("exit\n")
        cli.expect("logout")
    finally:
        rc = cli.close()
    assert rc == 0
    assert "Connection closed by foreign host." in cli.text

    evs = wait_session(sensor, pw)
    assert {e["protocol"] for e in evs} == {"telnet"}
    assert creds(evs, "cowrie.login.failed") == [("root", "root")]
    assert creds(evs, "cowrie.login.success") == [("root", pw)]
    assert [e["command"] for e in evs if e["eventid"] == "cowrie.command.input"] == ["/bin/busybox ECCHI", "exit"]
    assert one(evs, "cowrie.log.closed")["ttylog"] == f"tty/{evs[0]['session']}.cast"
    assert one(evs, "cowrie.session.closed")["duration"] > 0


TELNET_USERS = ["admin", "zroot"]


@pytest.fixture(scope="module")
def iot_sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    """The ``busybox`` persona: hydra 9.4 and medusa 2.2 never reach the ``login:`` of the real
    inetutils-telnetd (nor of the Debian trap, byte for byte the same; ``test_diff_telnetd``),
    but brute-force BusyBox telnetd, the Telnet they meet on routers."""
    over = {**CLIENT_OVERRIDES, "sensor.persona": {"flavor": "busybox"}, "sensor.ssh": {"enabled": False}}
    with run_sensor(tmp_path_factory.mktemp("clients2-iot"), over) as s:
        yield s


@skip_unless("hydra")
def test_hydra_telnet_usernames_are_exact(iot_sensor: SensorProc, tmp_path: Path) -> None:
    sensor = iot_sensor
    passwords = [unique_pw("w1"), "admin2024", unique_pw("w2")]
    (tmp_path / "users").write_text("\n".join(TELNET_USERS) + "\n")
    (tmp_path / "passwords").write_text("\n".join(passwords) + "\n")
    before = sessions(sensor)
    # One task per pair: hydra 9.4 itself garbles a second pair sent on the same connection
    # when the answer is slow (it skips waiting for "Password:"), which no server can undo.
    argv = ["hydra", "-L", "users", "-P", "passwords", "-t", "6", "-I", f"telnet://127.0.0.1:{sensor.telnet_port}"]
    res = run(argv, 180, cwd=tmp_path)
    found = re.findall(r"\[telnet\] host: 127\.0\.0\.1\s+login: (\S+)\s+password: (\S+)", res.stdout)
    assert found == [("admin", "admin2024")], res.stdout + res.stderr
    wait_all_closed(sensor, before)
    evs = new_sessions(sensor, before, "telnet")
    tried = creds(evs, "cowrie.login.failed") + creds(evs, "cowrie.login.success")
    # Cowrie logs "dmin" / "root" here: the first byte after option negotiation is lost.
    assert {u for u, _ in tried} == set(TELNET_USERS), tried
    assert creds(evs, "cowrie.login.success") == [("admin", "admin2024")]
    assert sorted(p for u, p in creds(evs, "cowrie.login.failed") if u == "zroot") == sorted(passwords)
    assert {p for u, p in tried if u == "admin"} <= set(passwords)


@skip_unless("medusa")
def test_medusa_telnet_usernames_are_exact(iot_sensor: SensorProc, tmp_path: Path) -> None:
    sensor = iot_sensor
    passwords = [unique_pw("m1"), "admin2024", unique_pw("m2")]
    (tmp_path / "users").write_text("\n".join(TELNET_USERS) + "\n")
    (tmp_path / "passwords").write_text("\n".join(passwords) + "\n")
    before = sessions(sensor)
    argv = ["medusa", "-h", "127.0.0.1", "-n", str(sensor.telnet_port), "-U", "users", "-P", "passwords"]
    res = run([*argv, "-M", "telnet", "-t", "6"], 180, cwd=tmp_path)
    assert "ACCOUNT FOUND: [telnet] Host: 127.0.0.1 User: admin Password: admin2024 [SUCCESS]" in res.stdout, res.stdout
    assert res.stdout.count("ACCOUNT FOUND") == 1
    wait_all_closed(sensor, before)
    evs = new_sessions(sensor, before, "telnet")
    tried = creds(evs, "cowrie.login.failed") + creds(evs, "cowrie.login.success")
    assert {u for u, _ in tried} == set(TELNET_USERS), tried
    assert creds(evs, "cowrie.login.success") == [("admin", "admin2024")]
    assert sorted(p for u, p in creds(evs, "cowrie.login.failed") if u == "zroot") == sorted(passwords)


# --- 10. uids ----------------------------------------------------------------------------


@skip_unless("ssh", "sshpass", "telnet")
def test_same_uid_over_ssh_and_telnet(sensor: SensorProc) -> None:
    def uid_of(out: str, name: str) -> int:
        m = re.search(rf"uid=(\d+)\({name}\) gid=(\d+)", out)
        assert m, out
        return int(m.group(1))

    res = run(ssh_argv(sensor, unique_pw(), cmd="id", user="newuser7"))
    assert res.returncode == 0, res.stderr
    over_ssh = uid_of(res.stdout, "newuser7")
    over_telnet = uid_of(telnet_run(sensor, "newuser7", unique_pw(), "id"), "newuser7")
    assert over_ssh == over_telnet >= 1001
    again = run(ssh_argv(sensor, unique_pw(), cmd="id; echo $HOME", user="newuser7"))
    assert uid_of(again.stdout, "newuser7") == over_ssh
    assert "/home/newuser7" in again.stdout

    res = run(ssh_argv(sensor, "admin2024", cmd="id", user="admin"))
    assert uid_of(res.stdout, "admin") == 1000
    assert uid_of(telnet_run(sensor, "admin", "admin2024", "id"), "admin") == 1000
    accounts = json.loads((sensor.spool / "state" / "accounts.json").read_text())
    assert accounts["newuser7"] == over_ssh
    assert "admin" not in accounts  # a persona user keeps its fixed uid


# --- 11. downloads -----------------------------------------------------------------------


class _Recorder(http.server.SimpleHTTPRequestHandler):
    seen: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def http_server(root: Path) -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    handler: type[_Recorder] = type("Handler", (_Recorder,), {"seen": seen})

    def factory(*args: Any) -> http.server.SimpleHTTPRequestHandler:
        return handler(*args, directory=str(root))

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield srv.server_address[1], seen
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


@skip_unless("ssh", "sshpass")
def test_wget_and_curl_downloads_are_captured(sensor: SensorProc, tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    blobs = {"f.bin": os.urandom(50_000), "g.bin": os.urandom(12_345)}
    for name, data in blobs.items():
        (www / name).write_bytes(data)
    sha = {n: hashlib.sha256(d).hexdigest() for n, d in blobs.items()}
    pw = unique_pw()
    with http_server(www) as (port, seen):
        base = f"http://127.0.0.1:{port}"
        cmd = f"wget {base}/f.bin; curl -o g {base}/g.bin; wget {base}/nope.bin; wget http://10.255.255.1/x; ls -l"
        res = run(ssh_argv(sensor, pw, cmd=cmd), timeout=90)
        evs = wait_session(sensor, pw)
    assert "'f.bin' saved [50000/50000]" in res.stderr.replace("‘", "'").replace("’", "'")
    assert "ERROR 404: Not Found." in res.stderr
    assert re.search(r"\b12345\b.* g\n", res.stdout), res.stdout  # curl -o g wrote to the session's overlay
    assert sorted(seen) == ["/f.bin", "/g.bin", "/nope.bin"]

    got = {e["url"]: e for e in evs if e["eventid"] == "cowrie.session.file_download"}
    assert set(got) == {f"{base}/f.bin", f"{base}/g.bin"}
    for name, data in blobs.items():
        ev = got[f"{base}/{name}"]
        assert (ev["sha256"], ev["size"]) == (sha[name], len(data))
        assert (sensor.spool / "downloads" / sha[name][:2] / sha[name]).read_bytes() == data
    failed = {e["url"]: e["reason"] for e in evs if e["eventid"] == "cowrie.session.file_download.failed"}
    assert set(failed) == {f"{base}/nope.bin", "http://10.255.255.1/x"}
    assert "404" in failed[f"{base}/nope.bin"]
    assert failed["http://10.255.255.1/x"].startswith("blocked")


@skip_unless("ssh", "sshpass")
def test_loopback_download_blocked_by_default(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "f.bin").write_bytes(b"should never be fetched")
    with (
        run_sensor(_mkdir(tmp_path / "s"), {"sensor.downloads": {"allow_loopback": False}}) as sp,
        http_server(www) as (port, seen),
    ):
        pw = unique_pw()
        url = f"http://127.0.0.1:{port}/f.bin"
        res = run(ssh_argv(sp, pw, cmd=f"wget {url}; curl -sS -O {url}"), timeout=60)
        evs = wait_session(sp, pw)
    assert "failed" in res.stdout + res.stderr
    assert seen == []
    failed = [e for e in evs if e["eventid"] == "cowrie.session.file_download.failed"]
    assert [e["url"] for e in failed] == [url, url]
    assert all(e["reason"].startswith("blocked") for e in failed), failed
    assert "cowrie.session.file_download" not in ids(evs)
    assert not [p for p in (sp.spool / "downloads").rglob("*") if p.is_file()]


# --- 12. floods ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flood_sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SensorProc]:
    # The global cap under test; MaxStartups (sshd's early drop, tested in test_diff_sshd_wire) opened wide.
    overrides = {
        **CLIENT_OVERRIDES,
        "sensor.limits": {"max_connections": 300, "max_per_ip": 10000},
        "sensor.ssh": {"max_startups": "10000", "max_per_ip": 10000},
    }
    with run_sensor(tmp_path_factory.mktemp("flood"), overrides) as s:
        yield s


def rss_mb(sp: SensorProc) -> float:
    assert sp.proc is not None
    return float(psutil.Process(sp.proc.pid).memory_info().rss) / 2**20


def login_works(sp: SensorProc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        res = run(ssh_argv(sp, unique_pw(), cmd="echo still-here"), timeout=30)
        if res.returncode == 0 and res.stdout.strip() == "still-here":
            return
        assert time.monotonic() < deadline, res.stderr
        time.sleep(0.5)


async def _hold_flood(port: int, n: int, on_held: Any) -> int:
    """Open ``n`` connections at once, keep them open, count those that got an SSH banner."""
    writers: list[asyncio.StreamWriter] = []

    async def one_conn() -> bool:
        try:
            async with asyncio.timeout(20):
                r, w = await asyncio.open_connection("127.0.0.1", port)
        except (OSError, TimeoutError):
            return False
        writers.append(w)
        try:
            async with asyncio.timeout(10):
                return (await r.readline()).startswith(b"SSH-2.0-")
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            return False

    try:
        got = await asyncio.gather(*(one_conn() for _ in range(n)))
        on_held()
    finally:
        for w in writers:
            w.transport.abort()
        await asyncio.sleep(0.1)
    return sum(got)


@skip_unless("ssh", "sshpass")
def test_connection_flood_is_capped(flood_sensor: SensorProc) -> None:
    sp = flood_sensor
    before = sessions(sp)
    held: dict[str, Any] = {}

    def on_held() -> None:
        assert sp.proc is not None
        held["alive"] = sp.proc.poll() is None
        held["rss"] = rss_mb(sp)
        evs = sp.events()
        opened = {e["session"] for e in evs if e["eventid"] == "cowrie.session.connect"} - before
        held["open"] = len(opened - {e["session"] for e in evs if e["eventid"] == "cowrie.session.closed"})

    banners = asyncio.run(_hold_flood(sp.ssh_port, 2000, on_held))
    assert held["alive"]
    assert held["rss"] < 300, held
    assert 200 <= banners <= 300, banners
    assert 200 <= held["open"] <= 300  # sessions the sensor holds open: never past the cap
    login_works(sp)
    assert sp.proc is not None and sp.proc.poll() is None


async def _garbage(port: int, payload: bytes) -> None:
    try:
        async with asyncio.timeout(10):
            r, w = await asyncio.open_connection("127.0.0.1", port)
            try:
                w.write(payload)
                await w.drain()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await r.read(65536)
            finally:
                w.transport.abort()
    except (OSError, TimeoutError):
        pass


@skip_unless("ssh", "sshpass", "telnet")
def test_garbage_flood_then_normal_logins(flood_sensor: SensorProc) -> None:
    sp = flood_sensor
    payloads = [
        os.urandom(65536),
        b"A" * 300_000 + b"\r\n",
        b"SSH-2.0-" + b"x" * 100_000 + b"\r\n",
        b"\xff" * 4096 + b"\xff\xfa" + os.urandom(8192),  # Telnet IACs and an endless subnegotiation
        b"root\r\n" + os.urandom(20000) + b"\r\n" * 50,
    ]

    async def main() -> None:
        jobs = [
            _garbage(port, payloads[i % len(payloads)]) for i in range(100) for port in (sp.ssh_port, sp.telnet_port)
        ]
        await asyncio.gather(*jobs)

    asyncio.run(main())
    assert sp.proc is not None and sp.proc.poll() is None
    assert rss_mb(sp) < 300
    login_works(sp)
    pw = unique_pw()
    assert "uid=0(root)" in telnet_run(sp, "root", pw, "id")
    assert creds(wait_session(sp, pw), "cowrie.login.success") == [("root", pw)]


# --- 13. spool -> lake -> report ---------------------------------------------------------------


def cli_json(*args: str, cwd: Path) -> Any:
    res = subprocess.run([*HONEYFARM, *args, "--json"], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


@skip_unless("ssh", "sshpass")
def test_events_ingest_and_report(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    payload = os.urandom(30_000)
    (www / "bot.sh").write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    pw = unique_pw("lake")
    with run_sensor(_mkdir(tmp_path / "s"), CLIENT_OVERRIDES) as sp, http_server(www) as (port, _):
        bad = run(ssh_argv(sp, "123456", cmd="true"))
        assert bad.returncode == 5
        cmd = f"cd /tmp; wget http://127.0.0.1:{port}/bot.sh; chmod +x bot.sh; uname -a"
        res = run(ssh_argv(sp, pw, cmd=cmd), timeout=60)
        assert res.returncode == 0, res.stderr
        wait_session(sp, pw)
    lines = [json.loads(x) for p in sorted((sp.spool / "events").glob("*.jsonl*")) for x in p.read_text().splitlines()]
    assert "honeyfarm.sensor.stop" in ids(lines)
    session_lines = [e for e in lines if "session" in e]

    lake = tmp_path / "lake"
    out = cli_json("ingest", str(sp.spool / "events"), "--lake", str(lake), "--no-progress", cwd=tmp_path)
    assert out["dead_letter"] == 0
    assert out["ingested"] == len(lines)

    top = cli_json("report", "top-credentials", "--lake", str(lake), cwd=tmp_path)
    pairs = {(r["username"], r["password"]): r for r in top}
    assert pairs[("root", pw)]["successes"] == 1
    assert pairs[("root", "123456")]["successes"] == 0
    commands = cli_json("report", "top-commands", "--lake", str(lake), cwd=tmp_path)
    assert cmd in {r["command"] for r in commands}
    downloads = cli_json("report", "downloads", "--lake", str(lake), cwd=tmp_path)
    assert sha in {r["sha256"] for r in downloads}

    sql = "SELECT count(*) AS n, count(session) AS s FROM events WHERE extra->>'region' = 'test-region-1'"
    (row,) = cli_json("query", sql, "--lake", str(lake), cwd=tmp_path)
    assert row == {"n": len(lines), "s": len(session_lines)}
