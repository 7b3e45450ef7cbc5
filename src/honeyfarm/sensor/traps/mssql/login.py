# SPDX-License-Identifier: MIT
"""What a client's login says: LOGIN7 ([MS-TDS] 2.2.6.4) and the older TDS 4.2 login record.

Every offset and length is checked against the packet before a byte is read; strings are
UCS-2 (LOGIN7) or 8-bit (TDS 4.2) and cut at :data:`MAX_CHARS`. The LOGIN7 password is
"encrypted" by swapping each byte's nibbles and XORing it with 0xA5: undone here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from honeyfarm.sensor.traps.stream import Malformed

MAX_CHARS = 128  # SQL Server's own limit for names (sysname) and passwords
FIXED = struct.Struct("<IIIIIIBBBBiI")  # Length, TDSVersion, PacketSize, ProgVer, PID, ConnID, flags, tz, lcid
MIN_LEN = 86  # the fixed part through ibAtchDBFile (TDS 7.0); 7.2+ adds ChangePassword, cbSSPILong
F2_INTEGRATED = 0x80  # OptionFlags2 fIntSecurity: SSPI/NTLM instead of a SQL login
F3_EXTENSION = 0x10  # OptionFlags3 fExtension: ibExtension points at the FeatureExt offset
TDS_NAMES = {
    0x70000000: "7.0",
    0x71000000: "7.1",
    0x71000001: "7.1",
    0x72090002: "7.2",
    0x730A0003: "7.3A",
    0x730B0003: "7.3B",
    0x74000004: "7.4",
    0x08000000: "8.0",
}


@dataclass
class Login:
    username: str = ""
    password: str = ""
    hostname: str = ""
    app_name: str = ""
    server_name: str = ""
    library: str = ""
    language: str = ""
    database: str = ""
    tds_version: int = 0
    packet_size: int = 4096
    client_pid: int = 0
    client_mac: str = ""
    integrated: bool = False
    sspi: bytes = b""
    features: list[int] = field(default_factory=list)
    legacy: bool = False  # a TDS 4.2 login record

    @property
    def tds_name(self) -> str:
        if self.legacy:
            return "4.2"
        return TDS_NAMES.get(self.tds_version, f"0x{self.tds_version:08x}")

    def fields(self) -> dict[str, Any]:
        """The ``extra`` of the login event."""
        out: dict[str, Any] = {
            "hostname": self.hostname,
            "server_name": self.server_name,
            "library": self.library,
            "database": self.database,
            "language": self.language,
            "tds_version": self.tds_name,
            "packet_size": self.packet_size,
        }
        if self.client_pid:
            out["client_pid"] = self.client_pid
        if self.client_mac:
            out["client_mac"] = self.client_mac
        if self.integrated:
            out["integrated"] = True
        return out


def deobfuscate(raw: bytes) -> bytes:
    """Undo LOGIN7's password scrambling: XOR 0xA5, then swap the nibbles back."""
    return bytes((((b ^ 0xA5) << 4) & 0xF0) | ((b ^ 0xA5) >> 4) for b in raw)


def _ucs2(data: bytes, off: int, chars: int, what: str) -> bytes:
    if chars == 0:
        return b""
    end = off + 2 * chars
    if end > len(data):
        raise Malformed(f"LOGIN7 {what} (offset {off}, {chars} chars) outside the packet")
    return data[off : off + 2 * min(chars, MAX_CHARS)]


def _text(raw: bytes) -> str:
    return raw.decode("utf-16-le", "replace")


def parse_login7(data: bytes) -> Login:
    if len(data) < MIN_LEN:
        raise Malformed(f"LOGIN7 of {len(data)} bytes")
    length, tds, psize, _ver, pid, _cid, _f1, f2, _tf, f3, _tz, _lcid = FIXED.unpack_from(data)
    if length > len(data) or length < MIN_LEN:
        raise Malformed(f"LOGIN7 length field {length} for a {len(data)}-byte message")
    data = data[:length]
    pairs = struct.unpack_from("<" + "HH" * 9, data, 36)
    # ClientID (6 bytes) at 72, then ibSSPI/cbSSPI at 78
    host, user, pw, app, server, _ext, lib, lang, db = ((pairs[2 * i], pairs[2 * i + 1]) for i in range(9))
    login = Login(tds_version=tds, packet_size=psize, client_pid=pid)
    login.hostname = _text(_ucs2(data, *host, "HostName"))
    login.username = _text(_ucs2(data, *user, "UserName"))
    login.password = _text(deobfuscate(_ucs2(data, *pw, "Password")))
    login.app_name = _text(_ucs2(data, *app, "AppName"))
    login.server_name = _text(_ucs2(data, *server, "ServerName"))
    login.library = _text(_ucs2(data, *lib, "CltIntName"))
    login.language = _text(_ucs2(data, *lang, "Language"))
    login.database = _text(_ucs2(data, *db, "Database"))
    mac = data[72:78]
    if any(mac):
        login.client_mac = ":".join(f"{b:02x}" for b in mac)
    login.integrated = bool(f2 & F2_INTEGRATED)
    if len(data) >= 82:
        sspi_off, sspi_len = struct.unpack_from("<HH", data, 78)
        if sspi_len:
            if sspi_off + sspi_len > len(data):
                raise Malformed("LOGIN7 SSPI data outside the packet")
            login.sspi = data[sspi_off : sspi_off + sspi_len]
    if f3 & F3_EXTENSION and _ext[1] >= 4 and _ext[0] + 4 <= len(data):
        (feat_off,) = struct.unpack_from("<I", data, _ext[0])
        login.features = _features(data, feat_off)
    return login


def _features(data: bytes, pos: int) -> list[int]:
    """FeatureExt ids (session recovery, UTF-8, ...), each length checked; a bad list is ignored."""
    ids: list[int] = []
    while 0 <= pos < len(data) and len(ids) < 16:
        fid = data[pos]
        if fid == 0xFF or pos + 5 > len(data):
            break
        (ln,) = struct.unpack_from("<I", data, pos + 1)
        if pos + 5 + ln > len(data):
            break
        ids.append(fid)
        pos += 5 + ln
    return ids


def _field(data: bytes, off: int, size: int = 30) -> bytes:
    n = min(data[off + size], size)
    return data[off : off + n]


def parse_legacy_login(data: bytes) -> Login:
    """A TDS 4.2 login record (DB-Library's LOGINREC, sent by hydra's mssql module): fixed 30-byte
    fields each followed by its length byte."""
    if len(data) < 473:
        raise Malformed(f"TDS 4.2 login of {len(data)} bytes")

    def text(off: int, size: int = 30) -> str:
        return _field(data, off, size).decode("latin-1")

    return Login(
        hostname=text(0),
        username=text(31),
        password=text(62),
        app_name=text(140),
        server_name=text(171),
        library=text(462, 10),
        legacy=True,
        packet_size=4096,
    )
