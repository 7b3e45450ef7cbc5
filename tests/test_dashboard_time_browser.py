# SPDX-License-Identifier: MIT
"""The dashboard in a real browser on a lake holding dates nobody should believe (issue 10, item 4).

One event at 9999-12-31T23:59:59 used to make ``/api/meta`` answer 500, so every view showed "Could not
load: 500"; one in 2262 stopped the live feed and moved the 24h/7d presets to 2262. The lake here holds
recent events (ingested through the real pipeline) and, beside them, events dated 9999-12-31, 2262-04-11
and 0001-01-01 written straight into it with their rollups, as ingest wrote them before it checked
timestamps. A real ``honeyfarm serve`` serves it to headless Chromium (Playwright's sync API), and in one
page: every view loads and shows data; the 24h and 7d presets end with the real "now"; an event ingested
through the CLI while the live view is open shows in its feed. A custom range outside the accepted
window shows the API's message and leaves the page usable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browserutil import READY_MS, VIEWPORT, VIEWS, launched, require_browser
from lakeutil import hf, query
from webutil import ABSURD, TOTAL_EVENTS, Served, add_event, build_lake, start_serve, stop_serve

from honeyfarm.config import Config
from honeyfarm.pipeline import ingest

sync_api = require_browser()

pytestmark = pytest.mark.slow

RECENT_SENSOR = "cow-now"
#: The years of ABSURD as the page would show them.
ABSURD_YEARS = ("9999-", "2262-", "0001-")

# Records CSP violations before any page script runs.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cowrie(t: dt.datetime, session: str, ip: str, eventid: str, **fields: Any) -> dict[str, Any]:
    return {
        "timestamp": stamp(t),
        "eventid": eventid,
        "sensor": RECENT_SENSOR,
        "session": session,
        "src_ip": ip,
        **fields,
    }


def recent_records(now: dt.datetime) -> list[dict[str, Any]]:
    """Two sessions of the last hour and a half (none in the future)."""
    t1, t2 = now - dt.timedelta(minutes=90), now - dt.timedelta(minutes=5)
    steps1: list[tuple[str, dict[str, Any]]] = [
        ("cowrie.session.connect", {"src_port": 41001, "dst_port": 22, "protocol": "ssh"}),
        ("cowrie.client.version", {"version": "SSH-2.0-Go"}),
        ("cowrie.login.failed", {"username": "root", "password": "recent-1"}),
        ("cowrie.login.success", {"username": "root", "password": "recent-2"}),
        ("cowrie.command.input", {"input": "uname -a"}),
        ("cowrie.session.file_download", {"url": "http://evil.example/now.sh", "shasum": "ef" * 32}),
        ("cowrie.session.closed", {"duration": 6.0}),
    ]
    out = [cowrie(t1 + dt.timedelta(seconds=i), "1ace0001", "8.8.8.8", e, **f) for i, (e, f) in enumerate(steps1)]
    out += [
        cowrie(t2, "1ace0002", "1.1.1.1", "cowrie.session.connect"),
        cowrie(
            t2 + dt.timedelta(seconds=1),
            "1ace0002",
            "1.1.1.1",
            "cowrie.login.failed",
            username="admin",
            password="admin",
        ),
    ]
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@dataclass
class Site:
    served: Served
    root: Path
    lake: Path
    newest: dt.datetime  # the newest believable event in the lake

    @property
    def url(self) -> str:
        return self.served.url

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        qs = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url}/api/{path}{'?' + qs if qs else ''}", timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("timebrowser")
    lake = build_lake(root)  # November 2026, through the real ingest
    now = utcnow()
    records = recent_records(now)
    result = ingest([str(write_jsonl(root / "recent.json", records))], Config(), lake)
    assert result.ingested == len(records) and result.dead_letter == 0, result
    for i, ts in enumerate(ABSURD):
        add_event(lake, ts, 1_000 + i)
    assert query(lake, "SELECT count(*) FROM events")[0][0] == TOTAL_EVENTS + len(records) + len(ABSURD)
    (root / "honeyfarm.toml").write_text("[serve]\nlive_interval_seconds = 0.25\n", encoding="utf-8")
    served = start_serve(
        "-c", str(root / "honeyfarm.toml"), "--lake", str(lake), "--host", "127.0.0.1", "--port", "0", cwd=root
    )
    newest = max(dt.datetime.fromisoformat(r["timestamp"].rstrip("Z")) for r in records)
    try:
        yield Site(served, root, lake, newest)
    finally:
        stop_serve(served)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched(sync_api) as b:
        yield b


@dataclass
class Watched:
    """A page, what it did wrong (console errors, uncaught exceptions, CSP violations), and its API calls."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    api: list[str] = field(default_factory=list)

    def csp(self) -> list[str]:
        return list(self.page.evaluate("window.__csp || []"))

    def assert_clean(self, allow: tuple[str, ...] = ()) -> None:
        errors = [e for e in self.errors if not any(a in e for a in allow)]
        assert errors == [], errors
        assert self.csp() == [], self.csp()

    def ready(self, view: str) -> None:
        """Wait until the view has loaded its data and drawn its charts."""
        try:
            self.page.locator(f"[data-view='{view}'][data-ready='1']").wait_for(timeout=READY_MS)
        except Exception:
            err = self.page.evaluate("document.querySelector('[data-view]')?.dataset.error")
            raise AssertionError(f"view {view} not ready (error: {err}); console: {self.errors}") from None

    def nav(self, view: str) -> None:
        """Go to a view the way a user does, keeping the filters (the nav link)."""
        self.page.locator(f"nav.views a[data-nav='{view}']").click()
        self.page.wait_for_function("(v) => location.hash.startsWith('#/' + v)", arg=view)

    def shown(self) -> dict[str, Any]:
        """What the current view shows: error boxes, rows per table, points per chart, and all its text."""
        return dict(
            self.page.evaluate(
                """() => ({
                    errors: [...document.querySelectorAll('.error')].map((e) => e.textContent),
                    rows: Object.fromEntries([...document.querySelectorAll('table[data-table]')].map((t) =>
                        [t.dataset.table, t.tBodies[0].querySelectorAll('tr:not(.empty-row)').length])),
                    points: Object.fromEntries([...document.querySelectorAll('.chart')].map((c) =>
                        [c.dataset.chart, Number(c.dataset.points || -1)])),
                    text: document.body.innerText,
                })"""
            )
        )

    def api_ranges(self, since: int) -> set[tuple[str, str]]:
        """The (since, until) of the API calls made after the ``since``-th one."""
        out = set()
        for url in self.api[since:]:
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
            out.add((q.get("since", [""])[0], q.get("until", [""])[0]))
        return out


@contextlib.contextmanager
def watched(browser: Any, base: str) -> Iterator[Watched]:
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, service_workers="block")
    page = ctx.new_page()
    page.add_init_script(WATCH)
    w = Watched(page, base)
    page.on("console", lambda m: w.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: w.errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: w.api.append(r.url) if r.url.startswith(f"{base}/api/") else None)
    try:
        yield w
    finally:
        ctx.close()


def assert_shows_data(w: Watched, view: str, data: bool = True) -> dict[str, Any]:
    s = w.shown()
    assert s["errors"] == [] and "Could not load" not in s["text"], (view, s["errors"])
    assert w.page.locator("[data-view][data-error]").count() == 0, view
    if data:
        assert sum(s["rows"].values()) > 0, (view, s["rows"])
        if s["points"]:
            assert max(s["points"].values()) > 0, (view, s["points"])
    return s


def iso(v: str) -> dt.datetime:
    return dt.datetime.fromisoformat(v.replace("Z", "")).replace(tzinfo=None)


# ------------------------------------------------------------------ the test


def test_every_view_presets_and_live_feed_survive_absurd_dates(site: Site, browser: Any) -> None:
    status, meta = site.get("meta")
    assert status == 200 and meta["outside_window"] == len(ABSURD), meta
    last_seen = iso(meta["last_seen"])
    assert site.newest < last_seen <= site.newest + dt.timedelta(hours=1), (meta["last_seen"], site.newest)

    with watched(browser, site.url) as w:
        # every view, in one page, unfiltered: no error, data shown
        w.page.goto(f"{site.url}/#/overview")
        for view in VIEWS:
            if view != "overview":
                w.nav(view)
            w.ready(view)
            assert_shows_data(w, view)
        header = w.page.locator("#lake-status").text_content() or ""
        assert not any(y in header for y in ABSURD_YEARS), header
        # a session page of recent events, and the session whose events are all dated absurdly
        for sensor, session, events in ((RECENT_SENSOR, "1ace0001", 7), ("cow-old", "c0ffee01", len(ABSURD))):
            w.page.goto(f"{site.url}/#/session/{sensor}/{session}")
            w.ready("session")
            s = assert_shows_data(w, "session")
            assert s["rows"]["session-events"] == events, s["rows"]

        # the presets end with the newest hour of believable data: now, not 2262 or 9999
        for preset, hours in (("24h", 24), ("7d", 24 * 7)):
            w.nav("overview")
            w.ready("overview")
            before = len(w.api)
            w.page.locator(f"[data-filterbar] button[data-range='{preset}']").click()
            w.page.wait_for_function("(r) => location.hash.includes('range=' + r)", arg=preset)
            w.ready("overview")
            assert_shows_data(w, "overview")
            ranges = w.api_ranges(before)
            assert len(ranges) == 1, ranges
            since, until = ranges.pop()
            assert iso(until) == last_seen, (preset, until, meta["last_seen"])
            assert iso(until) - iso(since) == dt.timedelta(hours=hours), (preset, since, until)
            now = utcnow()
            assert now - dt.timedelta(hours=2) < iso(until) <= now + dt.timedelta(hours=1), (preset, until, now)
            shown = w.page.locator(".range-text").text_content() or ""
            assert shown == f"{iso(since):%Y-%m-%d %H:%M:%S} → {iso(until):%Y-%m-%d %H:%M:%S}", shown
            # the recent events are inside the preset: every view loads them
            for view in VIEWS[1:]:
                before = len(w.api)
                w.nav(view)
                w.ready(view)
                assert_shows_data(w, view, data=view != "network")  # its flow logs and queries are of November
                assert w.api_ranges(before) == {(since, until)}, view
            assert RECENT_SENSOR in (w.page.locator("table[data-table='live']").text_content() or "")

        # live: back to all time; an event ingested through the CLI now shows in the feed
        w.page.locator("[data-filterbar] button[data-range='all']").click()
        w.page.wait_for_function("() => !location.hash.includes('range=')")
        w.ready("live")
        w.page.wait_for_function(
            "() => document.querySelector('.live-status').dataset.state === 'open'", timeout=10_000
        )
        feed = w.page.locator("table[data-table='live'] tbody tr")
        # the newest events on top are the recent ones, not those of 2262 or 9999 (the cell's title: the full time)
        times = feed.locator("td:first-child").evaluate_all("(tds) => tds.map((td) => td.title)")
        assert times[0] == f"{site.newest:%Y-%m-%d %H:%M:%S}", times[:3]
        assert not any(t.startswith(ABSURD_YEARS[:2]) for t in times), times
        marker = f"live-{utcnow():%H%M%S%f}"
        log = write_jsonl(
            site.root / f"{marker}.json",
            [cowrie(utcnow(), "1ace0003", "9.9.9.9", "cowrie.login.failed", username=marker, password="x")],
        )
        p = hf("ingest", str(log), "--lake", str(site.lake), cwd=site.root)
        assert p.returncode == 0, p.stderr
        feed.filter(has_text=marker).first.wait_for(timeout=15_000)
        assert marker in (feed.first.text_content() or "")
        w.assert_clean()


def test_a_custom_range_outside_the_window_shows_the_api_message(site: Site, browser: Any) -> None:
    status, meta = site.get("meta")
    window = meta["window"]
    with watched(browser, site.url) as w:
        w.page.goto(f"{site.url}/#/overview")
        w.ready("overview")
        since = w.page.locator("input[data-filter='since']")
        until = w.page.locator("input[data-filter='until']")
        # the pickers offer the accepted window
        assert since.get_attribute("min") == until.get_attribute("min") == window["since"][:16]
        assert since.get_attribute("max") == until.get_attribute("max") == window["until"][:16]
        for view, typed in (("overview", ("9999-12-31T00:00", "")), ("live", ("", "0001-01-01T00:00"))):
            if view != "overview":
                w.nav(view)
                w.ready(view)
            w.page.locator("[data-filterbar] button[data-range='custom']").click()
            since.fill(typed[0])
            until.fill(typed[1])
            w.page.locator(".custom-range button").click()
            w.page.wait_for_function("() => location.hash.includes('range=custom')")
            w.page.locator("[data-view][data-error]").wait_for(timeout=READY_MS)
            name = "since" if typed[0] else "until"
            status, answer = site.get("panels/overview", **{name: f"{(typed[0] or typed[1])}:00Z"})
            assert status == 422, answer
            box = w.page.locator("[data-view] .error")
            assert box.count() == 1
            text = box.text_content() or ""
            assert text == f"The server refused these filters: {answer['detail']}", text
            # the page still works: the filter bar takes the user back
            w.page.locator("[data-filterbar] button[data-range='all']").click()
            w.page.wait_for_function("() => !location.hash.includes('range=')")
            w.ready(view)
            assert_shows_data(w, view)
        w.assert_clean(allow=("status of 422",))
