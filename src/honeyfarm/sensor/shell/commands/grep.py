# SPDX-License-Identifier: MIT
"""The ``grep`` command (GNU grep 3.8): real BRE/ERE/fixed matching and the flags scripts use.

``grep -c``, ``-v``, ``-o``, ``-w``, ``-q`` and ``-r`` are how bots test the machine
(``grep -c processor /proc/cpuinfo``); answering them with a substring search was a tell.
Patterns are attacker-supplied, so they go through :mod:`honeyfarm.sensor.shell.posixre`, whose
matches are time-bounded.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, command, decode, split_opts
from honeyfarm.sensor.shell.fs.vfs import FSError
from honeyfarm.sensor.shell.posixre import Pattern, PatternError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

MAX_FILES = 2000
_LONG = {"count": "c", "invert-match": "v", "ignore-case": "i", "only-matching": "o", "extended-regexp": "E",
         "fixed-strings": "F", "word-regexp": "w", "line-regexp": "x", "line-number": "n", "quiet": "q", "silent": "q",
         "recursive": "r", "files-with-matches": "l", "files-without-match": "L", "no-filename": "h",
         "with-filename": "H", "no-messages": "s", "basic-regexp": "G"}  # fmt: skip
USAGE = "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n"


def _walk(sh: Shell, path: str, found: list[str]) -> None:
    """Files under ``path`` (recursive), bounded."""
    stack = [path]
    while stack and len(found) < MAX_FILES:
        p = stack.pop()
        if sh.fs.is_dir(p, sh.cwd):
            try:
                names = sh.fs.listdir(p, sh.cwd)
            except FSError:
                found.append(p)
                continue
            for n in reversed(names):
                child = posixpath.join(p, n)
                try:
                    if sh.fs.lookup(child, sh.cwd, follow=False)[1].kind in "df":
                        stack.append(child)
                except FSError:
                    continue
        else:
            found.append(p)


class Matcher:
    def __init__(self, patterns: list[str], flags: set[str], prog: str) -> None:
        extended = "E" in flags or prog == "egrep"
        fixed = "F" in flags or prog == "fgrep"
        icase = bool(flags & {"i", "y"})
        self.pats: list[Pattern] = []
        for p in patterns:
            for alt in p.split("\n"):
                self.pats.append(Pattern(alt, extended=extended, icase=icase, literal=fixed))
        self.word = "w" in flags
        self.line = "x" in flags

    def spans(self, line: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for p in self.pats:
            for m in p.finditer(line):
                s, e = m.start(), m.end()
                if self.line and (s != 0 or e != len(line)):
                    continue
                if self.word and not _is_word(line, s, e):
                    continue
                found.append((s, e))
        found.sort()
        return found

    def hit(self, line: str) -> bool:
        if not (self.word or self.line):
            return any(p.search(line) is not None for p in self.pats)
        return bool(self.spans(line))


def _is_word(line: str, s: int, e: int) -> bool:
    def w(ch: str) -> bool:
        return ch.isalnum() or ch == "_"

    return (s == 0 or not w(line[s - 1])) and (e == len(line) or not w(line[e])) and e > s


@command("grep", "egrep", "fgrep")
async def grep(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    args: list[str] = []
    patterns: list[str] = []
    i = 1
    while i < len(argv):  # -e may repeat; split_opts keeps only the last value
        a = argv[i]
        if a == "-e" and i + 1 < len(argv):
            patterns.append(argv[i + 1])
            i += 2
            continue
        if a.startswith("--regexp="):
            patterns.append(a.partition("=")[2])
        elif a.startswith("-e") and len(a) > 2 and not a.startswith("--"):
            patterns.append(a[2:])
        else:
            args.append(a)
        i += 1
    raw_flags, values, rest = split_opts(args, with_value="fmABCd", long_value=("max-count", "color", "colour"))
    flags = {_LONG.get(f, f) for f in raw_flags}
    if "R" in flags:
        flags.add("r")
    if not patterns:
        if not rest:
            io.err(USAGE)
            return 2
        patterns = [rest.pop(0)]
    try:
        matcher = Matcher(patterns, flags, prog)
    except PatternError as e:
        io.err(f"grep: {e}\n")
        return 2
    files = rest
    if "r" in flags:
        expanded: list[str] = []
        for f in files or ["."]:
            _walk(sh, f, expanded)
        files = expanded
    multi = ((len(files) > 1 or "r" in flags) and "h" not in flags) or "H" in flags
    max_count = int(values["m"]) if values.get("m", "").isdigit() else -1
    found_any = False
    status = 0
    out: list[str] = []
    for f in files or ["-"]:
        name = "(standard input)" if f == "-" else f
        if f == "-":
            text = io.stdin
        else:
            try:
                if sh.fs.is_dir(f, sh.cwd):
                    if "s" not in flags:
                        io.err(f"grep: {f}: Is a directory\n")
                    continue
                text = decode(sh.fs.read(f, sh.cwd))
            except FSError as e:
                if "s" not in flags:
                    io.err(f"grep: {f}: {e.strerror}\n")
                status = 2
                continue
        count = 0
        binary = "\0" in text and not flags & {"a", "text"}
        try:
            mark = len(out)
            count = _scan(text, matcher, flags, name if multi else "", max_count, out)
            if binary and len(out) > mark:
                del out[mark:]  # grep 3.8: a note on stderr instead of the matching lines
                io.out("".join(out))
                out.clear()
                io.err(f"grep: {name}: binary file matches\n")
        except PatternError:
            status = 2
        if count:
            found_any = True
            if "q" in flags:
                return 0
        if "c" in flags:
            out.append((f"{name}:" if multi else "") + f"{count}\n")
        elif ("l" in flags and count) or ("L" in flags and not count):
            out.append(name + "\n")
        if len(out) > 2048:
            io.out("".join(out))
            out.clear()
            if io.budget.exhausted:
                break
    if "q" not in flags:
        io.out("".join(out))
    if status == 2 and not ("q" in flags and found_any):
        return 2
    return 0 if found_any else 1


def _scan(text: str, matcher: Matcher, flags: set[str], prefix: str, max_count: int, out: list[str]) -> int:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    invert = "v" in flags
    quiet_lines = bool(flags & {"q", "l", "L", "c"})
    count = 0
    pre = f"{prefix}:" if prefix else ""
    for n, line in enumerate(lines, 1):
        if count == max_count:
            break
        if matcher.hit(line) == invert:
            continue
        count += 1
        if quiet_lines:
            continue
        num = f"{n}:" if "n" in flags else ""
        if "o" in flags and not invert:
            last = -1
            for s, e in matcher.spans(line):
                if s >= last and e > s:
                    out.append(f"{pre}{num}{line[s:e]}\n")
                    last = e
        elif "o" not in flags:
            out.append(f"{pre}{num}{line}\n")
    return count
