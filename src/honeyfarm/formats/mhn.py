# SPDX-License-Identifier: MIT
"""Modern Honey Network (MHN) sessions: a ``mongoexport`` of mnemosyne's ``session`` collection.

MHN's sensors publish to hpfeeds; mnemosyne normalises each connection into
one document of the ``session`` collection, and ``mongoexport`` writes one
JSON object per line (MongoDB Extended JSON)::

    { "_id" : { "$oid" : "5a06..." }, "protocol" : "smbd", "hpfeed_id" : { "$oid" : "..." },
      "timestamp" : { "$date" : "2017-11-11T06:19:12.385+0000" }, "source_ip" : "103.239.244.80",
      "source_port" : 61854, "destination_port" : 445, "identifier" : "0cd756ea-...",
      "honeypot" : "dionaea" }

This is how MHN users bring their history. One line is one event:

* ``identifier`` (the MHN sensor's uuid, its hpfeeds ident) → ``sensor``;
* ``timestamp.$date`` → ``ts`` (when mnemosyne received the hpfeeds message,
  which is when the sensor saw the connection, give or take a second);
* ``source_ip``/``source_port``/``destination_ip``/``destination_port`` → the
  address columns (IPv4-mapped IPv6 unwrapped);
* ``honeypot`` picks the eventid family, so the honeypot's own panels count
  these events with its native logs:

  - ``dionaea``: mnemosyne keeps the service (``connection_protocol``) but drops
    ``connection_type``. ``pcap`` is Dionaea's pcap module, which reports
    connection attempts to *closed* ports (answered with a RST): those become
    ``dionaea.connection.reject`` with no ``protocol`` (none was spoken); every
    other service an inbound ``dionaea.connection.accept``, the id
    ``formats/dionaea.py`` gives a bare connection;
  - ``cowrie`` and ``kippo`` (its predecessor): ``cowrie.session.connect``;
  - any other honeypot (conpot, glastopf, amun, wordpot, shockpot, ...):
    ``mhn.session``, the honeypot's name in ``extra.honeypot``;

* ``protocol`` is normalised to the protocol spoken: Dionaea's service names
  as in ``formats/dionaea.py`` (``smbd`` → ``smb``, ``mssqld`` → ``mssql``,
  ``httpd`` → ``http``, ``ftpd`` → ``ftp``, ``mysqld`` → ``mysql``, ...),
  ``SipSession``/``SipCall`` → ``sip``, ``RtpUdpStream`` → ``rtp``, ``pcap`` →
  none; other names lower-cased. ``transport`` is filled where the protocol
  implies it (``tcp`` for pcap rejects, SMB, MSSQL, HTTP, SSH, ...; ``udp`` for
  TFTP and RTP); SIP runs over both and stays empty;
* ``_id``, ``hpfeed_id``, ``honeypot`` and MHN's own ``protocol`` stay in
  ``extra`` as exported, so the original names remain searchable.

Drift handled: ``$date`` as an ISO string with ``+0000`` or ``Z`` (mongoexport
before and after 3.4), as ``{"$numberLong": "<epoch ms>"}`` or a bare number
(canonical Extended JSON, dates before 1970), or a ``timestamp`` that is
already a plain string (other exporters); ports as numbers, strings or
``{"$numberInt": ...}``; blank lines (skipped by the pipeline).

Rejected (dead-letter, with a reason): lines that are not JSON objects, without
``honeypot`` or a usable ``timestamp``, with non-integer ports or a
non-string ``source_ip``.
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
from honeyfarm.formats.dionaea import SERVICE_PROTOCOLS
from honeyfarm.sql import sql_str

#: MHN ``protocol`` names beyond Dionaea's service names (lower-cased) -> the protocol spoken.
_MHN_PROTOCOLS = {**SERVICE_PROTOCOLS, "sipsession": "sip", "sipcall": "sip", "rtpudpstream": "rtp", "pcap": None}
#: Protocols that run over one transport only.
_TCP = ("smb", "mssql", "mysql", "http", "https", "ftp", "ssh", "telnet", "epmapper", "mongodb", "pptp", "mqtt",
        "memcached", "redis", "ipp", "upnp")  # fmt: skip
_UDP = ("tftp", "rtp")

_FIELDS = {
    "timestamp": "JSON",
    "honeypot": "JSON",
    "identifier": "JSON",
    "protocol": "JSON",
    "source_ip": "JSON",
    "source_port": "JSON",
    "destination_ip": "JSON",
    "destination_port": "JSON",
}
# Keys carried whole by columns; `protocol` and `honeypot` stay in `extra` as MHN named them.
_MAPPED = ["timestamp", "identifier", "source_ip", "source_port", "destination_ip", "destination_port"]
_STRINGS = ("source_ip", "destination_ip", "identifier", "honeypot")


def _scalar(field: str) -> str:
    """A JSON value as text, unwrapping Extended JSON number wrappers (``{"$numberInt": "445"}``)."""
    f = f"r.{field}"
    return (
        f"CASE json_type({f}) WHEN 'OBJECT' THEN coalesce({f} ->> '$.\"$numberInt\"', {f} ->> '$.\"$numberLong\"') "
        f"WHEN 'NULL' THEN NULL ELSE {f} ->> '$' END"
    )


def _text(field: str) -> str:
    return f"(CASE WHEN json_type(r.{field}) = 'VARCHAR' THEN r.{field} ->> '$' END)"


# `timestamp` is {"$date": ISO string | {"$numberLong": ms} | ms number}, or a plain ISO string.
_DATE = "(r.timestamp -> '$.\"$date\"')"
_MS = (
    f"CASE json_type({_DATE}) WHEN 'OBJECT' THEN TRY_CAST({_DATE} ->> '$.\"$numberLong\"' AS BIGINT) "
    f"WHEN 'VARCHAR' THEN NULL WHEN 'NULL' THEN NULL ELSE TRY_CAST(TRY_CAST({_DATE} AS DOUBLE) AS BIGINT) END"
)
_TS_TEXT = (
    f"CASE json_type(r.timestamp) WHEN 'VARCHAR' THEN r.timestamp ->> '$' "
    f"WHEN 'OBJECT' THEN CASE WHEN json_type({_DATE}) = 'VARCHAR' THEN {_DATE} ->> '$' END END"
)
_TS = (
    f"CASE WHEN {_MS} IS NOT NULL THEN try(make_timestamp({_MS} * 1000)) "
    f"ELSE TRY_CAST(({_TS_TEXT}) AS TIMESTAMPTZ)::TIMESTAMP END"
)


class MHNSessionFormat(Format):
    name = "mhn"
    description = "Modern Honey Network sessions (mongoexport of mnemosyne's session collection), one per line"
    priority = 40
    eventids = frozenset({"dionaea.connection.accept", "dionaea.connection.reject", "cowrie.session.connect",
                          "mhn.session"})  # fmt: skip

    def detect(self, sample: list[bytes]) -> bool:
        rec = first_json_object(sample)
        return rec is not None and (
            "eventid" not in rec
            and "honeypot" in rec
            and "identifier" in rec
            and "source_ip" in rec
            and (isinstance(rec.get("timestamp"), dict) or "hpfeed_id" in rec)
        )

    def select_sql(self, lines: str) -> str:
        honeypot = "lower(r.honeypot ->> '$')"
        mhn_proto = "lower(r.protocol ->> '$')"
        protocols = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v) if v else 'NULL'}" for k, v in _MHN_PROTOCOLS.items())
        protocol = f"CASE {mhn_proto} {protocols} ELSE {mhn_proto} END"
        eventid = (
            f"CASE WHEN {honeypot} = 'dionaea' THEN CASE WHEN {mhn_proto} = 'pcap' THEN 'dionaea.connection.reject' "
            "ELSE 'dionaea.connection.accept' END "
            f"WHEN {honeypot} IN ('cowrie', 'kippo') THEN 'cowrie.session.connect' ELSE 'mhn.session' END"
        )
        tcp = ", ".join(sql_str(p) for p in _TCP)
        udp = ", ".join(sql_str(p) for p in _UDP)
        transport = (
            f"CASE WHEN {mhn_proto} = 'pcap' OR p.proto IN ({tcp}) THEN 'tcp' WHEN p.proto IN ({udp}) THEN 'udp' END"
        )
        cols = project(
            {
                "ts": "p.ts",
                "eventid": eventid,
                "source_format": "'mhn'",
                "sensor": "nullif(" + _text("identifier") + ", '')",
                "src_ip": IPV4_MAPPED.format(e=_text("source_ip")),
                "src_port": f"TRY_CAST({_scalar('source_port')} AS INTEGER)",
                "dst_ip": IPV4_MAPPED.format(e=_text("destination_ip")),
                "dst_port": f"TRY_CAST({_scalar('destination_port')} AS INTEGER)",
                "transport": transport,
                "protocol": "p.proto",
                "extra": f"nullif(CASE WHEN _reason IS NOT NULL THEN NULL ELSE json_merge_patch(line, "
                f"{null_patch(_MAPPED)}) END::VARCHAR, '{{}}')",
            }
        )
        checks = "\n    ".join(
            [
                check_cast(_scalar("source_port"), "source_port"),
                check_cast(_scalar("destination_port"), "destination_port"),
                *(
                    f"WHEN r.{f} IS NOT NULL AND json_type(r.{f}) NOT IN ('VARCHAR', 'NULL') THEN '{f}: not a string'"
                    for f in _STRINGS
                ),
            ]
        )
        return f"""
WITH parsed AS (
  SELECT _row, line, {OBJECT_CHECK} AS is_object, try(json_transform(line, {struct_spec(_FIELDS)})) AS r
  FROM {lines}
), p AS (
  SELECT *, {_TS} AS ts, {protocol} AS proto FROM parsed
), checked AS (
  SELECT *, CASE
    WHEN r IS NULL THEN 'invalid JSON'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN r.honeypot IS NULL OR json_type(r.honeypot) = 'NULL' THEN 'missing honeypot'
    WHEN r.timestamp IS NOT NULL AND json_type(r.timestamp) <> 'NULL' AND ts IS NULL
      THEN 'unparseable timestamp: ' || left(r.timestamp::VARCHAR, 64)
    {checks}
  END AS _reason FROM p
)
SELECT _row, _reason,
  {cols}
FROM checked p
"""
