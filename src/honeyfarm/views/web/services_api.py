# SPDX-License-Identifier: MIT
"""``/api/services/...``: the Services view's answers beyond the report panels (documented in docs/dashboard.md).

The service traps' panels (``service-overview``, ``smb-dialects``, ...) are
served by ``/api/panels/{name}`` like every other panel; this router adds what
only the view draws: the service traps' events over time, one series per trap.
Same filters, same answer cache.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from honeyfarm.analysis.panels import Filters
from honeyfarm.analysis.services import service_timeline, span
from honeyfarm.views.web import queries
from honeyfarm.views.web.api import FiltersDep, StateDep, _key

router = APIRouter(prefix="/api/services")


@router.get("/timeline", summary="Service trap events over time, one series per trap")
def timeline(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    bucket: Annotated[Literal["hour", "day", "auto"], Query(description="Bucket size.")] = "auto",
) -> dict[str, Any]:
    """Columns ``bucket, series`` (the trap: ``smb``, ``ftp``, ...), ``events``; ``bucket`` (the size) too."""
    return st.reader.run(lambda con: _timeline(con, f, bucket), key=_key(request))


def _timeline(con: Any, f: Filters, bucket: str) -> dict[str, Any]:
    if bucket == "auto":
        bucket = "day" if span(con, f) > dt.timedelta(days=4) else "hour"
    out = queries.arrow_table(service_timeline(con, f, bucket=bucket))
    out["bucket"] = bucket
    return out
