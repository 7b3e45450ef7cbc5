# SPDX-License-Identifier: MIT
"""The Elasticsearch trap on aiohttp's low-level server: connections, caps, the wire, the events.

aiohttp parses HTTP (request line, header and body caps as configured); this module keeps
what would give it away off the wire — no ``Server`` or ``Date`` header, headers in Netty's
order (``X-elastic-product``, ``content-type``, ``content-length``, as Elasticsearch 8 sends
them), JSON errors where aiohttp would answer a malformed request in plain text — and adds
what aiohttp lacks: a per-address connection cap (the sensor's limiter), an idle deadline that
also runs while a request is half sent (no slowloris), a lifetime, a request count per connection.

Every request is an ``elasticsearch.request.received`` event; a search, or any request that
carries a script or a known exploit, also an ``elasticsearch.search.query`` event. Every string
the attacker sent (path, query, body strings) goes to :func:`capture_payload`, which fetches the
URLs in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import urllib.parse
from typing import TYPE_CHECKING, Any

from aiohttp import HttpVersion10, web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.traps.elasticsearch import render
from honeyfarm.sensor.traps.elasticsearch.api import API
from honeyfarm.sensor.traps.elasticsearch.classify import Finding, classify, is_search, parse_body, query_text
from honeyfarm.sensor.traps.elasticsearch.persona import Node
from honeyfarm.sensor.traps.elasticsearch.routes import Request, Response, Router

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.elasticsearch.config import ElasticsearchConfig

MAX_QUERY_PARAMS = 64
HEAD_BYTES = 16384
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HOST = re.compile(rb"\nhost[ \t]*:", re.I)
LOGGED_BODY = 16 * 1024  # bytes of a body kept in its event (the spool caps again)
# Netty's reason phrases where Python's differ (3.13 renamed 413 and 422).
REASONS = {413: "Request Entity Too Large", 422: "Unprocessable Entity"}
BODY_TYPES = frozenset(
    {"application/json", "application/x-ndjson", "application/vnd.elasticsearch+json", "application/yaml"}
    | {"application/vnd.elasticsearch+x-ndjson", "application/cbor", "application/smile"}
)


class ESResponse(web.Response):
    """A response with Elasticsearch's headers only, in its order."""

    legacy = False  # 7.x's headers: no X-elastic-product, JSON with charset (``legacy_http10_headers``)
    bare = False  # HttpObjectAggregator's 413: no Elasticsearch headers, no body, connection closed

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        h = self._headers
        ctype, clen = h.get("Content-Type"), h.get("Content-Length")
        extra = [(k, v) for k, v in h.items() if k in ("X-Opaque-Id", "Allow", "Warning", "Transfer-Encoding")]
        h.clear()
        if self.bare:  # Netty's own answer, before Elasticsearch sees the request
            h.add("content-length", "0")
            h.add("connection", "close")
            return
        for k, v in extra:
            h.add(k, v)
        if self.legacy:
            ctype = f"{ctype}; charset=UTF-8" if ctype == render.JSON_TYPE else ctype
        else:
            h.add("X-elastic-product", "Elasticsearch")
        if ctype is not None:
            h.add("content-type", ctype)
        if clen is not None:
            h.add("content-length", clen)


class _Conn(RequestHandler):
    """One client connection: the limiter's slot, the session's events, the deadlines."""

    def __init__(self, manager: web.Server, trap: ElasticsearchTrap, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.trap = trap
        self.log: SessionLog | None = None
        self.ip = ""
        self.requests = 0
        self.last = 0.0
        self.born = 0.0
        self.watch: asyncio.TimerHandle | None = None
        self.pending: bytearray | None = bytearray()
        self.head = b""  # the connection's first bytes, for what a malformed request was
        self.no_host = False  # the first request came without a Host header (one was added for aiohttp)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername") or ("?", 0)
        local = transport.get_extra_info("sockname") or ("?", 0)
        self.ip = str(peer[0])
        if not self.trap.ctx.limiter.acquire(self.ip):
            transport.abort()  # refused before any protocol work; counted by the limiter
            return
        self.log = SessionLog(
            self.trap.ctx.events, "elasticsearch", (self.ip, int(peer[1])), (str(local[0]), int(local[1]))
        )
        self.trap.conns.add(self)
        super().connection_made(transport)
        self.born = self.last = self._loop.time()
        self.watch = self._loop.call_later(self.trap.cfg.idle_timeout, self._check)

    def data_received(self, data: bytes) -> None:
        self.last = self._loop.time()
        if self.pending is not None:  # the first request's head, kept until it is complete
            self.pending += data
            if _HEAD_END.search(self.pending) is None and len(self.pending) < HEAD_BYTES:
                return
            data, self.pending = bytes(self.pending), None
            self.head = data[:HEAD_BYTES]
            data, self.no_host = _add_host(data)
        super().data_received(data)

    def _check(self) -> None:
        cfg = self.trap.cfg
        now = self._loop.time()
        if now - self.last >= cfg.idle_timeout or now - self.born >= cfg.max_connection_time:
            if self.transport is not None:
                self.transport.abort()
            return
        self.watch = self._loop.call_later(max(0.05, self.last + cfg.idle_timeout - now), self._check)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.log is None:
            return  # refused in connection_made
        if self.watch is not None:
            self.watch.cancel()
        if self.pending:  # hung up (or timed out) before its first request was complete
            self._unparsed("incomplete request", bytes(self.pending))
        self.trap.conns.discard(self)
        self.trap.ctx.limiter.release(self.ip)
        self.log = None
        super().connection_lost(exc)

    def _unparsed(self, error: str, data: bytes) -> None:
        """Log bytes that never made a request, and fetch any URL in them."""
        if self.log is None:
            return
        text = data[:LOGGED_BODY].decode("utf-8", "backslashreplace")
        line = text.split("\n", 1)[0].strip()
        self.log.emit("elasticsearch.request.received", error=error[:512], first_line=line[:1024], raw=text)
        capture_payload(self.trap.ctx, self.log, data[:LOGGED_BODY], trap="elasticsearch", request=line[:512])

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """A request aiohttp could not parse, answered as Elasticsearch (Netty) answers it.

        A first line that is not three words is skipped by Netty without a word: the connection
        is closed here without an answer. Otherwise the decoder's exception, wrapped by
        RestController.dispatchBadRequest in a 400 ``exception``.
        """
        # A later request's line is not kept: Netty would have skipped it, so the trap says nothing.
        line = self.head.split(b"\n", 1)[0].strip() if self.requests == 0 else b""
        self._unparsed(str(getattr(exc, "message", None) or type(exc).__name__ if exc else message), self.head)
        cause = _bad_request_cause(exc, line, self.trap.cfg.max_line_bytes, self.trap.cfg.max_header_bytes)
        if cause is None:
            if self.transport is not None:
                self.transport.close()  # after what is already queued (a previous answer) is sent
            cause = ("io.netty.handler.codec.DecoderException", "decoder_exception", "")
        java, etype, reason = cause
        top = {"type": "exception", "reason": f"{java}: {reason}", "caused_by": {"type": etype, "reason": reason}}
        doc = {"error": {"root_cause": [{"type": "exception", "reason": top["reason"]}], **top}, "status": 400}
        resp = ESResponse(status=400, body=render.compact(doc), headers={"Content-Type": render.JSON_TYPE})
        resp.force_close()
        return resp


def _add_host(data: bytes) -> tuple[bytes, bool]:
    """Netty takes an HTTP/1.1 request without ``Host`` (as bots send them), aiohttp does not:
    give it an empty one."""
    eol = data.find(b"\n")
    head_end = _HEAD_END.search(data)
    if eol < 0 or head_end is None or not data[:eol].rstrip().endswith(b"HTTP/1.1"):
        return data, False
    if _HOST.search(data, eol, head_end.end()):
        return data, False
    nl = b"\r\n" if data[eol - 1 : eol] == b"\r" else b"\n"
    return data[: eol + 1] + b"Host: " + nl + data[eol + 1 :], True


def _bad_request_cause(
    exc: BaseException | None, line: bytes, max_line: int, max_header: int
) -> tuple[str, str, str] | None:
    """(Java class, Elasticsearch type, reason) of Netty's decoder failure, or None if Netty says nothing."""
    if isinstance(exc, LineTooLong):
        if len(line) >= max_line or b"\n" not in line + b"\n":
            return (
                "io.netty.handler.codec.http.TooLongHttpLineException",
                "too_long_http_line_exception",
                (f"An HTTP line is larger than {max_line} bytes."),
            )
        return (
            "io.netty.handler.codec.http.TooLongHttpHeaderException",
            "too_long_http_header_exception",
            (f"HTTP header is larger than {max_header} bytes."),
        )
    words = line.split()
    if len(words) < 3:
        return None
    version = words[-1].decode("latin-1")
    if not re.fullmatch(r"HTTP/\d\.\d", version):
        return "java.lang.IllegalArgumentException", "illegal_argument_exception", f"invalid version format: {version}"
    return None  # what aiohttp refuses and Netty takes (odd bytes in a URI or header): closed unanswered


class _Server(web.Server):
    def __init__(self, trap: ElasticsearchTrap, **kwargs: Any) -> None:
        super().__init__(trap.handle, **kwargs)
        self.trap = trap
        self.kw = kwargs

    def __call__(self) -> RequestHandler:
        return _Conn(self, self.trap, loop=self._loop, **self.kw)


class ElasticsearchTrap:
    def __init__(self, ctx: SensorContext) -> None:
        self.ctx = ctx
        self.cfg: ElasticsearchConfig = ctx.cfg.elasticsearch
        self.node = Node(self.cfg, ctx.cfg.identity.name, ctx.cfg.persona.hostname)
        self.api = API(self.node)
        self.router = Router(self.node.cluster_uuid)
        self.conns: set[_Conn] = set()
        self.inflight = 0  # request body bytes held by all connections now
        self.runner: web.ServerRunner | None = None

    async def start(self, socks: list[socket.socket]) -> None:
        c = self.cfg
        server = _Server(
            self,
            max_line_size=c.max_line_bytes,
            max_field_size=c.max_header_bytes,
            max_headers=c.max_headers,
            keepalive_timeout=c.idle_timeout,
            lingering_time=1.0,
            auto_decompress=False,  # a gzip body is logged as sent, never inflated (no zip bombs)
            access_log=None,
        )
        self.runner = web.ServerRunner(server, handle_signals=False)
        await self.runner.setup()
        for sock in socks:
            await web.SockSite(self.runner, sock, shutdown_timeout=1.0).start()

    async def close(self) -> None:
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.abort()
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.runner.cleanup()

    # --- one request ----------------------------------------------------------------------------------

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        conn = request.protocol
        assert isinstance(conn, _Conn)
        conn.requests += 1
        body, too_big = await self._read_body(request)
        try:
            return self._handle(request, conn, body, too_big)
        finally:
            self.inflight -= len(body)

    def _handle(self, request: web.BaseRequest, conn: _Conn, body: bytes, too_big: bool) -> web.StreamResponse:
        raw = request.raw_path
        path, _, qs = raw.partition("?")
        query = dict(urllib.parse.parse_qsl(qs, keep_blank_values=True, max_num_fields=None)[:MAX_QUERY_PARAMS])
        first_accept = request.headers.get("Accept", "").split(",")[0].strip().lower()
        if "format" not in query and first_accept.startswith(
            ("application/json", "application/vnd.elasticsearch+json")
        ):
            query["format"] = "json"  # _cat answers in the media type asked for
        doc = parse_body(body) if body and not too_big else None
        req = Request(request.method, path, raw, query, body, doc)
        req.finding = finding = classify(request.method, path, query, doc)
        log = conn.log
        if log is not None:
            self._log(log, request, req, finding, too_big)
        resp = self._answer(request, req, too_big)
        out = self._render(request, req, resp)
        if too_big or conn.requests >= self.cfg.max_requests_per_connection:
            out.force_close()
        return out

    async def _read_body(self, request: web.BaseRequest) -> tuple[bytes, bool]:
        """At most ``max_body_bytes`` (less when the bodies being read sensor-wide pass
        ``max_inflight_body_bytes``); True if the client sent (or announced) more.

        The bytes returned are counted in ``inflight`` until the caller is done with them.
        """
        c = self.cfg
        cap = min(c.max_body_bytes, max(LOGGED_BODY, c.max_inflight_body_bytes - self.inflight))
        buf = bytearray()
        announced = request.content_length
        limit = min(LOGGED_BODY, cap) if announced is not None and announced > cap else cap
        try:
            while len(buf) <= limit:
                chunk = await request.content.read(limit + 1 - len(buf))
                if not chunk:
                    break
                buf += chunk
                self.inflight += len(chunk)
        except BaseException:
            self.inflight -= len(buf)
            raise
        self.inflight -= len(buf) - min(len(buf), limit)
        too_big = len(buf) > limit or limit < cap
        return bytes(buf[:limit]), too_big

    def _answer(self, request: web.BaseRequest, req: Request, too_big: bool) -> Response:
        if too_big:
            return Response(413, raw=b"", content_type=render.TEXT_TYPE)
        if req.body:
            ctype = request.headers.get("Content-Type")
            if ctype is None:
                return Response(*render.simple(406, "Content-Type header is missing"))
            if ctype.split(";")[0].strip().lower() not in BODY_TYPES:
                return Response(*render.simple(406, f"Content-Type header [{ctype}] is not supported"))
            if req.doc is None and "ndjson" not in ctype and is_search(req.path):
                return Response(*render.exception(400, "x_content_parse_exception", "[1:2] Unexpected character"))
        return self.router.dispatch(req, self.api)

    def _render(self, request: web.BaseRequest, req: Request, resp: Response) -> web.Response:
        if resp.raw is not None:
            body, ctype = resp.raw, resp.content_type or render.TEXT_TYPE
        else:
            pretty = resp.pretty or ("pretty" in req.query and req.query["pretty"] != "false")
            body = render.pretty(resp.doc) if pretty else render.compact(resp.doc)
            ctype = self._json_type(request)
        headers = {"Content-Type": ctype}
        opaque = request.headers.get("X-Opaque-Id")
        out = ESResponse(status=resp.status, reason=REASONS.get(resp.status), body=body, headers=headers)
        out.legacy = self.cfg.legacy_http10_headers and request.version == HttpVersion10
        out.bare = resp.status == 413
        if opaque:
            out.headers["X-Opaque-Id"] = opaque[:256]
        for k, v in resp.headers:
            out.headers[k] = v
        return out

    @staticmethod
    def _json_type(request: web.BaseRequest) -> str:
        """``application/json``, or the versioned type an 8.x client asks for with ``compatible-with``."""
        accept = request.headers.get("Accept") or request.headers.get("Content-Type") or ""
        if "compatible-with=7" in accept.replace(" ", ""):
            return render.COMPAT_TYPE.replace("=8", "=7")
        if "compatible-with=" in accept:
            return render.COMPAT_TYPE
        return render.JSON_TYPE

    # --- events ---------------------------------------------------------------------------------------

    def _log(self, log: SessionLog, request: web.BaseRequest, req: Request, f: Finding, too_big: bool) -> None:
        headers = {k: v[:1024] for k, v in list(request.headers.items())[:64]}
        conn = request.protocol
        if isinstance(conn, _Conn) and conn.no_host and conn.requests == 1:
            headers.pop("Host", None)  # the one added for aiohttp
        log.emit(
            "elasticsearch.request.received",
            url=req.uri,
            method=req.method[:32],
            path=req.path,
            query=req.uri.partition("?")[2] or None,
            client_version=request.headers.get("User-Agent"),
            headers=headers,
            body=req.body[:LOGGED_BODY].decode("utf-8", "backslashreplace") or None,
            body_size=len(req.body) or None,
            body_truncated=too_big or None,
            http_version=f"{request.version.major}.{request.version.minor}",
        )
        if is_search(req.path) or f.scripts or f.attack:
            log.emit(
                "elasticsearch.search.query",
                url=req.uri,
                method=req.method[:32],
                index=req.path.strip("/").partition("/")[0] if req.path.count("/") > 1 else None,
                query=query_text(req.doc, req.query),
                scripts=f.scripts or None,
                lang=f.lang,
                attack=f.attack,
                cve=f.cve,
                command=f.command,
                client_version=request.headers.get("User-Agent"),
            )
        texts = [urllib.parse.unquote(req.uri), *headers.values(), *f.strings, *f.scripts]
        if req.doc is None and req.body:
            texts.append(req.body[:LOGGED_BODY].decode("utf-8", "replace"))
        capture_payload(self.ctx, log, "\n".join(texts), trap="elasticsearch", request=f"{req.method} {req.uri}"[:512])
