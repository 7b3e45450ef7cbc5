# SPDX-License-Identifier: MIT
"""The dashboard's static files: no HTML-parsing sinks or string evaluation in the JavaScript, no inline
script or style in index.html, nothing loaded from another site, and a world map keyed by ISO code."""

from __future__ import annotations

import itertools
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "src" / "honeyfarm" / "views" / "web" / "static"
VENDOR = STATIC / "vendor"


def own_files(*suffixes: str) -> list[Path]:
    """Files under static/ that are ours (vendor/ is third-party, built by `make web`)."""
    return sorted(
        p
        for p in STATIC.rglob("*")
        if p.is_file() and VENDOR not in p.parents and (not suffixes or p.suffix in suffixes)
    )


def strip_js_comments(src: str) -> str:
    """JavaScript without // and /* */ comments (strings kept), so a comment naming a sink is not a hit."""
    out, i, n = [], 0, len(src)
    quote: str | None = None
    while i < n:
        c = src[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(src[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
            out.append(c)
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


# Sinks that parse HTML or evaluate strings as code. `href`/`src` from data is checked separately.
FORBIDDEN = {
    "innerHTML": re.compile(r"\binnerHTML\b"),
    "outerHTML": re.compile(r"\bouterHTML\b"),
    "insertAdjacentHTML": re.compile(r"\binsertAdjacentHTML\b"),
    "document.write": re.compile(r"\bdocument\s*\.\s*write(ln)?\s*\("),
    "eval": re.compile(r"(?<![\w.$])eval\s*\("),
    "new Function": re.compile(r"\bnew\s+Function\s*\("),
    "Function(": re.compile(r"(?<![\w.$])Function\s*\("),
    "setTimeout(string)": re.compile(r"\bset(Timeout|Interval)\s*\(\s*['\"`]"),
    "createContextualFragment": re.compile(r"\bcreateContextualFragment\b"),
    "DOMParser": re.compile(r"\bDOMParser\b"),
    "srcdoc": re.compile(r"\bsrcdoc\b"),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "setHTMLUnsafe": re.compile(r"\b(setHTMLUnsafe|parseHTMLUnsafe)\b"),
    # ECharts' HTML tooltips would render strings as markup: the dashboard draws them on the canvas
    "renderMode html": re.compile(r"renderMode\s*:\s*['\"]html['\"]"),
}
# No URL attribute is ever set from a variable: .href =, .src =, setAttribute('href'|'src'|..., non-literal)
URL_SINKS = re.compile(
    r"\.(href|src|action|formAction|data)\s*=(?!=)|setAttribute\(\s*['\"](href|src|action|formaction|xlink:href)['\"]\s*,(?!\s*['\"`][^'\"`$]*['\"`]\s*\))"
)


def test_static_tree_is_there() -> None:
    assert (STATIC / "index.html").is_file()
    assert (STATIC / "app.css").is_file()
    assert (STATIC / "js" / "app.js").is_file()
    assert len(own_files(".js")) >= 10


@pytest.mark.parametrize("path", own_files(".js"), ids=lambda p: str(p.relative_to(STATIC)))
def test_javascript_uses_no_html_or_eval_sink(path: Path) -> None:
    code = strip_js_comments(path.read_text(encoding="utf-8"))
    hits = [name for name, rx in FORBIDDEN.items() if rx.search(code)]
    assert hits == [], f"{path.name} uses {hits}"
    for m in URL_SINKS.finditer(code):
        line = code[: m.start()].count("\n") + 1
        # the only URL attribute the app sets: navigation links to its own fixed views ("#/overview")
        context = code[m.start() : m.start() + 80]
        assert "`#/${name}`" in context, f"{path.name}:{line}: URL attribute set from data: {context!r}"


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "style" in a:
            self.problems.append(f"style attribute on <{tag}>")
        self.problems += [f"event handler {k} on <{tag}>" for k in a if k.startswith("on")]
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self.scripts.append(a)
            self.in_script = True
            if not a.get("src"):
                self.problems.append("<script> without src")
        for k in ("href", "src", "action"):
            v = a.get(k) or ""
            if re.match(r"\s*(javascript|data|https?):|//", v, re.IGNORECASE):
                self.problems.append(f"<{tag} {k}={v!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.problems.append("inline script text")


def test_index_html_has_no_inline_script_or_style() -> None:
    p = _Inline()
    p.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    assert p.problems == []
    srcs = [s.get("src") for s in p.scripts]
    assert "/static/js/app.js" in srcs
    assert "/static/vendor/echarts.min.js" in srcs


def test_css_has_no_imports_or_remote_urls() -> None:
    for path in own_files(".css"):
        css = path.read_text(encoding="utf-8")
        assert "@import" not in css, path
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
            assert url.startswith("/static/"), f"{path.name}: url({url})"


def test_no_file_references_another_site() -> None:
    """No http(s) URL anywhere in our files (an SVG's XML namespace name is not a URL that is fetched)."""
    for path in own_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        found = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'\"`)]*", text, re.IGNORECASE)
        found += re.findall(r"https?://\S+", text, re.IGNORECASE)
        assert found == [], f"{path.relative_to(STATIC)} references {found}"


def test_vendor_world_map_has_iso2_features() -> None:
    geo_path = VENDOR / "world.geo.json"
    if not (VENDOR / ".built").exists():
        pytest.skip("vendor assets not built: run `make web` (scripts/build-web.sh)")
    geo = json.loads(geo_path.read_text(encoding="utf-8"))
    assert geo["type"] == "FeatureCollection"
    feats = geo["features"]
    assert len(feats) >= 170
    codes = [f["properties"]["iso2"] for f in feats]
    assert all(isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in codes)
    assert len(set(codes)) == len(codes), "one feature per country"
    for f in feats:
        lon, lat = f["properties"]["centroid"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90, f["properties"]
        assert f["properties"]["name"]
    assert {"US", "CN", "RU", "FR", "DE", "BR", "SG", "HK", "XK"} <= set(codes)
    # cut at the antimeridian: no ring jumps across the map
    for f in feats:
        g = f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        for ring in (r for p in polys for r in p):
            assert all(abs(b[0] - a[0]) <= 180 for a, b in itertools.pairwise(ring)), f["id"]


def test_vendor_has_echarts_fonts_and_licences() -> None:
    if not (VENDOR / ".built").exists():
        pytest.skip("vendor assets not built: run `make web` (scripts/build-web.sh)")
    assert (VENDOR / "echarts.min.js").stat().st_size > 100_000
    for w in (400, 600):
        assert (VENDOR / "fonts" / f"inter-latin-{w}-normal.woff2").stat().st_size > 10_000
    licences = {p.name for p in (VENDOR / "licenses").iterdir()}
    for pkg in ("echarts", "zrender", "world-atlas", "i18n-iso-countries", "fontsource-inter"):
        assert any(n.startswith(pkg) for n in licences), pkg
