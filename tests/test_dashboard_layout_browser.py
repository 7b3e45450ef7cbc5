# SPDX-License-Identifier: MIT
"""The dashboard's shell in headless Chromium at the screen sizes analysts use: the navigation fits.

With thirteen views and more to come, the nav once scrolled its last links out of sight ("Sensors" cut
to "Sens", "Live" under the lake status). At 1440x900, 1280x800 and 1024x768 every nav link must be
whole, inside the viewport, the element actually hit at its centre (nothing laid over it) and clickable;
the lake status must be visible and clear of the nav; the filter bar must sit below the top bar, also
once the page is scrolled (they stick together). The lake status is widened to a nine-digit event count
and a long version (``/api/meta`` answered with those), as a big lake would show it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browserutil import NAV, READY_MS, WATCH_CSP, launched, require_browser
from fixture_events import build_lake
from webutil import Served, start_serve, stop_serve

sync_api = require_browser()

pytestmark = pytest.mark.slow

SIZES = [(1440, 900), (1280, 800), (1024, 768)]

# Everything the checks need from the page in one round trip: rectangles and what is hit at centres.
LAYOUT = """() => {
  const r = (el) => { const b = el.getBoundingClientRect(); return {l: b.left, t: b.top, r: b.right, b: b.bottom}; };
  const hit = (el) => {
    const b = el.getBoundingClientRect();
    const at = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
    return !!at && (at === el || el.contains(at));
  };
  const nav = document.querySelector('nav.views');
  const status = document.getElementById('lake-status');
  return {
    vw: window.innerWidth, vh: window.innerHeight,
    nav: {...r(nav), clipped: nav.scrollWidth > nav.clientWidth || nav.scrollHeight > nav.clientHeight},
    links: [...nav.querySelectorAll('a')].map((a) => ({
      name: a.dataset.nav, text: a.textContent, ...r(a), hit: hit(a), cut: a.scrollWidth > a.clientWidth,
    })),
    status: {...r(status), hit: hit(status), text: status.textContent},
    topbar: r(document.querySelector('.topbar')),
    filters: r(document.getElementById('filters')),
  };
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]


def inside(a: dict[str, float], box: dict[str, float]) -> bool:
    e = 0.5  # sub-pixel layout
    return a["l"] >= box["l"] - e and a["r"] <= box["r"] + e and a["t"] >= box["t"] - e and a["b"] <= box["b"] + e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("layout")
    s = start_serve("--lake", str(build_lake(root)), "--host", "127.0.0.1", "--port", "0", cwd=root)
    try:
        yield s
    finally:
        stop_serve(s)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched(sync_api) as b:
        yield b


def wide_meta(route: Any) -> None:
    """The lake's real /api/meta with the widest status a big lake shows."""
    resp = route.fetch()
    meta = resp.json()
    meta.update(events=987_654_321, version="10.12.3.dev1234")
    route.fulfill(response=resp, json=meta)


@pytest.fixture
def page(browser: Any, served: Served, request: pytest.FixtureRequest) -> Iterator[Any]:
    width, height = request.param
    ctx = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
    p = ctx.new_page()
    p.add_init_script(WATCH_CSP)
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.route("**/api/meta*", wide_meta)
    p.errors = errors
    p.goto(f"{served.url}/#/overview")
    p.locator("[data-view='overview'][data-ready='1']").wait_for(timeout=READY_MS)
    try:
        yield p
    finally:
        ctx.close()


def assert_layout(lay: dict[str, Any]) -> None:
    view = {"l": 0, "t": 0, "r": lay["vw"], "b": lay["vh"]}
    links = lay["links"]
    assert [a["name"] for a in links if a["name"] in NAV] == NAV  # every view linked, in order
    assert not lay["nav"]["clipped"], lay["nav"]
    for a in links:
        where = f"{a['name']} at {lay['vw']}px: {a}"
        assert inside(a, view) and inside(a, lay["nav"]), where
        assert a["hit"], f"something lies over {where}"
        assert not a["cut"], f"label cut: {where}"
        assert a["text"].strip(), where
    for i, a in enumerate(links):
        for b in links[i + 1 :]:
            assert not overlap(a, b), (a, b)
    st = lay["status"]
    assert "987,654,321" in st["text"] and "v10.12.3.dev1234" in st["text"], st
    assert inside(st, view) and st["r"] > st["l"] and st["hit"], st
    assert not overlap(st, lay["nav"]), (st, lay["nav"])
    assert lay["filters"]["t"] >= lay["topbar"]["b"] - 0.5, (lay["topbar"], lay["filters"])


@pytest.mark.parametrize("page", SIZES, ids=[f"{w}x{h}" for w, h in SIZES], indirect=True)
def test_every_nav_link_is_whole_visible_and_clickable(page: Any) -> None:
    assert_layout(page.evaluate(LAYOUT))
    for name in NAV:  # Playwright's own check: visible, stable, enabled and receiving the pointer
        page.locator(f"nav.views a[data-nav='{name}']").click(trial=True, timeout=3000)
    # scrolled down, the top bar and the filter bar stay stuck together, nothing slides under the other
    page.mouse.wheel(0, 600)
    page.wait_for_function("window.scrollY > 0")
    lay = page.evaluate(LAYOUT)
    assert abs(lay["topbar"]["t"]) < 0.5, lay["topbar"]
    assert_layout(lay)
    assert page.errors == [], page.errors
    assert page.evaluate("window.__csp") == []


@pytest.mark.parametrize("page", [SIZES[-1]], ids=["1024x768"], indirect=True)
def test_nav_links_open_their_views_at_the_narrowest_size(page: Any) -> None:
    for name in NAV:
        link = page.locator(f"nav.views a[data-nav='{name}']")
        link.click()
        page.locator(f"[data-view='{name}'][data-ready='1']").wait_for(timeout=READY_MS)
        assert link.get_attribute("aria-current") == "page"
    assert_layout(page.evaluate(LAYOUT))  # the layout holds whichever view is open (Live is the last)
    assert page.errors == [], page.errors
    assert page.evaluate("window.__csp") == []
