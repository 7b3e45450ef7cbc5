# SPDX-License-Identifier: MIT
"""The Telnet trap: inetutils-telnetd or BusyBox telnetd, byte for byte."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.telnet.server import TelnetTrap


async def build(ctx: SensorContext) -> TelnetTrap:
    from honeyfarm.sensor.traps.telnet.server import TelnetTrap

    return TelnetTrap(ctx)
