# SPDX-License-Identifier: MIT
"""SNARE/Tanner web honeypot reports (``tanner_report.json``).

Tanner appends one JSON object per HTTP request that SNARE forwarded to it, so
**one line is one request** and becomes one ``tanner.request`` event:

* ``path`` → ``url`` (the request target as sent, query string included);
* ``headers["user-agent"]`` → ``client_version``;
* ``peer.ip`` / ``peer.port`` → ``src_ip`` / ``src_port``;
* ``uuid`` (the SNARE instance id) → ``sensor``;
* ``response_msg.response.message.sess_uuid`` (Tanner's session) → ``session``;
* the detection Tanner made (``response_msg.response.message.detection.name``:
  ``index``, ``xss``, ``sqli``, ``lfi``, ``rfi``, ``cmd_exec``, ...) is copied to
  ``extra.attack_type``; ``method``, ``headers``, ``cookies``, ``status``,
  ``post_data`` and ``response_msg`` stay in ``extra`` as they were.

Drift handled:

* header names in either case (``user-agent`` as SNARE lower-cases them,
  ``User-Agent`` as older releases kept them);
* ``timestamp`` naive (Tanner writes ``datetime.now().isoformat()``; read as
  UTC, as a lake session is UTC) or with an offset / ``Z`` (converted to UTC);
* ``peer.ip`` as an IPv4-mapped IPv6 address (unwrapped);
* ``post_data`` present only on some requests; ``detection.name`` a string or a
  list (kept as JSON either way);
* a line that is not a JSON object, lacks ``method``/``path``/``timestamp`` or
  has a non-integer port goes to the dead letters with the reason.
"""

from __future__ import annotations

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

_FIELDS = {
    "timestamp": "VARCHAR",
    "method": "VARCHAR",
    "path": "VARCHAR",
    "uuid": "VARCHAR",
    "peer": "JSON",
    "headers": "JSON",
    "response_msg": "JSON",
}
# Keys fully carried by columns; the rest of the record is `extra`.
_MAPPED = ["timestamp", "path", "uuid", "peer"]


class TannerFormat(Format):
    name = "tanner"
    description = "SNARE/Tanner web honeypot report (tanner_report.json), one request per line"
    priority = 40
    eventids = frozenset({"tanner.request"})

    def detect(self, sample: list[bytes]) -> bool:
        rec = first_json_object(sample)
        return rec is not None and (
            "eventid" not in rec
            and isinstance(rec.get("method"), str)
            and "path" in rec
            and isinstance(rec.get("peer"), dict)
        )

    def select_sql(self, lines: str) -> str:
        det = "json_extract(r.response_msg, '$.response.message.detection')"
        peer_ip = "json_extract_string(r.peer, '$.ip')"
        peer_port = "json_extract_string(r.peer, '$.port')"
        user_agent = (
            "coalesce(json_extract_string(r.headers, '$.\"user-agent\"'), "
            "json_extract_string(r.headers, '$.\"User-Agent\"'))"
        )
        cols = project(
            {
                "ts": "p.ts",
                "eventid": "'tanner.request'",
                "source_format": "'tanner'",
                "sensor": "r.uuid",
                "session": "json_extract_string(r.response_msg, '$.response.message.sess_uuid')",
                "src_ip": IPV4_MAPPED.format(e=peer_ip),
                "src_port": f"TRY_CAST({peer_port} AS INTEGER)",
                "transport": "'tcp'",
                "protocol": "'http'",
                "url": "r.path",
                "client_version": user_agent,
                "extra": f"nullif(CASE WHEN _reason IS NOT NULL THEN NULL ELSE json_merge_patch("
                f"json_merge_patch(line, {null_patch(_MAPPED)}), "
                f"json_object('attack_type', json_extract({det}, '$.name'))) END::VARCHAR, '{{}}')",
            }
        )
        return f"""
WITH parsed AS (
  SELECT _row, line, {OBJECT_CHECK} AS is_object, try(json_transform(line, {struct_spec(_FIELDS)})) AS r
  FROM {lines}
), p AS (
  SELECT *, TRY_CAST(r.timestamp AS TIMESTAMPTZ)::TIMESTAMP AS ts FROM parsed
), checked AS (
  SELECT *, CASE
    WHEN r IS NULL THEN 'invalid JSON'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN r.method IS NULL THEN 'missing method'
    WHEN r.path IS NULL THEN 'missing path'
    WHEN r.timestamp IS NOT NULL AND ts IS NULL THEN 'unparseable timestamp: ' || left(r.timestamp, 64)
    WHEN r.peer IS NOT NULL AND json_type(r.peer) NOT IN ('OBJECT', 'NULL') THEN 'peer: not an object'
    {check_cast(peer_port, "peer.port")}
  END AS _reason FROM p
)
SELECT _row, _reason,
  {cols}
FROM checked p
"""
