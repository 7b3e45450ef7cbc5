# SPDX-License-Identifier: MIT
"""The SIP trap: one request handler behind a udp part (:class:`DatagramTrap`) and a tcp part
(:class:`StreamTrap`), the way Asterisk serves both transports on 5060.

Every request is logged (``sip.request.received``), digest credentials as ``sip.login.*``. Over
udp the answer goes only to the datagram's source address and port (never to a ``Via`` host: a
spoofed Via cannot aim the trap at a third party) and is never more than
:data:`MAX_AMPLIFICATION` times the request's size (an answer that would be larger loses its
optional headers, then is not sent), so a spoofed source gains nothing from reflecting off the
trap; the base class's per-address packet budget bounds the rate. Over tcp a request is framed by
``Content-Length`` with the header block and the body capped before they are read.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.trap import StreamConfig
from honeyfarm.sensor.traps.sip import answers
from honeyfarm.sensor.traps.sip.answers import Answer
from honeyfarm.sensor.traps.sip.message import (
    Request,
    content_length,
    parse_datagram,
    parse_digest,
    parse_head,
    split_head,
)
from honeyfarm.sensor.traps.stream import Conn, DatagramTrap, Malformed, StreamTrap

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.sip.config import SIPConfig

MAX_AMPLIFICATION = 3  # udp answer bytes per request byte, at most
FIELD_CAP = 256  # characters kept of each attacker string in an event
UDP_SESSION_TTL = 60.0  # datagrams of one source ip:port this close together share a session id
UDP_SESSIONS = 4096  # source ip:port pairs whose session is remembered at once


def _cap(text: str, n: int = FIELD_CAP) -> str:
    return text[:n]


def _head_text(data: bytes) -> str:
    return data[:200].decode("utf-8", errors="backslashreplace")


class Handler:
    """What both transports share: parse results in, answer bytes out, events on the way."""

    def __init__(self, ctx: SensorContext, cfg: SIPConfig) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.requests = 0
        self.malformed = 0
        self.suppressed = 0  # udp answers not sent (over the amplification budget)

    def malformed_request(self, slog: SessionLog, data: bytes, why: str) -> None:
        self.malformed += 1
        slog.emit(
            "sip.request.received",
            extra={"malformed": _cap(why, 120), "head": _head_text(data), "size": len(data), "answer": None},
        )

    def answer(self, req: Request, slog: SessionLog) -> Answer | None:
        """Decide the answer (None: no answer, as for an ACK) and log any credentials; the transport
        logs the request once it knows whether the answer went out."""
        self.requests += 1
        method = req.method
        if req.version != "SIP/2.0":
            ans: Answer | None = answers.simple(505, "Version Not Supported")
        elif method == "OPTIONS":
            ans = answers.options_ok()
        elif method == "ACK":
            ans = None
        elif method in ("CANCEL", "BYE"):
            ans = answers.simple(481, "Call/Transaction Does Not Exist")
        elif method in answers.KNOWN_METHODS:
            ans = self._authenticate(req, slog)
        else:
            ans = answers.simple(501, "Not Implemented", allow=True)
        return ans

    def _authenticate(self, req: Request, slog: SessionLog) -> Answer:
        raw = req.get("authorization") or req.get("proxy-authorization")
        auth = parse_digest(raw) if raw else None
        if auth and auth.get("username") and self._login(req, auth, slog):
            return answers.register_ok(req)
        # chan_pjsip's artificial endpoint: the same fresh challenge for any user, known or not.
        _nonce, www = answers.challenge(self.cfg.realm)
        return answers.unauthorized(www)

    def _login(self, req: Request, auth: dict[str, str], slog: SessionLog) -> bool:
        user = _cap(auth.get("username", ""), 128)
        password = answers.guess_password(auth, req.method, self.cfg.guess_passwords)
        ok = False
        if password is not None and req.method == "REGISTER" and self.cfg.accept_register:
            ok = self.ctx.policy.check(slog.src_ip, user, password)
        extra: dict[str, Any] = {
            "method": req.method,
            "realm": _cap(auth.get("realm", "")),
            "nonce": _cap(auth.get("nonce", "")),
            "uri": _cap(auth.get("uri", "")),
            "response": _cap(auth.get("response", ""), 64),
            "algorithm": _cap(auth.get("algorithm", "MD5"), 32),
        }
        for key in ("qop", "nc", "cnonce", "opaque"):
            if key in auth:
                extra[key] = _cap(auth[key], 128)
        hc = answers.hashcat(auth, req.method, slog.dst_ip, slog.src_ip)
        if hc is not None:
            extra["hashcat"] = hc
        fields: dict[str, Any] = {"username": user}
        if password is not None:
            fields["password"] = password
        slog.emit("sip.login.success" if ok else "sip.login.failed", **fields, extra=extra)
        return ok

    def log_request(self, req: Request, slog: SessionLog, ans: Answer | None, suppressed: bool = False) -> None:
        ua = req.get("user-agent")
        extra: dict[str, Any] = {
            "method": _cap(req.method, 32),
            "uri": _cap(req.uri),
            "from": _cap(req.get("from")),
            "to": _cap(req.get("to")),
            "call_id": _cap(req.get("call-id"), 128),
            "cseq": _cap(req.get("cseq"), 64),
            "contact": _cap(req.get("contact")),
            "answer": ans.status if ans is not None else None,
        }
        found = answers.scanner(ua)
        if found is not None:
            extra["scanner"] = found
        if req.body:
            extra["body_size"] = len(req.body)
        if suppressed:
            extra["suppressed"] = True  # udp answer over the amplification bound: not sent
        fields: dict[str, Any] = {"client_version": _cap(ua)} if ua else {}
        slog.emit("sip.request.received", **fields, extra=extra)


class _UDP(DatagramTrap):
    protocol = "sip"

    def __init__(self, ctx: SensorContext, cfg: SIPConfig, handler: Handler) -> None:
        super().__init__(ctx, cfg)
        self.handler = handler
        self.sip_cfg = cfg
        # One session id per source ip:port for a while: a scan from one socket is one session.
        self._sessions: OrderedDict[tuple[str, int, int], tuple[SessionLog, float]] = OrderedDict()

    def _session(self, addr: tuple[Any, ...], transport: asyncio.DatagramTransport) -> SessionLog:
        now = time.monotonic()
        key = (str(addr[0]), int(addr[1]), id(transport))
        got = self._sessions.pop(key, None)
        slog = got[0] if got is not None and now - got[1] < UDP_SESSION_TTL else self.session_log(addr, transport)
        self._sessions[key] = (slog, now)
        while len(self._sessions) > UDP_SESSIONS:
            self._sessions.popitem(last=False)
        return slog

    def datagram(self, data: bytes, addr: tuple[Any, ...], transport: asyncio.DatagramTransport) -> None:
        if not data.strip(b"\r\n\x00 \t"):
            return  # NAT keepalives (CRLF, zero bytes): pjsip ignores them too
        slog = self._session(addr, transport)
        cfg = self.sip_cfg
        try:
            req = parse_datagram(data, cfg.max_headers, cfg.max_body_bytes)
        except Malformed as e:
            self.handler.malformed_request(slog, data, str(e))
            return
        ans = self.handler.answer(req, slog)
        if ans is None:
            self.handler.log_request(req, slog, ans)
            return
        src = (slog.src_ip, slog.src_port)
        out = answers.build(req, ans, src, cfg.server_header)
        if len(out) > MAX_AMPLIFICATION * len(data):
            out = answers.build(req, ans, src, cfg.server_header, compact=True)
        if len(out) > MAX_AMPLIFICATION * len(data):
            self.handler.suppressed += 1
            self.handler.log_request(req, slog, ans, suppressed=True)
            return
        self.handler.log_request(req, slog, ans)
        transport.sendto(out, addr)  # the datagram's own source: never a Via or Contact address


class _TCP(StreamTrap):
    protocol = "sip"

    def __init__(self, ctx: SensorContext, cfg: SIPConfig, handler: Handler) -> None:
        # The base reads only the tcp deadlines of the shared [sensor.sip] table.
        stream_cfg = StreamConfig(
            enabled=cfg.enabled,
            listen=list(cfg.tcp_listen),
            idle_timeout=cfg.idle_timeout,
            max_connection_time=cfg.max_connection_time,
        )
        super().__init__(ctx, stream_cfg)
        self.handler = handler
        self.sip_cfg = cfg

    async def serve(self, conn: Conn) -> None:
        cfg = self.sip_cfg
        buf = b""
        conn.extra["requests"] = 0
        while True:
            # RFC 5626 keepalive: a CRLFCRLF ping gets a CRLF pong; stray CRLFs are skipped.
            if buf.startswith(b"\r\n\r\n"):
                await conn.write(b"\r\n")
                buf = buf[4:]
                continue
            buf = buf.lstrip(b"\r\n")
            split = split_head(buf)
            if split is None:
                if len(buf) > cfg.max_header_bytes:
                    self.handler.malformed_request(conn.log, buf, "header block too large")
                    raise Malformed(f"header block over {cfg.max_header_bytes} bytes")
                buf += await conn.read_some(4096)
                continue
            head, rest = split
            try:
                if len(head) > cfg.max_header_bytes:
                    raise Malformed(f"header block over {cfg.max_header_bytes} bytes")
                req = parse_head(head, cfg.max_headers)
                need = content_length(req, cfg.max_body_bytes)
            except Malformed as e:
                self.handler.malformed_request(conn.log, head, str(e))
                raise
            while len(rest) < need:  # need <= max_body_bytes: the buffer stays bounded
                rest += await conn.read_some(min(4096, need - len(rest)))
            req.body, buf = rest[:need], rest[need:]
            req.size = len(head) + need
            conn.extra["requests"] += 1
            if req.get("user-agent"):
                conn.fields["client_version"] = _cap(req.get("user-agent"))
            ans = self.handler.answer(req, conn.log)
            self.handler.log_request(req, conn.log, ans)
            if ans is not None:
                await conn.write(answers.build(req, ans, (conn.log.src_ip, conn.log.src_port), cfg.server_header))


class SIPTrap:
    """Asterisk on 5060: the runtime hands over the udp sockets, then the tcp ones."""

    def __init__(self, ctx: SensorContext) -> None:
        cfg = ctx.cfg.sip
        self.handler = Handler(ctx, cfg)
        self.udp = _UDP(ctx, cfg, self.handler)
        self.tcp = _TCP(ctx, cfg, self.handler)

    async def start(self, socks: list[socket.socket]) -> None:
        await self.udp.start([s for s in socks if s.type == socket.SOCK_DGRAM])
        await self.tcp.start([s for s in socks if s.type == socket.SOCK_STREAM])

    async def close(self) -> None:
        await self.tcp.close()
        await self.udp.close()
