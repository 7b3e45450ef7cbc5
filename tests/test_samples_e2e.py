# SPDX-License-Identifier: MIT
"""The real sample logs of every format through ingest → API → browser (issue 15, item 8).

One lake (tests/samplelake.py) holds every sample set of ``../shared/samples``; one ``honeyfarm serve`` with
the fleet's facts serves it; one headless Chromium visits every view of the dashboard's route table
(app.js's ``VIEWS``, read at test time, so a new view is covered without touching this file). A view must
load with no console error, no uncaught exception, no error box and no failed API call, and must draw
data whenever its API answers carry some: a view that shows only its empty state over a lake of real
logs is a bug.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import samplelake
from browserutil import READY_MS, VIEWPORT, launched, require_browser
from lakeutil import query
from webutil import Served, start_serve, stop_serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not samplelake.SAMPLES.is_dir(), reason=f"../shared/samples not present: {samplelake.SAMPLES} is missing"
    ),
]

STATIC = samplelake.STATIC
VIEWS, NAV = samplelake.route_table()


def literal_api_paths() -> list[str]:
    """The API paths the views ask for by a literal name (``panel(ctx, 'x')``, ``getJSON('y', ...)``)."""
    paths: set[str] = set()
    for js in sorted((STATIC / "views").glob("*.js")):
        src = js.read_text(encoding="utf-8")
        paths |= {f"panels/{n}" for n in re.findall(r"panel\(ctx, '([\w-]+)'", src)}
        paths |= set(re.findall(r"getJSON\('([\w/-]+)'", src))
    return sorted(paths)


# ------------------------------------------------------------------ the lake and the server


@dataclass
class Site:
    built: samplelake.SampleLake
    served: Served

    @property
    def url(self) -> str:
        return self.served.url

    def api(self, path: str, **params: Any) -> Any:
        qs = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}/api/{path}{'?' + qs if qs else ''}", timeout=30) as r:
            return json.loads(r.read())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> samplelake.SampleLake:
    return samplelake.build(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="module")
def site(built: samplelake.SampleLake) -> Iterator[Site]:
    served = start_serve("-c", str(built.config), "--lake", str(built.lake), "--host", "127.0.0.1", "--port", "0",
                         cwd=built.root)  # fmt: skip
    try:
        yield Site(built, served)
    finally:
        stop_serve(served)


def _set(name: str) -> samplelake.SampleSet:
    return next(s for s in samplelake.SETS if s.name == name)


# ------------------------------------------------------------------ ingest


@pytest.mark.parametrize("name", [s.name for s in samplelake.SETS])
def test_every_sample_record_is_ingested_or_dead_lettered(built: samplelake.SampleLake, name: str) -> None:
    if name in built.skipped:
        pytest.skip(built.skipped[name])
    s = _set(name)
    mine = [e for e in built.result.errors if f"/{name}/" in e]
    assert mine == [], mine  # "cannot detect the format" among them
    assert s.fmt in built.result.by_format, f"{name}: no file detected as {s.fmt}: {built.result.to_dict()}"
    got = built.result.by_format[s.fmt]
    want = s.expected()
    if want is None:  # Cowrie TTY logs are replays linked to sessions, not events: every file taken
        assert got.ingested == len(s.files()), vars(got)
        return
    # surevego's "broken" capture repeats its clean one: those records are duplicates of events already in
    assert got.ingested + got.duplicates + got.dead_letter == want, vars(got)
    assert got.ingested > 0, vars(got)


def test_the_lake_holds_what_the_ingest_reported(built: samplelake.SampleLake) -> None:
    assert built.result.errors == []
    events = sum(c.ingested for f, c in built.result.by_format.items() if f != "cowrie_ttylog")
    assert query(built.lake, "SELECT count(*) FROM events")[0][0] == events == built.result.ingested
    assert query(built.lake, "SELECT count(*) FROM dead_letter")[0][0] == built.result.dead_letter


# ------------------------------------------------------------------ API


@pytest.mark.parametrize("path", literal_api_paths())
def test_every_api_path_the_views_name_answers_json(site: Site, path: str) -> None:
    if path == "session/ttylog" and not samplelake_has_tty(site):
        pytest.skip(site.built.skipped.get("cowrie_ttylog", "no TTY log for the picked session"))
    try:
        ans = site.api(path, **api_params(site, path))
    except urllib.error.HTTPError as exc:
        raise AssertionError(
            f"{path}: HTTP {exc.code} {exc.read()[:300]!r} (a new parameter? see api_params)"
        ) from None
    assert isinstance(ans, dict), ans


def api_params(site: Site, path: str) -> dict[str, Any]:
    """The parameters an API path cannot answer without, taken from the lake as the views would."""
    if path in ("session", "session/ttylog", "malware/session-files"):
        sensor, session = pick_session(site)
        return {"sensor": sensor, "session": session}
    if path == "credentials/search":
        return {"q": "root"}
    if path == "credentials/detail":
        return {"username": site.api("panels/top-usernames", limit=1)["rows"][0][0]}
    if path == "ip":
        return {"ip": pick_arg(site, "ip")}
    return {}


def test_meta_covers_every_format_and_sensor(site: Site) -> None:
    meta = site.api("meta")
    assert meta["events"] == query(site.built.lake, "SELECT count(*) FROM events")[0][0]
    families = {"cowrie_json": "cowrie", "dionaea_json": "dionaea", "dionaea_sqlite": "dionaea",
                "suricata_eve": "suricata", "aws_vpc_flow": "aws", "aws_route53_query_log": "aws",
                "aws_route53_resolver_query_log": "aws", "heralding_session_json": "heralding",
                "tanner_report": "tanner", "mhn_dionaea_sessions": "dionaea"}  # fmt: skip
    want = {families[s.name] for s in site.built.ingested if s.name in families}
    assert want <= set(meta["honeypots"]), meta["honeypots"]
    named = {r[0] for r in query(site.built.lake, "SELECT DISTINCT sensor FROM events WHERE sensor IS NOT NULL")}
    assert named <= set(meta["sensors"]), (named, meta["sensors"])


def test_per_sensor_rows_add_up_to_the_total(site: Site) -> None:
    ans = site.api("sensors", limit=1000)
    rows = [dict(zip(ans["sensors"]["columns"], r, strict=True)) for r in ans["sensors"]["rows"]]
    names = {r["sensor"] for r in rows}
    if not samplelake.fleet_has_sources() and "(no sensor)" not in names:
        pytest.skip("sensor attribution ([[fleet.sources]], '(no sensor)' rows) is not in this tree yet")
    assert sum(r["events"] for r in rows) == ans["totals"]["events"], rows
    if samplelake.fleet_has_sources():
        mapped = {sensor for s in site.built.ingested for _, sensor in s.sensors}
        assert mapped <= names, (mapped, names)


def test_events_per_honeypot_type_cover_every_format(site: Site) -> None:
    """The Overview's honeypot-type table: one row per eventid family in the lake, adding up to the total."""
    ans = site.api("overview/honeypots", internal="include")
    got = {r[0]: r[2] for r in ans["rows"]}
    want = dict(query(site.built.lake, "SELECT split_part(eventid, '.', 1), count(*) FROM events GROUP BY 1"))
    assert sum(got.values()) == sum(want.values()), (got, want)
    # the panel splits AWS's events by log type (vpcflow, route53): every other family is a row of its own
    assert set(want) - {"aws"} <= set(got), (got, want)
    assert "aws" not in want or {"vpcflow", "route53"} <= set(got), got


FLEET_SENSORS = sorted({sensor for s in samplelake.SETS for _, sensor in s.sensors})


@pytest.mark.parametrize("sensor", FLEET_SENSORS)
def test_the_sensor_filter_selects_each_mapped_sensors_events(site: Site, sensor: str) -> None:
    """Files whose records name no sensor get the fleet's: the sensor filter then finds all their events."""
    if not samplelake.fleet_has_sources():
        pytest.skip("[[fleet.sources]] is not in this tree yet")
    want = query(site.built.lake, f"SELECT count(*) FROM events WHERE sensor = '{sensor}'")[0][0]
    assert want > 0, f"no event got the sensor {sensor!r} from [[fleet.sources]]"
    assert site.api("sensors", sensor=sensor)["totals"]["events"] == want


# ------------------------------------------------------------------ picking the argument views' subjects


def samplelake_has_tty(site: Site) -> bool:
    return "cowrie_ttylog" not in site.built.skipped


def pick_session(site: Site) -> tuple[str, str]:
    return samplelake.pick_session(site.built.lake)


def pick_arg(site: Site, view: str) -> str:
    return samplelake.pick_arg(view, site.built.lake, site.api)


# ------------------------------------------------------------------ browser


@dataclass
class Tab:
    """The one page every view is visited in (the app loads once; views change by their hash, as a user's do)
    and what the page did since the last :meth:`visit`: console errors, uncaught exceptions, dialogs and
    the API answers."""

    page: Any
    errors: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def visit(self, route: str, view: str) -> list[tuple[str, int, Any]]:
        """Go to ``#/route``, wait until ``view`` has loaded (or failed); the API answers it got."""
        self.errors.clear()
        self.responses.clear()
        if self.page.evaluate("(r) => location.hash === '#/' + r", route):
            self.page.reload()  # the same hash again is no hashchange
        else:
            self.page.evaluate("(r) => { location.hash = '#/' + r; }", route)
        self.page.wait_for_function(
            "(v) => { const el = document.querySelector(`[data-view='${v}']`);"
            " return el && (el.dataset.ready === '1' || el.dataset.error); }",
            arg=view,
            timeout=READY_MS,
        )
        self.page.wait_for_timeout(150)  # late console errors from chart drawing
        answers: list[tuple[str, int, Any]] = []
        for r in self.responses:
            if "text/event-stream" in (r.headers.get("content-type") or ""):
                answers.append((r.url, r.status, {}))  # the live feed's stream never ends: its status only
                continue
            try:
                body: Any = json.loads(r.text())
            except Exception as exc:  # a body that is not JSON is the failure to report
                body = f"not JSON: {exc}"
            answers.append((r.url, r.status, body))
        return answers


@pytest.fixture(scope="module")
def tab(site: Site) -> Iterator[Tab]:
    sync_api = require_browser()  # skips (with why) the browser tests only: ingest and API tests still run
    with launched(sync_api) as browser:
        ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, service_workers="block")
        t = Tab(ctx.new_page())
        t.page.on("console", lambda m: t.errors.append(f"console.error: {m.text}") if m.type == "error" else None)
        t.page.on("pageerror", lambda e: t.errors.append(f"pageerror: {e}"))
        t.page.on("response", lambda r: t.responses.append(r) if "/api/" in r.url else None)

        def on_dialog(d: Any) -> None:
            t.errors.append(f"dialog: {d.message}")
            d.dismiss()

        t.page.on("dialog", on_dialog)
        t.page.goto(f"{site.url}/#/overview")
        t.page.wait_for_selector("[data-view='overview'][data-ready='1']", timeout=READY_MS)
        yield t
        ctx.close()


def has_rows(answer: Any) -> bool:
    """Whether an API answer carries data: a non-empty ``rows``/``events``/``frames`` list anywhere in it."""
    if isinstance(answer, dict):
        for k, val in answer.items():
            if k in ("rows", "events", "frames", "points") and isinstance(val, list) and val:
                return True
            if isinstance(val, dict | list) and has_rows(val):
                return True
    elif isinstance(answer, list):
        return any(has_rows(x) for x in answer if isinstance(x, dict | list))
    return False


DRAWN = """(view) => {
  const root = document.querySelector(`[data-view="${view}"]`);
  const charts = [...root.querySelectorAll('.chart')].map((c) => Number(c.dataset.points || 0));
  const rows = [...root.querySelectorAll('table')].map((t) => t.tBodies[0]
    ? t.tBodies[0].querySelectorAll('tr:not(.empty-row)').length : 0);
  return {charts, rows, errors: root.querySelectorAll('.error').length, error: root.dataset.error || null};
}"""


@pytest.mark.parametrize("view", VIEWS)
def test_view_renders_the_samples(site: Site, tab: Tab, view: str) -> None:
    answers = tab.visit(samplelake.route(view, NAV, site.built.lake, site.api), view)
    drawn = tab.page.evaluate(DRAWN, view)
    assert drawn["error"] is None, drawn["error"]
    assert drawn["errors"] == 0, f"{view} shows an error box"
    assert tab.errors == [], tab.errors
    failed = [(u, s, b) for u, s, b in answers if s != 200 or isinstance(b, str)]
    assert failed == [], failed
    assert answers, f"{view} asked the API for nothing"
    if any(has_rows(b) for _, _, b in answers):
        assert any(n > 0 for n in drawn["charts"]) or any(n > 0 for n in drawn["rows"]), (
            f"{view} draws only empty states although its API answers carry data: {drawn}"
        )
