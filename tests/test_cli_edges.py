# SPDX-License-Identifier: MIT
"""A new user's rough edges (issue 10, item 7), each run through the real CLI as a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from fixture_events import EVENTS, build_lake, write_logs
from lakeutil import cli_env, hf

import honeyfarm
from honeyfarm.formats import registry

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = (
    "ingest",
    "query",
    "report",
    "demo",
    "sensor",
    "serve",
    "replay",
    "compact",
    "formats",
    "eventids",
    "geoip",
    "ship",
    "scan",
)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    assert "Traceback" not in p.stderr, p.stderr
    return p.stdout


def one_line_error(p: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a failed command (no traceback, no usage box, nothing on stdout)."""
    assert p.returncode == code, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert p.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("edges"))


# ------------------------------------------------------------ version, help, formats


def test_version_prints_the_version(tmp_path: Path) -> None:
    assert ok(hf("--version", cwd=tmp_path)) == f"honeyfarm {honeyfarm.__version__}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_python_type_placeholders(tmp_path: Path, command: str) -> None:
    out = ok(hf(command, "--help", cwd=tmp_path))
    assert not re.search(r"<[a-z][\w\[\], ]*>", out), out


def test_progress_help_says_when_the_bar_shows(tmp_path: Path) -> None:
    out = ok(hf("ingest", "--help", cwd=tmp_path))
    assert "[default: progress]" not in out
    assert "when it is a terminal" in out and "--no-progress: never" in out


def test_formats_are_sorted_with_aligned_descriptions(tmp_path: Path) -> None:
    lines = ok(hf("formats", cwd=tmp_path)).splitlines()
    names = [line.split()[0] for line in lines]
    assert names == sorted(registry())
    starts = {len(line) - len(registry()[n].description) for line, n in zip(lines, names, strict=True)}
    assert len(starts) == 1, lines  # every description starts in the same column


# ------------------------------------------------------------ missing lake


@pytest.mark.parametrize("command", [("report",), ("report", "top-ips", "--json"), ("query", "SELECT 1"), ("compact",)])
@pytest.mark.parametrize("source", ["--lake", "$HONEYFARM_LAKE", "config", "default"])
def test_a_missing_lake_is_an_error_naming_where_and_why(tmp_path: Path, command: tuple[str, ...], source: str) -> None:
    args, env = list(command), cli_env()
    if source == "--lake":
        args += ["--lake", "nowhere"]
    elif source == "$HONEYFARM_LAKE":
        env = cli_env(HONEYFARM_LAKE="nowhere")
    elif source == "config":
        (tmp_path / "honeyfarm.toml").write_text('[lake]\npath = "nowhere"\n')
    line = one_line_error(hf(*args, cwd=tmp_path, env=env), 1)
    looked = "honeyfarm-data" if source == "default" else "nowhere"
    assert f"no lake at {looked}" in line and str(tmp_path / looked) in line
    why = {"--lake": "--lake", "$HONEYFARM_LAKE": "$HONEYFARM_LAKE", "config": "[lake] path in honeyfarm.toml"}
    assert why.get(source, "the default") in line, line
    assert not (tmp_path / looked).exists()  # reading does not create a lake


# ------------------------------------------------------------ report options, geoip


def test_negative_limit_is_a_one_line_usage_error(lake: Path, tmp_path: Path) -> None:
    line = one_line_error(hf("report", "top-ips", "--limit", "-5", "--lake", str(lake), cwd=tmp_path), 2)
    assert "--limit" in line and "-5" in line


def test_limit_zero_means_no_limit(lake: Path, tmp_path: Path) -> None:
    every = json.loads(ok(hf("report", "top-ips", "--limit", "0", "--lake", str(lake), "--json", cwd=tmp_path)))
    assert len(every) == len({e["src_ip"] for e in EVENTS}) > 2
    two = json.loads(ok(hf("report", "top-ips", "--limit", "2", "--lake", str(lake), "--json", cwd=tmp_path)))
    assert two == every[:2]
    assert "0 = no limit" in ok(hf("report", "--help", cwd=tmp_path))


@pytest.mark.parametrize(
    ("since", "until"), [("2024-03-02", "2024-03-01"), ("2024-03-01T10:00:00", "2024-03-01T10:00:00+00:00")]
)
def test_since_not_before_until_is_an_error(lake: Path, tmp_path: Path, since: str, until: str) -> None:
    p = hf("report", "--since", since, "--until", until, "--lake", str(lake), cwd=tmp_path)
    assert "is not before --until" in one_line_error(p, 2)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--since", "9999-12-31T23:00:01Z"), ("--since", "0001-01-01T00:00:00+01:00"), ("--until", "1970-01-01")],
)
def test_a_time_outside_the_accepted_window_is_a_one_line_error(
    lake: Path, tmp_path: Path, option: str, value: str
) -> None:
    # These used to end in an OverflowError traceback (date arithmetic past year 9999 or before year 1).
    p = hf("report", "overview", option, value, "--lake", str(lake), cwd=tmp_path)
    assert one_line_error(p, 2).startswith(f"error: {option}: must lie within [1990-01-01T00:00:00Z, ")


def test_a_bad_time_is_a_one_line_error_naming_the_option(lake: Path, tmp_path: Path) -> None:
    p = hf("report", "--until", "yesterday", "--lake", str(lake), cwd=tmp_path)
    assert one_line_error(p, 2) == "error: --until: not an ISO 8601 date or time: 'yesterday'"


def test_geoip_of_a_non_address_is_a_one_line_error(tmp_path: Path) -> None:
    line = one_line_error(hf("geoip", "8.8.8.8", "notanip", cwd=tmp_path), 2)
    assert "not an IP address: 'notanip'" in line


# ------------------------------------------------------------ ingest arguments


@pytest.mark.parametrize("json_out", [False, True])
def test_ingest_of_a_glob_matching_nothing_fails_and_leaves_no_lake(tmp_path: Path, json_out: bool) -> None:
    p = hf("ingest", "logs/*.json", "--lake", "L", *(["--json"] if json_out else []), cwd=tmp_path)
    assert p.returncode == 1
    assert "no file matches logs/*.json" in p.stderr and "nothing ingested" in p.stderr
    assert "ingested 0 events" not in p.stdout
    if json_out:
        assert json.loads(p.stdout)["errors"] == ["no file matches logs/*.json"]
    assert not (tmp_path / "L").exists()


def test_ingest_of_an_empty_directory_fails_and_leaves_no_lake(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    p = hf("ingest", "empty", "--lake", "L", cwd=tmp_path)
    assert p.returncode == 1
    assert "empty holds no files" in p.stderr
    assert not (tmp_path / "L").exists()


def test_ingest_of_a_missing_path_leaves_no_lake(tmp_path: Path) -> None:
    p = hf("ingest", "nope.json", "--lake", "L", cwd=tmp_path)
    assert p.returncode == 1 and "no such file or directory: nope.json" in p.stderr
    assert not (tmp_path / "L").exists()


def test_ingest_of_a_sensor_spool_reads_its_events_only(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    write_logs(spool / "events", [e for e in EVENTS if e["_fmt"] == "honeyfarm"])
    (spool / "keys").mkdir()
    (spool / "keys" / "ssh_host_ed25519_key").write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    (spool / "keys" / "ssh_host_ed25519_key.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 root@sensor\n")
    (spool / "tty").mkdir()
    (spool / "tty" / "aaaa0001.cast").write_text('{"version": 2}\n[0.1, "o", "$ "]\n')
    (spool / "downloads" / "ab").mkdir(parents=True)
    (spool / "downloads" / "ab" / ("ab" * 32)).write_bytes(b"\x7fELF\x00binary")
    out = json.loads(ok(p := hf("ingest", "spool", "--lake", "L", "--json", cwd=tmp_path)))
    assert (out["ingested"], out["dead_letter"], out["files"], out["errors"]) == (4, 0, 1, [])
    assert "spool is a sensor spool: reading its events from spool/events" in p.stderr


# ------------------------------------------------------------ tables without a terminal


def test_tables_without_a_terminal_keep_values_whole(lake: Path, tmp_path: Path) -> None:
    sha, ip6 = "f" * 64, "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"
    sql = (
        f"SELECT '{ip6}' AS src_ip, TIMESTAMP '2026-11-01 01:02:03' AS ts, '{sha}' AS sha256, "
        "12322 AS asn, 443 AS dst_port, 1234567 AS events, repeat('free text ', 12) AS note"
    )
    env = cli_env()
    del env["COLUMNS"]  # what a pipe or a file gets: rich would assume 80 columns
    out = ok(hf("query", sql, "--lake", str(lake), cwd=tmp_path, env=env))
    row = next(line for line in out.splitlines() if ip6 in line)
    for value in (sha, "2026-11-01 01:02:03", "│ 12322 │", "│      443 │", "1,234,567"):
        assert value in row, out
    assert "12,322" not in out


def test_table_width_follows_columns_when_set(lake: Path, tmp_path: Path) -> None:
    sql = "SELECT repeat('word ', 40) AS note"
    out = ok(hf("query", sql, "--lake", str(lake), cwd=tmp_path, env=cli_env(COLUMNS="60")))
    assert max(len(line) for line in out.splitlines()) <= 60


# ------------------------------------------------------------ the demo and the README


def test_demo_hints_work_when_pasted_and_it_says_the_dashboard_stopped(tmp_path: Path) -> None:
    out = ok(hf("demo", "--dir", "D", "--events", "2000", "--no-live", cwd=tmp_path, timeout=300))
    assert "Dashboard stopped: --serve-for 0 (the default when stdout is not a terminal)" in out
    hints = out[out.index("Try (") :].splitlines()[1:]
    export = next(h.strip() for h in hints if h.strip().startswith("export HONEYFARM_LAKE="))
    for cmd in [h.strip() for h in hints if " report " in h or " query " in h]:
        # pasted into a shell in a fresh directory, as a user would after `cd`
        other = tmp_path / "elsewhere"
        other.mkdir(exist_ok=True)
        script = f"{export}\n{cmd} --json"
        p = subprocess.run(["bash", "-c", script], cwd=other, env=cli_env(), capture_output=True, text=True)
        assert p.returncode == 0, (script, p.stderr)
        assert json.loads(p.stdout), script


def test_readme_commands_are_one_per_line_and_say_where_honeyfarm_is() -> None:
    text = README.read_text(encoding="utf-8")
    for line in text.splitlines():
        assert not re.search(r"honeyfarm \w+[^#]*\| *(\.venv/bin/)?honeyfarm", line), line
    assert ".venv/bin/honeyfarm" in text and "source .venv/bin/activate" in text


def test_readme_says_what_the_demo_does_without_a_terminal() -> None:
    assert "not a terminal" in README.read_text(encoding="utf-8")
