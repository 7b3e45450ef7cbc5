# SPDX-License-Identifier: MIT
"""``/api/suricata/...``: the Suricata view's answers beyond the report panels (documented in docs/dashboard.md).

The Suricata panels (``suricata-signatures``, ``suricata-cves``, ...) are
served by ``/api/panels/{name}`` like every other panel; this router adds what
only the view draws: alerts over time, one series per severity, category or
signature. Same filters, same answer cache.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from honeyfarm.analysis.panels import Filters
from honeyfarm.analysis.suricata import alert_timeline, span
from honeyfarm.views.web import queries
from honeyfarm.views.web.api import FiltersDep, StateDep, _key

router = APIRouter(prefix="/api/suricata")


@router.get("/timeline", summary="Suricata alerts over time, one series per severity, category or signature")
def timeline(
    request: Request,
    st: StateDep,
    f: FiltersDep,
    bucket: Annotated[Literal["hour", "day", "auto"], Query(description="Bucket size.")] = "auto",
    by: Annotated[Literal["severity", "category", "signature"], Query(description="Split series by.")] = "severity",
    series: Annotated[int, Query(ge=1, le=20, description="Series kept; the rest is 'other'.")] = 6,
) -> dict[str, Any]:
    """Columns ``bucket, series`` (``1 high``, a category or a signature; ``other``), ``events`` (alerts);
    ``bucket`` (the size) too."""
    return st.reader.run(lambda con: _timeline(con, f, bucket, by, series), key=_key(request))


def _timeline(con: Any, f: Filters, bucket: str, by: str, series: int) -> dict[str, Any]:
    if bucket == "auto":
        bucket = "day" if span(con, f) > dt.timedelta(days=4) else "hour"
    out = queries.arrow_table(alert_timeline(con, f, bucket=bucket, by=by, limit=series))
    out["bucket"] = bucket
    return out
