# SPDX-License-Identifier: MIT
"""``[sensor.catchall]``: the catch-all listener (Honeytrap-class).

One trap for many ports: each address in ``listen``, and, behind the nftables redirect of
``deploy/catchall-nftables.md``, every port no other trap serves. What a connection gets depends on the
port the client asked for (``dst_port``): a banner from ``banners`` for the protocols where the
server speaks first, silence otherwise. Every size the client controls is capped here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from honeyfarm.sensor.trap import StreamConfig

KiB = 1024

#: What Debian 12 hosts answer first on the ports of server-speaks-first protocols that no other
#: trap serves: Postfix, vsftpd, Dovecot, a VNC server (RFB 3.8). Sent Latin-1-encoded, so
#: ``\u00ff`` is the byte 0xff (telnet's IAC); ``{hostname}`` is the persona's host name.
DEFAULT_BANNERS: dict[str, str] = {
    "21": "220 (vsFTPd 3.0.3)\r\n",
    # inetutils telnetd's opening (as the telnet trap sends it): WILL AUTHENTICATION, WILL ENCRYPT,
    # DO TERMINAL-TYPE, TSPEED, XDISPLOC, NEW-ENVIRON, OLD-ENVIRON.
    "23": "\u00ff\u00fb\u0025\u00ff\u00fb\u0026\u00ff\u00fd\u0018\u00ff\u00fd\u0020\u00ff\u00fd\u0023"
    "\u00ff\u00fd\u0027\u00ff\u00fd\u0024",
    "25": "220 {hostname} ESMTP Postfix (Debian/GNU)\r\n",
    "110": "+OK Dovecot (Debian) ready.\r\n",
    "143": "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] "
    "Dovecot (Debian) ready.\r\n",
    "587": "220 {hostname} ESMTP Postfix (Debian/GNU)\r\n",
    "5900": "RFB 003.008\n",
}


class CatchAllConfig(StreamConfig):
    listen: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:8081"],
        description="`host:port` addresses: the ports served directly, and the one port the nftables redirect "
        "of `deploy/catchall-nftables.md` sends every other port to.",
    )
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        30.0, description="Close a connection that sends nothing more for this long after its first bytes."
    )
    max_connection_time: Annotated[float, Field(gt=0)] = Field(
        120.0, description="Close any connection this old, however busy (the rest of its bytes are counted, not kept)."
    )
    first_bytes_timeout: Annotated[float, Field(gt=0, le=300)] = Field(
        5.0,
        description="Seconds to wait for the client to speak first (after the banner, if any); a client that "
        "stays silent is closed with reason `no data` and logs no payload.",
    )
    gather_time: Annotated[float, Field(gt=0, le=10)] = Field(
        0.5,
        description="Once the client has spoken, keep collecting its first message until it is quiet this long, "
        "the message is complete (a TLS record, an HTTP header) or `max_first_bytes` are in.",
    )
    max_first_bytes: Annotated[int, Field(ge=16, le=64 * KiB)] = Field(
        4 * KiB, description="First bytes of a connection kept, hashed, classified and logged."
    )
    max_bytes_per_connection: Annotated[int, Field(ge=1024)] = Field(
        1024 * KiB,
        description="Bytes read from one connection in all (past the first bytes they are counted and discarded); "
        "past it the connection is closed with reason `byte limit`.",
    )
    banners: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_BANNERS),
        description="Port (as a string) → what to send as soon as a client connects to it (Latin-1: `\\u00ff` is "
        "the byte 0xff; `{hostname}` is `sensor.persona.hostname`); ports not listed get silence. Replaces the "
        "built-in table (Postfix on 25/587, vsftpd on 21, Dovecot on 110/143, telnetd options on 23, RFB 3.8 on "
        "5900); `{}` keeps every port silent.",
    )

    @field_validator("banners")
    @classmethod
    def _ports_and_bytes(cls, v: dict[str, str]) -> dict[str, str]:
        for port, banner in v.items():
            if not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError(f"banners: {port!r} is not a port number")
            if len(banner) > 4 * KiB:
                raise ValueError(f"banners: the banner of port {port} is longer than 4 KiB")
            try:
                banner.encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(f"banners: the banner of port {port} has a character past \\u00ff") from None
        return v
