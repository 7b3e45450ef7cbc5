# SPDX-License-Identifier: MIT
"""The span of event times honeyfarm believes: ``[ingest.min_timestamp, now + ingest.max_future_seconds]``.

A timestamp is attacker- or sensor-controlled input. One record dated
9999-12-31 used to make every later date computation overflow (Python's
``datetime`` ends at year 9999), and one dated 2262 became "the newest event"
for the dashboard's presets and live feed for good. So ingest sends records
outside this window to dead-letter (with the reason, nothing lost), and the
dashboard validates query ranges against it and never lets its idea of "now"
pass its upper edge. All arithmetic near ``datetime``'s limits goes through
:func:`shift`, which clamps instead of raising.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_MIN = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
_DEFAULT_EARLIEST = DEFAULT_MIN.replace(tzinfo=None)
_DEFAULT_MAX_FUTURE = dt.timedelta(days=1)
DEFAULT_MAX_FUTURE_SECONDS = 86_400
#: The oldest ``ingest.min_timestamp`` accepted: the Unix epoch (years 1–1969 are not honeypot data).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def naive_utc(t: dt.datetime) -> dt.datetime:
    """``t`` as a naive UTC datetime (naive input is taken as UTC); raises OverflowError past year 1–9999."""
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def shift(t: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``t + delta``, clamped to ``datetime.min``/``datetime.max`` instead of raising OverflowError."""
    try:
        return t + delta
    except OverflowError:
        edge = dt.datetime.max if delta > dt.timedelta(0) else dt.datetime.min
        return edge.replace(tzinfo=t.tzinfo)


def iso_z(t: dt.datetime) -> str:
    return naive_utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(seconds: int) -> str:
    for unit, n in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds and seconds % n == 0:
            k = seconds // n
            return f"{k} {unit}{'s' if k != 1 else ''}"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class TimeWindow:
    """Accepted event times; ``earliest`` is naive UTC."""

    earliest: dt.datetime = _DEFAULT_EARLIEST
    max_future: dt.timedelta = _DEFAULT_MAX_FUTURE

    @classmethod
    def of(cls, min_timestamp: dt.datetime, max_future_seconds: int) -> TimeWindow:
        return cls(naive_utc(min_timestamp), dt.timedelta(seconds=max_future_seconds))

    def latest(self, now: dt.datetime | None = None) -> dt.datetime:
        """The newest believable time (naive UTC) at ``now`` (default: the wall clock)."""
        now = naive_utc(now) if now is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return shift(now, self.max_future)

    def describe(self) -> str:
        """``[1990-01-01T00:00:00Z, ingest time + 1 day]``, for dead-letter reasons and errors."""
        return f"[{iso_z(self.earliest)}, ingest time + {_span(int(self.max_future.total_seconds()))}]"

    def sql_reason(self, ts: str, now: dt.datetime | None = None) -> str:
        """SQL: the dead-letter reason for a ``ts`` outside the window at ``now``, else NULL (vectorised)."""
        lo = self.earliest.isoformat(sep=" ")
        hi = self.latest(now).isoformat(sep=" ")
        text = f" outside the accepted window {self.describe()}".replace("'", "''")
        return (
            f"CASE WHEN {ts} < TIMESTAMP '{lo}' OR {ts} > TIMESTAMP '{hi}' "
            f"THEN 'timestamp ' || strftime({ts}, '%Y-%m-%dT%H:%M:%SZ') || '{text}' END"
        )

    def query_range(self) -> tuple[dt.datetime, dt.datetime]:
        """The ``since``/``until`` values the dashboard and ``honeyfarm report`` accept now (naive UTC):
        the window, its upper edge rounded up to the next UTC midnight (so a date picker's "end of
        tomorrow" passes). No event ingested since the window existed lies outside it, and every date
        computation on values inside it stays far from ``datetime``'s limits."""
        latest = self.latest()
        midnight = dt.datetime.combine(latest.date(), dt.time())
        return self.earliest, midnight if midnight == latest else shift(midnight, dt.timedelta(days=1))

    def check(self, name: str, t: dt.datetime | None) -> dt.datetime | None:
        """``t`` as naive UTC; ValueError saying the accepted range when it lies outside :meth:`query_range`."""
        if t is None:
            return None
        lo, hi = self.query_range()
        try:
            u: dt.datetime | None = naive_utc(t)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
            u = None
        if u is None or not lo <= u <= hi:
            raise ValueError(f"{name}: must lie within [{iso_z(lo)}, {iso_z(hi)}] (the accepted event times)")
        return u
