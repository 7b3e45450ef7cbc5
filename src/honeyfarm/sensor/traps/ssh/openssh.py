# SPDX-License-Identifier: MIT
"""What a real OpenSSH release looks like on the wire, and asyncssh made to match it.

Scanners (ssh-audit, nmap's ssh2-enum-algos, Shodan's hasshServer) tell a
honeypot from a real server by its KEXINIT: the algorithm names *and their
order*. Cowrie advertises a list no OpenSSH release ever sent (SHA-1/MD5 MACs,
CBC ciphers, ``ext-info-s`` behind a 9.2 banner). This module holds the lists
Debian 12's ``sshd`` (OpenSSH 9.2p1) sends, copied from a real server
(``../shared/peers/evidence/kexinit-openssh-2223.txt``, re-checked by
``tests/test_ssh_fingerprint.py`` against a real sshd on every run).

Two gaps in asyncssh are closed here:

* ``sntrup761x25519-sha512`` needs liboqs in asyncssh; Debian 12 ships no
  liboqs, so the Streamlined NTRU Prime KEM comes from the ``pqcrypto`` wheel
  (PQClean's reference code) and is registered with asyncssh's hybrid kex.
* asyncssh's server always adds ``ext-info-s`` (OpenSSH ≥ 9.6); 9.2 only adds
  ``kex-strict-s-v00@openssh.com``. :class:`ProfiledServerConnection` drops it.

The rest of sshd's wire behaviour (identification string, EXT_INFO, DISCONNECT
texts, padding, auth bookkeeping) is :mod:`honeyfarm.sensor.traps.ssh.wire`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from hashlib import md5, sha512
from typing import Any

import asyncssh
from asyncssh.crypto import Curve25519DH
from asyncssh.kex import get_kex_algs, register_kex_alg
from asyncssh.kex_dh import _KexHybridECDH

from honeyfarm.sensor.traps.ssh.wire import SshdWireConnection


@dataclass(frozen=True)
class SSHProfile:
    name: str
    kex: tuple[str, ...]
    host_key: tuple[str, ...]
    ciphers: tuple[str, ...]
    macs: tuple[str, ...]
    compression: tuple[str, ...]
    # Appended to kex by the server itself, as OpenSSH does (not configurable there either).
    kex_extra: tuple[str, ...]
    # Key types in the order sshd's HostKey lines load them (Debian's default sshd_config).
    host_key_types: tuple[str, ...]

    @property
    def hassh_server(self) -> str:
        """HASSH of the server side: md5 of ``kex;ciphers;macs;compression`` (as sent)."""
        kex = ",".join(self.kex + self.kex_extra)
        text = ";".join((kex, ",".join(self.ciphers), ",".join(self.macs), ",".join(self.compression)))
        return md5(text.encode(), usedforsecurity=False).hexdigest()


OPENSSH_92_DEBIAN12 = SSHProfile(
    name="openssh-9.2p1-debian12",
    kex=(
        "sntrup761x25519-sha512",
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
    ),
    host_key=("rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256", "ssh-ed25519"),
    ciphers=(
        "chacha20-poly1305@openssh.com",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
    ),
    macs=(
        "umac-64-etm@openssh.com",
        "umac-128-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha1-etm@openssh.com",
        "umac-64@openssh.com",
        "umac-128@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "hmac-sha1",
    ),
    compression=("none", "zlib@openssh.com"),
    kex_extra=("kex-strict-s-v00@openssh.com",),
    host_key_types=("rsa", "ecdsa", "ed25519"),
)

PROFILES: dict[str, SSHProfile] = {OPENSSH_92_DEBIAN12.name: OPENSSH_92_DEBIAN12}


class _PQCryptoSNTRUP:
    """asyncssh's PQ KEM interface over ``pqcrypto.kem.sntrup_761``."""

    pubkey_bytes, privkey_bytes, ciphertext_bytes, secret_bytes = 1158, 1763, 1039, 32

    def __init__(self, alg_name: bytes) -> None:
        from pqcrypto.kem import sntrup_761

        self._kem = sntrup_761
        self._pk: bytes | None = None
        self._sk: bytes | None = None

    def get_public(self) -> bytes:  # client side only (tests, never the trap)
        if self._pk is None:
            self._pk, self._sk = self._kem.keygen()
        return self._pk

    def encaps(self, peer_public: bytes) -> tuple[bytes, bytes]:
        if len(peer_public) != self.pubkey_bytes:
            raise ValueError("Invalid public key")
        ciphertext, secret = self._kem.encaps(peer_public)
        return secret, ciphertext

    def decaps(self, ciphertext: bytes) -> bytes:
        if self._sk is None or len(ciphertext) != self.ciphertext_bytes:
            raise ValueError("Invalid ciphertext")
        return bytes(self._kem.decaps(self._sk, ciphertext))


def _cache_line_editor_table() -> None:
    """asyncssh's line editor rebuilds a regex over the whole BMP for every pty session
    (~17 ms of CPU, more than the rest of a bot's session); build it once per key map."""
    from asyncssh.editor import SSHLineEditor

    if getattr(SSHLineEditor, "_honeyfarm_cached", False):
        return
    build = SSHLineEditor._build_printable
    cache: dict[frozenset[str], Any] = {}

    def cached(self: Any) -> None:
        key = frozenset(self._keymap)
        if key in cache:
            self._printable = cache[key]
            return
        build(self)
        if len(cache) < 64:
            cache[key] = self._printable

    SSHLineEditor._build_printable = cached  # type: ignore[method-assign]
    SSHLineEditor._honeyfarm_cached = True  # type: ignore[attr-defined]


def ensure_algorithms() -> None:
    """Register what asyncssh lacks here, and sshd's group-exchange choice (idempotent)."""
    from honeyfarm.sensor.traps.ssh import gex

    gex.install()
    _cache_line_editor_table()
    have = set(get_kex_algs())
    for name in (b"sntrup761x25519-sha512", b"sntrup761x25519-sha512@openssh.com"):
        if name not in have:
            register_kex_alg(name, _KexHybridECDH, sha512, (_PQCryptoSNTRUP, b"sntrup761", Curve25519DH), True)


class ProfiledServerConnection(SshdWireConnection):
    """asyncssh's server connection with the profile's exact KEXINIT lists (and sshd's wire habits)."""

    profile: SSHProfile = OPENSSH_92_DEBIAN12

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Host key algorithms in sshd's order, not in the order asyncssh derives from the keys.
        self._server_host_key_algs = [a.encode() for a in self.profile.host_key]

    def _get_extra_kex_algs(self) -> list[bytes]:
        return [a.encode() for a in self.profile.kex_extra]


def options_kwargs(profile: SSHProfile) -> dict[str, Any]:
    """Keyword arguments for :class:`asyncssh.SSHServerConnectionOptions`."""
    ensure_algorithms()
    return {
        "kex_algs": list(profile.kex),
        "encryption_algs": list(profile.ciphers),
        "mac_algs": list(profile.macs),
        "compression_algs": list(profile.compression),
        "signature_algs": list(profile.host_key),
    }


def auth_failure_delay(mean: float, rng: random.Random | None = None, now: float | None = None) -> float:
    """PAM's failure delay for a request of ``mean`` seconds (pam_unix asks for 2 s).

    Linux-PAM 1.5.2 (Debian 12) stretches it to 0.5-1.5x with a generator seeded by the
    second the attempt starts in (``now``, default the clock; ``rng`` draws a random seed
    instead), so attempts within one second wait alike. sshd then rounds the wait up to its
    per-user grid: :meth:`honeyfarm.sensor.authtiming.SSHDTiming.failure_wait`. Cowrie
    waits a fixed 1 s, a timing tell.
    """
    import time

    from honeyfarm.sensor.authtiming import pam_fail_delay

    seed = rng.getrandbits(32) if rng is not None else int(time.time() if now is None else now)
    return pam_fail_delay(mean, seed)


def banner_delay(mean: float, rng: random.Random | None = None) -> float:
    """Delay before the identification string: sshd's fork + re-exec, ±30%."""
    return mean * (rng or random).uniform(0.7, 1.3)


def load_host_keys(profile: SSHProfile, key_dir: Any) -> list[asyncssh.SSHKey]:
    """Host keys in the profile's order, generated on first start like ``ssh-keygen -A``."""
    from pathlib import Path

    d = Path(key_dir)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys: list[asyncssh.SSHKey] = []
    algs = {"rsa": "ssh-rsa", "ecdsa": "ecdsa-sha2-nistp256", "ed25519": "ssh-ed25519"}
    for kind in profile.host_key_types:
        path = d / f"ssh_host_{kind}_key"
        if path.exists():
            keys.append(asyncssh.read_private_key(str(path)))
            continue
        # ssh-keygen's default RSA size since OpenSSH 9.0 (what ssh-audit and nmap report) is 3072.
        key = (
            asyncssh.generate_private_key(algs[kind], key_size=3072)
            if kind == "rsa"
            else (asyncssh.generate_private_key(algs[kind]))
        )
        tmp = path.with_suffix(".tmp")
        key.write_private_key(str(tmp))
        tmp.chmod(0o600)
        tmp.replace(path)
        keys.append(key)
    return keys
