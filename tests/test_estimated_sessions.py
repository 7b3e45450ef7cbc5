# SPDX-License-Identifier: MIT
"""Distinct sessions on a big lake are HyperLogLog estimates, and every place that shows one says so (≈).

``lake.exact_sessions_max_events`` (default 2M) decides: above it, panels count sessions with DuckDB's
``approx_count_distinct`` (ten times faster on 14M session keys: bench/lake100m.py). The lake here is
small; the setting is lowered to 0 to take the estimated path, and each answer is compared with the exact
one of the same lake: the estimate within 5%, every other column equal, and the estimate marked in the
panel's table, the API (``estimated``), the terminal report (``≈`` and a caption) and the dashboard
(headless Chromium: the Sessions counter and the table headers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lakeutil import hf, write_jsonl, z
from webutil import TestClient, serving

from honeyfarm.analysis.panels import PANELS, Filters, estimated_columns, sessions_estimated
from honeyfarm.config import Config, GeoIPConfig, LakeConfig
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.settings import ServeConfig

T0 = dt.datetime(2026, 4, 1, 0, 0, 0)
SESSIONS = 3000
CLIENTS = ("SSH-2.0-Go", "SSH-2.0-libssh_0.9.6", "SSH-2.0-OpenSSH_8.9p1")
HASSH = ("a" * 32, "b" * 32, "c" * 32)
COMMANDS = ("uname -a", "cat /proc/cpuinfo", "w")
ESTIMATE = LakeConfig(exact_sessions_max_events=0)


def _records() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(SESSIONS):
        t = T0 + dt.timedelta(seconds=97 * i)  # ~3.4 days: sessions across hours and date partitions
        k = i % 3
        base = {"sensor": f"s{i % 4}", "session": f"{i:012x}", "src_ip": f"203.0.113.{i % 200}"}
        out += [
            {**base, "timestamp": z(t), "eventid": "cowrie.session.connect", "dst_port": 22},
            {**base, "timestamp": z(t + dt.timedelta(seconds=1)), "eventid": "cowrie.client.version",
             "version": CLIENTS[k]},
            {**base, "timestamp": z(t + dt.timedelta(seconds=1)), "eventid": "cowrie.client.kex", "hassh": HASSH[k]},
            {**base, "timestamp": z(t + dt.timedelta(seconds=3)), "eventid": "cowrie.command.input",
             "input": COMMANDS[i % 2 + (i % 5 == 0)]},
        ]  # fmt: skip
    return out


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("estimated")
    log = write_jsonl(root / "cowrie.json", _records())
    r = ingest([str(log)], Config(geoip=GeoIPConfig(enabled=False)), root / "lake")
    assert r.ingested == 4 * SESSIONS and not r.errors
    return root / "lake"


def _panel(lake: Path, cfg: LakeConfig | None, name: str) -> Any:
    con = Lake(lake, cfg).connect(2)
    try:
        t = PANELS[name].func(con, Filters(), limit=100)
        return t, sessions_estimated(con)
    finally:
        con.close()


@pytest.mark.parametrize("name", ["overview", "top-commands", "top-ips", "client-versions", "hassh"])
def test_estimated_sessions_are_close_marked_and_the_rest_exact(lake: Path, name: str) -> None:
    exact, on = _panel(lake, None, name)
    assert not on and estimated_columns(exact) == []  # 12,000 events: below the default, exact
    est, on = _panel(lake, ESTIMATE, name)
    assert on and estimated_columns(est) == ["sessions"]
    assert est.column_names == exact.column_names
    key = est.column_names[0]
    a = {r[key]: r for r in exact.to_pylist()}
    b = {r[key]: r for r in est.to_pylist()}
    assert a.keys() == b.keys()
    for k, row in a.items():
        assert abs(b[k]["sessions"] - row["sessions"]) <= max(0.05 * row["sessions"], 2), (k, b[k], row)
        assert {c: v for c, v in b[k].items() if c != "sessions"} == {c: v for c, v in row.items() if c != "sessions"}
    assert sum(r["sessions"] for r in a.values() if r[key] != "(all)") >= SESSIONS // 2  # real sessions counted


def test_api_and_sensors_view_say_which_figures_are_estimates(lake: Path) -> None:
    for cfg, want in ((None, None), (ESTIMATE, ["sessions"])):
        app = create_app(lake, ServeConfig(cache_entries=0), lake_cfg=cfg)
        with TestClient(app, base_url="http://127.0.0.1") as c:
            for panel in ("overview", "top-commands", "top-ips", "client-versions", "hassh"):
                body = c.get(f"/api/panels/{panel}").json()
                assert body.get("estimated") == want, (panel, body.get("estimated"))
            assert "estimated" not in c.get("/api/panels/top-usernames").json()  # counts of attempts: exact
            sensors = c.get("/api/sensors").json()
            assert sensors["estimated"] == (want or [])
            assert sensors["totals"]["unique_ips"] == 200  # IPs are always counted exactly


def test_report_marks_estimated_columns(lake: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "honeyfarm.toml"
    cfg.write_text("[lake]\nexact_sessions_max_events = 0\n", encoding="utf-8")
    p = hf("report", "overview", "--lake", str(lake), "-c", str(cfg), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "sessions ≈" in p.stdout and "≈ estimated (HyperLogLog" in p.stdout
    p = hf("report", "overview", "--lake", str(lake), cwd=lake.parent)  # no honeyfarm.toml there: the default
    assert p.returncode == 0, p.stderr
    assert "≈" not in p.stdout


# ------------------------------------------------------------------------------------------- dashboard
@pytest.fixture(scope="module")
def served(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("estimated-serve")
    cfg = root / "honeyfarm.toml"
    cfg.write_text("[lake]\nexact_sessions_max_events = 0\n", encoding="utf-8")
    with serving("-c", str(cfg), "--lake", str(lake), "--host", "127.0.0.1", "--port", "0", cwd=root) as s:
        yield s


@pytest.mark.slow
def test_dashboard_marks_estimates(served: Any) -> None:
    from browserutil import READY_MS, VIEWPORT, launched, require_browser

    sync_api = require_browser()
    with launched(sync_api) as b:
        ctx = b.new_context(viewport=VIEWPORT, service_workers="block")
        p = ctx.new_page()
        errors: list[str] = []
        p.on("pageerror", lambda e: errors.append(str(e)))
        p.goto(f"{served.url}/#/overview")
        p.locator("[data-view='overview'][data-ready='1']").wait_for(timeout=READY_MS)
        counter = p.locator("[data-counter='sessions']")
        assert counter.get_attribute("data-estimated") == ""
        assert counter.locator(".counter-v").inner_text().startswith("≈ ")
        assert counter.get_attribute("title").startswith("Estimated")
        heads = p.locator("table[data-table='overview-sensors'] th[data-estimated]").all_text_contents()
        assert heads == ["≈ Sessions"]
        assert p.locator("[data-counter='events'][data-estimated]").count() == 0  # exact figures stay unmarked
        p.goto(f"{served.url}/#/commands")
        p.locator("[data-view='commands'][data-ready='1']").wait_for(timeout=READY_MS)
        marked = p.locator("table[data-table='commands'] th[data-estimated]").all_text_contents()
        assert [t.strip() for t in marked] == ["≈ Sessions"], marked
        assert errors == []
        ctx.close()
