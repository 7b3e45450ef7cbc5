# SPDX-License-Identifier: MIT
"""The session page plays a Cowrie TTY log that ``honeyfarm ingest`` converted (real samples, real server,
headless Chromium): the exec channel's output appears, escapes never reach the page, no console error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserutil import require_browser, served_page

from honeyfarm.config import parse_config
from honeyfarm.pipeline import ingest

sync_api = require_browser()

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
TTY = SAMPLES / "cowrie_ttylog"
JSON_0524 = SAMPLES / "cowrie_json" / "kareiva-cowrie-logs_2018-05-24.cowrie.json"


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, list[str]]]:
    if not (TTY.is_dir() and JSON_0524.is_file()):
        pytest.skip(f"Cowrie TTY log samples not found in {SAMPLES}")
    lake = tmp_path_factory.mktemp("ttyb") / "lake"
    got = ingest([str(TTY), str(JSON_0524)], parse_config({}), lake)
    assert got.errors == [], got.errors
    with served_page(sync_api, lake, tmp_path_factory.mktemp("s")) as page:
        yield page


def test_session_page_plays_an_ingested_cowrie_tty_log(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/session/920497a79896/23c5bd073f0d")
    page.locator("[data-view='session'][data-ready='1']").wait_for(timeout=20_000)
    page.locator(".player").wait_for(timeout=10_000)
    page.locator("[data-tty-end]").click()
    page.wait_for_function("() => document.querySelector('.player').dataset.state === 'ended'", timeout=10_000)
    text = page.locator("pre[data-tty]").text_content() or ""
    assert "bash: /etc/init.d/iptables: command not found" in text, text[:500]
    assert "Saving to: `/tmp/tfhy'" in text and "bash: ./tfhy: command not found" in text
    assert "\x1b" not in text
    assert page.evaluate("window.__csp") == [] and errors == []


def test_a_session_without_a_log_says_so(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, errors = browser_page
    page.goto(f"{url}/#/session/920497a79896/ea008b494d0b")  # its logs were never shipped with the JSON
    page.locator("[data-view='session'][data-ready='1']").wait_for(timeout=20_000)
    assert "No TTY log was recorded for this session." in page.locator("[data-view='session']").inner_text()
    assert page.locator(".player").count() == 0 and errors == []
