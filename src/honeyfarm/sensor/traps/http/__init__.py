# SPDX-License-Identifier: MIT
"""The web trap (HTTP and HTTPS): Debian 12's Apache default site or a home router's login page.

Layout: ``server`` (accept, TLS fingerprint, events), ``wire`` (the adapter over aiohttp),
``apache`` and ``router`` (the personas), ``classify`` (attack classes and the exploit rules of
``data/web_rules.toml``), ``answers`` (the output an exploit's probe expects), ``tlshello``
(ClientHello, JA3, JA4), ``cert`` (the self-signed certificate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.http.server import HTTPTrap


async def build(ctx: SensorContext) -> HTTPTrap:
    from honeyfarm.sensor.traps.http.server import HTTPTrap

    return HTTPTrap(ctx)
