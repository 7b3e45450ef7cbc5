# SPDX-License-Identifier: MIT
"""``honeyfarm sensor``: one asyncio process running every enabled trap.

Start-up order matters for privileged ports: bind every listening socket
first (as root if port 22/23 is wanted), then drop to ``sensor.user``, and
only then read host keys, open the spool and accept connections, so nothing
an attacker reaches ever runs as root. Under systemd the unit in ``deploy/``
grants ``CAP_NET_BIND_SERVICE`` instead and no drop is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import resource
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from honeyfarm.collect.ship_config import ShipConfig
from honeyfarm.sensor.auth import Accounts, CredentialPolicy
from honeyfarm.sensor.config import SensorConfig
from honeyfarm.sensor.context import ConnectionLimiter, SensorContext
from honeyfarm.sensor.events import EventLog
from honeyfarm.sensor.guard import Supervisor, quiet_library_logs, say, unquiet_library_logs
from honeyfarm.sensor.health import Health
from honeyfarm.sensor.spool import Spool
from honeyfarm.sensor.trap import Trap
from honeyfarm.sensor.traps import TRAPS


def parse_listen(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address is not host:port: {addr!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def bind(addr: str, transport: str = "tcp") -> socket.socket:
    host, port = parse_listen(addr)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host == "::" else 1)
    sock.bind((host, port))
    if transport == "tcp":
        sock.listen(1024)
    sock.setblocking(False)
    return sock


def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def drop_privileges(user: str, own: list[Path]) -> None:
    """setgid/setuid to ``user`` (after handing it the directories it must write)."""
    pw = pwd.getpwnam(user)
    for p in own:
        p.mkdir(parents=True, exist_ok=True)
        for sub in [p, *p.rglob("*")]:
            os.chown(sub, pw.pw_uid, pw.pw_gid)
    groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
    os.setgroups(groups)
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - setuid failed silently
        raise RuntimeError("could not drop root privileges")


def preload(traps: Collection[str] = ()) -> None:
    import importlib

    # Each enabled trap's server module (every trap package has one), and what it serves with; a
    # server module's own preload() imports what it would otherwise import on first use (the SMB
    # trap's DCE/RPC interfaces: ~0.4 s and ~15 MB, a loop stall at the first smbclient -L).
    for spec in TRAPS:
        if spec.name in traps:
            hook = getattr(importlib.import_module(f"{spec.module}.server"), "preload", None)
            if hook is not None:
                hook()

    for name in (
        "shlex",
        "unicodedata",
        "encodings.idna",
        "honeyfarm.sensor.traps.ssh.server",
        "honeyfarm.sensor.traps.ssh.sftp",
        "honeyfarm.sensor.traps.telnet.server",
        "honeyfarm.sensor.shell.shell",
        "honeyfarm.sensor.shell.persona",
        "honeyfarm.sensor.shell.fs.vfs",
        "honeyfarm.sensor.capture.downloads",
        "honeyfarm.sensor.capture.origin",
        "asyncssh.sftp",
        "asyncssh.scp",
    ):
        importlib.import_module(name)
    from honeyfarm.sensor.traps.ssh.openssh import ensure_algorithms

    ensure_algorithms()


class Sensor:
    def __init__(self, cfg: SensorConfig, ship: ShipConfig | None = None) -> None:
        self.cfg = cfg
        self.ship = ship if ship is not None and ship.enabled else None
        self.spool_dir = Path(cfg.spool.dir)
        self.started = time.time()
        self.socks: dict[str, list[socket.socket]] = {}
        self.traps: list[Trap] = []
        self.ctx: SensorContext | None = None
        self._stop = asyncio.Event()
        self._ship_stop = asyncio.Event()
        self.ready = asyncio.Event()
        self.fatal: str | None = None  # why the sensor stopped by itself (exit status 1)
        self.supervisor: Supervisor | None = None
        self.health: Health | None = None  # DH worker + loop-lag report

    def bind_all(self) -> None:
        for spec in TRAPS:
            tcfg = getattr(self.cfg, spec.name)
            if tcfg.enabled:
                self.socks[spec.name] = [bind(a, t) for a, t in tcfg.binds(spec.transport)]

    def addresses(self) -> dict[str, list[tuple[str, int]]]:
        return {k: [s.getsockname()[:2] for s in v] for k, v in self.socks.items()}

    def _build(self) -> SensorContext:
        from honeyfarm.sensor.shell.persona import Persona

        cfg = self.cfg
        spool = Spool(cfg.spool, cfg.identity.name)
        events = EventLog(spool, cfg.identity, cfg.spool.max_event_bytes)
        ctx = SensorContext(
            cfg=cfg,
            events=events,
            policy=CredentialPolicy(cfg.credentials, cfg.persona, self.spool_dir / "state"),
            accounts=Accounts(cfg.persona, self.spool_dir / "state"),
            persona=Persona.from_config(cfg.persona, self.started),
            limiter=ConnectionLimiter(cfg.limits.max_connections, cfg.limits.max_per_ip),
            spool_dir=self.spool_dir,
        )
        ctx.attach_store()
        return ctx

    async def start(self) -> None:
        """Bind (if not done yet), drop privileges, start every trap."""
        raise_nofile(self.cfg.limits.nofile)
        if not self.socks:
            self.bind_all()
        # Import everything the traps will need now: after a privilege drop the interpreter's own
        # directory may not be readable (e.g. a venv under /root), and a first import inside a
        # client's session would hold the event loop (the shell's modules: 0.1-0.5 s).
        preload(set(self.socks))
        if self.cfg.user and os.geteuid() == 0:
            drop_privileges(self.cfg.user, [self.spool_dir])
        self.ctx = ctx = self._build()
        self.supervisor = Supervisor(ctx.tasks, self._fatal)
        self.health = Health(ctx, self.supervisor)
        self.health.start()
        for spec in TRAPS:
            if spec.name in self.socks:
                trap = await spec.builder()(ctx)
                await trap.start(self.socks[spec.name])
                self.traps.append(trap)
        ctx.events.emit(
            "honeyfarm.sensor.start",
            listen={k: [f"{h}:{p}" for h, p in v] for k, v in self.addresses().items()},
            pid=os.getpid(),
        )
        self._periodic(ctx)
        if self.health is not None:
            self.health.serving()
        if self.ship is not None:
            self._start_shipper(ctx, self.ship)
        self.ready.set()

    def _start_shipper(self, ctx: SensorContext, ship: ShipConfig) -> None:
        """``[ship] enabled``: closed spool files go to the object store from this process too."""
        from honeyfarm.collect.ship import ShipError, run_shipper

        loop = asyncio.get_running_loop()
        spool = ctx.events.spool

        def shipped(_path: Path) -> None:  # called in the shipper's worker thread
            loop.call_soon_threadsafe(spool.refresh_usage)

        async def shipper() -> None:
            try:
                await run_shipper(
                    ship,
                    self._ship_stop,
                    spool_dir=self.spool_dir,
                    sensor_name=self.cfg.identity.name,
                    on_shipped=shipped,
                    files_dir=self.cfg.downloads.dir,
                )
            except ShipError as exc:  # a permanent problem: say so, keep trapping
                print(f"honeyfarm sensor: shipping stopped: {exc}", file=sys.stderr, flush=True)

        assert self.supervisor is not None
        self.supervisor.restart("shipper", shipper)

    def _periodic(self, ctx: SensorContext) -> None:
        """Every background task is supervised: retried with a logged line, never dead in silence."""
        spool = ctx.events.spool
        sup = self.supervisor
        assert sup is not None

        def tick_sync() -> None:
            spool.sync()
            spool.maybe_rotate()

        def report_refused() -> None:
            report = ctx.limiter.take_refused()
            if report is not None:
                ctx.events.emit("honeyfarm.sensor.refused", interval=self.cfg.limits.refused_report_interval, **report)

        sup.every("spool fsync", self.cfg.spool.fsync_interval or 1.0, tick_sync)
        sup.every("spool usage", 30.0, spool.refresh_usage)
        sup.every("refused report", self.cfg.limits.refused_report_interval, report_refused)

    def _fatal(self, why: str) -> None:
        say(f"stopping: {why}")
        if self.fatal is None:
            self.fatal = why
        self.request_stop()

    async def stop(self) -> None:
        self._ship_stop.set()
        for trap in self.traps:
            await trap.close()
        ctx = self.ctx
        if ctx is None:
            return
        pending = [t for t in ctx.tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if ctx.downloader is not None:
            await ctx.downloader.aclose()
        if ctx.overlays is not None:  # Telnet sessions have no end hook: their last writes are saved here
            await ctx.overlays.flush_all()
        if self.health is not None:
            await self.health.close()
        report = ctx.limiter.take_refused()
        if report is not None:
            ctx.events.emit("honeyfarm.sensor.refused", **report)
        ctx.events.emit("honeyfarm.sensor.stop", counts=dict(ctx.events.counts), error=self.fatal)
        ctx.events.spool.close()

    def request_stop(self) -> None:
        self._stop.set()

    async def serve(self, on_ready: Callable[[Sensor], Awaitable[None] | None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        quiet = quiet_library_logs()
        try:
            await self.start()
            if on_ready is not None:
                res = on_ready(self)
                if res is not None:
                    await res
            try:
                await self._stop.wait()
            finally:
                await self.stop()
        finally:
            unquiet_library_logs(quiet)


def run(
    cfg: SensorConfig,
    on_ready: Callable[[Sensor], Awaitable[None] | None] | None = None,
    ship: ShipConfig | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; a background task that cannot recover exits with status 1."""
    from honeyfarm.sensor.eventloop import loop_factory

    sensor = Sensor(cfg, ship)
    with asyncio.Runner(loop_factory=loop_factory(cfg.limits.loop_batch)) as runner:
        runner.run(sensor.serve(on_ready))
    if sensor.fatal is not None:
        raise SystemExit(1)
