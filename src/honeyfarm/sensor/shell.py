# SPDX-License-Identifier: MIT
"""The fake shell: bash's behaviour on the emulated Debian machine, for one session.

Why an interpreter and not a sandbox: nothing the attacker types may run on the host. Lines are
parsed by :mod:`honeyfarm.sensor.shparse`, words expanded here, and every command is a Python
coroutine working on the session's virtual filesystem (:mod:`honeyfarm.sensor.vfs`). No host
path, ``eval``/``exec`` or subprocess is ever reached. Each line gets a budget (simple commands
run, characters written, seconds slept, nesting of ``$(...)``/``sh -c``), so no input can make
the sensor loop, recurse or allocate without bound.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
from dataclasses import dataclass

from honeyfarm.sensor import commands_net, commands_shell, commands_sys, commands_text, shexpand
from honeyfarm.sensor.commands import COMMANDS, IO, Budget, decode
from honeyfarm.sensor.model import ShellContext
from honeyfarm.sensor.persona import Persona
from honeyfarm.sensor.shparse import Command, For, Group, If, ListNode, ParseError, Pipeline, Redir, Simple, Word
from honeyfarm.sensor.shparse import parse as parse_source
from honeyfarm.sensor.vfs import FSError, SessionFS, normpath

__all__ = ["Result", "Shell"]
_LOADED = (commands_net, commands_shell, commands_sys, commands_text)  # they register their commands
MAX_DEPTH = 8  # nesting of $(...), sh -c, eval and scripts
MAX_ENV = 256
MAX_HISTORY = 500
MAX_WORD = 1 << 20
_ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"


@dataclass
class Result:
    """What one input line printed (``\\n`` line ends), its exit status, and whether the session ends."""

    output: str
    status: int = 0
    exit: bool = False


class _Stop(Exception):
    """The line's budget of simple commands is spent: stop running it."""


class Sink:
    """Where a command's stdout or stderr goes: a list of (fd, text) chunks."""

    def __init__(self, chunks: list[tuple[int, str]], fd: int) -> None:
        self.chunks = chunks
        self.fd = fd

    def write(self, text: str) -> None:
        if text:
            self.chunks.append((self.fd, text))


class Shell:
    """One interactive bash session on the persona's machine."""

    def __init__(self, ctx: ShellContext, persona: Persona, fs: SessionFS, *, max_line_bytes: int) -> None:
        self.ctx = ctx
        self.persona = persona
        self.fs = fs
        self.account = ctx.account
        self.max_line_bytes = max_line_bytes
        self.tty = "pts/0"
        self.login_time = persona.now()
        home = self.account.home
        self.cwd = home if fs.is_dir(home) else "/"
        self.env: dict[str, str] = {
            "SHELL": self.account.shell,
            "PWD": self.cwd,
            "LOGNAME": self.account.name,
            "HOME": home,
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "USER": self.account.name,
            "SHLVL": "1",
            "HOSTNAME": persona.hostname,
            "PATH": _ROOT_PATH if self.account.uid == 0 else _USER_PATH,
            "MAIL": f"/var/mail/{self.account.name}",
            "SSH_CONNECTION": f"{ctx.src_ip} {40000 + persona.seed % 20000} {persona.ip_address} 22",
            "_": "/usr/bin/env",
        }
        self.history: list[str] = []
        self.command_text = ""  # source text of the simple command being run (for download events)
        self.last_status = 0
        self.last_bg_pid = 0
        self.pid = persona.bash_pid
        self._next_pid = self.pid + 2
        self._depth = 0
        self._exit = False
        self.budget = Budget()
        self._term_err = Sink([], 2)
        self._users = {u.uid: u.name for u in reversed(persona.all_users(self.account))}
        self._groups: dict[int, str] = {}
        for line in persona.group(self.account).splitlines():
            name, _, gid, *_rest = line.split(":")
            self._groups.setdefault(int(gid), name)

    # --- public API ----------------------------------------------------------------------------------------------

    def prompt(self) -> str:
        return f"{self.account.name}@{self.persona.hostname}:{self.short_cwd()}{'#' if self.account.uid == 0 else '$'} "

    async def run_line(self, line: str) -> Result:
        line = line.rstrip("\r\n")
        data = line.encode("utf-8", "surrogatepass")
        if len(data) > self.max_line_bytes:
            line = data[: self.max_line_bytes].decode("utf-8", "ignore")
        if not line.strip():
            return Result("", self.last_status)
        self.ctx.emit("cowrie.command.input", command=line)
        self._remember(line)
        self.budget = Budget()
        self._exit = False
        term: list[tuple[int, str]] = []
        self._term_err = Sink(term, 2)
        try:
            node = parse_source(line + "\n")  # as typed: a missing word before it is `newline'
        except ParseError as e:
            self.last_status = 2
            return Result(_clean(f"bash: {e}\n"), 2)
        with contextlib.suppress(_Stop):
            await self.run_list(node, "", Sink(term, 1), Sink(term, 2), tty=True)
        return Result(_clean("".join(t for _, t in term)), self.last_status, self._exit)

    # --- helpers for commands ------------------------------------------------------------------------------------

    def short_cwd(self) -> str:
        home = self.env.get("HOME", self.account.home)
        if home != "/" and (self.cwd == home or self.cwd.startswith(home + "/")):
            return "~" + self.cwd[len(home) :]
        return self.cwd

    def user_name(self, uid: int) -> str:
        return self._users.get(uid, str(uid))

    def group_name(self, gid: int) -> str:
        return self._groups.get(gid, str(gid))

    def new_pid(self) -> int:
        self._next_pid += 1
        return self._next_pid

    def request_exit(self) -> None:
        self._exit = True

    @property
    def depth(self) -> int:
        """Nesting of ``$(...)``/``sh -c``/scripts being run (0: the line typed at the prompt)."""
        return self._depth

    async def run_subshell(self, src: str, io: IO, name: str) -> int:
        """``sh -c``/``bash script``: like :meth:`run_source`, but cwd, variables and ``exit`` stay inside."""
        cwd, env, exiting = self.cwd, dict(self.env), self._exit
        try:
            return await self.run_source(src, io, name)
        finally:
            self.cwd, self.env, self._exit = cwd, env, exiting

    def set_var(self, name: str, value: str) -> None:
        if len(name) <= 256 and (name in self.env or len(self.env) < MAX_ENV):
            self.env[name] = value[:4096]

    def find_in_path(self, name: str) -> str | None:
        for d in self.env.get("PATH", "").split(":")[:32]:
            path = posixpath.join(normpath(d or ".", self.cwd), name)
            try:
                _, node = self.fs.lookup(path)
            except FSError:
                continue
            if self.fs.can_execute(node):
                return path
        return None

    async def run_source(self, src: str, io: IO, name: str = "bash") -> int:
        """Run script text (``sh -c``, ``eval``, a script file, ``curl | sh``) inside the current command."""
        if self._depth >= MAX_DEPTH:
            io.err(f"{name}: maximum nesting level exceeded\n")
            return 1
        try:
            node = parse_source(src)
        except ParseError as e:
            io.err(f"{name}: {e}\n")
            return 2
        self._depth += 1
        try:
            return await self.run_list(node, io.stdin, Sink(io.chunks, 1), Sink(io.chunks, 2), tty=io.tty)
        finally:
            self._depth -= 1

    async def exec_argv(self, argv: list[str], io: IO, text: str) -> int:
        """Run one command by name (builtins, then PATH, or a path), as bash would."""
        name = argv[0]
        fn = COMMANDS.get(name) if name in commands_shell.BUILTINS else None
        if fn is not None:
            return await fn(self, argv, io)
        if "/" in name:
            return await self._exec_path(argv, io, text)
        path = self.find_in_path(name)
        if path is None:
            io.err(f"bash: {name}: command not found\n")
            self.ctx.emit("cowrie.command.failed", command=text)
            return 127
        real = self.fs.resolve(path)
        fn = COMMANDS.get(name) or COMMANDS.get(posixpath.basename(real))
        if fn is None:
            return await commands_shell.generic(self, argv, io)
        return await fn(self, argv, io)

    async def _exec_path(self, argv: list[str], io: IO, text: str) -> int:
        name = argv[0]
        try:
            real, node = self.fs.lookup(name, self.cwd)
        except FSError as e:
            io.err(f"bash: {name}: {e.strerror}\n")
            return 126 if e.strerror != "No such file or directory" else 127
        if node.kind == "d":
            io.err(f"bash: {name}: Is a directory\n")
            return 126
        if not self.fs.can_execute(node):
            io.err(f"bash: {name}: Permission denied\n")
            return 126
        if self.fs.is_base(real):
            fn = COMMANDS.get(posixpath.basename(name)) or COMMANDS.get(posixpath.basename(real))
            return await (fn or commands_shell.generic)(self, argv, io)
        head = node.content()
        if head.startswith(b"\x7fELF"):
            if head[18:20] in (b"\x3e\x00", b"\x03\x00"):
                io.err("Segmentation fault\n")
                return 139
            io.err(f"bash: {name}: cannot execute binary file: Exec format error\n")
            return 126
        if b"\0" in head[:1024]:
            io.err(f"bash: {name}: cannot execute binary file: Exec format error\n")
            return 126
        first = head.split(b"\n", 1)[0]
        if first.startswith(b"#!") and not re.search(rb"\b(sh|bash|dash|ash)\b", first):
            return 0
        return await self.run_subshell(decode(head), io, name)

    # --- execution -----------------------------------------------------------------------------------------------

    async def run_list(self, node: ListNode, stdin: str, out: Sink, err: Sink, *, tty: bool) -> int:
        status = self.last_status
        for conn, pipe in node.items:
            if (conn == "&&" and status != 0) or (conn == "||" and status == 0):
                continue
            status = await self._run_pipeline(pipe, stdin, out, err, tty)
            self.last_status = status
            if self._exit:
                break
        return status

    async def _run_pipeline(self, p: Pipeline, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        if p.background:
            self.last_bg_pid = self.new_pid()
            err.write(f"[1] {self.last_bg_pid}\n")
        data = stdin
        status = 0
        stopped = False
        for i, cmd in enumerate(p.cmds):
            last = i == len(p.cmds) - 1
            buf: list[tuple[int, str]] = []
            try:
                status = await self._run_command(cmd, data, out if last else Sink(buf, 1), err, tty and last)
            except _Stop:
                if last or self._exit:
                    raise
                stopped = True  # `while true; do ...; done | head`: the rest of the pipeline still reads its input
                self.budget.commands = len(p.cmds) - i - 1
            data = "".join(t for _, t in buf)
        if stopped:
            raise _Stop
        return (0 if status else 1) if p.negate else status

    def _spend(self) -> None:
        if self.budget.commands <= 0 or self._exit:
            raise _Stop
        self.budget.commands -= 1

    async def _run_command(self, cmd: Command, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        if isinstance(cmd, Simple):
            return await self._run_simple(cmd, stdin, out, err, tty)
        if isinstance(cmd, Group):
            if not cmd.redirs:
                return await self.run_list(cmd.body, stdin, out, err, tty=tty)
            io = IO(stdin, self.budget, tty=False)
            dests = await self._redirect(cmd.redirs, io, err)
            if dests is None:
                return 1
            status = await self.run_list(cmd.body, io.stdin, Sink(io.chunks, 1), Sink(io.chunks, 2), tty=False)
            self._route(io, dests, out, err, "bash")
            return status
        if isinstance(cmd, If):
            for cond, body in cmd.clauses:
                if await self.run_list(cond, stdin, out, err, tty=tty) == 0:
                    return await self.run_list(body, stdin, out, err, tty=tty)
            return await self.run_list(cmd.orelse, stdin, out, err, tty=tty) if cmd.orelse else 0
        if isinstance(cmd, For):
            words = await self.expand_words(cmd.items or [])
            status = 0
            for w in words:
                self._spend()
                self.set_var(cmd.var, w)
                status = await self.run_list(cmd.body, stdin, out, err, tty=tty)
                if self._exit:
                    break
            return status
        status = 0
        while True:
            self._spend()
            test = await self.run_list(cmd.cond, stdin, out, err, tty=tty)
            if (test == 0) == cmd.until or self._exit:
                return status
            status = await self.run_list(cmd.body, stdin, out, err, tty=tty)

    async def _run_simple(self, cmd: Simple, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        self._spend()
        argv = await self.expand_words(cmd.words)
        for name, value in cmd.assigns:
            if not argv:
                self.set_var(name, await self.expand_one(value))
        io = IO(stdin, self.budget, tty=tty)
        dests = await self._redirect(cmd.redirs, io, err)
        if dests is None:
            return 1
        if dests.get(1, "out") != "out":
            io.tty = False
        self.command_text = cmd.text
        status = await self.exec_argv(argv, io, cmd.text) if argv else 0
        prog = posixpath.basename(argv[0]) if argv else "bash"
        if self._route(io, dests, out, err, prog):
            status = status or 1
        return status

    async def _redirect(self, redirs: list[Redir], io: IO, err: Sink) -> dict[int, str] | None:
        """Open redirections in order: fd -> "out", "err", "null" or a file path. None on failure."""
        dests: dict[int, str] = {1: "out", 2: "err"}
        for r in redirs:
            fields = await self.expand_words([r.target])
            if len(fields) != 1:
                err.write(f"bash: {r.target.raw}: ambiguous redirect\n")
                return None
            target = fields[0]
            try:
                if r.op == "<":
                    io.stdin = decode(self.fs.read(target, self.cwd))
                    continue
                if r.op == ">&" and (target.isdigit() or target == "-"):
                    dests[r.fd] = dests.get(int(target), "null") if target.isdigit() else "null"
                    continue
                path = self.fs.resolve(target, self.cwd)
                if path == "/dev/null":
                    dest = "null"
                else:
                    self.fs.write(path, "/", b"", append=r.op == ">>")
                    dest = path
            except FSError as e:
                err.write(f"bash: {target}: {e.strerror}\n")
                return None
            if r.op in ("&>", ">&"):
                dests[1] = dests[2] = dest
            else:
                dests[r.fd] = dest
        return dests

    def _route(self, io: IO, dests: dict[int, str], out: Sink, err: Sink, prog: str) -> bool:
        """Deliver a command's output to its destinations. True if a file write failed."""
        files: dict[str, list[str]] = {}
        for fd, text in io.chunks:
            dest = dests.get(fd, "null")
            if dest == "out":
                out.write(text)
            elif dest == "err":
                err.write(text)
            elif dest != "null":
                files.setdefault(dest, []).append(text)
        failed = False
        for path, texts in files.items():
            try:
                self.fs.write(path, "/", "".join(texts).encode("utf-8", "surrogateescape"), append=True)
            except FSError as e:
                err.write(f"{prog}: write error: {e.strerror}\n")
                failed = True
        return failed

    # --- expansion -----------------------------------------------------------------------------------------------

    async def expand_words(self, words: list[Word]) -> list[str]:
        out: list[str] = []
        for w in words:
            out.extend(await self._expand(w, split=True))
            if sum(map(len, out)) > MAX_WORD:
                break
        return out

    async def expand_one(self, word: Word) -> str:
        return " ".join(await self._expand(word, split=False))

    async def _expand(self, word: Word, *, split: bool) -> list[str]:
        fields: list[str] = []
        cur, have, globbing = "", False, False
        for k, part in enumerate(word.parts):
            if len(cur) + sum(map(len, fields)) > MAX_WORD:
                break  # `$A$A$A...`: expansions are bounded like everything else
            if part.kind in ("lit", "bare", "ansi"):
                text = part.text
                if part.kind == "ansi":
                    text = commands_text.unescape(text, printf=True)[0]
                if part.kind == "bare" and k == 0 and text.startswith("~"):
                    text = self._tilde(text)
                if part.kind == "bare" and any(c in text for c in "*?["):
                    globbing = True
                cur, have = cur + text, True
                continue
            if part.kind == "var":
                value = self._var(part.text)
            elif part.kind == "arith":
                value = shexpand.arith(part.text, self.env)
            else:
                value = await self._substitute(part.text)
            if part.quoted or not split:
                cur, have = cur + value, True
                continue
            pieces = value.split()
            if not pieces:
                continue
            if value[0].isspace() and have:
                fields.append(cur)
                cur = ""
            cur, have = cur + pieces[0], True
            for piece in pieces[1:]:
                fields.append(cur)
                cur = piece
            if value[-1].isspace():
                fields.append(cur)
                cur, have = "", False
        if have:
            fields.append(cur)
        if globbing and split:
            expanded: list[str] = []
            for f in fields:
                expanded.extend(self.fs.glob(f, self.cwd) or [f])
            return expanded
        return fields

    def _tilde(self, text: str) -> str:
        user, sep, rest = text[1:].partition("/")
        if not user:
            return self.env.get("HOME", "/") + sep + rest
        for u in self.persona.all_users(self.account):
            if u.name == user:
                return u.home + sep + rest
        return text

    def _var(self, spec: str) -> str:
        special = {"?": str(self.last_status), "$": str(self.pid), "#": "0", "0": "-bash", "!": str(self.last_bg_pid)}
        value, assign = shexpand.parameter(spec, self.env, special)
        if assign is not None:
            self.set_var(*assign)
        return value

    async def _substitute(self, src: str) -> str:
        io = IO("", self.budget, tty=False)
        await self.run_source(src, io, "bash")
        for fd, text in io.chunks:
            if fd == 2:
                self._term_err.write(text)  # expansions happen before redirections: stderr reaches the terminal
        return "".join(t for fd, t in io.chunks if fd == 1).rstrip("\n")

    def _remember(self, line: str) -> None:
        self.history.append(line[:4096])
        if len(self.history) > MAX_HISTORY:
            del self.history[0]


def _clean(text: str) -> str:
    """Output fit for the trap: lone surrogates (raw bytes) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
