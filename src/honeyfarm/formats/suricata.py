# SPDX-License-Identifier: MIT
"""Suricata EVE JSON (``eve.json``): one event per line, releases 3.x to 8.x.

Every EVE record becomes one event ``suricata.<event_type>``; an
``event_type`` this module does not know (a newer Suricata, a plugin) is not
dropped: it becomes ``suricata.other`` and keeps its ``event_type`` in
``extra``. Columns: ``flow_id`` is the ``session`` (it ties the alert, http,
fileinfo and flow records of one connection together), ``host`` the
``sensor``, ``proto`` the ``transport`` (lower case), ``app_proto`` (or the
app-layer record itself) the ``protocol``. Nested app-layer objects
(``alert``, ``http``, ``dns``, ``tls``, ``fileinfo``, ``flow``, ...) stay whole
in ``extra``; their key fields are copied into columns.

Drift handled here, seen in real logs (``../shared/samples/suricata_eve``):

* timestamps carry ``+0000`` or another offset (``+0100`` in 3.x captures):
  all converted to UTC;
* ``app_proto`` is absent on most http/dns/tls records (derived from the
  record type then) and is ``failed`` when detection failed (not a protocol:
  kept in ``extra``, ``protocol`` falls back to the record type);
* ``stats`` records have no addresses, ports nor ``flow_id``; ICMP flows have
  no ports (NULL columns);
* IPv6 addresses are written in full (``fe80:0000:...``) and IPv4-mapped IPv6
  (``::ffff:1.2.3.4``) is unwrapped to the IPv4 address;
* ``http.url`` is a path (``/x``), an absolute URL (proxies) or an authority
  (``host:443`` on CONNECT): ``url`` is ``http://hostname[:http_port]path`` for
  a path, the value as-is otherwise;
* ``client_version`` is the SSH banner rebuilt from ``ssh.client``
  (``SSH-<proto_version>-<software_version>``, as Cowrie logs it) or the HTTP
  user agent; ``hassh`` comes from ``ssh.client.hassh`` (Suricata 6+, an object
  with ``hash``, or a plain string);
* ``fileinfo.sha256`` (when hashing is on) fills ``sha256``; ``md5``/``sha1``
  stay in ``extra`` (inside ``fileinfo``);
* Suricata 7+ alerts carry the flow's own ``src_ip``/``dest_ip`` in ``flow``
  (kept in ``extra``); the columns follow the record's top-level
  (packet-direction) addresses, as Suricata reports them.

Rejected (dead-letter, with a reason): lines that are not JSON objects
(truncated or garbage lines), records without a string ``event_type``, without
a ``timestamp`` or with one that is not a timestamp, with non-integer ports or
with non-string addresses.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from honeyfarm.sql import sql_str

#: EVE ``event_type`` values mapped to their own eventid ``suricata.<event_type>``.
# Meanings are in the eventid registry (honeyfarm/eventids.py) and docs/eventids.md.
EVENT_TYPES: tuple[str, ...] = (
    "alert",
    "anomaly",
    "drop",
    "flow",
    "netflow",
    "stats",
    "fileinfo",
    "http",
    "http2",
    "dns",
    "tls",
    "ssh",
    "smtp",
    "ftp",
    "ftp_data",
    "smb",
    "dcerpc",
    "rdp",
    "sip",
    "snmp",
    "dhcp",
    "tftp",
    "krb5",
    "nfs",
    "ike",
    "quic",
    "mqtt",
    "rfb",
    "pgsql",
    "ldap",
    "modbus",
    "dnp3",
)
#: Record types that are an application protocol themselves (``protocol`` when ``app_proto`` is missing).
_APP_TYPES = {
    "http": "http", "http2": "http2", "dns": "dns", "tls": "tls", "ssh": "ssh", "smtp": "smtp", "ftp": "ftp",
    "ftp_data": "ftp-data", "smb": "smb", "dcerpc": "dcerpc", "rdp": "rdp", "sip": "sip", "snmp": "snmp",
    "dhcp": "dhcp", "tftp": "tftp", "krb5": "krb5", "nfs": "nfs", "ike": "ike", "quic": "quic", "mqtt": "mqtt",
    "rfb": "rfb", "pgsql": "pgsql", "ldap": "ldap", "modbus": "modbus", "dnp3": "dnp3",
}  # fmt: skip
#: ``app_proto`` values that are not a protocol.
_NOT_PROTOCOLS = ("failed", "unknown", "")

_FIELDS = {
    "timestamp": "VARCHAR",
    "event_type": "JSON",
    "flow_id": "VARCHAR",
    "host": "JSON",
    "src_ip": "JSON",
    "src_port": "VARCHAR",
    "dest_ip": "JSON",
    "dest_port": "VARCHAR",
    "proto": "JSON",
    "app_proto": "JSON",
    "http": "JSON",
    "ssh": "JSON",
    "fileinfo": "JSON",
    "smtp": "JSON",
    "smb": "JSON",
    "ftp": "JSON",
    "nfs": "JSON",
}
#: Top-level keys a column always carries (removed from ``extra``).
_MAPPED = ["timestamp", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto"]
#: String-valued keys: another JSON type is a dead-letter reason.
_STRINGS = ("host", "src_ip", "dest_ip", "proto", "app_proto")


def _text(field: str) -> str:
    """The string value of a JSON-typed field (NULL for JSON null)."""
    return f"(r.{field} ->> '$')"


def _in(values: Iterable[str]) -> str:
    return ", ".join(sql_str(v) for v in values)


class SuricataFormat(Format):
    name = "suricata"
    description = "Suricata EVE JSON (eve.json), releases 3.x-8.x"
    priority = 30
    eventids = frozenset({f"suricata.{t}" for t in EVENT_TYPES} | {"suricata.other"})

    def detect(self, sample: list[bytes]) -> bool:
        rec = first_json_object(sample)
        return rec is not None and (
            isinstance(rec.get("event_type"), str)
            and "timestamp" in rec
            and "eventid" not in rec
            and ("flow_id" in rec or "src_ip" in rec or rec.get("event_type") == "stats")
        )

    def select_sql(self, lines: str) -> str:
        et = "p.et"
        known = _in(EVENT_TYPES)
        app_types = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in _APP_TYPES.items())
        app_proto = (
            f"CASE WHEN lower({_text('app_proto')}) NOT IN ({_in(_NOT_PROTOCOLS)}) THEN {_text('app_proto')} END"
        )
        protocol = (
            f"coalesce({app_proto}, CASE {et} {app_types} END, "
            "CASE WHEN r.http IS NOT NULL THEN 'http' WHEN r.smtp IS NOT NULL THEN 'smtp' "
            "WHEN r.smb IS NOT NULL THEN 'smb' WHEN r.ftp IS NOT NULL THEN 'ftp' WHEN r.nfs IS NOT NULL THEN 'nfs' END)"
        )
        http_url = "(r.http ->> '$.url')"
        http_host = "(r.http ->> '$.hostname')"
        url = (
            f"CASE WHEN {http_url} LIKE '/%' AND {http_host} IS NOT NULL THEN 'http://' || {http_host} || "
            f"coalesce(':' || (r.http ->> '$.http_port'), '') || {http_url} ELSE {http_url} END"
        )
        ssh_sw = "(r.ssh ->> '$.client.software_version')"
        ssh_pv = "(r.ssh ->> '$.client.proto_version')"
        client_version = (
            f"coalesce(CASE WHEN {ssh_pv} IS NOT NULL AND {ssh_sw} IS NOT NULL "
            f"THEN 'SSH-' || {ssh_pv} || '-' || {ssh_sw} END, {ssh_sw}, (r.http ->> '$.http_user_agent'))"
        )
        hassh = (
            "CASE json_type(r.ssh -> '$.client.hassh') WHEN 'OBJECT' THEN r.ssh ->> '$.client.hassh.hash' "
            "WHEN 'VARCHAR' THEN r.ssh ->> '$.client.hassh' END"
        )
        sha256 = "lower(r.fileinfo ->> '$.sha256')"
        # `extra`: the record without the keys a column carries; event_type, app_proto and host
        # only go when a column holds their value (unknown types, `failed` app_proto stay).
        extra = (
            "nullif(CASE WHEN _reason IS NOT NULL THEN NULL ELSE json_merge_patch(json_merge_patch(json_merge_patch("
            f"json_merge_patch(line, {null_patch(_MAPPED)}), "
            f"CASE WHEN {et} IN ({known}) THEN {null_patch(['event_type'])} ELSE '{{}}' END), "
            f"CASE WHEN {app_proto} IS NOT NULL THEN {null_patch(['app_proto'])} ELSE '{{}}' END), "
            f"CASE WHEN {_text('host')} IS NOT NULL THEN {null_patch(['host'])} ELSE '{{}}' END) END::VARCHAR, '{{}}')"
        )
        cols = project(
            {
                "ts": "p.ts",
                "eventid": f"CASE WHEN {et} IN ({known}) THEN 'suricata.' || {et} ELSE 'suricata.other' END",
                "source_format": "'suricata'",
                "sensor": _text("host"),
                "session": "r.flow_id",
                "src_ip": IPV4_MAPPED.format(e=_text("src_ip")),
                "src_port": "TRY_CAST(r.src_port AS INTEGER)",
                "dst_ip": IPV4_MAPPED.format(e=_text("dest_ip")),
                "dst_port": "TRY_CAST(r.dest_port AS INTEGER)",
                "transport": f"lower({_text('proto')})",
                "protocol": protocol,
                "url": url,
                "sha256": sha256,
                "client_version": client_version,
                "hassh": hassh,
                "extra": extra,
            }
        )
        string_checks = "\n    ".join(
            f"WHEN r.{f} IS NOT NULL AND json_type(r.{f}) NOT IN ('VARCHAR', 'NULL') THEN '{f}: not a string'"
            for f in _STRINGS
        )
        return f"""
WITH parsed AS (
  SELECT _row, line, {OBJECT_CHECK} AS is_object, try(json_transform(line, {struct_spec(_FIELDS)})) AS r
  FROM {lines}
), p AS (
  SELECT *, TRY_CAST(r.timestamp AS TIMESTAMPTZ)::TIMESTAMP AS ts,
    CASE WHEN json_type(r.event_type) = 'VARCHAR' THEN lower(r.event_type ->> '$') END AS et
  FROM parsed
), checked AS (
  SELECT *, CASE
    WHEN r IS NULL THEN 'invalid JSON'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN r.event_type IS NULL OR json_type(r.event_type) = 'NULL' THEN 'missing event_type'
    WHEN et IS NULL THEN 'event_type: not a string'
    WHEN r.timestamp IS NOT NULL AND ts IS NULL THEN 'unparseable timestamp: ' || left(r.timestamp, 64)
    {check_cast("r.src_port", "src_port")}
    {check_cast("r.dest_port", "dest_port")}
    {string_checks}
  END AS _reason FROM p
)
SELECT _row, _reason,
  {cols}
FROM checked p
"""
