# SPDX-License-Identifier: MIT
"""dockerd's bytes on the wire: responses framed and ordered as Go's ``net/http`` writes them.

aiohttp parses the requests (with its caps); what it would write back gives it away (a
``Server: Python/3.11 aiohttp`` header, its own header order, its 400 pages), so every
response here is laid out by hand, as Go 1.19's server (Debian 12's docker.io is built with
it) lays out dockerd's:

* the handler's own headers sorted by name (Go writes its header map sorted), then the ones
  the server adds: ``Date``, ``Content-Length``, a sniffed ``Content-Type``, ``Connection``,
  ``Transfer-Encoding``;
* ``Content-Length`` when the whole body fits Go's 2048-byte write buffer, chunked otherwise
  (HTTP/1.1) or close-delimited (HTTP/1.0); a flushed stream (pull, wait) is chunked;
* requests the parser rejects get Go's bare ``HTTP/1.1 400 Bad Request`` (no Date) and a close.

dockerd's middlewares add ``Api-Version``, ``Docker-Experimental``, ``Ostype`` and ``Server``
to every routed answer; the 404 of an unknown path is not routed and carries none of them
(nmap's ``docker`` softmatch is exactly that 404).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import HttpVersion11
from multidict import CIMultiDict

#: Go's bufferBeforeChunkingSize: a body written in one piece up to this size gets a Content-Length.
GO_CHUNK_THRESHOLD = 2048


def go_json(value: Any) -> bytes:
    """``json.NewEncoder(w).Encode(v)`` with SetEscapeHTML(false), as dockerd's WriteJSON (newline included)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"


def go_marshal(value: Any) -> bytes:
    """``json.Marshal``: HTML characters escaped (the pull progress stream), no newline."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8", "surrogatepass")


class ExactResponse(web.StreamResponse):
    """A response whose status line and headers are written exactly as given (nothing added by aiohttp)."""

    def __init__(
        self,
        status_line: str,
        headers: list[tuple[str, str]],
        *,
        length: int | None,
        chunked: bool = False,
        keep_alive: bool = True,
        immediate: bool = False,
        preset: bytes = b"",
    ) -> None:
        code = int(status_line.split(" ", 2)[1])
        super().__init__(status=code if code >= 200 else 200)
        self._status_line = status_line
        self._exact = CIMultiDict(headers)
        self._exact_length = length
        self._exact_chunked = chunked
        self._send_headers_immediately = immediate
        self._preset = preset
        if not keep_alive:
            self.force_close()

    async def _prepare_headers(self) -> None:
        request = self._req
        writer = self._payload_writer
        assert request is not None and writer is not None
        if self._keep_alive is None:
            self._keep_alive = request.keep_alive
        if self._exact_chunked:
            writer.enable_chunking()
        else:
            writer.length = self._exact_length
            if self._exact_length is None:
                self._keep_alive = False  # close-delimited body

    async def _write_headers(self) -> None:
        writer = self._payload_writer
        assert writer is not None
        await writer.write_headers(self._status_line, self._exact)
        if self._preset:
            await writer.write(self._preset)
        elif self._send_headers_immediately:
            writer.send_headers()


def status_line(request: web.BaseRequest, status: int) -> str:
    """Go answers an HTTP/1.0 request with an HTTP/1.0 status line."""
    major, minor = (1, 1) if request.version >= HttpVersion11 else (1, 0)
    return f"HTTP/{major}.{minor} {status} {_REASONS.get(status, 'Unknown')}"


def _wants_close(request: web.BaseRequest) -> bool:
    conn = request.headers.get("Connection", "").lower()
    return "close" in conn


def framed(
    request: web.BaseRequest,
    status: int,
    own: dict[str, str],
    body: bytes,
    *,
    sniffed: str | None = None,
    stream: bool = False,
) -> tuple[ExactResponse, bytes]:
    """The response Go writes for a handler that set ``own`` headers and wrote ``body`` in one go.

    ``stream``: the handler flushed before its body (a pull, a wait): chunked on HTTP/1.1.
    Returns the response and the bytes to write after ``prepare``.
    """
    v11 = request.version >= HttpVersion11
    head = request.method == "HEAD"
    empty = status in (204, 304) or status < 200
    headers = sorted(own.items())
    headers.append(("Date", rfc822_formatted_time()))
    length: int | None = None
    chunked = False
    keep_alive = request.keep_alive and not _wants_close(request)
    if empty:
        length, body = 0, b""
    elif "Content-Length" in own:
        length = int(own["Content-Length"])
    elif head and not body:
        length = 0
    elif not stream and len(body) <= GO_CHUNK_THRESHOLD:
        length = len(body)
        headers.append(("Content-Length", str(length)))
    elif v11:
        chunked = True
    else:
        keep_alive = False
    if sniffed and body and "Content-Type" not in own:
        headers.append(("Content-Type", sniffed))
    if v11 and not keep_alive:
        headers.append(("Connection", "close"))
    elif not v11 and keep_alive and length is not None:
        headers.append(("Connection", "keep-alive"))
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
    resp = ExactResponse(
        status_line(request, status), headers, length=length, chunked=chunked, keep_alive=keep_alive, immediate=stream
    )
    return resp, (b"" if head else body)


async def send(
    request: web.BaseRequest, status: int, own: dict[str, str], body: bytes = b"", *, sniffed: str | None = None
) -> ExactResponse:
    resp, data = framed(request, status, own, body, sniffed=sniffed)
    await resp.prepare(request)
    if data:
        await resp.write(data)
    return resp


def bad_request(text: str | None = None, status: int = 400) -> ExactResponse:
    """Go's answer to a request it cannot parse: no Date, no length, connection closed.

    ``text`` (Go's statusError) is appended to the status line and is the body:
    ``HTTP/1.1 400 Bad Request: missing required Host header``.
    """
    reason = _REASONS.get(status, "Bad Request")
    public = f"{status} {reason}" + (f": {text}" if text else "")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
    return ExactResponse(f"HTTP/1.1 {public}", headers, length=len(public), keep_alive=False, preset=public.encode())


class SilentResponse(ExactResponse):
    """Nothing at all, then a close: Go still waiting for the end of a request line."""

    def __init__(self, wait: float) -> None:
        super().__init__("HTTP/1.1 400 Bad Request", [], length=0, keep_alive=False)
        self._wait = wait

    async def _write_headers(self) -> None:
        await asyncio.sleep(self._wait)


_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_PROTO = re.compile(rb"^HTTP/[0-9]{1,7}\.[0-9]{1,7}$")


def go_reject(head: bytes, kind: str, message: str, wait: float) -> ExactResponse:
    """What Go's net/http answers to a request aiohttp's parser refused (``head``: its first bytes).

    Go reads the request line up to a newline (a TLS ClientHello has none: it waits, silent),
    splits it on two spaces ("malformed HTTP request": a bare 400), checks the method's characters
    (``invalid method``) and the protocol, then reads the headers (too large: 431) and wants a Host.
    """
    if kind == "LineTooLong":
        return bad_request(None, 431)
    nl = head.find(b"\n")
    if nl < 0:
        return SilentResponse(wait)
    parts = head[:nl].removesuffix(b"\r").split(b" ", 2)
    if len(parts) < 3:
        return bad_request()
    method, _uri, proto = parts
    if not _TOKEN.match(method):
        return bad_request("invalid method")
    if not _PROTO.match(proto):
        return bad_request()
    if "Host" in message:
        return bad_request("missing required Host header")
    return bad_request()


_REASONS = {
    101: "Switching Protocols",
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Request Entity Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}
