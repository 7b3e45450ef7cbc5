# SPDX-License-Identifier: MIT
"""The ``honeyfarm`` command line, run as a real subprocess: output shapes, exit codes, lake location."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from fixture_events import EVENTS, build_lake, connect, to_line, write_logs
from lakeutil import cli_env, hf

from honeyfarm.analysis.panels import PANELS, SUMMARY_PANELS, Filters
from honeyfarm.enrich.geoip import GEO_SCHEMA, default_asn_db
from honeyfarm.eventids import EVENT_IDS
from honeyfarm.views.render import _json_default


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    assert "Traceback" not in p.stderr, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("cli"))


def as_json(table: Any) -> Any:
    """What a panel's rows look like after a JSON round trip."""
    return json.loads(json.dumps(table.to_pylist(), default=_json_default))


# ------------------------------------------------------------------ ingest


def test_ingest_json_reports_counts_per_format(tmp_path: Path) -> None:
    paths = write_logs(tmp_path / "logs")
    cowrie = paths[0]
    with cowrie.open("a", encoding="utf-8") as f:
        f.write(to_line(EVENTS[0]) + "\n")  # the very same record again: a duplicate
        f.write("{not json\n")  # dead letter
    out = json.loads(ok(hf("ingest", str(tmp_path / "logs"), "--lake", "L", "--json", cwd=tmp_path)))
    assert set(out) == {"ingested", "duplicates", "dead_letter", "by_format", "files", "errors", "pending"}
    assert (out["ingested"], out["duplicates"], out["dead_letter"]) == (39, 1, 1)
    assert out["by_format"] == {
        "cowrie": {"ingested": 35, "duplicates": 1, "dead_letter": 1},
        "honeyfarm": {"ingested": 4, "duplicates": 0, "dead_letter": 0},
    }
    assert (out["files"], out["errors"], out["pending"]) == (2, [], [])
    # Read again: the checkpoints say everything is in.
    again = json.loads(ok(hf("ingest", str(tmp_path / "logs"), "--lake", "L", "--json", cwd=tmp_path)))
    assert (again["ingested"], again["dead_letter"]) == (0, 0)


def test_ingest_human_output_summarises(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    out = ok(hf("ingest", "logs", "--lake", "L", cwd=tmp_path))
    assert "ingested 39 events" in out


def test_ingest_missing_path_exits_1_with_error_in_json(tmp_path: Path) -> None:
    p = hf("ingest", "does-not-exist.json", "--lake", "L", "--json", cwd=tmp_path)
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["ingested"] == 0 and len(out["errors"]) == 1
    assert "does-not-exist.json" in out["errors"][0]


def test_ingest_unknown_format_exits_2(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    p = hf("ingest", "logs", "--format", "nosuchformat", "--lake", "L", cwd=tmp_path)
    assert p.returncode == 2
    assert "unknown format 'nosuchformat'" in p.stderr


# ------------------------------------------------------------------ report


@pytest.mark.parametrize("panel", PANELS)
def test_report_panel_json_equals_the_panel_function(lake: Path, tmp_path: Path, panel: str) -> None:
    out = json.loads(ok(hf("report", panel, "--lake", str(lake), "--json", cwd=tmp_path)))
    p = PANELS[panel]
    con = connect(lake)
    kwargs: dict[str, Any] = {"limit": p.default_limit}
    if panel == "timeline":
        kwargs["bucket"] = "hour"
    expected = p.func(con, Filters(), **kwargs)
    assert isinstance(out, list) and out, panel
    assert all(list(r) == expected.schema.names for r in out)
    assert out == as_json(expected)


def test_report_summary_json_is_dict_of_panel_rows(lake: Path, tmp_path: Path) -> None:
    out = json.loads(ok(hf("report", "--lake", str(lake), "--json", cwd=tmp_path)))
    assert list(out) == list(SUMMARY_PANELS)
    for name, panel_rows in out.items():
        assert isinstance(panel_rows, list), name
        assert all(isinstance(r, dict) for r in panel_rows), name
    assert out["overview"][0] == {
        "sensor": "(all)", "events": 39, "sessions": 6, "unique_ips": 5,
        "first_seen": "2024-03-01T10:00:00", "last_seen": "2024-03-02T22:00:03",
    }  # fmt: skip
    assert out["top-usernames"][0] == {"username": "root", "attempts": 7, "successes": 2}


def test_report_summary_human_prints_every_summary_panel(lake: Path, tmp_path: Path) -> None:
    out = ok(hf("report", "--lake", str(lake), cwd=tmp_path))
    for name in SUMMARY_PANELS:
        assert name in out
    assert "root" in out and "uname -a" in out


def test_report_filters_from_the_command_line(lake: Path, tmp_path: Path) -> None:
    def overview(*opts: str) -> Any:
        return json.loads(ok(hf("report", "overview", "--lake", str(lake), "--json", *opts, cwd=tmp_path)))[0]

    assert overview("--sensor", "alpha")["events"] == 17
    assert overview("--sensor", "beta", "--sensor", "gamma")["events"] == 22
    assert overview("--country", "ru")["events"] == 14  # lower case accepted
    assert overview("--honeypot", "heralding")["events"] == 4
    assert overview("--since", "2024-03-02")["events"] == 22
    assert overview("--until", "2024-03-01T10:00:05Z")["events"] == 5
    assert overview("--since", "2024-03-02T11:30:00+02:00")["events"] == 14


def test_report_limit_option(lake: Path, tmp_path: Path) -> None:
    out = json.loads(ok(hf("report", "top-passwords", "--limit", "2", "--lake", str(lake), "--json", cwd=tmp_path)))
    assert [r["password"] for r in out] == ["123456", "admin"]


def test_report_bad_time_exits_2(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "overview", "--since", "yesterday-ish", "--lake", str(lake), cwd=tmp_path)
    assert p.returncode == 2
    assert "yesterday-ish" in p.stderr


def test_report_csv_timeline(lake: Path, tmp_path: Path) -> None:
    out = ok(hf("report", "--csv", "timeline", "--lake", str(lake), cwd=tmp_path))
    assert list(csv.reader(io.StringIO(out))) == [
        ["bucket", "events"],
        ["2024-03-01 10:00:00", "11"],
        ["2024-03-01 11:00:00", "6"],
        ["2024-03-02 09:00:00", "14"],
        ["2024-03-02 12:00:00", "4"],
        ["2024-03-02 22:00:00", "4"],
    ]


def test_report_csv_timeline_by_country_per_day(lake: Path, tmp_path: Path) -> None:
    out = ok(
        hf("report", "timeline", "--csv", "--bucket", "day", "--by-country", "--limit", "2", "--lake", str(lake),
           cwd=tmp_path)
    )  # fmt: skip
    assert list(csv.reader(io.StringIO(out))) == [
        ["bucket", "country", "events"],
        ["2024-03-01 00:00:00", "US", "11"],
        ["2024-03-01 00:00:00", "other", "6"],
        ["2024-03-02 00:00:00", "RU", "14"],
        ["2024-03-02 00:00:00", "US", "4"],
        ["2024-03-02 00:00:00", "other", "4"],
    ]


def test_report_csv_downloads_and_credentials(lake: Path, tmp_path: Path) -> None:
    out = list(csv.DictReader(io.StringIO(ok(hf("report", "downloads", "--csv", "--lake", str(lake), cwd=tmp_path)))))
    assert [(r["url"], r["count"], r["sensors"]) for r in out] == [
        ("http://evil.example/x", "2", "alpha,beta"),
        ("", "1", "beta"),
    ]
    out = list(
        csv.DictReader(io.StringIO(ok(hf("report", "top-credentials", "--csv", "--lake", str(lake), cwd=tmp_path))))
    )
    assert out[0] == {"username": "root", "password": "123456", "attempts": "4", "successes": "1"}


def test_report_bad_bucket_exits_2(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "timeline", "--bucket", "week", "--lake", str(lake), cwd=tmp_path)
    assert p.returncode == 2
    assert "bucket" in p.stderr


def test_report_csv_without_panel_exits_2(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "--csv", "--lake", str(lake), cwd=tmp_path)
    assert p.returncode == 2
    assert "--csv needs one panel name" in p.stderr


def test_unknown_panel_exits_2_naming_it(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "top-nothing", "--lake", str(lake), cwd=tmp_path)
    assert p.returncode == 2
    assert "unknown panel 'top-nothing'" in p.stderr
    assert "top-usernames" in p.stderr  # lists the known ones
    assert p.stdout == ""


def test_report_on_missing_lake_is_an_error(tmp_path: Path) -> None:
    p = hf("report", "top-ips", "--lake", "nowhere", "--json", cwd=tmp_path)
    assert p.returncode == 1 and p.stdout == ""
    assert "no lake at nowhere" in p.stderr  # more in test_cli_edges.py
    assert not (tmp_path / "nowhere").exists()  # reading does not create a lake


def test_report_on_an_empty_lake_directory_prints_empty_panels(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = json.loads(ok(hf("report", "top-ips", "--lake", "empty", "--json", cwd=tmp_path)))
    assert out == []


# ------------------------------------------------------------------- query


def test_query_json(lake: Path, tmp_path: Path) -> None:
    sql = "SELECT sensor, count(*) AS n FROM events GROUP BY 1 ORDER BY 1"
    out = json.loads(ok(hf("query", sql, "--lake", str(lake), "--json", cwd=tmp_path)))
    assert out == [{"sensor": "alpha", "n": 17}, {"sensor": "beta", "n": 18}, {"sensor": "gamma", "n": 4}]


def test_query_csv(lake: Path, tmp_path: Path) -> None:
    sql = "SELECT sensor, count(*) AS n, min(ts) AS first FROM events GROUP BY 1 ORDER BY 1"
    out = ok(hf("query", sql, "--lake", str(lake), "--csv", cwd=tmp_path))
    assert out == (
        "sensor,n,first\nalpha,17,2024-03-01 10:00:00\nbeta,18,2024-03-02 09:15:00\ngamma,4,2024-03-02 12:00:00\n"
    )


def test_query_human_table(lake: Path, tmp_path: Path) -> None:
    out = ok(hf("query", "SELECT count(*) AS n FROM events", "--lake", str(lake), cwd=tmp_path))
    assert "39" in out


def test_query_dead_letter_view_exists(lake: Path, tmp_path: Path) -> None:
    out = json.loads(
        ok(hf("query", "SELECT count(*) AS n FROM dead_letter", "--lake", str(lake), "--json", cwd=tmp_path))
    )
    assert out == [{"n": 0}]


@pytest.mark.parametrize("sql", ["SELEC broken", "SELECT * FROM no_such_table", "SELECT no_such_column FROM events"])
def test_bad_sql_exits_1_with_message(lake: Path, tmp_path: Path, sql: str) -> None:
    p = hf("query", sql, "--lake", str(lake), "--json", cwd=tmp_path)
    assert p.returncode == 1
    assert "query failed" in p.stderr
    assert "Traceback" not in p.stderr
    assert p.stdout == ""


# ------------------------------------------------------------ eventids, geoip, formats


def test_eventids_json_is_the_registry(tmp_path: Path) -> None:
    assert json.loads(ok(hf("eventids", "--json", cwd=tmp_path))) == EVENT_IDS


def test_eventids_human_lists_every_id(tmp_path: Path) -> None:
    out = ok(hf("eventids", cwd=tmp_path))
    for eid in EVENT_IDS:
        assert eid in out


def test_geoip_json(tmp_path: Path) -> None:
    out = json.loads(ok(hf("geoip", "8.8.8.8", "10.0.0.1", "::1", "--json", cwd=tmp_path)))
    assert [list(r) for r in out] == [GEO_SCHEMA.names] * 3
    assert [r["ip"] for r in out] == ["8.8.8.8", "10.0.0.1", "::1"]
    assert out[0]["src_country"] == "US"
    assert isinstance(out[0]["src_lat"], float) and isinstance(out[0]["src_lon"], float)
    if default_asn_db() is not None:
        assert out[0]["src_asn"] == 15169
    assert all(v is None for k, v in out[1].items() if k != "ip")
    assert all(v is None for k, v in out[2].items() if k != "ip")


def test_formats_lists_builtin_formats(tmp_path: Path) -> None:
    out = ok(hf("formats", cwd=tmp_path))
    assert "cowrie" in out and "honeyfarm" in out


# ------------------------------------------------------------- lake location


def _ingest_here(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> None:
    ok(hf("ingest", "logs", "--json", *extra, cwd=tmp_path, env=env))


def _lakes(tmp_path: Path) -> set[str]:
    """Directories under tmp_path that hold a lake (an events table with partitions)."""
    return {
        p.parent.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("events")
        if p.is_dir() and any(p.glob("date=*"))
    }


def test_lake_default_is_honeyfarm_data_in_cwd(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    _ingest_here(tmp_path)
    assert _lakes(tmp_path) == {"honeyfarm-data"}


def test_lake_from_config_file_beats_default(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    (tmp_path / "honeyfarm.toml").write_text('[lake]\npath = "from-config"\n')
    _ingest_here(tmp_path)
    assert _lakes(tmp_path) == {"from-config"}


def test_lake_from_env_beats_config_file(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    (tmp_path / "honeyfarm.toml").write_text('[lake]\npath = "from-config"\n')
    _ingest_here(tmp_path, env=cli_env(HONEYFARM_LAKE="from-env"))
    assert _lakes(tmp_path) == {"from-env"}


def test_lake_flag_beats_env_and_config_file(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    (tmp_path / "honeyfarm.toml").write_text('[lake]\npath = "from-config"\n')
    _ingest_here(tmp_path, "--lake", "from-flag", env=cli_env(HONEYFARM_LAKE="from-env"))
    assert _lakes(tmp_path) == {"from-flag"}


def test_lake_from_config_named_by_env_is_relative_to_the_config(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "hf.toml").write_text('[lake]\npath = "data"\n')
    _ingest_here(tmp_path, env=cli_env(HONEYFARM_CONFIG=str(tmp_path / "conf" / "hf.toml")))
    assert _lakes(tmp_path) == {"conf/data"}
    # report reads the same lake through --config
    out = json.loads(ok(hf("report", "overview", "--config", "conf/hf.toml", "--json", cwd=tmp_path)))
    assert out[0]["events"] == 39


def test_report_reads_the_lake_ingest_wrote_by_default(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs")
    _ingest_here(tmp_path)
    out = json.loads(ok(hf("report", "overview", "--json", cwd=tmp_path)))
    assert out[0]["events"] == 39


# -------------------------------------------------------------------- demo


def test_demo_generates_ingests_and_prints_panels_labelled_synthetic(tmp_path: Path) -> None:
    out = ok(hf("demo", "--dir", "D", "--events", "5000", "--no-live", cwd=tmp_path))
    assert "SYNTHETIC" in out
    # 5,000 Cowrie events + 250 VPC flow records + 62 Route 53 queries (events // 20, then // 4)
    assert "ingested 5,312 events (0 duplicates, 0 dead-letter)" in out
    for name in SUMMARY_PANELS:
        assert name in out, name
    assert "synthetic-" in out  # sensor names say it too
    assert any((tmp_path / "D" / "lake" / "events").glob("date=*/*.parquet"))
    # the dashboard was started on the demo lake (and stopped: stdout is not a terminal)
    assert re.search(r"Dashboard: http://127\.0\.0\.1:\d+/", out), out[-1500:]
    # the demo lake is a normal lake
    out = json.loads(ok(hf("report", "overview", "--lake", "D/lake", "--honeypot", "cowrie", "--json", cwd=tmp_path)))
    assert out[0]["sensor"] == "(all)" and out[0]["events"] == 5000
    ids = {r["eventid"] for r in json.loads(ok(hf("report", "eventids", "--lake", "D/lake", "--json", cwd=tmp_path)))}
    assert {"aws.vpcflow.accept", "aws.vpcflow.reject", "aws.route53.query"} <= ids


def test_demo_live_runs_the_real_traps_and_ingests_their_spool(tmp_path: Path) -> None:
    import hashlib

    from honeyfarm.demo.live import PAYLOAD

    out = ok(hf("demo", "--dir", "D", "--events", "1000", cwd=tmp_path))
    assert "live traps on loopback" in out
    assert re.search(r"ingested [1-9]\d* live events \(0 dead-letter\)", out), out[-2000:]
    lake = ["--lake", "D/lake", "--sensor", "live-demo", "--json"]
    creds = json.loads(ok(hf("report", "top-credentials", *lake, cwd=tmp_path)))
    assert {"username": "root", "password": "toor"}.items() <= next(c for c in creds if c["password"] == "toor").items()
    downloads = json.loads(ok(hf("report", "downloads", *lake, cwd=tmp_path)))
    assert hashlib.sha256(PAYLOAD).hexdigest() in {d["sha256"] for d in downloads}
    ids = {r["eventid"] for r in json.loads(ok(hf("report", "eventids", *lake, cwd=tmp_path)))}
    assert {"cowrie.client.kex", "cowrie.login.failed", "cowrie.command.input", "cowrie.log.closed"} <= ids
    # the exploit traps were attacked too, and each fetched the payload its exploit named
    assert {"http.request.received", "redis.file.write", "docker.container.create"} <= ids, ids
    urls = json.loads(ok(hf("report", "payload-urls", *lake, cwd=tmp_path)))
    fetched = {u["trap"] for u in urls if u["fetched"] and u["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()}
    assert {"ssh", "http", "redis", "docker", "elasticsearch"} <= fetched, urls
    # the captured payload is in the sensor's content-addressed store
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert (tmp_path / "D" / "live" / "spool" / "downloads" / sha[:2] / sha).read_bytes() == PAYLOAD
    # ... shipped to the demo's central store, and scanned from there (YARA and the demo's own clamd)
    assert (tmp_path / "D" / "live" / "objects" / "files" / "sha256" / sha[:2] / sha).read_bytes() == PAYLOAD
    # the Dionaea-class traps too: a worm's SMB copy and an FTP upload (each a variant of the payload, so
    # three files are scanned), an MSSQL login refused with 18456, a SIPVicious-style sweep
    assert {"smb.session.file_upload", "ftp.session.file_upload", "mssql.login.failed", "sip.request.received"} <= ids
    assert {"sip.login.failed", "smb.login.success", "ftp.login.success"} <= ids, ids
    from honeyfarm.demo.services import payload_for

    for trap in ("smb", "ftp"):
        s = hashlib.sha256(payload_for(trap)).hexdigest()
        assert (tmp_path / "D" / "live" / "objects" / "files" / "sha256" / s[:2] / s).read_bytes() == payload_for(trap)
    assert "yara: 3 malicious" in out and "clamav: 3 malicious" in out, out[-3000:]
    assert "virustotal: skipped: no API key (set $VT_API_KEY" in out
    files = json.loads(ok(hf("report", "malware-files", *lake, cwd=tmp_path)))
    row = next(r for r in files if r["sha256"] == sha)
    assert (row["status"], row["verdict"]) == ("scanned", "malicious"), row
    assert row["family"] == "Honeyfarm.Unix.Dropper.FetchChmodRun-1.UNOFFICIAL"  # ClamAV names it before YARA
    demo_serve_command_works(out, tmp_path)


def demo_serve_command_works(out: str, cwd: Path) -> None:
    """The ``serve`` line the demo prints, pasted into a shell, serves the demo lake with the demo's fleet facts
    (region, cost, location) and its TTY logs."""
    import httpx
    from webutil import free_port, listening

    from honeyfarm.demo.run import DEMO_FLEET

    hints = out[out.index("Try (") :].splitlines()
    cmd = next(h.strip() for h in hints if " serve --config " in h)
    assert " --ttylog-dir " in cmd and " --lake " in cmd, cmd
    port = free_port()
    proc = subprocess.Popen(["bash", "-c", f"exec {cmd} --port {port}"], cwd=cwd, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        for _ in range(300):
            if listening(port) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate(timeout=10)[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            assert c.get("/api/meta").json()["events"] > 0
            sensors = c.get("/api/sensors").json()["sensors"]
            by_name = {r[sensors["columns"].index("sensor")]: dict(zip(sensors["columns"], r, strict=True))
                       for r in sensors["rows"]}  # fmt: skip
            for name, facts in DEMO_FLEET.items():
                assert name in by_name, (name, sorted(by_name))
                for key in ("region", "exposure", "hourly_cost"):
                    if key in facts:
                        assert by_name[name][key] == facts[key], (name, key, by_name[name])
            where = c.get("/api/map").json()["sensors"]
            live = next(dict(zip(where["columns"], r, strict=True)) for r in where["rows"] if r[0] == "live-demo")
            assert (live["lat"], live["lon"]) == (DEMO_FLEET["live-demo"]["lat"], DEMO_FLEET["live-demo"]["lon"])
            cast = sorted((cwd / "D" / "live" / "spool" / "tty").glob("*.cast"))[0].stem
            ans = c.get("/api/session", params={"sensor": "live-demo", "session": cast}).json()
            assert ans["ttylog"] is True, ans
            frames = c.get("/api/session/ttylog", params={"sensor": "live-demo", "session": cast}).json()["frames"]
            assert frames, cast
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def _strict_json(text: str) -> Any:
    """Parse as RFC 8259 JSON: NaN and Infinity are not JSON (jq, JavaScript and most parsers reject them)."""

    def reject(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=reject)


def test_query_json_is_strict_json_even_for_nan_and_infinity(lake: Path, tmp_path: Path) -> None:
    sql = "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, '-inf'::DOUBLE AS c, 1.5 AS d"
    out = _strict_json(ok(hf("query", sql, "--lake", str(lake), "--json", cwd=tmp_path)))
    assert len(out) == 1 and set(out[0]) == {"a", "b", "c", "d"}


@pytest.mark.parametrize("args", [("report", "--json"), ("report", "top-ips", "--json"), ("eventids", "--json")])
def test_json_outputs_are_strict_json(lake: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    extra = ("--lake", str(lake)) if args[0] == "report" else ()
    _strict_json(ok(hf(*args, *extra, cwd=tmp_path)))
