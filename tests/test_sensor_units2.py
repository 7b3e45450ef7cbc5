# SPDX-License-Identifier: MIT
"""More sensor units, then ``honeyfarm sensor`` as a real process.

sshd's DH group choice, the OpenSSH 9.2 profile and the ``[sensor]`` config;
then start/stop events and the spool sealed on SIGTERM, the privilege drop
after binding a low port, and per-address connection caps (raw TCP only).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sensorutil import (
    HONEYFARM,
    SensorProc,
    default_sections,
    free_port,
    run_sensor,
    sensor_toml,
    wait_port,
)

from honeyfarm.config import ConfigError, load_config, parse_config
from honeyfarm.sensor.traps.ssh.gex import choose_dh, fallback_group, load_moduli
from honeyfarm.sensor.traps.ssh.openssh import OPENSSH_92_DEBIAN12, auth_failure_delay

BANNER = b"SSH-2.0-OpenSSH_9.2p1"
EVIDENCE = Path("/work/shared/peers/evidence/kexinit-openssh-2223.txt")


def spool_files(sp: SensorProc) -> list[Path]:
    return sorted((sp.spool / "events").iterdir())


def has(eventid: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda evs: any(e["eventid"] == eventid for e in evs)


@contextlib.contextmanager
def launch(
    workdir: Path, edit: Callable[[dict[str, dict[str, Any]]], None], cmd: list[str] = HONEYFARM
) -> Iterator[SensorProc]:
    """As ``sensorutil.run_sensor``, with ``edit`` free to change any section (e.g. add listen addresses)."""
    sp = SensorProc(workdir, free_port(), free_port())
    sections = default_sections(workdir, sp.ssh_port, sp.telnet_port)
    edit(sections)
    sp.config = workdir / "honeyfarm.toml"
    sp.config.write_text(sensor_toml(sections), encoding="utf-8")
    with (workdir / "sensor.log").open("wb") as log:
        sp.proc = subprocess.Popen([*cmd, "sensor", "-c", str(sp.config)], stdout=log, stderr=log)
        try:
            wait_port(sp.ssh_port, proc=sp.proc)
            wait_port(sp.telnet_port, proc=sp.proc)
            yield sp
        finally:
            rc = sp.stop()
            if rc not in (0, -signal.SIGTERM):
                print((workdir / "sensor.log").read_text(errors="replace")[-4000:])


# --- 7. DH group exchange -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moduli() -> tuple[tuple[int, int, int], ...]:
    return tuple(m for m in load_moduli(None) if m[0] in (2048, 3072, 4096, 8192))


def test_load_moduli_shipped_subset() -> None:
    mods = load_moduli(None)
    assert len(mods) >= 10
    for size, g, p in mods:
        assert p.bit_length() == size and g >= 2 and p % 2 == 1
    assert {s for s, _, _ in mods} >= {2048, 3072, 4096, 8192}


def test_choose_dh_follows_openssh(moduli: tuple[tuple[int, int, int], ...]) -> None:
    assert {s for s, _, _ in moduli} == {2048, 3072, 4096, 8192}
    by_p = {p: s for s, _, p in moduli}
    for _ in range(10):
        _, p = choose_dh(moduli, 2048, 3072, 8192)
        assert by_p[p] == 3072
        _, p = choose_dh(moduli, 2048, 2048, 2048)
        assert by_p[p] == 2048
        _, p = choose_dh(moduli, 2048, 5000, 8192)  # nothing of 5000: the next larger size
        assert by_p[p] == 8192
        _, p = choose_dh(moduli, 2048, 8192, 8192)
        assert by_p[p] == 8192
        _, p = choose_dh(moduli, 2048, 6000, 6000)  # no larger one allowed: the largest below
        assert by_p[p] == 4096
    # sshd's loop depends on the file's order (moduli files are sorted ascending): copy it, quirks and all.
    reverse = tuple(sorted(moduli, key=lambda m: -m[0]))
    assert by_p[choose_dh(reverse, 2048, 3072, 8192)[1]] == 4096
    picked = {choose_dh(moduli, 2048, 3072, 8192)[1] for _ in range(200)}
    assert len(picked) == sum(1 for s, _, _ in moduli if s == 3072) > 1  # random among the equals


def test_choose_dh_falls_back_to_fixed_groups(moduli: tuple[tuple[int, int, int], ...]) -> None:
    assert choose_dh(moduli, 2100, 2500, 2900) == fallback_group(2900)
    assert choose_dh(moduli, 5000, 5500, 6000) == fallback_group(6000)
    assert choose_dh(moduli, 6200, 6500, 7000) == fallback_group(7000)
    assert choose_dh((), 2048, 3072, 8192) == fallback_group(8192)
    assert fallback_group(2048)[1].bit_length() == 2048 and fallback_group(3071)[1].bit_length() == 2048
    assert fallback_group(3072)[1].bit_length() == 4096 and fallback_group(6143)[1].bit_length() == 4096
    assert fallback_group(6144)[1].bit_length() == 8192 and fallback_group(8192)[1].bit_length() == 8192
    assert {fallback_group(h)[0] for h in (2048, 4000, 8192)} == {2}


# --- 8. OpenSSH profile ---------------------------------------------------------------------------------------------


def test_profile_hassh_server_matches_real_sshd() -> None:
    if not EVIDENCE.exists():
        pytest.skip(f"{EVIDENCE} is absent")
    lists: dict[str, str] = {}
    for line in EVIDENCE.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("kex", "enc c2s", "mac c2s", "comp c2s"):
            lists[key.strip()] = value.strip()
    assert "kex-strict-s-v00@openssh.com" in lists["kex"].split(",")
    text = ";".join(lists[k] for k in ("kex", "enc c2s", "mac c2s", "comp c2s"))
    assert OPENSSH_92_DEBIAN12.hassh_server == hashlib.md5(text.encode()).hexdigest()
    p = OPENSSH_92_DEBIAN12
    assert ",".join(p.kex + p.kex_extra) == lists["kex"]


def test_auth_failure_delay_is_pam_like() -> None:
    # Linux-PAM 1.5.2: base x (0.5 + mean of three draws), i.e. 1-3 s for pam_unix's 2 s.
    rng = random.Random(1)
    draws = [auth_failure_delay(2.0, rng) for _ in range(1000)]
    assert all(1.0 <= d < 3.0 for d in draws)
    assert max(draws) - min(draws) > 1.3
    assert len(set(draws)) > 990
    assert 1.9 < sum(draws) / len(draws) < 2.1
    # Seeded by the second the attempt starts in: attempts within one second wait alike.
    assert auth_failure_delay(2.0, now=1796599138.1) == auth_failure_delay(2.0, now=1796599138.9) == 2.533374
    assert auth_failure_delay(2.0, now=1796599139.0) != 2.533374


# --- 9. config ------------------------------------------------------------------------------------------------------

SUBSECTIONS = ["identity", "spool", "credentials", "persona", "ssh", "telnet", "downloads", "limits"]
WRONG_TYPES = {
    "identity": {"hourly_cost": "0.01"},
    "spool": {"rotate_bytes": "64MB"},
    "credentials": {"accept_after": "3"},
    "persona": {"cpu_count": 2.5},
    "ssh": {"enabled": "yes"},
    "telnet": {"login_timeout": "60"},
    "downloads": {"allow_private": 1},
    "limits": {"max_per_ip": "5"},
}


@pytest.mark.parametrize("sub", SUBSECTIONS)
def test_sensor_config_rejects_unknown_keys(sub: str) -> None:
    with pytest.raises(ConfigError, match=rf"sensor\.{sub}\.bogus_key: unknown key"):
        parse_config({"sensor": {sub: {"bogus_key": 1}}})


@pytest.mark.parametrize("sub", SUBSECTIONS)
def test_sensor_config_rejects_wrong_types(sub: str) -> None:
    (key,) = WRONG_TYPES[sub]
    with pytest.raises(ConfigError, match=rf"sensor\.{sub}\.{key}"):
        parse_config({"sensor": {sub: WRONG_TYPES[sub]}})


def test_sensor_config_rejects_top_level_mistakes() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"sensor": {"nope": 1}})
    with pytest.raises(ConfigError, match=r"sensor\.user"):
        parse_config({"sensor": {"user": 65534}})
    with pytest.raises(ConfigError):
        parse_config({"sensor": {"identity": {"tags": {"exposure": 1}}}})


def test_sensor_config_accepts_identity_tags() -> None:
    cfg = parse_config({"sensor": {"identity": {"name": "s", "tags": {"exposure": "pastebin", "batch": "7"}}}})
    assert cfg.sensor.identity.tags == {"exposure": "pastebin", "batch": "7"}


def test_load_config_resolves_sensor_paths_against_the_file(tmp_path: Path) -> None:
    d = tmp_path / "etc" / "hf"
    d.mkdir(parents=True)
    f = d / "honeyfarm.toml"
    f.write_text(
        '[sensor.spool]\ndir = "spool"\n[sensor.ssh]\nhost_key_dir = "keys"\n'
        '[sensor.downloads]\ndir = "/abs/dl"\n[sensor.credentials]\nuserdb_file = "../userdb.txt"\n',
        encoding="utf-8",
    )
    s = load_config(f).sensor
    assert s.spool.dir == d / "spool"
    assert s.ssh.host_key_dir == d / "keys"
    assert s.downloads.dir == Path("/abs/dl")
    assert s.credentials.userdb_file == d / "../userdb.txt"
    f.write_text("[sensor.identity]\nname = 'x'\n", encoding="utf-8")
    assert load_config(f).sensor.spool.dir == Path("./honeyfarm-spool")  # a default stays as it is


# --- 10. start, stop, restart ---------------------------------------------------------------------------------------


def test_start_stop_events_and_spool_sealed_on_sigterm(tmp_path: Path) -> None:
    with run_sensor(tmp_path) as sp:
        evs = sp.wait_for(has("honeyfarm.sensor.start"))
        start = next(e for e in evs if e["eventid"] == "honeyfarm.sensor.start")
        assert start["listen"] == {"ssh": [f"127.0.0.1:{sp.ssh_port}"], "telnet": [f"127.0.0.1:{sp.telnet_port}"]}
        assert sp.proc is not None and start["pid"] == sp.proc.pid
        assert start["sensor"] == "test-sensor" and start["region"] == "test-region-1"
        running = spool_files(sp)
        assert len(running) == 1 and running[0].name.endswith(".jsonl.part")
        rc = sp.stop()
        assert rc in (0, -signal.SIGTERM)
        after = spool_files(sp)
        assert [p.name for p in after] == [running[0].name[: -len(".part")]]
        evs = sp.events()
        assert [e["eventid"] for e in evs][-1] == "honeyfarm.sensor.stop"
        stop = evs[-1]
        assert stop["counts"].get("honeyfarm.sensor.start") == 1
        first = after[0]
        fp = (first.stat().st_mtime_ns, first.stat().st_size, hashlib.sha256(first.read_bytes()).hexdigest())
        first_seq = int(first.name.split("-")[-1].split(".")[0])

    with run_sensor(tmp_path) as sp2:
        sp2.wait_for(lambda evs: sum(e["eventid"] == "honeyfarm.sensor.start" for e in evs) == 2)
        parts = [p for p in spool_files(sp2) if p.name.endswith(".part")]
        assert len(parts) == 1
        assert int(parts[0].name.split("-")[-1].split(".")[0]) == first_seq + 1
    assert (first.stat().st_mtime_ns, first.stat().st_size, hashlib.sha256(first.read_bytes()).hexdigest()) == fp
    assert not [p for p in spool_files(sp2) if p.name.endswith(".part")]
    assert [e["eventid"] for e in sp2.events()].count("honeyfarm.sensor.stop") == 2


# --- privilege drop -------------------------------------------------------------------------------------------------


def free_low_port() -> int | None:
    for port in (1022, 1023, 1021, 1020, 1019, 1018, 1017, 1016, 1015, 999, 998, 997):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return None


def traversable(d: Path) -> bool:
    return all(q.stat().st_mode & 0o001 for q in [d, *d.parents])


def command_for_nobody() -> list[str] | None:
    """A ``honeyfarm`` command whose interpreter nobody can still read after the drop (modules load lazily).

    A pyenv Python under /root (0700) is not: then the system's Python of the same version runs the
    venv's packages (``-S``: none of the system's site-packages).
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if traversable(stdlib) and traversable(Path(sys.prefix)):
        return HONEYFARM
    alt = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    site_dir = sysconfig.get_paths()["purelib"]
    if not (alt.exists() and traversable(Path(site_dir))):
        return None
    boot = (
        f"import site, sys; site.addsitedir({site_dir!r}); sys.argv[0] = 'honeyfarm'; "
        "from honeyfarm.cli import main; main()"
    )
    return [str(alt), "-S", "-c", boot]


def proc_ids(pid: int) -> dict[str, list[int]]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Uid", "Gid"):
            out[key] = [int(x) for x in rest.split()]
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop needs root")
def test_privilege_drop_after_binding_a_low_port() -> None:
    nobody = pwd.getpwnam("nobody")
    low = free_low_port()
    if low is None:
        pytest.skip("no free port below 1024")
    cmd = command_for_nobody()
    if cmd is None:
        pytest.skip("no Python interpreter that nobody can read")
    # pytest's tmp_path sits in a 0700 directory: nobody could not reach its spool there.
    workdir = Path(tempfile.mkdtemp(prefix="hf-drop-", dir="/tmp"))
    try:
        workdir.chmod(0o755)

        def edit(sections: dict[str, dict[str, Any]]) -> None:
            sections["sensor"]["user"] = "nobody"
            sections["sensor.ssh"]["listen"].append(f"127.0.0.1:{low}")

        with launch(workdir, edit, cmd) as sp:
            assert sp.proc is not None
            evs = sp.wait_for(has("honeyfarm.sensor.start"))
            start = next(e for e in evs if e["eventid"] == "honeyfarm.sensor.start")
            assert f"127.0.0.1:{low}" in start["listen"]["ssh"]
            with socket.create_connection(("127.0.0.1", low), timeout=5) as s:
                s.settimeout(5)
                assert s.recv(64).startswith(BANNER)
            ids = proc_ids(sp.proc.pid)
            assert ids["Uid"] == [nobody.pw_uid] * 4
            assert ids["Gid"] == [nobody.pw_gid] * 4
            files = spool_files(sp)
            assert files
            for p in [sp.spool / "events", *files]:
                st = p.stat()
                assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid), p
            assert sp.stop() in (0, -signal.SIGTERM)
            for p in spool_files(sp):  # the sealed file too: renamed, still nobody's
                assert p.name.endswith(".jsonl") and p.stat().st_uid == nobody.pw_uid
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- 11. connection caps --------------------------------------------------------------------------------------------


def banner_or_none(s: socket.socket, timeout: float = 5.0) -> bytes | None:
    """The first bytes the server sends; None when it closes (or resets) without a word."""
    s.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buf and time.monotonic() < deadline:
            chunk = s.recv(256)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return buf or None


def all_closed(evs: list[dict[str, Any]]) -> bool:
    ids = [e["eventid"] for e in evs]
    opened = ids.count("cowrie.session.connect")
    return opened >= 2 and opened == ids.count("cowrie.session.closed")


def test_max_per_ip_caps_connections_before_the_banner(tmp_path: Path) -> None:
    # SSH's flood guard is ssh.max_per_ip (limits.max_per_ip is Telnet's); below MaxStartups' start of 10.
    with run_sensor(tmp_path, {"sensor.ssh": {"max_per_ip": 5}}) as sp:
        # run_sensor's own port probes hold a slot each until the sensor has seen them close.
        sp.wait_for(lambda evs: has("honeyfarm.sensor.start")(evs) and all_closed(evs))
        socks: list[socket.socket] = []
        try:
            for _ in range(20):
                socks.append(socket.create_connection(("127.0.0.1", sp.ssh_port), timeout=5))
            got = [banner_or_none(s) for s in socks]
            admitted = [s for s, b in zip(socks, got, strict=True) if b is not None]
            assert len(admitted) == 5, got
            assert all(b is None or b.startswith(BANNER) for b in got)
            for s in admitted:
                s.close()
            deadline = time.monotonic() + 10
            while True:
                fresh = [socket.create_connection(("127.0.0.1", sp.ssh_port), timeout=5) for _ in range(5)]
                socks += fresh
                again = [banner_or_none(s, 3.0) for s in fresh]
                if all(b is not None and b.startswith(BANNER) for b in again):
                    break
                for s in fresh:
                    s.close()
                assert time.monotonic() < deadline, f"slots not freed: {again}"
                time.sleep(0.2)
        finally:
            for s in socks:
                s.close()


# ------------------------------------------------ password attempts the client did not wait for


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.elapsed = 1.0

    def emit(self, eventid: str, /, **fields: Any) -> None:
        self.events.append((eventid, fields))


def _userauth_payload(user: bytes, method: bytes, *rest: bytes) -> bytes:
    from asyncssh.packet import String

    return String(user) + String(b"ssh-connection") + String(method) + b"".join(rest)


def test_password_request_parsing() -> None:
    from asyncssh.packet import Boolean, String

    from honeyfarm.sensor.traps.ssh.server import _password_request

    assert _password_request(_userauth_payload(b"root", b"password", Boolean(False), String(b"hunter2"))) == (
        "root",
        "hunter2",
    )
    assert _password_request(_userauth_payload(b"root", b"publickey", Boolean(False))) is None
    assert _password_request(_userauth_payload(b"root", b"password", Boolean(True), String(b"a"))) is None
    assert _password_request(b"\x00\x00\xff\xff") is None  # truncated: no crash
    assert _password_request(_userauth_payload(b"\xff\xfe", b"password", Boolean(False), String(b"\xc3"))) == (
        "\\xff\\xfe",
        "\\xc3",
    )


def _bare_server() -> Any:
    from honeyfarm.sensor.traps.ssh.server import HoneySSHServer

    srv = object.__new__(HoneySSHServer)
    srv.log = _Recorder()
    srv.conn = None
    srv._timer = None
    srv._pending = None
    srv.version_logged = True
    return srv


def test_password_attempt_cut_off_by_a_hang_up_is_still_logged_once() -> None:
    srv = _bare_server()
    srv.note_password(("root", "guess1"))
    srv.connection_lost(None)
    ids = [(e, f.get("password"), f.get("interrupted")) for e, f in srv.log.events]
    assert ids == [("cowrie.login.failed", "guess1", True), ("cowrie.session.closed", None, None)]


def test_attempt_replaced_before_it_was_checked_is_logged_and_checked_one_is_not_doubled() -> None:
    srv = _bare_server()
    srv.note_password(("root", "first"))  # superseded by the next request (asyncssh cancels it)
    srv.note_password(("root", "second"))
    srv._pending = None  # validate_password took "second" and logs it itself
    srv.connection_lost(None)
    fails = [f["password"] for e, f in srv.log.events if e == "cowrie.login.failed"]
    assert fails == ["first"]
