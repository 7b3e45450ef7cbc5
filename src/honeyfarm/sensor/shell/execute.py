# SPDX-License-Identifier: MIT
"""Execution of the fake shell's syntax tree: lists, pipelines, compound commands, redirections.

A mixin of :class:`honeyfarm.sensor.shell.shell.Shell` (split out to keep modules small). Every loop
iteration and simple command is charged to the line's :class:`~honeyfarm.sensor.shell.commands.base.Budget`,
function calls are nested at most ``MAX_CALLS`` deep, and redirections only ever touch the
session's virtual filesystem.
"""

from __future__ import annotations

import fnmatch
import re
import time
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, decode
from honeyfarm.sensor.shell.diag import Frame
from honeyfarm.sensor.shell.fs.vfs import FSError
from honeyfarm.sensor.shell.nodes import Case, Command, For, FuncDef, Group, If, ListNode, Pipeline, Redir, Simple
from honeyfarm.sensor.shell.words import ErrSink, WordExpander

if TYPE_CHECKING:
    from honeyfarm.sensor.model import ShellContext

Sink = ErrSink
MAX_CALLS = 24  # nesting of shell function calls
MAX_LOCALS = 256


_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def _xquote(word: str) -> str:
    """A word as ``set -x`` shows it: bare if plain, else in single quotes."""
    return word if _PLAIN.fullmatch(word) else "'" + word.replace("'", "'\\''") + "'"


class Stop(Exception):
    """The line's budget of simple commands is spent: stop running it."""


class Executor(WordExpander):
    """Execution half of the shell (state lives in :class:`~honeyfarm.sensor.shell.shell.Shell`)."""

    ctx: ShellContext
    functions: dict[str, Command]
    options: set[str]
    _cond: int
    aliases: dict[str, str]
    command_text: str
    _exit: bool
    _unwind: tuple[str, int] | None  # ("return"|"break"|"continue", levels)
    _calls: int
    _loops: int
    _locals: list[dict[str, str | None]]
    _consumed: dict[int, tuple[str, int]]
    jobs: list[tuple[int, str, int]]  # background jobs not yet reported "Done": number, text, status

    def new_pid(self) -> int:
        raise NotImplementedError

    async def exec_argv(self, argv: list[str], io: IO, text: str) -> int:
        raise NotImplementedError

    def _spend(self) -> None:
        if self.budget.commands <= 0 or self._exit:
            raise Stop
        self.budget.commands -= 1

    def _stopping(self) -> bool:
        return self._exit or self._unwind is not None

    async def run_list(self, node: ListNode, stdin: str, out: Sink, err: Sink, *, tty: bool) -> int:
        status = self.last_status
        items = node.items
        for k, (conn, pipe) in enumerate(items):
            if (conn == "&&" and status != 0) or (conn == "||" and status == 0):
                continue
            guarded = int(pipe.negate or (k + 1 < len(items) and items[k + 1][0] in ("&&", "||")))
            self._cond += guarded
            try:
                status = await self._run_pipeline(pipe, stdin, out, err, tty)
            finally:
                self._cond -= guarded
            self.last_status = status
            if self._stopping():
                break
            if status and "e" in self.options and not (self._cond or guarded or pipe.background):
                self._exit = True  # set -e: a failing command ends the script
                break
        return status

    async def _condition(self, node: ListNode, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        """An ``if``/``while`` condition: ``set -e`` does not apply inside it."""
        self._cond += 1
        try:
            return await self.run_list(node, stdin, out, err, tty=tty)
        finally:
            self._cond -= 1

    async def _run_pipeline(self, p: Pipeline, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        job = 0
        sleep = self.budget.sleep
        if p.background:
            self.last_bg_pid = self.new_pid()
            if self.frame.interactive and len(self.frames) == 1 and len(self.jobs) < 64:
                job = (self.jobs[-1][0] if self.jobs else 0) + 1
                err.write(f"[{job}] {self.last_bg_pid}\n")
            self.budget.sleep = 0.0  # `sleep 60 &` returns at once
        began = time.monotonic()
        try:
            status = await self._stages(p, "" if p.background else stdin, out, err, tty)  # bg input: /dev/null
        finally:
            if p.background:
                self.budget.sleep = sleep
        if p.timed:
            real = time.monotonic() - began
            if p.posix_time:
                err.write(f"real {real:.2f}\nuser 0.00\nsys {min(real, 0.001):.2f}\n")
            else:
                err.write(f"\nreal\t0m{real:.3f}s\nuser\t0m0.000s\nsys\t0m{min(real, 0.001):.3f}s\n")
        if p.background:
            if job:
                self.jobs.append((job, " | ".join(c.text for c in p.cmds), status))
            return 0
        return (0 if status else 1) if p.negate else status

    async def _stages(self, p: Pipeline, data: str, out: Sink, err: Sink, tty: bool) -> int:
        """The pipeline's commands in turn, each reading what the one before wrote."""
        status = 0
        stopped = False
        for i, cmd in enumerate(p.cmds):
            last = i == len(p.cmds) - 1
            buf: list[tuple[int, str]] = []
            try:
                status = await self._run_command(cmd, data, out if last else Sink(buf, 1), err, tty and last)
            except Stop:
                if last or self._exit:
                    raise
                stopped = True  # `while true; do ...; done | head`: the rest of the pipeline still reads its input
                self.budget.commands = len(p.cmds) - i - 1
            data = "".join(t for _, t in buf)
        if stopped:
            raise Stop
        return status

    async def _run_command(self, cmd: Command, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        if isinstance(cmd, Simple):
            return await self._run_simple(cmd, stdin, out, err, tty)
        if isinstance(cmd, Group):
            return await self._run_group(cmd, stdin, out, err, tty)
        if isinstance(cmd, If):
            for cond, body in cmd.clauses:
                if await self._condition(cond, stdin, out, err, tty) == 0 and not self._stopping():
                    return await self.run_list(body, stdin, out, err, tty=tty)
                if self._stopping():
                    return self.last_status
            return await self.run_list(cmd.orelse, stdin, out, err, tty=tty) if cmd.orelse else 0
        if isinstance(cmd, Case):
            return await self._run_case(cmd, stdin, out, err, tty)
        if isinstance(cmd, FuncDef):
            self._spend()
            if len(self.functions) < 256 or cmd.name in self.functions:
                self.functions[cmd.name] = cmd.body
            return 0
        if isinstance(cmd, For):
            words = await self.expand_words(cmd.items) if cmd.items is not None else list(self.args)
            status = 0
            for w in words:
                self._spend()
                self.set_var(cmd.var, w)
                status = await self._loop_body(cmd.body, stdin, out, err, tty)
                if status < 0:
                    return self.last_status
            return status
        status = 0
        while True:
            self._spend()
            test = await self._condition(cmd.cond, stdin, out, err, tty)
            if (test == 0) == cmd.until or self._stopping():
                return status
            status = await self._loop_body(cmd.body, stdin, out, err, tty)
            if status < 0:
                return self.last_status
            if cmd.step is not None:
                await self.run_list(cmd.step, stdin, out, err, tty=tty)

    async def _loop_body(self, body: ListNode, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        """Run one iteration; -1 when the loop must end (``break``, ``return``, ``exit``)."""
        self._loops += 1
        try:
            status = await self.run_list(body, stdin, out, err, tty=tty)
        finally:
            self._loops -= 1
        if self._exit:
            return -1
        if self._unwind is not None and self._unwind[0] in ("break", "continue"):
            kind, levels = self._unwind
            self._unwind = (kind, levels - 1) if levels > 1 else None
            if kind == "break" or levels > 1:
                return -1
            return status
        return -1 if self._unwind is not None else status

    async def _run_group(self, cmd: Group, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        saved = self.subshell_state() if cmd.subshell else None
        io = IO(stdin, self.budget, tty=False)
        try:
            if not cmd.redirs:
                return await self.run_list(cmd.body, stdin, out, err, tty=tty)
            dests = await self._redirect(cmd.redirs, io, err)
            if dests is None:
                return 1
            status = await self.run_list(cmd.body, io.stdin, Sink(io.chunks, 1), Sink(io.chunks, 2), tty=False)
            self._route(io, dests, out, err, "bash")
            return status
        finally:
            if saved is not None:
                self.restore_state(saved)

    async def _run_case(self, cmd: Case, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        self._spend()
        value = await self.expand_one(cmd.word)
        status = 0
        falling = False
        for patterns, body, term in cmd.arms:
            if not falling:
                for pat in patterns:
                    if fnmatch.fnmatchcase(value, await self.expand_pattern(pat)):
                        break
                else:
                    continue
            status = await self.run_list(body, stdin, out, err, tty=tty) if body.items else 0
            if term == ";;" or self._stopping():
                return status
            falling = term == ";&"
        return status

    async def call_function(self, body: Command, argv: list[str], io: IO) -> int:
        """Run a shell function with ``$1``... set, ``local`` variables undone and ``return`` caught."""
        if self._calls >= MAX_CALLS:  # `f() { f; }; f`: bash recurses until it segfaults
            self.last_status = 139
            if not self.frames[0].interactive:
                self._exit = True
            raise Stop
        saved_args, frame = self.args, self.frame
        self.args = argv[1:65]
        self.frames.append(Frame(frame.name, frame.style, frame.kind, frame.lineno, frame.base, True))
        self._locals.append({})
        self._calls += 1
        try:
            status = await self._run_command(body, io.stdin, Sink(io.chunks, 1), Sink(io.chunks, 2), io.tty)
            if self._unwind is not None and self._unwind[0] == "return":
                status = self._unwind[1]
                self._unwind = None
            return status
        finally:
            self._calls -= 1
            self.frames.pop()
            self.args = saved_args
            for name, old in self._locals.pop().items():
                if old is None:
                    self.env.pop(name, None)
                else:
                    self.env[name] = old

    async def _run_simple(self, cmd: Simple, stdin: str, out: Sink, err: Sink, tty: bool) -> int:
        self._spend()
        self.frame.lineno = cmd.line
        self.subst_status = None
        argv = await self.expand_words(cmd.words)
        if argv and self.aliases and self.frames[0].interactive and cmd.words[0].plain() in self.aliases:
            argv = self.aliases[argv[0]].split() + argv[1:]  # alias expansion: login shell only
        prefix: dict[str, str | None] = {}  # `IFS=: read a b`, `LANG=C cmd`: for this command only
        traced: list[str] = []
        for name, value in cmd.assigns:
            if argv and "[" not in name:
                prefix.setdefault(name, self.env.get(name))
            text = await self.expand_one(value)
            self.set_var(name, text)
            traced.append(f"{name}={_xquote(text)}")
        for name, items in cmd.arrays:
            values = await self.expand_words(items)
            if name in self.arrays or len(self.arrays) < 64:
                self.arrays[name] = {i: v[:4096] for i, v in enumerate(values[:1024])}
                self.env.pop(name, None)
        empty_status = self.subst_status if self.subst_status is not None else 0
        io = IO(stdin, self.budget, tty=tty)
        dests = await self._redirect(cmd.redirs, io, err)
        if dests is None:
            return 1
        if dests.get(1, "out") != "out":
            io.tty = False
        self.command_text = cmd.text
        if "x" in self.options:  # set -x: the command as it will run, before its redirections
            lines = traced if not argv else [" ".join(map(_xquote, argv))]
            err.write("".join(f"+ {line}\n" for line in lines))
        if argv and argv[0] != "read" and id(stdin) in self._consumed:
            io.stdin = stdin[self._consumed[id(stdin)][1] :]  # what `read` left of a shared input
        try:
            status = await self.exec_argv(argv, io, cmd.text) if argv else empty_status
        finally:
            for name, old in prefix.items():
                if old is None:
                    self.env.pop(name, None)
                else:
                    self.env[name] = old
        prog = argv[0].rsplit("/", 1)[-1] if argv else "bash"
        if self._route(io, dests, out, err, prog):
            status = status or 1
        return status

    async def _redirect(self, redirs: list[Redir], io: IO, err: Sink) -> dict[int, str] | None:
        """Open redirections in order: fd -> "out", "err", "null" or a file path. None on failure."""
        dests: dict[int, str] = {1: "out", 2: "err"}
        for r in redirs:
            if r.op == "<<":
                io.stdin = await self.expand_one(r.body) if r.body is not None else ""
                continue
            if r.op == "<<<":
                io.stdin = await self.expand_one(r.target) + "\n"
                continue
            fields = await self.expand_words([r.target])
            if len(fields) != 1:
                err.write(f"{self.frame.prefix()}{r.target.raw}: ambiguous redirect\n")
                return None
            target = fields[0]
            try:
                if r.op == "<":
                    io.stdin = decode(self.fs.read(target, self.cwd))
                    continue
                if r.op == "<&":
                    continue
                if r.op == ">&" and (target.isdigit() or target == "-"):
                    dests[r.fd] = dests.get(int(target), "null") if target.isdigit() else "null"
                    continue
                path = self.fs.resolve(target, self.cwd)
                if path == "/dev/null":
                    dest = "null"
                elif path in ("/dev/stderr", "/dev/fd/2"):
                    dest = dests[2]
                elif path in ("/dev/stdout", "/dev/fd/1", "/dev/tty"):
                    dest = dests[1] if path != "/dev/tty" else "out"
                else:
                    self.fs.write(path, "/", b"", append=r.op in (">>", "&>>"))
                    dest = path
            except FSError as e:
                err.write(f"{self.frame.prefix()}{target}: {e.strerror}\n")
                return None
            if r.op in ("&>", ">&", "&>>"):
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

    # --- state helpers for builtins ------------------------------------------------------------------------------

    def unwind(self, kind: str, value: int) -> None:
        """``return N`` / ``break N`` / ``continue N``: stop running lists until caught."""
        self._unwind = (kind, value)

    @property
    def in_loop(self) -> bool:
        return self._loops > 0

    def read_line(self, io: IO) -> tuple[str, bool]:
        """Next line of the command's input for ``read``, consumed: a loop's ``read`` reads the same
        stream each time round (``while read l; do ...; done < file``). Returns (line, had newline)."""
        text = io.stdin
        key = id(text)
        _, off = self._consumed.get(key, (text, 0))
        end = text.find("\n", off)
        line = text[off:] if end < 0 else text[off:end]
        if len(self._consumed) < 1024 or key in self._consumed:
            self._consumed[key] = (text, len(text) if end < 0 else end + 1)
        return line, end >= 0

    def make_local(self, name: str) -> None:
        """``local NAME``: the variable's old value comes back when the function returns."""
        if self._locals and name not in self._locals[-1] and len(self._locals[-1]) < MAX_LOCALS:
            self._locals[-1][name] = self.env.get(name)

    def arith(self, expr: str) -> str:
        """``let``/``((...))``: evaluate, assigning as it goes."""
        return self._arith(expr)
