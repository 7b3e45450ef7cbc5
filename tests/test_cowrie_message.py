"""Cowrie's ``message`` dropped at ingest is rebuilt byte for byte from the stored columns.

Every line of every real Cowrie sample (``../shared/samples/cowrie_json``, 2017-2026), synthetic lines
and hostile records go through cowrie.py's own SELECT (the stored columns) plus the derivation of
``honeyfarm.formats.cowrie_message``; for each record whose message would be dropped, the message
rebuilt from the stored columns must equal the original, and every other record keeps its message.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from honeyfarm.config import Config, GeoIPConfig
from honeyfarm.demo.synthetic import Generator
from honeyfarm.formats import get_format
from honeyfarm.formats.base import struct_spec
from honeyfarm.formats.cowrie import CowrieFormat
from honeyfarm.formats.cowrie_message import (
    FIELDS,
    TEMPLATE_EVENTIDS,
    derived_message_sql,
    mark_absent_sql,
    message_in_extra_sql,
    message_patch_sql,
    rebuilt_message_sql,
)
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.sql import sql_paths

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
COWRIE_DIR = SAMPLES / "cowrie_json"
ABSENT = object()
FILE_EVENTS = {"cowrie.session.file_download", "cowrie.session.file_upload", "cowrie.virustotal.scanfile"}
# Keys whose value a column carries (formats/cowrie.py `_MAPPED`): everything else must read back from `extra`.
MAPPED_KEYS = {
    "timestamp", "eventid", "sensor", "session", "src_ip", "src_port", "dst_ip", "dst_port", "protocol",
    "username", "password", "input", "url", "version", "hassh", "duration", "duration_ms",
}  # fmt: skip


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in extra: {keys}"
    return dict(pairs)


def _json(text: str | None) -> dict[str, Any]:
    return json.loads(text, object_pairs_hook=_no_duplicate_keys) if text else {}


def _map(lines: list[str], tmp: Path, helpers: bool) -> list[dict[str, Any]]:
    """The stored columns of ``lines``, read back from Parquet, with the rebuilt message and the reader's ``extra``.

    ``helpers=False``: cowrie.py's SELECT as the pipeline runs it (its ``extra`` is what is stored).
    ``helpers=True``: ``extra`` built here from the line with this module's ingest helpers and its own
    copy of the column mapping (:func:`derived_message_sql` without ``columns``), next to cowrie.py's columns:
    the helpers and the copy must agree with what cowrie.py stores.
    """
    con = duckdb.connect()
    con.register("lines_cowrie", pa.table({"_row": pa.array(range(len(lines)), pa.int64()), "line": lines}))
    select = get_format("cowrie").select_sql("lines_cowrie")
    extra = "m.extra"
    if helpers:
        fields = dict.fromkeys([*MAPPED_KEYS, "shasum"], "VARCHAR") | FIELDS
        t = "x._tmpl"  # computed once per line, as cowrie.py does (inlined, the SQL takes seconds to plan)
        merged = (
            f"CASE WHEN r.eventid IN {tuple(sorted(FILE_EVENTS))} "
            f"THEN json_merge_patch(line, {message_patch_sql([*MAPPED_KEYS, 'shasum'], t)}) "
            f"ELSE json_merge_patch(line, {message_patch_sql(MAPPED_KEYS, t)}) END::VARCHAR"
        )
        extra = f"nullif({mark_absent_sql(merged, t)}, '{{}}')"
        parsed = f"SELECT _row, line, try(json_transform(line, {struct_spec(fields)})) AS r FROM lines_cowrie"
        select = f"""SELECT m.* REPLACE ({extra} AS extra) FROM ({select}) m
          JOIN (SELECT *, {derived_message_sql()} AS _tmpl FROM ({parsed})) x USING (_row)"""
    stored = tmp / f"events-{helpers}.parquet"
    con.execute(
        f"COPY (SELECT * EXCLUDE (_reason) FROM ({select}) WHERE _reason IS NULL) TO '{stored}' (FORMAT parquet)"
    )
    # The reader's side runs over the Parquet file: the rebuild sees the stored types, not the parse's.
    cur = con.execute(f"""
    SELECT _row, eventid, extra, {rebuilt_message_sql()} AS rebuilt, {message_in_extra_sql()} AS read_extra
    FROM read_parquet('{stored}') ORDER BY _row""")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    con.close()
    return rows


def _check(lines: list[str], tmp: Path, helpers: bool = False) -> tuple[Counter[str], Counter[str], list[bool]]:
    """Asserts the rebuild for every line; returns (messages, dropped) per eventid and each line's drop."""
    rows = _map(lines, tmp, helpers)
    assert len(rows) == len(lines), "every test line must map (no dead letter)"
    total: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    drops = []
    for row in rows:
        rec = json.loads(lines[row["_row"]])
        original = rec.get("message", ABSENT)
        eid = row["eventid"]
        total[eid] += 1
        stored, read = _json(row["extra"]), _json(row["read_extra"])
        drops.append(isinstance(original, str) and "message" not in stored)
        if drops[-1]:
            dropped[eid] += 1
            # Byte for byte: the text rebuilt from the stored columns is the message Cowrie wrote.
            assert row["rebuilt"] is not None, (eid, original)
            assert row["rebuilt"].encode("utf-8") == original.encode("utf-8"), (eid, original, row["rebuilt"])
        elif original is ABSENT and row["rebuilt"] is not None:
            assert stored.get("message", ABSENT) is None, "an absent message is marked, so none is invented"
        else:
            assert stored.get("message", ABSENT) == original, (eid, stored, original)
        # What a reader sees: the message exactly as in the line (or absent), the rest of extra unchanged.
        assert read.get("message", ABSENT) == original or (original is None and "message" not in read), row
        # ...and every other key of the record that is not a column, unchanged.
        mapped = MAPPED_KEYS | ({"shasum"} if eid in FILE_EVENTS else set())
        expected = {k: v for k, v in rec.items() if k not in mapped and k != "message"}
        read.pop("message", None)
        assert read == expected, (read, expected)
    return total, dropped, drops


def _report(label: str, total: Counter[str], dropped: Counter[str]) -> None:
    n, d = sum(total.values()), sum(dropped.values())
    print(f"\n{label}: {d}/{n} messages dropped ({100 * d / max(n, 1):.1f}%)")
    for eid in sorted(total):
        print(f"  {eid:40} {dropped[eid]:6}/{total[eid]:<6} {100 * dropped[eid] / total[eid]:5.1f}%")


STABLE_TEMPLATES = (
    "cowrie.session.connect", "cowrie.login.failed", "cowrie.command.input", "cowrie.log.open", "cowrie.client.kex",
    "cowrie.session.closed", "cowrie.command.failed", "cowrie.client.size",
)  # fmt: skip


def test_real_samples_rebuild_byte_for_byte(tmp_path: Path) -> None:
    if not COWRIE_DIR.is_dir():
        pytest.skip(f"../shared/samples not present: {COWRIE_DIR} is missing")
    lines = [
        ln
        for path in sorted(COWRIE_DIR.glob("*.json"))
        for ln in path.read_text(encoding="utf-8").splitlines()
        if ln.strip()
    ]
    total, dropped, _ = _check(lines, tmp_path)
    _report("real samples", total, dropped)
    # Templates that hold in every release seen: they must keep holding (a drift in cowrie.py's mapping shows here).
    for eid in STABLE_TEMPLATES:
        assert dropped[eid] / total[eid] > 0.95, (eid, dropped[eid], total[eid])
    assert sum(dropped.values()) / sum(total.values()) > 0.6


@pytest.mark.parametrize("tpot", [False, True], ids=["default", "tpot"])
def test_synthetic_lines_drop_every_message(tmp_path: Path, tpot: bool) -> None:
    gen = Generator(seed=11, days=1.0, attackers=200, tpot=tpot)
    lines = [ln for _, session in gen.sessions(10_000) for ln in session]
    total, dropped, _ = _check(lines, tmp_path)
    _report("synthetic (T-Pot)" if tpot else "synthetic", total, dropped)
    texts = Counter(json.loads(ln)["eventid"] for ln in lines if isinstance(json.loads(ln).get("message"), str))
    for eid in total:
        assert eid in TEMPLATE_EVENTIDS
        # Every text message of the generator has its template (T-Pot's session.params carries a list, `[]`).
        assert dropped[eid] == texts[eid] and (texts[eid] or eid == "cowrie.session.params"), (eid, dropped, texts)


def _line(eventid: str, message: Any = ABSENT, **fields: Any) -> str:
    rec: dict[str, Any] = {"eventid": eventid, "timestamp": "2026-02-19T15:39:10.243465Z", "session": "abc123"}
    rec.update(fields)
    if message is not ABSENT:
        rec["message"] = message
    return json.dumps(rec, ensure_ascii=False)


HOSTILE_USERS = ["a/b/c", "[root]", "x] failed", 'quo"te', "back\\slash", "new\nline", "tab\there", "nul\x00",
                 "é☃𝄞", "\u202eRTL", "", " ", "A" * 100_000, "{\"message\":1}", "'; DROP TABLE events; --"]  # fmt: skip


_SIZE = (
    '{{"eventid":"cowrie.client.size","timestamp":"2026-02-19T15:39:10Z","width":{w},"height":24,'
    '"message":"Terminal Size: {m} 24"}}'
)


def _hostile_lines() -> list[tuple[str, bool]]:
    """(line, whether its message must be dropped)."""
    out: list[tuple[str, bool]] = []
    for i, u in enumerate(HOSTILE_USERS):
        p = HOSTILE_USERS[-1 - i]
        out.append((_line("cowrie.login.failed", f"login attempt [{u}/{p}] failed", username=u, password=p), True))
        out.append((_line("cowrie.command.input", f"CMD: {u}", input=u), True))
        out.append((_line("cowrie.client.var", f"request_env: {u}={p}", name=u, value=p), True))
        out.append((_line("cowrie.log.open", f"Opening TTY Log: {u}", ttylog=u), True))
        out.append((_line("cowrie.direct-tcpip.data", f"discarded direct-tcp forward request to h:1 with data {u}",
                          dst_ip="h", dst_port=1, data=u), True))  # fmt: skip
    sha = "ab" * 32
    # fmt: off
    out += [
        # Ambiguous on its face, fine: the message is compared, not parsed.
        (_line("cowrie.login.success", "login attempt [a/b/c] succeeded", username="a/b", password="c"), True),
        (_line("cowrie.login.success", "login attempt [a/b/c] succeeded", username="a", password="b/c"), True),
        (_line("cowrie.login.failed", "public key login attempt for [root] failed", username="root"), True),
        # Columns normalise these values: the message must stay.
        (_line("cowrie.session.connect", "New connection: ::ffff:1.2.3.4:5 (10.0.0.5:22) [session: abc123]",
               src_ip="::ffff:1.2.3.4", src_port=5, dst_ip="10.0.0.5", dst_port=22), False),
        (_line("cowrie.session.connect", "New connection: 1.2.3.4:5 (10.0.0.5:22) [session: abc123]",
               src_ip="::ffff:1.2.3.4", src_port=5, dst_ip="10.0.0.5", dst_port=22), True),
        (_line("cowrie.session.connect", "New connection: 1.2.3.4:5 (10.0.0.5:22) [session: abc123]",
               src_ip="1.2.3.4", src_port="5", dst_ip="10.0.0.5", dst_port=22.0), True),
        # Cowrie 2.0's bytes repr: re-quoted for a plain banner when the record is of that era (no uuid, no system).
        (_line("cowrie.client.version", "Remote SSH version: b'SSH-2.0-Go'", version="b'SSH-2.0-Go'"), True),
        (_line("cowrie.client.version", "Remote SSH version: b'SSH-2.0-Go'", version="b'SSH-2.0-Go'", uuid="u"), False),
        (_line("cowrie.client.version", "Remote SSH version: b'SSH-2.0-Go'", version="b'SSH-2.0-Go'",
               system="s"), False),
        (_line("cowrie.client.version", "Remote SSH version: SSH-2.0-Go", version="SSH-2.0-Go"), False),
        (_line("cowrie.client.version", "Remote SSH version: SSH-2.0-Go", version="SSH-2.0-Go", uuid="u"), True),
        (_line("cowrie.client.version", 'Remote SSH version: b"SSH-2.0-\'"', version='b"SSH-2.0-\'"'), False),
        (_line("cowrie.client.version", "Remote SSH version: b'SSH-\\x00'", version="b'SSH-\\x00'"), False),
        (_line("cowrie.client.version", "Remote SSH version: SSH-2.0-Go\r", version="SSH-2.0-Go\r", uuid="u"), True),
        (_line("cowrie.session.file_download", f"Downloaded URL (http://x/y) with SHA-256 {sha.upper()} to dl/f",
               url="http://x/y", shasum=sha.upper(), outfile="dl/f"), False),
        (_line("cowrie.session.file_download", f"Downloaded URL (http://x/\"y\") with SHA-256 {sha} to dl/f",
               url='http://x/"y"', shasum=sha, outfile="dl/f"), True),
        (_line("cowrie.session.file_download", f"Saved redir contents with SHA-256 {sha} to dl/f",
               url="/dev/null", shasum=sha, outfile="dl/f"), True),
        # Duration in each release's form, and values that print back differently.
        (_line("cowrie.session.closed", "Connection lost after 1 seconds", duration=1.9001749515533447), True),
        (_line("cowrie.session.closed", "Connection lost after 2.8 seconds", duration="2.8"), True),
        (_line("cowrie.session.closed", "Connection lost after 0.0 seconds", duration="0.0"), True),
        (_line("cowrie.session.closed", "Connection lost after 2997 milliseconds", duration_ms=2997), True),
        (_line("cowrie.session.closed", "Connection lost after 2800 milliseconds", duration_ms=2800), False),
        (_line("cowrie.session.closed", "Connection lost after 2.80 seconds", duration="2.80"), False),
        (_line("cowrie.session.closed", "Connection lost after nan seconds", duration="nan"), True),
        (_line("cowrie.session.closed", "Connection lost after 1e400 seconds", duration="1e400"), False),
        (_line("cowrie.log.closed", "Closing TTY Log: t/1 after 15 milliseconds", ttylog="t/1", duration_ms=15), True),
        # Numbers and structures in extra keys print back the same way (or the message stays).
        (_line("cowrie.client.size", "Terminal Size: 80 24", width=80, height="24"), True),
        (_line("cowrie.client.size", "Terminal Size: 80.0 24", width=80.0, height=24), True),
        (_SIZE.format(w="1e2", m="1e2"), False),
        (_SIZE.format(w="1e2", m="100.0"), True),
        (_SIZE.format(w="1.50", m="1.5"), True),
        (_SIZE.format(w="123456789012345678901234", m="123456789012345678901234"), True),
        (_line("cowrie.direct-tcpip.data", "discarded direct-tcp forward request 7 to h:1 with data x",
               dst_ip="h", dst_port=1, data="x", id=7), True),
        (_line("cowrie.direct-tcpip.data", 'discarded direct-tcp forward request to h:1 with data {"a":[1,2]}',
               dst_ip="h", dst_port=1, data={"a": [1, 2]}), True),
        (_line("cowrie.direct-tcpip.request", "direct-tcp connection request to ya.ru:80 from 0.0.0.0:0",
               dst_ip="ya.ru", dst_port=80, src_port=0), True),
        (_line("cowrie.direct-tcpip.request", "direct-tcp connection request to ya.ru:80 from ::1:5",
               dst_ip="ya.ru", dst_port=80, src_port=5), False),
        # Not a string, absent, null, or slightly off: kept (or marked absent), never invented.
        (_line("cowrie.session.params", [], arch="x"), False),
        (_line("cowrie.session.params", "", arch="x"), True),
        (_line("cowrie.command.input", input="ls"), False),
        (_line("cowrie.command.input", None, input="ls"), False),
        (_line("cowrie.command.input", ["CMD: ls"], input="ls"), False),
        (_line("cowrie.command.input", "CMD: ls ", input="ls"), False),
        (_line("cowrie.command.input", "CMD: ls"), False),
        (_line("cowrie.virustotal.scanfile", "whatever", shasum=sha), False),
        (_line("cowrie.login.success", "login attempt [root/pw] succeeded", username="root", password="pw",
               nested={"message": "x"}), True),
    ]
    # fmt: on
    return out


@pytest.mark.parametrize("helpers", [False, True], ids=["cowrie.py", "helpers"])
def test_hostile_records(tmp_path: Path, helpers: bool) -> None:
    cases = _hostile_lines()
    lines = [ln for ln, _ in cases]
    _, _, drops = _check(lines, tmp_path, helpers)
    for (line, want), got in zip(cases, drops, strict=True):
        assert got is want, line[:300]


def test_helpers_agree_with_cowrie_py_on_samples(tmp_path: Path) -> None:
    """The ingest helpers and the module's copy of the column mapping drop exactly what cowrie.py drops."""
    if not COWRIE_DIR.is_dir():
        pytest.skip(f"../shared/samples not present: {COWRIE_DIR} is missing")
    lines = [ln for p in sorted(COWRIE_DIR.glob("*.json")) for ln in p.read_text(encoding="utf-8").splitlines() if ln]
    assert _check(lines, tmp_path, helpers=True)[2] == _check(lines, tmp_path, helpers=False)[2]


# Characters that break naive templates: quotes, escapes, brackets, separators, controls, non-ASCII.
_ALPHABET = [*"ab/[]'\"\\ :%{}()=\n\r\t\x00\x1b", "é", "☃", "𝄞", "\u202e", "\u0301", "\ufeff"]


def _fuzz_lines(n: int, seed: int) -> list[str]:
    """Records of every templated eventid with random hostile values, each with the message Cowrie would write
    (and, one time in four, a message that is off by one character)."""
    rng = random.Random(seed)

    def s() -> str:
        return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12)))

    out = []
    for _ in range(n):
        u, p, v, d = s(), s(), s(), rng.choice([rng.random() * 100, round(rng.random() * 100, 1), 0.0])
        ms = rng.randint(0, 10**6)
        ip, port = rng.choice(["1.2.3.4", "::ffff:1.2.3.4", "2001:db8::1", s()]), rng.choice([0, 22, 65535])
        recs = [
            ("cowrie.login.failed", f"login attempt [{u}/{p}] failed", {"username": u, "password": p}),
            ("cowrie.login.success", f"public key login attempt for [{u}] succeeded", {"username": u}),
            ("cowrie.command.input", f"CMD: {v}", {"input": v}),
            ("cowrie.command.failed", f"Command not found: {v}", {"input": v}),
            ("cowrie.client.version", f"Remote SSH version: {v}", {"version": v, "uuid": u}),
            ("cowrie.client.var", f"request_env: {u}={p}", {"name": u, "value": p}),
            ("cowrie.log.open", f"Opening TTY Log: {v}", {"ttylog": v}),
            ("cowrie.session.closed", f"Connection lost after {int(d)} seconds", {"duration": d}),
            ("cowrie.session.closed", f"Connection lost after {d:.1f} seconds", {"duration": f"{d:.1f}"}),
            ("cowrie.log.closed", f"Closing TTY Log: {v} after {ms} milliseconds", {"ttylog": v, "duration_ms": ms}),
            ("cowrie.session.connect", f"New connection: {ip}:{port} ({ip}:{port}) [session: {u}]",
             {"src_ip": ip, "src_port": port, "dst_ip": ip, "dst_port": port, "session": u}),
            ("cowrie.direct-tcpip.data", f"discarded direct-tcp forward request to {ip}:{port} with data {v}",
             {"dst_ip": ip, "dst_port": port, "data": v}),
            ("cowrie.session.file_download", f"Downloaded URL (http://{u}) with SHA-256 {p} to {v}",
             {"url": f"http://{u}", "shasum": p, "outfile": v}),
        ]  # fmt: skip
        eid, msg, fields = rng.choice(recs)
        if rng.random() < 0.25 and msg:
            i = rng.randrange(len(msg))
            msg = msg[:i] + rng.choice(_ALPHABET) + msg[i + 1 :]
        rec = {"eventid": eid, "timestamp": "2026-02-19T15:39:10.243465Z", "session": "s1", **fields, "message": msg}
        out.append(json.dumps(rec, ensure_ascii=rng.random() < 0.5))
    return out


@pytest.mark.parametrize("helpers", [False, True], ids=["cowrie.py", "helpers"])
def test_fuzzed_records_rebuild_byte_for_byte(tmp_path: Path, helpers: bool) -> None:
    total, dropped, _ = _check(_fuzz_lines(2000, seed=16), tmp_path, helpers)
    _report("fuzzed", total, dropped)
    assert sum(dropped.values()) > 1000  # most messages are exact, so most are dropped


def test_lake_reads_every_sample_message_back(tmp_path: Path) -> None:
    """Through the real pipeline: ingest the samples, read ``events`` (the view puts messages back), compare."""
    if not COWRIE_DIR.is_dir():
        pytest.skip(f"../shared/samples not present: {COWRIE_DIR} is missing")
    lake = tmp_path / "lake"
    result = ingest([str(COWRIE_DIR)], Config(geoip=GeoIPConfig(enabled=False)), lake)
    assert result.errors == [] and result.dead_letter == 0
    con = Lake(lake).connect()
    try:
        rows = con.sql(
            "SELECT session, eventid, strftime(ts, '%Y-%m-%dT%H:%M:%S.%f'), json_extract(extra, '$.message')::VARCHAR, "
            "json_exists(extra, '$.message') FROM events WHERE source_format = 'cowrie'"
        ).fetchall()
        stored = con.sql(
            f"SELECT count(*) FILTER (WHERE json_exists(extra, '$.message')), count(*) "
            f"FROM read_parquet({sql_paths(Lake(lake).all_files('events'))})"
        ).fetchall()[0]
    finally:
        con.close()

    def value(msg: Any) -> Any:  # lists (Cowrie's `[]`) as JSON text, to be counted
        return json.dumps(msg) if isinstance(msg, list) else msg

    got = Counter((s, e, t, value(json.loads(m)) if present else ABSENT) for s, e, t, m, present in rows)
    want: Counter[tuple[Any, ...]] = Counter()
    for path in sorted(COWRIE_DIR.glob("*.json")):
        for ln in path.read_text(encoding="utf-8").splitlines():
            if ln.strip():
                rec = json.loads(ln)
                ts = rec["timestamp"].replace("Z", "").replace("+0000", "")[:26].ljust(26, "0")
                want[(rec.get("session"), rec["eventid"], ts, value(rec.get("message", ABSENT)))] += 1
    assert got == want
    assert stored[0] < stored[1] / 4, "most messages are not stored"


def test_every_template_eventid_is_registered() -> None:
    sql = rebuilt_message_sql()
    assert {e for e in CowrieFormat.eventids if f"WHEN '{e}' THEN" in sql} == TEMPLATE_EVENTIDS
    assert CowrieFormat.eventids >= TEMPLATE_EVENTIDS
