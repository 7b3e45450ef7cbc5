# SPDX-License-Identifier: MIT
"""The catch-all listener (Honeytrap-class): any port's first bytes, a protocol guess, TLS JA3/JA4, optional banners."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.catchall.server import CatchAllTrap


async def build(ctx: SensorContext) -> CatchAllTrap:
    from honeyfarm.sensor.traps.catchall.server import CatchAllTrap

    return CatchAllTrap(ctx)
