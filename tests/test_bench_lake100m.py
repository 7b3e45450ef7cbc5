# SPDX-License-Identifier: MIT
"""The 100M benchmark's chunk making (bench/lake100m.py), on a few generated lines: never the benchmark itself."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "lake100m.py"
    spec = importlib.util.spec_from_file_location("lake100m", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lake100m"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


lake100m = _load()


def test_plan_covers_the_days_in_whole_day_chunks_ending_yesterday() -> None:
    plan = lake100m.make_plan("synthetic", 100_000_000, 365, 1_000_000, dt.date(2026, 12, 7))
    assert (plan.chunks, plan.chunk_days) == (91, 4)
    assert sum(plan.sizes) == 100_000_000 and max(plan.sizes) - min(plan.sizes) <= 1
    last = dt.date.fromisoformat(plan.start) + dt.timedelta(days=plan.chunks * plan.chunk_days - 1)
    assert last == dt.date(2026, 12, 6)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    d = tmp_path_factory.mktemp("lake100m")
    plan = lake100m.make_plan("synthetic", 6000, 6, 2000, dt.date(2026, 12, 7))  # 3 chunks of 2 days
    path = d / "template.json"
    assert lake100m.make_template(path, plan) == 2000
    return path, plan


def test_template_fills_exactly_the_first_chunks_days(template: tuple[Path, object]) -> None:
    path, plan = template
    days = {json.loads(line)["timestamp"][:10] for line in path.read_text().splitlines()}
    start = dt.date.fromisoformat(plan.start)  # type: ignore[attr-defined]
    assert days == {(start + dt.timedelta(days=i)).isoformat() for i in range(2)}


def _xor(sid: str, k: int, width: int = 2) -> str:
    return f"{int(sid[:width], 16) ^ k:0{width}x}{sid[width:]}"


def test_chunks_are_the_template_moved_in_time_with_their_own_sessions(
    template: tuple[Path, object], tmp_path: Path
) -> None:
    path, plan = template
    base = [json.loads(line) for line in path.read_text().splitlines()]
    tpl = lake100m.Template(path, plan)
    seen: set[str] = set()
    for k in range(3):
        dst = tmp_path / f"chunk-{k}.json"
        assert tpl.write(dst, k) == (2000, dst.stat().st_size)
        rows = [json.loads(line) for line in dst.read_text().splitlines()]
        for a, b in zip(base, rows, strict=True):
            ta, tb = (dt.datetime.fromisoformat(r["timestamp"]) for r in (a, b))
            assert tb - ta == dt.timedelta(days=2 * k)
            assert b["session"] == _xor(a["session"], k)
            assert b["message"] == a["message"].replace(f"[session: {a['session']}", f"[session: {b['session']}")
            assert {x: y for x, y in b.items() if x not in ("timestamp", "session", "message")} == {
                x: y for x, y in a.items() if x not in ("timestamp", "session", "message")
            }
        sessions = {r["session"] for r in rows}
        assert not sessions & seen
        seen |= sessions


def test_a_chunk_stops_after_its_share_of_lines(template: tuple[Path, object], tmp_path: Path) -> None:
    path, plan = template
    small = lake100m.Plan(plan.dataset, 3 * 777 + 1, plan.chunks, plan.chunk_days, plan.start)  # type: ignore[attr-defined]
    tpl, dst = lake100m.Template(path, small), tmp_path / "c.json"
    assert tpl.write(dst, 0)[0] == 778
    assert tpl.write(dst, 2)[0] == 777
    assert dst.read_bytes().count(b"\n") == 777


def test_many_chunks_get_wider_session_prefixes_and_dates_move_in_any_text(tmp_path: Path) -> None:
    plan = lake100m.Plan("synthetic", 4000, 400, 1, "2026-01-01")  # 400 chunks: 3 hex digits
    path = tmp_path / "t.json"
    path.write_bytes(b'{"timestamp":"2026-01-01T23:59:59Z","message":"on 2026-01-01 [session: abcdef]",'
                     b'"session":"abcdef"}\n')  # fmt: skip
    dst = tmp_path / "c.json"
    lake100m.Template(path, plan).write(dst, 300)
    assert dst.read_bytes() == (
        b'{"timestamp":"2026-10-28T23:59:59Z","message":"on 2026-10-28 [session: '
        + _xor("abcdef", 300, 3).encode()
        + b']","session":"'
        + _xor("abcdef", 300, 3).encode()
        + b'"}\n'
    )
