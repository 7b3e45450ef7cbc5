# SPDX-License-Identifier: MIT
"""Telnet wire format (RFC 854/855): a byte-level parser that splits data from commands.

The parser never drops a data byte that arrives together with a command (Cowrie loses the
first character of hydra's username because it discards data received while negotiating),
and it never answers anything itself: what a server answers, and when, is what tells one
daemon from another, so that is left to the daemon emulations (``telnet_inetutils``,
``telnet_busybox``). Subnegotiations are capped at ``MAX_SB`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
GA, EL, EC, AYT, AO, IP, BRK, DM, NOP = 249, 248, 247, 246, 245, 244, 243, 242, 241
BINARY, ECHO, SGA, STATUS, TM = 0, 1, 3, 5, 6
TTYPE, NAWS, TSPEED, LFLOW, LINEMODE, XDISPLOC, OLD_ENVIRON = 24, 31, 32, 33, 34, 35, 36
AUTHENTICATION, ENCRYPT, NEW_ENVIRON = 37, 38, 39
QUAL_IS, QUAL_SEND = 0, 1
MAX_SB = 512


def cmd(verb: int, opt: int) -> bytes:
    """``IAC verb opt``."""
    return bytes([IAC, verb, opt])


def sub(opt: int, *payload: int) -> bytes:
    """``IAC SB opt payload IAC SE``."""
    return bytes([IAC, SB, opt, *payload, IAC, SE])


@dataclass(frozen=True)
class Event:
    """One command from the client: an option verb, a subnegotiation, or a two-byte command."""

    kind: str  # "opt" (verb + opt), "sb" (data), "cmd" (verb: AYT, IP, BRK, ...)
    verb: int = 0
    opt: int = 0
    data: bytes = b""


class TelnetParser:
    """Splits a Telnet byte stream into data bytes and ``Event``s (collected in ``events``)."""

    def __init__(self) -> None:
        self.state = "data"
        self.verb = 0
        self.sb = bytearray()
        self.events: list[Event] = []

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for b in chunk:
            st = self.state
            if st == "data":
                if b == IAC:
                    self.state = "iac"
                else:
                    out.append(b)
            elif st == "iac":
                self.state = "data"
                if b == IAC:
                    out.append(IAC)
                elif b in (WILL, WONT, DO, DONT):
                    self.verb = b
                    self.state = "opt"
                elif b == SB:
                    self.sb.clear()
                    self.state = "sb"
                else:
                    self.events.append(Event("cmd", b))
            elif st == "opt":
                self.events.append(Event("opt", self.verb, b))
                self.state = "data"
            elif st == "sb":
                if b == IAC:
                    self.state = "sb_iac"
                elif len(self.sb) < MAX_SB:
                    self.sb.append(b)
            else:  # sb_iac
                if b == SE:
                    self._end_sb()
                    self.state = "data"
                elif b == IAC:
                    if len(self.sb) < MAX_SB:
                        self.sb.append(IAC)
                    self.state = "sb"
                else:  # a command inside a subnegotiation ends it (as BSD telnetd's telrcv)
                    self._end_sb()
                    self.state = "iac"
                    out += self.feed(bytes([b]))
        return bytes(out)

    def _end_sb(self) -> None:
        data = bytes(self.sb)
        if data:
            self.events.append(Event("sb", opt=data[0], data=data[1:]))

    def take(self) -> list[Event]:
        evs, self.events = self.events, []
        return evs


def naws(ev: Event) -> tuple[int, int] | None:
    """(width, height) from a NAWS subnegotiation."""
    if ev.kind == "sb" and ev.opt == NAWS and len(ev.data) >= 4:
        return int.from_bytes(ev.data[0:2], "big"), int.from_bytes(ev.data[2:4], "big")
    return None


def ttype(ev: Event) -> str | None:
    """The terminal type from ``SB TTYPE IS name``."""
    if ev.kind == "sb" and ev.opt == TTYPE and ev.data[:1] == bytes([QUAL_IS]):
        return ev.data[1:65].decode("ascii", "replace")
    return None
