# SPDX-License-Identifier: MIT
"""The HTTPS certificate: self-signed, made on first start, kept in the spool's state directory.

As Debian's ``make-ssl-cert`` (the ``ssl-cert`` package's snakeoil pair that Apache's
``default-ssl`` site uses) makes it: RSA 2048, subject and issuer ``CN = <host name>``, the name
also as a DNS subjectAltName; valid one year from the first start. Kept so that the fingerprint
does not change at every restart (a certificate that changes often is itself a sign).
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CERT = "cert.pem"
KEY = "key.pem"


def ensure_cert(directory: Path, host: str) -> tuple[Path, Path]:
    """The certificate and key files in ``directory``, made now if absent."""
    cert, key = directory / CERT, directory / KEY
    if cert.exists() and key.exists():
        return cert, key
    directory.mkdir(parents=True, exist_ok=True)
    pkey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    crt = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pkey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(pkey, hashes.SHA256())
    )
    tmp_key = key.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            pkey.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
    tmp_key.replace(key)
    tmp_cert = cert.with_suffix(".tmp")
    tmp_cert.write_bytes(crt.public_bytes(serialization.Encoding.PEM))
    tmp_cert.replace(cert)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS as Debian 12's Apache + OpenSSL 3 offer it: TLS 1.2 and 1.3, ALPN http/1.1 (no mod_http2)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
