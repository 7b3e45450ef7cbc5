# SPDX-License-Identifier: MIT
"""Finite-field Diffie-Hellman for the SSH trap, computed with Python integers.

OpenSSH 9.2p1 offers ``diffie-hellman-group14/16/18`` and group exchange, so the
trap must too (scanners and old bots use them). asyncssh computes them through
``cryptography``'s ``dh`` module, which cryptography 51 deprecates ("will be
removed in a future release", a warning on every handshake) and which validates
the group prime on every handshake (an 8192-bit group-exchange request blocked
the event loop for over a minute). A modular exponentiation is all DH needs:
``pow(g, x, p)`` with a private exponent of the size OpenSSH uses (twice the
bits the negotiated cipher and MAC need, here a fixed 1024 bits, the most any
OpenSSH cipher asks for), and the same checks of the peer's public value as
OpenSSH's ``dh_pub_is_valid``. The groups themselves are RFC 3526's and the
moduli file's safe primes, checked once when they are loaded, not per client.

:func:`install` replaces asyncssh's handlers of every finite-field DH kex
algorithm with these, so nothing the sensor negotiates touches the deprecated
API, and the sensor keeps working when cryptography removes it.
"""

from __future__ import annotations

import secrets
from typing import Any

from asyncssh.kex import _kex_handlers
from asyncssh.kex_dh import _KexDH, _KexDHGex
from asyncssh.misc import ProtocolError
from asyncssh.packet import MPInt

# OpenSSH: dh_gen_key(dh, need) sets a private exponent of min(2 * need, bits(p) - 1)
# bits, where need is the negotiated cipher/MAC key size in bits (at most 512).
EXPONENT_BITS = 1024


def pub_is_valid(value: int, p: int) -> bool:
    """OpenSSH's ``dh_pub_is_valid``: 1 < value < p - 1 and more than one bit set."""
    return 1 < value < p - 1 and value.bit_count() > 1


class IntDH:
    """One side of a finite-field DH exchange (asyncssh's ``DH`` interface)."""

    def __init__(self, g: int, p: int) -> None:
        self._g, self._p = g, p
        bits = min(EXPONENT_BITS, p.bit_length() - 1)
        # A random exponent in [2, 2**bits), as OpenSSL's DH_generate_key with a length set.
        self._x = secrets.randbits(bits) | 2
        self._y = pow(g, self._x, p)

    def get_public(self) -> int:
        return self._y

    def get_shared(self, peer_public: int) -> int:
        if not pub_is_valid(peer_public, self._p):
            raise ProtocolError("Invalid DH public value")
        return pow(peer_public, self._x, self._p)


class IntDHMixin:
    """Overrides the two places asyncssh's ``_KexDHBase`` creates its ``DH``."""

    _g: int
    _p: int
    _e: int
    _f: int
    _dh: Any

    def _perform_init(self) -> None:  # the client side
        self._dh = IntDH(self._g, self._p)
        self._e = self._dh.get_public()
        self._send_init()  # type: ignore[attr-defined]

    def _compute_server_shared(self) -> bytes:
        if not 1 <= self._e < self._p:
            raise ProtocolError("Kex DH e out of range")
        self._dh = IntDH(self._g, self._p)
        self._f = self._dh.get_public()
        return MPInt(self._dh.get_shared(self._e))


class IntKexDH(IntDHMixin, _KexDH):
    """``diffie-hellman-group*`` with :class:`IntDH`."""


class IntKexDHGex(IntDHMixin, _KexDHGex):
    """``diffie-hellman-group-exchange-*`` with :class:`IntDH` (asyncssh's group choice)."""


def install() -> None:
    """Point asyncssh's fixed-group and group-exchange handlers at the integer versions (idempotent)."""
    for alg, (handler, hash_alg, args) in list(_kex_handlers.items()):
        if handler is _KexDH:
            _kex_handlers[alg] = (IntKexDH, hash_alg, args)
        elif handler is _KexDHGex:
            _kex_handlers[alg] = (IntKexDHGex, hash_alg, args)
