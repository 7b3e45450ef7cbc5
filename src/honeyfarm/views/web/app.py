# SPDX-License-Identifier: MIT
"""``honeyfarm serve``: the FastAPI application and its security wrapper.

Security in one place (:class:`Guard`, plain ASGI so it also wraps the
Server-Sent Events stream): credentials when configured (HTTP Basic, which
browsers and ``EventSource`` handle natively, or a bearer token) with a limit
on wrong guesses per client address (:mod:`.ratelimit`), a strict
Content-Security-Policy and the other security headers on every answer, and a
``Host`` check on an unauthenticated loopback server so a DNS-rebinding page
cannot read it. Every answer carries ``Server-Timing: app;dur=<ms>``, the
figure ``bench/dashboard.py`` reports.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from honeyfarm.config import LakeConfig
from honeyfarm.timewindow import TimeWindow
from honeyfarm.views.web.api import router
from honeyfarm.views.web.explore_api import router as explore_router
from honeyfarm.views.web.ip_api import router as ip_router
from honeyfarm.views.web.live import LiveFeed
from honeyfarm.views.web.malware_api import router as malware_router
from honeyfarm.views.web.ratelimit import AuthFailures
from honeyfarm.views.web.reader import LakeReader
from honeyfarm.views.web.services_api import router as services_router
from honeyfarm.views.web.settings import FleetConfig, ServeConfig, is_loopback
from honeyfarm.views.web.state import AppState, TtyLogs
from honeyfarm.views.web.suricata_api import router as suricata_router
from honeyfarm.views.web.traps_api import router as traps_router

STATIC = Path(__file__).parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    # DOM XSS sinks (innerHTML, ...) refuse plain strings; static/js/tt.js lets only "" through (for ECharts).
    "require-trusted-types-for 'script'; trusted-types default"
)
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


class Guard:
    """Authentication, Host check, security headers and Server-Timing for every HTTP request."""

    def __init__(self, app: ASGIApp, cfg: ServeConfig) -> None:
        self.app = app
        self.cfg = cfg
        self.hsts = cfg.tls_enabled
        self.check_host = not cfg.auth_enabled and is_loopback(cfg.host)
        self.failures = AuthFailures(limit=cfg.max_auth_failures)

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        if not self.cfg.auth_enabled:
            return True
        value = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, cred = value.partition(" ")
        if scheme.lower() == "bearer" and self.cfg.token:
            return hmac.compare_digest(cred.strip().encode("latin-1"), self.cfg.token.encode())
        if scheme.lower() == "basic":
            try:
                user, _, pw = base64.b64decode(cred.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            # compare_digest on both so the time taken says nothing about which one was wrong
            ok_user = hmac.compare_digest(user.encode(), self.cfg.username.encode())
            ok_pw = any(
                hmac.compare_digest(pw.encode(), secret.encode())
                for secret in (self.cfg.password, self.cfg.token)
                if secret
            )
            return ok_user and ok_pw
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = dict(scope["headers"])
        extra = list(HEADERS)
        if self.hsts:
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - t0) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    *extra,
                    (b"server-timing", f"app;dur={ms:.1f}".encode()),
                ]
            await send(message)

        if self.check_host and _hostname(headers.get(b"host", b"").decode("latin-1")) not in LOOPBACK_HOSTS:
            await _plain(send_with_headers, 421, b"unexpected Host header (loopback server)\n")
            return
        if self.cfg.auth_enabled:
            client = (scope.get("client") or ("unknown",))[0]
            wait = self.failures.retry_after(client)
            if wait is not None:
                await _plain(
                    send_with_headers,
                    429,
                    b"too many failed logins from this address; try again later\n",
                    [(b"retry-after", str(wait).encode())],
                )
                return
            if not self._authorized(headers):
                if b"authorization" in headers:  # a wrong guess; a request without credentials is not one
                    self.failures.failed(client)
                await _plain(
                    send_with_headers,
                    401,
                    b"authentication required\n",
                    [(b"www-authenticate", b'Basic realm="honeyfarm"')],
                )
                return
            self.failures.succeeded(client)
        await self.app(scope, receive, send_with_headers)


def _hostname(host: str) -> str:
    """``Host`` without its port: ``[::1]:8000`` → ``[::1]``, ``127.0.0.1:8000`` → ``127.0.0.1``."""
    if host.startswith("["):
        return host[: host.index("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _plain(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _version() -> str:
    try:
        return pkg_version("honeyfarm")
    except PackageNotFoundError:
        return "0"


def create_app(
    lake_root: Path,
    cfg: ServeConfig | None = None,
    fleet: FleetConfig | None = None,
    window: TimeWindow | None = None,
    lake_cfg: LakeConfig | None = None,
) -> Any:
    """The dashboard as an ASGI app (FastAPI wrapped in :class:`Guard`).

    ``window``: the event times ingest accepts (``[ingest]``); query ranges
    outside it are refused and the views' "now" never passes its upper edge.
    """
    cfg = cfg or ServeConfig()
    window = window or TimeWindow()
    reader = LakeReader(lake_root, cfg.threads, cfg.memory_limit, cfg.cache_entries, lake_cfg)
    live = LiveFeed(reader, cfg.live_interval_seconds, window)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        live.start()
        try:
            yield
        finally:
            await live.stop()
            reader.close()

    api = FastAPI(
        title="honeyfarm",
        version=_version(),
        description="Read-only API over a honeyfarm lake: report panels, attack map, sensors, sessions, network, "
        "live feed. See docs/dashboard.md.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load from CDNs: not offline, not under our CSP
        redoc_url=None,
        lifespan=lifespan,
    )
    api.state.honeyfarm = AppState(
        reader, live, TtyLogs(cfg.ttylog_dirs), fleet or FleetConfig(), _version(), cfg.auth_enabled, window
    )
    api.include_router(router)
    api.include_router(traps_router)
    api.include_router(malware_router)
    api.include_router(services_router)
    api.include_router(ip_router)
    api.include_router(suricata_router)
    api.include_router(explore_router)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    @api.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    return Guard(api, cfg)


def assets_built() -> bool:
    return (STATIC / "vendor" / ".built").exists()
