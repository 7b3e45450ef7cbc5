# SPDX-License-Identifier: MIT
"""Ingest's time window: records dated before ``ingest.min_timestamp`` or more than
``ingest.max_future_seconds`` after the ingest time go to dead-letter, for every format (issue 10, item 4).

The dashboard's side of the same window is in ``tests/test_dashboard_hardening.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from lakeutil import cowrie, hf, query, write_jsonl, z
from webutil import TOTAL_EVENTS, write_logs

from honeyfarm.config import Config, ConfigError, load_config
from honeyfarm.pipeline import ingest
from honeyfarm.timewindow import TimeWindow, shift


def utcnow() -> dt.datetime:
    """Read in each test, not at import: a full run collects this file many minutes before it runs."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


WINDOW_TEXT = "outside the accepted window [1990-01-01T00:00:00Z, ingest time + 1 day]"


# ------------------------------------------------------------------ ingest window


def outside(now: dt.datetime) -> list[str]:
    return [
        "9999-12-31T23:59:59Z",
        "2262-04-11T23:47:16Z",
        "10000-01-01T00:00:00Z",  # DuckDB parses years past 9999; Python could not read them back
        "1989-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        z(now + dt.timedelta(days=1, minutes=5)),
    ]


def inside(now: dt.datetime) -> list[str]:
    return ["1990-01-01T00:00:00Z", z(now), z(now + dt.timedelta(hours=23))]


def test_records_outside_the_window_go_to_dead_letter(tmp_path: Path) -> None:
    now = utcnow()
    bad, good = outside(now), inside(now)
    records = [cowrie(ts, i) for i, ts in enumerate(bad + good)]
    src = write_jsonl(tmp_path / "cowrie.json", records)
    result = ingest([str(src)], Config(), tmp_path / "lake")
    assert (result.ingested, result.dead_letter, result.errors) == (len(good), len(bad), [])
    assert result.by_format["cowrie"].dead_letter == len(bad)
    dead = query(tmp_path / "lake", "SELECT line, reason, raw FROM dead_letter ORDER BY line")
    assert [d[0] for d in dead] == list(range(1, len(bad) + 1))
    raw_lines = src.read_bytes().splitlines()
    for (line, reason, raw), ts in zip(dead, bad, strict=True):
        assert reason.startswith("timestamp ") and reason.endswith(WINDOW_TEXT), reason
        assert raw == raw_lines[line - 1]  # nothing lost: the record as it was
        if ts.endswith("Z") and not ts.startswith("10000"):
            assert reason == f"timestamp {ts} {WINDOW_TEXT}"
    got = query(tmp_path / "lake", "SELECT min(ts), max(ts), count(*) FROM events")[0]
    assert got == (dt.datetime(1990, 1, 1), now + dt.timedelta(hours=23), len(good))


def test_every_format_is_checked(tmp_path: Path) -> None:
    """The check sits in the shared mapping, after every format's SQL: one bad line per format."""
    paths = {p.name: p for p in write_logs(tmp_path / "logs")}

    def add(name: str, line: str) -> None:
        with paths[name].open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    add("cowrie.json", json.dumps(cowrie("9999-12-31T23:59:59Z", 0)))
    add("spool.jsonl", json.dumps({"ts": "2262-04-11T23:47:16Z", "eventid": "cowrie.session.connect", "sensor": "s-eu",
                                   "session": "5e559999", "src_ip": "8.8.8.8"}))  # fmt: skip
    add("vpc.log", "2 123456789012 eni-0a1b2c3d 1.2.3.4 10.0.0.5 5100 22 6 3 100 0 60 REJECT OK")  # 1970
    add("vpc.log", "2 123456789012 eni-0a1b2c3d 1.2.3.4 10.0.0.5 5100 22 6 3 100 9999999999999 9999999999999 REJECT OK")
    add("route53.log", "1.0 2262-04-11T23:47:16Z Z123EXAMPLE x.example A NOERROR UDP FRA6 1.2.3.4 -")
    result = ingest([str(p) for p in paths.values()], Config(), tmp_path / "lake")
    assert result.errors == [] and result.ingested == TOTAL_EVENTS
    assert {k: v.dead_letter for k, v in result.by_format.items()} == {
        "cowrie": 1, "honeyfarm": 1, "vpcflow": 2, "route53": 1,
    }  # fmt: skip
    reasons = dict(query(tmp_path / "lake", "SELECT source_format || ':' || line, reason FROM dead_letter"))
    assert reasons["vpcflow:8"] == f"timestamp 1970-01-01T00:00:00Z {WINDOW_TEXT}"
    assert reasons["vpcflow:9"] == "start: out of range"  # its own check; no overflow failing the batch
    assert reasons["route53:5"] == f"timestamp 2262-04-11T23:47:16Z {WINDOW_TEXT}"
    assert reasons["honeyfarm:10"] == f"timestamp 2262-04-11T23:47:16Z {WINDOW_TEXT}"


def test_the_window_is_configurable(tmp_path: Path) -> None:
    cfg_file = tmp_path / "honeyfarm.toml"
    cfg_file.write_text("[ingest]\nmin_timestamp = 1980-01-01T00:00:00+02:00\nmax_future_seconds = 0\n")
    cfg = load_config(cfg_file, env={})
    now = utcnow()
    assert cfg.ingest.window() == TimeWindow(dt.datetime(1979, 12, 31, 22), dt.timedelta(0))
    records = [cowrie("1989-12-31T23:59:59Z", 0), cowrie("1979-12-31T21:59:59Z", 1),
               cowrie(z(now + dt.timedelta(hours=1)), 2), cowrie(z(now - dt.timedelta(minutes=1)), 3)]  # fmt: skip
    result = ingest([str(write_jsonl(tmp_path / "c.json", records))], cfg, tmp_path / "lake")
    assert (result.ingested, result.dead_letter) == (2, 2)
    reasons = [r[0] for r in query(tmp_path / "lake", "SELECT reason FROM dead_letter ORDER BY line")]
    assert reasons == [
        "timestamp 1979-12-31T21:59:59Z outside the accepted window [1979-12-31T22:00:00Z, ingest time + 0 seconds]",
        f"timestamp {z(now + dt.timedelta(hours=1))} outside the accepted window "
        "[1979-12-31T22:00:00Z, ingest time + 0 seconds]",
    ]
    assert TimeWindow(max_future=dt.timedelta(hours=6)).describe().endswith("ingest time + 6 hours]")
    assert shift(dt.datetime.max, dt.timedelta(hours=1)) == dt.datetime.max  # clamps, never OverflowError
    assert shift(dt.datetime.min, -dt.timedelta(hours=1)) == dt.datetime.min


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[ingest]\nmin_timestamp = 1969-12-31T23:59:59Z\n", "ingest.min_timestamp: must be 1970"),
        ('[ingest]\nmin_timestamp = "last tuesday"\n', "ingest.min_timestamp: "),
        ("[ingest]\nmax_future_seconds = -1\n", "ingest.max_future_seconds: "),
        ("[ingest]\nmax_future_seconds = 1e9\n", "ingest.max_future_seconds: "),
    ],
)
def test_bad_window_settings_are_config_errors(tmp_path: Path, text: str, where: str) -> None:
    p = tmp_path / "honeyfarm.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(p, env={})
    assert where in str(exc.value) and "\n" not in str(exc.value)


def test_ingest_summary_counts_them(tmp_path: Path) -> None:
    now = utcnow()
    records = [cowrie(ts, i) for i, ts in enumerate(outside(now)[:2] + inside(now)[:1])]
    src = write_jsonl(tmp_path / "c.json", records)
    p = hf("ingest", str(src), "--lake", str(tmp_path / "lake"), "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["ingested"], out["dead_letter"], out["by_format"]["cowrie"]["dead_letter"]) == (1, 2, 2)
