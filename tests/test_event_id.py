# SPDX-License-Identifier: MIT
"""``event_id`` is stable: the same record always gets the same id, in any lake, file, position or line ending.

Since lake v2 the id is not stored: it is the event's natural key (``honeyfarm.schema.ROW_KEY_SQL``, a hash
of every stored column but the GeoIP ones), computed by the ``events`` view; ingest drops a record whose
key is already in its date's files. If the key of a record ever changed (a DuckDB upgrade changing
``hash()``, a change to the mapping or to the stored form of ``extra``), re-ingesting old logs would add
every event a second time. The pinned values below catch that.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from honeyfarm.config import Config, IngestConfig
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.schema import EVENT_ID_SQL
from honeyfarm.sql import sql_paths

COWRIE_LINE = (
    '{"eventid":"cowrie.session.connect","timestamp":"2024-03-01T10:00:00.000000Z","src_ip":"8.8.8.8",'
    '"src_port":40001,"dst_ip":"10.9.0.1","dst_port":22,"session":"aaaa0001","sensor":"alpha","protocol":"ssh",'
    '"message":"New connection: 8.8.8.8:40001 (10.9.0.1:22) [session: aaaa0001]"}'
)
HONEYFARM_LINE = (
    '{"ts":"2024-03-01T10:00:00Z","eventid":"cowrie.session.connect","sensor":"alpha","session":"aaaa0001",'
    '"src_ip":"8.8.8.8"}'
)

# Computed once with duckdb 2.0.1 and the natural key of lake v2 (ROW_KEY_SQL). A DuckDB upgrade (or a code
# change) that changes these MUST fail here: with other keys, re-ingesting logs already in a lake would
# duplicate them. Do not "fix" this test by updating the numbers without a migration for existing lakes.
PINNED_COWRIE_ID = 4307696354870026617
PINNED_HONEYFARM_ID = 385572480966784340


def _filler(n: int, start: int = 0) -> list[str]:
    return [
        json.dumps({"eventid": "cowrie.login.failed", "timestamp": f"2024-03-01T11:00:{i % 60:02d}.{i:06d}Z",
                    "src_ip": "1.1.1.1", "session": "f", "sensor": "alpha", "username": "u", "password": str(i)})
        for i in range(start, start + n)
    ]  # fmt: skip


def ids(lake: Path, where: str = "TRUE") -> list[int]:
    con = Lake(lake).connect()
    return [r[0] for r in con.sql(f"SELECT event_id FROM events WHERE {where} ORDER BY ts, event_id").fetchall()]


def ingest_bytes(tmp_path: Path, name: str, data: bytes, cfg: Config | None = None) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "log.json").write_bytes(data)
    result = ingest([str(d / "log.json")], cfg or Config(), d / "lake")
    assert result.errors == [] and result.dead_letter == 0, result.to_dict()
    return d / "lake"


def test_pinned_event_id_of_a_cowrie_line(tmp_path: Path) -> None:
    lake = ingest_bytes(tmp_path, "a", (COWRIE_LINE + "\n").encode())
    assert ids(lake) == [PINNED_COWRIE_ID]


def test_pinned_event_id_of_a_honeyfarm_line(tmp_path: Path) -> None:
    lake = ingest_bytes(tmp_path, "a", (HONEYFARM_LINE + "\n").encode())
    assert ids(lake) == [PINNED_HONEYFARM_ID]


def test_same_record_in_two_lakes_gets_the_same_id(tmp_path: Path) -> None:
    # Different neighbours, position and batch size: only the record's own bytes count.
    first = ingest_bytes(tmp_path, "one", ("\n".join([COWRIE_LINE, *_filler(3)]) + "\n").encode())
    second = ingest_bytes(
        tmp_path, "two", ("\n".join([*_filler(300, 100), COWRIE_LINE]) + "\n").encode(),
        Config(ingest=IngestConfig(batch_bytes=4096)),
    )  # fmt: skip
    where = "src_ip = '8.8.8.8'"
    assert ids(first, where) == ids(second, where) == [PINNED_COWRIE_ID]


def test_line_ending_does_not_change_the_id(tmp_path: Path) -> None:
    lf = ingest_bytes(tmp_path, "lf", (COWRIE_LINE + "\n").encode())
    crlf = ingest_bytes(tmp_path, "crlf", (COWRIE_LINE + "\r\n").encode())
    eof = ingest_bytes(tmp_path, "eof", COWRIE_LINE.encode())  # complete JSON, no final newline
    assert ids(lf) == ids(crlf) == ids(eof) == [PINNED_COWRIE_ID]


def test_crlf_file_gives_the_same_ids_as_lf_file(tmp_path: Path) -> None:
    lines = [COWRIE_LINE, HONEYFARM_LINE.replace('"ts"', '"timestamp"'), *_filler(20)]
    lf = ingest_bytes(tmp_path, "lf", ("\n".join(lines) + "\n").encode())
    crlf = ingest_bytes(tmp_path, "crlf", ("\r\n".join(lines) + "\r\n").encode())
    assert sorted(ids(lf)) == sorted(ids(crlf))
    assert len(set(ids(lf))) == len(lines)


def test_different_records_get_different_non_negative_ids(tmp_path: Path) -> None:
    lake = ingest_bytes(tmp_path, "a", ("\n".join(_filler(500)) + "\n").encode())
    got = ids(lake)
    assert len(got) == len(set(got)) == 500
    assert all(0 <= i < 2**63 for i in got)


def test_honeyfarm_record_claiming_an_id_gets_its_natural_key(tmp_path: Path) -> None:
    # An export carries the view's event_id; re-ingested, the event is the same and so is its id.
    rec = json.loads(HONEYFARM_LINE) | {"event_id": 1234567890123}
    lake = ingest_bytes(tmp_path, "a", (json.dumps(rec) + "\n").encode())
    assert ids(lake) == [PINNED_HONEYFARM_ID]


def test_the_view_id_is_the_natural_key_of_the_stored_row(tmp_path: Path) -> None:
    lake = ingest_bytes(tmp_path, "a", ("\n".join([COWRIE_LINE, *_filler(5)]) + "\n").encode())
    files = sql_paths(Lake(lake).all_files("events"))
    con = Lake(lake).connect()
    stored = con.sql(f"SELECT {EVENT_ID_SQL} FROM read_parquet({files}) ORDER BY 1").fetchall()
    assert "event_id" not in con.sql(f"SELECT * FROM read_parquet({files})").columns  # not stored: no bytes
    assert stored == con.sql("SELECT event_id FROM events ORDER BY 1").fetchall()
    # Stable across views, connections and compaction.
    with Lake(lake).writer():
        Lake(lake).compact(con, "events", "2024-03-01", min_files=1)
    assert sorted(ids(lake)) == [r[0] for r in stored]


def test_a_batch_repeating_a_line_keeps_one_event(tmp_path: Path) -> None:
    lake = ingest_bytes(
        tmp_path, "a", ("\n".join([COWRIE_LINE, COWRIE_LINE, *_filler(2), COWRIE_LINE]) + "\n").encode()
    )
    assert ids(lake, "src_ip = '8.8.8.8'") == [PINNED_COWRIE_ID]
    assert len(ids(lake)) == 3


def test_records_differing_in_one_field_are_both_kept(tmp_path: Path) -> None:
    rec = json.loads(COWRIE_LINE)
    variants = [rec, rec | {"src_port": 40002}, rec | {"uuid": "x"}, rec | {"message": "New connection"}]
    lake = ingest_bytes(tmp_path, "a", ("\n".join(json.dumps(v) for v in variants) + "\n").encode())
    assert len(set(ids(lake))) == 4


def test_same_record_in_a_compressed_copy_and_another_key_order_is_a_duplicate(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json").write_text("\n".join([COWRIE_LINE, *_filler(3)]) + "\n")
    lake = tmp_path / "lake"
    assert ingest([str(logs / "a.json")], Config(), lake).ingested == 4
    # The same records, gzipped; the Cowrie one with its keys in another order and spaces after the colons
    # (its `extra` is empty once `message` is dropped: key order inside `extra` would count).
    rec = json.loads(COWRIE_LINE)
    shuffled = json.dumps(dict(reversed(list(rec.items()))))
    with gzip.open(logs / "b.json.gz", "wt") as f:
        f.write("\n".join([shuffled, *_filler(3), *_filler(1, 90)]) + "\n")
    r = ingest([str(logs / "b.json.gz")], Config(), lake)
    assert (r.ingested, r.duplicates) == (1, 4)
    assert len(ids(lake)) == 5


def test_reingesting_the_same_records_from_another_file_adds_nothing(tmp_path: Path) -> None:
    records = [COWRIE_LINE, *_filler(10)]
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json").write_text("\n".join(records) + "\n")
    first = ingest([str(logs / "a.json")], Config(), tmp_path / "lake")
    assert first.ingested == 11
    # Another file (another head, so not the same file to the checkpoints) holding the same records
    # with Windows line endings, plus one new record.
    (logs / "b.json").write_bytes(("\r\n".join([*_filler(1, 50), *records]) + "\r\n").encode())
    second = ingest([str(logs / "b.json")], Config(), tmp_path / "lake")
    assert (second.ingested, second.duplicates) == (1, 11)
    assert len(ids(tmp_path / "lake")) == 12
