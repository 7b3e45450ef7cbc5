# SPDX-License-Identifier: MIT
"""Wall time per stage of a job (ingest's map, GeoIP, dedup, write, rollups, commit, ...).

``bench/ingest.py`` prints these, so where ingest's time goes is measured by the
benchmark rather than guessed. Stages wrap whole batch steps, never per-event work.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(stages: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the wall time of the ``with`` block to ``stages[stage]`` (nothing when ``stages`` is None)."""
    t = time.perf_counter()
    try:
        yield
    finally:
        if stages is not None:
            stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - t
