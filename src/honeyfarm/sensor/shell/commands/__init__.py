# SPDX-License-Identifier: MIT
"""The shell's commands: a registry filled by the family modules on import."""
