# SPDX-License-Identifier: MIT
"""honeyfarm: run honeypots and analyse what they catch, without losing a log line."""

from __future__ import annotations

__version__ = "0.1.0"
