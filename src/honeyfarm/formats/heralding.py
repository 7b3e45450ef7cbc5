# SPDX-License-Identifier: MIT
"""Heralding credential honeypot logs: ``log_session.json`` and ``auth.csv``.

``heralding`` (``log_session.json``): one JSON object per *ended* session,
with the session's ``auth_attempts`` list. One line becomes:

* one ``heralding.session`` event (session start time, ``duration``, ports,
  ``protocol``; ``num_auth_attempts``, ``session_ended`` and
  ``auxiliary_data`` in ``extra``; the attempts themselves are not repeated
  there), and
* one ``heralding.login.failed`` event per auth attempt, at the attempt's own
  time, with ``username``/``password`` and the session's id, addresses and
  protocol (``extra.attempt`` is its 1-based index in the list). Heralding
  never lets a login succeed, so there is no ``.login.success``. These are the
  events the credential rollups and ``top-*`` panels count.

``heralding_auth`` (``auth.csv``, the authentication log): one
``heralding.auth`` event per CSV row (``username``, ``password``, ``protocol``,
session id, addresses; ``auth_id``, ``password_hash``, ``auth_type`` in
``extra``). They are *not* ``.login.*`` events on purpose: Heralding writes the
same attempts to ``log_session.json`` by default, and counting both would
double every credential in the panels.

Sensor: neither log names the Heralding instance (``destination_ip`` is the
address it listened on, often ``0.0.0.0`` or a container's), so ``sensor`` stays
empty here for the ``[fleet]`` mapping of the file to fill; without one the
views show "(no sensor)".

Drift handled:

* timestamps ``%Y-%m-%d %H:%M:%S.%f`` naive (Heralding writes UTC:
  ``utcnow()`` in old releases, ``now(UTC)`` in new ones), ``str(datetime)``
  without microseconds, ISO ``T`` form, or with an offset / ``Z`` (converted);
* attempts without their own ``timestamp`` get the session's;
* ``username``/``password`` ``null`` (hash-only auth), numbers or non-ASCII;
* IPv4-mapped IPv6 source/destination addresses (unwrapped);
* ``auth.csv`` layouts: 11 columns (with ``password_hash``, current), 10
  columns without it (2017-2020), the 2016 layout
  ``timestamp,auth_id,auth_type,session_id,source_ip,souce_port,...`` (told
  apart by where the IP address is), columns appended later (kept in
  ``extra.more``); ``\\r\\n`` or ``\\n`` line ends; quoted fields with commas and
  ``""``; empty fields (empty ports/addresses are NULL; an empty password
  stays the empty string: Heralding writes ``None`` and ``""`` alike);
* the CSV header line (``timestamp,auth_id,...``) is recognised by its content
  in whichever batch it lands and yields nothing, neither event nor dead letter;
* broken lines/rows (not JSON, malformed CSV, too few fields, bad time or port,
  ``auth_attempts`` not a list of objects) become dead letters with a reason;
  a quoted CSV field spanning lines cannot be read line by line and
  dead-letters too.
"""

from __future__ import annotations

import re

from honeyfarm.formats.base import (
    IPV4_MAPPED,
    OBJECT_CHECK,
    Format,
    check_cast,
    first_json_object,
    null_patch,
    project,
    struct_spec,
)

# The record without its line ending.
_STRIPPED = "CASE WHEN suffix(line, e'\\r\\n') THEN line[:-3] WHEN suffix(line, e'\\n') THEN line[:-2] ELSE line END"


def _ts(expr: str) -> str:
    return f"TRY_CAST({expr} AS TIMESTAMPTZ)::TIMESTAMP"


def _ip(expr: str) -> str:
    return IPV4_MAPPED.format(e=f"nullif({expr}, '')")


# ---------------------------------------------------------------- log_session.json

_SESSION_FIELDS = {
    "timestamp": "VARCHAR",
    "duration": "VARCHAR",
    "session_id": "VARCHAR",
    "source_ip": "VARCHAR",
    "source_port": "VARCHAR",
    "destination_ip": "VARCHAR",
    "destination_port": "VARCHAR",
    "protocol": "VARCHAR",
    "auth_attempts": "JSON",
}
_SESSION_MAPPED = [
    "timestamp", "duration", "session_id", "source_ip", "source_port", "destination_ip", "destination_port",
    "protocol", "auth_attempts",
]  # fmt: skip


class HeraldingSessionFormat(Format):
    name = "heralding"
    description = "Heralding session log (log_session.json), one session with its auth attempts per line"
    priority = 45
    eventids = frozenset({"heralding.session", "heralding.login.failed"})

    def detect(self, sample: list[bytes]) -> bool:
        rec = first_json_object(sample)
        return rec is not None and (
            "eventid" not in rec
            and "session_id" in rec
            and "source_ip" in rec
            and ("auth_attempts" in rec or "num_auth_attempts" in rec)
        )

    def select_sql(self, lines: str) -> str:
        common = {
            "source_format": "'heralding'",
            "session": "r.session_id",
            "src_ip": _ip("r.source_ip"),
            "src_port": "TRY_CAST(r.source_port AS INTEGER)",
            "dst_ip": _ip("r.destination_ip"),
            "dst_port": "TRY_CAST(r.destination_port AS INTEGER)",
            "transport": "'tcp'",
            "protocol": "r.protocol",
        }
        session_cols = project(
            {
                **common,
                "ts": "p.ts",
                "eventid": "'heralding.session'",
                "duration": "TRY_CAST(r.duration AS DOUBLE)",
                "extra": f"nullif(CASE WHEN _reason IS NOT NULL THEN NULL "
                f"ELSE json_merge_patch(line, {null_patch(_SESSION_MAPPED)}) END::VARCHAR, '{{}}')",
            }
        )
        a_ts = "json_extract_string(a, '$.timestamp')"
        attempt_cols = project(
            {
                **common,
                "ts": f"coalesce({_ts(a_ts)}, p.ts)",
                "eventid": "'heralding.login.failed'",
                "username": "json_extract_string(a, '$.username')",
                "password": "json_extract_string(a, '$.password')",
                "extra": f"json_merge_patch(json_merge_patch(a, {null_patch(['timestamp', 'username', 'password'])}), "
                "json_object('attempt', i))::VARCHAR",
            }
        )
        bad_item = "list_bool_or(list_transform(attempts, lambda x: json_type(x) <> 'OBJECT'))"
        bad_time = (
            "list_bool_or(list_transform(attempts, lambda x: json_extract_string(x, '$.timestamp') IS NOT NULL "
            "AND TRY_CAST(json_extract_string(x, '$.timestamp') AS TIMESTAMPTZ) IS NULL))"
        )
        return f"""
WITH parsed AS (
  SELECT _row, line, {OBJECT_CHECK} AS is_object, try(json_transform(line, {struct_spec(_SESSION_FIELDS)})) AS r
  FROM {lines}
), p AS (
  SELECT *, {_ts("r.timestamp")} AS ts,
    CASE WHEN json_type(r.auth_attempts) = 'ARRAY' THEN json_transform(r.auth_attempts, '["JSON"]') END AS attempts
  FROM parsed
), checked AS (
  SELECT *, CASE
    WHEN r IS NULL THEN 'invalid JSON'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN r.session_id IS NULL THEN 'missing session_id'
    WHEN r.timestamp IS NOT NULL AND ts IS NULL THEN 'unparseable timestamp: ' || left(r.timestamp, 64)
    WHEN r.auth_attempts IS NOT NULL AND json_type(r.auth_attempts) NOT IN ('ARRAY', 'NULL')
      THEN 'auth_attempts: not a list'
    WHEN {bad_item} THEN 'auth_attempts: an item is not an object'
    WHEN {bad_time} THEN 'auth_attempts: unparseable timestamp'
    {check_cast("r.source_port", "source_port")}
    {check_cast("r.destination_port", "destination_port")}
    {check_cast("r.duration", "duration", "DOUBLE")}
  END AS _reason FROM p
), expanded AS (
  SELECT *, attempts[i] AS a FROM (
    SELECT *, unnest(range(1, len(attempts) + 1)) AS i FROM checked WHERE _reason IS NULL AND len(attempts) > 0
  )
)
SELECT _row, _reason,
  {session_cols}
FROM checked p
UNION ALL
SELECT _row, _reason,
  {attempt_cols}
FROM expanded p
"""


# ---------------------------------------------------------------- auth.csv

#: Header of every auth.csv layout starts like this; such a line is not a record.
CSV_HEADER_PREFIX = "timestamp,auth_id,"
_CSV_ROW = re.compile(
    r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}[^,]*,[0-9a-fA-F-]{32,36},(?:[^,]*,)?[0-9a-fA-F-]{32,36},[0-9A-Fa-f:.]+,"
)
# One CSV field after a comma (the line is prefixed with one): quoted with "" escapes, or bare.
_FIELD_RE = '\',("(?:[^"]|"")*"|[^,"]*)\''
_IP_LIKE = "regexp_full_match({e}, '[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*')"

# Column positions (1-based) per layout: current (10/11+ columns) and 2016 (auth_type, souce_port, no dst ip).
_NEW = {"auth_id": 2, "session_id": 3, "source_ip": 4, "source_port": 5, "destination_ip": 6,
        "destination_port": 7, "protocol": 8, "username": 9, "password": 10, "password_hash": 11}  # fmt: skip
_OLD = {"auth_id": 2, "auth_type": 3, "session_id": 4, "source_ip": 5, "source_port": 6,
        "destination_port": 7, "protocol": 8, "username": 9, "password": 10}  # fmt: skip


def _field(k: int) -> str:
    return f"""(CASE WHEN starts_with(f[{k}], '"') THEN replace(f[{k}][2:-2], '""', '"') ELSE f[{k}] END)"""


def _col(name: str) -> str:
    new, old = _NEW.get(name), _OLD.get(name)
    a = _field(new) if new else "NULL"
    b = _field(old) if old else "NULL"
    return a if a == b else f"(CASE WHEN old_layout THEN {b} ELSE {a} END)"


class HeraldingAuthFormat(Format):
    name = "heralding_auth"
    description = "Heralding authentication log (auth.csv / log_auth.csv), one attempt per row"
    priority = 60
    eventids = frozenset({"heralding.auth"})

    def detect(self, sample: list[bytes]) -> bool:
        for raw in sample[:20]:
            text = raw.decode("utf-8", "replace").strip().lstrip("\ufeff")
            if not text:
                continue
            return text.startswith(CSV_HEADER_PREFIX) or bool(_CSV_ROW.match(text))
        return False

    def select_sql(self, lines: str) -> str:
        port_checks = "\n    ".join(
            check_cast(f"nullif({_col(c)}, '')", c) for c in ("source_port", "destination_port")
        )
        cols = project(
            {
                "ts": "ts",
                "eventid": "'heralding.auth'",
                "source_format": "'heralding_auth'",
                "session": f"nullif({_col('session_id')}, '')",
                "src_ip": _ip(_col("source_ip")),
                "src_port": f"TRY_CAST(nullif({_col('source_port')}, '') AS INTEGER)",
                "dst_ip": _ip(_col("destination_ip")),
                "dst_port": f"TRY_CAST(nullif({_col('destination_port')}, '') AS INTEGER)",
                "transport": "'tcp'",
                "protocol": f"nullif({_col('protocol')}, '')",
                "username": _col("username"),
                "password": _col("password"),
                "extra": "CASE WHEN _reason IS NULL THEN nullif(json_merge_patch('{}', json_object("
                f"'auth_id', nullif({_col('auth_id')}, ''), 'auth_type', nullif({_col('auth_type')}, ''), "
                f"'password_hash', nullif({_col('password_hash')}, ''), "
                "'more', CASE WHEN n > 11 THEN f[12:] END))::VARCHAR, '{}') END",
            }
        )
        return f"""
WITH s AS (
  SELECT _row, line, ltrim({_STRIPPED}, e'\\ufeff') AS l FROM {lines}
), split AS (
  SELECT *, regexp_extract_all(',' || l, {_FIELD_RE}, 1) AS f FROM s WHERE NOT starts_with(l, '{CSV_HEADER_PREFIX}')
), p AS (
  SELECT *, len(f) AS n, array_to_string(f, ',') = l AS well_formed,
    len(f) = 10 AND {_IP_LIKE.format(e="f[5]")} AND NOT {_IP_LIKE.format(e="f[4]")} AS old_layout,
    {_ts("f[1]")} AS ts
  FROM split
), checked AS (
  SELECT *, CASE
    WHEN NOT well_formed THEN 'malformed CSV row'
    WHEN n < 10 THEN 'expected 10 or 11 CSV fields, got ' || n
    WHEN f[1] <> '' AND ts IS NULL THEN 'unparseable timestamp: ' || left(f[1], 64)
    {port_checks}
  END AS _reason FROM p
)
SELECT _row, _reason,
  {cols}
FROM checked
"""
