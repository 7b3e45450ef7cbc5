# SPDX-License-Identifier: MIT
"""What the trap answers to a batch after login, and which command lines it reads from it.

A default SQL Server 2019 as scanners and worms probe it: ``@@version`` and ``SERVERPROPERTY``,
``sp_configure`` (with ``show advanced options`` and ``xp_cmdshell``/``Ole Automation Procedures``
off until the session turns them on and runs ``RECONFIGURE``), ``xp_cmdshell`` (error 15281 while
off; once on, one NULL output row, or the line ``whoami``/``hostname``/``echo`` would print),
``sp_OACreate``/``sp_OAMethod``, ``USE``, the database list. Anything else ends quietly (DONE).
Nothing is executed: every ``xp_cmdshell`` and ``sp_OAMethod ... 'run'`` line is collected in
:attr:`Batch.shell` for the log and the payload extractor, whether it was "allowed" or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from honeyfarm.sensor.traps.mssql import tsql
from honeyfarm.sensor.traps.mssql.tds import (
    CMD_EXECUTE,
    CMD_SELECT,
    DONE_COUNT,
    DONE_ERROR,
    DONE_MORE,
    ENV_DATABASE,
    TOK_DONE,
    TOK_DONEINPROC,
    TOK_DONEPROC,
    Column,
    Tokens,
    Value,
    result_set,
)

MAX_SHELL = 32  # command lines kept per batch
MAX_DEPTH = 3  # EXEC('...') inside EXEC('...')
DATABASES = ["master", "tempdb", "model", "msdb"]
ADVANCED = {"xp_cmdshell", "ole automation procedures", "clr enabled", "ad hoc distributed queries"}
# name -> (minimum, maximum, default): a default 2019 install; without advanced options shown
# sp_configure lists the basic ones only
OPTIONS: dict[str, tuple[int, int, int]] = {
    "access check cache bucket count": (0, 65536, 0),
    "ad hoc distributed queries": (0, 1, 0),
    "allow updates": (0, 1, 0),
    "backup compression default": (0, 1, 0),
    "clr enabled": (0, 1, 0),
    "contained database authentication": (0, 1, 0),
    "cross db ownership chaining": (0, 1, 0),
    "default language": (0, 9999, 0),
    "filestream access level": (0, 2, 0),
    "max text repl size (B)": (-1, 2147483647, 65536),
    "nested triggers": (0, 1, 1),
    "ole automation procedures": (0, 1, 0),
    "remote access": (0, 1, 1),
    "remote admin connections": (0, 1, 0),
    "remote login timeout (s)": (0, 2147483647, 10),
    "remote proc trans": (0, 1, 0),
    "remote query timeout (s)": (0, 2147483647, 600),
    "server trigger recursion": (0, 1, 1),
    "show advanced options": (0, 1, 0),
    "user options": (0, 32767, 0),
    "xp_cmdshell": (0, 1, 0),
}
BLOCKED = (
    "SQL Server blocked access to procedure 'sys.{proc}' of component '{comp}' because this component is turned "
    "off as part of the security configuration for this server. A system administrator can enable the use of "
    "'{comp}' by using sp_configure. For more information about enabling '{comp}', search for '{comp}' in SQL "
    "Server Books Online."
)


@dataclass
class Facts:
    """The persona: product version, names, and the session's login."""

    version: str
    level: str
    edition: str
    server: str
    banner: str
    user: str = "sa"
    client_host: str = ""
    spid: int = 52


@dataclass
class Segment:
    tokens: bytes = b""
    status: int = 0
    cmd: int = 0
    count: int = 0
    proc: bool = False  # ends with DONEINPROC, RETURNSTATUS, DONEPROC (an EXEC of a procedure)


@dataclass
class Batch:
    segments: list[Segment] = field(default_factory=list)
    shell: list[str] = field(default_factory=list)
    database: str | None = None  # after USE


class Server:
    """One session's server state (configuration values, current database)."""

    def __init__(self, facts: Facts, tok: Tokens, xp_cmdshell: bool) -> None:
        self.facts = facts
        self.tok = tok
        self.database = "master"
        self.config = {name: d for name, (_lo, _hi, d) in OPTIONS.items()}
        self.config["xp_cmdshell"] = int(xp_cmdshell)
        self.running = dict(self.config)
        self._vars: dict[str, str] = {}

    # --- a batch ----------------------------------------------------------------------------
    def run(self, sql: str, params: dict[str, str] | None = None) -> Batch:
        """Answer ``sql``; ``params`` are an RPC's named parameters (``@P1`` of ``sp_executesql``)."""
        batch = Batch()
        self._vars = {k.lower(): v for k, v in (params or {}).items()}
        self._run(sql, batch, self._vars, 0)
        return batch

    def tokens(self, batch: Batch, rpc: bool = False) -> bytes:
        """The batch's answer; an RPC's ends with its own RETURNSTATUS and DONEPROC."""
        out = bytearray()
        segs = batch.segments or ([] if rpc else [Segment()])
        for i, seg in enumerate(segs):
            more = 0 if i == len(segs) - 1 and not rpc else DONE_MORE
            out += seg.tokens
            if seg.proc:
                out += self.tok.done(seg.status | DONE_MORE, seg.cmd, seg.count, TOK_DONEINPROC)
                out += self.tok.returnstatus(1 if seg.status & DONE_ERROR else 0)
                out += self.tok.done(more, CMD_EXECUTE, 0, TOK_DONEPROC)
            else:
                out += self.tok.done(seg.status | more, seg.cmd, seg.count, TOK_DONE)
        if rpc:
            out += self.tok.returnstatus(0) + self.tok.done(0, 0, 0, TOK_DONEPROC)
        return bytes(out)

    def _run(self, sql: str, batch: Batch, variables: dict[str, str], depth: int) -> None:
        for i, stmt in enumerate(tsql.statements(sql)):
            word = tsql.first_word(stmt)
            assign = tsql.assignment(stmt) if word in ("set", "declare") else None
            if assign is not None:
                variables[assign[0]] = assign[1]
                continue
            m = re.match(r"(?is)exec(?:ute)?\s*\((.*)\)\s*$", stmt)
            if m and depth < MAX_DEPTH:
                inner = tsql.literal(m.group(1), variables)
                if inner is not None:
                    self._run(inner, batch, variables, depth + 1)
                continue
            if word == "select":
                batch.segments.append(self._select(stmt))
            elif word == "use":
                batch.segments.append(self._use(stmt, batch))
            elif word == "reconfigure":
                self.running = dict(self.config)
                batch.segments.append(Segment())
            elif word == "print":
                text = tsql.literal(stmt[5:], variables) or ""
                batch.segments.append(Segment(self.tok.info(0, 1, text)))
            elif word in ("exec", "execute") or (word.startswith(("sp_", "xp_")) and i == 0):  # EXEC is optional first
                seg = self._exec(stmt, batch, variables)
                if seg is not None:
                    batch.segments.append(seg)

    # --- statements -------------------------------------------------------------------------
    def _use(self, stmt: str, batch: Batch) -> Segment:
        name = stmt[3:].strip().strip("[]\"'").split()[0] if stmt[3:].strip() else ""
        known = next((d for d in DATABASES if d.lower() == name.lower()), None)
        if known is None:
            text = f"Database '{name[:128]}' does not exist. Make sure that the name is entered correctly."
            return Segment(self.tok.error(911, 1, 16, text), DONE_ERROR)
        old, self.database = self.database, known
        batch.database = known
        info = self.tok.info(5701, 1, f"Changed database context to '{known}'.")
        return Segment(self.tok.envchange(ENV_DATABASE, known, old) + info)

    def _select(self, stmt: str) -> Segment:
        body = stmt[6:]
        m = re.search(r"(?is)\bfrom\b(.*)$", body)
        if m:
            return self._select_from(body[: m.start()], m.group(1))
        cols: list[Column] = []
        row: list[Value] = []
        for item in tsql.split_args(body)[:32]:
            expr, alias = _alias(item)
            value, kind = self._value(expr)
            cols.append(Column(alias, kind, 4000 if kind == "nvarchar" else 0))
            row.append(value)
        if not cols:
            return Segment(self.tok.error(102, 1, 15, "Incorrect syntax near 'SELECT'."), DONE_ERROR)
        return Segment(result_set(self.tok, cols, [row]), DONE_COUNT, CMD_SELECT, 1)

    def _select_from(self, items: str, source: str) -> Segment:
        src = source.lower()
        if re.search(r"\b(sys\.databases|sysdatabases)\b", src):
            names = DATABASES
            cols = [Column("name", "nvarchar", 128)]
            rows: list[list[Value]] = [[n] for n in names]
            if "name" not in items.lower() and "*" not in items:
                cols = [Column(_alias(items)[1] or "", "nvarchar", 128)]
            return Segment(result_set(self.tok, cols, rows), DONE_COUNT, CMD_SELECT, len(rows))
        # any other table: an empty result with the asked-for column names
        cols = [Column(_alias(i)[1], "nvarchar", 128) for i in tsql.split_args(items)[:32]] or [Column("")]
        return Segment(result_set(self.tok, cols, []), DONE_COUNT, CMD_SELECT, 0)

    def _value(self, expr: str) -> tuple[Value, str]:
        f = self.facts
        e = re.sub(r"\s+", "", expr).lower()
        simple: dict[str, Value] = {
            "@@version": f.banner,
            "@@servername": f.server,
            "@@servicename": "MSSQLSERVER",
            "@@language": "us_english",
            "db_name()": self.database,
            "system_user": f.user,
            "suser_sname()": f.user,
            "suser_name()": f.user,
            "user_name()": "dbo",
            "current_user": "dbo",
            "user": "dbo",
            "host_name()": f.client_host,
        }
        if e in simple:
            return simple[e], "nvarchar"
        if e in ("@@spid",):
            return f.spid, "int"
        if e == "@@microsoftversion":
            major, _minor, build = (int(x) for x in f.version.split(".")[:3])
            return (major << 24) | build, "int"
        if e.startswith(("is_srvrolemember(", "is_member(", "has_dbaccess(")):
            return 1, "int"
        m = re.fullmatch(r"(?is)serverproperty\s*\((.+)\)", expr.strip())
        if m:
            name = tsql.literal(m.group(1), self._vars)
            return (self._property(name) if name else None), "nvarchar"
        if re.fullmatch(r"-?\d{1,9}", e):
            return int(e), "int"
        lit = tsql.literal(expr)
        if lit is not None:
            return lit, "nvarchar"
        return None, "nvarchar"

    def _property(self, name: str) -> Value:
        f = self.facts
        props: dict[str, Value] = {
            "productversion": f.version,
            "productlevel": f.level.split("-")[0] if f.level else "RTM",
            "productupdatelevel": f.level.split("-", 1)[1] if "-" in f.level else None,
            "edition": f.edition,
            "engineedition": "2",
            "machinename": f.server,
            "servername": f.server,
            "instancename": None,
            "isclustered": "0",
            "isintegratedsecurityonly": "0",
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "productmajorversion": f.version.split(".")[0],
            "productminorversion": f.version.split(".")[1],
            "productbuild": f.version.split(".")[2],
            "buildclrversion": "v4.0.30319",
            "ishadrenabled": "0",
        }
        return props.get(name.lower())

    def _exec(self, stmt: str, batch: Batch, variables: dict[str, str]) -> Segment | None:
        call = tsql.proc_call(stmt)
        if call is None:
            return None
        proc, args = call
        if proc.startswith("@") and proc.lower() in variables:
            self._run(variables[proc.lower()], batch, variables, MAX_DEPTH)
            return None
        if proc == "xp_cmdshell":
            return self._xp_cmdshell(args, batch, variables)
        if proc in ("sp_oacreate", "sp_oamethod"):
            return self._sp_oa(proc, args, batch, variables)
        if proc == "sp_configure":
            return self._sp_configure(args, variables)
        if proc in ("sp_databases", "sp_helpdb"):
            cols = [Column("DATABASE_NAME", "nvarchar", 128), Column("DATABASE_SIZE", "int"), Column("REMARKS")]
            rows: list[list[Value]] = [[d, 8192, None] for d in DATABASES]
            return Segment(result_set(self.tok, cols, rows), DONE_COUNT, CMD_SELECT, len(rows), proc=True)
        return Segment(proc=True)

    def _xp_cmdshell(self, args: list[str], batch: Batch, variables: dict[str, str]) -> Segment:
        line = tsql.literal(tsql.named(args[0])[1], variables) if args else None
        if line is not None and len(batch.shell) < MAX_SHELL:
            batch.shell.append(line)
        if not self.running.get("xp_cmdshell"):
            err = self.tok.error(15281, 1, 16, BLOCKED.format(proc="xp_cmdshell", comp="xp_cmdshell"), "xp_cmdshell")
            return Segment(err, DONE_ERROR, proc=True)
        rows: list[list[Value]] = [[v] for v in _output(line or "", self.facts)]
        rows.append([None])
        table = result_set(self.tok, [Column("output", "nvarchar", 255)], rows)
        return Segment(table, DONE_COUNT, CMD_SELECT, len(rows), proc=True)

    def _sp_oa(self, proc: str, args: list[str], batch: Batch, variables: dict[str, str]) -> Segment:
        values = [tsql.literal(tsql.named(a)[1], variables) for a in args]
        if proc == "sp_oamethod" and len(values) >= 2 and (values[1] or "").lower() in ("run", "exec", "shellexecute"):
            words = [v for v in values[2:] if v]
            if words and len(batch.shell) < MAX_SHELL:
                batch.shell.append(" ".join(words))
        if not self.running.get("ole automation procedures"):
            name = "sp_OACreate" if proc == "sp_oacreate" else "sp_OAMethod"
            text = BLOCKED.format(proc=name, comp="Ole Automation Procedures")
            return Segment(self.tok.error(15281, 1, 16, text, name), DONE_ERROR, proc=True)
        return Segment(proc=True)

    def _sp_configure(self, args: list[str], variables: dict[str, str]) -> Segment:
        names = [tsql.literal(tsql.named(a)[1], variables) for a in args]
        advanced = bool(self.running.get("show advanced options"))
        visible = [n for n in OPTIONS if advanced or n not in ADVANCED]
        cols = [Column("name", "nvarchar", 35), Column("minimum", "int"), Column("maximum", "int")]
        cols += [Column("config_value", "int"), Column("run_value", "int")]
        if not names or names[0] is None:
            rows: list[list[Value]] = [[n, *OPTIONS[n][:2], self.config[n], self.running[n]] for n in visible]
            return Segment(result_set(self.tok, cols, rows), DONE_COUNT, CMD_SELECT, len(rows), proc=True)
        want = names[0].lower().strip()
        matches = [n for n in visible if n.lower().startswith(want)]
        exact = [n for n in matches if n.lower() == want]
        if exact:
            matches = exact
        if len(matches) != 1:
            text = f"The configuration option '{names[0][:64]}' does not exist, or it may be an advanced option."
            return Segment(self.tok.error(15123, 1, 16, text, "sp_configure"), DONE_ERROR, proc=True)
        opt = matches[0]
        if len(args) < 2:
            row: list[Value] = [opt, *OPTIONS[opt][:2], self.config[opt], self.running[opt]]
            return Segment(result_set(self.tok, cols, [row]), DONE_COUNT, CMD_SELECT, 1, proc=True)
        raw = tsql.named(args[1])[1].strip("'N ")
        if not re.fullmatch(r"-?\d{1,10}", raw):
            return Segment(self.tok.error(15129, 1, 16, f"'{raw[:32]}' is not a valid value."), DONE_ERROR, proc=True)
        old, new = self.config[opt], int(raw)
        self.config[opt] = new
        text = f"Configuration option '{opt}' changed from {old} to {new}. Run the RECONFIGURE statement to install."
        return Segment(self.tok.info(15457, 1, text), proc=True)


def _alias(item: str) -> tuple[str, str]:
    if len(item) > 4096:  # no select-list item of a scanner is this long; spare the regex
        return item, ""
    m = re.match(r"(?is)(.*?)\s+(?:as\s+)?(\[[^\]]+\]|\w+|'[^']*')$", item.strip())
    if m and not re.fullmatch(r"(?i)(system_user|current_user|user)", item.strip()):
        expr = m.group(1)
        if expr and not expr.strip().lower().endswith(("as", ",")) and re.search(r"[)'@\w]$", expr.strip()):
            return expr, m.group(2).strip("[]'")[:128]
    return item, ""


def _output(line: str, facts: Facts) -> list[str]:
    """What a few probing commands print under ``NT Service\\MSSQLSERVER`` (nothing runs)."""
    cmd = line.strip().lower()
    if cmd in ("whoami", "cmd /c whoami", "cmd.exe /c whoami"):
        return ["nt service\\mssqlserver"]
    if cmd in ("hostname", "cmd /c hostname"):
        return [facts.server]
    m = re.fullmatch(r"(?:cmd(?:\.exe)? /c )?echo (.{1,200})", line.strip(), re.I)
    if m and not re.search(r"[>|&]", m.group(1)):
        return [m.group(1)]
    return []
