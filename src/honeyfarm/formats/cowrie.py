# SPDX-License-Identifier: MIT
"""Cowrie JSON logs (``cowrie.json``), every release from 2017 to 2026.

Drift handled here, seen in real logs (``../shared/samples/cowrie_json``):

* ``duration`` is a float (1.x), a string such as ``"2.8"`` (2.6+), or
  replaced by integer ``duration_ms`` (3.x);
* the SSH kex lists ride on ``cowrie.client.version`` in old logs; the HASSH
  is computed from them then, as Cowrie computes it (md5 of
  ``kex;enc;mac;comp``), so old and new logs share a ``hassh`` column;
* timestamps end in ``Z`` or ``+0000`` (or carry another offset);
* ``system`` / ``isError`` keys (Twisted log fields) in 1.x logs are kept in
  ``extra``; ``protocol`` is derived from ``system`` when absent;
* ``message`` is sometimes a list: it is not mapped, so it stays in ``extra``
  as it was;
* 1.x logs (2017-2019) write the SSH client banner as a Python bytes repr,
  ``b'SSH-2.0-Go'``: ``client_version`` holds the decoded text (:func:`decode_bytes_repr`);
  bytes that are not UTF-8 stay as ``\\xNN`` escapes. The repr itself stays in ``message``.
"""

from __future__ import annotations

import json

from honeyfarm.formats.base import IPV4_MAPPED, LINE_HASH, Format, check_cast, json_lines_select, null_patch, project

# Fields read out of every record. Typed fields are read as text and cast with
# TRY_CAST, so a wrong type is a dead-letter reason instead of a silent NULL.
_FIELDS = {
    "timestamp": "VARCHAR",
    "eventid": "VARCHAR",
    "sensor": "VARCHAR",
    "session": "VARCHAR",
    "src_ip": "VARCHAR",
    "src_port": "VARCHAR",
    "dst_ip": "VARCHAR",
    "dst_port": "VARCHAR",
    "protocol": "VARCHAR",
    "username": "VARCHAR",
    "password": "VARCHAR",
    "input": "VARCHAR",
    "url": "VARCHAR",
    "shasum": "VARCHAR",
    "version": "VARCHAR",
    "hassh": "VARCHAR",
    "duration": "VARCHAR",
    "duration_ms": "VARCHAR",
    "system": "VARCHAR",
    "kexAlgs": "VARCHAR[]",
    "encCS": "VARCHAR[]",
    "macCS": "VARCHAR[]",
    "compCS": "VARCHAR[]",
}

# Keys whose value is fully carried by a column; everything else goes to `extra`.
_MAPPED = [
    "timestamp", "eventid", "sensor", "session", "src_ip", "src_port", "dst_ip", "dst_port",
    "protocol", "username", "password", "input", "url", "version", "hassh", "duration", "duration_ms",
]  # fmt: skip
# `shasum` is a file hash only for uploads/downloads; on cowrie.log.closed it is
# the TTY log's hash and stays in `extra`.
_FILE_EVENTS = ("cowrie.session.file_download", "cowrie.session.file_upload", "cowrie.virustotal.scanfile")


def decode_bytes_repr(e: str) -> str:
    """SQL: ``e`` (text) with a Python bytes repr (``b'...'`` or ``b"..."``) decoded, anything else as it is.

    No eval: the repr's escapes (``\\\\``, ``\\'``, ``\\"``, ``\\n``, ``\\r``, ``\\t``, ``\\xNN``) become
    DuckDB's BLOB escapes and the BLOB is read as UTF-8; bytes that are not UTF-8 keep their ``\\xNN`` escapes;
    a string that only looks like a repr (another escape) stays as it was.
    """
    inner = f"substr({e}, 3, length({e}) - 3)"
    bs = "\\"
    for a, b in ((bs * 2, bs + "x5c"), (bs + "''", "''"), (bs + '"', '"'), (bs + "n", bs + "x0a"),
                 (bs + "r", bs + "x0d"), (bs + "t", bs + "x09")):  # fmt: skip
        inner = f"replace({inner}, '{a}', '{b}')"
    blob = f"TRY_CAST({inner} AS BLOB)"
    return (
        f"CASE WHEN regexp_matches({e}, '^b(''.*''|\".*\")$') "
        f"THEN coalesce(TRY(decode({blob})), {blob}::VARCHAR, {e}) ELSE {e} END"
    )


class CowrieFormat(Format):
    name = "cowrie"
    description = "Cowrie JSON log (cowrie.json), releases 2017-2026"
    priority = 50
    eventids = frozenset(
        {
            "cowrie.session.connect", "cowrie.session.closed", "cowrie.session.params",
            "cowrie.session.file_download", "cowrie.session.file_download.failed",
            "cowrie.session.file_upload", "cowrie.session.input", "cowrie.client.version",
            "cowrie.client.kex", "cowrie.client.fingerprint", "cowrie.client.size", "cowrie.client.var",
            "cowrie.login.success", "cowrie.login.failed", "cowrie.command.input",
            "cowrie.command.success", "cowrie.command.failed", "cowrie.direct-tcpip.request",
            "cowrie.direct-tcpip.data", "cowrie.log.open", "cowrie.log.closed",
            "cowrie.virustotal.scanfile", "cowrie.virustotal.scanurl",
        }
    )  # fmt: skip

    def detect(self, sample: list[bytes]) -> bool:
        for raw in sample[:20]:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict):
                eid = rec.get("eventid")
                return isinstance(eid, str) and eid.startswith("cowrie.") and "timestamp" in rec
        return False

    def select_sql(self, lines: str) -> str:
        patch_file = null_patch([*_MAPPED, "shasum"])
        patch_other = null_patch(_MAPPED)
        file_events = ", ".join(f"'{e}'" for e in _FILE_EVENTS)
        hassh_from_lists = (
            "CASE WHEN r.kexAlgs IS NOT NULL AND r.encCS IS NOT NULL AND r.macCS IS NOT NULL "
            "AND r.compCS IS NOT NULL THEN md5(concat_ws(';', array_to_string(r.kexAlgs, ','), "
            "array_to_string(r.encCS, ','), array_to_string(r.macCS, ','), array_to_string(r.compCS, ','))) END"
        )
        cols = project(
            {
                "ts": "p.ts",
                "event_id": LINE_HASH,
                "eventid": "r.eventid",
                "source_format": "'cowrie'",
                "sensor": "r.sensor",
                "session": "r.session",
                "src_ip": IPV4_MAPPED.format(e="r.src_ip"),
                "src_port": "TRY_CAST(r.src_port AS INTEGER)",
                "dst_ip": IPV4_MAPPED.format(e="r.dst_ip"),
                "dst_port": "TRY_CAST(r.dst_port AS INTEGER)",
                "transport": "'tcp'",
                "protocol": "coalesce(r.protocol, CASE WHEN r.system ILIKE '%telnet%' THEN 'telnet' "
                "WHEN r.system ILIKE '%ssh%' THEN 'ssh' END, "
                "CASE WHEN r.eventid LIKE 'cowrie.client.%' OR r.eventid LIKE 'cowrie.direct-tcpip.%' "
                "THEN 'ssh' END)",
                "username": "r.username",
                "password": "r.password",
                "command": "r.input",
                "url": "r.url",
                "sha256": f"CASE WHEN r.eventid IN ({file_events}) THEN lower(r.shasum) END",
                "client_version": decode_bytes_repr("r.version"),
                "hassh": f"coalesce(r.hassh, {hassh_from_lists})",
                "duration": "coalesce(TRY_CAST(r.duration AS DOUBLE), TRY_CAST(r.duration_ms AS DOUBLE) / 1000.0)",
                # Only rows that parsed get an `extra` (merge_patch would throw on bad JSON).
                "extra": f"nullif(CASE WHEN _reason IS NOT NULL THEN NULL "
                f"WHEN r.eventid IN ({file_events}) THEN json_merge_patch(line, {patch_file}) "
                f"ELSE json_merge_patch(line, {patch_other}) END::VARCHAR, '{{}}')",
            }
        )
        checks = [
            check_cast("r.src_port", "src_port"),
            check_cast("r.dst_port", "dst_port"),
            check_cast("r.duration", "duration", "DOUBLE"),
            check_cast("r.duration_ms", "duration_ms", "DOUBLE"),
        ]
        return json_lines_select(lines, _FIELDS, "timestamp", checks, cols)
