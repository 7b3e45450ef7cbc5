# SPDX-License-Identifier: MIT
"""The Redis trap: connections, the request loop, and what gets logged.

One :class:`RedisSession` per connection reads RESP (:mod:`.resp`), runs each command against
its :class:`~.state.Client` and the box of its source address (:mod:`.commands`, :mod:`.admin`,
:mod:`.exploits`, :mod:`.misc`) and writes
the replies of one read together, as redis answers a pipeline. Like redis it answers a protocol
error and closes, and closes without a word on an HTTP request (``POST`` / ``Host:``).

What is logged: every command (``redis.command.input``, the first ``max_logged_commands`` of a
connection), AUTH (``redis.login.attempt``), SAVE of a changed dir/dbfilename or of values
(``redis.file.write``, the cron / authorized_keys write), scripts, MODULE LOAD, and what a
REPLICAOF master pushed (``redis.replication.payload``). Every argument is also handed to
:func:`~honeyfarm.sensor.capture.origin.capture_payload`, so a ``curl ... | sh`` in a cron line
is fetched into the content store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import posixpath
import socket
import time
from typing import Any

from honeyfarm.sensor.capture.netpolicy import AddressPolicy
from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.context import SensorContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.redis import admin, commands, exploits, misc, replication, resp  # noqa: F401 (tables)
from honeyfarm.sensor.traps.redis.info import ServerFacts
from honeyfarm.sensor.traps.redis.state import Boxes, Budget, Client, load_config_defaults

READ_CHUNK = 64 * 1024
MAX_OUTPUT = 256 * 1024  # reply bytes queued for a client that does not read, before waiting for it
BIG_CLIENT = 64 * 1024  # past the trap-wide budget, connections holding more than this are closed
MAX_LOGGED_ARG = 4096
MAX_REPLICATIONS = 8  # sensor-wide at once
MAX_REPLICATIONS_PER_SESSION = 4


def render(args: list[bytes], limit: int = MAX_LOGGED_ARG) -> str:
    """The command line as redis-cli would show it: plain words bare, others quoted and escaped."""
    out: list[str] = []
    size = 0
    for a in args:
        if a and len(a) <= limit and all(33 <= b < 127 and b not in b"\"'\\" for b in a):
            word = a.decode("ascii")
        else:
            esc = "".join(
                {34: '\\"', 92: "\\\\", 10: "\\n", 13: "\\r", 9: "\\t"}.get(
                    b, chr(b) if 32 <= b < 127 else f"\\x{b:02x}"
                )
                for b in a[:limit]
            )
            word = f'"{esc}"'
        out.append(word)
        size += len(word) + 1
        if size > limit:
            break
    return " ".join(out)[:limit]


_REPR = {34: '\\"', 92: "\\\\", 10: "\\n", 13: "\\r", 9: "\\t", 7: "\\a", 8: "\\b"}


def _repr(raw: bytes) -> str:
    """``sdscatrepr`` without the quotes."""
    return "".join(_REPR.get(b, chr(b) if 32 <= b < 127 else f"\\x{b:02x}") for b in raw)


def _safe(text: str) -> str:
    """Attacker bytes kept in a str (surrogate escapes) made valid UTF-8 for the spool."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")[:MAX_LOGGED_ARG]


def _text(raw: bytes) -> str:
    return raw[:MAX_LOGGED_ARG].decode("utf-8", "backslashreplace")


class RedisSession:
    def __init__(self, trap: RedisTrap, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.trap = trap
        self.ctx = trap.ctx
        self.cfg = trap.cfg
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        self.log = SessionLog(self.ctx.events, "redis", (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1])))
        trap.next_id += 1
        box = trap.boxes.open(self.log.src_ip, int(local[1]))
        self.log.fetched_urls = box.fetched_urls  # a URL is fetched once per address, not per connection
        self.c = Client(
            trap,
            trap.next_id,
            f"{self.log.src_ip}:{self.log.src_port}",
            f"{self.log.dst_ip}:{self.log.dst_port}",
            int(local[1]),
            box,
        )
        self.parser = resp.RequestParser(self.cfg.max_bulk_bytes, self.cfg.max_array_len)
        self.drop_replies = False
        self.monitoring = False
        self.channels: set[bytes] = set()  # SUBSCRIBEd channels (the connection is in pub/sub mode)
        self.commands = 0
        self.logged = 0
        self.replications = 0
        self.reason = "client closed"
        self.footprint = 0  # bytes of input buffered, counted in trap.budget

    # --- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        self.log.emit("redis.session.connect")
        try:
            await self._loop()
        finally:
            self.log.emit(
                "redis.session.closed",
                duration=round(self.log.elapsed, 3),
                commands=self.commands,
                unlogged=max(0, self.commands - self.logged) or None,
                reason=self.reason,
                client_version=_text(self.c.name) if self.c.name else None,
            )

    async def _loop(self) -> None:
        try:
            while await self._round():
                pass
        finally:
            self.trap.budget.used -= self.footprint
            self.trap.boxes.release(self.log.src_ip, self.c.box)

    async def _round(self) -> bool:
        """Read once, run every complete command, answer them together; False ends the connection."""
        try:
            async with asyncio.timeout(self.cfg.idle_timeout):
                data = await self.reader.read(READ_CHUNK)
        except TimeoutError:
            self.reason = "idle timeout"
            return False
        if not data:
            return False
        self.trap.net_in += len(data)
        self.parser.feed(data)
        out = bytearray()
        close = False
        try:
            while (req := self._take()) is not None:
                out += self.execute(req.args, req.inline)
                if self.drop_replies:
                    self.reason = "http request" if not self.c.quitting else "shutdown"
                    return False
                if self.c.quitting or self.commands >= self.cfg.max_commands:
                    self.reason = "quit" if self.c.quitting else "max_commands"
                    close = True
                    break
                if len(out) > MAX_OUTPUT:  # a pipeline of big answers: hand them over before going on
                    await self._send(bytes(out))
                    out.clear()
        except resp.ProtocolError as exc:
            out += resp.error(f"ERR Protocol error: {exc}")
            self.reason = f"protocol error: {exc}"
            close = True
        if not close and not self._within_budget():
            return False  # redis frees such a client without a reply
        await self._send(bytes(out))
        return not close

    def _within_budget(self) -> bool:
        """The connection's buffered input and keys, against its own cap and the trap-wide one."""
        pending = self.parser.pending
        if pending > max(self.cfg.max_query_bytes, self.cfg.max_bulk_bytes + 1024):
            self.reason = "query buffer limit"
            return False
        self.trap.budget.used += pending - self.footprint
        self.footprint = pending
        if self.trap.budget.used > self.trap.budget.limit and pending > BIG_CLIENT:
            self.reason = "sensor-wide memory budget"
            return False
        return True

    def _take(self) -> resp.Request | None:
        self.parser.unauth = bool(self.c.box.config.get("requirepass")) and not self.c.authed
        return self.parser.take()

    async def _send(self, data: bytes) -> None:
        if not data or self.writer.transport.is_closing():
            return
        self.trap.net_out += len(data)
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > MAX_OUTPUT:
            async with asyncio.timeout(self.cfg.idle_timeout):
                await self.writer.drain()

    # --- one command ----------------------------------------------------------------------------

    def execute(self, args: list[bytes], inline: bool = False) -> bytes:
        self.commands += 1
        self.trap.commands += 1
        first = args[0].lower()
        found = commands.resolve(args)
        name = found[0] if isinstance(found, tuple) else first.decode("latin-1")[:64]
        self._log_command(args, name, inline)
        if first in (b"host:", b"post"):
            self.drop_replies = True  # redis' "Possible SECURITY ATTACK detected": close, say nothing
            return b""
        if len(args) > 1:
            capture_payload(self.ctx, self.log, b" ".join(args[1:]), trap="redis", request=render(args, 512))
        if isinstance(found, tuple):
            self.c.last_cmd = found[0]  # CLIENT LIST shows the command running
        reply = exploits.module_command(self, args)
        if reply is None:
            reply = self._dispatch(args, found)
        if isinstance(found, tuple):
            self.c.count(found[0], reply.startswith(b"-"))
            if self.monitoring and "skip_monitor" not in found[1].flags:
                reply += self._monitor_line(args, found[0])
            elif found[0] == "monitor" and not reply.startswith(b"-"):
                self.monitoring = True
        if reply.startswith(b"-"):
            self.c.errors[reply[1:].split(b" ", 1)[0].decode("latin-1")[:32]] += 1
        return reply

    def _monitor_line(self, args: list[bytes], name: str) -> bytes:
        """What MONITOR shows of a command (this connection's own: it sees no other client)."""
        now = time.time()
        shown = args if name not in ("auth", "hello", "migrate") else args[:1] + [b"(redacted)"] * (len(args) > 1)
        line = " ".join(f'"{_repr(a[:MAX_LOGGED_ARG])}"' for a in shown[:64])
        return f"+{int(now)}.{int(now % 1 * 1e6):06d} [{self.c.db} {self.c.addr}] {line}\r\n".encode()

    def _dispatch(self, args: list[bytes], found: tuple[str, commands.Spec] | str) -> bytes:
        c = self.c
        if isinstance(found, str):
            return resp.error(found)
        name, spec = found
        if c.box.config.get("requirepass") and not c.authed and "no_auth" not in spec.flags:
            return resp.error("NOAUTH Authentication required.")
        if c.box.master is not None and "write" in spec.flags and c.box.config.get("replica-read-only") != "no":
            return resp.error("READONLY You can't write against a read only replica.")
        refused = misc.subscribed_check(self, name) or misc.cluster_command(name)
        if refused is not None:
            return refused
        handler = commands.HANDLERS.get(name)
        if handler is None:
            return commands.fallback(self, name, spec, args)
        return handler(self, args)

    def _log_command(self, args: list[bytes], name: str, inline: bool) -> None:
        if self.logged >= self.cfg.max_logged_commands:
            return
        self.logged += 1
        self.log.emit("redis.command.input", command=render(args), name=name, argc=len(args), inline=inline or None)

    # --- hooks the commands call ----------------------------------------------------------------

    def on_auth(self, user: bytes, password: bytes, ok: bool) -> None:
        self.log.emit(
            "redis.login.attempt",
            username=_text(user),
            password=_text(password),
            success=ok and bool(self.c.box.config.get("requirepass")),
        )

    def on_save(self, how: str) -> None:
        view = self.c.box.config
        values = self.c.box.keys.values()
        moved = view["dir"] != self.trap.config_defaults["dir"] or view["dbfilename"] != "dump.rdb"
        if not values and not moved:
            return
        urls: list[str] = []
        for v in values[:64]:
            urls += capture_payload(self.ctx, self.log, v, trap="redis", request=how)
        path = posixpath.join(view["dir"], view["dbfilename"])
        self.log.emit(
            "redis.file.write",
            dir=_safe(view["dir"]),
            dbfilename=_safe(view["dbfilename"]),
            path=_safe(path),
            kind=_write_kind(view["dir"], view["dbfilename"]),
            values=[_text(v) for v in values[:16]],
            keys=self.c.box.keys.count,
            urls=sorted(set(urls)) or None,
            command=how,
        )

    def on_script(self, script: bytes, args: list[bytes], sha: str) -> None:
        self.log.emit("redis.script.eval", script=_text(script), sha1=sha, args=[_text(a) for a in args[:16]])
        capture_payload(self.ctx, self.log, script, trap="redis", request="EVAL")

    def on_module(self, raw: str, path: str, loaded: bool) -> None:
        self.log.emit("redis.module.load", path=_safe(raw), resolved=_safe(path), loaded=loaded)

    def start_replication(self, master: tuple[str, int]) -> None:
        host, port = master
        if not self.cfg.replication:
            return
        busy = sum(1 for t in self.trap.replications if not t.done()) >= MAX_REPLICATIONS
        if busy or self.replications >= MAX_REPLICATIONS_PER_SESSION:
            self.log.emit("redis.replication.failed", master_host=_safe(host), master_port=port, reason="busy")
            return
        self.replications += 1
        task = asyncio.get_running_loop().create_task(self._replicate(host, port))
        for tasks in (self.ctx.tasks, self.trap.replications):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def stop_replication(self) -> None:
        """SLAVEOF NO ONE: a transfer under way is still finished (the payload is the evidence)."""

    async def _replicate(self, host: str, port: int) -> None:
        store = self.ctx.store
        dl = self.ctx.cfg.downloads
        policy = AddressPolicy(allow_loopback=dl.allow_loopback, allow_private=dl.allow_private)
        where = {"master_host": _safe(host), "master_port": port}
        try:
            if store is None:
                raise replication.ReplicationError("no content store")
            async with asyncio.timeout(self.cfg.replication_timeout):
                p = await replication.fetch(
                    self.cfg, policy, store, host, port, self.c.local_port, self.trap.facts.replid
                )
        except Exception as exc:  # never let a hostile master take the task down silently
            reason = {replication.ReplicationError: str(exc)[:300], TimeoutError: "timeout"}.get(
                type(exc), f"error: {type(exc).__name__}"
            )
            self.log.emit("redis.replication.failed", reason=reason, **where)
            if self.c.box.master == (host, port):
                self.c.box.repl_status = "down"  # redis retries every second; this trap once
            return
        c = self.c
        if c.box.master == (host, port):
            c.box.repl_status = "up"
            c.box.repl_offset = p.blob.size
        target = posixpath.join(c.box.config["dir"], c.box.config["dbfilename"])
        if len(c.box.pushed) < 16:
            c.box.pushed.add(target)
        self.log.emit(
            "redis.replication.payload",
            sha256=p.blob.sha256,
            size=p.blob.size,
            declared_size=p.declared,
            truncated=p.blob.truncated or None,
            complete=p.complete,
            kind=p.kind,
            path=_safe(target),
            master_replid=_safe(p.replid),
            master_address=p.address,
            **where,
        )
        capture_payload(self.ctx, self.log, p.blob.head, trap="redis", request=f"REPLICAOF {_safe(host)} {port}")


def _write_kind(d: str, name: str) -> str:
    """What a SAVE to ``d/name`` would plant on a real host."""
    if "cron" in d or name in ("root", "crontab") or d.startswith("/etc/cron"):
        return "cron"
    if d.endswith("/.ssh") or name.startswith("authorized_keys"):
        return "ssh_key"
    if name.endswith((".php", ".jsp", ".jspx", ".asp", ".aspx", ".phtml")) or "/www" in d:
        return "webshell"
    if name.endswith(".so"):
        return "module"
    return "rdb"


class RedisTrap:
    def __init__(self, ctx: SensorContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg.redis
        persona = ctx.cfg.persona
        seed = hashlib.sha256(f"{ctx.cfg.identity.name}|redis|{int(time.time())}".encode()).digest()
        facts = ServerFacts(0, persona.kernel_release, persona.arch, persona.mem_kb * 1024, 0.0, seed)
        uptime = persona.uptime_days * 86400 * facts.num("restart", 55, 95) / 100
        facts.started = time.time() - uptime
        self.facts = facts
        days = max(1.0, uptime / 86400)
        self.base_connections = int(days * facts.num("conn", 40, 400))
        self.base_commands = self.base_connections * facts.num("cmds", 3, 12)
        self.next_id = self.base_connections
        self.connected = 0
        self.accepted = 0
        self.commands = 0
        self.net_in = 0
        self.net_out = 0
        self.saves = 0
        self.budget = Budget(self.cfg.max_total_bytes)  # keys kept and input buffered, all connections
        self.config_defaults = self._config_defaults()
        self.boxes = Boxes(self.cfg, self.budget, self.config_defaults, facts.started)
        self.replications: set[asyncio.Task[Any]] = set()
        self._servers: list[asyncio.AbstractServer] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    def _config_defaults(self) -> dict[str, str]:
        view = load_config_defaults()
        view.update(
            {
                "dir": "/var/lib/redis",
                "pidfile": "/run/redis/redis-server.pid",
                "logfile": "/var/log/redis/redis-server.log",
                "supervised": "systemd",
                "daemonize": "no",
                "bind": "* -::*",
                "protected-mode": "no",
                "save": "3600 1 300 100 60 10000",
                "requirepass": self.cfg.requirepass,
                "enable-protected-configs": "yes" if self.cfg.protected_configs else "no",
                "enable-module-command": "yes" if self.cfg.module_command else "no",
                "proto-max-bulk-len": str(self.cfg.max_bulk_bytes),
            }
        )
        return view

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        ip = str(peer[0])
        if not self.ctx.limiter.acquire(ip):
            writer.transport.abort()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        self.connected += 1
        self.accepted += 1
        try:
            async with asyncio.timeout(self.ctx.cfg.limits.session_timeout):
                await RedisSession(self, reader, writer).run()
        except (TimeoutError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            if not self._closing:
                raise
        finally:
            self.connected -= 1
            self._writers.discard(writer)
            self.ctx.limiter.release(ip)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (TimeoutError, OSError):
                writer.transport.abort()

    async def start(self, socks: list[socket.socket]) -> None:
        for sock in socks:
            self._servers.append(await asyncio.start_server(self._handle, sock=sock, backlog=1024, limit=READ_CHUNK))

    async def close(self) -> None:
        """Stop accepting, hang up every connection, end replication transfers."""
        self._closing = True
        for srv in self._servers:
            srv.close()
        for w in list(self._writers):
            w.transport.abort()
        pending = [*self._tasks, *self.replications]
        for t in self.replications:
            t.cancel()
        if pending:
            _done, still = await asyncio.wait(pending, timeout=1.0)
            for t in still:
                t.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(srv.wait_closed(), 2)
