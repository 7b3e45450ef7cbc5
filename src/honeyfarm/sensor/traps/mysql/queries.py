# SPDX-License-Identifier: MIT
"""Answers to the queries scanners, brute-forcers and UDF droppers send after a login.

What the mysql client asks at start (``select @@version_comment limit 1``), fingerprinting
(``SELECT VERSION()``, ``@@version_compile_os``, ``@@plugin_dir``, ``SHOW VARIABLES LIKE``),
``SHOW DATABASES``, ``USE``, ``SET``, and the steps of a UDF upload (``SELECT ... INTO
DUMPFILE``, ``CREATE FUNCTION ... SONAME``, ``SELECT sys_exec(...)``). Result-set metadata
(lengths, flags, decimals) is what Debian 12's mariadbd 10.11 sends for the same query.
Anything else is answered as MariaDB answers a statement on an empty server: ``No database
selected`` or a missing table for a SELECT with FROM, an empty OK otherwise.
"""

from __future__ import annotations

import datetime
import fnmatch
import re
from typing import TYPE_CHECKING

from honeyfarm.sensor.traps.mysql import packets as P
from honeyfarm.sensor.traps.mysql.sqlexpr import split_top, string_literal

MAX_WRITTEN = 256  # paths remembered per connection (a second write of one fails: "already exists")
MAX_FUNCTIONS = 64  # functions created per connection

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.mysql.server import MySQLSession

DATABASES = ("information_schema", "mysql", "performance_schema", "sys")
PLUGIN_DIR = "/usr/lib/mysql/plugin/"
MAX_COMMENTS = 2048  # comments stripped per query (obfuscation uses a few; past this the rest stays)
MAX_SELECT_LIST = 8192  # longer select lists (that write no file) are not evaluated: answered as unknown
_MYSQL_TABLES = (
    "column_stats columns_priv db event func general_log global_priv gtid_slave_pos help_category "
    "help_keyword help_relation help_topic index_stats innodb_index_stats innodb_table_stats plugin proc "
    "procs_priv proxies_priv roles_mapping servers slow_log table_stats tables_priv time_zone "
    "time_zone_leap_second time_zone_name time_zone_transition time_zone_transition_type "
    "transaction_registry user"
)
MYSQL_TABLES = tuple(_MYSQL_TABLES.split())  # SHOW TABLES in `mysql` on a fresh 10.11
_INFO = "information_schema"
_VARS_TABLE = "SESSION_VARIABLES"
_NAME_COL = P.Column(
    "Variable_name", 64, flags=0x1001, decimals=0, schema=_INFO, table=_VARS_TABLE, org_name="VARIABLE_NAME"
)
_VALUE_COL = P.Column(
    "Value", 4096, flags=0x1001, decimals=0, schema=_INFO, table=_VARS_TABLE, org_name="VARIABLE_VALUE"
)
_DB_COL = P.Column("Database", 64, flags=0x1001, decimals=0, schema=_INFO, table="SCHEMATA", org_name="SCHEMA_NAME")

_INTO_FILE = re.compile(r"\binto\s+(dumpfile|outfile)\s+(['\"])", re.I)
_LINES_TERMINATED = re.compile(r"\blines\s+terminated\s+by\s+(0x[0-9a-fA-F]+|')", re.I)
_SET_VAR = re.compile(r"@([A-Za-z0-9_$.]{1,64})\s*:?=\s*(.*)$", re.S)
_SET_SYS = re.compile(r"(?:@@)?(?:(?:session|local|global)[.\s]\s*)?(\w{1,64})\s*:?=\s*(.*)$", re.I | re.S)
_SET_NAMES = re.compile(r"names\s+['\"`]?(\w{1,32})['\"`]?(?:\s+collate\s+\S+)?$", re.I)
_CHARSETS = ("character_set_results", "character_set_connection", "character_set_client")
_TRACKED = frozenset({*_CHARSETS, "autocommit", "time_zone"})  # session_track_system_variables of 10.11
_VERB_WORDS = (
    "alter analyze backup begin binlog cache call change check checksum commit create deallocate delete "
    "desc describe do drop execute explain flush get grant handler help install kill load "
    "lock optimize prepare purge rename repair replace reset return revoke rollback savepoint select set "
    "show shutdown signal start stop truncate uninstall unlock update use values with xa insert "
    "release resignal"
)
_VERBS = frozenset(_VERB_WORDS.split())  # first words MariaDB parses (others: a syntax error)
_USE = re.compile(r"use\s+`?([^`\s;]{1,64})`?$", re.I)
_SHOW_VARS = re.compile(r"show\s+(?:global\s+|session\s+)?variables(?:\s+like\s+'([^']{0,64})')?$", re.I)
_CREATE_FUNC = re.compile(
    r"create\s+(?:or\s+replace\s+)?(?:aggregate\s+)?function\s+(?:if\s+not\s+exists\s+)?`?(\w{1,64})`?\s+"
    r"returns\s+\w+\s+soname\s+['\"]([^'\"]{1,255})['\"]$",
    re.I,
)
_DROP_FUNC = re.compile(r"drop\s+function\s+(if\s+exists\s+)?`?(\w{1,64})`?$", re.I)
_INT = re.compile(r"-?\d{1,18}")
_FROM = re.compile(r"\bfrom\s+`?(\w{1,64})`?(?:\.`?(\w{1,64})`?)?", re.I)
_UDF_CALL = re.compile(r"`?(\w{1,64})`?\s*\((.*)\)$", re.S)
_INSERT = re.compile(r"insert\s+(?:into\s+)?`?(\w{1,64})`?", re.I)
_VALUES = re.compile(r"\bvalues?\s*\(", re.I)
_BUILTINS = frozenset({"version", "database", "schema", "user", "now", "concat", "unhex", "hex", "load_file", "sleep"})
_CREATE_DB = re.compile(r"create\s+(?:database|schema)\s+(?:if\s+not\s+exists\s+)?`?(\w{1,64})`?", re.I)


def variables(s: MySQLSession) -> dict[str, str | None]:
    """Server variables attackers read, with Debian 12's values."""
    cfg = s.trap.cfg
    return {
        "basedir": "/usr/",
        "datadir": "/var/lib/mysql/",
        "hostname": s.trap.hostname,
        "plugin_dir": PLUGIN_DIR,
        "plugin_maturity": "gamma",
        "port": str(s.conn.log.dst_port),
        "secure_file_priv": "",
        "socket": "/run/mysqld/mysqld.sock",
        "tmpdir": "/tmp",
        "version": cfg.version,
        "version_comment": cfg.version_comment,
        "version_compile_machine": "x86_64",
        "version_compile_os": "debian-linux-gnu",
        "version_malloc_library": "system",
        "version_source_revision": "5843d8475120241667a7ce0f8a1abb6c9b43a273",
        "version_ssl_library": "OpenSSL 3.0.19 27 Jan 2026",
        "character_set_server": "utf8mb4",
        "collation_server": "utf8mb4_general_ci",
        "log_bin": "OFF",
        "general_log": "OFF",
        "general_log_file": s.trap.hostname + ".log",
        "have_ssl": "DISABLED",
        "local_infile": "ON",
        "max_allowed_packet": "16777216",
        "autocommit": "1",
        "sql_mode": "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
        "time_zone": "SYSTEM",
        "system_time_zone": "UTC",
        "license": "GPL",
    }


def strip_comments(sql: str) -> str:
    """``sql`` without ``/* */`` comments (``/*!50000 x */`` kept as ``x``: MariaDB runs it) or leading
    ``--``/``#`` lines. One pass with ``str.find``: a megabyte of unclosed ``/*`` stays linear."""
    out: list[str] = []
    i = 0
    while len(out) < MAX_COMMENTS and (j := sql.find("/*", i)) >= 0:
        k = sql.find("*/", j + 2)
        if k < 0:
            break
        out.append(sql[i:j])
        if sql.startswith("/*!", j):
            out.append(" " + sql[j + 3 : k].lstrip("0123456789") + " ")
        else:
            out.append(" ")
        i = k + 2
    out.append(sql[i:])
    text = "".join(out).lstrip()
    while text.startswith(("--", "#")):
        text = text.partition("\n")[2].lstrip()
    return text


def normalise(sql: str) -> str:
    """The statement without comments, surrounding blanks or its final semicolon."""
    sql = strip_comments(sql).strip()
    while sql.endswith(";"):
        sql = sql[:-1].rstrip()
    return sql


def answer(s: MySQLSession, raw: str) -> list[bytes]:
    """The packet bodies answering one COM_QUERY."""
    sql = normalise(raw)
    low = sql.lower()
    word = low.split(None, 1)[0] if low else ""
    if not sql:
        return [P.err(1065, "42000", "Query was empty")]
    if m := _INTO_FILE.search(sql):
        return [_into_file(s, sql, m)]
    if word == "set":
        return [_set(s, sql[3:])]
    if m := _USE.fullmatch(sql):
        return [s.use(m.group(1))]
    if m := _SHOW_VARS.fullmatch(sql):
        return _show_variables(s, m.group(1))
    if re.fullmatch(r"show\s+(databases|schemas)", low):
        return _rows(s, [_DB_COL], [[d] for d in s.databases()], status=s.status | P.STATUS_NO_INDEX_USED)
    if re.fullmatch(r"show\s+(full\s+)?tables", low):
        if s.db is None:
            return [P.err(1046, "3D000", "No database selected")]
        col = P.Column(
            f"Tables_in_{s.db}", 73, flags=0x1001, decimals=0, schema=_INFO, table="TABLE_NAMES", org_name="TABLE_NAME"
        )
        tables = MYSQL_TABLES if s.db == "mysql" else ()
        return _rows(s, [col], [[t] for t in tables], status=s.status | P.STATUS_NO_INDEX_USED)
    if m := _CREATE_FUNC.fullmatch(sql):
        return [_create_function(s, m.group(1), m.group(2))]
    if m := _DROP_FUNC.fullmatch(sql):
        if s.functions.pop(m.group(2).lower(), None) is None and not m.group(1):
            what = f"{s.db}.{m.group(2)}" if s.db else f"(UDF) {m.group(2)}"
            return [P.err(1305, "42000", f"FUNCTION {what} does not exist")]
        return [P.ok(status=s.status)]
    if word in ("begin",) or re.fullmatch(r"start\s+transaction.*", low):
        s.status |= 1
        return [P.ok(status=s.status)]
    if word in ("commit", "rollback"):
        s.status &= ~1
        return [P.ok(status=s.status)]
    if m := _CREATE_DB.match(sql):
        s.created_dbs.add(m.group(1)[:64])
        return [P.ok(affected=1, status=s.status)]
    if m := _INSERT.match(sql):
        if (v := _VALUES.search(sql, m.end())) is not None and sql.endswith(")"):
            s.remember_row(m.group(1), sql[v.end() : -1])
        return [P.ok(affected=1, status=s.status)]
    if word == "select":
        return _select(s, sql)
    if re.fullmatch(r"show\s+grants(\s+for\s+current_user(\(\))?)?", low):
        return _grants(s)
    if word not in _VERBS:
        return [_syntax_error(raw.strip())]
    return [P.ok(status=s.status)]


def _set(s: MySQLSession, assignments: str) -> bytes:
    """SET: user variables kept, tracked system variables reported back as mariadbd does."""
    changes: list[bytes] = []
    for part in split_top(assignments, max_parts=65)[:64]:
        if m := _SET_VAR.fullmatch(part):
            s.set_variable(m.group(1), m.group(2))
        elif m := _SET_NAMES.fullmatch(part):
            cs = m.group(1).lower()
            cs = "utf8mb3" if cs == "utf8" else cs
            s.charset = P.CHARSET_IDS.get(cs, s.charset)
            changes += [P.track_var(v, cs) for v in _CHARSETS]
        elif m := _SET_SYS.fullmatch(part):
            name = m.group(1).lower()
            value = m.group(2).strip().strip("'\"`")[:64]
            if name == "autocommit":
                on = value.lower() in ("1", "on", "true")
                s.status = s.status | P.STATUS_AUTOCOMMIT if on else s.status & ~P.STATUS_AUTOCOMMIT
                value = "ON" if on else "OFF"
            elif name.startswith("character_set_") and value.lower() == "utf8":
                value = "utf8mb3"
            if name == "character_set_results":
                s.charset = P.CHARSET_IDS.get(value.lower(), s.charset)
            if name in _TRACKED:
                changes.append(P.track_var(name, value))
    return s.ok(changes)


def _grants(s: MySQLSession) -> list[bytes]:
    who = f"`{s.user}`@`{s.host}`"
    col = P.Column(f"Grants for {s.user}@{s.host}", 0xC00, flags=1, charset=33)
    rows: list[list[str | None]] = [
        [f"GRANT ALL PRIVILEGES ON *.* TO {who} WITH GRANT OPTION"],
        [f"GRANT PROXY ON ``@`%` TO {who} WITH GRANT OPTION"],
    ]
    return _rows(s, [col], rows)


def _rows(
    s: MySQLSession, cols: list[P.Column], rows: list[list[str | None]], status: int | None = None
) -> list[bytes]:
    return P.result_set(cols, rows, s.caps, s.ext_caps, s.status if status is None else status, s.charset)


def _show_variables(s: MySQLSession, pattern: str | None) -> list[bytes]:
    glob = (pattern or "%").lower().replace("*", "[*]").replace("?", "[?]").replace("%", "*").replace("_", "?")
    found = sorted((k, v) for k, v in variables(s).items() if fnmatch.fnmatchcase(k, glob))
    return _rows(s, [_NAME_COL, _VALUE_COL], [[k, v or ""] for k, v in found], status=s.status | P.STATUS_NO_INDEX_USED)


def _into_file(s: MySQLSession, sql: str, m: re.Match[str]) -> bytes:
    lit = string_literal(sql, m.end() - 1)
    if lit is None:
        return _syntax_error(sql[m.start() :])
    path, _end = lit
    head = sql[: m.start()]
    tail = sql[m.end() :]
    expr = re.sub(r"^\s*select\s+", "", head, flags=re.I)
    blob: bytes | None = None
    if (lines := _LINES_TERMINATED.search(tail)) is not None and m.group(1).lower() == "outfile":
        # sqlmap's file write: the content is the line terminator, hex or quoted
        quoted = string_literal(tail, lines.start(1)) if lines.group(1) == "'" else None
        term = lines.group(1) if quoted is None else tail[lines.start(1) : quoted[1]]
        blob = s.evaluate(term)
    if blob is None:
        source = _FROM.search(expr)  # SELECT col FROM t INTO DUMPFILE: the row INSERTed before
        blob = s.tables.get(source.group(2) or source.group(1), b"") if source is not None else s.evaluate(expr)
    if path in s.written:
        return P.err(1086, "HY000", f"File '{path[:200]}' already exists")
    if len(s.written) < MAX_WRITTEN and len(path) <= 4096:
        s.written.add(path)
    s.on_file(path, blob, m.group(1).lower())
    return P.ok(affected=1, status=s.status)


def _create_function(s: MySQLSession, name: str, soname: str) -> bytes:
    if "/" in soname or soname not in s.plugins:
        return P.err(
            1126,
            "HY000",
            f"Can't open shared library '{soname}' "
            "(errno: 2, cannot open shared object file: No such file or directory)",
        )
    if name.lower() in s.functions:
        return P.err(1125, "HY000", f"Function '{name}' already exists")
    if len(s.functions) < MAX_FUNCTIONS:
        s.functions[name.lower()] = soname
    return P.ok(status=s.status)


def _syntax_error(near: str) -> bytes:
    return P.err(
        1064,
        "42000",
        "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server "
        f"version for the right syntax to use near '{near[:80]}' at line 1",
    )


def _select(s: MySQLSession, sql: str) -> list[bytes]:
    if len(sql) > MAX_SELECT_LIST:
        return [_syntax_error(sql)]
    body = re.sub(r"^select\s+", "", sql, flags=re.I)
    body = re.sub(r"\s+limit\s+\d+(\s*,\s*\d+)?$", "", body, flags=re.I)
    if (src := _FROM.search(body)) is not None and src.group(1).lower() != "dual":
        table = src.group(2) or src.group(1)
        schema = s.db if src.group(2) is None else src.group(1)
        if schema is None:
            return [P.err(1046, "3D000", "No database selected")]
        if table in s.tables:
            col = P.Column("data", 4294967295, type=0xFC, flags=0x90, decimals=0, charset=63)
            return _rows(s, [col], [[s.tables[table].decode("utf-8", "surrogateescape")]])
        return [P.err(1146, "42S02", f"Table '{schema}.{table}' doesn't exist")]
    body = re.sub(r"\s+from\s+dual$", "", body, flags=re.I)
    cols: list[P.Column] = []
    row: list[str | None] = []
    for item in split_top(body, max_parts=65)[:64]:
        got = _item(s, item)
        if got is None:
            if (call := _UDF_CALL.fullmatch(item)) is not None and call.group(1).lower() not in _BUILTINS:
                s.on_udf_call(call.group(1), call.group(2))  # sys_exec() before its CREATE FUNCTION
                what = f"{s.db}.{call.group(1)}" if s.db else call.group(1)
                return [P.err(1305, "42000", f"FUNCTION {what} does not exist")]
            return [_syntax_error(item)]
        cols.append(got[0])
        row.append(got[1])
    return _rows(s, cols, [row])


def _string_col(name: str, value: str | None, length: int | None = None, flags: int = 0) -> tuple[P.Column, str | None]:
    size = len(value or "") if length is None else length
    return P.Column(name, size, flags=flags), value


def _item(s: MySQLSession, item: str) -> tuple[P.Column, str | None] | None:
    """One SELECT item: its column and value (None when it is not one we answer)."""
    low = re.sub(r"\s+", "", item.lower())
    if low.startswith("@@"):
        name = low[2:].removeprefix("global.").removeprefix("session.")
        known = variables(s)
        if name not in known:
            return None
        value = known[name]
        return P.Column(item, len(value or "")), value
    if low in ("version()",):
        return _string_col(item, s.trap.cfg.version, flags=1)
    if low in ("database()", "schema()"):
        return _string_col(item, s.db, length=64)
    if low in ("user()", "current_user()", "current_user", "system_user()", "session_user()"):
        # NOT NULL unless converted from the system charset (utf8mb3) to the client's, as mariadbd flags it
        not_null = int(s.charset == P.CHARSET_UTF8MB3_GENERAL_CI)
        return _string_col(item, f"{s.user}@{s.host}", length=384, flags=not_null)
    if low in ("now()", "current_timestamp()", "current_timestamp", "sysdate()"):
        value = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        return P.Column(item, 19, type=0x0C, flags=0x81, decimals=0, charset=63), value
    if low.startswith("load_file("):  # never the sensor's files: as if unreadable
        return P.Column(item, 16777216, type=0xFB, flags=0x80, charset=63), None
    if re.fullmatch(r"sleep\(\d+(\.\d+)?\)", low):
        return P.Column(item, 1, type=3, flags=0x81, decimals=0, charset=63), "0"
    if _INT.fullmatch(low):
        n = int(low)
        kind = 3 if -(2**31) <= n < 2**31 else 8
        return P.Column(item, len(low), type=kind, flags=0x81, decimals=0, charset=63), str(n)
    if low.startswith("@") and not low.startswith("@@"):
        raw = s.variables.get(low[1:].strip("`"))
        col = P.Column(item, 0xFFFFFF if raw is not None else 16777216, type=0xFB, flags=0x80, charset=63)
        return col, None if raw is None else raw.decode("utf-8", "surrogateescape")
    if item[:1] in ("'", '"'):
        lit = string_literal(item, 0)
        if lit is not None and lit[1] == len(item):
            return _string_col(lit[0][:64] or item, lit[0], flags=1)
    if (m := _UDF_CALL.fullmatch(item)) is not None and m.group(1).lower() in s.functions:
        s.on_udf_call(m.group(1), m.group(2))
        if "eval" in m.group(1).lower():
            return P.Column(item, 0xFFFFFF, type=0xFB, flags=0x80, charset=63), ""
        return P.Column(item, 21, type=8, flags=0x80, decimals=0, charset=63), "0"
    return None
