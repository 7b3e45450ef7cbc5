# SPDX-License-Identifier: MIT
"""The Docker Engine API trap: aiohttp's low-level server, one session per connection.

aiohttp parses requests under the caps of ``[sensor.docker]`` (request line, header size and
count, body); the connection hooks add what every trap does: the per-address and global
connection caps, an idle watchdog (aiohttp waits for ever for a half-sent request), a request
count limit, and one ``docker.request.received`` event per request. What the parser rejects is
answered as Go's net/http does (:func:`~honeyfarm.sensor.traps.docker.wire.bad_request`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Coroutine
from typing import Any

from aiohttp import web, web_protocol, web_server
from aiohttp.http import HttpVersion11

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.context import SensorContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.docker import api, containers
from honeyfarm.sensor.traps.docker.api import Call, Handler, Router
from honeyfarm.sensor.traps.docker.persona import Engine
from honeyfarm.sensor.traps.docker.state import EngineState
from honeyfarm.sensor.traps.docker.streams import StdinSink
from honeyfarm.sensor.traps.docker.wire import SilentResponse, bad_request, go_reject

MAX_TASKS = 1000  # attached containers "running" at once, sensor-wide
HEAD_KEPT = 1024  # first bytes of a request kept to answer a parse error as Go would

_quiet = logging.getLogger(__name__ + ".aiohttp")
_quiet.propagate = False
_quiet.addHandler(logging.NullHandler())


_SWARM = (
    ("GET", "/swarm"),
    ("GET", "/services"),
    ("POST", "/services/create"),
    ("GET", "/nodes"),
    ("GET", "/tasks"),
    ("GET", "/secrets"),
    ("GET", "/configs"),
)


def make_router() -> Router:
    r = Router()
    for method, path, handler in (
        ("GET", "/_ping", api.ping),
        ("HEAD", "/_ping", api.ping),
        ("GET", "/version", api.version),
        ("GET", "/info", api.info),
        ("GET", "/images/json", api.images_list),
        ("POST", "/images/create", containers.images_create),
        ("GET", "/images/{name}/json", api.image_inspect),
        ("DELETE", "/images/{name}", api.image_delete),
        ("GET", "/containers/json", api.containers_list),
        ("POST", "/containers/create", containers.create),
        ("GET", "/containers/{name}/json", containers.inspect),
        ("GET", "/containers/{name}/logs", containers.logs),
        ("POST", "/containers/{name}/start", containers.start),
        ("POST", "/containers/{name}/stop", containers.stop),
        ("POST", "/containers/{name}/restart", containers.restart),
        ("POST", "/containers/{name}/kill", containers.kill),
        ("POST", "/containers/{name}/wait", containers.wait),
        ("POST", "/containers/{name}/attach", containers.attach),
        ("POST", "/containers/{name}/resize", containers.resize),
        ("POST", "/containers/{name}/exec", containers.exec_create),
        ("DELETE", "/containers/{name}", containers.remove),
        ("POST", "/exec/{id}/start", containers.exec_start),
        ("POST", "/exec/{id}/resize", containers.exec_resize),
        ("GET", "/exec/{id}/json", containers.exec_inspect_route),
        ("GET", "/networks", api.networks),
        ("GET", "/volumes", api.volumes),
        ("GET", "/system/df", api.system_df),
        *((m, p, api.not_a_swarm_manager) for m, p in _SWARM),
    ):
        r.add(method, path, handler)
    return r


class DockerProtocol(web_protocol.RequestHandler):
    """One TCP connection: its session log, caps and watchdog around aiohttp's request loop."""

    def __init__(self, manager: web_server.Server, trap: DockerTrap, **kwargs: Any) -> None:
        super().__init__(manager, loop=asyncio.get_running_loop(), logger=_quiet, **kwargs)
        self.trap = trap
        self.log: SessionLog
        self.ip = ""
        self.admitted = False
        self.requests = 0
        self.active = 0
        self.hijacked: StdinSink | None = None
        self.head = bytearray()  # the start of the current request (reset once it is answered)
        self._seen = -1
        self._watch: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername") or ("?", 0)
        local = transport.get_extra_info("sockname") or ("?", 0)
        src, dst = (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1]))
        self.log = SessionLog(self.trap.ctx.events, "docker", src, dst)
        self.ip = self.log.src_ip
        super().connection_made(transport)
        if not self.trap.ctx.limiter.acquire(self.ip):
            transport.abort()  # type: ignore[attr-defined]
            return
        self.admitted = True
        self.trap.conns.add(self)
        self._watch = asyncio.get_running_loop().call_later(self.trap.cfg.idle_timeout, self._check_idle)
        self.started = asyncio.get_running_loop().time()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.admitted:
            self.admitted = False
            self.trap.ctx.limiter.release(self.ip)
            self.trap.conns.discard(self)
        if self._watch is not None:
            self._watch.cancel()
        if self.hijacked is not None:
            self.hijacked.feed_eof()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio's contract allows True
        # A client half-closes after its stdin on a hijacked stream and still reads the output.
        if self.hijacked is not None:
            self.hijacked.feed_eof()
            return True
        return None

    def _check_idle(self) -> None:
        loop = asyncio.get_running_loop()
        idle = self.active == 0 and self.requests == self._seen
        too_old = loop.time() - self.started > self.trap.ctx.cfg.limits.session_timeout
        if (idle or too_old) and self.transport is not None:
            self.transport.abort()
            return
        self._seen = self.requests
        self._watch = loop.call_later(self.trap.cfg.idle_timeout, self._check_idle)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        pass  # attackers' garbage is an event, not a traceback in the sensor's log

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        kind = type(exc).__name__ if exc is not None else ""
        text = str(message or exc or "")
        self.log.emit("docker.request.received", error=f"{kind}: {text}"[:512], status=status)
        if status >= 500:
            return bad_request(None, 500)
        return go_reject(bytes(self.head), kind, text, self.trap.cfg.idle_timeout)

    def data_received(self, data: bytes) -> None:
        if len(self.head) < HEAD_KEPT:
            self.head += data[: HEAD_KEPT - len(self.head)]
        super().data_received(data)

    def flush_stdin(self, sink: StdinSink, request: str, container_id: str) -> None:
        """Log (and mine for URLs) what a client piped into an attach or exec stream."""
        if not sink.total:
            return
        text = bytes(sink.data).decode("utf-8", "backslashreplace")
        urls = capture_payload(self.trap.ctx, self.log, text, trap="docker", request=request)
        self.log.emit(
            "docker.stream.input",
            container_id=container_id,
            command=text,
            size=sink.total,
            truncated=sink.total > len(sink.data) or None,
            urls=urls or None,
        )
        sink.data.clear()
        sink.total = 0


class DockerServer(web_server.Server):
    def __init__(self, trap: DockerTrap, **kwargs: Any) -> None:
        super().__init__(trap.handle, **kwargs)
        self.trap = trap

    def __call__(self) -> DockerProtocol:
        return DockerProtocol(self, self.trap, **self._kwargs)


class DockerTrap:
    """The engine API on every listening socket; state shared by all of them."""

    def __init__(self, ctx: SensorContext) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg.docker
        self.engine = Engine.from_config(ctx.cfg)
        self.state = EngineState(self.cfg.max_addresses, self.cfg.max_containers, self.cfg.images)
        self.router = make_router()
        self.conns: set[DockerProtocol] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.pull_step = 0.08  # seconds between pull progress lines
        self.timing_scale = 1.0  # engine latencies (create, start) are real-looking
        self._runner: web.ServerRunner | None = None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> bool:
        """Run an attached container's life in the background; False (not run) past MAX_TASKS."""
        if len(self.tasks) >= MAX_TASKS:
            coro.close()
            return False
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def _body(self, request: web.BaseRequest) -> bytes | None:
        """The body, or None past ``max_body_bytes`` (the connection is then closed)."""
        if not request.body_exists:
            return b""
        cap = self.cfg.max_body_bytes
        if request.content_length is not None and request.content_length > cap:
            return None
        buf = bytearray()
        while len(buf) <= cap:
            chunk = await request.content.readany()
            if not chunk:
                return bytes(buf)
            buf += chunk
        return None

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        proto = request.protocol
        assert isinstance(proto, DockerProtocol)
        proto.requests += 1
        proto.active += 1
        try:
            return await self._handle(request, proto)
        finally:
            proto.active -= 1
            proto.head.clear()

    async def _handle(self, request: web.BaseRequest, proto: DockerProtocol) -> web.StreamResponse:
        if request.version >= HttpVersion11 and "Host" not in request.headers:
            proto.log.emit(
                "docker.request.received",
                method=request.method[:16],
                path=request.raw_path[:2048],
                error="missing required Host header",
                status=400,
            )
            return bad_request("missing required Host header")
        if request.version.major != 1:
            return bad_request("unsupported protocol version", 505)
        try:
            async with asyncio.timeout(self.cfg.idle_timeout):
                body = await self._body(request)
        except TimeoutError:  # a body that never comes: Go would wait; the slot is freed silently
            proto.log.emit(
                "docker.request.received", method=request.method[:16], path=request.path[:2048], error="body timeout"
            )
            return SilentResponse(0)
        cap = self.cfg.max_log_body_bytes
        proto.log.emit(
            "docker.request.received",
            method=request.method[:16],
            path=request.path[:2048],
            query=request.query_string[:4096] or None,
            client_version=request.headers.get("User-Agent"),
            body=body[:cap].decode("utf-8", "backslashreplace") if body else None,
            body_size=len(body) if body else None,
            oversized=True if body is None else None,
        )
        if body is None:
            return bad_request(None, 413)
        if proto.requests >= self.cfg.max_requests:
            request.protocol.force_close()
        state = self.state.get(proto.ip)

        def make_call(handler: Handler, vars_: dict[str, str], version: str) -> Call:
            return Call(request, proto, self, vars_, version, body, state)

        return await api.dispatch(self.router, request, make_call)

    async def start(self, socks: list[socket.socket]) -> None:
        cfg = self.cfg
        server = DockerServer(
            self,
            max_line_size=cfg.max_line_size,
            max_field_size=cfg.max_field_size,
            max_headers=cfg.max_headers,
            keepalive_timeout=cfg.idle_timeout,
            access_log=None,
            lingering_time=2.0,
        )
        self._runner = web.ServerRunner(server, shutdown_timeout=1.0)
        await self._runner.setup()
        for sock in socks:
            await web.SockSite(self._runner, sock, shutdown_timeout=1.0, backlog=1024).start()

    async def close(self) -> None:
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.abort()
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
