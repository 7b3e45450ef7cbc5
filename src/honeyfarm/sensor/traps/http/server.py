# SPDX-License-Identifier: MIT
"""The web trap: accept, fingerprint TLS, hand each connection to aiohttp, answer as the persona, log.

The trap runs its own accept loop (rather than aiohttp's ``SockSite``) for two reasons: the
connection caps (``ctx.limiter``) are checked before any protocol work, and an HTTPS connection's
first TLS record is peeked (``MSG_PEEK``) for its JA3/JA4 before the socket goes to the TLS layer
(``loop.connect_accepted_socket(..., ssl=...)``). After that aiohttp's low-level ``web.Server``
parses requests, with Apache's limits on request line, header size and header count.

Every request is one ``http.request.received`` event (method, target, headers, body capped, its
sha256, classification, the TLS fingerprint of its connection) and its target, headers and body
go to the payload capture, so a URL in an exploit is fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from aiohttp import web
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.context import SensorContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.http import answers
from honeyfarm.sensor.traps.http.apache import ApachePersona
from honeyfarm.sensor.traps.http.cert import ensure_cert, server_context
from honeyfarm.sensor.traps.http.classify import Classifier, RequestText, load_rules
from honeyfarm.sensor.traps.http.model import Persona, Reply, Req
from honeyfarm.sensor.traps.http.router import RouterPersona
from honeyfarm.sensor.traps.http.tlshello import ClientHello, parse_client_hello, peek_client_hello
from honeyfarm.sensor.traps.http.wire import TrapHandler, handler_factory, plain_handler_factory, to_response

# Request bodies held in memory at once over all connections (2000 connections x 1 MiB would be 2 GB);
# past it a body is still read to its end and hashed, but only its first MIN_KEPT_BODY bytes are kept.
BODY_BUDGET = 64 * 1024 * 1024
MIN_KEPT_BODY = 64 * 1024
MAX_LOGGED_HEADERS = 64
MAX_HEADER_VALUE = 2048
# Headers whose value is an address, not a payload: a plain URL there is not fetched.
_ADDRESS_HEADERS = frozenset(("host", "referer", "origin"))


def make_persona(ctx: SensorContext, state: Path) -> Persona:
    cfg = ctx.cfg.http
    if cfg.persona == "router":
        return RouterPersona(cfg.server_header)
    return ApachePersona(cfg.server_header, cfg.server_name, install_time(state))


def install_time(state: Path) -> float:
    """When the default page was written (``apt install apache2``): chosen once, a few weeks
    before the first start, and kept, so Last-Modified and ETag do not change across restarts."""
    f = state / "installed"
    with contextlib.suppress(OSError, ValueError):
        return float(f.read_text(encoding="ascii"))
    t = time.time() - random.uniform(7, 60) * 86400
    t = int(t) + random.randrange(1_000_000) / 1_000_000
    with contextlib.suppress(OSError):
        state.mkdir(parents=True, exist_ok=True)
        f.write_text(f"{t:.6f}", encoding="ascii")
    return t


async def refuse_old_tls(loop: asyncio.AbstractEventLoop, sock: socket.socket, record: bytes, version: int) -> None:
    """A client offering only TLS 1.1 or older: OpenSSL 3 behind Apache reads its hello and answers a
    fatal internal_error alert in the client's record version (measured); Python's TLS layer would
    hang up without one."""
    with contextlib.suppress(OSError):
        sock.recv(len(record))
        alert = b"\x15" + (version & 0xFFFF).to_bytes(2, "big") + b"\x00\x02\x02\x50"
        await asyncio.wait_for(loop.sock_sendall(sock, alert), 5)
    with contextlib.suppress(OSError, TimeoutError):
        sock.close()


class Conn:
    """One accepted connection: its session log, limiter slot, TLS fingerprint, request count."""

    def __init__(self, trap: HTTPTrap, log: SessionLog, ip: str, local_port: int, tls: dict[str, Any] | None) -> None:
        self.trap = trap
        self.log = log
        self.ip = ip
        self.local_port = local_port
        self.tls = tls
        self.nth = 0
        self.released = False
        self.plain_on_tls = False  # plain HTTP sent to the HTTPS port: every request gets mod_ssl's 400

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.trap.ctx.limiter.release(self.ip)

    def bad_request(self, kind: str, message: str, now: float) -> Reply:
        self.nth += 1
        kind = "plain_on_tls" if self.plain_on_tls else kind
        reply = self.trap.persona.bad_request(kind, self.local_port, now)
        self.log.emit(
            "http.request.received",
            request=f"{self.log.session}.{self.nth}",
            error=kind,
            reason=message[:512],
            status=reply.status,
            **(self.tls or {}),
        )
        return reply

    def unknown_method(self, method: str, host: str | None, message: str, now: float) -> Reply:
        """A request with a method llhttp does not parse: the persona's answer (Apache: 501), logged."""
        self.nth += 1
        headers = [("Host", host)] if host else []
        req = Req(method, "/", "/", "", (1, 1), headers, b"", self.local_port, self.tls is not None, self.nth)
        reply = self.trap.persona.respond(req, [], now)
        reply.close = True
        self.log.emit(
            "http.request.received",
            request=f"{self.log.session}.{self.nth}",
            method=method,
            host=host,
            error="method",
            reason=message[:512],
            status=reply.status,
            **(self.tls or {}),
        )
        return reply


class HTTPTrap:
    def __init__(self, ctx: SensorContext) -> None:
        self.ctx = ctx
        self.cfg = cfg = ctx.cfg.http
        state = Path(cfg.cert_dir) if cfg.cert_dir else ctx.spool_dir / "state" / "http"
        self.state = state
        self.persona = make_persona(ctx, state)
        self.classifier = Classifier(load_rules(Path(cfg.rules_file) if cfg.rules_file else None))
        self.server = web.Server(self._handle, handler_cancellation=True)
        self.handler_args: dict[str, Any] = {
            "keepalive_timeout": cfg.idle_timeout,
            "max_line_size": cfg.max_line_bytes,
            "max_field_size": cfg.max_field_bytes,
            "max_headers": cfg.max_headers,
            "auto_decompress": False,  # a gzip body is logged as sent, never inflated (zip bombs)
            "access_log": None,
            "lingering_time": 1.0,
        }
        self._ssl = None
        if cfg.tls_listen:
            host = cfg.cert_host or ctx.cfg.persona.hostname
            self._ssl = server_context(*ensure_cert(state, host))
        self._listeners: list[socket.socket] = []
        self._accepting: list[asyncio.Task[None]] = []
        self._plain: list[asyncio.AbstractServer] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._body_budget = BODY_BUDGET

    # --- connections --------------------------------------------------------------------------------

    async def start(self, socks: list[socket.socket]) -> None:
        """Serve ``listen`` (HTTP) and ``tls_listen`` (HTTPS): the runtime binds both before the
        privilege drop (``HTTPConfig.addresses()``) and passes the sockets in that order."""
        loop = asyncio.get_running_loop()
        n_http = len(self.cfg.listen)
        plain = plain_handler_factory(self.server, self, **self.handler_args)
        for i, sock in enumerate(socks):
            if i < n_http:  # plain HTTP: the loop's own accept path (no ClientHello to peek at first)
                self._plain.append(await loop.create_server(plain, sock=sock, backlog=1024))
            else:
                self._accepting.append(loop.create_task(self._accept(sock, True)))

    def open_conn(self, peer: Any, local: Any) -> Conn | None:
        """A plain connection's state, or None when the caps refuse its address."""
        ip = str(peer[0])
        if not self.ctx.limiter.acquire(ip):
            return None
        log = SessionLog(self.ctx.events, "http", (ip, int(peer[1])), (str(local[0]), int(local[1])))
        return Conn(self, log, log.src_ip, int(local[1]), None)

    async def _accept(self, lsock: socket.socket, tls: bool) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, peer = await loop.sock_accept(lsock)
            except (ConnectionAbortedError, BlockingIOError, InterruptedError):
                continue
            except OSError as exc:  # EMFILE and the like: wait, do not spin
                print(f"honeyfarm sensor: http accept: {exc}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.5)
                continue
            task = loop.create_task(self._connection(conn, peer, tls))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _connection(self, sock: socket.socket, peer: Any, tls: bool) -> None:
        ip = str(peer[0])
        if not self.ctx.limiter.acquire(ip):
            sock.close()
            return
        local = sock.getsockname()
        src, dst = (ip, int(peer[1])), (str(local[0]), int(local[1]))
        log = SessionLog(self.ctx.events, "https" if tls else "http", src, dst)
        conn = Conn(self, log, log.src_ip, int(local[1]), None)
        loop = asyncio.get_running_loop()
        try:
            sock.setblocking(False)
            if tls:
                record = await peek_client_hello(sock, self.cfg.tls_hello_timeout)
                hello = parse_client_hello(record)
                conn.tls = self._fingerprint(log, record, hello)
                if not record:
                    sock.close()
                    conn.release()
                    return
                if record[0] != 0x16:
                    conn.plain_on_tls = True
                    tls = False
                elif hello is not None and hello.max_version() < 0x0303:
                    await refuse_old_tls(loop, sock, record, hello.version)
                    conn.release()
                    return
            factory = handler_factory(self.server, conn, **self.handler_args)
            if tls:
                await loop.connect_accepted_socket(
                    factory, sock, ssl=self._ssl, ssl_handshake_timeout=self.cfg.tls_hello_timeout
                )
            else:
                await loop.connect_accepted_socket(factory, sock)
        except asyncio.CancelledError:  # the trap is closing
            sock.close()
            conn.release()
            raise
        except (OSError, TimeoutError, ValueError):  # the peer left, the TLS handshake failed or timed out
            sock.close()
            conn.release()
        except Exception as exc:  # anything else is a bug: say so, keep serving
            print(f"honeyfarm sensor: http connection: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            sock.close()
            conn.release()

    def _fingerprint(self, log: SessionLog, record: bytes, hello: ClientHello | None) -> dict[str, Any]:
        if hello is None and record:
            log.emit("http.tls.clienthello", error="not a TLS ClientHello", head=record[:64].hex())
        if hello is None:
            return {}
        fp: dict[str, Any] = {
            "sni": hello.sni,
            "ja3": hello.ja3(),
            "ja3_hash": hello.ja3_hash(),
            "ja4": hello.ja4(),
            "alpn": list(hello.alpn) or None,
        }
        log.emit("http.tls.clienthello", **fp)
        return {"sni": hello.sni, "ja3_hash": fp["ja3_hash"], "ja4": fp["ja4"]}

    async def close(self) -> None:
        for t in self._accepting:
            t.cancel()
        for t in list(self._pending):
            t.cancel()
        await asyncio.gather(*self._accepting, *self._pending, return_exceptions=True)
        for s in self._listeners:
            s.close()
        for srv in self._plain:
            srv.close()
        self.server.pre_shutdown()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.shutdown(0.5), 2)

    # --- requests -----------------------------------------------------------------------------------

    async def _read_body(self, request: BaseRequest) -> tuple[bytes, int, bool, str]:
        """The body (at most ``max_body_bytes`` read, fewer kept when the trap-wide budget is spent),
        its size as far as read, whether it was cut off, and the sha256 of what was read."""
        cap = self.cfg.max_body_bytes
        if not request.body_exists:  # no Content-Length, no chunked body: nothing to wait for
            return b"", 0, False, ""
        if request.content_length is not None and request.content_length > cap:
            return b"", request.content_length, True, ""
        keep = min(cap, max(self._body_budget, MIN_KEPT_BODY))
        self._body_budget -= keep
        buf = bytearray()
        total = 0
        digest = hashlib.sha256()
        try:
            async with asyncio.timeout(self.cfg.request_timeout):
                while chunk := await request.content.read(65536):
                    total += len(chunk)
                    digest.update(chunk)
                    if len(buf) < keep:
                        buf += chunk[: keep - len(buf)]
                    if total > cap:
                        return bytes(buf), total, True, digest.hexdigest()
        finally:
            self._body_budget += keep
        return bytes(buf), total, False, digest.hexdigest()

    async def _handle(self, request: BaseRequest) -> StreamResponse:
        handler = request.protocol
        assert isinstance(handler, TrapHandler)
        conn = handler.hf_conn
        if conn.plain_on_tls:
            return to_response(conn.bad_request("plain_on_tls", "plain HTTP on the HTTPS port", time.time()))
        conn.nth += 1
        try:
            body, size, too_large, sha = await self._read_body(request)
        except TimeoutError:
            return to_response(conn.bad_request("timeout", "body not received in time", time.time()))
        req = self._req(request, conn, body, too_large)
        try:
            reply = self._answer(conn, req, size, sha)
        except Exception as exc:  # a bug must not end the trap: log it, answer as the server's 404 would
            print(f"honeyfarm sensor: http: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            reply = self.persona.bad_request("line", conn.local_port, time.time())
        if not reply.close and conn.nth >= self.cfg.max_requests:
            reply.close = True
        return to_response(reply)

    def _req(self, request: BaseRequest, conn: Conn, body: bytes, too_large: bool) -> Req:
        msg = request._message  # the request as parsed: raw target, header names as sent
        target = msg.path
        path, _, query = target.partition("?")
        uri_host = None
        if "://" in path[:16]:  # absolute form: GET http://host/path
            parts = urlsplit(target)
            uri_host = parts.netloc or None
            path, query = parts.path or "/", parts.query
        headers = [(k.decode("latin-1", "replace"), v.decode("latin-1", "replace")) for k, v in msg.raw_headers]
        return Req(
            method=msg.method,
            target=target,
            path=path,
            query=query,
            version=(msg.version.major, msg.version.minor),
            headers=headers,
            body=body,
            local_port=conn.local_port,
            tls=conn.tls is not None,
            nth=conn.nth,
            uri_host=uri_host,
            body_too_large=too_large,
        )

    def _answer(self, conn: Conn, req: Req, size: int, sha: str) -> Reply:
        rt = RequestText.of(req.method, req.path, req.query, req.headers, req.body)
        verdict = self.classifier.classify(rt)
        body_text = req.body.decode("latin-1")
        outputs = answers.outputs(req.target, body_text) if verdict.attack else []
        reply = self.persona.respond(req, outputs, time.time())
        request_id = f"{conn.log.session}.{conn.nth}"
        payload = "\n".join(
            (
                req.target,
                unquote_plus(req.target),
                *(f"{k}: {v}" for k, v in req.headers if k.lower() not in _ADDRESS_HEADERS),
                body_text,
                unquote_plus(body_text) if "%" in body_text or "+" in body_text else "",
            )
        )
        urls = capture_payload(self.ctx, conn.log, payload, trap="http", request=request_id)
        ua = req.header("User-Agent")
        logged = self.cfg.log_body_bytes
        conn.log.emit(
            "http.request.received",
            request=request_id,
            method=req.method,
            url=req.target,
            path=req.path,
            query=req.query or None,
            http_version=f"{req.version[0]}.{req.version[1]}",
            host=req.header("Host"),
            headers=[[k, v[:MAX_HEADER_VALUE]] for k, v in req.headers[:MAX_LOGGED_HEADERS]],
            client_version=ua,
            body=body_text[:logged] if req.body else None,
            body_size=size or None,
            body_sha256=sha if size > logged and sha else None,
            body_truncated=req.body_too_large or None,
            status=reply.status,
            attack=verdict.attack or None,
            rule=verdict.rule or None,
            cve=verdict.cve or None,
            answered=outputs or None,
            urls=urls or None,
            **reply.extra,
            **(conn.tls or {}),
        )
        if "username" in reply.extra or "password" in reply.extra:
            conn.log.emit("http.login.attempt", request=request_id, url=req.target, **reply.extra)
        return reply
