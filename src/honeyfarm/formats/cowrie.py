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

from honeyfarm.formats.base import IPV4_MAPPED, Format, check_cast, json_lines_select, null_patch, project

# Fields read out of every record. Typed fields are read as text and cast with
# TRY_CAST, so a wrong type is a dead-letter reason instead of a silent NULL.
# Keys whose value is fully carried by a column; everything else goes to `extra`.
_MAPPED = [
    "timestamp", "eventid", "sensor", "session", "src_ip", "src_port", "dst_ip", "dst_port",
    "protocol", "username", "password", "input", "url", "version", "hassh", "duration", "duration_ms",
]  # fmt: skip
_FIELDS = dict.fromkeys(_MAPPED, "VARCHAR")
#: Keys Cowrie writes that no column carries (2017-2026 releases, ../shared/samples/cowrie_json), read as
#: their JSON text: `extra` is built from them by concatenation, without a second parse of the line.
_EXTRA_KEYS = (
    "message", "uuid", "system", "isError", "shasum", "kexAlgs", "keyAlgs", "encCS", "macCS", "compCS",
    "langCS", "hasshAlgorithms", "data", "ttylog", "size", "id", "name", "value", "arch", "duplicate",
    "outfile", "destfile", "fingerprint", "key", "type", "unique", "width", "height", "filename",
)  # fmt: skip
# `shasum` is a file hash only for uploads/downloads; on cowrie.log.closed it is
# the TTY log's hash and stays in `extra`.
_FILE_EVENTS = ("cowrie.session.file_download", "cowrie.session.file_upload", "cowrie.virustotal.scanfile")


def _text(key: str) -> str:
    """SQL: the text of a key read as JSON (a string unquoted, anything else as JSON), as a VARCHAR read gives it."""
    return f"json_extract_string(r.{key}, '$')"


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
        # cowrie_message reads this module's decode_bytes_repr: imported here, not at the top.
        from honeyfarm.formats.cowrie_message import FIELDS, derived_message_sql, mark_absent_sql

        assert set(FIELDS) <= set(_EXTRA_KEYS), "every key a message template reads is read as JSON"
        file_events = ", ".join(f"'{e}'" for e in _FILE_EVENTS)
        is_file = f"r.eventid IN ({file_events})"
        lists = {k: f"TRY_CAST(r.{k} AS VARCHAR[])" for k in ("kexAlgs", "encCS", "macCS", "compCS")}
        hassh_from_lists = (
            f"CASE WHEN {lists['kexAlgs']} IS NOT NULL AND {lists['encCS']} IS NOT NULL AND {lists['macCS']} "
            f"IS NOT NULL AND {lists['compCS']} IS NOT NULL THEN md5(concat_ws(';', array_to_string("
            f"{lists['kexAlgs']}, ','), array_to_string({lists['encCS']}, ','), array_to_string({lists['macCS']}, "
            f"','), array_to_string({lists['compCS']}, ','))) END"
        )
        system = _text("system")
        exprs = {
            "ts": "p.ts",
            "eventid": "r.eventid",
            "source_format": "'cowrie'",
            "sensor": "r.sensor",
            "session": "r.session",
            "src_ip": IPV4_MAPPED.format(e="r.src_ip"),
            "src_port": "TRY_CAST(r.src_port AS INTEGER)",
            "dst_ip": IPV4_MAPPED.format(e="r.dst_ip"),
            "dst_port": "TRY_CAST(r.dst_port AS INTEGER)",
            "transport": "'tcp'",
            "protocol": f"coalesce(r.protocol, CASE WHEN {system} ILIKE '%telnet%' THEN 'telnet' "
            f"WHEN {system} ILIKE '%ssh%' THEN 'ssh' END, "
            "CASE WHEN r.eventid LIKE 'cowrie.client.%' OR r.eventid LIKE 'cowrie.direct-tcpip.%' "
            "THEN 'ssh' END)",
            "username": "r.username",
            "password": "r.password",
            "command": "r.input",
            "url": "r.url",
            "sha256": f"CASE WHEN {is_file} THEN lower({_text('shasum')}) END",
            "client_version": decode_bytes_repr("r.version"),
            "hassh": f"coalesce(r.hassh, {hassh_from_lists})",
            "duration": "coalesce(TRY_CAST(r.duration AS DOUBLE), TRY_CAST(r.duration_ms AS DOUBLE) / 1000.0)",
        }
        # `message` leaves `extra` where its template rebuilds it byte for byte (cowrie_message); readers put it
        # back (honeyfarm.schema.events_view_sql). The template reads the same expressions as the columns
        # (and the keys' text, `x`), computed once per line (`_tmpl`), not once per use.
        pre = {"x": "struct_pack(" + ", ".join(f'"{k}" := {_text(k)}' for k in FIELDS) + ")"}
        derived = {
            "_tmpl": derived_message_sql("x", exprs),
            # Keys in the line: with every one read (none unknown, none repeated, none null), `extra` is
            # built from what was read; otherwise it is the line merge-patched (a second parse).
            "_nkeys": "CASE WHEN r IS NOT NULL AND is_object THEN len(json_keys(line)) END",
        }
        drop = "coalesce(p.x.message = p._tmpl, false)"
        absent = "r.message IS NULL AND p._tmpl IS NOT NULL"
        read = " + ".join(f"(r.{k} IS NOT NULL)::INTEGER" for k in [*_FIELDS, *_EXTRA_KEYS])
        pairs = []
        for k in _EXTRA_KEYS:
            cond = f"r.{k} IS NOT NULL"
            if k == "message":
                cond += f" AND NOT {drop}"
            elif k == "shasum":
                cond += f" AND NOT {is_file}"
            pairs.append(f"CASE WHEN {cond} THEN '\"{k}\":' || r.{k}::VARCHAR END")
        pairs.append(f"CASE WHEN {absent} THEN '\"message\":null' END")
        built = "'{' || concat_ws(',', " + ", ".join(pairs) + ") || '}'"
        patch_file = f"CASE WHEN {drop} THEN {null_patch([*_MAPPED, 'shasum', 'message'])} "
        patch_file += f"ELSE {null_patch([*_MAPPED, 'shasum'])} END"
        patch_other = f"CASE WHEN {drop} THEN {null_patch([*_MAPPED, 'message'])} ELSE {null_patch(_MAPPED)} END"
        merged = (
            f"CASE WHEN {is_file} THEN json_merge_patch(line, {patch_file}) "
            f"ELSE json_merge_patch(line, {patch_other}) END::VARCHAR"
        )
        # A record without a message where a template applies says so (`"message": null`), so a reader rebuilds
        # none (cowrie_message.mark_absent_sql). CASE evaluates a branch only for its rows.
        patched = mark_absent_sql(merged, "p._tmpl")
        # Only rows that parsed get an `extra` (merge_patch would throw on bad JSON).
        exprs["extra"] = (
            f"nullif(CASE WHEN _reason IS NOT NULL THEN NULL WHEN p._nkeys = {read} THEN {built} "
            f"ELSE {patched} END, '{{}}')"
        )
        cols = project(exprs)
        checks = [
            check_cast("r.src_port", "src_port"),
            check_cast("r.dst_port", "dst_port"),
            check_cast("r.duration", "duration", "DOUBLE"),
            check_cast("r.duration_ms", "duration_ms", "DOUBLE"),
        ]
        spec = {**_FIELDS, **dict.fromkeys(_EXTRA_KEYS, "JSON")}
        return json_lines_select(lines, spec, "timestamp", checks, cols, derived, pre)
