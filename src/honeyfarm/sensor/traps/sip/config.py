# SPDX-License-Identifier: MIT
"""``[sensor.sip]``: the SIP trap (udp ``listen`` and tcp ``tcp_listen``), an Asterisk 20 PBX (chan_pjsip)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from honeyfarm.sensor.trap import DatagramConfig

# Passwords SIP brute forcers (svcrack, sippts) try first; `{user}` is the extension itself (100/100).
COMMON_PASSWORDS = [
    "{user}",
    "1234",
    "12345",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "password",
    "secret",
    "admin",
    "0000",
    "1111",
    "100",
    "1000",
    "pass",
    "test",
    "asterisk",
    "voip",
    "sip",
    "{user}{user}",
]


class SIPConfig(DatagramConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:5060"], description="`host:port` addresses (udp).")
    tcp_listen: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:5060"], description="`host:port` addresses served over tcp."
    )
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Close a tcp connection that sends nothing this long."
    )
    max_connection_time: Annotated[float, Field(gt=0)] = Field(600.0, description="Close any tcp connection this old.")
    server_header: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        "Asterisk PBX 20.6.0",
        description="`Server` of every answer (chan_pjsip's `user_agent`; FreePBX sets e.g. `FPBX-16.0.40(20.6.0)`).",
    )
    realm: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        "asterisk", description="Digest realm of the `WWW-Authenticate` challenges (Asterisk's default)."
    )
    accept_register: bool = Field(
        False,
        description="Answer 200 to a REGISTER whose digest matches one of `guess_passwords` that the sensor's "
        "credential policy accepts (`sip.login.success`); false: every digest is refused with a new challenge.",
    )
    guess_passwords: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=200)] = Field(
        default_factory=lambda: list(COMMON_PASSWORDS),
        description="Passwords tried against each digest response, so `password` is filled when the attacker "
        "sent one of them (`{user}` = the user name); at most 200.",
    )
    max_headers: Annotated[int, Field(ge=8, le=256)] = Field(
        64, description="Most header lines of one request; more is malformed (udp: dropped, tcp: connection closed)."
    )
    max_header_bytes: Annotated[int, Field(ge=1024, le=65536)] = Field(
        8192, description="Largest start line + headers of one request (tcp; a udp request is one datagram)."
    )
    max_body_bytes: Annotated[int, Field(ge=0, le=65536)] = Field(
        8192, description="Largest body (`Content-Length`) of one request; a longer one is malformed."
    )

    def addresses(self) -> list[str]:
        return [*self.listen, *self.tcp_listen]

    def binds(self, transport: str) -> list[tuple[str, str]]:
        return [*((a, "udp") for a in self.listen), *((a, "tcp") for a in self.tcp_listen)]
