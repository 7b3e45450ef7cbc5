# SPDX-License-Identifier: MIT
"""honeyfarm sensor: one asyncio process running the SSH and Telnet traps."""
