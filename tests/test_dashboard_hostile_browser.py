# SPDX-License-Identifier: MIT
"""Attacker text that is not markup but still hostile, in a real browser (issue 10, items 3 and 5).

* Names of ``Object.prototype`` members (``__proto__``, ``constructor``, ``valueOf``, ...) as usernames,
  passwords, commands, client versions, sensor names, download URLs and DNS names (and as the regions
  and exposures of the fleet config): every view loads and draws, in one page without a reload (a
  polluted prototype shows only on the *next* view), and ``Object.prototype`` gains nothing. zrender's
  text-width LRU cache once keyed its entries by label text in a plain object.
* Bidi overrides and invisible characters are shown as ``\\u202e``-style escapes, as the terminal output
  shows them, in tables, charts, chips, the session page, the TTY replay and the live feed.
* A 100 KB username and command are cut in cells, with the whole value one click away: tables stay
  inside their panels and pages stay short.

The lake is ingested through the real CLI and served by a real ``honeyfarm serve``.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browserutil import READY_MS, VIEWPORT, launched, require_browser
from lakeutil import hf
from webutil import Served, start_serve, stop_serve

sync_api = require_browser()

pytestmark = pytest.mark.slow


#: Own properties of Object.prototype (and friends) a careless dictionary reads or writes.
NAMES = ["__proto__", "constructor", "valueOf", "toString", "hasOwnProperty", "__defineGetter__"]
IPS = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "77.88.8.8", "5.255.255.5", "45.33.32.156"]
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-1"]  # the first three sensors are on the map

BIDI_SENSOR = "s\u202eevil"  # shows as "slive" when the override applies
BIDI_USER = "admin\u202egnp.exe"  # shows as "adminexe.png"
ZW_PASSWORD = "pass\u200bword\ufeff"
ZW_COMMAND = "echo a\u200db\u2066c\u00ad"
BIDI_URL = "http://evil.example/\u202egnp.exe"
BIDI_CLIENT = "SSH-2.0-\u202eevil"
LONG_USER = "U" * 100_000
LONG_COMMAND = "echo " + "x" * 100_000

#: The same strings as the page must show them (escapes as in honeyfarm.views.render.escape_terminal).
SHOWN = {
    BIDI_SENSOR: "s\\u202eevil",
    BIDI_USER: "admin\\u202egnp.exe",
    ZW_PASSWORD: "pass\\u200bword\\ufeff",
    ZW_COMMAND: "echo a\\u200db\\u2066c\\xad",
    BIDI_URL: "http://evil.example/\\u202egnp.exe",
    BIDI_CLIENT: "SSH-2.0-\\u202eevil",
}
HIDDEN = "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"

# Records CSP violations before any page script runs.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""
# Own property names of the built-in prototypes, to compare before and after.
PROTOS = """() => Object.fromEntries([
  ['Object.prototype', Object.prototype], ['Object', Object], ['Function.prototype', Function.prototype],
  ['Array.prototype', Array.prototype], ['String.prototype', String.prototype],
].map(([k, o]) => [k, Object.getOwnPropertyNames(o).sort()]))"""


# ------------------------------------------------------------------ the lake


def cowrie_line(ts: str, session: str, eventid: str, sensor: str, ip: str, **fields: Any) -> str:
    return json.dumps(
        {"timestamp": ts, "eventid": eventid, "session": session, "sensor": sensor, "src_ip": ip, **fields}
    )


def session_lines(n: int, sensor: str, session: str, ip: str, steps: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [
        cowrie_line(f"2026-11-20T{10 + n:02d}:00:{i:02d}.000000Z", session, eventid, sensor, ip, **f)
        for i, (eventid, f) in enumerate(steps)
    ]


def hostile_records() -> list[str]:
    lines: list[str] = []
    for i, name in enumerate(NAMES):
        lines += session_lines(i, name, f"beef{i:04d}", IPS[i], [
            ("cowrie.session.connect", {"src_port": 40000 + i, "dst_port": 22, "protocol": "ssh"}),
            ("cowrie.client.version", {"version": name}),
            ("cowrie.login.failed", {"username": name, "password": name}),
            ("cowrie.login.success", {"username": name, "password": NAMES[(i + 1) % len(NAMES)]}),
            ("cowrie.command.input", {"input": name}),
            ("cowrie.session.file_download", {"url": name, "shasum": f"{i:02x}" * 32}),
            ("cowrie.session.closed", {"duration": 5.0}),
        ])  # fmt: skip
    lines += session_lines(7, BIDI_SENSOR, "b1d10001", "1.1.1.1", [
        ("cowrie.session.connect", {"src_port": 41000, "dst_port": 22, "protocol": "ssh"}),
        ("cowrie.client.version", {"version": BIDI_CLIENT}),
        ("cowrie.login.failed", {"username": BIDI_USER, "password": ZW_PASSWORD}),
        ("cowrie.command.input", {"input": ZW_COMMAND}),
        ("cowrie.session.file_download", {"url": BIDI_URL, "shasum": "b1" * 32}),
        ("cowrie.session.closed", {"duration": 2.0}),
    ])  # fmt: skip
    lines += session_lines(8, "cow-long", "10a90001", "9.9.9.9", [
        ("cowrie.session.connect", {"src_port": 42000, "dst_port": 22, "protocol": "ssh"}),
        ("cowrie.login.failed", {"username": LONG_USER, "password": "x"}),
        ("cowrie.command.input", {"input": LONG_COMMAND}),
        ("cowrie.session.closed", {"duration": 2.0}),
    ])  # fmt: skip
    return lines


def route53_lines() -> list[str]:
    names = [*NAMES, "\u202egnp.example"]
    return [
        f"1.0 2026-11-20T09:{i:02d}:00.000Z Z123EXAMPLE {q} A NOERROR UDP FRA6 {IPS[i % len(IPS)]} -"
        for i, q in enumerate(names)
    ]


def write_config(path: Path, ttylog_dir: Path) -> Path:
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = ["[serve]", f"ttylog_dirs = [{q(str(ttylog_dir))}]", ""]
    for i, name in enumerate(NAMES):
        region = REGIONS[i] if i < len(REGIONS) else NAMES[(i + 2) % len(NAMES)]
        lines += [f"[fleet.sensors.{q(name)}]", f"region = {q(region)}", f"exposure = {q(NAMES[(i + 1) % len(NAMES)])}"]
        lines += ["hourly_cost = 0.01", ""]
    region, exposure = q("eu-\u202ewest"), q("ip\u200b")
    lines += [f"[fleet.sensors.{q(BIDI_SENSOR)}]", f"region = {region}", f"exposure = {exposure}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class Site:
    served: Served

    @property
    def url(self) -> str:
        return self.served.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("hostile-text")
    cowrie = root / "hostile.cowrie.json"
    cowrie.write_text("\n".join(hostile_records()) + "\n", encoding="utf-8")
    r53 = root / "route53.log"
    r53.write_text("\n".join(route53_lines()) + "\n", encoding="utf-8")
    lake = root / "lake"
    p = hf("ingest", str(cowrie), str(r53), "--lake", str(lake), "--json", cwd=root)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout).get("dead_letter", 0) == 0, p.stdout
    spool = root / "spool"
    (spool / "tty").mkdir(parents=True)
    frames = [[0.1 * (i + 1), f"root@svr:~# {n}\r\n"] for i, n in enumerate(NAMES)]
    frames.append([1.0, f"{BIDI_USER}\r\n"])
    cast = [json.dumps({"version": 2, "width": 80, "height": 24})] + [json.dumps([t, "o", s]) for t, s in frames]
    (spool / "tty" / "beef0000.cast").write_text("\n".join(cast) + "\n", encoding="utf-8")
    cfg = write_config(root / "honeyfarm.toml", spool)
    served = start_serve("-c", str(cfg), "--lake", str(lake), "--host", "127.0.0.1", "--port", "0", cwd=root)
    try:
        yield Site(served)
    finally:
        stop_serve(served)


# ------------------------------------------------------------------ the browser


@dataclass
class Page:
    page: Any
    base: str
    errors: list[str] = field(default_factory=list)

    def nav(self, hash_: str) -> None:
        """Go to a view in the same document (no reload: what one view left behind stays)."""
        self.page.evaluate("(h) => { location.hash = h; }", "#/" + hash_.lstrip("#/"))

    def ready(self, view: str) -> None:
        loc = self.page.locator(f"[data-view='{view}'][data-ready='1']")
        try:
            loc.wait_for(timeout=READY_MS)
        except Exception:
            err = self.page.evaluate("document.querySelector('[data-view]')?.dataset.error")
            raise AssertionError(f"view {view} not ready (error: {err}); console: {self.errors}") from None
        assert self.page.locator(".error").count() == 0, self.page.locator(".error").all_text_contents()

    def texts(self, selector: str) -> list[str]:
        return [t or "" for t in self.page.locator(selector).all_text_contents()]

    def hover_charts(self) -> None:
        """Move over every chart, so tooltips (canvas text, measured and cached by zrender) are drawn."""
        for box in self.page.locator(".chart").all():
            box.scroll_into_view_if_needed()
            b = box.bounding_box()
            if not b:
                continue
            for fx, fy in ((0.3, 0.2), (0.5, 0.5), (0.7, 0.35), (0.6, 0.8)):
                self.page.mouse.move(b["x"] + b["width"] * fx, b["y"] + b["height"] * fy)
                self.page.wait_for_timeout(40)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.page.evaluate("window.__csp") == []


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched(sync_api) as b:
        yield b


@contextlib.contextmanager
def opened(browser: Any, site: Site, first: str = "overview") -> Iterator[Page]:
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, service_workers="block")
    page = ctx.new_page()
    page.add_init_script(WATCH)
    p = Page(page, site.url)
    page.on(
        "console", lambda m: p.errors.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: p.errors.append(f"pageerror: {e}"))
    try:
        page.goto(f"{site.url}/#/{first}")
        p.ready(first.split("?")[0].split("/")[0])
        yield p
    finally:
        ctx.close()


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


# ------------------------------------------------------------------ prototype names


def test_prototype_member_names_break_no_view(site: Site, browser: Any) -> None:
    """Every view, one after the other in one document, with the names of Object.prototype's members in
    every attacker field: each loads and draws its data, nothing is logged, no prototype gains a key."""
    with opened(browser, site) as p:
        pristine = p.page.evaluate(PROTOS)
        p.page.evaluate("window.__same_document = 1")

        def visit(hash_: str, view: str, tables: dict[str, str] | None = None) -> None:
            p.nav(hash_)
            p.ready(view)
            p.hover_charts()
            for selector, what in (tables or {}).items():
                missing = [n for n in NAMES if n not in p.texts(selector)]
                assert missing == [], f"{hash_}: {what} {missing} not shown in {p.texts(selector)}"

            assert p.page.evaluate(PROTOS) == pristine, f"a built-in prototype changed on {hash_}"
            assert p.errors == [], (hash_, p.errors)

        sensors_cells = "table[data-table='overview-sensors'] td.text"
        visit("overview", "overview", {sensors_cells: "sensors"})
        visit("map", "map", {"table[data-table='map-sensors'] td": "sensors"})
        visit("timeline?by=honeypot", "timeline")
        visit("timeline?by=country&kind=bar", "timeline")
        visit("credentials", "credentials", {
            "table[data-table='usernames'] td.text": "usernames",
            "table[data-table='passwords'] td.text": "passwords",
        })  # fmt: skip
        visit("commands", "commands", {"table[data-table='commands'] td.text": "commands"})
        for name in NAMES:  # the sessions that ran it: that sensor's
            visit(f"commands?command={q(name)}", "commands")
            assert p.texts("table[data-table='sessions'] tbody td.text")[:1] == [name]
        p.page.locator("table[data-table='sessions'] tbody tr.row-link").first.click()
        p.ready("session")
        visit(f"session/{q('__proto__')}/beef0000", "session")
        p.page.locator("[data-tty-end]").click()
        tty = p.page.locator("pre[data-tty]").text_content() or ""
        assert all(n in tty for n in NAMES), tty
        for i, name in enumerate(NAMES):  # its username, password, command, URL, client version
            visit(f"session/{q(name)}/beef{i:04d}", "session")
            assert p.texts("table[data-table='session-events'] td.text").count(name) >= 5
        visit("downloads", "downloads", {"table[data-table='downloads'] td.text": "urls"})
        visit("sources", "sources", {"table[data-table='client-versions'] td.text": "client versions"})
        visit(f"sources?ip={q(IPS[0])}", "sources")
        visit("network", "network", {"table[data-table='r53-top-queries'] td.text": "query names"})
        visit("sensors", "sensors", {"table[data-table='sensors'] td.text": "sensors"})
        visit("live", "live", {"table[data-table='live'] td.sensor": "sensors"})
        # filters whose values are the same names: chips, pickers, the API
        chips = "&".join(f"sensor={q(n)}" for n in NAMES) + f"&exposure={q('valueOf')}"
        visit(f"overview?{chips}", "overview", {".chip[data-filter='sensor'] .chip-v": "chips"})
        visit(f"credentials?region={q('__proto__')}&honeypot=constructor", "credentials")
        p.page.locator("select[data-filter='sensor']").select_option("hasOwnProperty")
        p.ready("credentials")
        # view names and options from the URL
        for bad in ("constructor", "__proto__", "toString", "overview?range=constructor", "overview?range=__proto__"):
            p.nav(bad)
            p.ready("overview")
        # the views the report saw fail after Credentials, and Commands after "valueOf"
        visit("credentials", "credentials")
        visit("timeline", "timeline")
        visit("overview", "overview", {sensors_cells: "sensors"})
        visit("commands", "commands")
        assert p.page.evaluate("window.__same_document") == 1, "the page was reloaded"
        assert p.page.evaluate("() => ({}).next === undefined && ({}).key === undefined && ({}).step === undefined")
        p.assert_clean()


# ------------------------------------------------------------------ bidi and invisible characters


def raw_hidden(p: Page) -> list[str]:
    """Text nodes and shown attributes that still hold a raw bidi or invisible character."""
    return list(
        p.page.evaluate(
            """(re) => {
                const rx = new RegExp(re, 'u');
                const out = [];
                const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                for (let n = w.nextNode(); n; n = w.nextNode()) if (rx.test(n.data)) out.push(JSON.stringify(n.data));
                for (const el of document.querySelectorAll('[title], [aria-label]'))
                  for (const a of ['title', 'aria-label'])
                    if (rx.test(el.getAttribute(a) || '')) out.push(`${a}=${JSON.stringify(el.getAttribute(a))}`);
                return out;
            }""",
            HIDDEN,
        )
    )


def chart_text(p: Page, name: str) -> str:
    """Category labels and series/data names of a chart, as ECharts holds them."""
    return str(
        p.page.evaluate(
            """(name) => {
                const el = document.querySelector(`.chart[data-chart="${name}"]`);
                const o = echarts.getInstanceByDom(el).getOption();
                const axes = [...(o.xAxis || []), ...(o.yAxis || [])].map((a) => a.data || []);
                const names = (o.series || []).flatMap((s) => [s.name, ...(s.data || []).map((d) => d && d.name)]);
                return JSON.stringify([axes, names]);
            }""",
            name,
        )
    )


def test_bidi_and_invisible_characters_show_as_escapes(site: Site, browser: Any) -> None:
    with opened(browser, site, "credentials") as p:
        users = p.texts("table[data-table='usernames'] td.text")
        assert SHOWN[BIDI_USER] in users
        assert SHOWN[ZW_PASSWORD] in p.texts("table[data-table='passwords'] td.text")
        assert "\\u202e" in chart_text(p, "top-usernames")
        assert not re.search(HIDDEN, chart_text(p, "top-usernames"))
        assert raw_hidden(p) == []
        checks = {
            "overview": ("table[data-table='overview-sensors'] td.text", BIDI_SENSOR),
            "commands": ("table[data-table='commands'] td.text", ZW_COMMAND),
            "downloads": ("table[data-table='downloads'] td.text", BIDI_URL),
            "sources": ("table[data-table='client-versions'] td.text", BIDI_CLIENT),
            "sensors": ("table[data-table='sensors'] td.text", BIDI_SENSOR),
            "live": ("table[data-table='live'] td.sensor", BIDI_SENSOR),
        }
        for view, (selector, raw) in checks.items():
            p.nav(view)
            p.ready(view)
            p.hover_charts()
            assert SHOWN[raw] in p.texts(selector), (view, p.texts(selector))
            assert raw_hidden(p) == [], view
        p.nav("network")
        p.ready("network")
        assert "\\u202egnp.example" in p.texts("table[data-table='r53-top-queries'] td.text")
        assert not re.search(HIDDEN, chart_text(p, "r53-top-queries"))
        # a filter chip, the picker's options, the session page and its TTY replay
        p.nav(f"session/{q(BIDI_SENSOR)}/b1d10001?sensor={q(BIDI_SENSOR)}")
        p.ready("session")
        assert p.texts(".chip[data-filter='sensor'] .chip-v") == [SHOWN[BIDI_SENSOR]]
        assert SHOWN[BIDI_SENSOR] in p.texts("select[data-filter='sensor'] option")
        assert SHOWN[BIDI_SENSOR] in p.texts(".facts dd")
        assert SHOWN[BIDI_USER] in p.texts("table[data-table='session-events'] td.text")
        assert raw_hidden(p) == []
        p.nav(f"session/{q('__proto__')}/beef0000")
        p.ready("session")
        p.page.locator("[data-tty-end]").click()
        assert SHOWN[BIDI_USER] in (p.page.locator("pre[data-tty]").text_content() or "")
        assert raw_hidden(p) == []
        p.assert_clean()


# ------------------------------------------------------------------ long text


def tables_inside_panels(p: Page) -> list[str]:
    return list(
        p.page.evaluate(
            """() => [...document.querySelectorAll('table[data-table]')].flatMap((t) => {
                const body = t.closest('.card-body') || t.closest('.card');
                const tw = t.getBoundingClientRect().width;
                const bw = body.getBoundingClientRect().width;
                return tw > bw + 1 ? [`${t.dataset.table}: ${Math.round(tw)} px in ${Math.round(bw)} px`] : [];
            })"""
        )
    )


def page_height(p: Page) -> int:
    return int(p.page.evaluate("document.documentElement.scrollHeight"))


def test_long_values_are_cut_with_the_whole_value_on_demand(site: Site, browser: Any) -> None:
    with opened(browser, site, "credentials") as p:
        assert tables_inside_panels(p) == []
        assert page_height(p) < 5000
        cell = p.page.locator("table[data-table='usernames'] td.text", has=p.page.locator("[data-more]"))
        assert cell.count() == 1
        shown = cell.text_content() or ""
        assert shown.startswith("UUUU") and len(shown) < 260, len(shown)
        assert "all 100,000 chars" in shown
        cell.locator("[data-more]").click()
        full = cell.locator("[data-full]")
        assert full.text_content() == LONG_USER
        assert page_height(p) < 5000  # the whole value scrolls in its own box
        assert tables_inside_panels(p) == []
        cell.locator("[data-more]").click()
        assert cell.locator("[data-full]").count() == 0
        # chart labels are cut too
        labels = json.loads(chart_text(p, "top-usernames"))[0]
        assert max(len(s) for axis in labels for s in axis) <= 40

        for view in ("commands", "overview", "live", "sources", "downloads", "sensors"):
            p.nav(view)
            p.ready(view)
            p.hover_charts()
            assert tables_inside_panels(p) == [], view
            assert page_height(p) < 5000, (view, page_height(p))
        p.nav("commands")
        p.ready("commands")
        cmd = p.page.locator("table[data-table='commands'] td.text", has=p.page.locator("[data-more]"))
        assert cmd.count() == 1
        cmd.locator("[data-more]").click()  # shows the command, does not open its sessions
        assert cmd.locator("[data-full]").text_content() == LONG_COMMAND
        assert "command=" not in p.page.evaluate("location.hash")
        cmd.click()  # too long to go into the URL and the API's query string: not a link to its sessions
        p.page.wait_for_timeout(300)
        assert "command=" not in p.page.evaluate("location.hash")
        assert p.page.locator("[data-view='commands'] .error").count() == 0
        p.nav("session/cow-long/10a90001")
        p.ready("session")
        assert tables_inside_panels(p) == []
        assert page_height(p) < 5000
        p.assert_clean()
