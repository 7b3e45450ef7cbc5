# SPDX-License-Identifier: MIT
"""What Dionaea logged on the Internet, and what honeyfarm's own traps log for the same kind of session.

The samples in ``../shared/samples/dionaea_sqlite`` and ``dionaea_json`` are real Dionaea logs: SMB,
FTP and MSSQL connections, an FTP login (``pi`` / ``1``), files a worm wrote over SMB (md5 only).
Each kind of session is replayed with a real client against the sensor's SMB, FTP and MSSQL traps on
loopback (impacket's SMB client, Python's ftplib, impacket's TDS client), both logs are ingested by
the same pipeline, and the facts an analyst reads are compared in the honeyfarm schema: the
application protocol, the transport, the role of the port, the credentials, a file hash for a file
written over SMB, one connection event per connection. Differences that are by design are stated
where they are checked (ports: the traps listen on free loopback ports; hashes: Dionaea's SQLite
keeps md5, the traps sha256, and the md5 of what the trap stored is compared in kind).
"""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lakeutil import hf, query
from sensorutil import free_port, run_sensor, wait_port

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
SQLITE = SAMPLES / "dionaea_sqlite" / "andri-x99-skripsi_2020-02.dionaea.sqlite"
JSON = SAMPLES / "dionaea_json" / "hary654321-dionaea_2024-05.dionaea.json"
WORM = b"MZ\x90\x00" + b"honeyfarm parity test: a worm's copy of itself\n" * 40


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return p.stdout


pytestmark = [
    pytest.mark.skipif(
        not (SQLITE.exists() and JSON.exists()), reason=f"Dionaea samples not found under {SAMPLES} (../shared absent)"
    ),
    # impacket 0.13's TDS client builds its TLS context with the deprecated ssl.SSLContext() (the client's issue)
    pytest.mark.filterwarnings("ignore:ssl.SSLContext\\(\\) without protocol argument:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(Dionaea's lake, the traps' lake, the traps' content store)."""
    work = tmp_path_factory.mktemp("parity")
    ok(hf("ingest", str(SQLITE), str(JSON), "--lake", "dionaea", cwd=work))
    ports = {name: free_port() for name in ("smb", "ftp", "mssql")}
    over = {f"sensor.{n}": {"enabled": True, "listen": [f"127.0.0.1:{p}"]} for n, p in ports.items()}
    over["sensor.smb"]["netbios_listen"] = []
    over["sensor.ftp"]["anonymous"] = False
    (work / "sensor").mkdir()
    with run_sensor(work / "sensor", over) as sp:
        for p in ports.values():
            wait_port(p, proc=sp.proc)
        _replay(ports)
        sp.wait_for(lambda evs: sum(e["eventid"].endswith(".session.closed") for e in evs) >= 4, timeout=20)
    ok(hf("ingest", str(work / "sensor" / "spool" / "events"), "--lake", "traps", cwd=work))
    yield work / "dionaea", work / "traps", work / "sensor" / "spool" / "downloads"


def _replay(ports: dict[str, int]) -> None:
    from impacket.smbconnection import SMBConnection
    from impacket.tds import MSSQL

    # FTP: the login Dionaea recorded (pi / 1).
    ftp = ftplib.FTP(timeout=10)
    ftp.connect("127.0.0.1", ports["ftp"])
    with contextlib.suppress(ftplib.error_perm):
        ftp.login("pi", "1")
    with contextlib.suppress(Exception):
        ftp.quit()
    # SMB: a worm logs in and writes itself to a share.
    smb = SMBConnection("HOST", "127.0.0.1", sess_port=ports["smb"], timeout=10)
    smb.login("Administrator", "123456")
    smb.putFile("C$", "Windows\\Temp\\worm.exe", io.BytesIO(WORM).read)
    smb.close()
    # MSSQL: a brute forcer's connection (prelogin + login).
    ms = MSSQL("127.0.0.1", ports["mssql"])
    ms.connect()
    try:
        ms.login(None, "sa", "sa")
    finally:
        ms.disconnect()


def _one(lake: Path, sql: str) -> list[tuple[object, ...]]:
    return query(lake, sql)


@pytest.mark.parametrize("protocol", ["smb", "ftp", "mssql"])
def test_a_connection_is_one_connect_event_with_the_same_protocol_and_transport(
    lakes: tuple[Path, Path, Path], protocol: str
) -> None:
    dionaea, traps, _ = lakes
    theirs = _one(
        dionaea,
        "SELECT DISTINCT protocol, transport, dst_port FROM events "
        f"WHERE eventid = 'dionaea.connection.accept' AND protocol = '{protocol}'",
    )
    assert theirs, f"the samples hold no {protocol} connection"
    ours = _one(
        traps,
        f"SELECT protocol, transport, count(*), count(DISTINCT session) FROM events "
        f"WHERE eventid = '{protocol}.session.connect' GROUP BY ALL",
    )
    assert [(p, t) for p, t, *_ in ours] == [(protocol, "tcp")]
    assert {t for _p, t, _port in theirs} == {"tcp"}
    _p, _t, n, sessions = ours[0]
    assert n == sessions  # one connect event per connection, as Dionaea's one `connections` row
    # Each connection also ends with a closed event carrying its duration (Dionaea keeps no end time).
    closed = _one(traps, f"SELECT count(*) FROM events WHERE eventid = '{protocol}.session.closed' AND duration >= 0")
    assert closed[0][0] == n


def test_the_ftp_login_dionaea_saw_is_logged_with_the_same_credentials(lakes: tuple[Path, Path, Path]) -> None:
    dionaea, traps, _ = lakes
    theirs = _one(dionaea, "SELECT protocol, username, password FROM events WHERE eventid LIKE 'dionaea.login%'")
    assert ("ftp", "pi", "1") in theirs
    ours = _one(traps, "SELECT protocol, username, password FROM events WHERE eventid LIKE 'ftp.login.%'")
    assert ours == [("ftp", "pi", "1")]


def test_a_file_written_over_smb_is_a_hashed_file_of_that_session(lakes: tuple[Path, Path, Path]) -> None:
    dionaea, traps, store = lakes
    theirs = _one(
        dionaea,
        "SELECT protocol, json_extract_string(extra, '$.md5') FROM events "
        "WHERE eventid = 'dionaea.session.file_download'",
    )
    assert theirs and all(p == "smb" and md5 and len(md5) == 32 for p, md5 in theirs)
    ours = _one(
        traps,
        "SELECT protocol, sha256, session IN (SELECT session FROM events WHERE eventid = 'smb.session.connect') "
        "FROM events WHERE eventid = 'smb.session.file_upload'",
    )
    sha = hashlib.sha256(WORM).hexdigest()
    assert ours == [("smb", sha, True)]
    # Dionaea names the file by md5; the trap keeps the bytes, so the same fact is there too.
    kept = (store / sha[:2] / sha).read_bytes()
    assert hashlib.md5(kept).hexdigest() == hashlib.md5(WORM).hexdigest()


def test_the_mssql_login_is_a_credential_event_where_dionaea_had_none(lakes: tuple[Path, Path, Path]) -> None:
    """Dionaea's JSON sample logs only the MSSQL connection; its mssqld also logs logins (`logins`
    table) — the trap logs the LOGIN7 user and de-obfuscated password as a credential event."""
    _dionaea, traps, _ = lakes
    ours = _one(traps, "SELECT eventid, username, password FROM events WHERE eventid LIKE 'mssql.login.%'")
    assert ours == [("mssql.login.failed", "sa", "sa")]
