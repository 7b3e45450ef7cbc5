# SPDX-License-Identifier: MIT
"""Dionaea JSON logs (the ``log_json`` ihandler's ``dionaea.json``).

``log_json`` writes one JSON object per *connection*, when the connection is
freed: ``connection{protocol, transport, type}``, ``src_ip``/``src_port``,
``dst_ip``/``dst_port``, ``src_hostname``, a naive-UTC ``timestamp``, and, when
the services saw them, ``credentials`` (FTP, MSSQL, MySQL logins),
``ftp.commands`` and ``p0f``. Each record is one event:

* ``dionaea.login`` when it carries credentials (``username``/``password`` are
  the first pair; every pair stays in ``extra.credentials``);
* else ``dionaea.ftp.command`` when it carries FTP commands;
* else ``dionaea.connection.<type>`` for ``accept``, ``connect``, ``listen`` and
  ``reject``, ``dionaea.connection.other`` for a type not known here.

FTP commands (``CMD args`` lines, newline-separated) fill ``command`` on
either of the first two. ``connection`` stays whole in ``extra`` (it holds
Dionaea's own service name, e.g. ``httpd``); ``protocol`` is the protocol that
service speaks (``httpd`` -> ``http``, ``smbd`` -> ``smb``, ``mssqld`` ->
``mssql``, ...; unknown names as-is, lower case).

Drift handled here:

* ``flat_data = true`` writes ``credentials`` as ``{"username": [..],
  "password": [..]}`` and ``ftp.commands`` as ``{"command": [..], "arguments":
  [..]}`` (arguments joined by spaces) instead of lists of objects: both read;
* ``timestamp`` is naive UTC ISO 8601 (``datetime.utcnow().isoformat()``):
  read as UTC; one with an offset (``Z``, ``+02:00``) is converted to UTC;
  forks writing epoch milliseconds (a number) are read too;
* forks write ``dest_ip``/``dest_port`` instead of ``dst_ip``/``dst_port``;
* IPv4-mapped IPv6 (``::ffff:1.2.3.4``, Dionaea listening on ``::``) is
  unwrapped to the IPv4 address;
* blank lines (present in real files) are skipped by the pipeline, not
  dead-lettered.

Sensor: ``log_json`` names no Dionaea instance (its config has no such
setting, and ``dst_ip`` is whatever address Dionaea listened on, often a
container's), so ``sensor`` stays empty here and the ``[fleet]`` mapping of the
file (path, S3 key, log group) names it; without one the views show
"(no sensor)".

Rejected (dead-letter, with a reason): lines that are not JSON objects, records
without ``connection`` (an object) or without a usable ``timestamp``, with
non-integer ports or non-string addresses.
"""

from __future__ import annotations

import json

from honeyfarm.formats.base import (
    IPV4_MAPPED,
    OBJECT_CHECK,
    Format,
    check_cast,
    null_patch,
    project,
    struct_spec,
)
from honeyfarm.sql import sql_str

#: ``connection.type`` values (log_json's ``_serialize_connection`` callers).
CONNECTION_TYPES: dict[str, str] = {
    "accept": "A client connected to a Dionaea service (inbound connection); nothing else was logged on it.",
    "connect": "Dionaea opened a connection (e.g. to fetch a payload); nothing else was logged on it.",
    "listen": "Dionaea started listening on a port (service start).",
    "reject": "An inbound connection was rejected.",
}
# Meanings are in the eventid registry (honeyfarm/eventids.py) and docs/eventids.md.
EVENT_IDS: tuple[str, ...] = (
    "dionaea.connection.accept",
    "dionaea.connection.connect",
    "dionaea.connection.listen",
    "dionaea.connection.reject",
    "dionaea.connection.other",
    "dionaea.login",
    "dionaea.ftp.command",
)
#: Dionaea service (module) name -> the protocol it speaks (also used for MHN sessions, formats/mhn.py).
SERVICE_PROTOCOLS: dict[str, str] = {
    "httpd": "http", "smbd": "smb", "ftpd": "ftp", "tftpd": "tftp", "mssqld": "mssql", "mysqld": "mysql",
    "mongod": "mongodb", "sipd": "sip", "pptpd": "pptp", "mqttd": "mqtt", "upnpd": "upnp", "memcached": "memcached",
    "printerd": "ipp", "redisd": "redis", "nfqmirrord": "nfqmirror",
}  # fmt: skip

_FIELDS = {
    "timestamp": "JSON",
    "connection": "JSON",
    "src_ip": "JSON",
    "src_port": "VARCHAR",
    "dst_ip": "JSON",
    "dst_port": "VARCHAR",
    "dest_ip": "JSON",
    "dest_port": "VARCHAR",
    "credentials": "JSON",
    "ftp": "JSON",
}
_MAPPED = ["timestamp", "src_ip", "src_port", "dst_ip", "dst_port", "dest_ip", "dest_port"]
_STRINGS = ("src_ip", "dst_ip", "dest_ip")

# First credential pair: a list of {"username", "password"} objects, or (flat_data) an object of lists.
_CRED = (
    "CASE json_type(r.credentials) WHEN 'ARRAY' THEN r.credentials ->> '$[0].{k}' "
    "WHEN 'OBJECT' THEN CASE json_type(r.credentials -> '$.{k}') WHEN 'ARRAY' THEN r.credentials ->> '$.{k}[0]' "
    "ELSE r.credentials ->> '$.{k}' END END"
)
_HAS_CREDS = (
    "(CASE json_type(r.credentials) WHEN 'ARRAY' THEN json_array_length(r.credentials) > 0 "
    "WHEN 'OBJECT' THEN coalesce(r.credentials -> '$.username', r.credentials -> '$.password') IS NOT NULL "
    "ELSE false END)"
)
# One `CMD args` line per FTP command; `arguments` is a list (joined by spaces) or a string.
_ARGS = (
    "CASE json_type({a}) WHEN 'ARRAY' THEN array_to_string(CAST({a} AS VARCHAR[]), ' ') "
    "WHEN 'NULL' THEN NULL ELSE {a} ->> '$' END"
)
_ARG_X = _ARGS.format(a="(x -> '$.arguments')")
_FTP_LIST = (
    "array_to_string(list_transform(CAST(c AS JSON[]), lambda x: trim(coalesce(x ->> '$.command', '') || ' ' || "
    f"coalesce({_ARG_X}, ''))), e'\\n')"
)
_FTP_FLAT = (
    "array_to_string(list_transform(range(json_array_length(c -> '$.command')::BIGINT), lambda i: trim("
    "coalesce(c ->> ('$.command[' || i || ']'), '') || ' ' || coalesce(c ->> ('$.arguments[' || i || ']'), ''))), "
    "e'\\n')"
)
_FTP_COMMANDS = (
    f"CASE json_type(c) WHEN 'ARRAY' THEN {_FTP_LIST} "
    f"WHEN 'OBJECT' THEN CASE WHEN json_type(c -> '$.command') = 'ARRAY' THEN {_FTP_FLAT} END END"
)


def _text(field: str) -> str:
    return f"(r.{field} ->> '$')"


class DionaeaJsonFormat(Format):
    name = "dionaea"
    description = "Dionaea JSON log (log_json ihandler, dionaea.json)"
    priority = 40
    eventids = frozenset(EVENT_IDS)

    def detect(self, sample: list[bytes]) -> bool:
        for raw in sample[:20]:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict):
                con = rec.get("connection")
                return (
                    isinstance(con, dict)
                    and "type" in con
                    and "transport" in con
                    and "timestamp" in rec
                    and "src_ip" in rec
                    and "eventid" not in rec
                )
        return False

    def select_sql(self, lines: str) -> str:
        ctype = "lower(r.connection ->> '$.type')"
        known = ", ".join(sql_str(t) for t in CONNECTION_TYPES)
        service = "lower(r.connection ->> '$.protocol')"
        protocols = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in SERVICE_PROTOCOLS.items())
        eventid = (
            f"CASE WHEN {_HAS_CREDS} THEN 'dionaea.login' "
            "WHEN p.ftp_commands IS NOT NULL AND p.ftp_commands <> '' THEN 'dionaea.ftp.command' "
            f"WHEN {ctype} IN ({known}) THEN 'dionaea.connection.' || {ctype} ELSE 'dionaea.connection.other' END"
        )
        extra = (
            f"nullif(CASE WHEN _reason IS NOT NULL THEN NULL ELSE json_merge_patch(line, {null_patch(_MAPPED)}) "
            "END::VARCHAR, '{}')"
        )
        cols = project(
            {
                "ts": "p.ts",
                "eventid": eventid,
                "source_format": "'dionaea'",
                "src_ip": IPV4_MAPPED.format(e=_text("src_ip")),
                "src_port": "TRY_CAST(r.src_port AS INTEGER)",
                "dst_ip": IPV4_MAPPED.format(e=f"coalesce({_text('dst_ip')}, {_text('dest_ip')})"),
                "dst_port": "TRY_CAST(coalesce(r.dst_port, r.dest_port) AS INTEGER)",
                "transport": "lower(r.connection ->> '$.transport')",
                "protocol": f"CASE {service} {protocols} ELSE {service} END",
                "username": _CRED.format(k="username"),
                "password": _CRED.format(k="password"),
                "command": "nullif(p.ftp_commands, '')",
                "extra": extra,
            }
        )
        checks = "\n    ".join(
            [
                check_cast("r.src_port", "src_port"),
                check_cast("r.dst_port", "dst_port"),
                check_cast("r.dest_port", "dest_port"),
                *(
                    f"WHEN r.{f} IS NOT NULL AND json_type(r.{f}) NOT IN ('VARCHAR', 'NULL') THEN '{f}: not a string'"
                    for f in _STRINGS
                ),
            ]
        )
        ts_text = "(r.timestamp ->> '$')"
        ts = (
            "CASE WHEN json_type(r.timestamp) IN ('UBIGINT', 'BIGINT', 'DOUBLE') "
            "THEN make_timestamp(TRY_CAST(TRY_CAST(r.timestamp AS DOUBLE) * 1000 AS BIGINT)) "
            f"WHEN json_type(r.timestamp) = 'VARCHAR' THEN TRY_CAST({ts_text} AS TIMESTAMPTZ)::TIMESTAMP END"
        )
        return f"""
WITH parsed AS (
  SELECT _row, line, {OBJECT_CHECK} AS is_object, try(json_transform(line, {struct_spec(_FIELDS)})) AS r
  FROM {lines}
), p AS (
  SELECT *, {ts} AS ts, r.ftp -> '$.commands' AS c FROM parsed
), p2 AS (
  SELECT *, try({_FTP_COMMANDS}) AS ftp_commands FROM p
), checked AS (
  SELECT *, CASE
    WHEN r IS NULL THEN 'invalid JSON'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN r.connection IS NULL OR json_type(r.connection) = 'NULL' THEN 'missing connection'
    WHEN json_type(r.connection) <> 'OBJECT' THEN 'connection: not an object'
    WHEN r.timestamp IS NOT NULL AND json_type(r.timestamp) <> 'NULL' AND ts IS NULL
      THEN 'unparseable timestamp: ' || left(coalesce({ts_text}, r.timestamp::VARCHAR), 64)
    {checks}
  END AS _reason FROM p2
)
SELECT _row, _reason,
  {cols}
FROM checked p
"""
