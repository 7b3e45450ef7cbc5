# SPDX-License-Identifier: MIT
"""What the sensor keeps of an attacker's files: downloads, the content store, TTY logs."""
