# SPDX-License-Identifier: MIT
"""Persona ``apache-debian``: Debian 12's Apache 2.4 with nothing but its default site.

What a fresh ``apt install apache2`` answers, measured on the real server by
``tests/test_trap_http.py``: the default page (``/``, ``/index.html``) with ``Last-Modified``,
an ``ETag`` of size and mtime in Apache's format, ``Accept-Ranges``, ``Vary``, mod_deflate's gzip
for clients that accept it; Apache's own error pages (400, 403, 404, 405, 413, 414, 501) with the
``<address>`` line naming the Host and port the client asked for; ``OPTIONS``; ``TRACE`` refused as
``TraceEnable Off`` refuses it; ``/server-status`` and ``.ht*`` forbidden; ``/icons/`` a directory
without index. Header order and case are Apache's: Date and Server first, the connection headers
just before Content-Type, which comes last.
"""

from __future__ import annotations

import email.utils
import functools
import html
import random
import re
import zlib
from importlib import resources
from urllib.parse import unquote

from honeyfarm.sensor.traps.http.model import Reply, Req

SERVER = "Apache/2.4.71 (Debian)"
MAX_KEEPALIVE = 100
KEEPALIVE_TIMEOUT = 5
# Methods Apache knows (405 when not allowed here); any other token is 501.
KNOWN = frozenset(
    (
        "GET", "HEAD", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "PROPPATCH",
        "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE",
        "LABEL", "REPORT", "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL", "MERGE",
    )
)  # fmt: skip
_ERR_CT = "text/html; charset=iso-8859-1"
_TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    501: "Not Implemented",
}
_BAD = "<p>Your browser sent a request that this server could not understand.<br />\n"
_BAD_KINDS = {
    "line": _BAD + "</p>",
    "field_too_long": _BAD + "Size of a request header field exceeds server limit.</p>",
    "too_many_fields": _BAD + "The number of request header fields exceeds this server's limit.</p>",
    # mod_ssl, when the first bytes on an HTTPS port are not TLS.
    "plain_on_tls": _BAD + "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
    " Instead use the HTTPS scheme to access this URL, please.<br />\n</p>",
}
# Statuses after which Apache closes the connection (ap_status_drops_connection).
_DROPS = frozenset((400, 408, 411, 413, 414, 500, 501, 503))
# mod_deflate's types in Debian's deflate.conf.
_DEFLATE_TYPES = ("text/html", "text/plain", "text/xml", "text/css", "text/javascript", "application/javascript")


def default_page() -> bytes:
    return resources.files("honeyfarm.sensor").joinpath("data/apache_default_index.html").read_bytes()


def deflate(body: bytes) -> bytes:
    """gzip as mod_deflate writes it: its own 10-byte header (mtime 0, OS unix), zlib level 6."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    raw = c.compress(body) + c.flush()
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + raw + gzip_trailer(body)


def gzip_trailer(body: bytes) -> bytes:
    return (zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "little") + (len(body) & 0xFFFFFFFF).to_bytes(4, "little")


@functools.lru_cache(maxsize=4)
def _http_date_of_second(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


def http_date(t: float) -> str:
    """RFC 7231 date of ``t``; made once per second (every response carries one)."""
    return _http_date_of_second(int(t))


def normalise_path(raw: str) -> str | None:
    """The path Apache maps (percent-decoded, dot segments resolved), or None when it climbs above
    the root (Apache: AH10244 invalid URI path, 400)."""
    path = unquote(raw, errors="surrogateescape")
    out: list[str] = []
    for seg in path.split("/")[1:]:
        if seg == "..":
            if not out:
                return None
            out.pop()
        elif seg != ".":
            out.append(seg)
    return "/" + "/".join(out)


class ApachePersona:
    def __init__(self, server: str, server_name: str, page_mtime: float, rng: random.Random | None = None) -> None:
        self.server = server or SERVER
        self.server_name = server_name
        self.page = default_page()
        self.page_gz = deflate(self.page)
        self.mtime = page_mtime
        usec = int(page_mtime * 1_000_000)
        self.etag = f'"{len(self.page):x}-{usec:x}"'
        self.last_modified = http_date(page_mtime)
        # Apache lists allowed methods from an APR hash with a per-process seed: one order per start.
        allow = ["GET", "POST", "OPTIONS", "HEAD"]
        (rng or random.Random()).shuffle(allow)
        self.allow = ",".join(allow)

    # --- pieces -----------------------------------------------------------------------------------

    def address(self, host: str, port: int) -> str:
        return f"<address>{self.server} Server at {html.escape(host, quote=False)} Port {port}</address>"

    def where(self, req: Req) -> tuple[str, int]:
        """Host and port as Apache names them (UseCanonicalName Off): the Host header's, else the
        server's name and the local port."""
        host = req.uri_host or req.header("Host")
        if not host:
            return self.server_name, req.local_port
        name, sep, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if sep and port.isdigit():
            return name, int(port)
        return host, req.local_port

    def error_page(self, status: int, msg: str, host: str, port: int) -> bytes:
        title = _TITLES[status]
        return (
            '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
            f"<html><head>\n<title>{status} {title}</title>\n</head><body>\n<h1>{title}</h1>\n{msg}\n<hr>\n"
            f"{self.address(host, port)}\n</body></html>\n"
        ).encode("latin-1", "replace")

    def _conn(self, req: Req | None, status: int) -> tuple[list[tuple[str, str]], bool]:
        """Keep-Alive/Connection headers and whether the connection ends (ap_set_keepalive)."""
        if req is None or status in _DROPS or req.body_too_large:
            return [("Connection", "close")], True
        tokens = req.tokens("Connection")
        wants = "close" not in tokens and (req.version >= (1, 1) or "keep-alive" in tokens)
        if not wants or req.nth >= MAX_KEEPALIVE:
            return [("Connection", "close")], True
        if "keep-alive" in tokens:
            left = MAX_KEEPALIVE - req.nth + 1
            return [("Keep-Alive", f"timeout={KEEPALIVE_TIMEOUT}, max={left}"), ("Connection", "Keep-Alive")], False
        return [], False

    def _finish(
        self, req: Req | None, status: int, mid: list[tuple[str, str]], body: bytes, ctype: str | None, now: float
    ) -> Reply:
        conn, close = self._conn(req, status)
        if req is not None and req.method == "HEAD" and status >= 400:
            # An error page answering HEAD: Apache sends no Content-Length (the page is never generated).
            mid = [(k, v) for k, v in mid if k != "Content-Length"]
            body = b""
        headers = [("Date", http_date(now)), ("Server", self.server), *mid, *conn]
        if ctype is not None:
            headers.append(("Content-Type", ctype))
        return Reply(status, headers, body, close=close, send_body=req is None or req.method != "HEAD")

    def error(self, req: Req, status: int, msg: str, now: float, allow: str | None = None) -> Reply:
        host, port = self.where(req)
        body = self.error_page(status, msg, host, port)
        mid = [("Allow", allow)] if allow is not None else []
        mid.append(("Content-Length", str(len(body))))
        return self._finish(req, status, mid, body, _ERR_CT, now)

    # --- the persona ------------------------------------------------------------------------------

    def bad_request(self, kind: str, local_port: int, now: float) -> Reply:
        if kind == "uri_too_long":
            status, msg = 414, "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n</p>"
        elif kind == "timeout":
            status, msg = 408, "<p>Server timeout waiting for the HTTP request from the client.</p>"
        else:
            status, msg = 400, _BAD_KINDS.get(kind, _BAD_KINDS["line"])
        body = self.error_page(status, msg, self.server_name, local_port)
        mid = [("Content-Length", str(len(body)))]
        return self._finish(None, status, mid, body, _ERR_CT, now)

    def respond(self, req: Req, outputs: list[str], now: float) -> Reply:
        m = req.method
        if m not in KNOWN:
            msg = f"<p>{html.escape(m, quote=False)} not supported for current URL.<br />\n</p>"
            return self.error(req, 501, msg, now, allow=self.allow)
        if req.body_too_large:
            msg = (
                f"<p>The requested resource does not allow request data with {html.escape(m, quote=False)} requests, "
                "or the amount of data provided in\nthe request exceeds the capacity limit.\n</p>"
            )
            return self.error(req, 413, msg, now)
        host = req.header("Host")
        if (host is None and req.version >= (1, 1)) or (host is not None and not _HOST_OK.match(host)):
            # Apache: HTTP/1.1 without Host, or a Host that is not a host name (AH00569/AH00550): 400, and
            # the page names the ServerName, not the Host.
            body = self.error_page(400, _BAD_KINDS["line"], self.server_name, req.local_port)
            return self._finish(req, 400, [("Content-Length", str(len(body)))], body, _ERR_CT, now)
        if m == "TRACE":
            msg = "<p>The requested method TRACE is not allowed for this URL.</p>"
            return self.error(req, 405, msg, now, allow="")
        if m == "CONNECT":  # no mod_proxy: not allowed, whatever the authority
            msg = "<p>The requested method CONNECT is not allowed for this URL.</p>"
            return self.error(req, 405, msg, now, allow=self.allow)
        if req.target == "*":
            if m == "OPTIONS":
                return self._finish(req, 200, [("Content-Length", "0")], b"", None, now)
            return self.error(req, 400, _BAD_KINDS["line"], now)
        path = normalise_path(req.path)
        if path is None or not req.path.startswith("/"):
            return self.error(req, 400, _BAD_KINDS["line"], now)
        if outputs and m in ("GET", "POST", "HEAD"):
            return self.script_output(req, outputs, now)
        is_page = path in ("/", "/index.html")
        if m not in ("GET", "POST", "HEAD", "OPTIONS"):
            msg = f"<p>The requested method {html.escape(m, quote=False)} is not allowed for this URL.</p>"
            return self.error(req, 405, msg, now, allow=self.allow)
        if m == "OPTIONS":
            mid = [("Allow", self.allow), ("Content-Length", "0")]
            return self._finish(req, 200, mid, b"", "text/html" if is_page else None, now)
        base = path.rsplit("/", 1)[-1]
        if path.startswith("/server-status") or base.startswith(".ht") or path == "/icons/":
            msg = "<p>You don't have permission to access this resource.</p>"
            return self.error(req, 403, msg, now)
        if is_page:
            return self.page_reply(req, now)
        return self.error(req, 404, "<p>The requested URL was not found on this server.</p>", now)

    def page_reply(self, req: Req, now: float) -> Reply:
        inm = req.header("If-None-Match")
        if inm is not None and (inm.strip() == "*" or self.etag in inm):
            mid = [("Last-Modified", self.last_modified), ("ETag", self.etag), ("Accept-Ranges", "bytes")]
            return self._finish(req, 304, mid, b"", None, now)
        rng = _single_range(req.header("Range"), len(self.page))
        if rng is not None:
            a, b = rng
            mid = [
                ("Last-Modified", self.last_modified),
                ("ETag", self.etag),
                ("Accept-Ranges", "bytes"),
                ("Content-Length", str(b - a + 1)),
                ("Vary", "Accept-Encoding"),
                ("Content-Range", f"bytes {a}-{b}/{len(self.page)}"),
            ]
            return self._finish(req, 206, mid, self.page[a : b + 1], "text/html", now)
        if "gzip" in req.tokens("Accept-Encoding"):
            mid = [
                ("Last-Modified", self.last_modified),
                ("ETag", self.etag[:-1] + '-gzip"'),
                ("Accept-Ranges", "bytes"),
                ("Vary", "Accept-Encoding"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(self.page_gz))),
            ]
            return self._finish(req, 200, mid, self.page_gz, "text/html", now)
        mid = [
            ("Last-Modified", self.last_modified),
            ("ETag", self.etag),
            ("Accept-Ranges", "bytes"),
            ("Content-Length", str(len(self.page))),
            ("Vary", "Accept-Encoding"),
        ]
        return self._finish(req, 200, mid, self.page, "text/html", now)

    def script_output(self, req: Req, outputs: list[str], now: float) -> Reply:
        """What a CGI or PHP script printing ``outputs`` looks like behind Apache."""
        body = ("\n".join(outputs) + "\n").encode("utf-8", "replace")
        if "gzip" in req.tokens("Accept-Encoding") and len(body) > 100:
            gz = deflate(body)
            mid = [("Vary", "Accept-Encoding"), ("Content-Encoding", "gzip"), ("Content-Length", str(len(gz)))]
            return self._finish(req, 200, mid, gz, "text/html; charset=UTF-8", now)
        mid = [("Vary", "Accept-Encoding"), ("Content-Length", str(len(body)))]
        return self._finish(req, 200, mid, body, "text/html; charset=UTF-8", now)


_HOST_OK = re.compile(r"^(?:[A-Za-z0-9._-]{0,255}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{0,5})?$")
_RANGE = re.compile(r"bytes=(\d{1,12})-(\d{0,12})$")


def _single_range(value: str | None, size: int) -> tuple[int, int] | None:
    if value is None:
        return None
    m = _RANGE.match(value.strip())
    if m is None:
        return None
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) else size - 1
    if a >= size or b < a:
        return None
    return a, min(b, size - 1)
