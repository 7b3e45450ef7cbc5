# SPDX-License-Identifier: MIT
"""The ``sed`` command (GNU sed 4.9): the part of the language bots use.

Covered: ``s///`` with flags ``g``, ``i``/``I``, ``p`` and a number, any delimiter, ``&`` and
``\\1``-``\\9``; commands ``p d q Q = y a i c {} n N P D h H g G x : b t T`` and ``!``;
addresses ``N``, ``first~step``, ``$``, ``/re/`` and ranges; options ``-n -e -E -r -i[SUF] -s``.
``-i`` rewrites files in the session's overlay only. Patterns are time-bounded
(:mod:`honeyfarm.sensor.shell.posixre`) and every command run costs a step (see sed_run).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.shell.commands.base import IO, command, decode, encode
from honeyfarm.sensor.shell.commands.sed_run import run_script
from honeyfarm.sensor.shell.fs.vfs import FSError
from honeyfarm.sensor.shell.posixre import Pattern, PatternError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

USAGE = """Usage: sed [OPTION]... {script-only-if-no-other-script} [input-file]...

  -n, --quiet, --silent
                 suppress automatic printing of pattern space
      --debug
                 annotate program execution
  -e script, --expression=script
                 add the script to the commands to be executed
  -f script-file, --file=script-file
                 add the contents of script-file to the commands to be executed
  --follow-symlinks
                 follow symlinks when processing in place
  -i[SUFFIX], --in-place[=SUFFIX]
                 edit files in place (makes backup if SUFFIX supplied)
  -l N, --line-length=N
                 specify the desired line-wrap length for the `l' command
  --posix
                 disable all GNU extensions.
  -E, -r, --regexp-extended
                 use extended regular expressions in the script
                 (for portability use POSIX -E).
  -s, --separate
                 consider files as separate rather than as a single,
                 continuous long stream.
      --sandbox
                 operate in sandbox mode (disable e/r/w commands).
  -u, --unbuffered
                 load minimal amounts of data from the input files and flush
                 the output buffers more often
  -z, --null-data
                 separate lines by NUL characters
      --help     display this help and exit
      --version  output version information and exit

If no -e, --expression, -f, or --file option is given, then the first
non-option argument is taken as the sed script to interpret.  All
remaining arguments are names of input files; if no input files are
specified, then the standard input is read.

GNU sed home page: <https://www.gnu.org/software/sed/>.
General help using GNU software: <https://www.gnu.org/gethelp/>.
"""


class SedError(Exception):
    """A script error; the message is GNU sed's (``-e expression #1, char N: ...``)."""


@dataclass
class Cmd:
    name: str
    addr1: Any = None  # int, "$", or Pattern
    addr2: Any = None
    negate: bool = False
    arg: Any = None
    active: bool = False  # inside an addr1,addr2 range
    block_end: int = 0  # for "{": index of the matching "}"
    extra: dict[str, Any] = field(default_factory=dict)


class Script:
    """Parse a sed script into a flat list of commands."""

    def __init__(self, text: str, extended: bool) -> None:
        self.s = text
        self.i = 0
        self.ext = extended
        self.cmds: list[Cmd] = []

    def err(self, msg: str) -> SedError:
        return SedError(f"-e expression #1, char {self.i}: {msg}")

    def delimited(self, delim: str) -> str:
        out = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\\" and self.i + 1 < len(self.s):
                nxt = self.s[self.i + 1]
                out.append(nxt if nxt == delim else "\\n" if nxt == "n" else c + nxt)
                self.i += 2
                continue
            if c == delim:
                self.i += 1
                return "".join(out)
            if c == "\n" and delim != "\n":
                break
            out.append(c)
            self.i += 1
        raise self.err("unterminated `s' command" if delim else "unterminated address regex")

    def regex(self, src: str, icase: bool = False) -> Pattern:
        try:
            return Pattern(src, extended=self.ext, icase=icase)
        except PatternError as e:
            raise self.err(str(e)) from None

    def address(self) -> Any:
        s = self.s
        if self.i < len(s) and s[self.i].isdigit():
            j = self.i
            while j < len(s) and s[j].isdigit():
                j += 1
            n = int(s[self.i : j])
            self.i = j
            if s[j : j + 1] == "~":
                k = j + 1
                while k < len(s) and s[k].isdigit():
                    k += 1
                step = int(s[j + 1 : k] or 0)
                self.i = k
                return ("step", n, step)
            return n
        if self.i < len(s) and s[self.i] == "$":
            self.i += 1
            return "$"
        if self.i < len(s) and s[self.i] in "/\\":
            delim = "/"
            if s[self.i] == "\\":
                self.i += 1
                delim = s[self.i : self.i + 1]
            self.i += 1
            src = self.delimited(delim)
            icase = self.i < len(s) and s[self.i] == "I"
            self.i += icase
            return self.regex(src, icase)
        return None

    def parse(self) -> list[Cmd]:
        stack: list[int] = []
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\n;":
                self.i += 1
                continue
            cmd = Cmd("")
            cmd.addr1 = self.address()
            if cmd.addr1 is not None and self.i < len(s) and s[self.i] == ",":
                self.i += 1
                cmd.addr2 = self.address()
                if cmd.addr2 is None:
                    raise self.err("unexpected `,'")
            while self.i < len(s) and s[self.i] in " \t":
                self.i += 1
            if self.i < len(s) and s[self.i] == "!":
                cmd.negate = True
                self.i += 1
            if self.i >= len(s):
                raise self.err("missing command")
            name = s[self.i]
            self.i += 1
            cmd.name = name
            if name == "{":
                stack.append(len(self.cmds))
            elif name == "}":
                if not stack:
                    raise self.err("unexpected `}'")
                self.cmds[stack.pop()].block_end = len(self.cmds)
            elif name == "s":
                self.parse_s(cmd)
            elif name == "y":
                delim = s[self.i : self.i + 1]
                self.i += 1
                a, b = self.delimited(delim), self.delimited(delim)
                if len(a) != len(b):
                    raise self.err("strings for `y' command are different lengths")
                cmd.arg = dict(zip(a, b, strict=True))
            elif name in "aic":
                rest = s[self.i :].split("\n", 1)[0]
                self.i += len(rest)
                cmd.arg = rest[1:] if rest.startswith("\\") else rest.lstrip()
            elif name in "qQ":
                j = self.i
                while j < len(s) and s[j].isdigit():
                    j += 1
                cmd.arg = int(s[self.i : j] or 0)
                self.i = j
            elif name in "wr:btT":
                rest = s[self.i :].split("\n", 1)[0]
                if name in ":btT":  # GNU: a label ends at ';' (and a branch's at '}')
                    rest = rest.split(";", 1)[0]
                    if name != ":":
                        rest = rest.split("}", 1)[0]
                self.i += len(rest)
                cmd.arg = rest.strip()
                if name == ":" and not cmd.arg:
                    raise self.err('":" lacks a label')
            elif name not in "pdPDnNhHgGxl=#":
                raise self.err(f"unknown command: `{name}'")
            if name == "#":
                self.i = s.find("\n", self.i) if "\n" in s[self.i :] else len(s)
                continue
            self.cmds.append(cmd)
        if stack:
            raise self.err("unmatched `{'")
        return self.cmds

    def parse_s(self, cmd: Cmd) -> None:
        if self.i >= len(self.s):
            raise self.err("unterminated `s' command")
        delim = self.s[self.i]
        self.i += 1
        pat, repl = self.delimited(delim), self.delimited(delim)
        count, glob, pr, icase = 1, False, False, False
        while self.i < len(self.s) and self.s[self.i] not in ";\n}":
            f = self.s[self.i]
            if f == "g":
                glob = True
            elif f == "p":
                pr = True
            elif f in "iI":
                icase = True
            elif f.isdigit():
                j = self.i
                while j < len(self.s) and self.s[j].isdigit():
                    j += 1
                count = int(self.s[self.i : j])
                self.i = j - 1
            elif f in " \t":
                pass
            elif f == "w":
                self.i = len(self.s)
                break
            else:
                raise self.err("unknown option to `s'")
            self.i += 1
        cmd.arg = (self.regex(pat, icase), repl, count, glob, pr)


@command("sed")
async def sed(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    scripts: list[str] = []
    files: list[str] = []
    quiet = extended = False
    inplace: str | None = None
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            files.extend(args[i:])
            break
        if a in ("-n", "--quiet", "--silent"):
            quiet = True
        elif a in ("-E", "-r", "--regexp-extended"):
            extended = True
        elif a in ("-e", "--expression") and i < len(args):
            scripts.append(args[i])
            i += 1
        elif a.startswith("-e") and len(a) > 2:
            scripts.append(a[2:])
        elif a.startswith("-i") or a.startswith("--in-place"):
            inplace = a[2:] if a.startswith("-i") else a.partition("=")[2]
        elif a in ("-s", "-u", "--posix", "-z") or a.startswith("-l"):
            continue
        elif a.startswith("-") and len(a) > 1 and all(ch in "nEris" for ch in a[1:]):
            quiet = quiet or "n" in a
            extended = extended or "E" in a or "r" in a
            inplace = "" if "i" in a else inplace
        elif a.startswith("-") and len(a) > 1:
            io.err(f"sed: invalid option -- '{a[1]}'\nUsage: sed [OPTION]... {{script-only-if-no-other-script}} "
                   "[input-file]...\n\n")  # fmt: skip
            return 1
        else:
            files.append(a)
    if not scripts:
        if not files:
            io.err(USAGE)
            return 1
        scripts.append(files.pop(0))
    try:
        cmds = Script("\n".join(scripts), extended).parse()
    except SedError as e:
        io.err(f"sed: {e}\n")
        return 1
    if inplace is not None:
        if not files:
            io.err("sed: no input files\n")
            return 1
        status = 0
        for f in files:
            try:
                text = decode(sh.fs.read(f, sh.cwd))
                out: list[str] = []
                _run(cmds, text, quiet, out)
                sh.fs.write(f, sh.cwd, encode("".join(out)))
            except FSError as e:
                io.err(f"sed: can't read {f}: {e.strerror}\n")
                status = 2
            except PatternError:
                status = 4
        return status
    texts: list[str] = []
    status = 0
    for f in files or ["-"]:
        if f == "-":
            texts.append(io.stdin)
            continue
        try:
            texts.append(decode(sh.fs.read(f, sh.cwd)))
        except FSError as e:
            io.err(f"sed: can't read {f}: {e.strerror}\n")
            status = 2
    out = []
    try:
        code = await asyncio.to_thread(_run, cmds, "".join(texts), quiet, out)  # CPU work off the event loop
    except PatternError:
        code = 4
    io.out("".join(out))
    return code if code is not None else status


def _run(cmds: list[Cmd], text: str, quiet: bool, out: list[str]) -> int | None:
    lines = text.split("\n")
    trailing = lines[-1] == ""
    if trailing:
        lines.pop()
    code = run_script(cmds, lines, quiet, out)
    if out and not trailing and out[-1].endswith("\n") and text:
        out[-1] = out[-1][:-1]
    return code
