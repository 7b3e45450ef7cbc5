# SPDX-License-Identifier: MIT
"""The Docker Engine API trap: an unauthenticated dockerd 20.10 (Debian 12's docker.io) on tcp/2375.

Enough of the API for the real ``docker`` CLI (``docker -H tcp://… run …``) and the bots that
script it: ping, version, info, pull, create, start, attach, wait, exec, logs, kill, remove.
Nothing is run; images, commands, environment, binds and privileges are logged and every URL in
a command is fetched by the sensor's downloader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.docker.server import DockerTrap


async def build(ctx: SensorContext) -> DockerTrap:
    from honeyfarm.sensor.traps.docker.server import DockerTrap

    return DockerTrap(ctx)
