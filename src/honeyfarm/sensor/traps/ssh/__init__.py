# SPDX-License-Identifier: MIT
"""The SSH trap: OpenSSH 9.2p1 on the wire (asyncssh underneath), sessions, exec, pty, SFTP/SCP."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.ssh.server import SSHTrap


async def build(ctx: SensorContext) -> SSHTrap:
    """Host keys (made on first start, kept in ``ssh.host_key_dir``) and the trap."""
    from honeyfarm.sensor.traps.ssh.openssh import PROFILES, load_host_keys
    from honeyfarm.sensor.traps.ssh.server import SSHTrap

    cfg = ctx.cfg.ssh
    keys = load_host_keys(PROFILES[cfg.profile], cfg.host_key_dir or ctx.spool_dir / "keys")
    return SSHTrap(ctx, keys)
