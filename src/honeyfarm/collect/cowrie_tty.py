# SPDX-License-Identifier: MIT
"""Cowrie's binary TTY logs, converted into the sensor's asciicast logs and linked to their sessions.

Cowrie (and Kippo before it) records each SSH/Telnet channel in the binary
format of User-Mode Linux's ``tty_log``: records of ``struct.pack("<iLiiLL",
op, tty, length, direction, sec, usec)`` (24 bytes, little-endian on every
host) followed by ``length`` bytes of terminal data. ``op`` is OPEN, CLOSE,
WRITE or EXEC; ``direction`` says who wrote the bytes (1 the attacker's input,
2 the shell's output, 3 an ``exec`` command). UML's own logs have the same
fields with native ``long``\\ s, so a 64-bit host wrote 40-byte headers; both
are read.

``honeyfarm ingest`` converts such a file into the text-frame log the sensor
writes itself (:mod:`honeyfarm.sensor.capture.ttylog`, asciicast v2), so
``honeyfarm replay`` and the session page play both the same way, with the
same escape stripping and the same size cap (``sensor.limits.ttylog_bytes``).
Layout under the lake, beside the other ingest state::

    _state/tty/<hash>.cast       the converted log (asciicast v2)
    _state/tty/<hash>.json       what was read: layout, start time, records, bytes, whether capped
    _state/tty/names/<name>      the hash, size, mtime and damage of the file ingested under that name
    _state/tty/sessions/<id>     names whose file name carries session <id> (Cowrie before 2019)

``<hash>`` is the hash Cowrie itself names a closed log by and logs as
``shasum`` in ``cowrie.log.closed``: SHA-256 over the data of every record.
A session finds its logs at read time, so the order of ingest does not
matter: through the old file name (``YYYYMMDD-HHMMSS-<session>-<n><i|e>.log``)
or through the ``cowrie.log.open``/``cowrie.log.closed`` events of the session
in the lake (their ``shasum``, or the ``ttylog`` path's base name).

Every file is written to a temporary name and renamed (atomic); a file ingested
again converts to the same hash and is counted as a duplicate. A damaged file
(cut short, a length field past its end, a record that is not one) keeps what
parses before the damage; the rest is reported, never a crash.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from honeyfarm.lake.durable import atomic_write_bytes

OP_OPEN, OP_CLOSE, OP_WRITE, OP_EXEC = 1, 2, 3, 4
TYPE_INPUT, TYPE_OUTPUT, TYPE_INTERACT = 1, 2, 3
FORMAT = "cowrie_ttylog"

#: Header layouts, most common first: Cowrie/Kippo; UML on x86-64 (native longs, padded); UML on big-endian hosts.
LAYOUTS: tuple[tuple[str, struct.Struct], ...] = (
    ("cowrie", struct.Struct("<iLiiLL")),
    ("uml64", struct.Struct("<i4xQiiQQ")),
    ("uml-be", struct.Struct(">iLiiLL")),
)
_CHUNK = 1 << 16
_LINE_COST = 14
#: Cowrie's name for a log before it was renamed to its hash (releases up to 2019).
OLD_NAME = re.compile(r"(\d{8}-\d{6})-([0-9a-f]{8,32})-(\d+)([ie])\.log$")
_HASH = re.compile(r"[0-9a-f]{64}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_SESSION = re.compile(r"[0-9a-f]{8,32}")


def _plausible(fields: tuple[int, ...], room: int | None) -> bool:
    op, _tty, length, direction, sec, usec = fields
    fits = length >= 0 and (room is None or length <= room)
    return 1 <= op <= 4 and 0 <= direction <= 3 and fits and 0 <= usec < 1_000_000 and sec < 1 << 34


def detect(head: bytes, size: int) -> struct.Struct | None:
    """The header layout if ``head`` (the file's first bytes, ``size`` in all) starts a TTY log, else None.

    Every writer starts with an OPEN record; the second header, when the head holds it, must be one too, so a
    text log (whose first bytes are printable) or another binary format is never taken for one.
    """
    for _name, st in LAYOUTS:
        if len(head) < st.size:
            continue
        first = st.unpack_from(head, 0)
        if first[0] != OP_OPEN or not _plausible(first, size - st.size):
            continue
        nxt = st.size + first[2]
        # The second record may be the damaged one (cut short): its length is not held against the file's size.
        if len(head) >= nxt + st.size and not _plausible(st.unpack_from(head, nxt), None):
            continue
        return st
    return None


def is_ttylog(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
        return detect(head, path.stat().st_size) is not None
    except OSError:
        return False


@dataclass
class Parsed:
    """A TTY log as read: frames ``(seconds since open, "o" | "i", bytes)`` up to ``keep`` bytes of data."""

    layout: str
    start: float | None = None
    records: int = 0
    writes: int = 0
    data_bytes: int = 0
    frames: list[tuple[float, str, bytes]] = field(default_factory=list)
    #: What the kept frames cost against ``keep``: their data plus the least a cast line adds (``[0.0, "o", ""]``),
    #: so a log of millions of one-byte records holds no more frames in memory than its cast can.
    kept_bytes: int = 0
    dropped_frames: int = 0  # past ``keep``
    problems: list[tuple[int, str]] = field(default_factory=list)  # (record number, what is wrong)
    shasum: str = ""


def parse(path: Path, keep: int) -> Parsed:
    """Read a TTY log record by record; what parses before any damage is kept, the damage is described."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        st = detect(fh.read(256), size)
        if st is None:
            raise ValueError(f"{path.name}: not a Cowrie TTY log")
        fh.seek(0)
        out = Parsed(next(n for n, s in LAYOUTS if s is st))
        digest = hashlib.sha256()
        pos, last = 0, 0.0
        while pos < size:
            raw = fh.read(st.size)
            if len(raw) < st.size:
                out.problems.append((out.records, f"cut short: {len(raw)} bytes at offset {pos} are not a header"))
                break
            fields = st.unpack(raw)
            op, _tty, length, direction, sec, usec = fields
            if not (1 <= op <= 4 and length >= 0):
                out.problems.append(
                    (out.records, f"record {out.records} at offset {pos} is not one (op {op}, length {length}); "
                     f"{size - pos:,} bytes left unread")
                )  # fmt: skip
                break
            pos += st.size
            want = min(length, size - pos)
            data = bytearray()
            got = 0
            hashed = op == OP_WRITE or direction == TYPE_INPUT  # ttylog_inputhash's own test, kept as is
            while got < want:
                chunk = fh.read(min(_CHUNK, want - got))
                if not chunk:
                    break
                if hashed:
                    digest.update(chunk)  # Cowrie hashes what it reads, a short last record included
                if out.kept_bytes + len(data) < keep:
                    data += chunk[: keep - out.kept_bytes - len(data)]
                got += len(chunk)
            pos += got
            out.records += 1
            if got < length:
                out.problems.append(
                    (out.records - 1, f"record {out.records - 1} at offset {pos - got - st.size} claims {length:,} "
                     f"bytes, the file holds {got:,} more: the log is cut short")
                )  # fmt: skip
            t = sec + usec / 1e6
            if out.start is None:
                out.start = t
            # Clock jumps (or a hostile timestamp) never make time run backwards or start before the open.
            last = max(last, t - out.start)
            if op in (OP_WRITE, OP_EXEC) and got:
                out.writes += 1
                out.data_bytes += got
                if len(data) < got or out.kept_bytes >= keep:
                    out.dropped_frames += 1
                if data:
                    out.frames.append((last, "i" if direction == TYPE_INPUT else "o", bytes(data)))
                    out.kept_bytes += len(data) + _LINE_COST
            if got < length:
                break
        out.shasum = digest.hexdigest()
    return out


def to_cast(p: Parsed, cap: int) -> tuple[bytes, bool]:
    """The asciicast v2 text of ``p`` within ``cap`` bytes, and whether it had to be cut."""
    header = {"version": 2, "width": 80, "height": 24, "timestamp": int(p.start or 0), "title": "Cowrie TTY log"}
    lines = [json.dumps(header, ensure_ascii=True) + "\n"]
    total = len(lines[0])
    # One decoder per direction: Cowrie writes typed input a byte at a time, so a UTF-8 character spans records.
    decoders = {k: codecs.getincrementaldecoder("utf-8")("replace") for k in ("o", "i")}
    cut = p.dropped_frames > 0
    t_end = p.frames[-1][0] if p.frames else 0.0
    items: list[tuple[float, str, bytes, bool]] = [(t, k, d, False) for t, k, d in p.frames]
    items += [(t_end, k, b"", True) for k in ("o", "i")]
    for t, kind, data, final in items:
        text = decoders[kind].decode(data, final)
        if not text:
            continue
        line = json.dumps([round(t, 6), kind, text], ensure_ascii=True) + "\n"
        if total + len(line) > cap:
            cut = True
            break  # a cut, not a hole: as the sensor does
        lines.append(line)
        total += len(line)
    return "".join(lines).encode("ascii"), cut


@dataclass
class Stored:
    shasum: str
    new: bool
    problems: list[tuple[int, str]]
    note: str | None  # the cap message, when the converted log was cut


class TtyStore:
    """The converted logs of one lake (``<lake>/_state/tty``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def cast(self, shasum: str) -> Path:
        return self.root / f"{shasum}.cast"

    def meta(self, shasum: str) -> dict[str, Any]:
        try:
            got = json.loads((self.root / f"{shasum}.json").read_text(encoding="utf-8"))
            return got if isinstance(got, dict) else {}
        except (OSError, ValueError):
            return {}

    def _name(self, name: str) -> dict[str, Any]:
        """What ``names/<name>`` says: the hash, size, mtime and problems of the file last ingested under it."""
        if not _SAFE_NAME.fullmatch(name):
            return {}
        try:
            got = json.loads((self.root / "names" / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return got if isinstance(got, dict) and _HASH.fullmatch(str(got.get("shasum"))) else {}

    def by_name(self, name: str) -> str | None:
        h = self._name(name).get("shasum")
        return str(h) if h else None

    def add(self, path: Path, name: str, cap: int) -> Stored:
        base = Path(name).name
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns]
        seen = self._name(base)
        if seen.get("stamp") == stamp and (self.root / f"{seen['shasum']}.json").is_file():
            # The same file again: nothing to convert; its damage is reported again, as for any damaged file.
            return Stored(seen["shasum"], False, [(int(a), str(b)) for a, b in seen.get("problems", [])], None)
        parsed = parse(path, cap)
        # The .json is written last: a log whose .json is missing (a crash in between) is converted again.
        new = not (self.root / f"{parsed.shasum}.json").is_file()
        note = None
        if new:
            data, cut = to_cast(parsed, cap)
            if cut:
                note = (
                    f"{name}: Cowrie TTY log capped at {cap:,} bytes (sensor.limits.ttylog_bytes): "
                    f"replay stops after {len(data):,} bytes of {parsed.data_bytes:,} bytes of terminal data"
                )
            meta = {
                "shasum": parsed.shasum, "layout": parsed.layout, "start": parsed.start, "records": parsed.records,
                "writes": parsed.writes, "data_bytes": parsed.data_bytes, "capped": cut, "cap": cap, "name": base,
            }  # fmt: skip
            atomic_write_bytes(self.cast(parsed.shasum), data)
            atomic_write_bytes(self.root / f"{parsed.shasum}.json", json.dumps(meta, sort_keys=True).encode())
        if _SAFE_NAME.fullmatch(base):
            link = {"shasum": parsed.shasum, "stamp": stamp, "problems": parsed.problems}
            atomic_write_bytes(self.root / "names" / base, json.dumps(link).encode())
            m = OLD_NAME.search(base)
            if m:
                self._link_session(m.group(2), base)
        return Stored(parsed.shasum, new, parsed.problems, note)

    def _link_session(self, session: str, name: str) -> None:
        path = self.root / "sessions" / session
        try:
            names = path.read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            names = []
        if name not in names:
            atomic_write_bytes(path, "".join(f"{n}\n" for n in sorted([*names, name])).encode())

    def find(self, session: str, links: Iterable[tuple[str | None, str | None]] = ()) -> list[Path]:
        """The converted logs of ``session``, oldest first: by old file name, and by ``links`` (``(ttylog path,
        shasum)`` of the session's ``cowrie.log.open``/``cowrie.log.closed`` events in the lake)."""
        if not _SESSION.fullmatch(session):
            return []
        hashes: list[str | None] = []
        try:
            names = (self.root / "sessions" / session).read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            names = []
        hashes += [self.by_name(n) for n in names]
        for ttylog, shasum in links:
            if shasum and _HASH.fullmatch(shasum.lower()):
                hashes.append(shasum.lower())
            if ttylog:
                base = ttylog.replace("\\", "/").rsplit("/", 1)[-1]
                hashes.append(base if _HASH.fullmatch(base) else self.by_name(base))
        found = {h: self.cast(h) for h in hashes if h is not None and self.cast(h).is_file()}
        return sorted(found.values(), key=lambda p: (self.meta(p.stem).get("start") or 0.0, p.name))


def ingest_file(path: Path, name: str, root: Path, cap: int, result: Any) -> list[tuple[int, str]] | None:
    """Convert ``path`` if it is a Cowrie TTY log; None if it is not one (it is then read as a line log).

    Counts go to ``result`` (an IngestResult): ``files``, ``by_format["cowrie_ttylog"]`` (``ingested`` logs
    converted, ``duplicates`` logs already in the lake) and ``errors`` (damage, cap). Returns the damage as
    ``(record number, reason)`` for the caller's dead letters.
    """
    if not is_ttylog(path):
        return None
    result.files += 1
    counts = result.counts(FORMAT)
    try:
        got = TtyStore(root).add(path, name, cap)
    except OSError as exc:
        result.errors.append(f"{name}: Cowrie TTY log not converted: {exc}")
        return []
    if got.new:
        counts.ingested += 1
    else:
        counts.duplicates += 1
    if got.note:
        result.errors.append(got.note)
    if got.problems:
        what = "; ".join(why for _, why in got.problems)
        result.errors.append(f"damaged Cowrie TTY log: {name}: {what}; kept what was read before")
    return got.problems


def lake_links(
    con: Any, session: str, sensor: str | None = None, span: tuple[dt.datetime, dt.datetime] | None = None
) -> list[tuple[str | None, str | None]]:
    """``(ttylog, shasum)`` of the session's ``cowrie.log.open``/``.closed`` events (a DuckDB connection with the
    lake's views); ``sensor`` narrows to one sensor ("(no sensor)": events without one) and to the session's days
    (``span``: its first and last event time when the caller has it, else looked up)."""
    from honeyfarm.analysis.panels import NO_SENSOR, session_span

    where = "session = ? AND eventid IN ('cowrie.log.open', 'cowrie.log.closed')"
    params: list[Any] = [session]
    if sensor is not None:
        # The session's span from the sessions rollup: only its days' partitions are read, not the whole lake.
        span = span or session_span(con, sensor, session)
        if span is None:
            return []
        where += " AND date BETWEEN ? AND ?"
        params += [span[0].date(), span[1].date()]
        if sensor == NO_SENSOR:
            where += " AND sensor IS NULL"
        else:
            where += " AND sensor = ?"
            params.append(sensor)
    # events_stored: the stored `extra` holds ttylog and shasum; the `events` view would rebuild Cowrie messages.
    rows = con.execute(
        f"SELECT DISTINCT json_extract_string(extra, '$.ttylog'), json_extract_string(extra, '$.shasum') "
        f"FROM events_stored WHERE {where} LIMIT 1000",
        params,
    ).fetchall()
    return [(a, b) for a, b in rows]


def find_in_lake(lake_root: Path, session: str, sensor: str | None = None) -> list[Path]:
    """The converted Cowrie logs of ``session`` in the lake at ``lake_root`` (for ``honeyfarm replay``)."""
    store = TtyStore(lake_root / "_state" / "tty")
    if not _SESSION.fullmatch(session):
        return []
    links: list[tuple[str | None, str | None]] = []
    if (lake_root / "events").is_dir():
        from honeyfarm.lake.store import Lake

        con = Lake(lake_root).connect(1)  # views over the current snapshot's files
        try:
            links = lake_links(con, session, sensor)
        finally:
            con.close()
    return store.find(session, links)


__all__ = ["FORMAT", "LAYOUTS", "Parsed", "TtyStore", "detect", "find_in_lake", "ingest_file", "lake_links", "parse"]
