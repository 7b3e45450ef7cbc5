# SPDX-License-Identifier: MIT
"""The MySQL trap: Debian 12's MariaDB 10.11 handshake; credentials captured, queries and UDF/DUMPFILE blobs logged."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.mysql.server import MySQLTrap


async def build(ctx: SensorContext) -> MySQLTrap:
    from honeyfarm.sensor.traps.mysql.server import MySQLTrap

    return MySQLTrap(ctx)
