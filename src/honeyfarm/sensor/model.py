# SPDX-License-Identifier: MIT
"""Small types shared by the traps, the fake shell and the downloader."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Account:
    """A user of the emulated machine. The same name always maps to the same uid,
    whatever the protocol or session (see :class:`honeyfarm.sensor.auth.Accounts`)."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str = "/bin/bash"


@dataclass(frozen=True)
class FetchResult:
    """Outcome of one download attempt made on behalf of an attacker's command."""

    url: str
    ok: bool
    sha256: str | None = None
    size: int = 0
    reason: str | None = None  # why it failed, e.g. "blocked: loopback address 127.0.0.1"
    truncated: bool = False  # cut at downloads.max_file_bytes
    content_type: str | None = None
    head: bytes = b""  # first bytes (≤ 64 KiB), so the fake filesystem can show the file


class Emit(Protocol):
    """Log one event of the current session (``eventid`` from the registry)."""

    def __call__(self, eventid: str, /, **fields: Any) -> None: ...


class ShellContext(Protocol):
    """What the fake shell needs from the trap that runs it."""

    account: Account
    protocol: str  # "ssh" or "telnet"
    src_ip: str

    def emit(self, eventid: str, /, **fields: Any) -> None: ...

    async def download(self, url: str, command: str) -> FetchResult | None:
        """Fetch ``url`` for ``command`` (logging the event); ``None`` when fetching is disabled."""
        ...
