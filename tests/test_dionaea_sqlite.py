# SPDX-License-Identifier: MIT
"""Dionaea's logsql SQLite database: one event per connection plus one per child row.

The real database in ``../shared/samples/dionaea_sqlite`` is used when present;
a database built here with Dionaea's own table layout covers the child tables
the sample leaves empty, and growth between two ingests.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lakeutil import query

from honeyfarm.collect.dionaea_sqlite import is_dionaea_sqlite, records

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "dionaea_sqlite"
SAMPLE = SAMPLES / "andri-x99-skripsi_2020-02.dionaea.sqlite"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason=f"../shared/samples not present: {SAMPLE} is missing")

CHILD_TABLES = ("logins", "downloads", "offers", "mssql_commands", "p0fs", "mysql_commands")


def hf(*args: str, cwd: Path) -> dict[str, Any]:
    p = subprocess.run([sys.executable, "-m", "honeyfarm.cli", *args], cwd=cwd, capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout) if "--json" in args else {}


def _expected(db: Path) -> int:
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM connections").fetchone()[0]
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in CHILD_TABLES:
        if t in tables:
            n += con.execute(
                f"SELECT count(*) FROM {t} WHERE connection IN (SELECT connection FROM connections)"
            ).fetchone()[0]
    con.close()
    return int(n)


@needs_sample
def test_real_database_ingests_one_event_per_connection_and_child_row(tmp_path: Path) -> None:
    db = tmp_path / "dionaea.sqlite"
    shutil.copy(SAMPLE, db)
    assert is_dionaea_sqlite(db)
    expected = _expected(db)
    assert expected == 518 + 4  # 518 connections, 2 downloads, 2 logins (SOURCES.md)
    out = hf("ingest", str(db), "--lake", "lake", "--json", cwd=tmp_path)
    assert out["ingested"] == expected and out["dead_letter"] == 0
    rows = query(tmp_path / "lake", "SELECT eventid, count(*) FROM events GROUP BY 1 ORDER BY 1")
    counts = dict(rows)
    assert counts["dionaea.login.success"] == 2 and counts["dionaea.session.file_download"] == 2
    assert sum(v for k, v in counts.items() if k.startswith("dionaea.connection.")) == 518
    login = query(
        tmp_path / "lake",
        "SELECT username, password, src_ip, dst_port, protocol, transport, session, source_format "
        "FROM events WHERE eventid = 'dionaea.login.success' ORDER BY ts LIMIT 1",
    )[0]
    assert login == ("pi", "1", "10.33.109.241", 21, "ftp", "tcp", "dionaea-513", "dionaea_sqlite")
    md5 = query(tmp_path / "lake", "SELECT extra->>'md5' FROM events WHERE eventid LIKE '%file_download' ORDER BY 1")
    assert [m[0] for m in md5] == ["8afc64fece6c138c37f7b62318add61b", "a55b9addb2447db1882a3ae995a70151"]
    # again: nothing new
    again = hf("ingest", str(db), "--lake", "lake", "--json", cwd=tmp_path)
    assert again["ingested"] == 0


def _make_db(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE connections (connection INTEGER PRIMARY KEY, connection_type TEXT, connection_transport TEXT,
            connection_protocol TEXT, connection_timestamp INTEGER, connection_root INTEGER, connection_parent INTEGER,
            local_host TEXT, local_port INTEGER, remote_host TEXT, remote_hostname TEXT, remote_port INTEGER);
        CREATE TABLE logins (login INTEGER PRIMARY KEY, connection INTEGER, login_username TEXT, login_password TEXT);
        CREATE TABLE downloads (download INTEGER PRIMARY KEY, connection INTEGER, download_url TEXT,
            download_md5_hash TEXT);
        CREATE TABLE offers (offer INTEGER PRIMARY KEY, connection INTEGER, offer_url TEXT);
        CREATE TABLE mssql_commands (mssql_command INTEGER PRIMARY KEY, connection INTEGER,
            mssql_command_status TEXT, mssql_command_cmd TEXT);
        CREATE TABLE p0fs (p0f INTEGER PRIMARY KEY, connection INTEGER, p0f_genre TEXT, p0f_link TEXT,
            p0f_detail TEXT, p0f_uptime INTEGER, p0f_tos TEXT, p0f_dist INTEGER, p0f_nat INTEGER, p0f_fw INTEGER);
        CREATE TABLE mysql_commands (mysql_command INTEGER PRIMARY KEY, connection INTEGER,
            mysql_command_cmd NUMBER NOT NULL);
        CREATE TABLE mysql_command_args (mysql_command_arg INTEGER PRIMARY KEY, mysql_command INTEGER,
            mysql_command_arg_index NUMBER NOT NULL, mysql_command_arg_data TEXT NOT NULL);
        CREATE TABLE mysql_command_ops (mysql_command_op INTEGER PRIMARY KEY, mysql_command_cmd INTEGER NOT NULL,
            mysql_command_op_name TEXT NOT NULL);
        INSERT INTO mysql_command_ops VALUES (1, 3, 'COM_QUERY');
        INSERT INTO connections VALUES
            (1, 'accept', 'tcp', 'smbd', 1700000000.25, 1, NULL, '::ffff:10.0.0.5', 445,
             '::ffff:198.51.100.7', '', 50000),
            (2, 'connect', 'tcp', 'ftpdatacon', 1700000001, 1, 1, '10.0.0.5', 40001, '198.51.100.7', '', 20),
            (3, 'accept', 'tcp', 'mssqld', 1700000002, 3, NULL, '10.0.0.5', 1433, '203.0.113.9', '', 51000),
            (4, 'accept', 'tcp', 'mysqld', 1700000003, 4, NULL, '10.0.0.5', 3306, '203.0.113.10', '', 52000);
        INSERT INTO offers VALUES (1, 1, 'http://198.51.100.7/x.exe');
        INSERT INTO downloads VALUES (1, 2, 'ftp://198.51.100.7/x.exe', 'd41d8cd98f00b204e9800998ecf8427e');
        INSERT INTO logins VALUES (1, 3, 'sa', '');
        INSERT INTO mssql_commands VALUES (1, 3, 'success', 'exec xp_cmdshell ''whoami''');
        INSERT INTO p0fs VALUES (1, 3, 'Windows', 'ethernet', 'XP', 0, '0', 12, 0, 0);
        INSERT INTO mysql_commands VALUES (1, 4, 3);
        INSERT INTO mysql_command_args VALUES (1, 1, 0, 'SELECT @@version');
        """
    )
    con.commit()
    con.close()


def test_child_tables_map_and_link_through_the_connection_root(tmp_path: Path) -> None:
    db = tmp_path / "logsql.sqlite"
    _make_db(db)
    recs = list(records(db))
    assert len(recs) == 4 + 6
    by = {r["eventid"]: r for r in recs}
    assert by["dionaea.offer"]["url"] == "http://198.51.100.7/x.exe"
    dl = by["dionaea.session.file_download"]
    # the FTP data connection (2) belongs to the SMB connection (1): same session
    assert dl["session"] == by["dionaea.offer"]["session"] == "dionaea-1"
    assert dl["url"] == "ftp://198.51.100.7/x.exe" and dl["extra"]["md5"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert by["dionaea.mssql.command.input"]["command"] == "exec xp_cmdshell 'whoami'"
    assert by["dionaea.mysql.command.input"]["command"] == "SELECT @@version"
    assert by["dionaea.mysql.command.input"]["extra"]["op"] == "COM_QUERY"
    assert by["dionaea.login.success"]["username"] == "sa" and by["dionaea.login.success"]["password"] == ""
    assert by["dionaea.p0f.fingerprint"]["extra"]["p0f_genre"] == "Windows"
    first = recs[0]
    assert first["src_ip"] == "198.51.100.7" and first["dst_ip"] == "10.0.0.5"  # ::ffff: unwrapped
    assert first["ts"] == "2023-11-14T22:13:20.250000Z" and first["protocol"] == "smb"


def test_a_growing_database_ingests_only_what_is_new(tmp_path: Path) -> None:
    db = tmp_path / "logsql.sqlite"
    _make_db(db)
    out = hf("ingest", str(db), "--lake", "lake", "--json", cwd=tmp_path)
    assert out["ingested"] == 10 and out["dead_letter"] == 0
    con = sqlite3.connect(db)
    con.execute("INSERT INTO connections VALUES (5, 'accept', 'tcp', 'httpd', 1700000100, 5, NULL, "
                "'10.0.0.5', 80, '192.0.2.1', '', 53000)")  # fmt: skip
    con.execute("INSERT INTO logins VALUES (2, 1, 'admin', 'admin')")  # a child of an old connection
    con.commit()
    con.close()
    out = hf("ingest", str(db), "--lake", "lake", "--json", cwd=tmp_path)
    assert out["ingested"] == 2
    total = query(tmp_path / "lake", "SELECT count(*), count(DISTINCT event_id) FROM events")[0]
    assert total == (12, 12)


def test_other_sqlite_files_are_not_taken_for_dionaea(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    assert not is_dionaea_sqlite(db)
    text = tmp_path / "x.json"
    text.write_text('{"a": 1}\n')
    assert not is_dionaea_sqlite(text)
