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

On the server side the two exponentiations (``f = g^y`` and ``K = e^y``) cost
up to ~250 ms for an 8192-bit group, so the reply to KEXDH_INIT is computed in
the worker process of :mod:`honeyfarm.sensor.traps.ssh.offload` when one is attached
(:func:`use_offload`). asyncssh supports this without a fork: a packet handler
that returns an awaitable is run as a task, and asyncssh buffers the
connection's further input until it finishes (``_recv_packet`` in
``asyncssh/connection.py``), which is how its own KEXINIT handler works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from asyncssh.kex import _kex_handlers
from asyncssh.kex_dh import (
    MSG_KEX_DH_GEX_INIT,
    MSG_KEXDH_INIT,
    _KexDH,
    _KexDHGex,
)
from asyncssh.misc import ProtocolError
from asyncssh.packet import MPInt, SSHPacket

from honeyfarm.sensor.traps.ssh.offload import EXPONENT_BITS, DHOffload, OffloadBusy, private_exponent, server_keys

__all__ = ["EXPONENT_BITS", "IntDH", "IntKexDH", "IntKexDHGex", "install", "pub_is_valid", "use_offload"]


def pub_is_valid(value: int, p: int) -> bool:
    """OpenSSH's ``dh_pub_is_valid``: 1 < value < p - 1 and more than one bit set."""
    return 1 < value < p - 1 and value.bit_count() > 1


class IntDH:
    """One side of a finite-field DH exchange (asyncssh's ``DH`` interface)."""

    def __init__(self, g: int, p: int) -> None:
        self._g, self._p = g, p
        self._x = private_exponent(p)
        self._y = pow(g, self._x, p)

    def get_public(self) -> int:
        return self._y

    def get_shared(self, peer_public: int) -> int:
        if not pub_is_valid(peer_public, self._p):
            raise ProtocolError("Invalid DH public value")
        return pow(peer_public, self._x, self._p)


class IntDHMixin:
    """Overrides the places asyncssh's ``_KexDHBase`` creates its ``DH``, and its server reply."""

    #: The worker that computes the server's reply; ``None``: computed inline (client side, unit tests).
    offload: ClassVar[DHOffload | None] = None

    _g: int
    _p: int
    _e: int
    _f: int
    _dh: Any
    _conn: Any

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

    async def _process_init_offloaded(self, _pkttype: int, _pktid: int, packet: SSHPacket) -> None:
        """asyncssh's ``_process_init`` + ``_perform_reply``, with (f, K) from the worker."""
        conn = self._conn
        if conn.is_client():
            raise ProtocolError("Unexpected kex init msg")
        self._parse_client_key(packet)  # type: ignore[attr-defined]
        packet.check_end()
        if not 1 <= self._e < self._p:
            raise ProtocolError("Kex DH e out of range")
        if not pub_is_valid(self._e, self._p):
            raise ProtocolError("Invalid DH public value")
        host_key = conn.get_server_host_key()
        assert host_key is not None
        offload = self.offload
        if offload is None or offload.closed:
            self._f, k = server_keys(self._g, self._p, self._e)
        else:
            try:
                self._f, k = await offload.server_keys(self._g, self._p, self._e, alive=_alive(conn))
            except OffloadBusy:
                # sshd's MaxStartups answer: the connection is closed without a word.
                conn._force_close(None)
                return
        if not _alive(conn)():
            return  # the client left while the worker computed
        kb = MPInt(k)
        h = self._compute_hash(host_key.public_data, kb)  # type: ignore[attr-defined]
        self._send_reply(host_key.public_data, host_key.sign(h))  # type: ignore[attr-defined]
        conn.send_newkeys(kb, h)


def _alive(conn: Any) -> Callable[[], bool]:
    """Whether asyncssh still has a transport for ``conn`` (it drops it when the connection closes)."""
    return lambda: getattr(conn, "_transport", None) is not None


class IntKexDH(IntDHMixin, _KexDH):
    """``diffie-hellman-group*`` with :class:`IntDH`."""

    # asyncssh dispatches through a class-level table of plain functions: point INIT here.
    _packet_handlers: Mapping[int, Any] = {
        **_KexDH._packet_handlers,
        MSG_KEXDH_INIT: IntDHMixin._process_init_offloaded,
    }


class IntKexDHGex(IntDHMixin, _KexDHGex):
    """``diffie-hellman-group-exchange-*`` with :class:`IntDH` (asyncssh's group choice)."""

    _packet_handlers: Mapping[int, Any] = {
        **_KexDHGex._packet_handlers,
        MSG_KEX_DH_GEX_INIT: IntDHMixin._process_init_offloaded,
    }


def use_offload(offload: DHOffload | None) -> None:
    """Compute every server-side finite-field DH reply in ``offload``'s worker (``None``: inline).

    A class attribute, because asyncssh creates kex handlers itself from its global
    ``_kex_handlers`` table; the runtime sets it when it starts the worker and clears it at stop.
    """
    IntDHMixin.offload = offload


def install() -> None:
    """Point asyncssh's fixed-group and group-exchange handlers at the integer versions (idempotent)."""
    for alg, (handler, hash_alg, args) in list(_kex_handlers.items()):
        if handler is _KexDH:
            _kex_handlers[alg] = (IntKexDH, hash_alg, args)
        elif handler is _KexDHGex:
            _kex_handlers[alg] = (IntKexDHGex, hash_alg, args)
