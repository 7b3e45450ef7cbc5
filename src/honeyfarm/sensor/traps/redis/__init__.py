# SPDX-License-Identifier: MIT
"""The Redis trap: Debian 12's redis-server 7.0.15 left open, for the cron-write and rogue-master attacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.redis.server import RedisTrap


async def build(ctx: SensorContext) -> RedisTrap:
    from honeyfarm.sensor.traps.redis.server import RedisTrap

    return RedisTrap(ctx)
