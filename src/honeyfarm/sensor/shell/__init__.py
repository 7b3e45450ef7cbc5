# SPDX-License-Identifier: MIT
"""The fake shell every login trap hands its sessions to: bash grammar, commands, filesystem, persona."""
