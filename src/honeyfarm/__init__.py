# SPDX-License-Identifier: MIT
"""honeyfarm: run honeypots and analyse what they catch, without losing a log line."""

from __future__ import annotations

import warnings

__version__ = "0.1.0"

# cryptography 51 deprecates DSA, and asyncssh names its DSA classes in type
# annotations evaluated when asyncssh is imported, so every import warns. honeyfarm
# never uses DSA (sshd 9.2p1, which the trap imitates, offers no ssh-dss key), so
# this one warning, from asyncssh's modules only, is silenced; any other warning,
# cryptography's FFDH deprecation included (honeyfarm.sensor.traps.ssh.ffdh avoids that API),
# still shows. pyproject.toml's pytest filterwarnings carries the same entry.
warnings.filterwarnings("ignore", message=r"DSA is deprecated", category=Warning, module=r"asyncssh\.")
