# SPDX-License-Identifier: MIT
"""The SMB trap: a Windows Server 2016 file server as SMB1/2/3 clients and worms see it (445 and NetBIOS 139);
NTLMSSP logins, share writes, DCE/RPC on named pipes and the MS17-010/DoublePulsar probes logged."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.smb.server import SMBTrap


async def build(ctx: SensorContext) -> SMBTrap:
    from honeyfarm.sensor.traps.smb.server import SMBTrap

    return SMBTrap(ctx)
