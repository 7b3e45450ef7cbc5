# SPDX-License-Identifier: MIT
"""Dionaea's ``logsql`` SQLite database, read as events.

Dionaea's richest log is not a line format: ``logsql`` keeps one row per
connection in ``connections`` and hangs everything else — logins, downloads,
offers, MSSQL/MySQL commands, p0f fingerprints, DCE/RPC binds and requests,
DNS resolves, emulator profiles, SIP and MQTT commands — off it by
``connection`` id; child connections (e.g. the FTP data channel of a
download) point at their first connection through ``connection_root``.

This module turns a database into honeyfarm event records (the honeyfarm
JSON-lines format, so the usual mapping, dead-letter, dedup and checkpoint
path applies): one ``dionaea.connection.<type>`` event per connection and one
event per child row, all with ``session`` = ``dionaea-<connection_root>``, so
a connection and everything that happened on it group together. Records are
written in a stable order (connection id, then table, then row id) with stable
JSON, so re-converting a database that has grown gives the same lines for old
rows: their ``event_id`` repeats and ingest drops them as duplicates.

The database is opened read-only (``mode=ro``): Dionaea may be writing it.
Tables a Dionaea build does not have are skipped; unknown columns go to ``extra``.

A damaged database (a disk error, a copy taken mid-write) is read as far as it
reads: each table row by row in rowid order, skipping past pages that do not
read, and what was skipped is returned as a list of problems for the caller to
report. A database whose schema itself does not read raises
:class:`DamagedDatabase`; it is never mistaken for "not a database".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SQLITE_MAGIC = b"SQLite format 3\x00"

#: child table → (eventid, {column: event field}) ; other columns land in extra.
CHILDREN: dict[str, tuple[str, dict[str, str]]] = {
    "logins": ("dionaea.login.success", {"login_username": "username", "login_password": "password"}),
    "downloads": ("dionaea.session.file_download", {"download_url": "url", "download_md5_hash": "md5"}),
    "offers": ("dionaea.offer", {"offer_url": "url"}),
    "mssql_commands": ("dionaea.mssql.command.input", {"mssql_command_cmd": "command"}),
    "mssql_fingerprints": ("dionaea.mssql.fingerprint", {"mssql_fingerprint_appname": "client_version"}),
    "p0fs": ("dionaea.p0f.fingerprint", {}),
    "dcerpcbinds": ("dionaea.dcerpc.bind", {}),
    "dcerpcrequests": ("dionaea.dcerpc.request", {}),
    "resolves": ("dionaea.resolve", {}),
    "emu_profiles": ("dionaea.emu.profile", {}),
    "emu_services": ("dionaea.emu.service", {"emu_service_url": "url"}),
    "sip_commands": ("dionaea.sip.command", {"sip_command_user_agent": "client_version"}),
    "mqtt_fingerprints": ("dionaea.mqtt.fingerprint", {}),
    "mqtt_publish_commands": ("dionaea.mqtt.publish", {}),
    "mqtt_subscribe_commands": ("dionaea.mqtt.subscribe", {}),
}

#: Dionaea module name → protocol (as in its JSON log).
PROTOCOLS = {
    "httpd": "http", "smbd": "smb", "ftpd": "ftp", "ftpdatacon": "ftp-data", "ftpdata": "ftp-data",
    "tftpd": "tftp", "mssqld": "mssql", "mysqld": "mysql", "mongod": "mongodb", "sipd": "sip",
    "pptpd": "pptp", "mqttd": "mqtt", "upnpd": "upnp", "epmapper": "dcerpc", "printerd": "ipp",
}  # fmt: skip

CONNECTION_TYPES = ("accept", "connect", "listen", "reject")


#: What a damaged database raises while it is read (sqlite3 decodes its own error messages too).
_READ_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError, ValueError)
_MIN_ROWID = -(1 << 63)
_MAX_ROWID = (1 << 63) - 1
#: Rowids in a gap left by an unreadable page that are still tried one by one (beyond: reported as a range).
_GAP_PROBE = 100_000


class DamagedDatabase(Exception):
    """An SQLite file whose header or schema does not read."""


def is_dionaea_sqlite(path: Path) -> bool:
    """An SQLite database with Dionaea's ``connections`` table (False, never an exception, if it does not read)."""
    try:
        return sqlite_kind(path) == "dionaea"
    except DamagedDatabase:
        return False


def sqlite_kind(path: Path) -> str | None:
    """``"dionaea"``, ``"other"`` (an SQLite database without Dionaea's tables) or None (not SQLite).

    Raises :class:`DamagedDatabase` for an SQLite file whose schema cannot be read.
    """
    try:
        with path.open("rb") as fh:
            if fh.read(16) != SQLITE_MAGIC:
                return None
    except OSError:
        return None
    try:
        with contextlib.closing(_open(path)) as con:
            return "dionaea" if "connections" in _tables(con) else "other"
    except _READ_ERRORS as exc:
        raise DamagedDatabase(_why(exc)) from None


def _why(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "unreadable schema (not UTF-8)"
    return str(exc) or type(exc).__name__


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    # Text as bytes, decoded by _text: a damaged page's text must not make a whole row unreadable.
    con.text_factory = bytes
    return con


def _ts(value: Any) -> str | None:
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _ip(value: Any) -> str | None:
    if not value:
        return None
    s = str(value)
    return s[7:] if s.lower().startswith("::ffff:") and "." in s else s


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


def _tables(con: sqlite3.Connection) -> set[str]:
    return {str(_text(r[0])) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@dataclass
class Problem:
    """Rows of one table that could not be read."""

    table: str
    first_rowid: int
    last_rowid: int | None  # None: to the end of the table
    reason: str
    rows: int | None = None  # how many rows, when they were tried one by one

    def describe(self) -> str:
        start = "" if self.first_rowid == _MIN_ROWID else f" from rowid {self.first_rowid}"
        upto = "" if self.last_rowid is None else f" to {self.last_rowid}"
        which = "all rows" if not start and not upto else f"{self.rows:,} rows" if self.rows else "rows"
        return f"table {self.table}: {which}{start}{upto} unreadable ({self.reason})"


def _rows(con: sqlite3.Connection, table: str, problems: list[Problem]) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` that reads, in rowid order; unreadable rows go to ``problems``.

    A scan stops at the first page that does not read; the scan then resumes at
    the next rowid whose page reads, and the rows in between are tried one by one
    (a lookup by rowid takes another path through the tree, and often succeeds).
    """
    lo = _MIN_ROWID
    select = f'SELECT rowid AS "_hf_rowid", * FROM "{table}"'
    while True:
        progressed = False
        try:
            for row in con.execute(f"{select} WHERE rowid >= ? ORDER BY rowid", (lo,)):
                lo = row["_hf_rowid"] + 1
                progressed = True
                yield {k: _text(row[k]) for k in row.keys() if k != "_hf_rowid"}  # noqa: SIM118 - sqlite3.Row
            return
        except _READ_ERRORS as exc:
            reason = _why(exc)
            # No progress means the row at `lo` itself does not read: look past it.
            nxt = _next_readable(con, table, lo if progressed else lo + 1)
            end = nxt if nxt is not None else _max_rowid(con, table)
            if nxt == lo:
                continue  # its seek reads but the row did not: the next round looks past it
            if end is None or end - lo > _GAP_PROBE:
                problems.append(Problem(table, lo, None if end is None else end - 1, reason))
            else:
                lost: list[int] = []
                for rowid in range(lo, end + (nxt is None)):
                    try:
                        row = con.execute(f"{select} WHERE rowid = ?", (rowid,)).fetchone()
                    except _READ_ERRORS:
                        lost.append(rowid)
                        continue
                    if row is not None:
                        yield {k: _text(row[k]) for k in row.keys() if k != "_hf_rowid"}  # noqa: SIM118
                if lost:
                    problems.append(Problem(table, lost[0], lost[-1], reason, len(lost)))
            if nxt is None:
                return
            lo = nxt


def _max_rowid(con: sqlite3.Connection, table: str) -> int | None:
    try:
        row = con.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()
    except _READ_ERRORS:
        return None
    return None if row is None or row[0] is None else int(row[0])


def _next_readable(con: sqlite3.Connection, table: str, start: int) -> int | None:
    """The first rowid at or after ``start`` whose page reads (None if none does)."""

    def first_from(at: int) -> int | None:
        row = con.execute(f'SELECT rowid FROM "{table}" WHERE rowid >= ? ORDER BY rowid LIMIT 1', (at,)).fetchone()
        return None if row is None else int(row[0])

    bad, step = start - 1, 1
    while True:  # probe further and further until a seek lands on a page that reads
        probe = min(start + step - 1, _MAX_ROWID)
        try:
            found = first_from(probe)
            break
        except _READ_ERRORS:
            if probe >= _MAX_ROWID:
                return None
            bad, step = probe, step * 2
    good = probe
    while good - bad > 1:  # then back to the earliest seek that still reads
        mid = (bad + good) // 2
        try:
            found_mid = first_from(mid)
        except _READ_ERRORS:
            bad = mid
        else:
            good, found = mid, found_mid
    return found


def records(path: Path, sensor: str | None = None, problems: list[Problem] | None = None) -> Iterator[dict[str, Any]]:
    """Every connection and child row of the database, as honeyfarm event records.

    Rows that do not read are skipped and described in ``problems``.
    """
    problems = [] if problems is None else problems
    with contextlib.closing(_open(path)) as con:
        try:
            tables = _tables(con)
        except _READ_ERRORS as exc:
            raise DamagedDatabase(_why(exc)) from None
        children: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for table in CHILDREN:
            if table not in tables:
                continue
            for d in _rows(con, table, problems):
                conn_id = d.get("connection")
                if isinstance(conn_id, int):
                    children.setdefault(conn_id, []).append((table, d))
        mysql = _mysql_commands(con, tables, problems)
        for conn_id, rec in mysql:
            children.setdefault(conn_id, []).append(("mysql_commands", rec))
        # Dionaea's `connection` is the INTEGER PRIMARY KEY: rowid order is connection order.
        for c in _rows(con, "connections", problems):
            base = _connection_base(c, sensor)
            yield _connection_event(c, base)
            for table, child in children.get(int(c["connection"]), []):
                yield _child_event(table, child, base)


def _mysql_commands(
    con: sqlite3.Connection, tables: set[str], problems: list[Problem]
) -> list[tuple[int, dict[str, Any]]]:
    """MySQL commands with their arguments joined in order (``mysql_command_args``)."""
    if "mysql_commands" not in tables:
        return []
    ops: dict[Any, Any] = {}
    if "mysql_command_ops" in tables:
        for r in _rows(con, "mysql_command_ops", problems):
            ops[r.get("mysql_command_cmd")] = r.get("mysql_command_op_name")
    args: dict[Any, list[str]] = {}
    if "mysql_command_args" in tables:
        rows = sorted(
            _rows(con, "mysql_command_args", problems),
            key=lambda r: (r.get("mysql_command") or 0, r.get("mysql_command_arg_index") or 0),
        )
        for r in rows:
            args.setdefault(r.get("mysql_command"), []).append(str(r.get("mysql_command_arg_data")))
    out = []
    for d in sorted(_rows(con, "mysql_commands", problems), key=lambda r: r.get("mysql_command") or 0):
        d["op"] = ops.get(d.get("mysql_command_cmd"))
        d["command"] = " ".join(args.get(d["mysql_command"], [])) or None
        if isinstance(d.get("connection"), int):
            out.append((d["connection"], d))
    return out


def _connection_base(c: dict[str, Any], sensor: str | None) -> dict[str, Any]:
    module = str(c.get("connection_protocol") or "")
    base: dict[str, Any] = {
        "ts": _ts(c.get("connection_timestamp")),
        "session": f"dionaea-{c.get('connection_root') or c.get('connection')}",
        "src_ip": _ip(c.get("remote_host")),
        "src_port": c.get("remote_port"),
        "dst_ip": _ip(c.get("local_host")),
        "dst_port": c.get("local_port"),
        "transport": c.get("connection_transport"),
        "protocol": PROTOCOLS.get(module, module or None),
        "source_format": "dionaea_sqlite",
    }
    if sensor:
        base["sensor"] = sensor
    return base


def _connection_event(c: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    kind = str(c.get("connection_type") or "")
    eventid = f"dionaea.connection.{kind}" if kind in CONNECTION_TYPES else "dionaea.connection.other"
    extra = {k: v for k, v in c.items() if v not in (None, "")}
    return {**base, "eventid": eventid, "extra": extra}


def _child_event(table: str, child: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    if table == "mysql_commands":
        eventid, mapping = "dionaea.mysql.command.input", {"command": "command"}
    else:
        eventid, mapping = CHILDREN[table]
    rec: dict[str, Any] = {**base, "eventid": eventid}
    extra: dict[str, Any] = {"table": table}
    for k, v in child.items():
        if k in mapping and (v is not None and (v != "" or mapping[k] in ("username", "password"))):
            # An empty password is a credential (MSSQL's `sa` with none is a classic), not a gap.
            field = mapping[k]
            if field in ("md5",):
                extra[field] = v
            else:
                rec[field] = v
        elif k != "connection" and v not in (None, "") and k not in ("command",):
            extra[k] = v
    rec["extra"] = extra
    return rec


def convert(path: Path, out: Path, sensor: str | None = None, problems: list[Problem] | None = None) -> int:
    """Write the database's events to ``out`` as JSON lines (atomically); return how many.

    Rows of a damaged database that do not read are described in ``problems``.
    """
    from honeyfarm.lake.durable import atomic_write_bytes

    lines = [
        json.dumps(r, ensure_ascii=True, sort_keys=True, separators=(",", ":"), default=str)
        for r in records(path, sensor, problems)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, ("\n".join(lines) + "\n").encode() if lines else b"")
    return len(lines)


@dataclass
class Converted:
    """What :func:`convert_into` made of one Dionaea database."""

    out: Path | None  # the JSON-lines file; None when nothing could be read
    problems: list[Problem]
    #: Why the database is damaged (None if it read whole), for one error line.
    damage: str | None


def convert_into(path: Path, directory: Path) -> Converted | None:
    """Convert a Dionaea database to ``directory/dionaea-<hash of its path>.jsonl`` (the same name every run,
    so its checkpoint holds); None if ``path`` is not one. A damaged database gives what reads."""
    import hashlib

    try:
        if sqlite_kind(path) != "dionaea":
            return None
        digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:16]
        out = directory / f"dionaea-{digest}.jsonl"
        problems: list[Problem] = []
        n = convert(path, out, problems=problems)
    except DamagedDatabase as exc:
        return Converted(None, [], f"{exc}; nothing could be read")
    if not problems:
        return Converted(out, [], None)
    lost = "; ".join(p.describe() for p in problems)
    return Converted(out, problems, f"{lost}; read the {n:,} events that do")
