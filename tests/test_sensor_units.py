# SPDX-License-Identifier: MIT
"""Unit tests of the sensor's building blocks (no network, no subprocess).

Spool rotation/recovery/caps, event stamping and capping, credentials and
accounts, the Telnet option parser, HASSH from a hand-built KEXINIT and TTY
logs. sshd's DH group choice, the OpenSSH profile, the ``[sensor]`` config and
the sensor as a real process are in ``test_sensor_units2.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from honeyfarm.sensor.auth import Accounts, CredentialPolicy, UserDB
from honeyfarm.sensor.capture.ttylog import TTYLog, find_log, replay, sanitize
from honeyfarm.sensor.config import CredentialsConfig, IdentityConfig, PersonaConfig, SpoolConfig
from honeyfarm.sensor.events import EventLog, SessionLog, new_session_id
from honeyfarm.sensor.spool import Spool
from honeyfarm.sensor.traps.ssh.server import hassh_from_kexinit
from honeyfarm.sensor.traps.telnet.busybox import BusyBox
from honeyfarm.sensor.traps.telnet.daemon import Settings
from honeyfarm.sensor.traps.telnet.inetutils import Inetutils
from honeyfarm.sensor.traps.telnet.proto import (
    AYT,
    DO,
    DONT,
    ECHO,
    IAC,
    IP,
    MAX_SB,
    NAWS,
    SB,
    SE,
    SGA,
    TTYPE,
    WILL,
    WONT,
    Event,
    TelnetParser,
    naws,
    ttype,
)

T0 = 1_700_000_000.0


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def scfg(tmp_path: Path, **kw: Any) -> SpoolConfig:
    kw.setdefault("fsync_interval", 1.0)
    return SpoolConfig(dir=tmp_path / "spool", **kw)


def edir(tmp_path: Path) -> Path:
    return tmp_path / "spool" / "events"


def seq_of(p: Path) -> int:
    m = re.search(r"-(\d{6,})\.jsonl(?:\.part)?$", p.name)
    assert m, p.name
    return int(m[1])


def closed_files(tmp_path: Path) -> list[Path]:
    return sorted(edir(tmp_path).glob("*.jsonl"), key=seq_of)


def read_records(paths: list[Path]) -> list[dict[str, Any]]:
    out = []
    for p in paths:
        data = p.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{p.name} ends in a partial line"
        for line in data.split(b"\n")[:-1]:
            out.append(json.loads(line))  # every line is one valid JSON object
    return out


def fingerprint(p: Path) -> tuple[int, int, str]:
    st = p.stat()
    return st.st_mtime_ns, st.st_size, hashlib.sha256(p.read_bytes()).hexdigest()


# --- 1. spool ------------------------------------------------------------------------------------------------------


def test_spool_rotates_by_size_keeping_every_line_in_order(tmp_path: Path) -> None:
    sp = Spool(scfg(tmp_path, rotate_bytes=4096), "s1", clock=Clock())
    for i in range(200):
        assert sp.write({"i": i, "pad": "x" * 100})
    sp.close()
    files = closed_files(tmp_path)
    assert not list(edir(tmp_path).glob("*.part"))
    assert len(files) >= 5
    assert all(f.stat().st_size <= 4096 for f in files)
    assert [seq_of(f) for f in files] == list(range(len(files)))
    assert [r["i"] for r in read_records(files)] == list(range(200))
    assert sp.written == 200 and sp.dropped == 0


def test_spool_rotates_by_time_with_injected_clock(tmp_path: Path) -> None:
    clock = Clock()
    sp = Spool(scfg(tmp_path, rotate_seconds=60.0), "s1", clock=clock)
    sp.write({"n": 1})
    first = sp.current
    assert first is not None and first.name.endswith(".jsonl.part")
    assert "20231114T221320Z" in first.name  # UTC start of the file in its name
    clock.t = T0 + 59
    sp.write({"n": 2})
    assert sp.current == first
    clock.t = T0 + 60  # 60 s old: the next event goes to a new file
    sp.write({"n": 3})
    assert sp.current != first
    assert not first.exists() and first.with_name(first.name[: -len(".part")]).exists()
    # maybe_rotate closes an old file even when no event arrives.
    clock.t = T0 + 119
    sp.maybe_rotate()
    assert sp.current is not None
    clock.t = T0 + 120
    sp.maybe_rotate()
    assert sp.current is None
    assert [[r["n"] for r in read_records([f])] for f in closed_files(tmp_path)] == [[1, 2], [3]]


def test_spool_closed_files_are_never_modified(tmp_path: Path) -> None:
    clock = Clock()
    sp = Spool(scfg(tmp_path, rotate_bytes=4096, fsync_interval=0.0), "s1", clock=clock)
    for i in range(100):
        sp.write({"i": i, "pad": "y" * 80})
    before = {p.name: fingerprint(p) for p in closed_files(tmp_path)}
    assert len(before) >= 2
    for i in range(100, 300):
        sp.write({"i": i, "pad": "y" * 80})
        if i % 50 == 0:
            clock.t += 7200
    sp.sync()
    sp.close()
    for name, fp in before.items():
        assert fingerprint(edir(tmp_path) / name) == fp, name
    assert [r["i"] for r in read_records(closed_files(tmp_path))] == list(range(300))


def test_spool_recovers_part_files_after_crash(tmp_path: Path) -> None:
    d = edir(tmp_path)
    d.mkdir(parents=True)
    whole = b'{"i":0}\n{"i":1}\n'
    (d / "s1-20240101T000000Z-000007.jsonl.part").write_bytes(whole + b'{"i":2,"cut')
    (d / "s1-20240101T010000Z-000009.jsonl.part").write_bytes(b'{"only":"partial')  # nothing whole
    sp = Spool(scfg(tmp_path), "s1", clock=Clock())
    assert not list(d.glob("*.part"))
    sealed = d / "s1-20240101T000000Z-000007.jsonl"
    assert sealed.read_bytes() == whole
    assert not (d / "s1-20240101T010000Z-000009.jsonl").exists()
    sp.write({"i": 3})
    assert sp.current is not None and seq_of(sp.current) == 10
    sp.close()
    assert [r["i"] for r in read_records(closed_files(tmp_path))] == [0, 1, 3]


def test_spool_sequence_continues_after_clean_restart(tmp_path: Path) -> None:
    sp = Spool(scfg(tmp_path), "s1", clock=Clock())
    sp.write({"a": 1})
    sp.close()
    sp2 = Spool(scfg(tmp_path), "s1", clock=Clock(T0 + 5))
    sp2.write({"a": 2})
    assert sp2.current is not None and seq_of(sp2.current) == 1
    sp2.close()
    assert [seq_of(p) for p in closed_files(tmp_path)] == [0, 1]


def test_spool_max_bytes_drops_then_reports_spool_full_once(tmp_path: Path) -> None:
    cfg = scfg(tmp_path, rotate_bytes=4096, max_bytes=65536)
    sp = Spool(cfg, "s1", clock=Clock())
    i = 0
    while sp.write({"ts": "t", "sensor": "s1", "i": i, "pad": "z" * 900}):
        i += 1
        assert i < 200, "never full"
    written = i
    for _ in range(9):
        assert not sp.write({"ts": "t", "sensor": "s1", "i": -1, "pad": "z" * 900})
    assert sp.dropped == 10
    sp.sync()
    on_disk = sum(p.stat().st_size for p in edir(tmp_path).iterdir())
    assert on_disk <= cfg.max_bytes
    # The shipper takes the closed files: room again once usage is re-measured.
    for p in closed_files(tmp_path):
        p.unlink()
    assert not sp.write({"ts": "t", "sensor": "s1", "i": -1, "pad": "z" * 900})  # not re-measured yet
    assert sp.dropped == 11
    sp.refresh_usage()
    assert sp.write({"ts": "t2", "sensor": "s1", "i": 1000})
    assert sp.write({"ts": "t3", "sensor": "s1", "i": 1001})
    assert sp.dropped == 0
    sp.close()
    recs = read_records(closed_files(tmp_path))
    notes = [r for r in recs if r.get("eventid") == "honeyfarm.sensor.spool_full"]
    assert len(notes) == 1
    assert notes[0]["dropped"] == 11 and notes[0]["sensor"] == "s1"
    tail = [r.get("i", "note") for r in recs[-3:]]
    assert tail == ["note", 1000, 1001]
    assert written > 50


def test_spool_every_line_is_json_even_for_odd_values(tmp_path: Path) -> None:
    sp = Spool(scfg(tmp_path, fsync_interval=0.0), "we/ird name", clock=Clock())
    odd = ["line\nbreak", "\u2028\u2029", "\x00\x1b[31m", "\ud800", "é💥", '"quoted" \\']
    for v in odd:
        sp.write({"v": v, "b": b"\xff\x00", "p": Path("/x"), "f": 1.5})
    sp.close()
    files = closed_files(tmp_path)
    assert len(files) == 1 and "/" not in files[0].name and " " not in files[0].name
    recs = read_records(files)
    assert [r["v"] for r in recs] == odd
    assert all(line.isascii() for line in files[0].read_text(encoding="utf-8").splitlines())


def test_spool_sync_flushes_buffered_lines(tmp_path: Path) -> None:
    sp = Spool(scfg(tmp_path, fsync_interval=1.0), "s1", clock=Clock())
    sp.write({"a": 1})
    part = sp.current
    assert part is not None
    assert part.stat().st_size == 0  # still in the write buffer
    sp.sync()
    assert read_records([part]) == [{"a": 1}]
    sp.close()
    eager = Spool(scfg(tmp_path / "e", fsync_interval=0.0), "s1", clock=Clock())
    eager.write({"b": 2})
    assert eager.current is not None and read_records([eager.current]) == [{"b": 2}]
    eager.close()


# --- 2. events ------------------------------------------------------------------------------------------------------

IDENTITY = IdentityConfig(
    name="sens-9",
    region="eu-west-1",
    provider="aws",
    instance_type="t3.nano",
    hourly_cost=0.0052,
    tags={"exposure": "domain"},
)


@pytest.fixture
def event_log(tmp_path: Path) -> Iterator[Callable[..., EventLog]]:
    logs: list[EventLog] = []

    def make(limit: int = 1024) -> EventLog:
        spool = Spool(scfg(tmp_path / str(len(logs)), fsync_interval=0.0), IDENTITY.name, clock=Clock())
        logs.append(EventLog(spool, IDENTITY, limit))
        return logs[-1]

    yield make
    for log in logs:
        log.spool.close()


def last_record(log: EventLog) -> dict[str, Any]:
    cur = log.spool.current
    assert cur is not None
    return read_records([cur])[-1]


def test_events_stamp_identity_and_time(event_log: Callable[..., EventLog]) -> None:
    log = event_log()
    log.emit("cowrie.login.failed", username="root", password="x", skipped=None)
    rec = last_record(log)
    assert rec["eventid"] == "cowrie.login.failed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rec["ts"])
    assert {k: rec[k] for k in ("sensor", "region", "provider", "instance_type", "hourly_cost", "tags")} == {
        "sensor": "sens-9",
        "region": "eu-west-1",
        "provider": "aws",
        "instance_type": "t3.nano",
        "hourly_cost": 0.0052,
        "tags": {"exposure": "domain"},
    }
    assert "skipped" not in rec
    assert log.counts == {"cowrie.login.failed": 1}


def test_events_cap_attacker_strings(event_log: Callable[..., EventLog]) -> None:
    log = event_log(limit=1024)
    log.emit("cowrie.command.input", input="A" * 5000, args=["B" * 5000, {"k": "C" * 5000}], short="ok")
    rec = last_record(log)
    assert rec["input"] == "A" * 1024
    assert rec["args"][0] == "B" * 1024 and rec["args"][1]["k"] == "C" * 1024
    assert rec["short"] == "ok"


@pytest.mark.parametrize("value", ["é" * 5000, b"\xff" * 5000], ids=["utf8-str", "invalid-bytes"])
def test_events_cap_is_in_bytes(event_log: Callable[..., EventLog], value: str | bytes) -> None:
    log = event_log(limit=1024)
    log.emit("cowrie.command.input", input=value)
    assert len(last_record(log)["input"].encode("utf-8")) <= 1024


def test_events_bytes_are_decoded_safely(event_log: Callable[..., EventLog]) -> None:
    log = event_log()
    log.emit("cowrie.client.version", client_version=b"SSH-2.0-\xff\xfe\x00ok", ok="\u00e9".encode())
    rec = last_record(log)
    assert isinstance(rec["client_version"], str)
    assert rec["client_version"] == "SSH-2.0-\\xff\\xfe\x00ok"
    assert rec["ok"] == "é"


def test_session_log_unwraps_mapped_ipv4_and_keeps_ipv6(event_log: Callable[..., EventLog]) -> None:
    log = event_log()
    s = SessionLog(log, "ssh", ("::ffff:203.0.113.7", 50000), ("::ffff:10.0.0.1", 22))
    s.emit("cowrie.session.connect")
    rec = last_record(log)
    assert (rec["src_ip"], rec["src_port"], rec["dst_ip"], rec["dst_port"]) == ("203.0.113.7", 50000, "10.0.0.1", 22)
    assert rec["protocol"] == "ssh" and rec["session"] == s.session
    assert SessionLog(log, "telnet", ("2001:db8::1", 1), ("::1", 23)).src_ip == "2001:db8::1"
    assert SessionLog(log, "telnet", ("::ffff:0:1", 1), ("::1", 23)).src_ip == "::ffff:0:1"


def test_session_ids_are_12_hex_and_unique(event_log: Callable[..., EventLog]) -> None:
    ids = [new_session_id() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    log = event_log()
    a, b = SessionLog(log, "ssh", ("1.2.3.4", 1), ("5.6.7.8", 22)), SessionLog(log, "ssh", ("1.2.3.4", 2), ("x", 22))
    assert a.session != b.session and re.fullmatch(r"[0-9a-f]{12}", a.session)


# --- 3. auth --------------------------------------------------------------------------------------------------------


def test_userdb_cowrie_semantics() -> None:
    db = UserDB(
        [
            "# comment",
            "",
            "   ",
            "root:x:!root",
            "root:x:!/12345.*/",
            "root:x:*",
            "/adm.n/:x:/pass[0-9]+/",
            "guest:x:",
            "user:x:!*",
            "user:x:anything",
        ]
    )
    assert not db.check("root", "root")  # deny before the wildcard
    assert not db.check("root", "123456")
    assert db.check("root", "x123456")  # fullmatch, not search
    assert db.check("root", "")
    assert db.check("admin", "pass42") and db.check("admXn", "pass1")
    assert not db.check("admin", "pass") and not db.check("admin", "xpass1") and not db.check("xadmin", "pass1")
    assert db.check("guest", "") and not db.check("guest", "x")
    assert not db.check("user", "anything")  # first match wins
    assert not db.check("nobody", "root")


@pytest.mark.parametrize("line", ["root", "root:x", "justtext"])
def test_userdb_malformed_line_raises(line: str) -> None:
    with pytest.raises(ValueError):
        UserDB(["root:x:*", line])


def policy(**kw: Any) -> CredentialPolicy:
    kw.setdefault("userdb", ["root:x:secret"])
    return CredentialPolicy(CredentialsConfig(**kw))


def test_accept_after_per_ip_and_reset_after_success() -> None:
    p = policy(accept_after=3)
    a, b = "198.51.100.1", "198.51.100.2"
    assert [p.check(a, "u", "p") for _ in range(2)] == [False, False]
    assert not p.check(b, "u", "p")  # b has its own count
    assert p.check(a, "u", "p")  # a's third
    assert [p.check(a, "u", "p") for _ in range(3)] == [False, False, True]  # count restarts
    assert [p.check(b, "u", "p") for _ in range(2)] == [False, True]
    assert p.check("203.0.113.9", "root", "secret")  # the userdb still applies
    never = policy(accept_after=0)
    assert not any(never.check(a, "u", "p") for _ in range(50))


def test_accept_after_forgets_least_recently_seen_ips() -> None:
    p = policy(accept_after=3, max_tracked_ips=2)
    a, b, c = "10.0.0.1", "10.0.0.2", "10.0.0.3"
    p.check(a, "u", "p")
    p.check(b, "u", "p")
    p.check(a, "u", "p")  # a is now the most recent
    p.check(c, "u", "p")  # evicts b, not a
    assert p.check(a, "u", "p")  # a's third attempt was remembered
    p.check(b, "u", "p")  # b restarts at 1 (evicts c)
    assert not p.check(b, "u", "p")
    assert p.check(b, "u", "p")
    assert len(p._attempts) <= 2


def test_accounts_uids_are_stable_and_persisted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    acc = Accounts(PersonaConfig(), state)
    root = acc.account("root")
    assert (root.uid, root.gid, root.home) == (0, 0, "/root")
    assert acc.account("admin").uid == 1000 and acc.account("admin").home == "/home/admin"
    assert [acc.account(n).uid for n in ("oracle", "ubnt", "oracle", "test")] == [1001, 1002, 1001, 1003]
    assert json.loads((state / "accounts.json").read_text()) == {"oracle": 1001, "ubnt": 1002, "test": 1003}
    again = Accounts(PersonaConfig(), state)  # a restart
    assert [again.account(n).uid for n in ("test", "ubnt", "oracle", "admin", "root")] == [1003, 1002, 1001, 1000, 0]
    assert again.account("pi").uid == 1004


def test_accounts_skip_persona_uids(tmp_path: Path) -> None:
    acc = Accounts(PersonaConfig(users=["admin:1000", "deploy:1001"]), tmp_path / "state")
    assert acc.account("deploy").uid == 1001
    assert acc.account("new").uid == 1002


@pytest.mark.parametrize("name", ["../../etc", "..", ".", "a/b", "", "x" * 300, "\x00\n/ ", "é"])
def test_accounts_home_is_one_safe_component(tmp_path: Path, name: str) -> None:
    home = PurePosixPath(Accounts(PersonaConfig(), tmp_path / "state").account(name).home)
    assert home.parent == PurePosixPath("/home")
    assert home.name not in ("", ".", "..") and "/" not in home.name
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,32}", home.name)


# --- 4. telnet ------------------------------------------------------------------------------------------------------

STREAM = b"".join(
    [
        b"ab",
        bytes([IAC, DO, ECHO]),
        b"c",
        bytes([IAC, SB, NAWS, 0x01, IAC, IAC, 0x00, 0x30, IAC, SE]),  # width 0x01ff: 0xff doubled
        b"d",
        bytes([IAC, IAC]),
        b"e",
        bytes([IAC, SB, TTYPE, 0]) + b"XTERM-256color" + bytes([IAC, SE]),
        bytes([IAC, WILL, NAWS, IAC, WONT, 77, IAC, DONT, 78]),
        b"\r\n",
        bytes([IAC, IP]),
        b"f",
    ]
)
STREAM_DATA = b"abcd\xffe\r\nf"


def parse(chunks: list[bytes]) -> tuple[bytes, list[Event]]:
    p = TelnetParser()
    data = b"".join(p.feed(c) for c in chunks)
    return data, p.take()


def test_telnet_parser_splits_data_and_commands() -> None:
    data, evs = parse([STREAM])
    assert data == STREAM_DATA
    assert [naws(e) for e in evs if naws(e)] == [(0x01FF, 0x30)]
    assert [ttype(e) for e in evs if ttype(e)] == ["XTERM-256color"]
    opts = [(e.verb, e.opt) for e in evs if e.kind == "opt"]
    assert opts == [(DO, ECHO), (WILL, NAWS), (WONT, 77), (DONT, 78)]
    assert [e.verb for e in evs if e.kind == "cmd"] == [IP]


def test_telnet_parser_any_split_gives_the_same_result() -> None:
    ref = parse([STREAM])
    assert parse([bytes([b]) for b in STREAM]) == ref
    n = len(STREAM)
    for i in range(n + 1):
        for j in range(i, n + 1, 3):
            assert parse([STREAM[:i], STREAM[i:j], STREAM[j:]]) == ref, (i, j)


def test_telnet_oversized_subnegotiation_is_capped() -> None:
    p = TelnetParser()
    out = p.feed(bytes([IAC, SB, TTYPE, 0]) + b"A" * 100_000 + bytes([IAC, SE]) + b"after")
    assert out == b"after"
    assert len(p.sb) <= MAX_SB
    (term,) = [ttype(e) for e in p.take()]
    assert term is not None and 0 < len(term) <= 64 and set(term) == {"A"}
    p.feed(bytes([IAC, SB]) + bytes([IAC, IAC]) * 5000 + bytes([IAC, SE]))
    assert len(p.sb) <= MAX_SB


def _answers(daemon: Inetutils | BusyBox, stream: bytes) -> bytes:
    p = TelnetParser()
    p.feed(stream)
    return b"".join(b"".join(daemon.on_event(e)) for e in p.take())


def test_inetutils_accepts_once_and_refuses_every_time() -> None:
    d = Inetutils(Settings())
    cmds = bytes([IAC, DO, ECHO, IAC, DO, SGA, IAC, DO, 99, IAC, WILL, NAWS, IAC, WILL, 42])
    # Borman's state machine, as in BSD telnetd: an accepted option is answered once; a refused
    # one is refused again each time it is asked (one 3-byte answer per request: no amplification).
    first = bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, WONT, 99, IAC, DO, NAWS, IAC, DONT, 42])
    assert _answers(d, cmds * 3) == first + bytes([IAC, WONT, 99, IAC, DONT, 42]) * 2


def test_inetutils_no_reply_to_answers_of_its_own_offers() -> None:
    d = Inetutils(Settings())
    d.offered.add(ECHO)
    d.asked.add(NAWS)
    assert _answers(d, bytes([IAC, DO, ECHO, IAC, WILL, NAWS])) == b""
    assert d.echo and d.his[NAWS]


def test_are_you_there_answers() -> None:
    assert _answers(Inetutils(Settings()), bytes([IAC, AYT])) == b"\r\n[Yes]\r\n"
    assert _answers(BusyBox(Settings()), bytes([IAC, AYT])) == b"\xff\xff\xf1"  # IAC NOP, its IAC escaped


def test_busybox_never_answers_options() -> None:
    assert _answers(BusyBox(Settings()), bytes([IAC, DO, ECHO, IAC, WILL, TTYPE, IAC, DO, 99, IAC, IP])) == b""


# --- 5. HASSH -------------------------------------------------------------------------------------------------------

CLIENT_LISTS = [
    "curve25519-sha256,ext-info-c",
    "ssh-ed25519,rsa-sha2-512",
    "aes128-ctr,aes256-gcm@openssh.com",
    "aes256-ctr",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "none",
    "zlib@openssh.com,none",
    "",
    "en",
]


def kexinit_payload(lists: list[str]) -> bytes:
    out = bytes([20]) + bytes(range(16))
    for s in lists:
        b = s.encode()
        out += struct.pack(">I", len(b)) + b
    return out + b"\x00" + struct.pack(">I", 0)


def test_hassh_from_handmade_kexinit() -> None:
    res = hassh_from_kexinit(kexinit_payload(CLIENT_LISTS))
    assert res is not None
    hassh, lists = res
    want = "curve25519-sha256,ext-info-c;aes128-ctr,aes256-gcm@openssh.com;hmac-sha2-256;none"
    assert hassh == hashlib.md5(want.encode()).hexdigest()
    assert lists["kex_algs"] == CLIENT_LISTS[0] and lists["key_algs"] == CLIENT_LISTS[1]
    assert (lists["enc_cs"], lists["mac_cs"], lists["comp_cs"], lists["lang_cs"]) == (
        CLIENT_LISTS[2],
        CLIENT_LISTS[4],
        CLIENT_LISTS[6],
        CLIENT_LISTS[8],
    )


def test_hassh_truncated_or_garbage_is_none() -> None:
    payload = kexinit_payload(CLIENT_LISTS)
    lists_end = len(payload) - 5  # the bool and the reserved uint32 are not needed
    for cut in range(lists_end):
        assert hassh_from_kexinit(payload[:cut]) is None, cut
    rng = random.Random(7)
    assert hassh_from_kexinit(bytes([20]) + b"\xff" * 200) is None
    for _ in range(200):
        assert hassh_from_kexinit(bytes([20]) + rng.randbytes(rng.randrange(0, 300))) is None


# --- 6. TTY logs ----------------------------------------------------------------------------------------------------


def test_ttylog_writes_asciicast_v2(tmp_path: Path) -> None:
    log = TTYLog(tmp_path / "tty", "0123456789ab", 132, 43, 1 << 20, {"TERM": "xterm"})
    log.output("$ ")
    log.input("ls\r")
    log.output("a\r\nb\x1b[31m\r\n")
    log.output("")
    log.close()
    lines = log.path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert (header["version"], header["width"], header["height"]) == (2, 132, 43)
    assert header["env"] == {"TERM": "xterm"}
    frames = [json.loads(x) for x in lines[1:]]
    assert [(k, t) for _, k, t in frames] == [("o", "$ "), ("i", "ls\r"), ("o", "a\r\nb\x1b[31m\r\n")]
    times = [t for t, _, _ in frames]
    assert times == sorted(times) and all(isinstance(t, float) and t >= 0 for t in times)
    assert log.size == log.path.stat().st_size and not log.truncated


def test_ttylog_respects_max_bytes(tmp_path: Path) -> None:
    log = TTYLog(tmp_path / "tty", "abcdef012345", 80, 24, 600, {})
    for i in range(100):
        log.output(f"line {i}\r\n")
    log.close()
    assert log.truncated
    assert log.path.stat().st_size <= 600 and log.size <= 600


def test_ttylog_truncation_is_a_cut_not_a_hole(tmp_path: Path) -> None:
    log = TTYLog(tmp_path / "tty", "abcdef012345", 80, 24, 600, {})
    log.output("before")
    log.output("X" * 1000)  # does not fit: the log ends here
    log.output("after")
    log.close()
    assert log.truncated
    assert "after" not in log.path.read_text(encoding="utf-8")


@pytest.mark.parametrize("sid", ["../x", "ABCDEF012345", "0123", "0123456789ab/", "", "0123456789ag"])
def test_ttylog_rejects_non_hex_session_ids(tmp_path: Path, sid: str) -> None:
    with pytest.raises(ValueError):
        TTYLog(tmp_path / "tty", sid, 80, 24, 4096, {})
    assert not list(tmp_path.rglob("*.cast"))


def test_sanitize_keeps_colours_escapes_the_rest() -> None:
    assert sanitize("\x1b[31mred\x1b[0m \x1b[2J\x1b[1;1H") == "\x1b[31mred\x1b[0m \x1b[2J\x1b[1;1H"
    assert sanitize("a\r\n\tb\x08") == "a\r\n\tb\x08"
    assert sanitize("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert sanitize("\x1b]52;c;ZXZpbA==\x1b\\") == "\\x1b]52;c;ZXZpbA==\\x1b\\"
    assert sanitize("\x1b[?1049h\x1bc\x1bP1$r\x1b\\") == "\\x1b[?1049h\\x1bc\\x1bP1$r\\x1b\\"
    assert sanitize("\x9b31m\x9d0;t\x9c\x85") == "\\x9b31m\\x9d0;t\\x9c\\x85"
    assert sanitize("\x00\x7f") == "\\x00\\x7f"
    out = sanitize("\x1b]0;\x1b[31m\x07")  # a colour inside an OSC stays harmless
    assert "\x07" not in out and "\x1b]" not in out


def test_replay_writes_only_output_frames(tmp_path: Path) -> None:
    log = TTYLog(tmp_path / "tty", "fedcba987654", 80, 24, 4096, {})
    log.output("hello ")
    log.input("SECRET-INPUT")
    log.output("\x1b]0;pwn\x07world")
    log.close()
    out = io.StringIO()
    res = replay(log.path, out=out, speed=0)
    assert out.getvalue() == "hello \\x1b]0;pwn\\x07world"
    assert res["frames"] == 2
    raw = io.StringIO()
    replay(log.path, out=raw, speed=0, raw=True)
    assert raw.getvalue() == "hello \x1b]0;pwn\x07world"


def test_session_id_with_trailing_newline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        find_log(tmp_path, "0123456789ab\n")


def test_find_log_refuses_path_like_ids(tmp_path: Path) -> None:
    (tmp_path / "tty").mkdir()
    (tmp_path / "x.cast").write_text("{}\n")
    for bad in ("../x", "..", "/etc/passwd", "0123456789ab/../x", "0123456789AB"):
        with pytest.raises(ValueError):
            find_log(tmp_path, bad)
    with pytest.raises(FileNotFoundError):
        find_log(tmp_path, "0123456789ab")
    log = TTYLog(tmp_path / "tty", "0123456789ab", 80, 24, 4096, {})
    log.close()
    assert find_log(tmp_path, "0123456789ab") == log.path


def test_lone_surrogates_are_escaped_so_the_event_ingests(event_log: Callable[..., EventLog], tmp_path: Path) -> None:
    """A JSON body with "\\ud800" (or bytes decoded with surrogateescape) gives Python strings a strict JSON
    reader refuses; the event keeps the text, escaped, and ingests instead of going to dead-letter."""
    from honeyfarm.config import Config
    from honeyfarm.pipeline import ingest

    log = event_log(limit=64)
    long = "\udcff" * 100  # past the fast path: capped after escaping
    log.emit("redis.command.input", command="SET x \ud800y", query={"k\udc80": ["\udfff"]}, long=long, ok="é")
    rec = last_record(log)
    assert rec["command"] == "SET x \\ud800y" and rec["query"] == {"k\\udc80": ["\\udfff"]} and rec["ok"] == "é"
    assert rec["long"] == ("\\udcff" * 100)[:64]
    cur = log.spool.current
    assert cur is not None
    log.spool.sync()
    result = ingest([str(cur)], Config(), tmp_path / "lake", force_format="honeyfarm")
    assert (result.ingested, result.dead_letter) == (1, 0)


def test_event_times_are_datetimes_own_formatting() -> None:
    import datetime as dt

    from honeyfarm.sensor.events import iso_now

    rng = random.Random(7)
    times = [rng.uniform(0, 2e9) for _ in range(20000)]
    times += [s + f for s in (0, 1765076645) for f in (0.0, 0.0000005, 0.0000015, 0.9999995, 0.9999999, 0.5)]
    for t in times:
        assert iso_now(t) == dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), t
