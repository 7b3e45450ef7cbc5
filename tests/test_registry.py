# SPDX-License-Identifier: MIT
"""The eventid registry, the formats, the source, the docs and the real lake all agree."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fixture_events import EVENTS, write_logs

import honeyfarm
from honeyfarm.config import Config
from honeyfarm.eventids import EVENT_IDS, HONEYPOTS, describe, honeypot_of
from honeyfarm.formats import FORMATS, registry
from honeyfarm.lake.rollup import ROLLUPS
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import ingest
from honeyfarm.schema import DEAD_LETTER_COLUMNS, EVENT_COLUMNS, FILE_COLUMNS, SCAN_COLUMNS, Column

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = Path(honeyfarm.__file__).resolve().parent

ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def table_rows(text: str) -> list[list[str]]:
    """Rows of the markdown tables in ``text`` whose first cell is a `code` name: [name, other cells...]."""
    out = []
    for line in text.splitlines():
        m = ROW.match(line.strip())
        if m:
            out.append([m.group(1), *(c.strip() for c in m.group(2).split("|"))])
    return out


def section(text: str, heading: str) -> str:
    """The body of the ``## ...`` section whose heading contains ``heading``."""
    parts = re.split(r"^## ", text, flags=re.M)
    found = [p for p in parts[1:] if heading in p.splitlines()[0]]
    assert len(found) == 1, f"no single section {heading!r} in the document"
    return found[0]


# ------------------------------------------------------------------ registry


def test_registry_ids_are_dotted_and_belong_to_a_known_honeypot() -> None:
    assert EVENT_IDS
    for eid, meaning in EVENT_IDS.items():
        # <source>.<object>[.<action>]: two parts at least (`suricata.alert` follows EVE's event_type).
        assert re.fullmatch(r"[a-z][a-z0-9]*(\.[a-z0-9_-]+){1,}", eid), eid
        assert honeypot_of(eid) in HONEYPOTS, eid
        assert meaning.strip(), eid
        assert describe(eid) == meaning
    assert describe("cowrie.no.such") is None


def test_docs_eventids_lists_exactly_the_registry() -> None:
    text = (DOCS / "eventids.md").read_text(encoding="utf-8")
    rows = table_rows(text)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "an id is listed twice in docs/eventids.md"
    missing = set(EVENT_IDS) - set(ids)
    extra = set(ids) - set(EVENT_IDS)
    assert not missing, f"in EVENT_IDS but not in docs/eventids.md: {sorted(missing)}"
    assert not extra, f"in docs/eventids.md but not in EVENT_IDS: {sorted(extra)}"
    for r in rows:
        assert r[1], f"{r[0]} has no meaning in docs/eventids.md"


@pytest.mark.parametrize("fmt", sorted(registry()))
def test_every_id_a_format_declares_is_registered(fmt: str) -> None:
    declared = registry()[fmt].eventids
    assert declared, f"format {fmt} declares no eventids"
    unknown = set(declared) - set(EVENT_IDS)
    assert not unknown, f"format {fmt} declares ids missing from EVENT_IDS: {sorted(unknown)}"


def test_builtin_formats_are_in_the_registry() -> None:
    assert set(FORMATS) <= set(registry())
    assert {"cowrie", "honeyfarm"} <= set(FORMATS)


_PREFIXES = "|".join(re.escape(h) for h in HONEYPOTS)
_PLAIN = re.compile(rf"(?<![\w.])((?:{_PREFIXES})(?:\.[a-z][a-z0-9_-]*)+)(?![\w.%{{*-])")
# f"cowrie.login.{'success' if ok else 'failed'}"
_TERNARY = re.compile(
    rf"(?<![\w.])((?:{_PREFIXES})(?:\.[a-z][a-z0-9_-]*)*)\.\{{'([\w-]+)' if [^{{}}]+ else '([\w-]+)'\}}"
)


def _ids_in_text(text: str) -> set[str]:
    """Eventid-looking literals in Python source text."""
    files = (".json", ".py", ".toml", ".yml", ".yaml")
    found = {m.group(1) for m in _PLAIN.finditer(text) if not m.group(1).endswith(files)}
    for m in _TERNARY.finditer(text):
        found |= {f"{m.group(1)}.{m.group(2)}", f"{m.group(1)}.{m.group(3)}"}
    return found


def _string_literals(source: str) -> str:
    """The string literals of a module (f-strings as written), docstrings left out.

    Module paths such as ``honeyfarm.sensor.traps.ssh.server`` in imports and docstrings look
    like ``honeyfarm.*`` eventids; only literals the code can emit count.
    """
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    parts: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts.append(ast.get_source_segment(source, node) or "")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            parts.append(repr(node.value))
    return "\n".join(parts)


def _ids_in_source() -> dict[str, set[str]]:
    """Every eventid-looking literal in src/honeyfarm, with the files it was found in."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for eid in _ids_in_text(_string_literals(path.read_text(encoding="utf-8"))):
            found.setdefault(eid, set()).add(path.relative_to(SRC).as_posix())
    return found


def test_source_scanner_finds_literals_and_skips_file_names_and_patterns() -> None:
    sample = (
        'a = "cowrie.foo.bar"\n'
        "b = f\"cowrie.x.{'yes' if ok else 'no'}\"\n"
        "c = 'cowrie.client.%'  # LIKE pattern\n"
        'd = "logs/cowrie.json"; e = "synthetic-*.cowrie.json"\n'
        'f = "cowrie."\n'
    )
    assert _ids_in_text(sample) == {"cowrie.foo.bar", "cowrie.x.yes", "cowrie.x.no"}


# ASGI message types the dashboard sends; not eventids although they start like the web trap's.
_ASGI = {"http.response.start", "http.response.body", "http.request", "http.disconnect"}


def _is_module(name: str) -> bool:
    """An importable module name (``honeyfarm.sensor.traps.ssh``, ``http.client``), not an eventid."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent that is not a package: not a module name
        return False


def test_every_eventid_written_in_the_source_is_registered() -> None:
    found = _ids_in_source()
    # The scan itself works: it sees the registry, the Cowrie parser and the demo generator.
    assert len(found) >= len(EVENT_IDS)
    assert "cowrie.login.success" in found and "demo/synthetic.py" in found["cowrie.login.success"]
    assert "formats/cowrie.py" in found["cowrie.session.file_download"]
    # Literals that look like `honeyfarm.*` ids but are not: module and entry-point names, an ECS field name.
    unknown = {
        eid: sorted(where)
        for eid, where in found.items()
        if eid not in EVENT_IDS and eid != "honeyfarm.password" and eid not in _ASGI and not _is_module(eid)
    }
    assert not unknown, f"eventids used in src/honeyfarm but missing from EVENT_IDS: {unknown}"


# -------------------------------------------------------------------- schema


def _doc_columns(heading: str) -> list[list[str]]:
    return table_rows(section((DOCS / "schema.md").read_text(encoding="utf-8"), heading))


@pytest.mark.parametrize(
    ("heading", "columns"),
    [
        ("`events`", EVENT_COLUMNS),
        ("`dead_letter`", DEAD_LETTER_COLUMNS),
        ("`files`", FILE_COLUMNS),
        ("`scans`", SCAN_COLUMNS),
    ],
)
def test_docs_schema_documents_every_column_with_its_type(heading: str, columns: tuple[Column, ...]) -> None:
    rows = _doc_columns(heading)
    documented = {r[0]: r for r in rows}
    assert len(documented) == len(rows), f"a column is listed twice under {heading}"
    missing = [c.name for c in columns if c.name not in documented]
    extra = sorted(set(documented) - {c.name for c in columns})
    assert not missing, f"not documented in docs/schema.md ({heading}): {missing}"
    assert not extra, f"documented in docs/schema.md ({heading}) but not in honeyfarm.schema: {extra}"
    for c in columns:
        row = documented[c.name]
        assert len(row) == 4, f"{c.name}: expected name | type | ECS | meaning"
        assert row[1].strip("`") == c.sql_type, f"{c.name}: docs say {row[1]}, schema says {c.sql_type}"
        assert row[2].strip("`"), f"{c.name}: no ECS field documented"
        assert row[3], f"{c.name}: no meaning documented"
    assert [r[0] for r in rows] == [c.name for c in columns], "docs/schema.md lists the columns in another order"


def test_docs_schema_lists_every_rollup() -> None:
    """The hourly rollups table of docs/schema.md names each rollup of honeyfarm.lake.rollup.ROLLUPS, once."""
    rows = table_rows(section((DOCS / "schema.md").read_text(encoding="utf-8"), "Hourly rollups"))
    documented = [r[0].strip("`") for r in rows]
    assert sorted(documented) == sorted(ROLLUPS), f"docs/schema.md rollups {documented} vs {sorted(ROLLUPS)}"


ATHENA_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "INTEGER": "int", "DOUBLE": "double", "TIMESTAMP": "timestamp"}


def test_docs_schema_athena_ddl_matches_the_events_columns() -> None:
    text = (DOCS / "schema.md").read_text(encoding="utf-8")
    m = re.search(r"CREATE EXTERNAL TABLE \w+ \((.*?)\n\)\nPARTITIONED BY \(`date` string\)", text, re.S)
    assert m, "docs/schema.md has no Athena CREATE EXTERNAL TABLE ... PARTITIONED BY (`date` string)"
    cols = [tuple(line.strip().rstrip(",").split()) for line in m.group(1).strip().splitlines()]
    assert cols == [(f"`{c.name}`", ATHENA_TYPES[c.sql_type]) for c in EVENT_COLUMNS]


def test_docs_schema_describes_the_lake_layout_and_readers() -> None:
    text = (DOCS / "schema.md").read_text(encoding="utf-8")
    for needle in (
        "date=YYYY-MM-DD", "zstd", "`_`", "`.`", "STORED AS PARQUET", "MSCK REPAIR TABLE",
        "spark.read.parquet(", "hive_partitioning", "_staging", "_state",
    ):  # fmt: skip
        assert needle in text, needle


# ------------------------------------------------------------ the real lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    paths = write_logs(root / "logs")
    with paths[0].open("a", encoding="utf-8") as f:
        f.write("{broken\n")
    result = ingest([str(p) for p in paths], Config(), root / "lake")
    assert (result.ingested, result.dead_letter) == (len(EVENTS), 1)
    return root / "lake"


def _describe(con: Any, view: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.sql(f"DESCRIBE {view}").fetchall()]


#: The events view: the stored columns, with ``event_id`` (derived from them, not stored) second, and the
#: Hive partition key ``date`` last.
VIEW_COLUMNS = (
    [("ts", "TIMESTAMP"), ("event_id", "BIGINT")]
    + [(c.name, c.sql_type) for c in EVENT_COLUMNS[1:]]
    + [("date", "DATE")]
)


def test_events_view_has_exactly_the_schema_columns_and_types(lake: Path) -> None:
    con = Lake(lake).connect()
    got = _describe(con, "events")
    assert got == VIEW_COLUMNS
    assert dict(got)["ts"] == "TIMESTAMP"  # not TIMESTAMP WITH TIME ZONE


def test_dead_letter_view_has_exactly_the_schema_columns_and_types(lake: Path) -> None:
    con = Lake(lake).connect()
    assert _describe(con, "dead_letter") == [(c.name, c.sql_type) for c in DEAD_LETTER_COLUMNS] + [("date", "DATE")]


def test_empty_lake_views_have_the_same_columns_and_types(tmp_path: Path) -> None:
    con = Lake(tmp_path / "empty").connect()
    assert _describe(con, "events") == VIEW_COLUMNS
    assert _describe(con, "dead_letter") == [(c.name, c.sql_type) for c in DEAD_LETTER_COLUMNS] + [("date", "DATE")]


def test_parquet_files_are_zstd_hive_partitioned_without_the_date_column(lake: Path) -> None:
    files = sorted((lake / "events").glob("date=*/*.parquet"))
    assert {f.parent.name for f in files} == {"date=2024-03-01", "date=2024-03-02"}
    for f in files:
        assert not f.name.startswith(("_", "."))
        pf = pq.ParquetFile(f)
        schema = pf.schema_arrow
        assert schema.names == [c.name for c in EVENT_COLUMNS]  # `date` lives in the directory name only
        ts = schema.field("ts").type
        assert str(ts) == "timestamp[us]" and ts.tz is None  # type: ignore[attr-defined]
        for rg in range(pf.metadata.num_row_groups):
            for col in range(pf.metadata.num_columns):
                assert pf.metadata.row_group(rg).column(col).compression == "ZSTD"
    # every top-level entry that is not a table starts with _ or . (ignored by Hive-style readers)
    for entry in lake.iterdir():
        assert entry.name in ("events", "dead_letter") or entry.name.startswith(("_", ".")), entry.name
