# SPDX-License-Identifier: MIT
"""Amazon Route 53 DNS query logs: public hosted-zone query logs and Resolver query logs.

**Public hosted-zone query logs** (``route53``): one query per line, ten
space-separated fields, ``version timestamp hosted-zone-id query-name
query-type response-code protocol edge-location resolver-ip
edns-client-subnet``. ``resolver-ip`` → ``src_ip``; ``protocol`` (UDP/TCP) →
``transport``; ``timestamp`` → ``ts`` (UTC). The rest goes into ``extra`` with
snake_case keys chosen to match the Resolver logs where they mean the same:
``version``, ``hosted_zone_id``, ``query_name``, ``query_type``, ``rcode`` (the
log's ``response-code``), ``edge_location``, ``edns_client_subnet``.

**Resolver query logs** (``route53resolver``): one JSON object per line
(``version``, ``account_id``, ``region``, ``vpc_id``, ``query_timestamp``,
``query_name``, ``query_type``, ``query_class``, ``rcode``, ``answers``,
``srcaddr``, ``srcport``, ``transport``, ``srcids``, and the DNS Firewall
``firewall_*`` keys when a rule matched). ``srcaddr``/``srcport`` →
``src_ip``/``src_port``; ``query_timestamp`` → ``ts``; ``transport`` →
``transport`` when UDP or TCP (any other value, e.g. DoH, stays in ``extra``);
every other key stays in ``extra`` under its own name.

Sensor: a Resolver query comes *from* a host in the VPC, so when the log names
that host (``srcids.instance``, the EC2 instance id, e.g. a honeypot whose
malware looks up its C2) it is the event's ``sensor``. ``vpc_id`` is not: a VPC
holds many hosts, and queries from a Resolver endpoint (``srcids`` with
``resolver_endpoint`` only) or without ``srcids`` leave ``sensor`` empty for the
``[fleet]`` mapping of the file, log group or S3 key to fill. Public
hosted-zone query logs name no sensor at all (the querier is a recursive
resolver on the internet; the zone id stays in ``extra.hosted_zone_id``): the
fleet mapping (e.g. of the ``/aws/route53/<zone>`` log group) names it.

Both set ``protocol`` to ``dns``.

Drift handled:

* ``-`` for a missing field (``edns-client-subnet`` when the resolver sent
  none, ``edge-location`` placeholders): omitted from ``extra``;
* runs of spaces between fields;
* IPv6 resolver addresses and subnets;
* timestamps with ``Z`` or a numeric offset, with or without fractions;
* Resolver ``srcport`` as a string (``"48701"``, as logged) or a number;
  ``version`` ``"1.000000"`` / ``"1.100000"``; ``answers`` empty or a list;
  ``srcids`` empty or with ``instance`` / ``resolver_endpoint``.
"""

from __future__ import annotations

import re

from honeyfarm.formats.base import (
    OBJECT_CHECK,
    Format,
    check_cast,
    first_json_object,
    null_patch,
    project,
    struct_spec,
)

_QUERY_FIELDS = (
    "version", "timestamp", "hosted_zone_id", "query_name", "query_type", "rcode", "protocol",
    "edge_location", "resolver_ip", "edns_client_subnet",
)  # fmt: skip
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)")
_UTC = "timezone('UTC', TRY_CAST({e} AS TIMESTAMPTZ))"
_TRANSPORT = "CASE WHEN lower({e}) IN ('udp', 'tcp') THEN lower({e}) END"
_IP_CHECK = (
    "WHEN {e} IS NOT NULL AND NOT regexp_full_match({e}, '[0-9A-Fa-f:.]+') "
    "THEN '{n}: not an IP address: ' || left({e}, 64)"
)


def _query_line(fields: list[str]) -> bool:
    return (
        len(fields) == len(_QUERY_FIELDS)
        and re.fullmatch(r"\d+\.\d+", fields[0]) is not None
        and _ISO.fullmatch(fields[1]) is not None
        and fields[6].upper() in ("UDP", "TCP")
    )


class Route53QueryFormat(Format):
    name = "route53"
    description = "Amazon Route 53 public hosted-zone DNS query logs (space-separated)"
    priority = 55
    eventids = frozenset({"aws.route53.query"})

    def detect(self, sample: list[bytes]) -> bool:
        lines = [ln.decode("utf-8", "replace").split() for ln in sample[:20]]
        lines = [f for f in lines if f]
        if not lines:
            return False
        complete = lines[:-1] if len(lines) > 1 else lines  # the last sampled line may be cut
        # The first line must be a query and most others too: a few bad records become dead letters.
        return _query_line(lines[0]) and 2 * sum(map(_query_line, complete)) > len(complete)

    def select_sql(self, lines: str) -> str:
        n = len(_QUERY_FIELDS)
        reads = ",\n    ".join(f"nullif(f[{i}], '-') AS {name}" for i, name in enumerate(_QUERY_FIELDS, 1))
        extra_keys = [k for k in _QUERY_FIELDS if k not in ("timestamp", "protocol", "resolver_ip")]
        extra_obj = "json_object(" + ", ".join(f"'{k}', {k}" for k in extra_keys) + ")"
        cols = project(
            {
                "ts": "p.ts",
                "eventid": "'aws.route53.query'",
                "source_format": "'route53'",
                "src_ip": "resolver_ip",
                "transport": _TRANSPORT.format(e="protocol"),
                "protocol": "'dns'",
                # Merging into {} drops the null (`-`) members.
                "extra": f"CASE WHEN _reason IS NULL THEN json_merge_patch('{{}}', {extra_obj})::VARCHAR END",
            }
        )
        return f"""
WITH split AS (
  SELECT _row, line, string_split_regex(trim(rtrim(line, e'\\r\\n'), e' \\t'), '[ \\t]+') AS f FROM {lines}
), vals AS (
  SELECT _row, line, f,
    {reads}
  FROM split
), p AS (
  SELECT *, {_UTC.format(e="timestamp")} AS ts FROM vals
), checked AS (
  SELECT *, CASE
    WHEN len(f) <> {n} THEN len(f) || ' fields, expected {n}'
    WHEN timestamp IS NOT NULL AND ts IS NULL THEN 'unparseable timestamp: ' || left(timestamp, 64)
    WHEN query_name IS NULL THEN 'missing query-name'
    WHEN resolver_ip IS NULL THEN 'missing resolver-ip'
    {_IP_CHECK.format(e="resolver_ip", n="resolver-ip")}
    WHEN protocol IS NOT NULL AND upper(protocol) NOT IN ('UDP', 'TCP') THEN 'protocol: unknown: ' || left(protocol, 32)
  END AS _reason FROM p
)
SELECT _row, _reason,
  {cols}
FROM checked p
"""


_RESOLVER_FIELDS = {
    "query_timestamp": "VARCHAR",
    "query_name": "VARCHAR",
    "srcaddr": "VARCHAR",
    "srcport": "VARCHAR",
    "transport": "VARCHAR",
    "srcids": "JSON",
}


class Route53ResolverFormat(Format):
    name = "route53resolver"
    description = "Amazon Route 53 Resolver query logs (JSON lines)"
    priority = 45
    eventids = frozenset({"aws.route53resolver.query"})

    def detect(self, sample: list[bytes]) -> bool:
        rec = first_json_object(sample)
        return rec is not None and (
            "eventid" not in rec
            and isinstance(rec.get("query_timestamp"), str)
            and "query_name" in rec
            and ("srcaddr" in rec or "vpc_id" in rec)
        )

    def select_sql(self, lines: str) -> str:
        mapped = ["query_timestamp", "srcaddr", "srcport"]
        patch_with_transport = null_patch([*mapped, "transport"])
        patch = null_patch(mapped)
        transport = _TRANSPORT.format(e="r.transport")
        cols = project(
            {
                "ts": "p.ts",
                "eventid": "'aws.route53resolver.query'",
                "source_format": "'route53resolver'",
                "sensor": "CASE WHEN json_type(r.srcids) = 'OBJECT' THEN nullif(r.srcids ->> '$.instance', '') END",
                "src_ip": "r.srcaddr",
                "src_port": "TRY_CAST(r.srcport AS INTEGER)",
                "transport": transport,
                "protocol": "'dns'",
                "extra": f"CASE WHEN _reason IS NOT NULL THEN NULL WHEN {transport} IS NOT NULL "
                f"THEN json_merge_patch(line, {patch_with_transport})::VARCHAR "
                f"ELSE json_merge_patch(line, {patch})::VARCHAR END",
            }
        )
        return f"""
WITH parsed AS (
  SELECT _row, line, {OBJECT_CHECK} AS is_object, try(json_transform(line, {struct_spec(_RESOLVER_FIELDS)})) AS r
  FROM {lines}
), p AS (
  SELECT *, {_UTC.format(e="r.query_timestamp")} AS ts FROM parsed
), checked AS (
  SELECT *, CASE
    WHEN r IS NULL THEN 'invalid JSON'
    WHEN NOT is_object THEN 'not a JSON object'
    WHEN r.query_timestamp IS NOT NULL AND ts IS NULL
      THEN 'unparseable query_timestamp: ' || left(r.query_timestamp, 64)
    WHEN r.query_name IS NULL THEN 'missing query_name'
    {check_cast("r.srcport", "srcport")}
    WHEN TRY_CAST(r.srcport AS INTEGER) NOT BETWEEN 0 AND 65535 THEN 'srcport: out of range'
    {_IP_CHECK.format(e="r.srcaddr", n="srcaddr")}
  END AS _reason FROM p
)
SELECT _row, _reason,
  {cols}
FROM checked p
"""
