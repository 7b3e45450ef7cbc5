# SPDX-License-Identifier: MIT
"""Integrated (NTLM) logins: the CHALLENGE a Windows Server 2016 host sends, the AUTHENTICATE read.

A LOGIN7 with ``fIntSecurity`` carries an NTLMSSP NEGOTIATE; SQL Server answers with an SSPI
token holding the CHALLENGE, whose target info names the machine and its OS build (what
nmap's ``ms-sql-ntlm-info`` prints). The client's AUTHENTICATE (an SSPI packet) gives the
user, domain, workstation and the NetNTLMv1/v2 response, kept in hashcat's format (modes
5500/5600). Offsets in the client's message are checked against it.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from typing import Any

from honeyfarm.sensor.traps.stream import Malformed

SIGNATURE = b"NTLMSSP\x00"
# UNICODE, REQUEST_TARGET, SIGN, NTLM, ALWAYS_SIGN, TARGET_TYPE_DOMAIN, ESS, TARGET_INFO, VERSION, 128,
# KEY_EXCH, 56: what a standalone Windows Server 2016 offers
FLAGS = 0xE2898215
OS_VERSION = struct.pack("<BBH3xB", 10, 0, 14393, 15)  # Windows Server 2016, NTLM revision 15
MAX_FIELD = 1024


def is_ntlm(blob: bytes, kind: int) -> bool:
    return len(blob) >= 12 and blob.startswith(SIGNATURE) and struct.unpack_from("<I", blob, 8)[0] == kind


def _filetime() -> bytes:
    return struct.pack("<Q", int((time.time() + 11644473600) * 10_000_000))


def challenge(computer: str, dns_domain: str = "") -> tuple[bytes, bytes]:
    """``(message, server challenge)`` for a workgroup server named ``computer``."""
    server_challenge = os.urandom(8)
    name = computer.upper().encode("utf-16-le")
    dns = (dns_domain or computer.upper()).encode("utf-16-le")  # a workgroup host: its own name

    def av(kind: int, value: bytes) -> bytes:
        return struct.pack("<HH", kind, len(value)) + value

    info = av(2, name) + av(1, name) + av(4, dns) + av(3, dns) + av(7, _filetime()) + av(0, b"")
    off = 56
    msg = SIGNATURE + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(name), len(name), off) + struct.pack("<I", FLAGS) + server_challenge + bytes(8)
    msg += struct.pack("<HHI", len(info), len(info), off + len(name)) + OS_VERSION
    return msg + name + info, server_challenge


@dataclass
class Authenticate:
    user: str
    domain: str
    workstation: str
    lm: bytes
    nt: bytes

    def hashcat(self, server_challenge: bytes) -> tuple[str, int] | None:
        """The response in hashcat's NetNTLMv2 (5600) or NetNTLMv1 (5500) format."""
        if len(self.nt) > 24:
            proof, blob = self.nt[:16], self.nt[16:]
            line = f"{self.user}::{self.domain}:{server_challenge.hex()}:{proof.hex()}:{blob.hex()}"
            return line, 5600
        if len(self.nt) == 24:
            return f"{self.user}::{self.domain}:{self.lm.hex()}:{self.nt.hex()}:{server_challenge.hex()}", 5500
        return None

    def fields(self, server_challenge: bytes) -> dict[str, Any]:
        out: dict[str, Any] = {"domain": self.domain, "workstation": self.workstation}
        hc = self.hashcat(server_challenge)
        if hc is not None:
            out["ntlm_version"] = "v2" if hc[1] == 5600 else "v1"
            out["hashcat"], out["hashcat_mode"] = hc
        else:
            out["ntlm_version"] = "anonymous"
        return out


def parse_authenticate(blob: bytes) -> Authenticate:
    if not is_ntlm(blob, 3) or len(blob) < 52:
        raise Malformed("SSPI message is not an NTLM AUTHENTICATE")

    def field(pos: int) -> bytes:
        ln, _max, off = struct.unpack_from("<HHI", blob, pos)
        if off + ln > len(blob):
            raise Malformed("NTLM AUTHENTICATE field outside the message")
        return blob[off : off + min(ln, MAX_FIELD)]

    def text(pos: int) -> str:
        return field(pos).decode("utf-16-le", "replace")[:256]

    return Authenticate(text(36), text(28), text(44), field(12), field(20))
