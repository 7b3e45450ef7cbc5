# SPDX-License-Identifier: MIT
"""The web trap's adapter over aiohttp's low-level server: replies on the wire as the persona wrote them.

aiohttp would give itself away in three places, each overridden here (aiohttp is pinned in
uv.lock; these are small overrides of its ``RequestHandler`` and ``Response``):

* the status line: aiohttp answers an HTTP/1.0 request with ``HTTP/1.0``; Apache and lighttpd
  always say ``HTTP/1.1``;
* requests it cannot parse: aiohttp's own ``400, message=...`` text becomes the persona's error
  page (Apache's 400, 414, or "Size of a request header field exceeds server limit.");
* the connection's end: the limiter slot taken at accept is released when aiohttp's protocol
  loses the connection (and at most once).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from multidict import CIMultiDict

from honeyfarm.sensor.traps.http.model import Reply

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.http.server import Conn, HTTPTrap


class PersonaResponse(web.Response):
    """A response whose status line says HTTP/1.1 whatever the request's version."""

    async def _write_headers(self) -> None:
        writer = self._payload_writer
        assert writer is not None
        await writer.write_headers(f"HTTP/1.1 {self.status} {self.reason}", self._headers)
        if getattr(self, "_send_headers_immediately", True):
            writer.send_headers()


def to_response(reply: Reply) -> PersonaResponse:
    headers = CIMultiDict(reply.headers)
    resp = PersonaResponse(status=reply.status, reason=reply.reason, headers=headers, body=reply.body)
    if reply.close:
        resp.force_close()
    return resp


_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}) (\S+) HTTP/\d\.\d\r?\n")
_HOST = re.compile(rb"\nhost:[ \t]*([^\r\n]{0,255})", re.I)


def error_kind(exc: BaseException | None, message: str | None, head: bytes, max_line: int) -> str:
    """Which of the persona's error pages a parse failure gets (``head``: the connection's first bytes)."""
    text = f"{message or ''} {exc or ''}".lower()
    if isinstance(exc, LineTooLong) or "too long" in text or "more than" in text:
        return "uri_too_long" if b"\n" not in head[: max_line + 2] else "field_too_long"
    if "too many" in text and "header" in text:
        return "too_many_fields"
    if "invalid method" in text and _REQUEST_LINE.match(head):
        # llhttp knows only the registered methods; Apache answers any other token with 501.
        return "method"
    return "line"


def head_method_host(head: bytes) -> tuple[str, str | None]:
    """The method token and Host header of a request llhttp refused (from the connection's first bytes)."""
    m = _REQUEST_LINE.match(head)
    method = m.group(1).decode("ascii") if m else ""
    h = _HOST.search(head.split(b"\r\n\r\n", 1)[0])
    return method, h.group(1).decode("latin-1").strip() if h else None


class TrapHandler(RequestHandler):
    """aiohttp's protocol for one connection, knowing the trap's connection state."""

    def __init__(self, manager: web.Server, *, loop: asyncio.AbstractEventLoop, conn: Conn, **kwargs: Any) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        self.hf_conn = conn
        self.hf_max_line = int(kwargs.get("max_line_size", 8190))
        self.hf_head = b""  # the connection's first bytes: what a refused request said

    def data_received(self, data: bytes) -> None:
        if len(self.hf_head) < 8192:
            self.hf_head += data[: 8192 - len(self.hf_head)]
        super().data_received(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # aiohttp waits keepalive_timeout (Apache's KeepAliveTimeout, 5 s) for the first request too;
        # Apache waits mod_reqtimeout's 20 s for it, and nmap's NULL probe waits 6 s for a banner
        # before it sends anything: a connection closed sooner reads as "tcpwrapped".
        first = self.hf_conn.trap.cfg.request_timeout
        if self._keepalive_handle is not None and first > self._keepalive_timeout:
            self._keepalive_handle.cancel()
            self._next_keepalive_close_time = self._loop.time() + first
            self._keepalive_handle = self._loop.call_at(self._next_keepalive_close_time, self._process_keepalive)

    def connection_lost(self, exc: BaseException | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            self.hf_conn.release()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        kind = error_kind(exc, message, self.hf_head, self.hf_max_line) if status < 500 else "line"
        why = message or (repr(exc) if exc else "")
        if kind == "method":
            method, host = head_method_host(self.hf_head)
            reply = self.hf_conn.unknown_method(method, host, why, time.time())
        else:
            reply = self.hf_conn.bad_request(kind, why, time.time())
        resp = to_response(reply)
        resp.force_close()
        return resp


class PlainTrapHandler(TrapHandler):
    """A plain-HTTP connection accepted by the event loop's own server (no TLS to peek at first):
    the connection's state is made when it arrives, after the per-address cap lets it in."""

    def __init__(self, manager: web.Server, *, loop: asyncio.AbstractEventLoop, trap: HTTPTrap, **kwargs: Any) -> None:
        super().__init__(manager, loop=loop, conn=None, **kwargs)  # type: ignore[arg-type]
        self.hf_trap = trap
        self.hf_refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        conn = self.hf_trap.open_conn(transport.get_extra_info("peername"), transport.get_extra_info("sockname"))
        if conn is None:  # over the caps: closed before a byte is read, as the accept loop does
            self.hf_refused = True
            transport.close()
            return
        self.hf_conn = conn
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.hf_refused:
            super().connection_lost(exc)


def plain_handler_factory(server: web.Server, trap: HTTPTrap, **kwargs: Any) -> Callable[[], PlainTrapHandler]:
    loop = asyncio.get_running_loop()

    def make() -> PlainTrapHandler:
        return PlainTrapHandler(server, loop=loop, trap=trap, **kwargs)

    return make


def handler_factory(server: web.Server, conn: Conn, **kwargs: Any) -> Callable[[], TrapHandler]:
    loop = asyncio.get_running_loop()

    def make() -> TrapHandler:
        return TrapHandler(server, loop=loop, conn=conn, **kwargs)

    return make
