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
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
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


def is_dionaea_sqlite(path: Path) -> bool:
    """An SQLite database with Dionaea's ``connections`` table."""
    try:
        with path.open("rb") as fh:
            if fh.read(16) != SQLITE_MAGIC:
                return False
        with _open(path) as con:
            return con.execute("SELECT 1 FROM sqlite_master WHERE name = 'connections'").fetchone() is not None
    except (OSError, sqlite3.Error):
        return False


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    con.row_factory = sqlite3.Row
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
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def records(path: Path, sensor: str | None = None) -> Iterator[dict[str, Any]]:
    """Every connection and child row of the database, as honeyfarm event records."""
    with _open(path) as con:
        tables = _tables(con)
        children: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for table in CHILDREN:
            if table not in tables:
                continue
            for row in con.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                d = {k: _text(row[k]) for k in row.keys()}  # noqa: SIM118 - sqlite3.Row
                conn_id = d.get("connection")
                if isinstance(conn_id, int):
                    children.setdefault(conn_id, []).append((table, d))
        mysql = _mysql_commands(con, tables)
        for conn_id, rec in mysql:
            children.setdefault(conn_id, []).append(("mysql_commands", rec))
        for row in con.execute("SELECT * FROM connections ORDER BY connection"):
            c = {k: _text(row[k]) for k in row.keys()}  # noqa: SIM118
            base = _connection_base(c, sensor)
            yield _connection_event(c, base)
            for table, child in children.get(int(c["connection"]), []):
                yield _child_event(table, child, base)


def _mysql_commands(con: sqlite3.Connection, tables: set[str]) -> list[tuple[int, dict[str, Any]]]:
    """MySQL commands with their arguments joined in order (``mysql_command_args``)."""
    if "mysql_commands" not in tables:
        return []
    ops: dict[Any, str] = {}
    if "mysql_command_ops" in tables:
        ops = {
            r[0]: r[1] for r in con.execute("SELECT mysql_command_cmd, mysql_command_op_name FROM mysql_command_ops")
        }
    args: dict[int, list[str]] = {}
    if "mysql_command_args" in tables:
        q = (
            "SELECT mysql_command, mysql_command_arg_data FROM mysql_command_args "
            "ORDER BY mysql_command, mysql_command_arg_index"
        )
        for cmd, data in con.execute(q):
            args.setdefault(cmd, []).append(str(_text(data)))
    out = []
    for row in con.execute("SELECT * FROM mysql_commands ORDER BY mysql_command"):
        d = {k: _text(row[k]) for k in row.keys()}  # noqa: SIM118
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


def convert(path: Path, out: Path, sensor: str | None = None) -> int:
    """Write the database's events to ``out`` as JSON lines (atomically); return how many."""
    from honeyfarm.lake.durable import atomic_write_bytes

    lines = [
        json.dumps(r, ensure_ascii=True, sort_keys=True, separators=(",", ":"), default=str)
        for r in records(path, sensor)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, ("\n".join(lines) + "\n").encode() if lines else b"")
    return len(lines)
