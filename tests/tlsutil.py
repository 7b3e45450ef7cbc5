# SPDX-License-Identifier: MIT
"""TLS helpers for the web trap's tests: a client that reports what the server chose, and
ClientHellos built byte by byte (a published Chrome hello with its JA3/JA4, a TLS 1.0/1.1 hello)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any


def tls_request(port: int, data: bytes) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = bytearray()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as s,
        ctx.wrap_socket(s, server_hostname="web-01") as t,
    ):
        t.sendall(data)
        with contextlib.suppress(OSError):
            while chunk := t.recv(65536):
                out += chunk
    return bytes(out)


def tls_choice(port: int, max_version: ssl.TLSVersion, alpn: list[str]) -> tuple[Any, ...]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = max_version
    ctx.set_alpn_protocols(alpn)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as s,
        ctx.wrap_socket(s, server_hostname="web-01") as t,
    ):
        cipher = t.cipher()
        return t.version(), cipher[0] if cipher else None, t.selected_alpn_protocol()


# A Chrome 143 ClientHello as browserleaks.com reported it (JA3 text and hash, JA4 and its raw form).
CHROME_JA3 = (
    "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
    "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
)
CHROME_SIGS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)


def ext(etype: int, data: bytes) -> bytes:
    return etype.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def u16s(values: list[int], lenbytes: int = 2) -> bytes:
    raw = b"".join(v.to_bytes(2, "big") for v in values)
    return len(raw).to_bytes(lenbytes, "big") + raw


def chrome_hello() -> bytes:
    """The record bytes of that hello, GREASE values added where Chrome puts them."""
    _, ciphers, exts, groups, _points = CHROME_JA3.split(",")
    body = {
        0: (23).to_bytes(2, "big") + b"\x00\x00\x14tls.browserleaks.com",
        16: (12).to_bytes(2, "big") + b"\x02h2\x08http/1.1",
        10: u16s([0x1A1A, *(int(g) for g in groups.split("-"))]),
        11: b"\x01\x00",
        13: u16s(list(CHROME_SIGS)),
        43: bytes([6]) + b"\x7a\x7a\x03\x04\x03\x03",
    }
    ext_bytes = ext(0x0A0A, b"") + b"".join(ext(int(e), body.get(int(e), b"")) for e in exts.split("-"))
    ext_bytes += ext(0xFAFA, b"\x00")
    hello = (
        (771).to_bytes(2, "big")
        + bytes(32)
        + b"\x20" + bytes(32)
        + u16s([0x2A2A, *(int(c) for c in ciphers.split("-"))])
        + b"\x01\x00"
        + len(ext_bytes).to_bytes(2, "big") + ext_bytes
    )  # fmt: skip
    hs = b"\x01" + len(hello).to_bytes(3, "big") + hello
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def old_hello(version: int) -> bytes:
    """A ClientHello of a client that speaks at most TLS 1.0/1.1 (no supported_versions)."""
    sni = b"\x00\x00\x06web-01"
    exts = ext(0, len(sni).to_bytes(2, "big") + sni) + ext(11, b"\x01\x00") + ext(10, u16s([29, 23, 24]))
    hello = (
        version.to_bytes(2, "big") + bytes(32) + b"\x00"
        + u16s([0xC014, 0xC013, 0x0035, 0x002F, 0x00FF]) + b"\x01\x00"
        + len(exts).to_bytes(2, "big") + exts
    )  # fmt: skip
    hs = b"\x01" + len(hello).to_bytes(3, "big") + hello
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs
