# SPDX-License-Identifier: MIT
"""SIP requests as the trap reads them (RFC 3261 section 7): start line, headers, body, digest credentials.

Only what the trap answers from is parsed, and every size is checked before anything is kept: the
header count and the header block (``max_headers``, ``max_header_bytes``) and the body
(``max_body_bytes``). A message the trap cannot answer (no request line, a missing Via/From/To/
Call-ID/CSeq) raises :class:`~honeyfarm.sensor.traps.stream.Malformed`: over udp it is logged and
dropped, as chan_pjsip drops what it cannot parse; over tcp the connection is closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from honeyfarm.sensor.traps.stream import Malformed

# RFC 3261 section 7.3.3 compact forms (and RFC 3265/3515/4028 ones scanners use).
COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
    "o": "event",
    "u": "allow-events",
    "r": "refer-to",
    "b": "referred-by",
    "x": "session-expires",
}
REQUIRED = ("via", "from", "to", "call-id", "cseq")
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]{1,32}$")
# A digest parameter: name=value or name="quoted value" (with \" escapes).
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]{1,32})\s*=\s*("((?:[^"\\]|\\.){0,1024})"|[^\s,]{0,1024})\s*(?:,|$)')


@dataclass
class Request:
    method: str
    uri: str
    version: str
    headers: list[tuple[str, str]]  # (lower-case full name, value), in order, unfolded
    body: bytes = b""
    size: int = 0  # bytes of the whole message (the anti-amplification budget)

    def get(self, name: str) -> str:
        """The first value of a header ("" when absent)."""
        for k, v in self.headers:
            if k == name:
                return v
        return ""

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


def split_head(data: bytes) -> tuple[bytes, bytes] | None:
    """(head, rest) at the first blank line, or None while the blank line has not come yet."""
    i = data.find(b"\r\n\r\n")
    j = data.find(b"\n\n")
    if i < 0 and j < 0:
        return None
    if i >= 0 and (j < 0 or i < j):
        return data[:i], data[i + 4 :]
    return data[:j], data[j + 2 :]


def parse_head(head: bytes, max_headers: int) -> Request:
    """Start line and headers; :class:`Malformed` when the trap could not answer it."""
    text = head.decode("utf-8", errors="replace")
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():  # RFC 3261 7.5: CRLFs before the start line are ignored
        lines.pop(0)
    if not lines:
        raise Malformed("empty message")
    parts = lines[0].split(" ")
    if lines[0].startswith("SIP/"):
        raise Malformed("a response, not a request")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1] or not parts[2].upper().startswith("SIP/"):
        raise Malformed("not a SIP request line")
    method, uri, version = parts[0].upper(), parts[1][:512], parts[2].upper()[:16]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):  # folded continuation (RFC 3261 7.3.1)
            if not headers:
                raise Malformed("continuation before the first header")
            k, v = headers[-1]
            headers[-1] = (k, f"{v} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not _TOKEN.match(name):
            raise Malformed("bad header line")
        if len(headers) >= max_headers:
            raise Malformed(f"more than {max_headers} headers")
        low = name.lower()
        low = COMPACT.get(low, low)
        if low == "via":  # several Via in one line: one entry each, as the response must copy them
            headers += [("via", v.strip()) for v in _split_commas(value) if v.strip()]
        else:
            headers.append((low, value.strip()))
    req = Request(method, uri, version, headers)
    missing = [h for h in REQUIRED if not req.get(h)]
    if missing:
        raise Malformed(f"no {missing[0]} header")
    return req


def content_length(req: Request, cap: int) -> int:
    raw = req.get("content-length")
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 9:
        raise Malformed("bad Content-Length")
    n = int(raw)
    if n > cap:
        raise Malformed(f"body of {n} bytes over the limit of {cap}")
    return n


def parse_datagram(data: bytes, max_headers: int, max_body: int) -> Request:
    split = split_head(data)
    if split is None:  # a datagram without the blank line: all head, no body
        head, rest = data, b""
    else:
        head, rest = split
    req = parse_head(head, max_headers)
    n = content_length(req, max_body)
    # RFC 3261 18.3: over udp a body past Content-Length is discarded.
    req.body = rest[:n] if req.get("content-length") else rest[:max_body]
    req.size = len(data)
    return req


def _split_commas(value: str) -> list[str]:
    """Split a header value at commas outside quotes and angle brackets."""
    out: list[str] = []
    cur: list[str] = []
    quoted = angle = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        if ch == "," and not quoted and not angle:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def parse_digest(value: str) -> dict[str, str] | None:
    """``Digest username="100",realm=...`` as a dict (lower-case keys), or None for another scheme."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    out: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest) and len(out) < 32:
        m = _PARAM.match(rest, pos)
        if m is None:
            break
        raw = m.group(3) if m.group(3) is not None else m.group(2)
        out.setdefault(m.group(1).lower(), raw.replace('\\"', '"').replace("\\\\", "\\"))
        pos = m.end()
    return out


def has_tag(value: str) -> bool:
    # The tag belongs to the header, not to the URI inside <...>.
    tail = value.rsplit(">", 1)[-1] if ">" in value else value
    return re.search(r";\s*tag\s*=", tail, re.IGNORECASE) is not None
