# SPDX-License-Identifier: MIT
"""Running the dashboard under uvicorn: in the foreground (``honeyfarm serve``) or a thread (the demo)."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from honeyfarm.config import Config, LakeConfig
from honeyfarm.timewindow import TimeWindow
from honeyfarm.validation import describe
from honeyfarm.views.web.app import assets_built, create_app
from honeyfarm.views.web.settings import FleetConfig, ServeConfig, check_bind, insecure_warning, with_env


class ServeError(Exception):
    """The dashboard cannot start with this configuration."""


def check_tls(cfg: ServeConfig) -> str | None:
    """Why the TLS certificate or key cannot be used, naming the file, or ``None``.

    Checked before uvicorn starts: its own error is a bare ``[Errno 2] No such
    file or directory`` without the name, or an OpenSSL code.
    """
    if cfg.tls_cert is None or cfg.tls_key is None:
        return None
    for what, path in (("certificate", cfg.tls_cert), ("key", cfg.tls_key)):
        if not path.is_file():
            return f"TLS {what} file not found: {path}"
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            return f"cannot read the TLS {what} {path}: {exc.strerror or exc}"
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cfg.tls_cert, cfg.tls_key)
    except (ssl.SSLError, ValueError) as exc:
        why = getattr(exc, "reason", None) or exc
        return f"cannot use TLS certificate {cfg.tls_cert} with key {cfg.tls_key}: {why}"
    return None


def _server(
    lake_root: Path,
    cfg: ServeConfig,
    fleet: FleetConfig | None,
    window: TimeWindow | None = None,
    lake_cfg: LakeConfig | None = None,
) -> uvicorn.Server:
    problem = check_bind(cfg) or check_tls(cfg)
    if problem:
        raise ServeError(problem)
    app = create_app(lake_root, cfg, fleet, window, lake_cfg)
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
    lake_root: Path,
    cfg: ServeConfig,
    fleet: FleetConfig | None = None,
    on_ready: Callable[[str], None] | None = None,
    window: TimeWindow | None = None,
    lake_cfg: LakeConfig | None = None,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    server = _server(lake_root, cfg, fleet, window, lake_cfg)
    if on_ready:
        _notify_when_started(server, cfg, on_ready)
    server.run()


def run_cli(
    cfg: Config, root: Path, overrides: dict[str, object], env: dict[str, str], say: Callable[[str], None]
) -> int:
    """``honeyfarm serve``: the config's ``[serve]`` with command-line overrides and secrets from ``env``."""
    try:
        scfg = with_env(ServeConfig.model_validate({**cfg.serve.model_dump(), **overrides}), env)
    except ValidationError as exc:
        say(f"invalid serve settings: {describe(exc, 'serve.')}")
        return 2
    problem = check_bind(scfg) or check_tls(scfg)
    if problem:
        say(problem)
        return 2
    warning = insecure_warning(scfg)
    if warning:
        say(warning)
    if not assets_built():
        say("warning: the web assets are not built (run `make web`); the API works, the UI will not")

    def ready(url: str) -> None:
        auth = "auth on" if scfg.auth_enabled else "no auth (loopback only)"
        say(f"honeyfarm dashboard: {url}  (lake {root}; {auth}; Ctrl-C to stop)")

    try:
        serve(root, scfg, cfg.fleet, ready, cfg.ingest.window(), cfg.lake)
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

    def __init__(
        self,
        lake_root: Path,
        cfg: ServeConfig,
        fleet: FleetConfig | None = None,
        window: TimeWindow | None = None,
        lake_cfg: LakeConfig | None = None,
    ) -> None:
        self.cfg = cfg
        self.server = _server(lake_root, cfg, fleet, window, lake_cfg)
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
