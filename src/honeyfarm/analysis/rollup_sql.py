# SPDX-License-Identifier: MIT
"""The SQL of the service traps' and Suricata's rollups, and the constants their panels share.

The ``services`` and ``suricata`` rollups are entries of
:data:`honeyfarm.lake.rollup.ROLLUPS` like every other, so ingest stores them
and their panels (:mod:`honeyfarm.analysis.services`,
:mod:`honeyfarm.analysis.suricata`) read a few small files instead of
scanning every event for the rare service or Suricata ones (on a Cowrie-only
lake the files are empty). Their definitions live here, apart from the
panels, because ``rollup.py`` builds its registry from them at import: this
module imports nothing of honeyfarm's (the rollup class and the shared
dimensions are passed in), so no import cycle arises whichever module loads
first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")

# ------------------------------------------------------------------ services
#: Honeypots (eventid prefixes) of the service traps, in the order the views show them.
SERVICE_TRAPS: tuple[str, ...] = ("smb", "ftp", "tftp", "mssql", "mysql", "sip", "catchall")

_TRAPS_SQL = "(" + ", ".join(repr(t) for t in SERVICE_TRAPS) + ")"
_OWN = f"split_part(eventid, '.', 1) IN {_TRAPS_SQL}"
# Dionaea's events (its JSON and SQLite logs, MHN's sessions) but its service starts: no peer, no attack.
_DIONAEA = "(eventid LIKE 'dionaea.%' AND eventid <> 'dionaea.connection.listen')"
_IN = f"{_OWN} OR {_DIONAEA}"
_UPLOAD = "eventid LIKE '%.file_upload'"  # <trap>.session.file_upload: SMB, FTP, TFTP, MySQL
_DOWNLOAD = "eventid LIKE '%.file_download'"  # Dionaea's logsql downloads (url, md5)
_SQL = (
    "eventid IN ('mssql.command.input', 'mysql.command.input', 'dionaea.mssql.command.input', "
    "'dionaea.mysql.command.input')"
)
_DIONAEA_LOGIN = "eventid IN ('dionaea.login', 'dionaea.login.success')"
#: The service an event belongs to: the trap (honeyfarm), else the protocol Dionaea spoke. Dionaea's ``pcap``
#: module reports connections to closed ports (answered with a RST, no protocol spoken): ``closed port``, as
#: MHN's ``pcap`` records (which it stores as rejects without a protocol).
SERVICE = (
    f"CASE WHEN {_OWN} THEN split_part(eventid, '.', 1) WHEN lower(protocol) = 'pcap' THEN 'closed port' "
    "WHEN protocol IS NOT NULL AND protocol <> '' THEN lower(protocol) "
    "WHEN eventid = 'dionaea.connection.reject' THEN 'closed port' ELSE 'unknown' END"
)
#: Where an event comes from: ``honeyfarm`` (the sensor's traps), else its source format.
SOURCE = f"CASE WHEN {_OWN} THEN 'honeyfarm' ELSE coalesce(source_format, split_part(eventid, '.', 1)) END"


def _x(*keys: str) -> str:
    """``extra``'s field at ``keys`` (``"http", "status"``: ``$.http.status``) as text."""
    return f"extra->>'$.{'.'.join(keys)}'"


def _list(key: str) -> str:
    """``extra.<key>`` (a list, or one value) as a list of strings in the sender's order, or NULL."""
    kind = f"json_type(extra, '$.{key}')"  # NULL when the key is missing: neither branch is taken
    return (
        f"nullif(CASE WHEN {kind} = 'ARRAY' THEN TRY_CAST(extra->'$.{key}' AS VARCHAR[]) "
        f"WHEN {kind} NOT IN ('NULL', 'OBJECT') THEN [extra->>'$.{key}'] END, [])"
    )


def services_rollup(make: Callable[..., R], _DIMS: tuple[tuple[str, str], ...], SESSION_KEY: str) -> R:
    """The service traps' events by hour, the filter dimensions of every rollup (``_DIMS``) and the ``extra``
    fields the panels read: ``make(name, where, keys, measures)`` (:class:`honeyfarm.lake.rollup.Rollup`)."""
    return make(
        "services",
        _IN,
        (
            *_DIMS,
            ("eventid", "eventid"),
            ("service", SERVICE),
            ("source", SOURCE),
            ("session_key", SESSION_KEY),
            ("src_ip", "src_ip"),
            ("dst_port", "dst_port"),
            ("client_version", "client_version"),
            # SQL batches and the binary path of a svcctl call; FTP command lines (brute force) are left to
            # the commands rollup, so they add no rows here.
            ("command", f"CASE WHEN {_SQL} OR eventid = 'smb.dcerpc.request' THEN command END"),
            # SIP digest usernames, and Dionaea's logins (its JSON log's are no ``.login.success/failed`` event,
            # so the credentials rollup has none of them); other traps' logins are the credentials rollup's.
            ("username", f"CASE WHEN eventid LIKE 'sip.login.%' OR {_DIONAEA_LOGIN} THEN username END"),
            ("password", f"CASE WHEN {_DIONAEA_LOGIN} THEN password END"),
            ("sha256", "sha256"),
            ("path", f"CASE WHEN {_UPLOAD} THEN coalesce({_x('path')}, {_x('filename')}) END"),
            ("size", f"CASE WHEN {_UPLOAD} THEN TRY_CAST({_x('size')} AS BIGINT) END"),
            ("smb_version", _x("smb_version")),
            ("dialect", f"CASE WHEN eventid = 'smb.protocol.negotiate' THEN {_x('dialect')} END"),
            ("offered", f"array_to_string({_list('dialects')}, ', ')"),
            ("share", _x("share")),
            ("pipe", _x("pipe")),
            ("interface", _x("interface")),
            ("operation", _x("operation")),
            ("opnum", f"TRY_CAST({_x('opnum')} AS INTEGER)"),
            # The tool behind an MS17-010 probe, the subcommand of a DoublePulsar ping.
            ("detail", f"coalesce({_x('tool')}, {_x('subcommand')})"),
            ("answer", _x("answer")),
            ("shell", _list("shell")),
            ("urls", _list("urls")),
            ("method", _x("method")),
            ("scanner", _x("scanner")),
            ("to_user", f"nullif(regexp_extract({_x('to')}, 'sips?:([^@;>]+)@', 1), '')"),
            ("realm", _x("realm")),
            ("guess", _x("guess")),
            ("ja3", _x("ja3_hash")),
            ("ja4", _x("ja4")),
            ("sni", _x("sni")),
        ),
        (("count", "count(*)"), ("first_seen", "min(ts)"), ("last_seen", "max(ts)")),
    )


# ------------------------------------------------------------------ suricata
ALERT = "eventid = 'suricata.alert'"
HTTP = "eventid = 'suricata.http'"
FILEINFO = "eventid = 'suricata.fileinfo'"
FLOW = "eventid IN ('suricata.flow', 'suricata.netflow')"

#: A CVE id as rule writers spell it: ``CVE-2021-44228`` in signature text, ``CVE_2021_44228`` in Emerging Threats'
#: ``metadata.cve``, sometimes ``CVE 2021-44228``; the year and the number must be separated (else where would
#: ``CVE20211234`` split?).
CVE_PATTERN = r"CVE[-_ ]?(\d{4})[-_ ](\d{4,})"
_CVE_RE = re.compile(CVE_PATTERN, re.IGNORECASE)


def cve_ids(*texts: str | None) -> list[str]:
    """The CVE ids in ``texts``, normalised to ``CVE-YYYY-N...``, sorted, without duplicates (what
    :func:`cve_sql` computes in SQL; kept beside it so tests can check both)."""
    return sorted({f"CVE-{y}-{n}" for t in texts if t for y, n in _CVE_RE.findall(t)})


def cve_sql(*exprs: str) -> str:
    """The CVE ids in the VARCHAR expressions ``exprs`` as a sorted list without duplicates (NULL when none)."""
    lists = [
        f"coalesce(list_transform(regexp_extract_all({e}, '(?i){CVE_PATTERN}'), "
        f"lambda x: regexp_replace(upper(x), '^CVE[-_ ]?([0-9]{{4}})[-_ ]([0-9]+)$', 'CVE-\\1-\\2')), [])"
        for e in exprs
    ]
    return f"nullif(list_sort(list_distinct({' || '.join(lists)})), [])"


def _when(cond: str, expr: str) -> str:
    return f"CASE WHEN {cond} THEN {expr} END"


def _bigint(*keys: str) -> str:
    return f"TRY_CAST({_x(*keys)} AS BIGINT)"


def suricata_rollup(make: Callable[..., R], _DIMS: tuple[tuple[str, str], ...], SESSION_KEY: str) -> R:
    """Suricata's events by hour, the filter dimensions of every rollup (``_DIMS``) and the ``extra`` fields the
    panels read. Each field is kept only for the record type whose panel reads it (URLs of http and fileinfo
    records, not of the alerts that repeat them), so the rollup has fewer distinct rows."""
    return make(
        "suricata",
        "split_part(eventid, '.', 1) = 'suricata'",
        (
            *_DIMS,
            ("eventid", "eventid"),
            ("session_key", SESSION_KEY),
            ("src_ip", "src_ip"),
            # Determined by src_ip: add no rows, spare the panels a join with the sessions rollup.
            ("src_country_name", "src_country_name"),
            ("src_asn", "src_asn"),
            ("src_as_org", "src_as_org"),
            ("transport", "transport"),
            ("protocol", "protocol"),
            ("sid", _when(ALERT, _bigint("alert", "signature_id"))),
            ("signature", _when(ALERT, _x("alert", "signature"))),
            ("category", _when(ALERT, _x("alert", "category"))),
            ("severity", _when(ALERT, f"TRY_CAST({_x('alert', 'severity')} AS INTEGER)")),
            ("cves", _when(ALERT, cve_sql(_x("alert", "signature"), "(extra->'$.alert.metadata.cve')::VARCHAR"))),
            ("url", _when(f"{HTTP} OR {FILEINFO}", "url")),
            ("method", _when(HTTP, _x("http", "http_method"))),
            ("status", _when(HTTP, _bigint("http", "status"))),
            ("user_agent", _when(HTTP, _x("http", "http_user_agent"))),
            ("filename", _when(FILEINFO, _x("fileinfo", "filename"))),
            ("sha256", _when(FILEINFO, "sha256")),
            ("md5", _when(FILEINFO, f"lower({_x('fileinfo', 'md5')})")),
            ("size", _when(FILEINFO, _bigint("fileinfo", "size"))),
            ("magic", _when(FILEINFO, _x("fileinfo", "magic"))),
        ),
        (
            ("count", "count(*)"),
            ("first_seen", "min(ts)"),
            ("last_seen", "max(ts)"),
            # flow records count both directions; netflow records one each
            (
                "bytes",
                f"sum(coalesce({_bigint('flow', 'bytes_toserver')} + {_bigint('flow', 'bytes_toclient')}, "
                f"{_bigint('netflow', 'bytes')})) FILTER (WHERE {FLOW})",
            ),
            (
                "packets",
                f"sum(coalesce({_bigint('flow', 'pkts_toserver')} + {_bigint('flow', 'pkts_toclient')}, "
                f"{_bigint('netflow', 'pkts')})) FILTER (WHERE {FLOW})",
            ),
        ),
    )
