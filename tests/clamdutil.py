# SPDX-License-Identifier: MIT
"""A real ``clamd`` for the ClamAV tests, with a signature database the test builds itself.

Debian 12's clamd (package clamav-daemon, installed by ``scripts/install-system-deps.sh``,
never run as a service here) is started in the foreground as a child of the test, on a free
127.0.0.1 TCP port *and* a unix socket in a temporary directory, with no freshclam and no
official signatures: ``sigtool --md5`` turns the EICAR file into an ``.hdb`` hash signature
and an ``.ndb`` body signature matches a marker string. Small limits (stream, file size) make
clamd's own refusals testable in milliseconds. Readiness is ``PING`` → ``PONG``, bounded.
Starting and stopping is :mod:`honeyfarm.malware.localclamd`'s (the demo and bench/scan.py use it too).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import malwarefiles as mf

from honeyfarm.malware import localclamd
from honeyfarm.malware.localclamd import LocalClamd, clamd_missing, ping

__all__ = ["BODY_SIG", "Clamd", "build_db", "clamd_missing", "ping", "run_clamd"]

#: Name of the .ndb body signature (clamd reports it with ".UNOFFICIAL" appended).
BODY_SIG = "Honeyfarm.Test.Body-1"
STREAM_MAX = 2 * 1024 * 1024
MAX_FILE = 4 * 1024 * 1024
#: Less than a zip bomb inflates to: clamd stops and answers Heuristics.Limits.Exceeded.MaxScanSize.
MAX_SCAN = 3 * 1024 * 1024

Clamd = LocalClamd


def build_db(db: Path) -> None:
    """EICAR by MD5 (``sigtool --md5``) and a body signature for :data:`malwarefiles.CLAM_BODY_MARKER`."""
    localclamd.build_db(db, project_signatures=False)
    (db / "honeyfarm-test.ndb").write_text(f"{BODY_SIG}:0:*:{mf.CLAM_BODY_MARKER.encode().hex()}\n")


@contextmanager
def run_clamd(workdir: Path, timeout: float = 60.0) -> Iterator[LocalClamd]:
    """clamd on 127.0.0.1:<free port> and ``workdir/clamd.sock`` with the test DB and small limits."""
    workdir.mkdir(parents=True, exist_ok=True)
    build_db(workdir / "db")
    limits = {
        "StreamMaxLength": str(STREAM_MAX),
        "MaxFileSize": str(MAX_FILE),
        "MaxScanSize": str(MAX_SCAN),
        "MaxRecursion": "8",
    }
    with localclamd.run_clamd(workdir, workdir / "db", settings=limits, timeout=timeout) as c:
        yield c
