# SPDX-License-Identifier: MIT
"""Emulated commands of the fake shell, part 1: the registry, command I/O and the file commands.

Each command is a coroutine ``(shell, argv, io) -> exit status`` that reads ``io.stdin`` and writes
through ``io`` (which charges a per-line output budget), and touches only the session's virtual
filesystem. Messages copy GNU coreutils 9.1 (Debian 12) word for word, because an attacker's
script that greps for them should see what it expects. Other families live in commands_*.py.
"""

from __future__ import annotations

import math
import posixpath
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.registry import Registry
from honeyfarm.sensor.shell.fs import tree as vfs_tree
from honeyfarm.sensor.shell.fs.vfs import FSError, Node, normpath

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

CommandFn = Callable[["Shell", list[str], "IO"], Awaitable[int]]
COMMANDS: Registry[CommandFn] = Registry()  # finished (help texts, fallbacks) on the first lookup
MAX_CHAIN = 64  # simple commands run per input line
MAX_OUTPUT = 1 << 20  # characters produced per input line (terminal and pipes together)


def command(*names: str) -> Callable[[CommandFn], CommandFn]:
    def register(fn: CommandFn) -> CommandFn:
        for name in names:
            COMMANDS[name] = fn
        return fn

    return register


class Budget:
    """Work allowed for one input line: simple commands, characters written, seconds slept."""

    def __init__(self, commands: int = MAX_CHAIN, chars: int = MAX_OUTPUT, sleep: float = 1.0) -> None:
        self.commands = commands
        self.chars = chars
        self.sleep = sleep
        self.exhausted = False

    def take(self, text: str) -> str:
        if len(text) > self.chars:
            text = text[: self.chars]
            self.exhausted = True
        self.chars -= len(text)
        return text


class IO:
    """stdin text of one command and what it wrote (fd, text), in order."""

    def __init__(self, stdin: str, budget: Budget, *, tty: bool, piped: bool = False) -> None:
        self.stdin = stdin
        self.budget = budget
        self.tty = tty  # stdout is the terminal (ls prints columns)
        self.piped = piped  # stdin comes from a pipe or file
        self.chunks: list[tuple[int, str]] = []

    def write(self, text: str, fd: int = 1) -> None:
        text = self.budget.take(text)
        if text:
            self.chunks.append((fd, text))

    def out(self, text: str) -> None:
        self.write(text, 1)

    def err(self, text: str) -> None:
        self.write(text, 2)

    def stdout(self) -> str:
        return "".join(t for fd, t in self.chunks if fd == 1)


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def split_opts(
    args: list[str],
    with_value: Collection[str] = "",
    long_value: Collection[str] = (),
    literal: Collection[str] = (),
) -> tuple[set[str], dict[str, str], list[str]]:
    """Short options (combined ``-la``), options taking a value (``-n 5``/``-n5``, ``--out=f``/``--out f``
    for names in ``long_value``), whole words taken as one flag (wget's ``-nv``), operands after ``--``."""
    flags: set[str] = set()
    values: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i + 1 :])
            break
        if a in literal:
            flags.add(a[1:])
        elif a.startswith("--") and len(a) > 2:
            key, eq, val = a[2:].partition("=")
            if eq:
                values[key] = val
            elif key in long_value and i + 1 < len(args):
                i += 1
                values[key] = args[i]
            else:
                flags.add(key)
        elif a.startswith("-") and len(a) > 1:
            for j, ch in enumerate(a[1:], 1):
                if ch in with_value:
                    if j + 1 < len(a):
                        values[ch] = a[j + 1 :]
                    elif i + 1 < len(args):
                        i += 1
                        values[ch] = args[i]
                    break
                flags.add(ch)
        else:
            rest.append(a)
        i += 1
    return flags, values, rest


def quote(name: str) -> str:
    """coreutils' shell-escape quoting of a file name in messages: 'x'."""
    return "'" + name.replace("'", "'\\''") + "'"


def read_inputs(sh: Shell, prog: str, files: list[str], io: IO) -> tuple[list[tuple[str, str]], int]:
    """Contents of ``files`` (``-`` or none: stdin), with errors printed GNU-style."""
    if not files:
        return [("-", io.stdin)], 0
    out: list[tuple[str, str]] = []
    status = 0
    for f in files:
        if f == "-":
            out.append((f, io.stdin))
            continue
        try:
            out.append((f, decode(vfs_tree.full_content(sh.fs, f, sh.cwd))))
        except FSError as e:
            io.err(f"{prog}: {f}: {e.strerror}\n")
            status = 1
    return out, status


# --- cat, ls ----------------------------------------------------------------------------------------------------


@command("cat")
async def cat(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, files = split_opts(argv[1:])
    inputs, status = read_inputs(sh, "cat", files, io)
    for _name, text in inputs:
        if "n" in flags:
            lines = text.splitlines(keepends=True)
            text = "".join(f"{i:>6}\t{line}" for i, line in enumerate(lines, 1))
        io.out(text)
        if io.budget.exhausted:
            break
    return status


def mode_string(node: Node) -> str:
    kind = {"d": "d", "l": "l", "c": "c"}.get(node.kind, "-")
    m = node.mode
    chars = []
    for shift, special, sch in ((6, 0o4000, "s"), (3, 0o2000, "s"), (0, 0o1000, "t")):
        r = "r" if m >> shift & 4 else "-"
        w = "w" if m >> shift & 2 else "-"
        x = m >> shift & 1
        xc = (sch if x else sch.upper()) if m & special else ("x" if x else "-")
        chars.append(r + w + xc)
    return kind + "".join(chars)


def human(n: int) -> str:
    """``ls -h`` / ``df -h`` size: 220, 4.0K, 1.2M (rounded up, as GNU does)."""
    if n < 1024:
        return str(n)
    v = float(n)
    for unit in "KMGTP":
        v /= 1024
        if v < 10:
            r = math.ceil(v * 10) / 10
            if r < 10:
                return f"{r:.1f}{unit}"
        if math.ceil(v) < 1024:
            return f"{math.ceil(v)}{unit}"
    return f"{math.ceil(v)}E"


def ls_date(t: float, now: float) -> str:
    g = time.gmtime(t)
    mon = time.strftime("%b", g)
    if now - 15_778_476 < t <= now + 60:
        return f"{mon} {g.tm_mday:>2} {g.tm_hour:02d}:{g.tm_min:02d}"
    return f"{mon} {g.tm_mday:>2}  {g.tm_year}"


def columns(names: list[str], width: int = 80) -> str:
    if not names:
        return ""
    for ncols in range(min(len(names), width // 3), 0, -1):
        nrows = math.ceil(len(names) / ncols)
        cols = [names[c * nrows : (c + 1) * nrows] for c in range(ncols)]
        cols = [c for c in cols if c]
        widths = [max(len(n) for n in c) + 2 for c in cols]
        if sum(widths) - 2 <= width or ncols == 1:
            lines = []
            for r in range(nrows):
                row = [c[r].ljust(widths[i]) if r < len(c) else "" for i, c in enumerate(cols)]
                lines.append("".join(row).rstrip())
            return "\n".join(lines) + "\n"
    return "\n".join(names) + "\n"


@command("ls", "dir")
async def ls(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, args = split_opts(argv[1:])
    long_ = bool(flags & {"l", "n", "o", "g"})
    show_all, almost = "a" in flags or "all" in flags, "A" in flags
    now = sh.persona.now()
    status = 0
    files: list[tuple[str, Node, str]] = []
    dirs: list[tuple[str, str]] = []
    for arg in args or ["."]:
        try:
            real, node = sh.fs.lookup(arg, sh.cwd, follow=not long_)
            if node.kind == "l" and sh.fs.is_dir(arg, sh.cwd) and not long_:
                real, node = sh.fs.lookup(arg, sh.cwd)
        except FSError as e:
            io.err(f"ls: cannot access {quote(arg)}: {e.strerror}\n")
            status = 2
            continue
        if node.kind == "d" and "d" not in flags:
            dirs.append((arg, real))
        else:
            files.append((arg, node, real))

    def render(entries: list[tuple[str, Node, str]]) -> str:
        if "t" in flags:
            entries.sort(key=lambda e: -e[1].mtime)
        elif "S" in flags:
            entries.sort(key=lambda e: -e[1].st_size())
        if "r" in flags:
            entries.reverse()
        if not long_:
            names = [e[0] for e in entries]
            return columns(names) if io.tty and "1" not in flags else "".join(n + "\n" for n in names)
        rows = []
        for name, node, real in entries:
            size = human(node.st_size()) if "h" in flags else str(node.st_size())
            owner = str(node.uid) if "n" in flags else sh.user_name(node.uid)
            group = str(node.gid) if "n" in flags else sh.group_name(node.gid)
            shown = name + (f" -> {node.target}" if node.kind == "l" else "")
            nlink = 2 if node.kind == "d" else 1
            rows.append((mode_string(node), str(nlink), owner, group, size, ls_date(node.mtime, now), shown, real))
        w = [max(len(r[i]) for r in rows) for i in range(5)]
        out = []
        for r in rows:
            parts = [r[0], r[1].rjust(w[1])]
            if "g" not in flags:
                parts.append(r[2].ljust(w[2]))
            if "o" not in flags:
                parts.append(r[3].ljust(w[3]))
            parts += [r[4].rjust(w[4]), r[5], r[6]]
            out.append(" ".join(parts) + "\n")
        return "".join(out)

    files.sort(key=lambda f: f[0])
    dirs.sort()
    chunks = []
    if files:
        chunks.append(render(files))
    for n, (arg, real) in enumerate(dirs):
        try:
            names = sh.fs.listdir(real)
        except FSError as e:
            io.err(f"ls: cannot open directory {quote(arg)}: {e.strerror}\n")
            status = 2
            continue
        if not (show_all or almost):
            names = [x for x in names if not x.startswith(".")]
        entries = [(x, sh.fs.lookup(posixpath.join(real, x), follow=False)[1], posixpath.join(real, x)) for x in names]
        if show_all:
            entries = [
                (".", sh.fs.lookup(real)[1], real),
                ("..", sh.fs.lookup(posixpath.dirname(real))[1], ""),
                *entries,
            ]
        body = render(entries)
        if long_:
            blocks = sum(4 * math.ceil(e[1].st_size() / 4096) for e in entries if e[1].kind in "df")
            body = f"total {human(blocks * 1024) if 'h' in flags else blocks}\n" + body
        header = f"{arg}:\n" if len(dirs) + len(files) > 1 or "R" in flags else ""
        sep = "\n" if chunks or n else ""
        chunks.append(sep + header + body)
    io.out("".join(chunks))
    return status


# --- directories and files ---------------------------------------------------------------------------------------


@command("mkdir")
async def mkdir(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, args = split_opts(argv[1:], with_value="m")
    if not args:
        io.err("mkdir: missing operand\nTry 'mkdir --help' for more information.\n")
        return 1
    status = 0
    for a in args:
        try:
            sh.fs.mkdir(a, sh.cwd, parents="p" in flags or "parents" in flags)
        except FSError as e:
            io.err(f"mkdir: cannot create directory ‘{a}’: {e.strerror}\n")
            status = 1
    return status


@command("rmdir")
async def rmdir(sh: Shell, argv: list[str], io: IO) -> int:
    _, _, args = split_opts(argv[1:])
    status = 0
    for a in args:
        try:
            sh.fs.rmdir(a, sh.cwd)
        except FSError as e:
            io.err(f"rmdir: failed to remove {quote(a)}: {e.strerror}\n")
            status = 1
    return status


@command("rm")
async def rm(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, args = split_opts(argv[1:])
    recursive, force = bool(flags & {"r", "R", "recursive"}), bool(flags & {"f", "force"})
    if not args:
        if force:
            return 0
        io.err("rm: missing operand\nTry 'rm --help' for more information.\n")
        return 1
    status = 0
    for a in args:
        if recursive and normpath(a, sh.cwd) == "/" and "no-preserve-root" not in flags:
            io.err("rm: it is dangerous to operate recursively on '/'\n")
            io.err("rm: use --no-preserve-root to override this failsafe\n")
            status = 1
            continue
        try:
            sh.fs.remove(a, sh.cwd, recursive=recursive)
        except FSError as e:
            if force and e.strerror == "No such file or directory":
                continue
            io.err(f"rm: cannot remove {quote(a)}: {e.strerror}\n")
            status = 1
    return status


@command("touch")
async def touch(sh: Shell, argv: list[str], io: IO) -> int:
    _, _, args = split_opts(argv[1:], with_value="dtr")
    if not args:
        io.err("touch: missing file operand\nTry 'touch --help' for more information.\n")
        return 1
    status = 0
    for a in args:
        try:
            sh.fs.touch(a, sh.cwd)
        except FSError as e:
            io.err(f"touch: cannot touch {quote(a)}: {e.strerror}\n")
            status = 1
    return status


async def _copy_or_move(sh: Shell, argv: list[str], io: IO, move: bool) -> int:
    prog = argv[0].rsplit("/", 1)[-1]
    flags, _, args = split_opts(argv[1:], with_value="tS")
    if len(args) < 2:
        what = "file operand" if not args else f"destination file operand after {quote(args[0])}"
        io.err(f"{prog}: missing {what}\nTry '{prog} --help' for more information.\n")
        return 1
    *sources, dest = args
    if len(sources) > 1 and not sh.fs.is_dir(dest, sh.cwd):
        io.err(f"{prog}: target {quote(dest)}: Not a directory\n")
        return 1
    status = 0
    for src in sources:
        try:
            _, node = sh.fs.lookup(src, sh.cwd)
            if node.kind == "d" and not move and not flags & {"r", "R", "a", "recursive", "archive"}:
                io.err(f"{prog}: -r not specified; omitting directory {quote(src)}\n")
                status = 1
                continue
            if move:
                sh.fs.move(src, dest, sh.cwd)
            else:
                sh.fs.copy(src, dest, sh.cwd)
        except FSError as e:
            if e.strerror == "No such file or directory" and not sh.fs.exists(src, sh.cwd):
                io.err(f"{prog}: cannot stat {quote(src)}: {e.strerror}\n")
            elif e.strerror == "Invalid argument":
                io.err(f"{prog}: cannot {'move' if move else 'copy'} a directory, {quote(src)}, into itself, "
                       f"{quote(dest)}\n")  # fmt: skip
            elif move:
                io.err(f"{prog}: cannot move {quote(src)} to {quote(dest)}: {e.strerror}\n")
            else:
                io.err(f"{prog}: cannot create regular file {quote(dest)}: {e.strerror}\n")
            status = 1
    return status


@command("cp")
async def cp(sh: Shell, argv: list[str], io: IO) -> int:
    return await _copy_or_move(sh, argv, io, move=False)


@command("mv")
async def mv(sh: Shell, argv: list[str], io: IO) -> int:
    return await _copy_or_move(sh, argv, io, move=True)


def parse_mode(spec: str, current: int, is_dir: bool) -> int | None:
    """chmod mode: octal or symbolic (``u+x,go-w``, ``+x``, ``a=rwx``). None if invalid."""
    if spec and all(c in "01234567" for c in spec):
        return int(spec, 8) if len(spec) <= 4 else None
    mode = current
    for clause in spec.split(","):
        i = 0
        who = 0
        while i < len(clause) and clause[i] in "ugoa":
            who |= {"u": 0o4700, "g": 0o2070, "o": 0o1007, "a": 0o7777}[clause[i]]
            i += 1
        if i >= len(clause) or clause[i] not in "+-=":
            return None
        masked = who == 0
        who = who or 0o7777
        while i < len(clause) and clause[i] in "+-=":
            op = clause[i]
            i += 1
            bits = 0
            while i < len(clause) and clause[i] in "rwxXst":
                c = clause[i]
                bits |= {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000}.get(c, 0)
                if c == "X" and (is_dir or mode & 0o111):
                    bits |= 0o111
                i += 1
            bits &= who
            if masked:
                bits &= ~0o022
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:
                mode = (mode & ~who) | bits
        if i != len(clause):
            return None
    return mode


@command("chmod")
async def chmod(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    flags = {a for a in args if a in ("-R", "-f", "-v", "-c", "--recursive")}
    args = [a for a in args if a not in flags]
    if len(args) < 2:
        what = "operand" if not args else f"operand after {quote(args[0])}"
        io.err(f"chmod: missing {what}\nTry 'chmod --help' for more information.\n")
        return 1
    spec, *files = args
    status = 0
    for f in files:
        try:
            real, node = sh.fs.lookup(f, sh.cwd)
        except FSError as e:
            io.err(f"chmod: cannot access {quote(f)}: {e.strerror}\n")
            status = 1
            continue
        mode = parse_mode(spec, node.mode, node.kind == "d")
        if mode is None:
            io.err(f"chmod: invalid mode: ‘{spec}’\nTry 'chmod --help' for more information.\n")
            return 1
        try:
            sh.fs.chmod(real, "/", mode)
        except FSError as e:
            io.err(f"chmod: changing permissions of {quote(f)}: {e.strerror}\n")
            status = 1
    return status
