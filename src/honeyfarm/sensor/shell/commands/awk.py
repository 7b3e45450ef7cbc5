# SPDX-License-Identifier: MIT
"""The ``awk`` command (Debian 12's mawk 1.3.4): options, input records and mawk's messages.

The language itself is in :mod:`honeyfarm.sensor.shell.awk.parse` and :mod:`honeyfarm.sensor.shell.awk.run`.
Here: ``-F``, ``-v``, ``-f``, ``var=value`` operands, files from the session's virtual
filesystem, ``print > file`` written back to it, and the step budget turned into a quiet stop.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.awk.lex import AwkSyntaxError, unescape
from honeyfarm.sensor.shell.awk.parse import parse
from honeyfarm.sensor.shell.awk.run import Interp
from honeyfarm.sensor.shell.awk.values import AwkError, AwkLimit, StrNum
from honeyfarm.sensor.shell.commands.base import IO, command, decode, encode
from honeyfarm.sensor.shell.fs.vfs import FSError
from honeyfarm.sensor.shell.posixre import PatternError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

MAWK_VERSION = """mawk 1.3.4 20200120
Copyright 2008-2019,2020, Thomas E. Dickey
Copyright 1991-1996,2014, Michael D. Brennan

random-funcs:       srandom/random
regex-funcs:        internal
compiled limits:
sprintf buffer      8192
maximum-integer     2147483647
"""
MAWK_USAGE = """Usage: mawk [Options] [Program] [file ...]

Program:
    The -f option value is the name of a file containing program text.
    If no -f option is given, a "--" ends option processing; the following
    parameters are the program text.

Options:
    -f program-file  Program  text is read from file instead of from the
                     command-line.  Multiple -f options are accepted.
    -F value         sets the field separator, FS, to value.
    -v var=value     assigns value to program variable var.
    --               unambiguous end of options.

    Implementation-specific options are prefixed with "-W".  They can be
    abbreviated:

    -W version       show version information and exit.
    -W dump          show assembler-like listing of program and exit.
    -W help          show this message and exit.
    -W interactive   set unbuffered output, line-buffered input.
    -W exec file     use file as program as well as last option.
    -W random=number set initial random seed.
    -W sprintf=number adjust size of sprintf buffer.
    -W posix_space   do not consider "\\n" a space.
    -W usage         show this message and exit.
"""


def records(text: str, rs: str) -> list[str]:
    if rs == "\n":
        return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []
    if rs == "":
        return [p.strip("\n") for p in text.strip("\n").split("\n\n") if p.strip("\n")]
    parts = text.split(rs[0])
    if parts and parts[-1] in ("", "\n"):
        parts.pop()
    return parts


def _assignment(arg: str) -> tuple[str, str] | None:
    name, eq, value = arg.partition("=")
    if eq and name.isidentifier() and name.isascii():
        return name, unescape(value)
    return None


@command("awk", "mawk", "nawk")
async def awk(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    fs: str | None = None
    assigns: list[tuple[str, str]] = []
    source: str | None = None
    while args and args[0].startswith("-") and args[0] != "-":
        a = args.pop(0)
        if a == "--":
            break
        opt, val = a[1:2], a[2:]
        if opt in "Fvf W" and not val:
            if not args:
                io.err(f"awk: option requires an argument -- {opt}\n{MAWK_USAGE}")
                return 2
            val = args.pop(0)
        if opt == "F":
            fs = "\t" if val == "t" else unescape(val)
        elif opt == "v":
            pair = _assignment(val)
            if pair is None:
                io.err(f"awk: improper assignment: -v {val}\n")
                return 2
            assigns.append(pair)
        elif opt == "f":
            try:
                source = (source or "") + decode(sh.fs.read(val, sh.cwd)) + "\n"
            except FSError as e:
                io.err(f"awk: couldn't open file {val}: {e.strerror}\n")
                return 2
        elif opt == "W":
            if val.startswith("v"):
                io.out(MAWK_VERSION)
                return 0
            io.err(MAWK_USAGE)
            return 0
        else:
            io.err(f"awk: not an option: {a}\n{MAWK_USAGE}")
            return 2
    if source is None:
        if not args:
            io.err(MAWK_USAGE)
            return 2
        source = args.pop(0)
    try:
        prog = await asyncio.to_thread(parse, source)  # a fresh thread's stack: room for nesting
    except AwkSyntaxError as e:
        io.err(f"awk: {e}\n")
        return 2
    files: dict[str, list[str]] = {}

    def out(dest: str, text: str) -> None:
        if dest in ("1", "2"):
            io.write(text, int(dest))
            return
        name = dest.lstrip(">")
        if name not in files:
            files[name] = []
            if not dest.startswith(">>"):
                files[name].append("")  # truncate on first open
        files[name].append(text)

    it = Interp(prog, out, lambda path: decode(sh.fs.read(path, sh.cwd)))
    it.arrays["ENVIRON"] = {k: StrNum(v) for k, v in sh.env.items()}
    if fs is not None:
        it.vars["FS"] = fs
    for name, value in assigns:
        it.vars[name] = StrNum(value)
    status = 0
    texts: list[str] = []
    names = [a for a in args if _assignment(a) is None]
    for a in args:
        pair = _assignment(a)
        if pair is not None:
            it.vars[pair[0]] = StrNum(pair[1])  # applied before the first record (close enough)
    if not names and (prog["rules"] or prog["end"]):
        texts.append(io.stdin)
    for f in names:
        if f == "-" or f == "/dev/stdin":
            texts.append(io.stdin)
            continue
        try:
            texts.append(decode(sh.fs.read(f, sh.cwd)))
        except FSError as e:
            io.err(f"awk: cannot open {f} ({e.strerror})\n")
            status = 2
            break

    def split(rs: str) -> list[str]:
        return [r for t in texts for r in records(t, rs)]

    try:  # pure CPU work: a worker thread keeps the sensor's event loop answering meanwhile
        status = await asyncio.to_thread(it.run, split, names[0] if names else "") or status
    except AwkLimit:
        status = 2
    except (AwkError, PatternError) as e:
        io.err(f"awk: run time error: {e}\n\tFILENAME=\"{it.vars['FILENAME']}\" FNR={int(float(it.vars['FNR']))} "
               f"NR={int(float(it.vars['NR']))}\n")  # fmt: skip
        status = 2
    for name, chunks in files.items():
        try:
            sh.fs.write(name, sh.cwd, encode("".join(chunks)), append=not chunks or chunks[0] != "")
        except FSError as e:
            io.err(f'awk: cannot open "{name}" for output ({e.strerror})\n')
            status = 2
    return status
