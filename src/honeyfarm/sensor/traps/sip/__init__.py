# SPDX-License-Identifier: MIT
"""The SIP trap (udp and tcp 5060): OPTIONS, REGISTER digest logins and INVITEs of VoIP scanners logged."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.sip.server import SIPTrap


async def build(ctx: SensorContext) -> SIPTrap:
    from honeyfarm.sensor.traps.sip.server import SIPTrap

    return SIPTrap(ctx)
