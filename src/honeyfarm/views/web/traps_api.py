# SPDX-License-Identifier: MIT
"""``/api/traps/...``: the Exploit traps view's answers beyond the report panels (documented in docs/dashboard.md).

The trap panels themselves are served by ``/api/panels/{name}`` like every
other panel; this router adds what only the view draws: trap events over time,
split by attack class, CVE id or trap. Same filters, same answer cache.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from honeyfarm.analysis.panels import Filters
from honeyfarm.analysis.traps import attack_timeline, span
from honeyfarm.views.web import queries
from honeyfarm.views.web.api import FiltersDep, StateDep, _key

router = APIRouter(prefix="/api/traps")


@router.get("/timeline", summary="Exploit trap events over time, by attack class, CVE or trap")
def timeline(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    by: Annotated[Literal["class", "cve", "trap"], Query(description="Split series by this.")] = "class",
    bucket: Annotated[Literal["hour", "day", "auto"], Query(description="Bucket size.")] = "auto",
    limit: Annotated[int, Query(ge=1, le=20, description="Series kept; the rest is 'other'.")] = 6,
) -> dict[str, Any]:
    """Columns ``bucket, series, events``; ``bucket`` (the size) is in the answer too."""
    return st.reader.run(lambda con: _timeline(con, f, by, bucket, limit), key=_key(request))


def _timeline(con: Any, f: Filters, by: str, bucket: str, limit: int) -> dict[str, Any]:
    if bucket == "auto":
        bucket = "day" if span(con, f) > dt.timedelta(days=4) else "hour"
    out = queries.arrow_table(attack_timeline(con, f, by=by, bucket=bucket, limit=limit))
    out["bucket"] = bucket
    return out
