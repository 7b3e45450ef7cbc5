# SPDX-License-Identifier: MIT
"""NTLMSSP inside SPNEGO, as the SMB trap's server side needs it: the CHALLENGE that tells scanners
who the host is, and the AUTHENTICATE that tells us who the client is (and its NetNTLM response).

Layouts follow MS-NLMP 2.2.1 and RFC 4178. They are packed here with :mod:`struct` rather than
with ``impacket.ntlm``/``impacket.spnego``: those import pycryptodome (through cffi/pycparser,
~9 MB RSS) for signing and sealing, which a server that never learns the password cannot do, and
every offset the client sends is checked against the message before it is read.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

SIGNATURE = b"NTLMSSP\x00"
NTLMSSP_OID = bytes.fromhex("2b06010401823702020a")  # 1.3.6.1.4.1.311.2.2.10
SPNEGO_OID = bytes.fromhex("2b0601050502")  # 1.3.6.1.5.5.2

# NegotiateFlags (MS-NLMP 2.2.2.5)
UNICODE = 0x00000001
OEM = 0x00000002
REQUEST_TARGET = 0x00000004
SIGN = 0x00000010
SEAL = 0x00000020
NTLM = 0x00000200
ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
TARGET_TYPE_SERVER = 0x00020000
EXTENDED_SESSIONSECURITY = 0x00080000
TARGET_INFO = 0x00800000
VERSION = 0x02000000
N128 = 0x20000000
KEY_EXCH = 0x40000000
N56 = 0x80000000
ECHOED = SIGN | SEAL | EXTENDED_SESSIONSECURITY | N128 | KEY_EXCH | N56  # granted when the client asks

MAX_RESPONSE = 4096  # longest NT response turned into a hashcat line
MAX_FIELD = 4096  # longest user/domain/workstation kept (the message itself is bounded by the SMB message)


def filetime(t: float | None = None) -> int:
    """Windows FILETIME (100 ns since 1601) of a Unix time."""
    return int(((time.time() if t is None else t) + 11644473600) * 10_000_000)


@dataclass(frozen=True)
class HostFacts:
    """What the CHALLENGE says about the host (nmap's smb-os-discovery prints these)."""

    netbios_name: str
    domain: str
    dns_domain: str
    os_major: int
    os_minor: int
    os_build: int


@dataclass
class Auth:
    """The interesting parts of an AUTHENTICATE message."""

    user: str
    domain: str
    workstation: str
    lm: bytes
    nt: bytes
    flags: int
    client_os: str = ""  # the Version field: the client's Windows major.minor.build

    @property
    def anonymous(self) -> bool:
        return not self.user and len(self.nt) == 0 and len(self.lm) <= 1

    @property
    def version(self) -> str:
        if self.anonymous:
            return "anonymous"
        if len(self.nt) > 24:
            return "v2"
        if len(self.nt) == 24:
            return "v1"
        return "lm" if self.lm else "none"

    def hashcat(self, challenge: bytes) -> tuple[str, int] | None:
        """The response in hashcat's format and mode (5600 NetNTLMv2, 5500 NetNTLMv1), or None."""
        user, domain = self.user.replace(":", ""), self.domain.replace(":", "")
        if len(self.nt) > MAX_RESPONSE:  # not a real NTLMv2 blob (they are a few hundred bytes)
            return None
        if self.version == "v2":
            return f"{user}::{domain}:{challenge.hex()}:{self.nt[:16].hex()}:{self.nt[16:].hex()}", 5600
        if self.version == "v1":
            return f"{user}::{domain}:{self.lm.hex()}:{self.nt.hex()}:{challenge.hex()}", 5500
        return None


class NTLMError(ValueError):
    """A message that is not the NTLMSSP message it claims to be."""


# --- DER, just enough for SPNEGO ---------------------------------------------------------------


def der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + body


def neg_token_init() -> bytes:
    """The server's negTokenInit in the NEGOTIATE response: NTLMSSP is the one mechanism offered (a
    workgroup server has no Kerberos)."""
    mechs = der(0x30, der(0x06, NTLMSSP_OID))
    inner = der(0x30, der(0xA0, mechs))
    return der(0x60, der(0x06, SPNEGO_OID) + der(0xA0, inner))


def neg_token_resp(state: int, token: bytes = b"", mech: bool = False) -> bytes:
    """negTokenResp: state 0 accept-completed, 1 accept-incomplete, 2 reject."""
    body = der(0xA0, der(0x0A, bytes([state])))
    if mech:
        body += der(0xA1, der(0x06, NTLMSSP_OID))
    if token:
        body += der(0xA2, der(0x04, token))
    return der(0xA1, der(0x30, body))


def extract(blob: bytes) -> tuple[bytes, bool]:
    """The NTLMSSP message inside a security blob (SPNEGO-wrapped or raw), and whether it was wrapped.
    An empty result means there is none (e.g. a Kerberos ticket)."""
    if blob.startswith(SIGNATURE):
        return blob, False
    at = blob.find(SIGNATURE)
    if at < 0:
        return b"", True
    # The OCTET STRING holding it ends the message or is followed by mechListMIC; the offsets inside
    # an NTLM message are relative to its start and bounded below, so trailing bytes are harmless.
    return blob[at:], True


def message_type(msg: bytes) -> int:
    if len(msg) < 12 or not msg.startswith(SIGNATURE):
        return 0
    return int(struct.unpack_from("<I", msg, 8)[0])


def challenge_message(facts: HostFacts, challenge: bytes, client_flags: int, when: float | None = None) -> bytes:
    """A CHALLENGE (type 2) like the persona's: target info AV pairs from ``facts``."""
    unicode = bool(client_flags & UNICODE) or not client_flags & OEM

    def s(text: str) -> bytes:
        return text.encode("utf-16-le") if unicode else text.encode("ascii", "replace")

    dns_host = f"{facts.netbios_name}.{facts.dns_domain}" if facts.dns_domain else facts.netbios_name
    dns_dom = facts.dns_domain or facts.netbios_name
    domain_joined = bool(facts.dns_domain)
    target = facts.domain if domain_joined else facts.netbios_name
    av = b""
    for av_id, value in (
        (2, facts.domain.upper()),
        (1, facts.netbios_name.upper()),
        (4, dns_dom),
        (3, dns_host),
        *(((5, facts.dns_domain.lower()),) if domain_joined else ()),
    ):
        raw = value.encode("utf-16-le")  # AV pairs are always Unicode
        av += struct.pack("<HH", av_id, len(raw)) + raw
    av += struct.pack("<HHQ", 7, 8, filetime(when)) + struct.pack("<HH", 0, 0)
    flags = (
        (UNICODE if unicode else OEM)
        | REQUEST_TARGET
        | NTLM
        | ALWAYS_SIGN
        | (TARGET_TYPE_DOMAIN if domain_joined else TARGET_TYPE_SERVER)
        | TARGET_INFO
        | VERSION
        | (client_flags & ECHOED)
    )
    name = s(target)
    head = 56
    version = struct.pack("<BBH3xB", facts.os_major, facts.os_minor, facts.os_build, 0x0F)
    return (
        SIGNATURE
        + struct.pack("<IHHI", 2, len(name), len(name), head)
        + struct.pack("<I", flags)
        + challenge
        + b"\x00" * 8
        + struct.pack("<HHI", len(av), len(av), head + len(name))
        + version
        + name
        + av
    )


def _field(msg: bytes, at: int) -> bytes:
    length, _max, offset = struct.unpack_from("<HHI", msg, at)
    if length == 0:
        return b""
    if offset + length > len(msg):
        raise NTLMError(f"field at {at} points past the message ({offset}+{length} > {len(msg)})")
    return msg[offset : offset + length]


def parse_negotiate(msg: bytes) -> int:
    """The client's NegotiateFlags from a NEGOTIATE (type 1)."""
    if message_type(msg) != 1 or len(msg) < 16:
        raise NTLMError("not an NTLMSSP NEGOTIATE")
    return int(struct.unpack_from("<I", msg, 12)[0])


def parse_authenticate(msg: bytes) -> Auth:
    """User, domain, workstation and the LM/NT responses of an AUTHENTICATE (type 3)."""
    if message_type(msg) != 3 or len(msg) < 64:
        raise NTLMError("not an NTLMSSP AUTHENTICATE")
    flags = int(struct.unpack_from("<I", msg, 60)[0])
    unicode = bool(flags & UNICODE)

    def text(raw: bytes) -> str:
        raw = raw[:MAX_FIELD]
        if unicode:
            return raw[: len(raw) & ~1].decode("utf-16-le", "replace")
        return raw.decode("latin-1")

    client_os = ""
    if flags & VERSION and len(msg) >= 72:
        major, minor, build = struct.unpack_from("<BBH", msg, 64)
        client_os = f"{major}.{minor}.{build}"
    return Auth(
        client_os=client_os,
        user=text(_field(msg, 36)),
        domain=text(_field(msg, 28)),
        workstation=text(_field(msg, 44)),
        lm=_field(msg, 12),
        nt=_field(msg, 20),
        flags=flags,
    )
