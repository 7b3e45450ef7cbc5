# SPDX-License-Identifier: MIT
"""The DH worker process of :mod:`honeyfarm.sensor.traps.ssh.offload`, run as a plain script.

It imports only the standard library, so ``python -I dhworker.py`` costs ~10 MB of RAM where
``python -m honeyfarm.sensor.traps.ssh.offload`` cost 35 MB (the package imports pydantic).
"""

from __future__ import annotations

import secrets
import signal
import sys

# OpenSSH: dh_gen_key(dh, need) sets a private exponent of min(2 * need, bits(p) - 1)
# bits, where need is the negotiated cipher/MAC key size in bits (at most 512).
EXPONENT_BITS = 1024


def private_exponent(p: int) -> int:
    """A random exponent in [2, 2**bits), as OpenSSL's DH_generate_key with a length set."""
    return secrets.randbits(min(EXPONENT_BITS, p.bit_length() - 1)) | 2


def server_keys(g: int, p: int, e: int) -> tuple[int, int]:
    """The server's public value ``f = g^y mod p`` and the shared secret ``K = e^y mod p``."""
    y = private_exponent(p)
    return pow(g, y, p), pow(e, y, p)


def worker_main() -> None:
    """The worker: ``<id> <g> <p> <e>`` (hex) per line in, ``<id> <f> <K>`` (hex) per line out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the sensor, which stops us
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    for line in inp:
        parts = line.split()
        try:
            jid = int(parts[0])
            g, p, e = (int(x, 16) for x in parts[1:4])
            f, k = server_keys(g, p, e)
            out.write(b"%d %x %x\n" % (jid, f, k))
        except (ValueError, IndexError):
            out.write(b"0 ! bad-request\n")
        out.flush()


if __name__ == "__main__":
    worker_main()
