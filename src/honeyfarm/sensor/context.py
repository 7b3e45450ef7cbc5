# SPDX-License-Identifier: MIT
"""What every trap shares: events, credentials, accounts, persona, downloads, limits.

One :class:`SensorContext` is built by the runtime and passed to each trap;
one :class:`SessionContext` per logged-in session is what the fake shell sees
(:class:`honeyfarm.sensor.model.ShellContext`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.auth import Accounts, CredentialPolicy
from honeyfarm.sensor.config import SensorConfig
from honeyfarm.sensor.events import EventLog, SessionLog
from honeyfarm.sensor.model import Account, FetchResult

if TYPE_CHECKING:
    from honeyfarm.sensor.capture.downloads import Downloader
    from honeyfarm.sensor.capture.origin import PayloadCapture
    from honeyfarm.sensor.capture.store import ContentStore
    from honeyfarm.sensor.shell.fs.overlays import OverlayStore
    from honeyfarm.sensor.shell.fs.vfs import SessionFS
    from honeyfarm.sensor.shell.persona import Persona
    from honeyfarm.sensor.shell.shell import Shell


class ConnectionLimiter:
    """Global and per-address caps on open connections (checked before any protocol work).

    Refusals are counted by reason and by source address (at most ``MAX_REFUSED_IPS`` addresses
    between two reports), for the periodic ``honeyfarm.sensor.refused`` event.
    """

    MAX_REFUSED_IPS = 10_000

    def __init__(self, max_total: int, max_per_ip: int) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.total = 0
        self.per_ip: Counter[str] = Counter()
        self.refused = 0
        self.refused_reasons: Counter[str] = Counter()
        self.refused_ips: Counter[str] = Counter()

    def acquire(self, ip: str) -> bool:
        if self.total >= self.max_total or self.per_ip[ip] >= self.max_per_ip:
            self.refused += 1
            self.refused_reasons["max_connections" if self.total >= self.max_total else "max_per_ip"] += 1
            if ip in self.refused_ips or len(self.refused_ips) < self.MAX_REFUSED_IPS:
                self.refused_ips[ip] += 1
            return False
        self.total += 1
        self.per_ip[ip] += 1
        return True

    def release(self, ip: str) -> None:
        self.total -= 1
        self.per_ip[ip] -= 1
        if self.per_ip[ip] <= 0:
            del self.per_ip[ip]

    def take_refused(self, top: int = 10) -> dict[str, Any] | None:
        """The refusals since the last call (``None`` if there were none), then start counting afresh."""
        if not self.refused_reasons:
            return None
        report: dict[str, Any] = {
            "refused": sum(self.refused_reasons.values()),
            "reasons": dict(self.refused_reasons),
            "top_src_ips": [[ip, n] for ip, n in self.refused_ips.most_common(top)],
            "src_ips": len(self.refused_ips),
        }
        self.refused_reasons.clear()
        self.refused_ips.clear()
        return report


@dataclass
class SensorContext:
    cfg: SensorConfig
    events: EventLog
    policy: CredentialPolicy
    accounts: Accounts
    persona: Persona
    limiter: ConnectionLimiter
    spool_dir: Path
    downloader: Downloader | None = None
    store: ContentStore | None = None
    overlays: OverlayStore | None = None
    payloads: PayloadCapture | None = None  # URLs in trap payloads being fetched (capture/origin.py)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def attach_store(self) -> None:
        """The content-addressed store (uploads and downloads), and the kept files of each address."""
        from honeyfarm.sensor.capture.store import ContentStore

        dl = self.cfg.downloads
        self.store = ContentStore(Path(dl.dir or self.spool_dir / "downloads"), dl.quota_bytes)
        self.attach_overlays()

    def attach_overlays(self) -> None:
        """Per-address persistence of the fake filesystem's changes (``[sensor.persistence]``)."""
        from honeyfarm.sensor.shell.fs.overlays import OverlayStore

        p = self.cfg.persistence
        if p.enabled and self.overlays is None:
            self.overlays = OverlayStore(
                Path(p.dir or self.spool_dir / "state" / "overlays"),
                ttl=p.ttl,
                max_bytes=p.max_bytes,
                max_files=p.max_files,
                overlay_bytes=self.cfg.limits.session_output_bytes,
            )

    def get_downloader(self) -> Downloader | None:
        """The downloader, created on first use: aiohttp costs ~20 MB of RAM a quiet sensor never needs."""
        if self.downloader is None and self.cfg.downloads.enabled and self.store is not None:
            from honeyfarm.sensor.capture.downloads import Downloader

            self.downloader = Downloader(self.cfg.downloads, self.store)
        return self.downloader

    def motd(self) -> str:
        """What Debian 12 prints after a login (uname line + /etc/motd)."""
        c = self.cfg.persona
        return (
            f"Linux {c.hostname} {c.kernel_release} {c.kernel_version} {c.arch}\n\n"
            "The programs included with the Debian GNU/Linux system are free software;\n"
            "the exact distribution terms for each program are described in the\n"
            "individual files in /usr/share/doc/*/copyright.\n\n"
            "Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\n"
            "permitted by applicable law.\n"
        )

    @property
    def tty_dir(self) -> Path:
        return self.spool_dir / "tty"

    def new_fs(self, session: SessionContext) -> SessionFS:
        """The session's view of the fake filesystem, shared with its address's other sessions when kept."""
        from honeyfarm.sensor.shell.fs.vfs import SessionFS

        overlay = self.overlays.open(session.src_ip) if self.overlays is not None else None
        return SessionFS(self.persona, session.account, max_bytes=self.cfg.limits.session_output_bytes, overlay=overlay)

    def new_shell(self, session: SessionContext) -> Shell:
        from honeyfarm.sensor.shell.shell import Shell

        return Shell(session, self.persona, self.new_fs(session), max_line_bytes=self.cfg.limits.max_line_bytes)

    async def flush_overlay(self, session: SessionContext) -> None:
        """Write the session's pending file changes now (so a client that reconnects at once sees them)."""
        if self.overlays is not None:
            await self.overlays.flush(session.src_ip)


class SessionContext:
    """One logged-in session, as the fake shell sees it."""

    def __init__(self, sensor: SensorContext, log: SessionLog, account: Account) -> None:
        self.sensor = sensor
        self.log = log
        self.account = account
        self.protocol = log.protocol
        self.src_ip = log.src_ip

    def emit(self, eventid: str, /, **fields: Any) -> None:
        self.log.emit(eventid, **fields)

    async def download(self, url: str, command: str) -> FetchResult | None:
        dl = self.sensor.get_downloader()
        if dl is None:
            # Fetching disabled: the URL is still evidence.
            self.emit("cowrie.session.file_download.failed", url=url, command=command, reason="downloads disabled")
            return None
        result = await dl.fetch(url)
        if result.ok:
            self.emit(
                "cowrie.session.file_download",
                url=url,
                sha256=result.sha256,
                size=result.size,
                truncated=result.truncated or None,
                content_type=result.content_type,
                command=command,
            )
        else:
            self.emit("cowrie.session.file_download.failed", url=url, command=command, reason=result.reason)
        return result
