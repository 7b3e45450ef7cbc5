# SPDX-License-Identifier: MIT
"""Rendering Arrow tables for people and programs, safely.

Every string in a panel may come from an attacker (a username, a command, a
client banner), so:

* on a terminal, control characters (C0, DEL, C1 — ESC and CSI among them)
  are shown as visible ``\\xNN`` escapes, never sent raw, and cells are
  capped; rich markup in the data is not interpreted;
* in CSV, a cell that a spreadsheet would read as a formula (starting with
  ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with ``'``
  (OWASP's advice against CSV injection);
* JSON is written ASCII-only, so no raw control or bidi character leaves.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import unicodedata
from typing import Any, TextIO

import pyarrow as pa
from rich.console import Console
from rich.table import Table
from rich.text import Text

from honeyfarm.analysis.panels import estimated_columns

_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Invisible or reordering characters: controls (Cc), format characters (Cf: bidi
# embeddings/overrides/isolates, LRM/RLM/ALM, zero-width space and joiners, BOM,
# soft hyphen, tags, ...), line/paragraph separators, surrogates, and the Hangul
# fillers that render as blanks. The web UI's esc() (static/js/dom.js) uses the
# same set, so terminal and browser show the same escapes.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CELL_CAP = 120


def _escape_char(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def escape_terminal(s: str, cap: int = CELL_CAP) -> str:
    """``s`` with invisible, control and bidi characters made visible, capped at ``cap`` characters."""
    if s.isascii():  # the common case: one regex pass
        out = _ASCII_CONTROL.sub(lambda m: _escape_char(m.group()), s)
    else:
        out = "".join(
            _escape_char(c) if c in _FILLERS or unicodedata.category(c) in _HIDDEN_CATEGORIES else c for c in s
        )
    if len(out) > cap:
        out = out[: cap - 1] + "…"
    return out


def csv_cell(value: Any) -> str:
    """One CSV cell, neutralised against formula injection."""
    if value is None:
        return ""
    s = _plain(value)
    if isinstance(value, str) and s.startswith(FORMULA_START):
        return "'" + s
    return s


def _plain(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def to_records(table: pa.Table) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = table.to_pylist()
    return records


def write_json(table: pa.Table, out: TextIO) -> None:
    out.write(dumps_json(to_records(table)) + "\n")


def dumps_json(obj: Any) -> str:
    """Strict, ASCII-only JSON: NaN and infinities (which ``json`` would print bare) become null."""
    return json.dumps(_finite(obj), default=_json_default, ensure_ascii=True, allow_nan=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _json_default(o: Any) -> Any:
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    if isinstance(o, bytes):
        return o.decode("utf-8", "backslashreplace")
    if isinstance(o, dt.timedelta):
        return o.total_seconds()
    return str(o)


def write_csv(table: pa.Table, out: TextIO) -> None:
    # RFC 4180 line ends: the writer then quotes any value holding \r or \n, so an
    # attacker-supplied carriage return cannot start a new row.
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([csv_cell(n) for n in table.column_names])
    for rec in table.to_pylist():
        w.writerow([csv_cell(rec[n]) for n in table.column_names])


def to_csv_string(table: pa.Table) -> str:
    buf = io.StringIO()
    write_csv(table, buf)
    return buf.getvalue()


#: Integer columns that hold identifiers, not amounts: printed without thousands separators (AS 12322, port 2222).
_IDENTIFIER = re.compile(r"(?:^|_)(?:asn|as_number|port|pid|uid|gid|id)$")


def _cell(value: Any, grouped: bool = True) -> Text:
    if isinstance(value, dt.datetime):
        return Text(value.strftime("%Y-%m-%d %H:%M:%S"))
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, float):
        return Text(f"{value:.4g}")
    if isinstance(value, int):
        return Text(f"{value:,}" if grouped else str(value))
    return Text(escape_terminal(_plain(value)))


def print_table(table: pa.Table, console: Console, title: str | None = None) -> None:
    """A rich table; every cell is plain ``Text`` (no markup), escaped and capped.

    Cells wrap (and long words fold) only to fit ``console.width``: give a
    console that is not a terminal a width of its own (``honeyfarm.cli_common.stdout``
    does), or IP addresses and hashes fold at rich's default of 80 columns.
    """
    estimated = set(estimated_columns(table))
    caption = Text("≈ estimated (HyperLogLog, typically within 2-4%)", style="dim") if estimated else None
    t = Table(title=Text(title) if title else None, title_justify="left", header_style="bold", caption=caption)
    records = table.to_pylist()
    grouped: list[bool] = []
    for name in table.column_names:
        kind = table.schema.field(name).type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        grouped.append(_IDENTIFIER.search(name.lower()) is None)
        label = escape_terminal(name) + (" ≈" if name in estimated else "")
        t.add_column(Text(label), justify="right" if numeric else "left", overflow="fold")
    for rec in records:
        t.add_row(*[_cell(rec[n], g) for n, g in zip(table.column_names, grouped, strict=True)])
    if table.num_rows == 0:
        console.print(Text(f"{title}: no data" if title else "no data", style="dim"))
        return
    console.print(t)
