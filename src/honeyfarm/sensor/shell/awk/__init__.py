# SPDX-License-Identifier: MIT
"""awk for the fake shell: lexer, parser and interpreter with step budgets."""
