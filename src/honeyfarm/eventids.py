# SPDX-License-Identifier: MIT
"""The registry of event ids.

Every ``eventid`` honeyfarm emits or maps is listed here with its meaning.
Cowrie-class events keep Cowrie's own ids so that existing Cowrie dashboards,
queries and habits carry over. A test checks that this registry, the parsers
that map ids (``formats/*``) and ``docs/eventids.md`` agree, as Cowrie's own
``eventids.py`` / ``docs/OUTPUT.rst`` pair does.

Ids not in the registry are still ingested unchanged (a newer Cowrie may add
one); ``honeyfarm report eventids`` shows them so they can be added here.
"""

from __future__ import annotations

EVENT_IDS: dict[str, str] = {
    # --- Cowrie (SSH/Telnet) ------------------------------------------------
    "cowrie.session.connect": "New TCP connection to the SSH or Telnet trap.",
    "cowrie.session.closed": "Connection closed; `duration` holds its length in seconds.",
    "cowrie.session.params": "Session parameters (architecture of the emulated host).",
    "cowrie.session.file_download": "A command (wget, curl, tftp, ftpget) fetched a file; `url`, `sha256`.",
    "cowrie.session.file_download.failed": "A download attempted by a command failed; `url`.",
    "cowrie.session.file_upload": "A file was uploaded (SCP, SFTP, redirection); `sha256`.",
    "cowrie.session.input": "Raw input on a session (old Cowrie releases).",
    "cowrie.client.version": "SSH client identification string; `client_version` (old releases also carry kex lists).",
    "cowrie.client.kex": "SSH client key-exchange proposal; `hassh`.",
    "cowrie.client.fingerprint": "Public key offered for authentication; key fingerprint in `extra`.",
    "cowrie.client.size": "Terminal size (width, height) requested by the client.",
    "cowrie.client.var": "Environment variable sent by the client (name, value in `extra`).",
    "cowrie.login.success": "Successful login; `username`, `password`.",
    "cowrie.login.failed": "Failed login; `username`, `password`.",
    "cowrie.command.input": "Command line entered in the shell or sent for exec; `command`.",
    "cowrie.command.success": "Command recognised by the emulated shell (old releases); `command`.",
    "cowrie.command.failed": "Command not found in the emulated shell; `command`.",
    "cowrie.direct-tcpip.request": "Request to proxy TCP through the honeypot; target in `dst_ip`/`dst_port`.",
    "cowrie.direct-tcpip.data": "Data sent through a refused proxy request; target in `dst_ip`/`dst_port`.",
    "cowrie.log.open": "TTY log opened (old releases).",
    "cowrie.log.closed": "TTY log closed; `duration`, log name and size in `extra`.",
    "cowrie.virustotal.scanfile": "Cowrie's VirusTotal plugin scanned a file; `sha256`.",
    "cowrie.virustotal.scanurl": "Cowrie's VirusTotal plugin scanned a URL; `url`.",
    # --- honeyfarm's own sensor -------------------------------------------------
    "honeyfarm.sensor.start": "The sensor started; listening addresses in `extra`.",
    "honeyfarm.sensor.stop": "The sensor stopped; event counts of the run in `extra`.",
    "honeyfarm.sensor.spool_full": "The spool passed `spool.max_bytes`; `extra.dropped` events were not written.",
}

#: Event id prefix (honeypot) of each eventid family.
HONEYPOTS: tuple[str, ...] = ("cowrie", "honeyfarm")


def describe(eventid: str) -> str | None:
    """Meaning of ``eventid``, or ``None`` when the registry does not know it."""
    return EVENT_IDS.get(eventid)


def honeypot_of(eventid: str) -> str:
    """The ``<honeypot>`` part of a dotted id."""
    return eventid.split(".", 1)[0]
