# SPDX-License-Identifier: MIT
"""The one event schema every source is mapped into.

Each column is declared once here with its DuckDB type, its Elastic Common
Schema (ECS) equivalent and a short meaning. The lake writer, the parsers, the
docs (``docs/schema.md``) and the tests all read this table, so a column is
added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    ecs: str
    doc: str


#: Columns of the ``events`` table, in storage order. ``date`` is not stored in
#: the files: it is the Hive partition key (``date=YYYY-MM-DD/``) derived from ``ts``.
#: ``event_id`` is not stored either: readers get it from :func:`events_view_sql`
#: (:data:`EVENT_ID_SQL`, a hash of the stored columns), so it costs no bytes.
EVENT_COLUMNS: tuple[Column, ...] = (
    Column("ts", "TIMESTAMP", "@timestamp", "Event time, UTC, microseconds (plain TIMESTAMP, no zone)."),
    Column("eventid", "VARCHAR", "event.action", "Dotted `<source>.<object>[.<action>]` id from the registry."),
    Column("source_format", "VARCHAR", "event.module", "Parser that produced the event (`cowrie`, `honeyfarm`, ...)."),
    Column("sensor", "VARCHAR", "observer.name", "Sensor (honeypot host) name."),
    Column("session", "VARCHAR", "network.session_id", "Honeypot session id (one attacker connection)."),
    Column("src_ip", "VARCHAR", "source.ip", "Attacker address, IPv4-mapped IPv6 unwrapped."),
    Column("src_port", "INTEGER", "source.port", "Attacker port."),
    Column(
        "dst_ip",
        "VARCHAR",
        "destination.ip",
        "Sensor address, or the requested target for proxy (direct-tcpip) events.",
    ),
    Column("dst_port", "INTEGER", "destination.port", "Sensor port, or the requested target port for proxy events."),
    Column("transport", "VARCHAR", "network.transport", "`tcp` or `udp`."),
    Column("protocol", "VARCHAR", "network.protocol", "Application protocol (`ssh`, `telnet`, `http`, ...)."),
    Column("username", "VARCHAR", "user.name", "Login name tried by the attacker."),
    Column("password", "VARCHAR", "honeyfarm.password", "Password tried by the attacker (no ECS field exists)."),
    Column("command", "VARCHAR", "process.command_line", "Command line typed or sent for execution."),
    Column("url", "VARCHAR", "url.original", "URL of a download or request."),
    Column("sha256", "VARCHAR", "file.hash.sha256", "SHA-256 of a downloaded or uploaded file."),
    Column(
        "client_version",
        "VARCHAR",
        "user_agent.original",
        "Client software banner (SSH version string, HTTP user agent).",
    ),
    Column("hassh", "VARCHAR", "tls.client.ja3 (analogue)", "HASSH fingerprint of the SSH client's key exchange."),
    Column("duration", "DOUBLE", "event.duration (seconds, not ns)", "Session or TTY log duration in seconds."),
    Column("src_country", "VARCHAR", "source.geo.country_iso_code", "ISO 3166-1 alpha-2 country of `src_ip`."),
    Column("src_country_name", "VARCHAR", "source.geo.country_name", "Country name (English)."),
    Column("src_city", "VARCHAR", "source.geo.city_name", "City name (English)."),
    Column("src_lat", "DOUBLE", "source.geo.location.lat", "Latitude."),
    Column("src_lon", "DOUBLE", "source.geo.location.lon", "Longitude."),
    Column("src_asn", "BIGINT", "source.as.number", "Autonomous system number."),
    Column("src_as_org", "VARCHAR", "source.as.organization.name", "Autonomous system organisation."),
    Column("extra", "VARCHAR", "(flattened original)", "JSON object of every source field not mapped to a column."),
)

EVENT_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)

GEO_COLUMNS: tuple[str, ...] = (
    "src_country",
    "src_country_name",
    "src_city",
    "src_lat",
    "src_lon",
    "src_asn",
    "src_as_org",
)

#: Columns of the ``dead_letter`` table: records that could not be parsed.
DEAD_LETTER_COLUMNS: tuple[Column, ...] = (
    Column("ingested_at", "TIMESTAMP", "event.ingested", "When the record was rejected (UTC)."),
    Column("dead_id", "BIGINT", "event.id", "Stable id of (file identity, line, raw bytes); the dedup key."),
    Column("file", "VARCHAR", "log.file.path", "Path the record was read from."),
    Column("line", "BIGINT", "log.file.line (non-ECS)", "1-based line number in the (decompressed) file."),
    Column("source_format", "VARCHAR", "event.module", "Format the file was read as."),
    Column("reason", "VARCHAR", "error.message", "Why the record was rejected."),
    Column("raw", "BLOB", "event.original", "The record's bytes exactly as read, up to `ingest.max_record_bytes`."),
    Column("raw_size", "BIGINT", "(none)", "Size of the original record in bytes (larger than `raw` when capped)."),
)


#: Columns of the ``files`` table: one row per file found in the central content store (issue 13), written
#: once by ``honeyfarm scan`` when it first identifies the file. Partitioned by the date of ``identified_at``.
FILE_COLUMNS: tuple[Column, ...] = (
    Column("sha256", "VARCHAR", "file.hash.sha256", "SHA-256 of the file; its name in the content store."),
    Column("size", "BIGINT", "file.size", "Size in bytes."),
    Column("md5", "VARCHAR", "file.hash.md5", "MD5 (for threat-intel lookups; never an identity)."),
    Column("sha1", "VARCHAR", "file.hash.sha1", "SHA-1."),
    Column("tlsh", "VARCHAR", "file.hash.tlsh", "TLSH fuzzy hash; NULL for files too short or uniform."),
    Column("magic", "VARCHAR", "file.type (non-ECS)", "libmagic's description of the content."),
    Column("mime", "VARCHAR", "file.mime_type", "MIME type from libmagic."),
    Column("file_format", "VARCHAR", "file.type", "`ELF`, `PE`, `script`, `archive`, `data`, ..."),
    Column("arch", "VARCHAR", "file.elf.header.machine", "ELF/PE machine (`x86-64`, `ARM`, `MIPS`, ...)."),
    Column("store_key", "VARCHAR", "file.path", "Object key in the central store (`files/sha256/<aa>/<sha256>`)."),
    Column("stored_at", "TIMESTAMP", "file.created", "When the object reached the central store (UTC), if known."),
    Column("identified_at", "TIMESTAMP", "event.ingested", "When `honeyfarm scan` identified the file (UTC)."),
    Column("error", "VARCHAR", "error.message", "Why the file could not be read or identified fully; NULL if fine."),
)

#: Columns of the ``scans`` table: one row per engine verdict; a re-scan adds rows, history is kept.
#: Partitioned by the date of ``scanned_at``; ``scan_id`` is the dedup key.
SCAN_COLUMNS: tuple[Column, ...] = (
    Column("scan_id", "VARCHAR", "event.id", "Stable id of (sha256, engine, engine_version, scanned_at)."),
    Column("sha256", "VARCHAR", "file.hash.sha256", "The file judged."),
    Column("engine", "VARCHAR", "observer.product", "`yara`, `clamav` or `virustotal`."),
    Column("engine_version", "VARCHAR", "observer.version", "Engine and rule/signature set version."),
    Column(
        "verdict",
        "VARCHAR",
        "event.outcome (non-ECS)",
        "`malicious`, `suspicious`, `clean`, `unknown` or `error: <reason>`.",
    ),
    Column("label", "VARCHAR", "threat.software.name", "Family or signature name."),
    Column("detections", "INTEGER", "(none)", "Engines that flagged it (VirusTotal) or rules matched (YARA)."),
    Column("total", "INTEGER", "(none)", "Engines asked (VirusTotal), rules loaded (YARA), 1 (ClamAV)."),
    Column("rules", "VARCHAR[]", "rule.name", "YARA rule or ClamAV signature names that matched."),
    Column("detail", "VARCHAR", "(none)", "Engine-specific JSON (e.g. VirusTotal per-engine names)."),
    Column("scanned_at", "TIMESTAMP", "event.created", "When the engine answered (UTC)."),
)


#: The natural key of a stored event: a 64-bit hash of every stored column except the GeoIP ones (a GeoIP
#: database update must not make a re-read record new). Two records are the same event iff their keys are
#: equal: ingest drops a record whose key is already in its date's files or earlier in its batch. The same
#: expression over the files is ``event_id`` (:data:`EVENT_ID_SQL`). ``tests/test_event_id.py`` pins values,
#: so a DuckDB upgrade that changed ``hash()`` fails the suite instead of making re-ingested events look new.
KEY_COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS if c.name not in GEO_COLUMNS)
ROW_KEY_SQL = "hash(" + ", ".join(f'"{n}"' for n in KEY_COLUMNS) + ")"
#: The key of a record that carried no time (``ts`` is its delivery time, ``extra.time_source`` says so): its
#: day instead of its time, so the same record delivered again on the same day is the same event.
DAY_KEY_SQL = ROW_KEY_SQL.replace('"ts"', '"ts"::DATE', 1)
#: ``event_id`` as readers see it: the natural key kept within the signed 64-bit range (Parquet, Spark and
#: Athena have no unsigned 64-bit type).
EVENT_ID_SQL = f"({ROW_KEY_SQL} >> 1)::BIGINT"


def create_table_sql(name: str, columns: tuple[Column, ...]) -> str:
    """``CREATE TABLE`` statement with the given columns (used for empty views).

    The empty ``events`` table also has ``event_id``: readers see it on every lake (see :func:`events_view_sql`).
    """
    if columns is EVENT_COLUMNS:
        columns = (columns[0], Column("event_id", "BIGINT", "event.id", "natural key"), *columns[1:])
    cols = ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)
    return f"CREATE OR REPLACE TEMP TABLE {name} ({cols})"


def events_view_sql(source: str, with_date: bool = True) -> str:
    """The ``events`` view's SELECT over ``source`` (a ``read_parquet(...)`` of the snapshot's event files).

    Columns that the files do not store but readers see (derived at read time) are added here, so every
    reader (CLI, dashboard, external engines through docs/schema.md) gets the same view, in the order
    ``ts``, ``event_id``, the other :data:`EVENT_COLUMNS`, ``date`` (the Hive partition key of ``source``;
    ``with_date=False`` for a source without one):

    * ``event_id`` (:data:`EVENT_ID_SQL`); a stored one (files written before lake v2) is replaced, so every
      event's id is its natural key;
    * Cowrie's ``message`` back in ``extra`` where ingest dropped it because it rebuilds byte for byte
      (:mod:`honeyfarm.formats.cowrie_message`).

    DuckDB computes either only when a query reads it.
    """
    from honeyfarm.formats.cowrie_message import message_in_extra_sql  # formats import this module

    rest = "COLUMNS(lambda c: c NOT IN ('ts', 'event_id', 'extra', 'date'))"
    date = ", date" if with_date else ""
    return (
        f"SELECT ts, {EVENT_ID_SQL} AS event_id, {rest}, {message_in_extra_sql('extra')} AS extra{date} FROM {source}"
    )
