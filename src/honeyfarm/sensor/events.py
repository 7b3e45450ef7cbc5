# SPDX-License-Identifier: MIT
"""Event emission: one record per event in honeyfarm's own JSON lines format.

Records use the event schema's column names (``src_ip``, ``username``, ...)
with Cowrie's eventids, so ``honeyfarm ingest`` reads a spool with no mapping
and every Cowrie dashboard habit carries over. Keys that are not columns —
the sensor's identity (``region``, ``provider``, ``instance_type``,
``hourly_cost``, ``tags``) and event details — land in ``extra``.

Every string an attacker controls is capped at ``spool.max_event_bytes`` here,
in one place, before it reaches the disk.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import secrets
import time
from typing import Any

from honeyfarm.sensor.config import IdentityConfig
from honeyfarm.sensor.spool import Spool


def _text(value: str) -> str:
    """``value`` as text every JSON reader takes: a lone surrogate (from a JSON ``"\\ud800"`` an
    attacker sent, or bytes decoded with surrogateescape) is written as the escape ``\\ud800``,
    since a JSON line holding one is refused at ingest (dead-letter) by strict readers."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _cap(value: Any, limit: int) -> Any:
    """Cap attacker-controlled values at ``limit`` UTF-8 bytes (not characters)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        value = _text(value)
        if len(value) * 4 <= limit:  # fast path: cannot exceed the cap
            return value
        raw = value.encode("utf-8")
        return value if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")
    if isinstance(value, dict):
        return {_text(str(k)[:256]): _cap(v, limit) for k, v in list(value.items())[:256]}
    if isinstance(value, (list, tuple)):
        return [_cap(v, limit) for v in value[:256]]
    return value


@functools.lru_cache(maxsize=4)
def _iso_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_now(now: float | None = None) -> str:
    """``2026-12-07T03:04:05.123456Z``; the date part is formatted once per second (every event has one)."""
    t = time.time() if now is None else now
    second = math.floor(t)
    us = round((t - second) * 1e6)  # as datetime rounds: to the nearest microsecond
    if us >= 1_000_000:
        second, us = second + 1, 0
    return f"{_iso_second(second)}.{us:06d}Z"


class EventLog:
    """Sensor-wide event sink: stamps identity and time, caps sizes, writes to the spool."""

    def __init__(self, spool: Spool, identity: IdentityConfig, max_field_bytes: int) -> None:
        self.spool = spool
        self.limit = max_field_bytes
        self._stamp: dict[str, Any] = {
            "sensor": identity.name,
            "region": identity.region,
            "provider": identity.provider,
            "instance_type": identity.instance_type,
            "hourly_cost": identity.hourly_cost,
        }
        if identity.tags:
            self._stamp["tags"] = dict(identity.tags)
        spool.stamp = self._stamp  # the spool's own spool_full events carry the identity too
        self.counts: dict[str, int] = {}

    def emit(self, eventid: str, /, **fields: Any) -> None:
        rec: dict[str, Any] = {"ts": iso_now(), "eventid": eventid}
        for k, v in fields.items():
            if v is not None:
                rec[k] = _cap(v, self.limit)
        rec.update(self._stamp)
        self.counts[eventid] = self.counts.get(eventid, 0) + 1
        self.spool.write(rec)


def new_session_id() -> str:
    """12 hex characters, as Cowrie's session ids."""
    return secrets.token_hex(6)


class SessionLog:
    """Events of one connection: adds the session id and the connection's addresses."""

    def __init__(
        self,
        log: EventLog,
        protocol: str,
        src: tuple[str, int],
        dst: tuple[str, int],
    ) -> None:
        self.log = log
        self.session = new_session_id()
        self.protocol = protocol
        self.transport = "tcp"  # "udp" for the datagram traps (TFTP, SIP)
        self.src_ip, self.src_port = _unmap(src[0]), src[1]
        self.dst_ip, self.dst_port = _unmap(dst[0]), dst[1]
        self.started = time.monotonic()
        self.fetched_urls: set[str] = set()  # payload URLs already fetched for this session

    def emit(self, eventid: str, /, **fields: Any) -> None:
        base: dict[str, Any] = {
            "session": self.session,
            "src_ip": self.src_ip,
            "src_port": self.src_port,
            "dst_ip": self.dst_ip,
            "dst_port": self.dst_port,
            "transport": self.transport,
            "protocol": self.protocol,
        }
        base.update(fields)
        self.log.emit(eventid, **base)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _unmap(ip: str) -> str:
    # ::ffff:1.2.3.4 (a dual-stack socket) is the IPv4 attacker 1.2.3.4.
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip
