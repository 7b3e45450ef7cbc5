# SPDX-License-Identifier: MIT
"""The Elasticsearch trap: a single-node Elasticsearch 8 with security off, as scanners and the
official clients see it; its queries and scripts logged, the URLs in them fetched."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.elasticsearch.server import ElasticsearchTrap


async def build(ctx: SensorContext) -> ElasticsearchTrap:
    from honeyfarm.sensor.traps.elasticsearch.server import ElasticsearchTrap

    return ElasticsearchTrap(ctx)
