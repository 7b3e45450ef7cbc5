# SPDX-License-Identifier: MIT
"""Running the dashboard under uvicorn: in the foreground (``honeyfarm serve``) or a thread (the demo)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import FleetConfig, ServeConfig, check_bind


class ServeError(Exception):
    """The dashboard cannot start with this configuration."""


def _server(lake_root: Path, cfg: ServeConfig, fleet: FleetConfig | None) -> uvicorn.Server:
    problem = check_bind(cfg)
    if problem:
        raise ServeError(problem)
    app = create_app(lake_root, cfg, fleet)
    ucfg = uvicorn.Config(
        app,
        host=cfg.host,
        port=cfg.port,
        ssl_certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
        ssl_keyfile=str(cfg.tls_key) if cfg.tls_key else None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(ucfg)


def url_of(server: uvicorn.Server, cfg: ServeConfig) -> str:
    sock = server.servers[0].sockets[0]
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if cfg.tls_enabled else 'http'}://{host}:{port}/"


def serve(
    lake_root: Path, cfg: ServeConfig, fleet: FleetConfig | None = None, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    server = _server(lake_root, cfg, fleet)
    if on_ready:
        _notify_when_started(server, cfg, on_ready)
    server.run()


def _notify_when_started(server: uvicorn.Server, cfg: ServeConfig, on_ready: Callable[[str], None]) -> None:
    def wait() -> None:
        for _ in range(600):
            if server.started:
                on_ready(url_of(server, cfg))
                return
            time.sleep(0.05)

    threading.Thread(target=wait, daemon=True).start()


class Background:
    """The dashboard in a daemon thread, for ``honeyfarm demo``; :meth:`stop` shuts it down."""

    def __init__(self, lake_root: Path, cfg: ServeConfig, fleet: FleetConfig | None = None) -> None:
        self.cfg = cfg
        self.server = _server(lake_root, cfg, fleet)
        self.thread = threading.Thread(target=self.server.run, name="honeyfarm-dashboard", daemon=True)

    def start(self, timeout: float = 30.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServeError(f"the dashboard did not start on {self.cfg.host}:{self.cfg.port}")
            time.sleep(0.05)
        return url_of(self.server, self.cfg)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
