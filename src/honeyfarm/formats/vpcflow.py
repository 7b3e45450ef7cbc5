# SPDX-License-Identifier: MIT
"""AWS VPC Flow Logs, text (space-separated) records, default and custom formats.

One record per line; the layout is either AWS's version 2 default (14 fields,
``version account-id interface-id srcaddr dstaddr srcport dstport protocol
packets bytes start end action log-status``) or a custom one, announced by the
header line that starts every file AWS delivers to S3 (the field names, e.g.
``version vpc-id subnet-id ... tcp-flags ... traffic-path``).

Mapping: ``srcaddr``/``dstaddr``/``srcport``/``dstport`` → the address and port
columns; ``start`` (Unix seconds) → ``ts`` (UTC; a custom format without
``start``, or ``-`` there, leaves ``ts`` NULL: the record takes its delivery
time, see :mod:`honeyfarm.collect.attribution`); ``end - start`` →
``duration``; IANA ``protocol`` number → ``transport`` (6 ``tcp``, 17 ``udp``,
1 ``icmp``, any other number as text); ``log-status`` and ``action`` → the
eventid (``aws.vpcflow.accept`` / ``reject`` / ``nodata`` / ``skipdata``, or
``aws.vpcflow.flow`` when a custom format has no ``action`` field). Every other
field goes into ``extra`` under its AWS name, as text; ``-`` fields are
omitted there (and are NULL in the columns).

Drift handled:

* version 2 default records without a header (CloudWatch Logs exports, the
  AWS documentation) and custom formats (versions 3 to 10) with their header;
* a header line is neither an event nor a dead letter: it only sets the
  layout of the lines after it, so files concatenated together (one header
  per file) work too;
* ``-`` for a missing value; NODATA/SKIPDATA records (no addresses, ports,
  counts nor action) are kept as events with their status as the eventid;
* runs of spaces (or tabs) between fields;
* a field name AWS adds later (unknown here) still counts as a header token
  and lands in ``extra``.

Headers and batches: the SQL sees only one batch's lines, so a line takes the
layout of the last header line *before it in the same batch*. When a batch
boundary falls inside a file (a file larger than one read block, 64 MiB, or a
file resumed from its checkpoint), its later lines have no header in their
batch; they then use the header this format's detector read from the start of
the file (remembered per field count during the run), else the version 2
default if they have 14 fields (the same fallbacks serve a line whose field count
differs from the header before it, e.g. a header-less file after a custom-format
one in the same batch). Lines that still match no layout, or whose
field count is shared by two different headers seen in the run, are dead
letters saying so; they are never mapped with a guessed layout. With
``--format vpcflow`` the detector is not run, so only the first of those
fallbacks is lost. Known ambiguity: a header-less file following a
custom-format file of exactly 14 fields in the same batch takes that header.
"""

from __future__ import annotations

import re

from honeyfarm.formats.base import Format, check_cast, project
from honeyfarm.sql import sql_str

#: The version 2 default layout (no header line).
DEFAULT_FIELDS: tuple[str, ...] = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
)  # fmt: skip

#: Field names AWS documents (versions 2 to 10); a header needs at least one of them.
KNOWN_FIELDS: frozenset[str] = frozenset(
    {
        *DEFAULT_FIELDS, "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr",
        "pkt-dstaddr", "region", "az-id", "sublocation-type", "sublocation-id", "pkt-src-aws-service",
        "pkt-dst-aws-service", "flow-direction", "traffic-path", "ecs-cluster-arn", "ecs-cluster-name",
        "ecs-container-instance-arn", "ecs-container-instance-id", "ecs-container-id",
        "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn",
        "ecs-task-id", "reject-reason", "resource-id", "encryption-status",
    }
)  # fmt: skip

_NAME = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"
_NAME_RE = re.compile(_NAME)
_ACTIONS = ("ACCEPT", "REJECT")
_STATUSES = ("OK", "NODATA", "SKIPDATA")

# Fields carried by a column (or the eventid): not repeated in `extra`.
_MAPPED = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "start", "end", "action", "log-status")
# Fields read into their own SQL column: (name, integer type to check, or None).
_READ = {
    "version": "INTEGER",
    "srcaddr": None,
    "dstaddr": None,
    "srcport": "INTEGER",
    "dstport": "INTEGER",
    "protocol": "INTEGER",
    "packets": "BIGINT",
    "bytes": "BIGINT",
    "start": "BIGINT",
    "end": "BIGINT",
    "action": None,
    "log-status": None,
    "tcp-flags": "INTEGER",
}
# Latest Unix second accepted for start/end (year 3000): larger ones are errors, not timestamps.
_MAX_EPOCH = 32503680000


def split_fields(line: bytes | str) -> list[str]:
    """The whitespace-separated fields of one record."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    return text.split()


def is_header(fields: list[str]) -> bool:
    """Whether ``fields`` is a header line: field names only, at least one AWS knows."""
    return len(fields) >= 2 and all(_NAME_RE.fullmatch(f) for f in fields) and any(f in KNOWN_FIELDS for f in fields)


def _looks_default(fields: list[str]) -> bool:
    if len(fields) != len(DEFAULT_FIELDS):
        return False
    rec = dict(zip(DEFAULT_FIELDS, fields, strict=True))
    return (
        rec["version"] == "2"
        and (rec["interface-id"].startswith("eni-") or rec["interface-id"] == "-")
        and rec["action"] in (*_ACTIONS, "-")
        and rec["log-status"] in _STATUSES
        and rec["start"].isdigit()
        and rec["end"].isdigit()
    )


def _list(names: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(sql_str(n) for n in names) + "]"


def _col(name: str) -> str:
    return "v_" + name.replace("-", "_")


class VPCFlowFormat(Format):
    name = "vpcflow"
    description = "AWS VPC Flow Logs (text; version 2 default or custom format with header line)"
    priority = 60
    eventids = frozenset(
        {"aws.vpcflow.accept", "aws.vpcflow.reject", "aws.vpcflow.nodata", "aws.vpcflow.skipdata", "aws.vpcflow.flow"}
    )

    def __init__(self) -> None:
        # Header lines read by detect() during this run, by field count (None: two different ones).
        self._headers: dict[int, tuple[str, ...] | None] = {}

    def detect(self, sample: list[bytes]) -> bool:
        lines = [split_fields(s) for s in sample[:20]]
        lines = [f for f in lines if f]
        if not lines:
            return False
        first = lines[0]
        if is_header(first):
            self._remember(tuple(first))
            # If the head shows data lines, one at least must have as many fields as the header.
            data = [f for f in lines[1:] if not is_header(f)]
            return not data or any(len(f) == len(first) for f in data)
        # The last sampled line may be cut short: judge on the complete ones. A few bad
        # records must not hide the file's format (they become dead letters).
        complete = lines[:-1] if len(lines) > 1 else lines
        return _looks_default(first) and 2 * sum(map(_looks_default, complete)) > len(complete)

    def _remember(self, header: tuple[str, ...]) -> None:
        n = len(header)
        if n not in self._headers:
            self._headers[n] = header
        elif self._headers[n] != header:
            self._headers[n] = None

    def _fallback_sql(self) -> str:
        """Layout for a line with no header before it in its batch: a remembered header, else v2 default."""
        whens = [f"WHEN {n} THEN {_list(h)}" for n, h in sorted(self._headers.items()) if h is not None]
        if len(DEFAULT_FIELDS) not in self._headers:
            whens.append(f"WHEN {len(DEFAULT_FIELDS)} THEN {_list(DEFAULT_FIELDS)}")
        return f"CASE len(f) {' '.join(whens)} END"

    def select_sql(self, lines: str) -> str:
        ambiguous = sorted(n for n, h in self._headers.items() if h is None)
        known = _list(sorted(KNOWN_FIELDS))
        reads = ",\n    ".join(f"nullif(f[list_position(hdr, {sql_str(n)})], '-') AS {_col(n)}" for n in _READ)
        checks = []
        for n, typ in _READ.items():
            if typ:
                checks.append(check_cast(_col(n), n, typ))
        for n in ("srcport", "dstport"):
            checks.append(f"WHEN TRY_CAST({_col(n)} AS INTEGER) NOT BETWEEN 0 AND 65535 THEN '{n}: out of range'")
        for n in ("srcaddr", "dstaddr"):
            checks.append(
                f"WHEN {_col(n)} IS NOT NULL AND NOT regexp_full_match({_col(n)}, '[0-9A-Fa-f:.]+') "
                f"THEN '{n}: not an IP address: ' || left({_col(n)}, 64)"
            )
        checks += [
            f"WHEN v_action IS NOT NULL AND v_action NOT IN {tuple(_ACTIONS)} "
            "THEN 'action: unknown: ' || left(v_action, 32)",
            f"WHEN v_log_status IS NOT NULL AND v_log_status NOT IN {tuple(_STATUSES)} "
            "THEN 'log-status: unknown: ' || left(v_log_status, 32)",
            f"WHEN TRY_CAST(v_start AS BIGINT) NOT BETWEEN 0 AND {_MAX_EPOCH} THEN 'start: out of range'",
            f"WHEN TRY_CAST(v_end AS BIGINT) NOT BETWEEN 0 AND {_MAX_EPOCH} THEN 'end: out of range'",
            "WHEN TRY_CAST(v_end AS BIGINT) < TRY_CAST(v_start AS BIGINT) THEN 'end before start'",
        ]
        amb = ""
        if ambiguous:
            amb = (
                f"WHEN hdr IS NULL AND len(f) IN ({', '.join(map(str, ambiguous))}) THEN len(f) || ' fields and "
                "no header line before it in this batch; different headers of that many fields were seen'\n    "
            )
        no_layout = (
            "WHEN hdr IS NULL AND batch_hdr IS NOT NULL THEN len(f) || ' fields; the header line has ' "
            "|| len(batch_hdr)\n    "
            f"{amb}WHEN hdr IS NULL THEN len(f) || ' fields, not the {len(DEFAULT_FIELDS)} of the version 2 default "
            "format, and no header line naming the fields before it in this batch'\n    "
            "WHEN len(list_distinct(hdr)) <> len(hdr) THEN 'header line repeats a field name'"
        )
        branches = "\n    ".join([no_layout, *checks])
        start = "TRY_CAST(v_start AS BIGINT)"
        proto = "TRY_CAST(v_protocol AS INTEGER)"
        cols = project(
            {
                # Only in range: the multiplication is evaluated for rejected lines too, and one
                # start of 10^13 seconds would overflow it and fail the whole batch.
                "ts": f"make_timestamp(CASE WHEN {start} BETWEEN 0 AND {_MAX_EPOCH} THEN {start} * 1000000 END)",
                "eventid": "CASE WHEN v_log_status = 'NODATA' THEN 'aws.vpcflow.nodata' "
                "WHEN v_log_status = 'SKIPDATA' THEN 'aws.vpcflow.skipdata' "
                "WHEN v_action = 'ACCEPT' THEN 'aws.vpcflow.accept' WHEN v_action = 'REJECT' THEN 'aws.vpcflow.reject' "
                "ELSE 'aws.vpcflow.flow' END",
                "source_format": "'vpcflow'",
                "src_ip": "v_srcaddr",
                "src_port": "TRY_CAST(v_srcport AS INTEGER)",
                "dst_ip": "v_dstaddr",
                "dst_port": "TRY_CAST(v_dstport AS INTEGER)",
                "transport": f"CASE {proto} WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' WHEN 1 THEN 'icmp' "
                f"ELSE {proto}::VARCHAR END",
                "duration": f"(TRY_CAST(v_end AS BIGINT) - {start})::DOUBLE",
                "extra": "CASE WHEN _reason IS NULL THEN nullif(to_json(map_from_entries(list_filter(list_zip(hdr, f), "
                f"lambda x: x[2] <> '-' AND NOT list_contains({_list(_MAPPED)}, x[1]))))::VARCHAR, '{{}}') END",
            }
        )
        return f"""
WITH split AS (
  SELECT _row, line, string_split_regex(trim(rtrim(line, e'\\r\\n'), e' \\t'), '[ \\t]+') AS f FROM {lines}
), marked AS (
  SELECT *, len(f) >= 2
      AND list_bool_and(list_transform(f, lambda x: regexp_full_match(x, '{_NAME}')))
      AND len(list_intersect(f, {known})) > 0 AS is_header
  FROM split
), layered AS (
  SELECT *, last_value(CASE WHEN is_header THEN f END IGNORE NULLS)
    OVER (ORDER BY _row ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS batch_hdr
  FROM marked
), laid AS (
  SELECT *, CASE WHEN len(batch_hdr) = len(f) THEN batch_hdr ELSE {self._fallback_sql()} END AS hdr
  FROM layered WHERE NOT is_header
), vals AS (
  SELECT *,
    {reads}
  FROM laid
), checked AS (
  SELECT *, CASE
    {branches}
  END AS _reason FROM vals
)
SELECT _row, _reason,
  {cols}
FROM checked
"""
