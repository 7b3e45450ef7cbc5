# SPDX-License-Identifier: MIT
"""The persona's filesystem: the read-only tree, per-session changes, /proc, per-address persistence."""
