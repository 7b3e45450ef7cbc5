# SPDX-License-Identifier: MIT
"""The web dashboard in a real browser (headless Chromium through Playwright's sync API) against a real
``honeyfarm serve`` on a demo lake: every view loads and draws, filters and pagination work, the session
page replays a TTY log, the live view shows an event ingested while it is open, and attacker-controlled
strings (usernames, commands, URLs, client versions, sensor names, TTY output) stay text.

Every page is watched for console errors, Content-Security-Policy violations (the server's own strict
policy) and requests to any host but the server. ``HONEYFARM_SCREENSHOTS=docs/screenshots`` saves a
1400x900 screenshot of each view there (else into pytest's temporary directory).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browserutil import NAV, READY_MS, VIEWPORT, VIEWS, launched, require_browser
from lakeutil import hf
from webutil import Served, start_serve, stop_serve

sync_api = require_browser()

from honeyfarm.demo.run import DEMO_FLEET  # noqa: E402

pytestmark = pytest.mark.slow


# Records CSP violations before any page script runs.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

XSS = [
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=1</script>",
    '"><svg onload=window.__xss=1>',
    "javascript:window.__xss=1",
    "{{constructor.constructor('window.__xss=1')()}}",
]


# ------------------------------------------------------------------ fixtures


def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def write_config(path: Path, fleet: dict[str, dict[str, Any]], ttylog_dirs: list[Path]) -> Path:
    lines = ["[serve]", f"ttylog_dirs = [{', '.join(_toml_str(str(d)) for d in ttylog_dirs)}]", ""]
    for name, facts in fleet.items():
        lines.append(f"[fleet.sensors.{_toml_str(name)}]")
        lines += [f"{k} = {_toml_str(v) if isinstance(v, str) else v}" for k, v in facts.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def ok(p: Any) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return str(p.stdout)


@dataclass
class Site:
    served: Served
    root: Path
    lake: Path
    spool: Path
    shots: Path

    @property
    def url(self) -> str:
        return self.served.url

    def api(self, path: str, **params: Any) -> Any:
        qs = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}/api/{path}{'?' + qs if qs else ''}", timeout=30) as r:
            return json.loads(r.read())


def screenshot_dir(tmp: Path) -> Path:
    d = os.environ.get("HONEYFARM_SCREENSHOTS")
    out = Path(d) if d else tmp / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo lake (synthetic Cowrie, VPC Flow, Route 53, and the live traps' sessions with TTY logs)
    served by ``honeyfarm serve`` with the demo's fleet facts."""
    root = tmp_path_factory.mktemp("dash")
    ok(hf("demo", "--dir", str(root / "demo"), "--events", "20000", "--no-serve", cwd=root, timeout=300))
    lake, spool = root / "demo" / "lake", root / "demo" / "live" / "spool"
    assert any((spool / "tty").glob("*.cast")), "the live demo wrote no TTY log"
    cfg = write_config(root / "honeyfarm.toml", DEMO_FLEET, [spool])
    served = start_serve("-c", str(cfg), "--lake", str(lake), "--host", "127.0.0.1", "--port", "0", cwd=root)
    try:
        yield Site(served, root, lake, spool, screenshot_dir(root))
    finally:
        stop_serve(served)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched(sync_api) as b:
        yield b


@dataclass
class Watched:
    """A page and what it did wrong: console errors, CSP violations, foreign requests, dialogs."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def csp(self) -> list[str]:
        return list(self.page.evaluate("window.__csp || []"))

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.dialogs == [], f"dialogs: {self.dialogs}"
        assert self.csp() == [], f"CSP violations: {self.csp()}"

    def goto(self, hash_: str) -> None:
        self.page.goto(f"{self.base}/#/{hash_.lstrip('#/')}")

    def ready(self, view: str) -> Any:
        """Wait until the view has loaded its data and drawn its charts."""
        loc = self.page.locator(f"[data-view='{view}'][data-ready='1']")
        try:
            loc.wait_for(timeout=READY_MS)
        except Exception:
            err = self.page.evaluate("document.querySelector('[data-view]')?.dataset.error")
            raise AssertionError(f"view {view} not ready (error: {err}); console: {self.errors}") from None
        return loc


@contextlib.contextmanager
def watched(browser: Any, base: str) -> Iterator[Watched]:
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, service_workers="block")
    page = ctx.new_page()
    page.add_init_script(WATCH_CSP)
    w = Watched(page, base)
    page.on("console", lambda m: w.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: w.errors.append(f"pageerror: {e}"))

    def on_request(req: Any) -> None:
        if not (req.url.startswith(base + "/") or req.url == base or req.url.startswith(("data:", "blob:"))):
            w.foreign.append(req.url)

    page.on("request", on_request)

    def on_dialog(d: Any) -> None:
        w.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield w
    finally:
        ctx.close()


@pytest.fixture
def page(site: Site, browser: Any) -> Iterator[Watched]:
    with watched(browser, site.url) as w:
        yield w
        w.assert_clean()


# ------------------------------------------------------------------ helpers


def chart_points(w: Watched, root: str = "") -> dict[str, int]:
    return dict(
        w.page.evaluate(
            """(root) => [...document.querySelectorAll(root + ' .chart')]
                 .map((c) => [c.dataset.chart, Number(c.dataset.points || -1)])""",
            root,
        )
    )


def table_rows(w: Watched) -> dict[str, int]:
    return dict(
        w.page.evaluate(
            """() => [...document.querySelectorAll('table[data-table]')]
                 .map((t) => [t.dataset.table, t.tBodies[0].querySelectorAll('tr:not(.empty-row)').length])"""
        )
    )


def counter(w: Watched, key: str) -> int:
    return int(w.page.locator(f"[data-counter='{key}']").get_attribute("data-value") or "-1")


def chips(w: Watched) -> list[tuple[str, str]]:
    return [
        tuple(x)
        for x in w.page.evaluate(
            "() => [...document.querySelectorAll('.chip')].map((c) => [c.dataset.filter, c.dataset.value])"
        )
    ]


def bar_pixel(w: Watched, chart: str, from_top: int = 0) -> tuple[float, float]:
    """Page coordinates of a bar of a horizontal bar chart (0 = the top, biggest, bar)."""
    w.page.locator(f".chart[data-chart='{chart}']").first.scroll_into_view_if_needed()
    return tuple(
        w.page.evaluate(
            """([name, k]) => {
                const el = document.querySelector(`.chart[data-chart="${name}"]`);
                const c = echarts.getInstanceByDom(el);
                const data = c.getOption().series[0].data;
                const i = data.length - 1 - k;
                const v = typeof data[i] === 'object' ? data[i].value : data[i];
                const [x, y] = c.convertToPixel({ seriesIndex: 0 }, [v / 2, i]);
                const r = el.getBoundingClientRect();
                return [r.left + x, r.top + y];
            }""",
            [chart, from_top],
        )
    )


def shoot(w: Watched, site: Site, name: str) -> None:
    w.page.wait_for_timeout(400)  # let chart animations settle
    w.page.screenshot(path=str(site.shots / f"{name}.png"))


# ------------------------------------------------------------------ every view


@pytest.mark.parametrize("view", VIEWS)
def test_view_loads_with_data(page: Watched, site: Site, view: str) -> None:
    page.goto(view)
    page.ready(view)
    points = chart_points(page)
    assert points, f"{view} has no chart"
    assert all(n > 0 for n in points.values()), points
    rows = table_rows(page)
    assert rows, f"{view} has no table"
    assert all(n > 0 for n in rows.values()), rows
    assert page.page.locator("[data-view] .error").count() == 0
    shoot(page, site, view)


def test_session_page_replays_the_tty_log(page: Watched, site: Site) -> None:
    """A live-demo session (a real sensor's asciicast TTY log): events table and a replay into <pre>."""
    sessions = [p.stem for p in (site.spool / "tty").glob("*.cast")]
    ans = site.api("sessions", sensor="live-demo", limit=50)
    with_tty = [r for r in ans["rows"] if r[1] in sessions]
    assert with_tty, (sessions, ans)
    sensor, session = with_tty[0][0], with_tty[0][1]
    page.goto(f"session/{sensor}/{session}")
    page.ready("session")
    assert table_rows(page)["session-events"] >= 3
    pre = page.page.locator("pre[data-tty]")
    player = page.page.locator(".player")
    player.wait_for()
    page.page.locator("[data-tty-end]").click()
    page.page.wait_for_function("() => document.querySelector('.player').dataset.state === 'ended'", timeout=10_000)
    text = pre.text_content() or ""
    assert "root@" in text, text[:500]
    frames = site.api("session/ttylog", sensor=sensor, session=session)["frames"]
    last = [f[1] for f in frames if f[1].strip()][-1].strip()
    assert last in text, (last, text[-300:])
    # replay from the start at another speed: the screen starts empty and fills again
    page.page.locator("[data-tty-speed]").select_option("16")
    page.page.locator("[data-tty-play]").click()
    page.page.wait_for_function("() => document.querySelector('.player').dataset.state === 'ended'", timeout=10_000)
    assert last in (pre.text_content() or "")
    shoot(page, site, "session")


def test_commands_drill_down_to_a_session(page: Watched) -> None:
    page.goto("commands")
    page.ready("commands")
    first = page.page.locator("table[data-table='commands'] tbody tr").first
    command = first.locator("td").first.text_content()
    first.click()
    page.page.wait_for_function("() => location.hash.includes('command=')")
    page.ready("commands")
    assert command in (page.page.locator(".sessions-card h2").text_content() or "")
    srow = page.page.locator("table[data-table='sessions'] tbody tr").first
    sensor = srow.locator("td").nth(0).text_content()
    session = srow.locator("td").nth(1).text_content()
    srow.click()
    page.ready("session")
    assert page.page.locator(".session-info").text_content().count(session) >= 1
    assert f"session/{sensor}/{session}" in urllib.parse.unquote(page.page.evaluate("location.hash"))
    assert any(command == t for t in page.page.locator("table[data-table='session-events'] td").all_text_contents())


def test_every_view_works_under_trusted_types(site: Site, browser: Any) -> None:
    """The server's CSP requires Trusted Types: no violation anywhere, tooltips included (ECharts clears
    its container with ``innerHTML = ''``: js/tt.js's default policy lets exactly that through)."""
    with watched(browser, site.url) as w:
        resp = w.page.goto(f"{site.url}/")
        assert resp is not None
        assert "require-trusted-types-for 'script'" in resp.headers["content-security-policy"]
        for view in VIEWS:
            w.page.evaluate("(v) => { location.hash = '#/' + v; }", view)
            w.ready(view)
            for box in w.page.locator(".chart").all()[:2]:
                box.scroll_into_view_if_needed()
                b = box.bounding_box()
                if b:
                    w.page.mouse.move(b["x"] + b["width"] * 0.5, b["y"] + b["height"] * 0.4)
                    w.page.wait_for_timeout(80)
        w.assert_clean()
        # Trusted Types were really enforced: HTML from a string is refused
        refused = w.page.evaluate(
            """() => {
                try { document.createElement('div').innerHTML = '<b>x</b>'; return false; } catch { return true; }
            }"""
        )
        assert refused


# ------------------------------------------------------------------ filters


def test_country_filter_from_the_filter_bar_matches_the_api(page: Watched, site: Site) -> None:
    page.goto("overview")
    page.ready("overview")
    total = counter(page, "events")
    page.page.locator("select[data-filter='country']").select_option("CN")
    page.page.locator(".chip[data-filter='country'][data-value='CN']").wait_for()
    page.page.wait_for_function("() => location.hash.includes('country=CN')")
    page.ready("overview")
    page.page.wait_for_function(
        "(t) => Number(document.querySelector(\"[data-counter='events']\").dataset.value) !== t", arg=total
    )
    want = site.api("panels/overview", country="CN")
    all_row = dict(zip(want["columns"], want["rows"][0], strict=True))
    assert all_row["sensor"] == "(all)"
    assert counter(page, "events") == all_row["events"] < total
    assert counter(page, "sessions") == all_row["sessions"]
    assert counter(page, "unique_ips") == all_row["unique_ips"]
    # the filter follows to another view, and the view queries with it
    page.page.locator("nav.views a[data-nav='credentials']").click()
    page.ready("credentials")
    assert ("country", "CN") in chips(page)
    top = site.api("panels/top-usernames", country="CN", limit=20)
    first = page.page.locator("table[data-table='usernames'] tbody tr").first.locator("td")
    assert first.nth(0).text_content() == top["rows"][0][0]
    assert first.nth(1).text_content() == f"{top['rows'][0][1]:,}"
    # removing the chip removes the filter
    page.page.locator(".chip[data-filter='country'] .chip-x").click()
    page.page.wait_for_function("() => !location.hash.includes('country=')")
    page.ready("credentials")
    assert chips(page) == []


def test_filters_live_in_the_url_and_survive_a_reload(page: Watched, site: Site) -> None:
    sensor = site.api("meta")["sensors"][0]
    page.goto(f"credentials?country=US&sensor={urllib.parse.quote(sensor)}&range=7d")
    page.ready("credentials")
    assert set(chips(page)) == {("country", "US"), ("sensor", sensor)}
    assert page.page.locator("[data-filterbar] button[data-range='7d']").get_attribute("aria-pressed") == "true"
    page.page.reload()
    page.ready("credentials")
    assert set(chips(page)) == {("country", "US"), ("sensor", sensor)}


def test_clicking_a_country_bar_adds_a_country_filter(page: Watched, site: Site) -> None:
    page.goto("overview")
    page.ready("overview")
    top = site.api("panels/top-countries", limit=1)["rows"][0][0]
    x, y = bar_pixel(page, "top-countries")
    page.page.mouse.click(x, y)
    page.page.locator(f".chip[data-filter='country'][data-value='{top}']").wait_for(timeout=5000)
    page.ready("overview")
    want = site.api("panels/overview", country=top)["rows"][0]
    assert counter(page, "events") == want[1]


def test_clicking_a_country_on_the_map_adds_a_country_filter(page: Watched, site: Site) -> None:
    page.goto("map")
    page.ready("map")
    ans = site.api("map")
    sensors = [(r[2], r[3]) for r in ans["sensors"]["rows"] if r[2] is not None]
    geo = json.loads(urllib.request.urlopen(f"{site.url}/static/vendor/world.geo.json", timeout=30).read())
    centroids = {f["properties"]["iso2"]: f["properties"]["centroid"] for f in geo["features"]}

    def clear_of_sensors(code: str) -> bool:
        lon, lat = centroids[code]
        return all(abs(lon - slon) > 12 or abs(lat - slat) > 12 for slat, slon in sensors)

    code = next(r[0] for r in ans["countries"]["rows"] if r[0] in centroids and clear_of_sensors(r[0]))
    page.page.locator(".chart[data-chart='world']").scroll_into_view_if_needed()
    x, y = page.page.evaluate(
        """(at) => {
            const el = document.querySelector('.chart[data-chart="world"]');
            const [x, y] = echarts.getInstanceByDom(el).convertToPixel({ geoIndex: 0 }, at);
            const r = el.getBoundingClientRect();
            return [r.left + x, r.top + y];
        }""",
        centroids[code],
    )
    page.page.mouse.click(x, y)
    page.page.locator(f".chip[data-filter='country'][data-value='{code}']").wait_for(timeout=5000)
    page.ready("map")
    rows = page.page.locator("table[data-table='map-countries'] tbody tr")
    assert rows.count() == 1 and code in (rows.first.text_content() or "")


def test_timeline_stacks_by_honeypot_and_a_series_click_filters(page: Watched) -> None:
    page.goto("timeline?by=honeypot&bucket=day")
    page.ready("timeline")
    names = page.page.evaluate(
        """() => echarts.getInstanceByDom(document.querySelector('.chart[data-chart="timeline"]'))
                 .getOption().series.map((s) => s.name)"""
    )
    assert "cowrie" in names and len(names) >= 2, names
    # switching the stacking goes through the URL
    page.page.locator(".seg button[data-value='country']").click()
    page.page.wait_for_function("() => location.hash.includes('by=country')")
    page.ready("timeline")
    page.page.locator(".seg button[data-value='honeypot']").click()
    page.page.wait_for_function("() => location.hash.includes('by=honeypot')")
    page.ready("timeline")
    # click inside the bottom (biggest) band, half-way up at its busiest bucket
    page.page.locator(".chart[data-chart='timeline']").scroll_into_view_if_needed()
    x, y = page.page.evaluate(
        """() => {
            const el = document.querySelector('.chart[data-chart="timeline"]');
            const c = echarts.getInstanceByDom(el);
            const s = c.getOption().series[0];
            let best = s.data[0];
            for (const d of s.data) if (d[1] > best[1]) best = d;
            const [x, y] = c.convertToPixel({ seriesIndex: 0 }, [best[0], best[1] / 2]);
            const r = el.getBoundingClientRect();
            return [r.left + x, r.top + y];
        }"""
    )
    # The bars may still be growing (ECharts animates a re-stack for ~1 s after the view is ready, longer
    # on a loaded machine): a click that lands above a growing bar hits nothing, so it is tried again.
    chip = page.page.locator(".chip[data-filter='honeypot']")
    for _attempt in range(5):
        page.page.mouse.click(x, y)
        with contextlib.suppress(Exception):
            chip.wait_for(timeout=2000)
            break
    chip.wait_for(timeout=1000)
    assert ("honeypot", names[0]) in chips(page)


def test_time_range_presets(page: Watched, site: Site) -> None:
    page.goto("overview")
    page.ready("overview")
    total = counter(page, "events")
    page.page.locator("[data-filterbar] button[data-range='24h']").click()
    page.page.wait_for_function("() => location.hash.includes('range=24h')")
    page.ready("overview")
    assert counter(page, "events") <= total
    assert "→" in (page.page.locator(".range-text").text_content() or "")
    # a custom range: the first day of the synthetic data
    page.page.locator("[data-filterbar] button[data-range='custom']").click()
    page.page.locator("input[data-filter='since']").fill("2026-11-01T00:00")
    page.page.locator("input[data-filter='until']").fill("2026-11-02T00:00")
    page.page.locator(".custom-range button").click()
    page.page.wait_for_function("() => location.hash.includes('since=')")
    page.ready("overview")
    want = site.api("panels/overview", since="2026-11-01T00:00:00Z", until="2026-11-02T00:00:00Z")["rows"][0][1]
    assert counter(page, "events") == want


# ------------------------------------------------------------------ pagination


def test_pagination_pages_through_a_long_list(page: Watched, site: Site) -> None:
    page.goto("credentials")
    page.ready("credentials")
    table = page.page.locator("table[data-table='usernames'] tbody tr")
    first_page = table.all_text_contents()
    assert len(first_page) == 20
    pager = page.page.locator("[data-pager='usernames']")
    assert (pager.locator(".page-info").text_content() or "").startswith("1–20")
    pager.locator("[data-page='next']").click()
    page.page.wait_for_function(
        "() => document.querySelector(\"[data-pager='usernames'] .page-info\").textContent.startsWith('21')"
    )
    second = table.all_text_contents()
    want = site.api("panels/top-usernames", limit=20, offset=20)
    assert table.first.locator("td").first.text_content() == want["rows"][0][0]
    assert set(second).isdisjoint(first_page)
    pager.locator("[data-page='prev']").click()
    page.page.wait_for_function(
        "() => document.querySelector(\"[data-pager='usernames'] .page-info\").textContent.startsWith('1–')"
    )
    assert table.all_text_contents() == first_page
    assert pager.locator("[data-page='prev']").is_disabled()


# ------------------------------------------------------------------ live


def cowrie_line(ts: str, session: str, eventid: str, sensor: str, ip: str, **fields: Any) -> str:
    return json.dumps(
        {"timestamp": ts, "eventid": eventid, "session": session, "sensor": sensor, "src_ip": ip, **fields}
    )


def test_live_view_shows_an_event_ingested_while_open(page: Watched, site: Site) -> None:
    """Ingest a new Cowrie log with the CLI while the live view is open (filtered to one sensor): its event
    appears on top of the feed within 15 s; an event of another sensor does not."""
    page.goto("live?sensor=live-test")
    page.ready("live")
    page.page.wait_for_function("() => document.querySelector('.live-status').dataset.state === 'open'", timeout=10_000)
    marker = f"live-{int(time.time() * 1000) % 10**9}"
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    log = site.root / f"{marker}.cowrie.json"
    log.write_text(
        cowrie_line(now, "feedc0de0002", "cowrie.login.failed", "other-test", "8.8.4.4", username=f"{marker}-other")
        + "\n"
        + cowrie_line(now, "feedc0de0001", "cowrie.login.failed", "live-test", "8.8.8.8", username=marker, password="x")
        + "\n",
        encoding="utf-8",
    )
    ok(hf("ingest", str(log), "--lake", str(site.lake), cwd=site.root))
    rows = page.page.locator("table[data-table='live'] tbody tr")
    rows.filter(has_text=marker).first.wait_for(timeout=15_000)
    assert marker in (rows.first.text_content() or "")
    page.page.wait_for_timeout(1500)  # the other sensor's event came in the same batch
    assert rows.filter(has_text=f"{marker}-other").count() == 0
    assert rows.count() <= 200


# ------------------------------------------------------------------ hostile text


def xss_records() -> list[str]:
    lines: list[str] = []
    ips = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "77.88.8.8", "5.255.255.5"]
    for i, p in enumerate(XSS):
        sensor = XSS[min(i, 2)]  # XSS[1] has a "/": no session page is opened for it
        session = f"deadbeef{i:04d}"
        ts = f"2026-11-20T10:{i:02d}:%02d.000000Z"
        n = iter(range(60))

        def ev(eventid: str, **f: Any) -> str:
            return cowrie_line(ts % next(n), session, eventid, sensor, ips[i], **f)  # noqa: B023

        lines += [
            ev("cowrie.session.connect", src_port=40000 + i, dst_port=22, protocol="ssh"),
            ev("cowrie.client.version", version=p),
            ev("cowrie.login.failed", username=p, password=XSS[(i + 1) % len(XSS)]),
            ev("cowrie.login.success", username=p, password=p),
            ev("cowrie.command.input", input=p),
            ev("cowrie.command.input", input=f"echo {p}"),
            ev("cowrie.session.file_download", url=p, shasum=f"{i:02x}" * 32),
            ev("cowrie.session.file_download", url=f"http://evil.example/{p}", shasum=f"{i + 16:02x}" * 32),
            ev("cowrie.session.closed", duration=5.0),
        ]
    # a session whose id itself is hostile
    lines.append(
        cowrie_line("2026-11-20T11:00:00.000000Z", XSS[2], "cowrie.command.input", XSS[0], "8.8.8.8", input="id")
    )
    return lines


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A lake whose every attacker-controlled string is an XSS payload, ingested through the real CLI."""
    root = tmp_path_factory.mktemp("xss")
    log = root / "hostile.cowrie.json"
    log.write_text("\n".join(xss_records()) + "\n", encoding="utf-8")
    lake = root / "lake"
    out = json.loads(ok(hf("ingest", str(log), "--lake", str(lake), "--json", cwd=root)))
    assert out.get("dead_letter", 0) == 0, out
    spool = root / "spool"
    (spool / "tty").mkdir(parents=True)
    frames = [[0.1, f"root@svr:~# {p}\r\n"] for p in XSS] + [[0.5, "\x1b[31m" + XSS[0] + "\x1b[0m\r\n"]]
    (spool / "tty" / "deadbeef0000.cast").write_text(
        "\n".join(
            [json.dumps({"version": 2, "width": 80, "height": 24})] + [json.dumps([t, "o", s]) for t, s in frames]
        )
        + "\n",
        encoding="utf-8",
    )
    fleet = {XSS[0]: {"region": XSS[1], "exposure": XSS[3], "hourly_cost": 0.01}}
    cfg = write_config(root / "honeyfarm.toml", fleet, [spool])
    served = start_serve("-c", str(cfg), "--lake", str(lake), "--host", "127.0.0.1", "--port", "0", cwd=root)
    try:
        yield Site(served, root, lake, spool, screenshot_dir(root))
    finally:
        stop_serve(served)


def assert_inert(w: Watched) -> None:
    assert w.page.evaluate("typeof window.__xss") == "undefined"
    assert w.page.locator("img[src='x']").count() == 0
    assert w.page.locator("svg[onload], [onerror], [onload]").count() == 0
    # only the two scripts index.html names
    assert w.page.evaluate("document.scripts.length") == 2


def test_hostile_strings_stay_text_in_every_view(hostile: Site, browser: Any) -> None:
    with watched(browser, hostile.url) as w:
        for view in VIEWS:
            w.goto(view)
            w.ready(view)
            w.page.wait_for_timeout(200)
            assert_inert(w)
        # the payloads are on the page, as text
        w.goto("credentials")
        w.ready("credentials")
        for p in XSS:
            assert w.page.get_by_text(p, exact=True).count() >= 1, p
        w.goto("commands")
        w.ready("commands")
        assert w.page.get_by_text(f"echo {XSS[1]}", exact=True).count() >= 1
        w.goto("downloads")
        w.ready("downloads")
        assert w.page.get_by_text(f"http://evil.example/{XSS[0]}", exact=True).count() >= 1
        assert w.page.locator("a[href]").evaluate_all("(as) => as.map((a) => a.getAttribute('href'))") == [
            "#/overview",
            *(f"#/{v}" for v in NAV),
        ]
        w.goto("sources")
        w.ready("sources")
        assert w.page.get_by_text(XSS[4], exact=True).count() >= 1  # a client version
        # hover every chart so the tooltips (drawn on the canvas) render hostile labels
        for view in ("credentials", "commands", "sources", "sensors", "map"):
            w.goto(view)
            w.ready(view)
            for box in w.page.locator(".chart").all():
                box.scroll_into_view_if_needed()
                b = box.bounding_box()
                if b:
                    for fx in (0.3, 0.5, 0.7):
                        w.page.mouse.move(b["x"] + b["width"] * fx, b["y"] + b["height"] * 0.3)
                        w.page.wait_for_timeout(60)
            assert_inert(w)
        # a filter chip and the URL carry a hostile sensor name
        w.goto(f"overview?sensor={urllib.parse.quote(XSS[0])}")
        w.ready("overview")
        assert w.page.locator(".chip[data-filter='sensor'] .chip-v").text_content() == XSS[0]
        assert_inert(w)
        # the session page: hostile sensor, events and TTY output
        w.goto(f"session/{urllib.parse.quote(XSS[0], safe='')}/deadbeef0000")
        w.ready("session")
        w.page.locator("[data-tty-end]").click()
        text = w.page.locator("pre[data-tty]").text_content() or ""
        for p in XSS:
            assert p in text
        assert w.page.get_by_text(XSS[0], exact=True).count() >= 1
        assert_inert(w)
        w.goto(f"session/{urllib.parse.quote(XSS[0], safe='')}/{urllib.parse.quote(XSS[2], safe='')}")
        w.ready("session")
        assert_inert(w)
        w.assert_clean()
