# SPDX-License-Identifier: MIT
"""``cloudwatch://log-group[/stream-prefix]?region=…`` as an ingest source.

Why: sensors on EC2 often ship Cowrie's JSON log with the CloudWatch agent
instead of keeping files, so the lake has to read log events straight from
CloudWatch Logs. Each event's ``message`` is one record; runs of messages are
written as lines into a temporary file under the lake's ``_staging`` and go
through the very same format detection, mapping, dead-letter and dedup path as
a local file (:mod:`honeyfarm.pipeline`), so nothing about parsing differs.
Every event is exactly one line (inner line breaks become spaces), so line
``n`` of such a file is event ``n``, and its timestamp goes along in the
file's :class:`~honeyfarm.collect.attribution.FileContext`: a record that
carries no time of its own takes its event's (``time_source = cloudwatch``).

Incremental, per stream: CloudWatch gives every event an ``eventId`` and a
``timestamp`` (ms) and returns a stream's events in timestamp order. The
checkpoint of a stream (``<lake>/_state/remote_cloudwatch.json``) is its last
event timestamp plus the ids of the events seen in the last
``cloudwatch_lookback_seconds`` before it. The next read starts that much
earlier and skips the remembered ids, so events sharing the last millisecond,
and events delivered late with a slightly older timestamp, are read exactly
once. The checkpoint moves only after the batch holding the events is durable.

A log group name may contain ``/`` (``/var/log/cowrie``), so the split between
group and stream prefix is found by asking which leading part names an
existing group (the longest wins); ``?stream_prefix=`` states it explicitly.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from honeyfarm.collect.attribution import cloudwatch_context
from honeyfarm.collect.files import StagedSource
from honeyfarm.collect.remote_s3 import (
    RemoteConfig,
    RemoteError,
    aws_errors,
    boto_client,
    describe_error,
    endpoint_from,
)
from honeyfarm.lake.durable import atomic_write_bytes

log = logging.getLogger(__name__)


@dataclass
class StreamState:
    region: str
    group: str
    stream: str
    #: Timestamp (ms) of the newest event read.
    last_ts: int = 0
    #: eventId → timestamp of the events read in the look-back window before ``last_ts``.
    ids: dict[str, int] = field(default_factory=dict)
    #: Events read from this stream so far (also orders the checkpoint's updates).
    events: int = 0
    updated: str = ""


class CloudWatchState:
    """Per-stream checkpoints of one lake (``<lake>/_state/remote_cloudwatch.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.streams: dict[tuple[str, str, str], StreamState] = {}
        self._dirty = False
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            for item in raw.get("streams", []):
                st = StreamState(**item)
                self.streams[(st.region, st.group, st.stream)] = st

    def get(self, region: str, group: str, stream: str) -> StreamState | None:
        return self.streams.get((region, group, stream))

    def advance(self, new: StreamState, base_events: int) -> None:
        """Move a stream's checkpoint to ``new`` if it still is where ``new`` was read from.

        A run of events whose batch failed (say, its format was not detected)
        never advances, so the runs read after it in the same pass must not
        either: they would skip it. They are read again next time.
        """
        key = (new.region, new.group, new.stream)
        cur = self.streams.get(key)
        if (cur.events if cur is not None else 0) != base_events:
            return
        new.updated = dt.datetime.now(dt.UTC).isoformat()
        self.streams[key] = new
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        items = [asdict(s) for _, s in sorted(self.streams.items())]
        atomic_write_bytes(self.path, json.dumps({"version": 1, "streams": items}, indent=1).encode())
        self._dirty = False


def parse_cloudwatch_url(url: str) -> tuple[str, str | None, str | None]:
    """``cloudwatch://group[/prefix]?region=r&stream_prefix=p`` → (group-and-prefix, region, explicit prefix)."""
    if not url.startswith("cloudwatch://"):
        raise RemoteError(f"{url}: not a cloudwatch://log-group[/stream-prefix] URL")
    spec, _, query_s = url.removeprefix("cloudwatch://").partition("?")
    query = parse_qs(query_s, keep_blank_values=True)
    unknown = set(query) - {"region", "stream_prefix"}
    if unknown:
        known = "region, stream_prefix"
        raise RemoteError(f"{url}: unknown URL parameter(s) {', '.join(sorted(unknown))} (known: {known})")
    spec = spec.rstrip("/")
    if not spec:
        raise RemoteError(f"{url}: no log group named")
    region = query.get("region", [None])[-1]
    prefix = query.get("stream_prefix", [None])[-1]
    return spec, region or None, prefix


def resolve_group(client: Any, spec: str, url: str) -> tuple[str, str]:
    """Split ``spec`` into (log group, stream prefix): the longest leading part that names a group."""
    cuts = [i for i, c in enumerate(spec) if c == "/" and i > 0]
    candidates = [spec] + [spec[:i] for i in reversed(cuts)]
    for group in candidates:
        try:
            page = client.describe_log_groups(logGroupNamePrefix=group, limit=1)
        except aws_errors() as exc:
            raise RemoteError(describe_error(f"{url}: cannot list log groups", exc)) from None
        # Names sort after their own prefixes, so an exact match comes first.
        names = [g.get("logGroupName") for g in page.get("logGroups", [])]
        if names and names[0] == group:
            return group, spec[len(group) + 1 :]
    raise RemoteError(f"{url}: no log group named {spec!r} (or a leading part of it)")


def _streams(client: Any, group: str, prefix: str, url: str) -> Iterator[str]:
    kwargs: dict[str, Any] = {"logGroupName": group}
    if prefix:
        kwargs["logStreamNamePrefix"] = prefix
    # boto3's paginator follows nextToken (and stops when a server repeats one).
    pages = client.get_paginator("describe_log_streams").paginate(**kwargs)
    try:
        for page in pages:
            for s in page.get("logStreams", []):
                yield str(s["logStreamName"])
    except aws_errors() as exc:
        raise RemoteError(describe_error(f"{url}: cannot list log streams", exc)) from None


def staged_streams(
    url: str,
    rcfg: RemoteConfig,
    state: CloudWatchState,
    workdir: Path,
    chunk_bytes: int,
    stats: dict[str, int],
) -> Iterator[StagedSource]:
    """New events of every matching stream, as files of at most about ``chunk_bytes`` under ``workdir``.

    Each file lives until the consumer asks for the next one (or closes the
    generator). A failed AWS call raises :class:`RemoteError`.
    """
    spec, region_q, explicit_prefix = parse_cloudwatch_url(url)
    endpoint = endpoint_from(rcfg.cloudwatch_endpoint_url, "AWS_ENDPOINT_URL_LOGS")
    client = boto_client("logs", rcfg, region_q or rcfg.cloudwatch_region, endpoint)
    region = str(client.meta.region_name)
    if explicit_prefix is not None:
        group, prefix = spec, explicit_prefix
    else:
        group, prefix = resolve_group(client, spec, url)
    lookback_ms = rcfg.cloudwatch_lookback_seconds * 1000
    for stream in _streams(client, group, prefix, url):
        stats["streams"] = stats.get("streams", 0) + 1
        base = state.get(region, group, stream) or StreamState(region, group, stream)
        yield from _stream_runs(client, base, lookback_ms, workdir, chunk_bytes, stats, state.advance, url)


def _stream_runs(
    client: Any,
    base: StreamState,
    lookback_ms: int,
    workdir: Path,
    chunk_bytes: int,
    stats: dict[str, int],
    advance: Callable[[StreamState, int], None],
    url: str,
) -> Iterator[StagedSource]:
    cur = StreamState(base.region, base.group, base.stream, base.last_ts, dict(base.ids), base.events)
    start = max(0, cur.last_ts - lookback_ms) if cur.events else None
    token: str | None = None
    while True:
        path = workdir / f"cw-{uuid.uuid4().hex}"
        before = cur.events
        first_ts: int | None = None
        size = 0
        times: list[int] = []  # each line's event timestamp: the time of records that carry none
        try:
            with open(path, "wb") as f:
                while size < chunk_bytes:
                    kwargs: dict[str, Any] = {"logGroupName": cur.group, "logStreamNames": [cur.stream]}
                    if start is not None:
                        kwargs["startTime"] = start
                    if token:
                        kwargs["nextToken"] = token
                    try:
                        page = client.filter_log_events(**kwargs)
                    except aws_errors() as exc:
                        raise RemoteError(describe_error(f"{url}: cannot read stream {cur.stream!r}", exc)) from None
                    for ev in page.get("events", []):
                        eid, ts = str(ev["eventId"]), int(ev["timestamp"])
                        if eid in cur.ids:
                            continue  # read last time (inside the look-back window)
                        line = _one_line(str(ev.get("message", "")))
                        f.write(line)
                        times.append(ts)
                        size += len(line)
                        cur.ids[eid] = ts
                        cur.last_ts = max(cur.last_ts, ts)
                        cur.events += 1
                        if first_ts is None:
                            first_ts = ts
                    new_token = page.get("nextToken")
                    token = new_token if new_token and new_token != token else None
                    if token is None:
                        break
            n = cur.events - before
            if n:
                horizon = cur.last_ts - lookback_ms
                cur.ids = {k: v for k, v in cur.ids.items() if v >= horizon}
                stats["events_read"] = stats.get("events_read", 0) + n
                snapshot = StreamState(cur.region, cur.group, cur.stream, cur.last_ts, dict(cur.ids), cur.events)
                yield StagedSource(
                    f"cloudwatch://{cur.group}/{cur.stream}?start={first_ts}",
                    path,
                    finish=functools.partial(advance, snapshot, before),
                    context=cloudwatch_context(cur.group, cur.stream, times),
                )
        finally:
            path.unlink(missing_ok=True)
        if token is None:
            return


def _one_line(message: str) -> bytes:
    """A message as one line: a trailing newline dropped, inner ones (pretty-printed JSON) made spaces."""
    text = message.rstrip("\r\n")
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return text.encode("utf-8", "replace") + b"\n"


__all__ = ["CloudWatchState", "StreamState", "parse_cloudwatch_url", "resolve_group", "staged_streams"]
