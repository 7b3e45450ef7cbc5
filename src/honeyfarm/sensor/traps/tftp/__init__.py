# SPDX-License-Identifier: MIT
"""The TFTP trap (udp): tftpd-hpa's answers; WRQ uploads captured, RRQ answered from a small persona."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.tftp.server import TFTPTrap


async def build(ctx: SensorContext) -> TFTPTrap:
    from honeyfarm.sensor.traps.tftp.server import TFTPTrap

    return TFTPTrap(ctx)
