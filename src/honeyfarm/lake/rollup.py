# SPDX-License-Identifier: MIT
"""Hourly rollups: small pre-aggregated tables that make report panels fast.

Counting distinct sessions or grouping credentials over ten million events
takes DuckDB 0.2-0.8 s on two cores; the same panels over rollups take tens
of milliseconds. Each rollup groups events by hour and by the dimensions the
panels filter on (sensor, honeypot, country), plus its own keys.

A rollup file is a pure function of one event file: ``events/date=D/X.parquet``
has ``_rollup/<name>-<hash>/date=D/X.parquet``. A writer builds the rollups of
new event files (an ingest batch, a compaction's output) before it commits,
and the same snapshot version adds both (:mod:`honeyfarm.lake.snapshot`), so
rollups never lag the events. :func:`usable` tells readers whether the
snapshot holds every current rollup of every event file; it does not after a
rollup's definition changed, until a writer rebuilt it (:func:`plan`), and
panels then compute the very same rows from the raw events. Both paths run
the same ``SELECT`` (:data:`ROLLUPS`), once over a file, once over the
filtered ``events`` view, so their results agree.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from honeyfarm.analysis.rollup_sql import services_rollup, suricata_rollup
from honeyfarm.sql import sql_path, sql_paths

#: A login attempt. Dionaea's ``log_json`` says only that a connection carried credentials (``dionaea.login``: the
#: first pair in the columns, every pair in ``extra.credentials``), not whether they worked: one attempt each.
LOGIN = "(eventid LIKE '%.login.success' OR eventid LIKE '%.login.failed' OR eventid = 'dionaea.login')"
SUCCESS = "eventid LIKE '%.login.success'"


@dataclass(frozen=True)
class Rollup:
    name: str
    where: str | None
    keys: tuple[tuple[str, str], ...]  # (output name, expression over events)
    measures: tuple[tuple[str, str], ...]
    #: How a rollup file's rows are sorted: like values side by side compress better (the eventids rollup by
    #: eventid first: 13% smaller). Not in the repr, so not in the fingerprint: the rows
    #: are the same whatever their order, and files of either order are read alike.
    order: str | None = field(default=None, repr=False, compare=False)

    def select(self, source: str, where: str = "") -> str:
        """The rollup's rows computed from ``source`` (a table or subquery of events)."""
        conds = [c for c in (self.where, where.removeprefix("WHERE ").strip() or None) if c]
        where_sql = ("WHERE " + " AND ".join(f"({c})" for c in conds)) if conds else ""
        cols = [f"{expr} AS {name}" for name, expr in self.keys + self.measures]
        group = ", ".join(str(i + 1) for i in range(len(self.keys)))
        return f"SELECT {', '.join(cols)} FROM {source} {where_sql} GROUP BY {group}"


#: Sessions are counted by a 63-bit hash of (sensor, session): counting distinct
#: integers is several times faster than counting distinct strings or structs,
#: and 63 bits make a collision among millions of sessions negligible.
def session_key_sql(sensor: str, session: str) -> str:
    """The session key of two SQL expressions (columns, or ``?::VARCHAR`` parameters for a lookup)."""
    return f"(hash({sensor}, {session}) >> 1)::BIGINT"


SESSION_KEY = f"CASE WHEN session IS NOT NULL THEN {session_key_sql('sensor', 'session')} END"

#: Whether ``src_ip`` is an internal address: loopback (127/8, ::1), RFC 1918 (Docker's 172.17-31 included),
#: link-local (169.254/16, fe80::/10), CGNAT (100.64/10), "this network" (0/8, ::), ULA (fc00::/7); an
#: IPv4-mapped IPv6 form counts as its IPv4 address. Such sources are the sensor's own host, a container
#: bridge, a load balancer or a test: the ``exclude internal`` filter (:class:`honeyfarm.analysis.panels.Filters`)
#: drops them. One expression, here, for every query and rollup; :data:`INTERNAL_NETWORKS` is the same set for
#: Python (tests/test_dimensions.py checks that they agree). NULL (no address) is not internal.
INTERNAL = (
    "coalesce(regexp_matches(lower(src_ip), '^((::ffff:)?(0|10|127)[.]|(::ffff:)?169[.]254[.]|(::ffff:)?192[.]168[.]"
    "|(::ffff:)?172[.](1[6-9]|2[0-9]|3[01])[.]|(::ffff:)?100[.](6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])[.]"
    "|::1?$|0{1,4}(:0{1,4}){6}:(0{1,4}|0{0,3}1)$|f[cd][0-9a-f][0-9a-f]:|fe[89ab][0-9a-f]:)'), false)"
)
INTERNAL_NETWORKS: tuple[str, ...] = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "::/128", "::1/128", "fc00::/7", "fe80::/10",
)  # fmt: skip

_DIMS: tuple[tuple[str, str], ...] = (
    ("hour", "date_trunc('hour', ts)"),
    ("sensor", "sensor"),
    ("honeypot", "split_part(eventid, '.', 1)"),
    ("src_country", "src_country"),
    # A dimension of every rollup, so that the default "exclude internal" filter is answered from rollups.
    ("internal", INTERNAL),
)

#: What a client string (``client_version``) is: ``ssh`` for SSH client banners (SSH events: protocol ssh or a
#: ``*.client.version`` event), ``http`` for user agents (web traps, Tanner, Suricata http, the Docker and
#: Elasticsearch APIs), else ``other`` (SIP agents, SMB native OS, MySQL/MSSQL client names). Decided by the
#: event, not the text: an attacker picks the text.
CLIENT_KIND = (
    "CASE WHEN protocol = 'ssh' OR eventid LIKE '%.client.version' THEN 'ssh' "
    "WHEN protocol IN ('http', 'https', 'http2') OR split_part(eventid, '.', 1) IN "
    "('http', 'web', 'tanner', 'docker', 'elasticsearch') OR eventid LIKE 'suricata.http%' THEN 'http' "
    "WHEN client_version LIKE 'SSH-%' THEN 'ssh' ELSE 'other' END"
)

#: The honeypot type of an event, from its eventid: ``aws.vpcflow.*`` → ``vpcflow``, ``aws.route53*`` →
#: ``route53``, else the eventid's first part (:mod:`honeyfarm.analysis.overview`).
TYPE_SQL = (
    "CASE WHEN eventid LIKE 'aws.vpcflow.%' THEN 'vpcflow' WHEN eventid LIKE 'aws.route53%' THEN 'route53' "
    "ELSE split_part(eventid, '.', 1) END"
)

#: Honeypots (eventid prefixes) of the sensor's exploit traps (the web trap's is ``http``; ``web`` is
#: accepted too), and the file transfer events of every trap.
TRAP_HONEYPOTS: tuple[str, ...] = ("http", "web", "redis", "docker", "elasticsearch")
#: Web honeypots of other projects whose requests the exploit trap panels count too (SNARE/Tanner's
#: ``tanner.request``): kept apart from TRAP_HONEYPOTS, which the Overview counts as the sensor's own traps.
WEB_HONEYPOTS: tuple[str, ...] = ("tanner",)
WEB_REQUEST = "eventid IN ('http.request.received', 'web.request.received', 'tanner.request')"
#: Tanner's detection names -> the web trap's attack classes where they mean the same (sensor/traps/http/
#: classify.py); ``index`` and ``unknown`` are Tanner's "no attack" and are dropped.
TANNER_ATTACKS: dict[str, str] = {"lfi": "traversal", "cmd_exec": "cmd_injection"}
TRANSFER = "(eventid LIKE '%.file_download' OR eventid LIKE '%.file_download.failed' OR eventid LIKE '%.file_upload')"


def _json_set(*keys: str) -> str:
    """The ``extra`` fields ``keys`` (each a list of strings, or one string) as one sorted list without
    duplicates, or NULL."""
    lists = [
        f"coalesce(CASE json_type(extra, '$.{k}') WHEN 'ARRAY' THEN TRY_CAST(extra->'$.{k}' AS VARCHAR[]) "
        f"WHEN 'VARCHAR' THEN [extra->>'$.{k}'] END, [])"
        for k in keys
    ]
    return f"nullif(list_sort(list_distinct({' || '.join(lists)})), [])"


def _json_words(key: str) -> str:
    """``extra.<key>`` (a list of strings, or one string) as one space-separated string, or NULL."""
    return (
        f"CASE json_type(extra, '$.{key}') WHEN 'ARRAY' THEN "
        f"nullif(array_to_string(TRY_CAST(extra->'$.{key}' AS VARCHAR[]), ' '), '') ELSE extra->>'$.{key}' END"
    )


def _trap_attacks() -> str:
    """The attack classes of a trap event: ``extra.attack`` (honeyfarm's traps), or Tanner's detection
    (``extra.attack_type``) named as the web trap names it, without its "no attack" names."""
    names = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in TANNER_ATTACKS.items())
    tanner = (
        f"nullif(list_sort(list_distinct(list_transform(list_filter(coalesce({_json_set('attack_type')}, []), "
        f"lambda a: a NOT IN ('index', 'unknown')), lambda a: CASE a {names} ELSE a END))), [])"
    )
    return f"CASE WHEN eventid = 'tanner.request' THEN {tanner} ELSE {_json_set('attack')} END"


ROLLUPS: dict[str, Rollup] = {
    r.name: r
    for r in (
        Rollup(
            "sessions",
            None,
            (
                *_DIMS,
                ("session_key", SESSION_KEY),
                # Determined by (sensor, session_key): adds no rows, lets the dashboard name sessions.
                ("session", "session"),
                ("src_ip", "src_ip"),
                ("src_country_name", "src_country_name"),
                ("src_asn", "src_asn"),
                ("src_as_org", "src_as_org"),
            ),
            (
                ("events", "count(*)"),
                ("logins", f"count_if({LOGIN})::BIGINT"),
                ("successes", f"count_if({SUCCESS})::BIGINT"),
                ("first_seen", "min(ts)"),
                ("last_seen", "max(ts)"),
                ("client_version", "any_value(client_version) FILTER (WHERE client_version IS NOT NULL)"),
                ("hassh", "any_value(hassh) FILTER (WHERE hassh IS NOT NULL)"),
            ),
        ),
        # Client strings by kind (SSH banner, HTTP user agent): the client-versions and http-user-agents panels.
        Rollup(
            "clients",
            "client_version IS NOT NULL",
            (
                *_DIMS,
                ("kind", CLIENT_KIND),
                ("client_version", "client_version"),
                ("session_key", SESSION_KEY),
                ("src_ip", "src_ip"),
            ),
            (("events", "count(*)"),),
        ),
        Rollup(
            "credentials",
            f"{LOGIN} AND username IS NOT NULL",
            (*_DIMS, ("username", "username"), ("password", "password")),
            (("attempts", "count(*)"), ("successes", f"count_if({SUCCESS})::BIGINT")),
        ),
        Rollup(
            "commands",
            "eventid LIKE '%.command.input' AND command IS NOT NULL",
            # No session name: views find a command's sessions by session_key in the sessions rollup, and the
            # names (incompressible text) made up a third of this rollup's bytes.
            (*_DIMS, ("command", "command"), ("session_key", SESSION_KEY), ("src_ip", "src_ip")),
            (("count", "count(*)"),),
        ),
        Rollup(
            "downloads",
            "eventid LIKE '%.file_download' OR eventid LIKE '%.file_upload'",
            (*_DIMS, ("url", "url"), ("sha256", "sha256"), ("src_ip", "src_ip")),
            (("count", "count(*)"), ("first_seen", "min(ts)"), ("last_seen", "max(ts)")),
        ),
        Rollup(
            "eventids",
            None,
            # The country name is determined by the code: it adds no rows, and saves the
            # dashboard's filter bar a scan of the much larger sessions rollup.
            (*_DIMS, ("eventid", "eventid"), ("src_country_name", "src_country_name")),
            (("events", "count(*)"),),
        ),
        # Destination ports (the Overview's port histogram): only events that carry one. Ports per address
        # and hour are few (a session is one connection), so this stays small; the events without a port are
        # the eventids rollup's total minus these.
        Rollup(
            "ports",
            "dst_port IS NOT NULL",
            (*_DIMS, ("dst_port", "dst_port"), ("type", TYPE_SQL), ("src_ip", "src_ip")),
            (("events", "count(*)"),),
        ),
        # What honeyfarm sensors say about themselves (stamped on every event they
        # write): the dashboard's per-region, per-exposure and per-dollar figures.
        Rollup(
            "identity",
            "source_format = 'honeyfarm'",
            (
                *_DIMS,
                ("region", "extra->>'$.region'"),
                ("exposure", "coalesce(extra->>'$.tags.exposure', extra->>'$.exposure')"),
                ("provider", "extra->>'$.provider'"),
                ("hourly_cost", "TRY_CAST(extra->>'$.hourly_cost' AS DOUBLE)"),
            ),
            (("events", "count(*)"),),
        ),
        # The exploit traps' requests, commands and payload downloads (honeyfarm.analysis.traps):
        # the few `extra` fields their panels need are parsed here, once per event file.
        Rollup(
            "traps",
            f"split_part(eventid, '.', 1) IN ({', '.join(repr(t) for t in TRAP_HONEYPOTS + WEB_HONEYPOTS)}) "
            f"OR {TRANSFER}",
            (
                *_DIMS,
                ("eventid", "eventid"),
                ("session_key", SESSION_KEY),
                # The session id only where a view links to it (a download's session): fewer distinct rows.
                ("session", f"CASE WHEN {TRANSFER} THEN session END"),
                ("src_ip", "src_ip"),
                # A web request's path without its query string (exploit payloads make every query
                # different), every other event's whole URL.
                ("path", f"CASE WHEN {WEB_REQUEST} THEN split_part(url, '?', 1) END"),
                ("url", f"CASE WHEN NOT {WEB_REQUEST} THEN url END"),
                ("client_version", "client_version"),
                ("command", "command"),
                ("sha256", "sha256"),
                ("method", "extra->>'$.method'"),
                ("attacks", _trap_attacks()),
                ("cves", _json_set("cve", "cves")),
                ("query", "extra->>'$.query'"),
                ("image", "extra->>'$.image'"),
                ("privileged", "TRY_CAST(extra->>'$.privileged' AS BOOLEAN)"),
                ("binds", _json_words("binds")),
                # Downloads: the trap and how the URL was found; ssh/telnet shell downloads name no trap.
                ("trap", f"CASE WHEN {TRANSFER} THEN coalesce(extra->>'$.trap', protocol, 'shell') END"),
                ("how", "extra->>'$.how'"),
                ("reason", "extra->>'$.reason'"),
            ),
            (("count", "count(*)"), ("first_seen", "min(ts)"), ("last_seen", "max(ts)")),
        ),
        # The service traps' and Suricata's panels (defined beside their SQL, which the panels share): on a lake
        # without such events their files are empty, and the panels read nothing instead of scanning every event.
        services_rollup(Rollup, _DIMS, SESSION_KEY),
        suricata_rollup(Rollup, _DIMS, SESSION_KEY),
    )
}

#: Row order of the rollups whose files sorting shrinks most for its cost (bench/ingest.py, 1M synthetic
#: events: credentials 2.34 -> 2.08 MB, eventids 0.76 -> 0.66 MB). The per-session rollups barely shrink when
#: sorted (their session keys are random) and their sort cost ingest ~0.3 s: left as grouped.
_ORDERS = {
    "credentials": "password, username, hour",
    "eventids": "eventid, sensor, src_country, hour",
    "ports": "dst_port, type, hour",
}
ROLLUPS = {n: dataclasses.replace(r, order=_ORDERS.get(n, r.order)) for n, r in ROLLUPS.items()}


def fingerprint(name: str) -> str:
    """A short hash of a rollup's definition: part of its directory name.

    Changing a rollup (a key, a measure, its filter) changes the directory, so
    files of the old definition are never read as the new one: readers see the
    rollup as missing and answer from the events until a writer has rebuilt it,
    and :func:`sync` deletes the old directory.
    """
    return hashlib.sha256(repr(ROLLUPS[name]).encode()).hexdigest()[:10]


def rollup_dir(lake_root: Path, name: str) -> Path:
    return lake_root / "_rollup" / f"{name}-{fingerprint(name)}"


def rollup_path(lake_root: Path, name: str, event_file: Path) -> Path:
    """``_rollup/<name>/date=D/<same name>`` for ``events/date=D/<name>``."""
    return rollup_dir(lake_root, name) / event_file.parent.name / event_file.name


def build(
    con: duckdb.DuckDBPyConnection, lake_root: Path, event_files: list[Path], options: str, staging: Path
) -> list[tuple[Path, Path]]:
    """Compute the rollups of event files that each hold one date (one query per rollup).

    Returns ``(staged rollup file, final path)`` pairs for the caller to move
    into place once the event files are committed. A rollup with no rows for a
    file still gets an (empty) file, so that "one rollup file per event file"
    stays checkable.
    """
    by_date = {f.parent.name: f for f in event_files}
    if len(by_date) != len(event_files):
        raise ValueError("rollups are built for at most one event file per date at a time")
    src = f"read_parquet({sql_paths(event_files)}, hive_partitioning=false)"
    staging.mkdir(parents=True, exist_ok=True)
    moves: list[tuple[Path, Path]] = []
    for r in ROLLUPS.values():
        out = staging / r.name
        con.execute(
            f"COPY (SELECT *, hour::DATE AS date FROM ({r.select(src)}) {f'ORDER BY {r.order}' if r.order else ''}) "
            f"TO {sql_path(out)} "
            f"({options}, PARTITION_BY (date), FILENAME_PATTERN 'r-{{uuid}}')"
        )
        for part, f in by_date.items():
            found = sorted((out / part).glob("*.parquet")) if (out / part).is_dir() else []
            if not found:
                empty = out / part / "empty.parquet"
                empty.parent.mkdir(parents=True, exist_ok=True)
                con.execute(f"COPY (SELECT * FROM ({r.select(src)}) WHERE false) TO {sql_path(empty)} ({options})")
                found = [empty]
            moves.append((found[0], rollup_path(lake_root, r.name, f)))
    return moves


def key(name: str) -> str:
    """The rollup's table key in a snapshot (its directory relative to the lake): ``_rollup/<name>-<hash>``."""
    return f"_rollup/{name}-{fingerprint(name)}"


def _file_ids(paths: Iterable[str]) -> set[tuple[str, str]]:
    """``(date=D, file name)`` of each relative path: how an event file and its rollup files are matched."""
    return {(parts[-2], parts[-1]) for parts in (p.split("/") for p in paths)}


def plan(
    tables: Mapping[str, Sequence[str]], exists: Callable[[str], bool], dates: Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """What makes a snapshot's rollups match its event files: ``(event files to build, rollup files to drop)``.

    To drop: every file of an old definition's directory, and rollup files whose
    event file is not live. To build: event files lacking a rollup of a current
    definition, or whose rollup file is listed but gone from the disk (deleted
    by hand). ``dates`` limits the event files considered (``YYYY-MM-DD``).
    """
    events = list(tables.get("events", ()))
    if dates is not None:
        wanted = {f"date={d}" for d in dates}
        events = [p for p in events if p.split("/")[-2] in wanted]
    current = {key(n) for n in ROLLUPS}
    live_ids = _file_ids(tables.get("events", ()))
    drop: list[str] = []
    for k, paths in tables.items():
        if k.startswith("_rollup/") and k not in current:
            drop += paths
        elif k in current:
            drop += [p for p in paths if tuple(p.split("/")[-2:]) not in live_ids]
    have = {k: set(tables.get(k, ())) for k in current}
    build_: list[str] = []
    for ev in events:
        date, name = ev.split("/")[-2:]
        for k in current:
            rel = f"{k}/{date}/{name}"
            if rel not in have[k] or not exists(rel):
                build_.append(ev)
                break
    return build_, drop


def usable(tables: Mapping[str, Sequence[str]]) -> bool:
    """Whether every rollup of the current definitions has exactly one file per event file (and there are events).

    False when a definition changed and no writer has rebuilt it yet: panels then read the events.
    """
    want = _file_ids(tables.get("events", ()))
    return bool(want) and all(_file_ids(tables.get(key(n), ())) == want for n in ROLLUPS)
