# SPDX-License-Identifier: MIT
"""The fake shell: bash's behaviour on the emulated Debian machine, for one session.

Why an interpreter and not a sandbox: nothing the attacker types may run on the host. Input is
parsed by :mod:`honeyfarm.sensor.shell.parse`, words expanded by :mod:`honeyfarm.sensor.shell.words`,
run by :mod:`honeyfarm.sensor.shell.execute`, and every command is a Python coroutine working on the
session's virtual filesystem (:mod:`honeyfarm.sensor.shell.fs.vfs`). No host path, ``eval``/``exec`` or
subprocess is ever reached. Each input gets a budget (simple commands run, characters written,
seconds slept, nesting of ``$(...)``/``sh -c``/functions), so no input can make the sensor loop,
recurse or allocate without bound.

Three entry points, because bash answers differently in each (:mod:`honeyfarm.sensor.shell.diag`):
:meth:`Shell.run_line` is a login shell at a prompt (``-bash: foo: command not found``, ``[1] 4730``
job lines, ``logout``), :meth:`Shell.run_exec` is ``bash -c`` for an SSH exec request (``bash: line
1: ...`` on stderr, no job lines), :meth:`Shell.run_script` is a script read from input
(``echo cmd | ssh host``, ``bash -s``). Output comes back as ordered (fd, text) chunks. With the
persona's ``flavor = "busybox"`` the shell answers as BusyBox ash (``-sh: foo: not found``).
"""

from __future__ import annotations

import posixpath
import re
import time
from dataclasses import dataclass, field

from honeyfarm.sensor.model import ShellContext
from honeyfarm.sensor.shell.commands import builtins as commands_shell
from honeyfarm.sensor.shell.commands import flow as commands_flow
from honeyfarm.sensor.shell.commands import net as commands_net
from honeyfarm.sensor.shell.commands import sys as commands_sys
from honeyfarm.sensor.shell.commands import text as commands_text
from honeyfarm.sensor.shell.commands.base import COMMANDS, IO, Budget, CommandFn, decode
from honeyfarm.sensor.shell.diag import ExpandAbort, Frame, ParseError, rewrite_builtin
from honeyfarm.sensor.shell.execute import Executor, Sink, Stop
from honeyfarm.sensor.shell.fs.vfs import FSError, SessionFS, normpath
from honeyfarm.sensor.shell.history import expand_history
from honeyfarm.sensor.shell.nodes import Command
from honeyfarm.sensor.shell.parse import Parser, incomplete
from honeyfarm.sensor.shell.persona import Persona
from honeyfarm.sensor.shell.words import SubshellState

__all__ = ["Result", "Shell"]
_LOADED = (commands_flow, commands_net, commands_shell, commands_sys, commands_text)  # they register their commands
MAX_DEPTH = 8  # nesting of $(...), sh -c, eval and scripts
MAX_ENV = 256
MAX_HISTORY = 500
MAX_SCRIPT = 1 << 20  # characters of a script read from input
_RUNS_OTHERS = frozenset({"eval", "source", ".", "command", "builtin", "exec"})
_ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"


@dataclass
class Result:
    """What one input line (or exec command, or script) printed, its exit status, and whether the
    session ends. ``chunks`` keeps stdout (1) and stderr (2) apart, in order; ``output`` is both."""

    output: str
    status: int = 0
    exit: bool = False
    chunks: list[tuple[int, str]] = field(default_factory=list)


class Shell(Executor):
    """One bash session on the persona's machine: a login shell at a prompt (:meth:`run_line`),
    ``bash -c`` for an SSH exec (:meth:`run_exec`), or a script read from input (:meth:`run_script`)."""

    def __init__(self, ctx: ShellContext, persona: Persona, fs: SessionFS, *, max_line_bytes: int) -> None:
        self.ctx = ctx
        self.persona = persona
        self.fs = fs
        self.account = ctx.account
        self.max_line_bytes = max_line_bytes
        self.tty = "pts/0"
        self.login_time = persona.now()
        self.started = time.monotonic()
        home = self.account.home
        self.cwd = home if fs.is_dir(home) else "/"
        self.flavor: str = getattr(persona.cfg, "flavor", "debian")
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
            "_": "/usr/bin/env",
        }
        if self.flavor == "busybox":  # a router's login: ash, BusyBox's default PATH, no bash variables
            self.env.update(SHELL="/bin/sh", PATH="/usr/sbin:/usr/bin:/sbin:/bin")
            for name in ("HOSTNAME", "MAIL", "LANG"):
                self.env.pop(name, None)
        self.history: list[str] = []
        self._script_buf = ""  # run_script_line: lines of an incomplete command
        self._script_lines = 0  # run_script_line: lines run so far (bash's line numbers go on)
        self.command_text = ""  # source text of the simple command being run (for download events)
        self.last_status = 0
        self.last_bg_pid = 0
        self.pid = persona.bash_pid
        self._next_pid = self.pid + 2
        self._depth = 0
        self._exit = False
        self._unwind: tuple[str, int] | None = None
        self._calls = 0
        self._loops = 0
        self._locals: list[dict[str, str | None]] = []
        self.args: list[str] = []
        self.arrays: dict[str, dict[int, str]] = {}
        self.subst_status: int | None = None
        self._consumed: dict[int, tuple[str, int]] = {}  # stdin text id -> (text, offset read so far)
        self.functions: dict[str, Command] = {}
        self.options: set[str] = set()  # set -e / -u / -x ... (letters)
        self._cond = 0  # inside an if/while condition, `!`, or before && / ||: set -e does not fire
        self.aliases: dict[str, str] = {}  # the login shell's, set by run_line
        self._bashrc_aliases = {} if self.account.uid == 0 or self.flavor == "busybox" else dict(commands_shell.ALIASES)
        self.jobs: list[tuple[int, str, int]] = []
        self._seen_jobs = 0
        self.frames: list[Frame] = [self._frame("tty")]
        self.budget = Budget()
        self._term_err = Sink([], 2)
        self._users = {u.uid: u.name for u in reversed(persona.all_users(self.account))}
        self._groups: dict[int, str] = {}
        for line in persona.group(self.account).splitlines():
            name, _, gid, *_rest = line.split(":")
            self._groups.setdefault(int(gid), name)

    # --- public API ----------------------------------------------------------------------------------------------

    @staticmethod
    def incomplete(text: str) -> bool:
        """Whether the typed text needs more lines before it can run (bash would print PS2 ``> ``):
        an open quote, ``if``/``for``/``{``... without its end, a here-document, a trailing ``|``."""
        return incomplete(text)

    def prompt(self) -> str:
        if self.flavor == "busybox":
            return "# " if self.account.uid == 0 else "$ "
        return f"{self.account.name}@{self.persona.hostname}:{self.short_cwd()}{'#' if self.account.uid == 0 else '$'} "

    async def run_line(self, line: str) -> Result:
        """One line typed at an interactive login shell (pty or Telnet): ``-bash: ...`` errors."""
        line = self._cap(line.rstrip("\r\n"))
        if not line.strip():
            return Result("", self.last_status, chunks=[])
        self.ctx.emit("cowrie.command.input", command=line)
        shown = ""
        if self.flavor != "busybox" and "!" in line:  # history expansion, before anything else
            expanded, changed, error = expand_history(line, self.history)
            if error is not None:
                text = f"{self._frame('tty').name}: {error}\n"
                return Result(text, self.last_status, chunks=[(2, text)])
            if changed:
                line, shown = expanded, expanded + "\n"  # bash shows the line it will run
        self._remember(line)
        if self._bashrc_aliases:  # the login shell read ~/.bashrc
            self.aliases.update(self._bashrc_aliases)
            self._bashrc_aliases = {}
        # typed with its newline: a missing word before it is `newline'
        res = await self._run_top(line + "\n", self._frame("tty"), "", tty=True)
        if shown:
            res.chunks.insert(0, (1, shown))
            res.output = shown + res.output
        done = self._reap()
        if done:
            res.chunks.append((2, done))
            res.output += done
        return res

    def _reap(self) -> str:
        """Bash's ``[1]+  Done  cmd`` notices for jobs started before this line (they have ended by now)."""
        old, self.jobs = self.jobs[: self._seen_jobs], self.jobs[self._seen_jobs :]
        self._seen_jobs = len(self.jobs)
        if not old:
            return ""
        numbers = sorted([n for n, _, _ in old] + [n for n, _, _ in self.jobs])
        marks = {numbers[-1]: "+", **({numbers[-2]: "-"} if len(numbers) > 1 else {})}
        return "".join(
            f"[{n}]{marks.get(n, ' ')}  {'Done' if st == 0 else f'Exit {st}':<24}{cmd}\n" for n, cmd, st in old
        )

    async def run_exec(self, command: str, stdin: str = "") -> Result:
        """An SSH exec request: ``bash -c COMMAND`` (non-interactive: ``bash: line N: ...`` on stderr,
        no job lines, no ``logout``). ``stdin`` is what the client sent on the channel."""
        command = self._cap(command)
        self.ctx.emit("cowrie.command.input", command=command)
        self._remember(command)
        src = command if command.endswith("\n") else command + "\n"  # bash -c reads as if a newline ended it
        return await self._run_top(src, self._frame("c"), stdin[:MAX_SCRIPT], tty=False)

    async def run_script(self, src: str, stdin: str = "", name: str = "bash") -> Result:
        """A whole script read from input (``sh``/``bash -s`` fed by a channel): ``bash: line N: ...``
        (``sh: N: ...`` for ``sh``). Each line is logged as a command, as Cowrie does."""
        return await self._script(src[:MAX_SCRIPT], stdin[:MAX_SCRIPT], name, 0)

    async def run_script_line(self, line: str, name: str = "bash") -> Result:
        """One line of a script arriving on a pipe (a shell channel without a pty: ``echo cmd | ssh
        host``), as bash reads it: lines gather until a command is complete (an open ``if`` or
        here-document waits for more), line numbers run on across calls, ``exit`` sets
        ``Result.exit``. Call :meth:`end_script` at end of input."""
        self._script_buf += line if line.endswith("\n") else line + "\n"
        if len(self._script_buf) < MAX_SCRIPT and incomplete(self._script_buf):
            return Result("", self.last_status, chunks=[])
        return await self.end_script(name)

    async def end_script(self, name: str = "bash") -> Result:
        """Run what :meth:`run_script_line` still holds (at end of input an open construct is a
        syntax error, as in bash)."""
        src, self._script_buf = self._script_buf, ""
        if not src:
            return Result("", self.last_status, chunks=[])
        base, self._script_lines = self._script_lines, self._script_lines + src.count("\n")
        return await self._script(src, "", name, base)

    async def _script(self, src: str, stdin: str, name: str, base: int) -> Result:
        for text in src.splitlines()[:256]:
            if text.strip():
                self.ctx.emit("cowrie.command.input", command=self._cap(text))
                self._remember(text)
        frame = self._frame("stdin")
        if self.flavor != "busybox" and posixpath.basename(name) in ("sh", "dash"):
            frame = Frame("sh", "dash", "stdin")
        frame.base = base
        return await self._run_top(src, frame, stdin, tty=False)

    # --- running -------------------------------------------------------------------------------------------------

    def _frame(self, kind: str) -> Frame:
        if self.flavor == "busybox":
            return Frame("-sh" if kind == "tty" else "sh", "ash", kind)
        return Frame("-bash" if kind == "tty" else "bash", "bash", kind)

    def _cap(self, line: str) -> str:
        data = line.encode("utf-8", "surrogatepass")
        if len(data) > self.max_line_bytes:
            return data[: self.max_line_bytes].decode("utf-8", "ignore")
        return line

    async def _run_top(self, src: str, frame: Frame, stdin: str, *, tty: bool) -> Result:
        self.budget = Budget()
        self._exit = False
        self._unwind = None
        chunks: list[tuple[int, str]] = []
        self._term_err = Sink(chunks, 2)
        self._consumed = {}
        self._cond = 0
        self.frames = [frame]
        status = await self._run_parsed(src, stdin, Sink(chunks, 1), Sink(chunks, 2), tty)
        self.last_status = status
        clean = [(fd, _clean(t)) for fd, t in chunks]
        return Result("".join(t for _, t in clean), status, self._exit, clean)

    async def _run_parsed(self, src: str, stdin: str, out: Sink, err: Sink, tty: bool, *, fatal: bool = True) -> int:
        """Parse and run ``src`` one complete command at a time, as bash does (a syntax error on
        line 3 still lets lines 1 and 2 run). Runs in the current frame."""
        parser = Parser(src)
        status = self.last_status
        while not self._exit:
            try:
                node = parser.next_command()
            except ParseError as e:
                err.write(self.frame.syntax(e, src))
                self.last_status = 2
                if fatal and not self.frame.interactive:
                    self._exit = True  # a script with a syntax error stops there (not `eval`)
                return 2
            for warning in parser.warnings:
                line = self.frame.base + src.count("\n") + (0 if src.endswith("\n") else 1)
                where = self.frame.name + ": " if self.frame.interactive else f"{self.frame.name}: line {line}: "
                err.write(f"{where}{warning}\n")
            parser.warnings.clear()
            if node is None:
                break
            try:
                status = await self.run_list(node, stdin, out, err, tty=tty)
            except Stop:
                status = self.last_status
                break
            except ExpandAbort:
                status = self.last_status
                if not self.frame.interactive:
                    break
            if self._unwind is not None:
                kind, _ = self._unwind
                if kind != "return" or self._calls == 0:
                    self._unwind = None
                if kind == "return":
                    break
        return status

    # --- helpers for commands ------------------------------------------------------------------------------------

    @property
    def login_shell(self) -> bool:
        """The typed line itself runs at the login prompt (``exit`` prints ``logout``)."""
        return len(self.frames) == 1 and self.frames[0].interactive and self._depth == 0

    def prefix(self) -> str:
        """Prefix of a shell diagnostic right now (``-bash: ``, ``bash: line 2: ``, ``sh: 1: ``)."""
        return self.frame.prefix()

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

    async def run_subshell(
        self, src: str, io: IO, name: str, *, kind: str = "c", args: list[str] | None = None, style: str = ""
    ) -> int:
        """A child shell (``sh -c``, ``bash script``, ``./script``, ``curl | sh``): cwd, variables,
        functions and ``exit`` stay inside; its errors carry its own name (``sh: 1: ``, ``s.sh: line 1: ``)."""
        prog = posixpath.basename(name)
        if not style:
            style = "ash" if self.flavor == "busybox" else "dash" if prog in ("sh", "dash", "ash") else "bash"
        shown = name if kind == "file" else ("sh" if style != "bash" else "bash")
        if self._depth >= MAX_DEPTH:
            io.err(f"{shown}: maximum nesting level exceeded\n")
            return 1
        saved = self.subshell_state()
        self.options = set()  # a new shell process: no set -e/-x from the parent
        self.frames = [*self.frames, Frame(shown, style, kind)]
        self.args = list(args or [])[:64]
        if style == "bash" and self.env.get("SHLVL", "").isdigit():
            self.env["SHLVL"] = str(int(self.env["SHLVL"][:6]) + 1)  # dash leaves it alone
        self._depth += 1
        try:
            return await self._run_parsed(src, io.stdin, Sink(io.chunks, 1), Sink(io.chunks, 2), io.tty)
        finally:
            self._depth -= 1
            self.restore_state(saved)

    def subshell_state(self) -> SubshellState:
        """What a subshell may change but not pass back: cwd, variables, functions, ``exit``..."""
        return SubshellState(
            self.cwd, dict(self.env), dict(self.functions), self.args, self._exit, self._unwind, list(self.frames),
            {k: dict(v) for k, v in self.arrays.items()}, set(self.options),
        )  # fmt: skip

    def restore_state(self, state: SubshellState) -> None:
        self.cwd, self.env, self.functions, self.args = state.cwd, state.env, state.functions, state.args
        self._exit, self._unwind, self.frames = state.exiting, state.unwind, state.frames
        self.arrays, self.options = state.arrays, state.options

    def set_var(self, name: str, value: str) -> None:
        base, bracket, index = name.partition("[")
        if bracket:  # a[3]=x
            arr = self.arrays.setdefault(base, {}) if base in self.arrays or len(self.arrays) < 64 else {}
            if len(arr) < 1024:
                arr[self.index(index.rstrip("]"))] = value[:4096]
            return
        if name in self.arrays:
            self.arrays[name][0] = value[:4096]
            return
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

    async def run_source(self, src: str, io: IO, name: str = "bash", frame: Frame | None = None) -> int:
        """Script text run by the current shell (``eval``, ``$(...)``, ``. file`` with ``frame``)."""
        if self._depth >= MAX_DEPTH:
            io.err(f"{self.prefix()}maximum nesting level exceeded\n")
            return 1
        cur = self.frame
        if frame is None:
            frame = Frame(cur.name, cur.style, cur.kind, 1, cur.base + cur.lineno - 1, cur.in_function)
            frame.label = "eval" if name == "eval" else ""
        src = src if src.endswith("\n") else src + "\n"
        self.frames.append(frame)
        self._depth += 1
        try:
            return await self._run_parsed(src, io.stdin, Sink(io.chunks, 1), Sink(io.chunks, 2), io.tty, fatal=False)
        finally:
            self._depth -= 1
            self.frames.pop()

    async def exec_argv(self, argv: list[str], io: IO, text: str) -> int:
        """Run one command by name (functions, builtins, then PATH, or a path), as bash would."""
        name = argv[0]
        body = self.functions.get(name)
        if body is not None:
            return await self.call_function(body, argv, io)
        fn: CommandFn | None = COMMANDS.get(name) if name in commands_shell.BUILTINS else None
        if fn is not None:
            if name in _RUNS_OTHERS:  # their messages come from what they ran, already worded
                return await fn(self, argv, io)
            first = len(io.chunks)
            status = await fn(self, argv, io)
            io.chunks[first:] = [(fd, rewrite_builtin(t, self.frame) if fd == 2 else t) for fd, t in io.chunks[first:]]
            return status
        if "/" in name:
            return await self._exec_path(argv, io, text)
        path = self.find_in_path(name)
        if path is None:
            io.err(self.frame.not_found(name))
            self.ctx.emit("cowrie.command.failed", command=text)
            return 127
        real = self.fs.resolve(path)
        fn = COMMANDS.get(name) or COMMANDS.get(posixpath.basename(real))
        if fn is None:
            return await commands_shell.generic(self, argv, io)
        return await fn(self, argv, io)

    async def _exec_path(self, argv: list[str], io: IO, text: str) -> int:
        name = argv[0]
        pre = self.prefix()
        try:
            real, node = self.fs.lookup(name, self.cwd)
        except FSError as e:
            missing = e.strerror == "No such file or directory"
            ash = missing and self.frame.style != "bash"
            io.err(self.frame.not_found(name) if ash else f"{pre}{name}: {e.strerror}\n")
            return 127 if missing else 126
        if node.kind == "d":
            io.err(f"{pre}{name}: Is a directory\n")
            return 126
        if not self.fs.can_execute(node):
            io.err(f"{pre}{name}: Permission denied\n")
            return 126
        if self.fs.is_base(real):
            # The file decides what runs (`ln -sf /usr/sbin/sshd /tmp/su; /tmp/su` is sshd), except for
            # BusyBox, a multi-call binary that dispatches on the name it was called by.
            names = [posixpath.basename(real), posixpath.basename(name)]
            if names[0] == "busybox":
                names.reverse()
            fn: CommandFn | None = COMMANDS.get(names[0]) or COMMANDS.get(names[1])
            return await (fn or commands_shell.generic)(self, argv, io)
        head = node.content()
        if head.startswith(b"\x7fELF"):
            if head[18:20] in (b"\x3e\x00", b"\x03\x00"):
                io.err("Segmentation fault\n")
                return 139
            io.err(f"{pre}{name}: cannot execute binary file: Exec format error\n")
            return 126
        if b"\0" in head[:1024]:
            io.err(f"{pre}{name}: cannot execute binary file: Exec format error\n")
            return 126
        first = head.split(b"\n", 1)[0]
        if first.startswith(b"#!") and not re.search(rb"\b(sh|bash|dash|ash)\b", first):
            return 0
        bash = not first.startswith(b"#!") or b"bash" in first
        style = "" if self.flavor == "busybox" else "bash" if bash else "dash"
        return await self.run_subshell(decode(head), io, name, kind="file", args=argv[1:], style=style)

    def _remember(self, line: str) -> None:
        self.history.append(line[:4096])
        if len(self.history) > MAX_HISTORY:
            del self.history[0]


def _clean(text: str) -> str:
    """Output fit for the trap: lone surrogates (raw bytes) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
