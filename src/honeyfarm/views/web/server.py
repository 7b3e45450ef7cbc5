# SPDX-License-Identifier: MIT
"""Running the dashboard under uvicorn: in the foreground (``honeyfarm serve``) or a thread (the demo)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from honeyfarm.config import Config
from honeyfarm.views.web.app import assets_built, create_app
from honeyfarm.views.web.settings import FleetConfig, ServeConfig, check_bind, with_env


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


def run_cli(
    cfg: Config, root: Path, overrides: dict[str, object], env: dict[str, str], say: Callable[[str], None]
) -> int:
    """``honeyfarm serve``: the config's ``[serve]`` with command-line overrides and secrets from ``env``."""
    try:
        scfg = with_env(ServeConfig.model_validate({**cfg.serve.model_dump(), **overrides}), env)
    except ValueError as exc:
        say(f"invalid serve settings: {exc}")
        return 2
    if not assets_built():
        say("warning: the web assets are not built (run `make web`); the API works, the UI will not")

    def ready(url: str) -> None:
        auth = "auth on" if scfg.auth_enabled else "no auth (loopback only)"
        say(f"honeyfarm dashboard: {url}  (lake {root}; {auth}; Ctrl-C to stop)")

    try:
        serve(root, scfg, cfg.fleet, ready)
    except ServeError as exc:
        say(str(exc))
        return 2
    except OSError as exc:
        say(f"cannot serve: {exc}")
        return 1
    return 0


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
