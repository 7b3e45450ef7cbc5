# SPDX-License-Identifier: MIT
"""The environment a session starts with, as sshd and bash give it.

Fingerprinting scripts run ``env`` and compare it with a real host: ``SSH_CONNECTION`` and
``SSH_CLIENT`` must carry the real client address and ports, ``SSH_TTY`` and ``TERM`` exist only
with a pty, ``PATH`` is sshd's for a non-login ``bash -c`` and ``/etc/profile``'s for a login
shell, and the order is bash's: it exports its variables by walking a 1024-bucket FNV-1 hash
table, then appends ``_``.
"""

from __future__ import annotations

import re

__all__ = ["ACCEPT_ENV", "bash_env_order", "ssh_env"]

# Debian 12's sshd_config: AcceptEnv LANG LC_*
ACCEPT_ENV = re.compile(r"LANG|LC_[A-Z_]{1,32}")
SUPERUSER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/games"  # sshd's _PATH_STDPATH (exec channels)
LOGIN_USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"  # /etc/profile
_NOT_FROM_SSHD = ("MAIL", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "TERM")


def _fnv1(name: str) -> int:
    h = 2166136261
    for c in name.encode():
        h = (h * 16777619) & 0xFFFFFFFF
        h ^= c
    return h


def bash_env_order(env: dict[str, str]) -> dict[str, str]:
    """``env`` in the order bash 5.2 exports it (hash bucket order, ``_`` last)."""
    names = sorted((n for n in env if n != "_"), key=lambda n: _fnv1(n) & 1023)
    out = {n: env[n] for n in names}
    if "_" in env:
        out["_"] = env["_"]
    return out


def ssh_env(
    base: dict[str, str],
    *,
    uid: int,
    src: tuple[str, int],
    dst: tuple[str, int],
    term: str | None,
    tty: str | None,
    login: bool,
    client_env: dict[str, str],
) -> dict[str, str]:
    """The session's environment: ``base`` (the shell's defaults) dressed as sshd + bash dress it.

    ``tty`` is ``/dev/pts/N`` when the client asked for a pty; ``login`` is true for a shell
    channel (bash runs as a login shell and reads /etc/profile), false for exec channels.
    """
    env = {k: v for k, v in base.items() if k not in _NOT_FROM_SSHD}
    env["MOTD_SHOWN"] = "pam"
    env["SSH_CONNECTION"] = f"{src[0]} {src[1]} {dst[0]} {dst[1]}"
    env["SSH_CLIENT"] = f"{src[0]} {src[1]} {dst[1]}"
    if uid == 0:
        env["PATH"] = SUPERUSER_PATH
    else:
        env["PATH"] = LOGIN_USER_PATH if login else USER_PATH
    if tty is not None:
        env["SSH_TTY"] = tty
        if term:
            env["TERM"] = term[:64]
    for name, value in list(client_env.items())[:32]:
        if ACCEPT_ENV.fullmatch(name):
            env[name] = value[:1024]
    env["_"] = "/usr/bin/env"
    return bash_env_order(env)
