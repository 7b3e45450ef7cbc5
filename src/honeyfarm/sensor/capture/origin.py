# SPDX-License-Identifier: MIT
"""Payload → download: what any trap calls with an attacker's payload.

The URLs :func:`~honeyfarm.sensor.capture.payloads.scan_payload` finds are fetched by the
sensor's one downloader (its size, time and address limits apply), in background tasks so
that the trap answers the attacker at once. Each result is a ``cowrie.session.file_download``
(or ``.failed``) event of the trap's session whose ``extra`` says which trap and request it
came from, how the URL was found (``how``) and which encodings hid it (``via``).

Bounds, because the payloads come from the attacker and so does their number:

* per session: each URL once, at most :data:`MAX_FETCH_PER_SESSION` URLs and
  :data:`MAX_INDICATORS_PER_SESSION` indicators; past that one ``session limit`` event;
* per source address: :data:`MAX_FETCH_PER_SOURCE` fetches per :data:`SOURCE_WINDOW`
  seconds, whatever the number of sessions (a scanner opens one connection per request);
* sensor-wide: at most :data:`MAX_IN_FLIGHT` different URLs being fetched; a URL already
  being fetched is not fetched again (the sessions that asked share the result), and a URL
  fetched in the last :data:`RECENT_TTL` seconds is reported from that result
  (``extra.cached``), so a botnet repeating one dropper costs one download.

Indicators the downloader cannot fetch (``${jndi:ldap://...}``, ``nc HOST PORT``,
``/dev/tcp/HOST/PORT``) are never connected to; they are logged as
``cowrie.session.file_download.failed`` with ``reason`` "not fetched: ...", so the callback
hosts show beside the downloads.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.capture.payloads import MAX_INPUT, FoundURL, PayloadScan, scan_payload
from honeyfarm.sensor.model import FetchResult

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.events import SessionLog

__all__ = ["PayloadCapture", "capture_payload"]

MAX_URLS_PER_PAYLOAD = 8
INLINE_CHARS = 64 * 1024  # scanned at once; the rest of a payload in a worker thread
MAX_BACKGROUND_SCANS = 4
MAX_FETCH_PER_SESSION = 16
MAX_INDICATORS_PER_SESSION = 16
MAX_FETCH_PER_SOURCE = 32
SOURCE_WINDOW = 600.0
MAX_SOURCES = 10_000  # source addresses remembered for their budget (oldest forgotten first)
MAX_IN_FLIGHT = 64  # different URLs fetched at once, sensor-wide (the downloader runs 4, queues 64)
MAX_WAITERS = 256  # sessions sharing one in-flight fetch
RECENT_TTL = 600.0  # a URL fetched this recently is reported from the earlier result
FAILED_TTL = 60.0  # ... or, if that fetch failed, this recently
MAX_RECENT = 4096
_NOT_CACHED = ("busy", "downloader closed", "downloads disabled")
FAILED = "cowrie.session.file_download.failed"


@dataclass
class _Session:
    limit_reported: bool = False
    indicators: set[str] = field(default_factory=set)


class PayloadCapture:
    """The sensor-wide state of payload downloads: in-flight fetches, recent results, budgets."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.in_flight: dict[str, list[tuple[SessionLog, dict[str, Any]]]] = {}
        self.recent: OrderedDict[str, tuple[float, FetchResult]] = OrderedDict()
        self.sources: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self.sessions: weakref.WeakKeyDictionary[SessionLog, _Session] = weakref.WeakKeyDictionary()
        self.fetches = 0  # downloads started (for tests and the health report)
        self.background = 0  # large payloads being scanned or waiting for the worker thread
        self.skipped = 0  # large payloads whose tail was not scanned (too many waiting)
        self.errors = 0  # payloads the extractor failed on (a bug: it is meant to take anything)
        self._scan_lock = asyncio.Lock()

    # -- bookkeeping ------------------------------------------------------------

    def _session(self, log: SessionLog) -> _Session:
        s = self.sessions.get(log)
        if s is None:
            s = self.sessions[log] = _Session()
        return s

    def _cached(self, url: str) -> FetchResult | None:
        hit = self.recent.get(url)
        if hit is None:
            return None
        at, result = hit
        if self.clock() - at > (RECENT_TTL if result.ok else FAILED_TTL):
            del self.recent[url]
            return None
        return result

    def _remember(self, url: str, result: FetchResult) -> None:
        if not result.ok and (result.reason or "").startswith(_NOT_CACHED):
            return
        self.recent[url] = (self.clock(), result)
        self.recent.move_to_end(url)
        while len(self.recent) > MAX_RECENT:
            self.recent.popitem(last=False)

    def _take_source_budget(self, ip: str) -> bool:
        now = self.clock()
        start, used = self.sources.get(ip, (now, 0))
        if now - start > SOURCE_WINDOW:
            start, used = now, 0
        if used >= MAX_FETCH_PER_SOURCE:
            return False
        self.sources[ip] = (start, used + 1)
        self.sources.move_to_end(ip)
        while len(self.sources) > MAX_SOURCES:
            self.sources.popitem(last=False)
        return True

    # -- the hand-off -------------------------------------------------------------

    def handle(self, ctx: SensorContext, log: SessionLog, scan: PayloadScan, trap: str, request: str | None) -> None:
        for found in scan.urls:
            self.submit(ctx, log, found, _origin(found, trap, request))
        for found in scan.others:
            self.note(log, found, _origin(found, trap, request))

    def scan_later(
        self, ctx: SensorContext, log: SessionLog, payload: str | bytes, trap: str, request: str | None, plain: bool
    ) -> None:
        """Scan a large payload in a worker thread (one at a time; at most a few waiting, else skipped)."""
        if self.background >= MAX_BACKGROUND_SCANS:
            self.skipped += 1
            return
        self.background += 1

        async def run() -> None:
            try:
                async with self._scan_lock:
                    scan = await asyncio.to_thread(
                        scan_payload, payload, max_urls=MAX_URLS_PER_PAYLOAD, max_other=MAX_URLS_PER_PAYLOAD
                    )
                self.handle(ctx, log, _keep(scan, plain), trap, request)
            except Exception:  # as above: counted, never raised into the sensor
                self.errors += 1
            finally:
                self.background -= 1

        task = asyncio.get_running_loop().create_task(run(), name="honeyfarm-payload-scan")
        ctx.tasks.add(task)
        task.add_done_callback(ctx.tasks.discard)

    def submit(self, ctx: SensorContext, log: SessionLog, found: FoundURL, origin: dict[str, Any]) -> None:
        """Fetch ``found`` for this session, or say why not; never raises, never blocks."""
        seen = log.fetched_urls
        if found.url in seen:
            return
        if len(seen) >= MAX_FETCH_PER_SESSION:
            self._limit(log, found, origin)
            return
        seen.add(found.url)
        cached = self._cached(found.url)
        if cached is not None:
            _emit(log, found.url, cached, origin, cached=True)
            return
        waiters = self.in_flight.get(found.url)
        if waiters is not None:
            if len(waiters) < MAX_WAITERS:
                waiters.append((log, origin))
            else:
                log.emit(FAILED, url=found.url, reason="busy", **origin)
            return
        if not self._take_source_budget(log.src_ip):
            log.emit(FAILED, url=found.url, reason=f"source limit ({MAX_FETCH_PER_SOURCE} URLs)", **origin)
            return
        if len(self.in_flight) >= MAX_IN_FLIGHT:
            log.emit(FAILED, url=found.url, reason="busy", **origin)
            return
        if ctx.get_downloader() is None:
            log.emit(FAILED, url=found.url, reason="downloads disabled", **origin)
            return
        self.in_flight[found.url] = [(log, origin)]
        self.fetches += 1
        task = asyncio.get_running_loop().create_task(self._fetch(ctx, found.url), name="honeyfarm-payload-fetch")
        ctx.tasks.add(task)
        task.add_done_callback(ctx.tasks.discard)

    def note(self, log: SessionLog, found: FoundURL, origin: dict[str, Any]) -> None:
        """Log an indicator that is not a download (never connected to)."""
        s = self._session(log)
        if found.url in s.indicators or len(s.indicators) >= MAX_INDICATORS_PER_SESSION:
            return
        s.indicators.add(found.url)
        log.emit(FAILED, url=found.url, reason=f"not fetched: {found.how} target", **origin)

    def _limit(self, log: SessionLog, found: FoundURL, origin: dict[str, Any]) -> None:
        s = self._session(log)
        if not s.limit_reported:
            s.limit_reported = True
            log.emit(FAILED, url=found.url, reason=f"session limit ({MAX_FETCH_PER_SESSION} URLs)", **origin)

    async def _fetch(self, ctx: SensorContext, url: str) -> None:
        result: FetchResult | None = None
        try:
            dl = ctx.get_downloader()
            if dl is None:
                result = FetchResult(url=url, ok=False, reason="downloads disabled")
            else:
                result = await dl.fetch(url)
        except asyncio.CancelledError:
            result = FetchResult(url=url, ok=False, reason="sensor stopping")
            raise
        except Exception as exc:  # the downloader reports failures as results; a bug here is logged, not raised
            result = FetchResult(url=url, ok=False, reason=f"internal error: {type(exc).__name__}")
        finally:
            waiters = self.in_flight.pop(url, [])
            if result is not None:
                self._remember(url, result)
                for log, origin in waiters:
                    _emit(log, url, result, origin)


def _emit(log: SessionLog, url: str, result: FetchResult, origin: dict[str, Any], *, cached: bool = False) -> None:
    if result.ok:
        log.emit(
            "cowrie.session.file_download",
            url=url,
            sha256=result.sha256,
            size=result.size,
            truncated=result.truncated or None,
            content_type=result.content_type,
            cached=cached or None,
            **origin,
        )
    else:
        log.emit(FAILED, url=url, reason=result.reason, cached=cached or None, **origin)


def _state(ctx: SensorContext) -> PayloadCapture:
    """The context's :class:`PayloadCapture` (a ``payloads`` attribute, made on first use)."""
    if ctx.payloads is None:
        ctx.payloads = PayloadCapture()
    return ctx.payloads


def capture_payload(
    ctx: SensorContext,
    log: SessionLog,
    payload: str | bytes,
    *,
    trap: str,
    request: str | None = None,
    plain_urls: bool = True,
) -> list[str]:
    """Find the URLs in ``payload`` and fetch each once per session; returns the download URLs found.

    ``plain_urls=False`` keeps only URLs named by a fetch command or download code (``how`` not
    ``url``): for text where a bare URL is no request to fetch it (``Referer``, ``User-Agent``,
    a comment form), since fetching it would be noise and a tell that a honeypot is listening.

    Cheap enough to call inline on every request, command or document an attacker sends:
    the first :data:`INLINE_CHARS` are scanned at once (a few ms at most); the rest of a
    larger payload (up to the extractor's 1 MiB) is scanned in a worker thread, so a
    megabyte of garbage never holds the event loop. Fetches run in background tasks.
    """
    state = _state(ctx)
    try:
        found = scan_payload(_head(payload), max_urls=MAX_URLS_PER_PAYLOAD, max_other=MAX_URLS_PER_PAYLOAD)
    except Exception:  # a bug in the extractor must not break the trap that called it
        state.errors += 1
        return []
    scan = _keep(found, plain_urls)
    state.handle(ctx, log, scan, trap, request)
    if len(payload) > INLINE_CHARS:
        state.scan_later(ctx, log, payload[:MAX_INPUT], trap, request, plain_urls)
    return [f.url for f in scan.urls]


def _keep(scan: PayloadScan, plain_urls: bool) -> PayloadScan:
    return scan if plain_urls else PayloadScan([f for f in scan.urls if f.how != "url"], scan.others)


def _head(payload: str | bytes) -> str | bytes:
    """The first :data:`INLINE_CHARS` of ``payload``, cut at a separator so no URL is cut short."""
    if len(payload) <= INLINE_CHARS:
        return payload
    window = payload[INLINE_CHARS - 4096 : INLINE_CHARS]
    seps = (b" ", b"\n", b";") if isinstance(window, bytes) else (" ", "\n", ";")
    cut = max(window.rfind(sep) for sep in seps)  # type: ignore[arg-type]
    return payload[: INLINE_CHARS - 4096 + max(cut, 0)]


def _origin(found: FoundURL, trap: str, request: str | None) -> dict[str, Any]:
    return {"trap": trap, "request": request, "how": found.how, "via": found.via or None}
