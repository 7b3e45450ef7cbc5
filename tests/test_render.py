# SPDX-License-Identifier: MIT
"""Attacker-controlled strings are rendered safely: terminal escapes, CSV formulas, JSON.

The hostile values go through the real path: a Cowrie log on disk, ``ingest``,
the lake, then the ``honeyfarm`` command as a subprocess.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from lakeutil import cli_env
from rich.console import Console

from honeyfarm.config import Config
from honeyfarm.pipeline import ingest
from honeyfarm.views.render import (
    CELL_CAP,
    csv_cell,
    escape_terminal,
    print_table,
    to_csv_string,
    write_csv,
    write_json,
)

ANSI_USER = "\x1b[31mred\x1b]0;title\x07"  # SGR colour + OSC set-window-title terminated by BEL
CSI_USER = "\x9b2J"  # C1 CSI: "clear screen" on terminals that honour 8-bit controls
BIDI_USER = "evil\u202etxt.exe"  # right-to-left override
DEL_USER = "del\x7fete"
MARKUP_USER = "[bold red]loud[/bold red]:smile:"
CYRILLIC_USER = "пользователь"
FORMULAS = ['=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "\tTAB"]
# A carriage return inside a value: a CSV reader (and a spreadsheet) ends the row there unless the cell is quoted.
CR_VALUES = ["\rCR", "x\r=1+1"]
HOSTILE_USERS = [ANSI_USER, CSI_USER, BIDI_USER, DEL_USER, MARKUP_USER, CYRILLIC_USER]


def hf_bytes(*args: str, cwd: Path, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    p = subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", *args],
        cwd=cwd, env=environ or cli_env(), capture_output=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("render")
    t0 = dt.datetime(2024, 5, 1, 12, 0, 0)
    lines: list[str] = []

    def add(eventid: str, **fields: str) -> None:
        ts = (t0 + dt.timedelta(seconds=len(lines))).isoformat() + "Z"
        rec = {"eventid": eventid, "timestamp": ts, "src_ip": "8.8.8.8", "session": f"s{len(lines)}", "sensor": "s1"}
        lines.append(json.dumps(rec | fields))

    for i, user in enumerate(HOSTILE_USERS):
        for _ in range(i + 1):  # distinct attempt counts give a stable order
            add("cowrie.login.failed", username=user, password="x")
    for pw in [*FORMULAS, "plain", *CR_VALUES]:
        add("cowrie.login.failed", username="root", password=pw)
    add("cowrie.command.input", input="echo " + ANSI_USER + CSI_USER)
    log = root / "cowrie.json"
    # json.dumps writes \u001b escapes; the lake must hold the decoded control characters.
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # One line that is not UTF-8 and carries raw ESC / 0x9b bytes: it goes to dead_letter.
    with log.open("ab") as f:
        f.write(b'{"eventid":"cowrie.login.failed","x":"\x1b[2J\x9b2J\xff"}\n')
    result = ingest([str(log)], Config(), root / "lake")
    assert result.ingested == len(lines) and result.dead_letter == 1
    return root / "lake"


def assert_no_raw_controls(out: bytes) -> None:
    assert b"\x1b" not in out
    assert b"\x07" not in out
    text = out.decode("utf-8")
    for ch in ("\x1b", "\x07", "\x9b", "\x7f", "\u202e"):
        assert ch not in text, repr(ch)


def test_lake_holds_the_decoded_control_characters(lake: Path) -> None:
    from honeyfarm.lake.store import Lake

    con = Lake(lake).connect()
    users = {r[0] for r in con.sql("SELECT DISTINCT username FROM events").fetchall()}
    assert ANSI_USER in users and CSI_USER in users and BIDI_USER in users


def test_report_table_shows_control_characters_escaped(lake: Path, tmp_path: Path) -> None:
    out = hf_bytes("report", "top-usernames", "--lake", str(lake), cwd=tmp_path).stdout
    assert_no_raw_controls(out)
    text = out.decode("utf-8")
    assert "\\x1b[31mred\\x1b]0;title\\x07" in text
    assert "\\x9b2J" in text
    assert "evil\\u202etxt.exe" in text
    assert "del\\x7fete" in text
    assert MARKUP_USER in text  # rich markup in data is printed, not interpreted
    assert CYRILLIC_USER in text  # ordinary non-ASCII text is left alone


def test_report_summary_and_commands_escape_too(lake: Path, tmp_path: Path) -> None:
    out = hf_bytes("report", "--lake", str(lake), cwd=tmp_path).stdout
    assert_no_raw_controls(out)
    assert "echo \\x1b[31mred" in out.decode("utf-8")


def test_no_attacker_sequence_survives_even_with_forced_colour(lake: Path, tmp_path: Path) -> None:
    # With colour forced, rich emits its own SGR codes; the attacker's must still be escaped.
    out = hf_bytes(
        "report", "top-usernames", "--lake", str(lake), cwd=tmp_path, environ=cli_env(FORCE_COLOR="1")
    ).stdout
    assert b"\x1b[31mred" not in out
    assert b"\x1b]0;" not in out
    assert b"\x07" not in out
    assert "\x9b" not in out.decode("utf-8")
    assert "\u202e" not in out.decode("utf-8")


def test_query_table_escapes_values_and_column_names(lake: Path, tmp_path: Path) -> None:
    sql = "SELECT chr(27) || '[2J' AS \"\x1b]0;hdr\x07\", username FROM events WHERE username = chr(155) || '2J'"
    out = hf_bytes("query", sql, "--lake", str(lake), cwd=tmp_path).stdout
    assert_no_raw_controls(out)
    text = out.decode("utf-8")
    assert "\\x1b[2J" in text and "\\x1b]0;hdr\\x07" in text and "\\x9b2J" in text


def test_dead_letter_raw_bytes_are_not_sent_to_the_terminal(lake: Path, tmp_path: Path) -> None:
    out = hf_bytes("query", "SELECT reason, raw FROM dead_letter", "--lake", str(lake), cwd=tmp_path).stdout
    assert_no_raw_controls(out)
    assert b"invalid UTF-8" in out
    js = hf_bytes("query", "SELECT raw FROM dead_letter", "--lake", str(lake), "--json", cwd=tmp_path).stdout
    assert max(js) < 0x80
    assert json.loads(js)[0]["raw"].startswith('{"eventid"')


# ----------------------------------------------------------------------- CSV


def test_report_csv_prefixes_formulas_with_a_quote(lake: Path, tmp_path: Path) -> None:
    out = hf_bytes("report", "top-passwords", "--csv", "--limit", "50", "--lake", str(lake), cwd=tmp_path).stdout
    got = {r["password"]: r for r in csv.DictReader(io.StringIO(out.decode("utf-8"), newline=""))}
    for f in FORMULAS:
        assert "'" + f in got, (f, list(got))
        assert f not in got
    assert "plain" in got and "x" in got  # harmless values are untouched
    assert got["'-1"]["attempts"] == "1"  # numbers are numbers, not prefixed


def test_query_csv_prefixes_formulas_with_a_quote(lake: Path, tmp_path: Path) -> None:
    sql = "SELECT password, -1 AS n FROM events WHERE username = 'root' AND NOT contains(password, chr(13)) ORDER BY ts"
    out = hf_bytes("query", sql, "--csv", "--lake", str(lake), cwd=tmp_path).stdout.decode("utf-8")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == ["password", "n"]
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS] + ["plain"]
    assert {r[1] for r in rows[1:]} == {"-1"}


@pytest.mark.parametrize("value", [*FORMULAS, "\rCR", "=1+1", "@x", "-", "+"])
def test_csv_cell_neutralises_formula_strings(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (-1, "-1"),
        (-2.5, "-2.5"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (dt.datetime(2024, 3, 1, 10, 0, 0), "2024-03-01 10:00:00"),
        (b"\x00\xff", "00ff"),
    ],
)
def test_csv_cell_leaves_non_formulas_alone(value: Any, expected: str) -> None:
    assert csv_cell(value) == expected


def test_csv_carriage_return_in_a_value_cannot_start_a_new_row(lake: Path, tmp_path: Path) -> None:
    out = hf_bytes("report", "top-passwords", "--csv", "--limit", "50", "--lake", str(lake), cwd=tmp_path).stdout
    rows = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    header, data = rows[0], rows[1:]
    assert header == ["password", "attempts", "successes"]
    assert all(len(r) == 3 for r in data), data
    values = [r[0] for r in data]
    assert "'\rCR" in values and "x\r=1+1" in values
    assert not [v for v in values if v.startswith(("=", "+", "-", "@"))]


def test_write_csv_quotes_carriage_returns() -> None:
    text = to_csv_string(pa.table({"p": ["x\r=1+1", "\rCR", "a\nb"]}))
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["p"], ["x\r=1+1"], ["'\rCR"], ["a\nb"]]


def test_write_csv_neutralises_header_and_cells() -> None:
    table = pa.table({"=cmd": ["=1+2", "ok"], "n": [-3, 4]})
    buf = io.StringIO()
    write_csv(table, buf)
    assert list(csv.reader(io.StringIO(buf.getvalue()))) == [["'=cmd", "n"], ["'=1+2", "-3"], ["ok", "4"]]
    assert to_csv_string(table) == buf.getvalue()


# ---------------------------------------------------------------------- JSON


def test_report_json_is_ascii_only_and_round_trips(lake: Path, tmp_path: Path) -> None:
    out = hf_bytes("report", "top-usernames", "--json", "--lake", str(lake), cwd=tmp_path).stdout
    assert max(out) < 0x80
    users = {r["username"] for r in json.loads(out)}
    assert set(HOSTILE_USERS) <= users


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--json"),
        ("report", "top-commands", "--json"),
        ("query", "SELECT username, password, command FROM events", "--json"),
    ],
)
def test_every_json_output_is_ascii_only(lake: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    out = hf_bytes(*args, "--lake", str(lake), cwd=tmp_path).stdout
    assert max(out) < 0x80
    json.loads(out)


def test_write_json_escapes_everything_outside_ascii() -> None:
    buf = io.StringIO()
    write_json(pa.table({"u": [ANSI_USER, CSI_USER, BIDI_USER, CYRILLIC_USER]}), buf)
    s = buf.getvalue()
    assert s.isascii()
    assert [r["u"] for r in json.loads(s)] == [ANSI_USER, CSI_USER, BIDI_USER, CYRILLIC_USER]


# --------------------------------------------------------------- unit level


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("\x9b2J", "\\x9b2J"),
        ("a\x00b", "a\\x00b"),
        ("bell\x07", "bell\\x07"),
        ("line\nbreak\r", "line\\x0abreak\\x0d"),
        ("\u202eabc\u2066", "\\u202eabc\\u2066"),
        ("café ✓", "café ✓"),
        # invisible characters, as the web UI shows them: zero-width space/joiner, BOM,
        # soft hyphen, Arabic letter mark, line separator, Hangul filler, a tag character
        ("ad\u200bmin\u200d", "ad\\u200bmin\\u200d"),
        ("\ufeffroot\xad", "\\ufeffroot\\xad"),
        ("\u061cx\u2028y\u3164", "\\u061cx\\u2028y\\u3164"),
        ("a\U000e0041", "a\\ue0041"),
    ],
)
def test_escape_terminal(raw: str, shown: str) -> None:
    assert escape_terminal(raw) == shown


def test_escape_terminal_caps_after_escaping() -> None:
    out = escape_terminal("\x1b" * 200)
    assert len(out) == CELL_CAP and out.endswith("…")
    assert "\x1b" not in out
    assert escape_terminal("a" * CELL_CAP) == "a" * CELL_CAP


def test_print_table_renders_no_raw_control_characters() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=200, force_terminal=True, color_system="standard")
    table = pa.table({"user\x1b": [ANSI_USER, CSI_USER], "n": [1, 2]})
    print_table(table, console, "top-usernames")
    out = buf.getvalue()
    assert "\x1b]0;" not in out and "\x07" not in out and "\x9b" not in out and "\x1b[31mred" not in out
    assert "\\x1b[31mred" in out


def test_print_table_says_no_data_for_an_empty_table() -> None:
    buf = io.StringIO()
    print_table(pa.table({"a": pa.array([], pa.string())}), Console(file=buf, width=100), "top-x")
    assert "top-x: no data" in buf.getvalue()
