# SPDX-License-Identifier: MIT
"""A full disk while ingesting: one clear message instead of a DuckDB or OS traceback.

Nothing is lost when the disk fills (data is staged, then renamed into place,
and checkpoints move only afterwards), but the raw ``IOException … No space
left on device`` did not say so, nor what to do.
"""

from __future__ import annotations

import errno


class NoSpaceError(Exception):
    """The disk holding the lake (or its staging area) is full."""

    def __init__(self, path: str, committed: bool) -> None:
        if committed:
            state = "this batch's data is in the lake, its checkpoints did not move (a re-run adds no duplicates)"
        else:
            state = "nothing from this batch was committed (checkpoints unchanged)"
        super().__init__(f"no space left on device writing {path}; {state}; free space and re-run")
        self.path = path
        self.committed = committed


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is ENOSPC: an ``OSError``, or DuckDB's/Arrow's IO error saying so."""
    seen: BaseException | None = exc
    for _ in range(8):  # a short cause chain; never loop on a cycle
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = ["NoSpaceError", "is_no_space"]
