# SPDX-License-Identifier: MIT
"""The FTP trap: vsftpd 3.0.3 as Debian 12 ships it; logins logged, uploads captured, passive mode only."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.ftp.server import FTPTrap


async def build(ctx: SensorContext) -> FTPTrap:
    from honeyfarm.sensor.traps.ftp.server import FTPTrap

    return FTPTrap(ctx)
