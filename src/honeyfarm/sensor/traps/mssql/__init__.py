# SPDX-License-Identifier: MIT
"""The MSSQL trap: SQL Server 2019 over TDS; LOGIN7 credentials captured, batches and xp_cmdshell logged."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.mssql.server import MSSQLTrap


async def build(ctx: SensorContext) -> MSSQLTrap:
    from honeyfarm.sensor.traps.mssql.server import MSSQLTrap

    return MSSQLTrap(ctx)
