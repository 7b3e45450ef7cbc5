# SPDX-License-Identifier: MIT
"""Panel names, importable without DuckDB/pyarrow (the CLI's help text and the sensor use it).

``tests/test_panels.py`` checks that this list and :data:`honeyfarm.analysis.panels.PANELS` agree.
"""

from __future__ import annotations

PANEL_NAMES: tuple[str, ...] = (
    "overview",
    "top-usernames",
    "top-passwords",
    "top-credentials",
    "top-commands",
    "top-countries",
    "top-asns",
    "top-ips",
    "timeline",
    "client-versions",
    "hassh",
    "downloads",
    "eventids",
)
