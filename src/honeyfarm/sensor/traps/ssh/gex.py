# SPDX-License-Identifier: MIT
"""Diffie-Hellman group exchange chosen the way sshd chooses it.

asyncssh answers a group-exchange request from its own five built-in groups
(down to 1024 bits). sshd clamps the request to [2048, 8192], refuses an
inconsistent one, and picks a random prime of the best size from
``/etc/ssh/moduli``, falling back to the fixed groups 14/16/18 when no prime
fits (``choose_dh`` and ``dh_new_group_fallback`` in OpenSSH's ``dh.c``).
ssh-audit probes exactly this (its GEX modulus test and "GEX fallback"
check), so the trap copies it. The moduli file is the host's own when it has
one — the case on a Debian sensor with openssh-server installed — else a small
subset of Debian's file shipped with honeyfarm.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from functools import lru_cache
from hashlib import sha256
from importlib import resources
from pathlib import Path
from typing import Any

from asyncssh.kex import _kex_handlers
from asyncssh.kex_dh import _group14_g, _group14_p, _group16_g, _group16_p, _group18_g, _group18_p
from asyncssh.misc import ProtocolError
from asyncssh.packet import MPInt

from honeyfarm.sensor.traps.ssh import ffdh

DH_GRP_MIN, DH_GRP_MAX = 2048, 8192
SYSTEM_MODULI = Path("/etc/ssh/moduli")
MSG_KEX_DH_GEX_REQUEST_OLD, MSG_KEX_DH_GEX_REQUEST = 30, 34


@lru_cache(maxsize=4)
def load_moduli(path: str | None) -> tuple[tuple[int, int, int], ...]:
    """(size in bits, g, p) of each usable line, as sshd's ``parse_prime`` reads them."""
    if path is not None and Path(path).is_file():
        text = Path(path).read_text(encoding="ascii", errors="replace")
    else:
        text = resources.files("honeyfarm.sensor").joinpath("data/moduli").read_text(encoding="ascii")
    out: list[tuple[int, int, int]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 7 or line.startswith("#"):
            continue
        _, mtype, tests, _tries, size, gen, modulus = parts
        try:
            # sshd's parse_prime: a safe prime (type 2) that passed a test other than "composite".
            if mtype != "2" or int(tests) & 0x01 or not int(tests) & ~0x01:
                continue
            p = int(modulus, 16)
            g = int(gen, 16)
            bits = int(size) + 1  # "The whole group is one bit larger"
        except ValueError:
            continue
        if p.bit_length() != bits:
            continue
        out.append((bits, g, p))
    return tuple(out)


def choose_dh(moduli: tuple[tuple[int, int, int], ...], lo: int, want: int, hi: int) -> tuple[int, int]:
    best = count = 0
    for size, _, _ in moduli:
        if size > hi or size < lo:
            continue
        if (size > want and size < best) or (size > best and best < want):
            best, count = size, 0
        if size == best:
            count += 1
    if count == 0:
        return fallback_group(hi)
    which = secrets.randbelow(count)
    for size, g, p in moduli:
        if size == best:
            if which == 0:
                return g, p
            which -= 1
    return fallback_group(hi)  # pragma: no cover


def fallback_group(hi: int) -> tuple[int, int]:
    if hi < 3072:
        return _group14_g, _group14_p
    if hi < 6144:
        return _group16_g, _group16_p
    return _group18_g, _group18_p


class OpenSSHGex(ffdh.IntKexDHGex):
    """asyncssh's group exchange with sshd's group choice (and integer DH, see ffdh)."""

    moduli_path: str | None = str(SYSTEM_MODULI)

    def _process_request(self, pkttype: int, _pktid: int, packet: Any) -> None:
        if self._conn.is_client():
            raise ProtocolError("Unexpected kex request msg")
        if self._p:
            raise ProtocolError("Kex DH group already requested")
        self._gex_data = packet.get_remaining_payload()
        if pkttype == MSG_KEX_DH_GEX_REQUEST_OLD:
            nbits = packet.get_uint32()
            rmin, rmax = DH_GRP_MIN, DH_GRP_MAX
        else:
            rmin, nbits, rmax = packet.get_uint32(), packet.get_uint32(), packet.get_uint32()
        packet.check_end()
        if rmax < rmin or nbits < rmin or rmax < nbits or rmax < DH_GRP_MIN:
            raise ProtocolError("DH GEX group out of range")
        lo, hi = max(DH_GRP_MIN, rmin), min(DH_GRP_MAX, rmax)
        want = min(DH_GRP_MAX, max(DH_GRP_MIN, nbits))
        g, p = choose_dh(load_moduli(self.moduli_path), lo, want, hi)
        self._init_group(g, p)
        self._gex_data += MPInt(p) + MPInt(g)
        self.send_packet(self._group_type, MPInt(p), MPInt(g))

    # asyncssh dispatches through a class-level table: point both request types here.
    _packet_handlers: Mapping[int, Any] = {
        **ffdh.IntKexDHGex._packet_handlers,
        MSG_KEX_DH_GEX_REQUEST_OLD: _process_request,
        MSG_KEX_DH_GEX_REQUEST: _process_request,
    }


def install(moduli_path: str | None = str(SYSTEM_MODULI)) -> None:
    """Serve ``diffie-hellman-group-exchange-sha256`` with :class:`OpenSSHGex`, every other
    finite-field DH algorithm with :mod:`honeyfarm.sensor.traps.ssh.ffdh`."""
    ffdh.install()
    OpenSSHGex.moduli_path = moduli_path
    load_moduli(moduli_path)  # parsed once here (~3 ms for Debian's file), not in a client's handshake
    _kex_handlers[b"diffie-hellman-group-exchange-sha256"] = (OpenSSHGex, sha256, ())
