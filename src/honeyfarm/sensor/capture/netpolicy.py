# SPDX-License-Identifier: MIT
"""Which addresses the sensor's downloader may connect to (attacker-named URLs).

A target is refused when an address is loopback or unspecified (unless
``allow_loopback``) or private, link-local, unique-local, CGNAT, multicast,
reserved or otherwise not global (unless ``allow_private``). IPv4-mapped,
NAT64 (64:ff9b::/96) and 6to4 IPv6 addresses are judged by the IPv4 address
inside. No network access here: :mod:`honeyfarm.sensor.capture.downloads` applies it
to every connection it makes.
"""

from __future__ import annotations

import ipaddress

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_THIS_NET = ipaddress.IPv4Network("0.0.0.0/8")
_ULA = ipaddress.IPv6Network("fc00::/7")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _clip(text: object, limit: int = 200) -> str:
    """Attacker-controlled text made safe for a reason string: printable, short."""
    s = "".join(c if c.isprintable() else "?" for c in str(text)[: limit + 1])
    return s if len(s) <= limit else s[:limit] + "…"


class BlockedAddress(OSError):
    """A host resolved to an address the policy forbids (an OSError, so aiohttp wraps it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AddressPolicy:
    """Which target addresses a download may connect to."""

    def __init__(self, *, allow_loopback: bool = False, allow_private: bool = False) -> None:
        self.allow_loopback = allow_loopback
        self.allow_private = allow_private

    @staticmethod
    def classify(ip: IPAddress) -> tuple[str, bool] | None:
        """``(kind, is_local_host)`` for a non-global address, ``None`` for a global one."""
        if isinstance(ip, ipaddress.IPv6Address):  # judge an embedded IPv4 address by itself
            nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
            inner = ip.ipv4_mapped or nat64 or ip.sixtofour
            if inner is not None:
                return AddressPolicy.classify(inner)
        if ip.is_loopback:
            return "loopback", True
        if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NET):
            return "unspecified", True  # Linux connects 0.0.0.0 to the local host
        if ip.is_link_local:
            return "link-local", False
        if ip.is_multicast:
            return "multicast", False
        if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
            return "CGNAT (shared)", False
        if isinstance(ip, ipaddress.IPv6Address) and ip in _ULA:
            return "private (unique-local)", False
        if ip.is_reserved:
            return "reserved", False
        if ip.is_private:
            return "private", False
        if not ip.is_global:
            return "non-global", False
        return None

    def check(self, address: str) -> str | None:
        """The refusal reason for this IP address string, or ``None`` when allowed."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"blocked: invalid address {_clip(address)}"
        found = self.classify(ip)
        if found is None:
            return None
        kind, local = found
        if self.allow_loopback if local else self.allow_private:
            return None
        return f"blocked: {kind} address {_clip(address)}"

    def check_literal(self, host: str) -> str | None:
        """For a URL host that is (or looks like) an IP literal: its refusal reason.

        Anything aiohttp would take for an IP literal without resolving it
        (digits and dots, or a colon) must parse as an address here, or it is refused.
        """
        h = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        looks_literal = ":" in h or h.replace(".", "").isdigit()
        try:
            ipaddress.ip_address(h)
        except ValueError:
            return f"blocked: invalid IP address literal {_clip(host)}" if looks_literal else None
        return self.check(h)
