# SPDX-License-Identifier: MIT
"""TLS inside TDS, as SQL Server does it when a client does not turn encryption off entirely.

The handshake travels inside PRELOGIN packets (both ways); then the client sends raw TLS
records. With ENCRYPT_OFF on both sides only the LOGIN7 message is encrypted and the stream
returns to plain TDS; with ENCRYPT_ON everything after the handshake is TLS. The certificate is
the one SQL Server makes for itself at every service start when none is configured: RSA 2048,
``CN = SSL_Self_Signed_Fallback``, valid 30 years from the start (what nmap's ``ssl-cert``
shows for a default install). TLS 1.2 at most: Windows Server 2016's Schannel has no TLS 1.3.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
from pathlib import Path

from honeyfarm.sensor.traps.mssql.tds import PRELOGIN, ReadExactly, packets, read_message
from honeyfarm.sensor.traps.stream import Closed, Conn, Malformed

# Windows Server 2016 Schannel's TLS 1.2 suites for an RSA certificate, in its order (server preference);
# scanners' TLS stacks (nmap's ssl-cert) offer only plain-RSA CBC suites, which Python's defaults refuse
SCHANNEL_CIPHERS = (
    "@SECLEVEL=1:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
    "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:"
    "ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:AES128-SHA"
)
MAX_HANDSHAKE_MESSAGES = 8  # client flights of a TLS 1.2 handshake: 2, renegotiation refused


def make_context(directory: Path) -> ssl.SSLContext:
    """A fresh fallback certificate in ``directory`` (made at every start, as SQL Server does)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    pkey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SSL_Self_Signed_Fallback")])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    crt = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pkey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 30))
        .sign(pkey, hashes.SHA256())
    )
    key_path, cert_path = directory / "fallback-key.pem", directory / "fallback-cert.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            pkey.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    cert_path.write_bytes(crt.public_bytes(serialization.Encoding.PEM))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_TICKET | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_ciphers(SCHANNEL_CIPHERS)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


class TLSChannel:
    """One connection's TLS state: the handshake in PRELOGIN packets, then records on the socket."""

    def __init__(self, ctx: ssl.SSLContext, conn: Conn) -> None:
        self.conn = conn
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.plain = bytearray()
        self.version = ""
        self.cipher = ""

    async def handshake(self, read: ReadExactly, max_packet: int, first: bytes) -> None:
        """Run the handshake whose first client flight is ``first`` (a PRELOGIN message's payload)."""
        data = first
        for _ in range(MAX_HANDSHAKE_MESSAGES):
            self.incoming.write(data)
            try:
                self.obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            except ssl.SSLError as e:
                raise Malformed(f"TLS handshake: {e.reason or e}") from None
            reply = self.outgoing.read()
            if reply:
                await self.conn.write(packets(reply, 4096, 0, ptype=PRELOGIN))
            if done:
                self.version = self.obj.version() or ""
                self.cipher = (self.obj.cipher() or ("",))[0]
                return
            msg = await read_message(read, max_packet, 64 * 1024)
            if msg.type != PRELOGIN:
                raise Malformed(f"TDS message 0x{msg.type:02x} during the TLS handshake")
            data = msg.payload
        raise Malformed("TLS handshake too long")

    async def read_exactly(self, n: int, limit: int) -> bytes:
        """``n`` decrypted bytes (``limit`` checked first, as :meth:`Conn.read_exactly`)."""
        if n < 0 or n > limit:
            raise Malformed(f"length {n} over the limit of {limit}")
        while len(self.plain) < n:
            try:
                chunk = self.obj.read(n - len(self.plain))
            except ssl.SSLWantReadError:
                self.incoming.write(await self.conn.read_some())
                continue
            except ssl.SSLZeroReturnError:
                raise Closed("client closed") from None
            except ssl.SSLError as e:
                raise Malformed(f"TLS record: {e.reason or e}") from None
            if not chunk:
                raise Closed("client closed")
            self.plain += chunk
        out = bytes(self.plain[:n])
        del self.plain[:n]
        return out

    async def write(self, data: bytes) -> None:
        self.obj.write(data)
        await self.conn.write(self.outgoing.read())
