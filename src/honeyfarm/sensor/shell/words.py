# SPDX-License-Identifier: MIT
"""Word expansion of the fake shell: parameters, ``$(...)``, ``$((...))``, splitting, globbing, tilde.

A mixin of :class:`honeyfarm.sensor.shell.shell.Shell`, split out to keep modules small. It reads the
shell's state (variables, positional parameters, ``$?``) and runs command substitutions through
the shell, under the same per-line budget. Every expansion is size-capped (``MAX_WORD``).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from honeyfarm.sensor.shell import expand as shexpand
from honeyfarm.sensor.shell.commands import text as commands_text
from honeyfarm.sensor.shell.commands.base import IO, Budget
from honeyfarm.sensor.shell.diag import ExpandAbort, Frame
from honeyfarm.sensor.shell.nodes import Command, Part, Word

if TYPE_CHECKING:
    from honeyfarm.sensor.model import Account
    from honeyfarm.sensor.shell.fs.vfs import SessionFS
    from honeyfarm.sensor.shell.persona import Persona

MAX_WORD = 1 << 20
MAX_BRACE_GROUPS = 64
_ALL = re.compile(r"([A-Za-z_]\w*)\[@\]")
_ELEMENT = re.compile(r"([#!]?)([A-Za-z_]\w*)\[([^\]]{1,64})\]")
_GLOB_ESCAPE = str.maketrans({"*": "[*]", "?": "[?]", "[": "[[]"})


def _brace_words(word: Word) -> list[Word]:
    """Brace expansion (``{a,b}``, ``{1..3}``) of a word, done on its unquoted text only: quoted
    parts and expansions stand in as placeholder characters while the braces are expanded."""
    if not any(p.kind == "bare" and "{" in p.text for p in word.parts) or len(word.parts) > 64:
        return [word]
    template = "".join(p.text if p.kind == "bare" else chr(0xE000 + k) for k, p in enumerate(word.parts))
    if template.count("{") > MAX_BRACE_GROUPS or len(template) > 8192:
        return [word]  # bounded work (each group costs a scan and a level of recursion)
    expanded = shexpand.braces(template)
    if expanded is None:
        return [word]
    out: list[Word] = []
    for text in expanded:
        parts: list[Part] = []
        for piece in re.split("([\ue000-\ue040])", text):
            if len(piece) == 1 and 0xE000 <= ord(piece) <= 0xE040:
                parts.append(word.parts[ord(piece) - 0xE000])
            elif piece:
                parts.append(Part("bare", piece))
        out.append(Word(parts or [Part("lit", "", True)], text))
    return out


class SubshellState(NamedTuple):
    """The shell state a subshell (``( )``, ``$( )``, ``sh -c``) saves and puts back."""

    cwd: str
    env: dict[str, str]
    functions: dict[str, Command]
    args: list[str]
    exiting: bool
    unwind: tuple[str, int] | None
    frames: list[Frame]
    arrays: dict[str, dict[int, str]]
    options: set[str]


class ErrSink:
    """Where a command's stdout or stderr goes: a list of (fd, text) chunks."""

    def __init__(self, chunks: list[tuple[int, str]], fd: int) -> None:
        self.chunks = chunks
        self.fd = fd

    def write(self, text: str) -> None:
        if text:
            self.chunks.append((self.fd, text))


class WordExpander:
    """Expansion half of the shell (state lives in :class:`~honeyfarm.sensor.shell.shell.Shell`)."""

    env: dict[str, str]
    cwd: str
    fs: SessionFS
    persona: Persona
    account: Account
    budget: Budget
    last_status: int
    last_bg_pid: int
    pid: int
    args: list[str]
    arrays: dict[str, dict[int, str]]
    frames: list[Frame]
    options: set[str]
    started: float
    subst_status: int | None  # status of the last $(...) of the simple command being expanded
    _term_err: ErrSink

    def set_var(self, name: str, value: str) -> None:
        raise NotImplementedError

    def subshell_state(self) -> SubshellState:
        raise NotImplementedError

    def restore_state(self, state: SubshellState) -> None:
        raise NotImplementedError

    async def run_source(self, src: str, io: IO, name: str = "bash", frame: Frame | None = None) -> int:
        raise NotImplementedError

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    async def expand_words(self, words: list[Word]) -> list[str]:
        out: list[str] = []
        for word in words:
            for w in _brace_words(word):
                out.extend(await self._expand(w, split=True))
            if sum(map(len, out)) > MAX_WORD:
                break
        return out

    async def expand_one(self, word: Word) -> str:
        return " ".join(await self._expand(word, split=False))

    async def expand_pattern(self, word: Word) -> str:
        """A ``case`` pattern: quoted text matches itself, unquoted ``*?[`` are wildcards."""
        out = []
        for part in word.parts:
            if part.kind == "bare":
                out.append(part.text)
            elif part.kind in ("lit", "ansi"):
                text = commands_text.unescape(part.text, printf=True)[0] if part.kind == "ansi" else part.text
                out.append(text.translate(_GLOB_ESCAPE))
            else:
                value = await self._expand(Word([part], word.raw), split=False)
                text = " ".join(value)
                out.append(text.translate(_GLOB_ESCAPE) if part.quoted else text)
        return "".join(out)

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
            many = self._many(part.text) if part.kind == "var" and part.quoted and split else None
            if many is not None:
                if many:  # "$@", "${a[@]}": one field per element
                    cur += many[0]
                    for a in many[1:]:
                        fields.append(cur)
                        cur = a
                    have = True
                continue
            if part.kind == "var":
                value = self._var(part.text)
            elif part.kind == "arith":
                value = self._arith(part.text)
            else:
                value = await self._substitute(part.text)
            if part.quoted or not split:
                cur, have = cur + value, True
                continue
            ifs = self.env.get("IFS", shexpand.DEFAULT_IFS)
            pieces = shexpand.ifs_split(value, ifs)
            if not pieces:
                continue
            if value[0] in ifs and have:
                fields.append(cur)
                cur = ""
            cur, have = cur + pieces[0], True
            for piece in pieces[1:]:
                fields.append(cur)
                cur = piece
            if value[-1] in ifs:
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

    def _arith(self, expr: str) -> str:
        scope = dict(self.env)
        scope.update({"RANDOM": str(random.randrange(32768)), "#": str(len(self.args)), "?": str(self.last_status)})
        text = expr
        for _ in range(4):  # $x and $(( )) nested inside were left to us
            if "$" not in text:
                break
            text = "".join(
                self._var(tok[1:].strip("{}")) if tok.startswith("$") else tok
                for tok in shexpand.DOLLAR.split(text)
                if tok
            )
        value, assigned, error = shexpand.arith_full(text, scope)
        for name, v in assigned.items():
            self.set_var(name, v)
        if error:
            if self.frame.style == "bash":
                self._term_err.write(f"{self.frame.prefix()}{error}\n")
            elif self.frame.style == "dash":
                what = "division by zero" if "division by 0" in error else "expecting primary"
                self._term_err.write(f'{self.frame.prefix()}arithmetic expression: {what}: "{expr}"\n')
            else:  # BusyBox ash
                what = "divide by zero" if "division by 0" in error else "arithmetic syntax error"
                self._term_err.write(f"{self.frame.prefix()}{what}\n")
            self.last_status = 1 if self.frame.style == "bash" else 2
            raise ExpandAbort
        return value

    def _tilde(self, text: str) -> str:
        user, sep, rest = text[1:].partition("/")
        if not user:
            return self.env.get("HOME", "/") + sep + rest
        for u in self.persona.all_users(self.account):
            if u.name == user:
                return u.home + sep + rest
        return text

    def _special(self, name: str) -> str | None:
        """Bash's special and dynamic parameters (``$?``, ``$#``, ``$RANDOM``...), ``None`` for others."""
        if name.isdigit():
            n = int(name[:6])
            if n == 0:
                return self.frame.name if self.frame.kind != "tty" else "-" + self.frame.name.lstrip("-")
            return self.args[n - 1] if n <= len(self.args) else ""
        simple = {
            "?": str(self.last_status),
            "$": str(self.pid),
            "#": str(len(self.args)),
            "!": str(self.last_bg_pid) if self.last_bg_pid else "",
            "@": " ".join(self.args),
            "*": " ".join(self.args),
            "-": self._flags(),
        }
        if name in simple:
            return simple[name]
        if name in self.arrays:
            return self.arrays[name].get(0, "")
        if name in self.env:
            return None
        dynamic: dict[str, Callable[[], str]] = {
            "RANDOM": lambda: str(random.randrange(32768)),
            "PPID": lambda: str(self.pid - 2),
            "BASHPID": lambda: str(self.pid),
            "LINENO": lambda: str(self.frame.base + self.frame.lineno),
            "SECONDS": lambda: str(int(time.monotonic() - self.started)),
            "UID": lambda: str(self.account.uid),
            "EUID": lambda: str(self.account.uid),
            "BASH_VERSION": lambda: "5.2.15(1)-release",
            "BASH": lambda: "/usr/bin/bash",
            "HOSTTYPE": lambda: "x86_64",
            "OSTYPE": lambda: "linux-gnu",
            "MACHTYPE": lambda: "x86_64-pc-linux-gnu",
            "IFS": lambda: " \t\n",
            "OPTIND": lambda: "1",
            "OPTERR": lambda: "1",
            "BASH_VERSINFO": lambda: "5",
        }
        if self.frames[0].interactive:  # set by a login shell and its .bashrc only
            dynamic |= {
                "PS1": lambda: r"${debian_chroot:+($debian_chroot)}\u@\h:\w\$ ",
                "PS2": lambda: "> ",
                "HISTFILE": lambda: self.env.get("HOME", "") + "/.bash_history",
                "HISTSIZE": lambda: "500" if self.account.uid == 0 else "1000",
                "HISTFILESIZE": lambda: "500" if self.account.uid == 0 else "2000",
            }
        fn = dynamic.get(name)
        return fn() if fn is not None else None

    def _many(self, spec: str) -> list[str] | None:
        """The elements ``"$@"`` or ``"${name[@]}"`` expand to, ``None`` for any other parameter."""
        if spec == "@":
            return self.args
        m = _ALL.fullmatch(spec)
        if m is None:
            return None
        arr = self.arrays.get(m.group(1), {})
        return [arr[k] for k in sorted(arr)] if m.group(1) in self.arrays else [self.env.get(m.group(1), "")][:1]

    def _array(self, spec: str) -> str | None:
        """``${a[i]}``, ``${a[@]}``, ``${#a[@]}``, ``${!a[@]}``; ``None`` if ``spec`` names no element."""
        m = _ELEMENT.fullmatch(spec)
        if m is None:
            return None
        how, name, index = m.groups()
        arr = self.arrays.get(name)
        if arr is None and name == "BASH_VERSINFO":
            arr = dict(enumerate(("5", "2", "15", "1", "release", "x86_64-pc-linux-gnu")))
        if arr is None:
            arr = {0: self.env[name]} if name in self.env else {}
        if index in ("@", "*"):
            if how == "#":
                return str(len(arr))
            return " ".join(str(k) if how == "!" else arr[k] for k in sorted(arr))
        key = self.index(index)
        value = arr.get(key if key >= 0 else max(arr, default=-1) + 1 + key, "")
        return str(len(value)) if how == "#" else value

    def index(self, text: str) -> int:
        value, _, error = shexpand.arith_full(text, self.env)
        return int(value) if error is None else 0

    def _flags(self) -> str:
        """``$-``: the set options in bash's order, ``himBHs`` at a prompt, ``hBc`` under ``bash -c``."""
        on = set(self.options) | ({"h", "i", "m", "B", "H", "s"} if self.frames[0].interactive else {"h", "B"})
        tail = "" if self.frames[0].interactive else "c" if self.frames[0].kind == "c" else "s"
        return "".join(c for c in "abefhikmnptuvxBCEHPTs" if c in on) + tail

    def _unset(self, spec: str) -> bool:
        """``set -u``: whether ``$spec`` names a parameter that is not set (no default given)."""
        m = re.fullmatch(r"#?([A-Za-z_]\w*|[1-9]\d*)", spec)
        if m is None:
            return False
        name = m.group(1)
        if name.isdigit():
            return int(name) > len(self.args)
        return name not in self.env and name not in self.arrays and self._special(name) is None

    def _var(self, spec: str) -> str:
        if "u" in self.options and self._unset(spec):
            name = spec.lstrip("#")
            self._term_err.write(f"{self.frame.prefix()}{name}: unbound variable\n")
            self.last_status = 1 if self.frame.style == "bash" else 2
            raise ExpandAbort
        element = self._array(spec)
        if element is not None:
            return element
        name = shexpand.param_name(spec)
        head = len(name) + (1 if spec.startswith("#") and len(spec) > 1 else 0)
        if "$" in spec[head:]:  # ${x/$old/$new}, ${p#$prefix}: the operands are expanded too
            tail = "".join(
                self._var(tok[1:].strip("{}")) if tok.startswith("$") and len(tok) > 1 else tok
                for tok in shexpand.DOLLAR.split(spec[head:])
            )
            spec = spec[:head] + tail
        special: dict[str, str] = {}
        value = self._special(name)
        if value is not None:
            special[name] = value
        value, assign = shexpand.parameter(spec, self.env, special)
        if assign is not None:
            self.set_var(*assign)
        return value

    async def _substitute(self, src: str) -> str:
        io = IO("", self.budget, tty=False)
        saved = self.subshell_state()
        try:
            self.subst_status = await self.run_source(src, io, "bash")
        finally:
            self.restore_state(saved)
        for fd, text in io.chunks:
            if fd == 2:
                self._term_err.write(text)  # expansions happen before redirections: stderr reaches the terminal
        return "".join(t for fd, t in io.chunks if fd == 1).rstrip("\n")
