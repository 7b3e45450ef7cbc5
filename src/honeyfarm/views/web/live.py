# SPDX-License-Identifier: MIT
"""The live attack feed: events pushed to browsers as ingest commits them.

A single poller per server lists the lake's event files every
``serve.live_interval_seconds``; events of files it has not seen are read
(only those files), and handed to every subscriber's bounded queue. A slow
browser loses feed entries, never the server's memory.

Compaction rewrites old files into new ones; their events are not news. So
the poller only forwards events newer than the newest event it had seen minus
:data:`SLACK`, and remembers recently sent ``event_id`` values to drop repeats.
Logs ingested long after the fact (older than that window) appear in the
views, not in the live feed. Events dated past the accepted window's upper
edge (:mod:`honeyfarm.timewindow`; a lake written before ingest checked it)
are never news and never count as the newest event: one event in 2262 would
otherwise hold back every real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
from starlette.concurrency import run_in_threadpool

from honeyfarm.analysis.panels import Filters
from honeyfarm.schema import events_view_sql
from honeyfarm.sql import sql_paths
from honeyfarm.timewindow import TimeWindow, shift
from honeyfarm.views.web.reader import LakeReader

SLACK = dt.timedelta(hours=1)
MAX_PER_POLL = 500
TEXT_CAP = 200
QUEUE = 200
LIVE_COLUMNS = (
    "ts", "sensor", "eventid", "src_ip", "src_country", "src_lat", "src_lon", "username", "password", "command", "url",
)  # fmt: skip


def _event(row: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in zip(LIVE_COLUMNS, row, strict=True):
        if isinstance(v, dt.datetime):
            v = v.isoformat()
        elif isinstance(v, str):
            v = v[:TEXT_CAP]
        out[k] = v
    return out


def matches(event: dict[str, Any], f: Filters) -> bool:
    """Whether a live event passes the dashboard's filters (the time range does not apply to news)."""
    return f.admits(event)


def _select(source: str, where: str = "", limit: int = MAX_PER_POLL) -> str:
    cols = ", ".join(f"{c}::VARCHAR" if c in ("username", "password", "command", "url") else c for c in LIVE_COLUMNS)
    return f"SELECT {cols}, event_id FROM {source} {where} ORDER BY ts DESC, event_id LIMIT {int(limit)}"


class LiveFeed:
    def __init__(self, reader: LakeReader, interval: float, window: TimeWindow | None = None) -> None:
        self.reader = reader
        self.interval = interval
        self.window = window or TimeWindow()
        self.subscribers: set[asyncio.Queue[list[dict[str, Any]]]] = set()
        self._known: set[Path] = set()
        self._sent: OrderedDict[int, None] = OrderedDict()
        self._newest: dt.datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def _files(self) -> set[Path]:
        # The current snapshot's files, not a glob: a file moved in but not yet committed is not an event yet.
        return set(self.reader.lake.all_files("events"))

    def _start_state(self, con: duckdb.DuckDBPyConnection) -> None:
        # fetchall(), not fetchone(): a result left unread on the shared reader connection makes the next
        # con.sql() there (the panels') fail with "unfinished result".
        rows = con.execute("SELECT max(ts) FROM events WHERE ts <= ?", [self.window.latest()]).fetchall()
        self._newest = rows[0][0] if rows else None

    def recent(self, limit: int, f: Filters | None = None) -> list[dict[str, Any]]:
        """The newest events, reading the newest date partitions first (not a sort of the whole lake)."""
        f = f or Filters()
        latest = self.window.latest()
        dates = [d for d in self.reader.lake.partitions("events") if d <= latest.date().isoformat()]

        def newest(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = []
            for days in (1, 3, 10, len(dates)):
                where, params = f.where("ts <= ?" + (" AND date >= ?::DATE" if days < len(dates) else ""))
                params = [*params, latest, *([dates[-days]] if days < len(dates) else [])]
                rows = con.execute(_select("events", where, limit), params or None).fetchall()
                if len(rows) >= limit or days >= len(dates):
                    break
            return rows

        rows = self.reader.run(newest) if dates else []
        return [_event(r[:-1]) for r in rows]

    def _poll(self) -> list[dict[str, Any]]:
        files = self._files()
        new = sorted(files - self._known)
        self._known = files
        if not new:
            return []
        latest = self.window.latest()
        floor = shift(min(self._newest, latest), -SLACK) if self._newest else None

        def read(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            # The events view's derived columns (event_id is not stored: honeyfarm.schema.events_view_sql).
            src = f"read_parquet({sql_paths(new)}, hive_partitioning=false, union_by_name=true)"
            src = f"({events_view_sql(src, with_date=False)})"
            where, params = "WHERE ts <= ?", [latest]
            if floor:
                where, params = where + " AND ts >= ?", [latest, floor]
            try:
                return con.execute(_select(src, where), params or None).fetchall()
            except duckdb.IOException:
                return []  # compacted away before we read it: its events were news only if in the new file

        rows = self.reader.run(read)
        out = []
        for r in reversed(rows):  # oldest first
            eid = r[-1]
            if eid in self._sent:
                continue
            self._sent[eid] = None
            out.append(_event(r[:-1]))
            if self._newest is None or r[0] > self._newest:
                self._newest = r[0]
        while len(self._sent) > 200_000:
            self._sent.popitem(last=False)
        return out

    async def _loop(self) -> None:
        await run_in_threadpool(self.reader.run, self._start_state)
        self._known = self._files()
        while True:
            await asyncio.sleep(self.interval)
            try:
                batch = await run_in_threadpool(self._poll)
            except duckdb.Error:
                continue  # a lake mid-change; the next poll sees it settled
            if batch:
                for q in list(self.subscribers):
                    while q.full():
                        q.get_nowait()  # a slow browser loses the oldest batch, not our memory
                    q.put_nowait(batch)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def subscribe(self) -> asyncio.Queue[list[dict[str, Any]]]:
        q: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue(maxsize=QUEUE)
        self.subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[list[dict[str, Any]]]) -> None:
        self.subscribers.discard(q)
