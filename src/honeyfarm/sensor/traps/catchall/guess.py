# SPDX-License-Identifier: MIT
"""Which protocol a client's first bytes speak: a table of cheap tests, first match wins.

Each rule looks only at the first bytes (at most ``max_first_bytes``), never allocates from a
length field, and is ordered so that the more specific wins (``CONNECT`` before HTTP, RTSP and SIP
before HTTP's method line, RESP before the inline commands). The table is the documentation: one
row per protocol, with the bytes that identify it.

Besides the name, :func:`details` pulls out the few facts worth a column: an SSH banner or an HTTP
``User-Agent`` (``client_version``), the RDP routing cookie (``mstshash``), the proxy target of a
``CONNECT`` or SOCKS request (logged only: the trap never connects anywhere).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from honeyfarm.sensor.traps.http.tlshello import parse_client_hello

_HTTP_METHODS = b"GET|POST|HEAD|PUT|DELETE|OPTIONS|TRACE|PATCH|PROPFIND|MKCOL|COPY|MOVE|LOCK|UNLOCK|SEARCH|DEBUG|PRI"
# A request line, or the start of one whose URL runs past the kept bytes.
_REQUEST_LINE = re.compile(rb"^(?:" + _HTTP_METHODS + rb") (?:\S{1,8192} HTTP/\d\.\d\r?\n|/\S*$)")
_RTSP = re.compile(rb"^[A-Z_]{3,16} \S{1,8192} RTSP/\d\.\d\r?\n")
_SIP = re.compile(rb"^(?:[A-Z]{3,12} \S{1,8192} SIP/2\.0|SIP/2\.0 \d{3} )")
_CONNECT = re.compile(rb"^CONNECT \S{1,1024} HTTP/\d\.\d\r?\n")
_REDIS_INLINE = re.compile(
    rb"^(?:PING|INFO|AUTH|CONFIG|KEYS|FLUSHALL|SLAVEOF|REPLICAOF|MODULE|EVAL|CLIENT|COMMAND|DBSIZE|SAVE|SET|GET)"
    rb"(?: [^\r\n]*)?\r?\n",
    re.IGNORECASE,
)
_MEMCACHED = re.compile(
    rb"^(?:stats|version|flush_all|verbosity \d|get \S|gets \S|set \S+ \d+ \d+ \d+|add \S+ \d+ \d+ \d+)[^\r\n]*\r\n"
)
_SMTP = re.compile(rb"^(?:EHLO|HELO)\b", re.IGNORECASE)
_FTP = re.compile(rb"^(?:USER|PASS|AUTH TLS|AUTH SSL|FEAT|SYST)\b", re.IGNORECASE)
_POP3 = re.compile(rb"^(?:CAPA|STLS|APOP)\b", re.IGNORECASE)
_IMAP = re.compile(rb"^[A-Za-z0-9.]{1,16} (?:CAPABILITY|LOGIN|AUTHENTICATE|STARTTLS|ID)\b", re.IGNORECASE)
_UA = re.compile(rb"\r?\nUser-Agent:[ \t]*([^\r\n]{1,512})", re.IGNORECASE)
_SSH_BANNER = re.compile(rb"^SSH-[^\r\n]{1,251}")
_MSTSHASH = re.compile(rb"Cookie: mstshash=([^\r\n]{1,128})")


def _tls(b: bytes) -> bool:
    if len(b) >= 6 and b[0] == 0x16 and b[1] == 3 and b[5] == 1:
        return True  # a TLS handshake record holding a ClientHello (maybe cut short)
    # SSLv2-compatible ClientHello: 2-byte length with the top bit set, msg type 1, version 3.x or 2
    return len(b) >= 5 and b[0] & 0x80 != 0 and b[2] == 1 and b[3] in (0, 3)


def _rdp(b: bytes) -> bool:
    # TPKT (RFC 1006: version 3, reserved 0) carrying an X.224 Connection Request (code 0xE0).
    return len(b) >= 11 and b[0] == 3 and b[1] == 0 and b[5] & 0xF0 == 0xE0


def _smb(b: bytes) -> bool:
    if len(b) >= 8 and b[0] == 0 and b[4:8] in (b"\xffSMB", b"\xfeSMB", b"\xfdSMB"):
        return True  # direct TCP (445) or a NetBIOS session message carrying SMB
    return len(b) >= 4 and b[0] == 0x81 and b[1] == 0  # NetBIOS session request (139)


def _redis(b: bytes) -> bool:
    return bool(re.match(rb"^\*\d{1,6}\r\n\$\d{1,9}\r\n", b)) or bool(_REDIS_INLINE.match(b))


def _socks4(b: bytes) -> bool:
    return len(b) >= 9 and b[0] == 4 and b[1] in (1, 2) and b"\x00" in b[8:]


def _socks5(b: bytes) -> bool:
    return len(b) >= 3 and b[0] == 5 and 1 <= b[1] <= 32 and len(b) == 2 + b[1] and all(m < 0x0A for m in b[2:])


def _telnet(b: bytes) -> bool:
    return len(b) >= 3 and b[0] == 0xFF and 0xFB <= b[1] <= 0xFE


def _mongo(b: bytes) -> bool:
    if len(b) < 16:
        return False
    length, _req, _resp, opcode = struct.unpack_from("<iiii", b)
    return 16 <= length <= 48 * 1024 * 1024 and opcode in (2004, 2013)  # OP_QUERY, OP_MSG


def _dns(b: bytes) -> bool:
    # DNS over TCP (nmap's version.bind probe): a 2-byte length, a header with 1 question.
    return len(b) >= 14 and int.from_bytes(b[:2], "big") == len(b) - 2 and b[6:8] == b"\x00\x01"


def _mssql(b: bytes) -> bool:
    return len(b) >= 8 and b[0] in (0x10, 0x12) and b[1] in (0, 1) and int.from_bytes(b[2:4], "big") == len(b)


def _postgres(b: bytes) -> bool:
    if len(b) < 8 or int.from_bytes(b[:4], "big") != len(b):
        return False
    code = int.from_bytes(b[4:8], "big")
    return code in (196608, 80877103, 80877104)  # protocol 3.0 startup, SSLRequest, GSSENCRequest


def _mqtt(b: bytes) -> bool:
    return len(b) >= 8 and b[0] == 0x10 and (b"MQTT" in b[2:10] or b"MQIsdp" in b[2:12])


def _prefix(p: bytes) -> Callable[[bytes], bool]:
    return lambda b: b.startswith(p)


def _match(rx: re.Pattern[bytes]) -> Callable[[bytes], bool]:
    return lambda b: rx.match(b) is not None


#: (guess, test) in the order they are tried.
RULES: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("tls", _tls),
    ("ssh", _prefix(b"SSH-")),
    ("http-proxy", _match(_CONNECT)),
    ("rtsp", _match(_RTSP)),
    ("sip", _match(_SIP)),
    ("http", _match(_REQUEST_LINE)),
    ("rdp", _rdp),
    ("smb", _smb),
    ("redis", _redis),
    ("memcached", _match(_MEMCACHED)),
    ("smtp", _match(_SMTP)),
    ("ftp", _match(_FTP)),
    ("pop3", _match(_POP3)),
    ("imap", _match(_IMAP)),
    ("vnc", _prefix(b"RFB ")),
    ("socks4", _socks4),
    ("socks5", _socks5),
    ("telnet", _telnet),
    ("mongo", _mongo),
    ("mssql", _mssql),
    ("postgres", _postgres),
    ("mqtt", _mqtt),
    ("dns", _dns),
    ("jdwp", _prefix(b"JDWP-Handshake")),
    ("java-rmi", _prefix(b"JRMI")),
    ("bittorrent", _prefix(b"\x13BitTorrent protocol")),
)


def guess(head: bytes) -> str:
    """The protocol ``head`` (a connection's first bytes) speaks, or ``unknown``."""
    for name, test in RULES:
        if test(head):
            return name
    return "unknown"


def details(kind: str, head: bytes) -> tuple[str | None, dict[str, object]]:
    """``(client_version, extra)`` for a guessed protocol: the banner or User-Agent, TLS fingerprints, ..."""
    extra: dict[str, object] = {}
    version: str | None = None
    if kind == "ssh":
        m = _SSH_BANNER.match(head)
        version = _text(m.group(0)) if m else None
    elif kind in ("http", "http-proxy", "rtsp", "sip"):
        m = _UA.search(head)
        version = _text(m.group(1)) if m else None
        if kind == "http-proxy":
            extra["proxy_target"] = _text(head.split(b" ", 2)[1][:300])
    elif kind == "rdp":
        m = _MSTSHASH.search(head)
        if m:
            extra["rdp_cookie"] = _text(m.group(1))
    elif kind == "tls":
        hello = parse_client_hello(head)
        if hello is not None:
            extra.update(ja3=hello.ja3(), ja3_hash=hello.ja3_hash(), ja4=hello.ja4(), sni=hello.sni)
            if hello.alpn:
                extra["alpn"] = [_text(a.encode("utf-8", "surrogateescape")) for a in hello.alpn]
    elif kind in ("socks4", "socks5"):
        extra["proxy_request"] = True  # logged only: no proxying, ever
    return version, extra


def tls_record_complete(head: bytes) -> bool:
    """True once ``head`` holds the whole first TLS record (nothing more to wait for)."""
    return len(head) >= 5 and head[0] == 0x16 and len(head) >= 5 + int.from_bytes(head[3:5], "big")


def message_complete(head: bytes) -> bool:
    """True when the first message is obviously whole: a TLS record, an HTTP-style header, a line."""
    if not head:
        return False
    if head[0] == 0x16:
        return tls_record_complete(head)
    if head[:1].isalpha() and b"\n" in head:
        first = head.split(b"\n", 1)[0]
        if re.search(rb" (?:HTTP|RTSP|SIP)/\d\.\d\r?$", first):
            end = _header_end(head)
            if end < 0:
                return False
            m = _CONTENT_LENGTH.search(head, 0, end)
            # The body too (an exploit's payload often is the body), as far as the cap lets it.
            return m is None or len(head) >= end + int(m.group(1))
        return True  # a line-based protocol (SSH banner, SMTP, redis inline, ...): the first line is in
    if len(head) >= 4 and head[0] == 3 and head[1] == 0:
        return len(head) >= int.from_bytes(head[2:4], "big")  # a whole TPKT (RDP)
    if len(head) >= 4 and head[0] == 0:
        return len(head) >= 4 + int.from_bytes(head[1:4], "big")  # a whole NetBIOS/SMB message
    return False


_CONTENT_LENGTH = re.compile(rb"\nContent-Length:[ \t]*(\d{1,9})\r?\n", re.IGNORECASE)


def _header_end(head: bytes) -> int:
    """Where the body starts (after the blank line), or -1 while the header is incomplete."""
    crlf, lf = head.find(b"\r\n\r\n"), head.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf + 4
    return lf + 2 if lf >= 0 else -1


_ESC = {92: "\\\\", 10: "\\n", 13: "\\r", 9: "\\t"}


def escape(raw: bytes) -> str:
    """The bytes as readable text: printable ASCII as is, everything else escaped (``\\xNN``)."""
    return "".join(_ESC.get(b, chr(b) if 32 <= b < 127 else f"\\x{b:02x}") for b in raw)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")
