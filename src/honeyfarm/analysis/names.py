# SPDX-License-Identifier: MIT
"""Panel names, importable without DuckDB/pyarrow (the CLI's help text and the sensor use it).

``tests/test_panels.py`` checks that this list and :data:`honeyfarm.analysis.panels.PANELS` agree,
``tests/test_views_traps.py`` the trap panels' list and :data:`honeyfarm.analysis.traps.TRAP_PANELS`,
``tests/test_malware_views.py`` the malware panels' list and :data:`honeyfarm.analysis.malware.PANELS`,
``tests/test_views_services.py`` the service traps' list and :data:`honeyfarm.analysis.services.SERVICE_PANELS`,
``tests/test_views_suricata.py`` Suricata's list and :data:`honeyfarm.analysis.suricata.SURICATA_PANELS`.
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

#: The exploit traps' panels (:data:`honeyfarm.analysis.traps.TRAP_PANELS`), a registry of their own.
TRAP_PANEL_NAMES: tuple[str, ...] = (
    "traps",
    "web-paths",
    "web-attacks",
    "user-agents",
    "redis-commands",
    "docker-commands",
    "elasticsearch-queries",
    "payload-urls",
)

#: The malware panels (:data:`honeyfarm.analysis.malware.PANELS`); ``honeyfarm report malware`` prints them all.
MALWARE_PANEL_NAMES: tuple[str, ...] = (
    "malware-families",
    "malware-files",
    "malware-sources",
    "malware-timeline",
    "malware-sensors",
)

#: The service traps' panels (:data:`honeyfarm.analysis.services.SERVICE_PANELS`); ``honeyfarm report services``
#: prints them all.
SERVICE_PANEL_NAMES: tuple[str, ...] = (
    "service-overview",
    "service-logins",
    "service-uploads",
    "smb-dialects",
    "smb-pipes",
    "smb-exploits",
    "smb-shares",
    "sql-commands",
    "sql-shell",
    "sip-agents",
    "sip-extensions",
    "catchall-ports",
    "catchall-guesses",
)

#: Suricata's panels (:data:`honeyfarm.analysis.suricata.SURICATA_PANELS`); ``honeyfarm report suricata`` prints
#: them all.
SURICATA_PANEL_NAMES: tuple[str, ...] = (
    "suricata-signatures",
    "suricata-categories",
    "suricata-severities",
    "suricata-cves",
    "suricata-sources",
    "suricata-countries",
    "suricata-asns",
    "suricata-sensors",
    "suricata-event-types",
    "suricata-protocols",
    "suricata-files",
    "suricata-urls",
)
