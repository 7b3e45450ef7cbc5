# SPDX-License-Identifier: MIT
"""Emulated commands, part 2: text tools (echo, printf, head, tail, grep, wc, sort, base64...).

Kept apart from the file commands to stay readable. All of them work on in-memory strings that
the per-line budget already bounds; ``yes`` and friends stop when the budget runs out instead of
looping. grep, sed, awk, tr and cut live in their own modules, imported at the end.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import COMMANDS, IO, command, decode, encode, read_inputs, split_opts
from honeyfarm.sensor.shell.fs.vfs import FSError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

_SIMPLE = {"a": 7, "b": 8, "e": 27, "E": 27, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEX = re.compile(r"[0-9a-fA-F]{1,2}")
_HEX4 = re.compile(r"[0-9a-fA-F]{1,4}")
_HEX8 = re.compile(r"[0-9a-fA-F]{1,8}")
_OCT3 = re.compile(r"[0-7]{1,3}")
_SPEC = re.compile(r"%([-+ #0]*)(\d+|\*)?(?:\.(\d*|\*))?([diouxXcsbfeEgG%])")
MAX_WIDTH = 4096


def unescape(s: str, *, printf: bool = False) -> tuple[str, bool]:
    """Backslash escapes of ``echo -e`` (or printf's format when ``printf``). Returns (text, stop at \\c)."""
    out = bytearray()
    i = 0
    while i < len(s):
        j = s.find("\\", i)
        if j < 0 or j + 1 >= len(s):
            out += encode(s[i:])
            break
        out += encode(s[i:j])
        d = s[j + 1]
        i = j + 2
        if d in _SIMPLE:
            out.append(_SIMPLE[d])
        elif d == "c":
            return decode(bytes(out)), True
        elif d == "x" and (m := _HEX.match(s, i)):
            out.append(int(m.group(), 16))
            i = m.end()
        elif d in "uU" and (m := (_HEX4 if d == "u" else _HEX8).match(s, i)):
            out += encode(chr(min(int(m.group(), 16), 0x10FFFF)))
            i = m.end()
        elif d == "0" and not printf:
            m = _OCT3.match(s, i)
            out.append(int(m.group(), 8) & 0xFF if m else 0)
            i = m.end() if m else i
        elif printf and d in "01234567":
            m = _OCT3.match(s, i - 1)
            assert m is not None
            out.append(int(m.group(), 8) & 0xFF)
            i = m.end()
        else:
            out += encode("\\" + d)
    return decode(bytes(out)), False


@command("echo")
async def echo(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    newline, escapes = True, False
    while args and len(args[0]) > 1 and args[0][0] == "-" and all(c in "neE" for c in args[0][1:]):
        for c in args[0][1:]:
            if c == "n":
                newline = False
            else:
                escapes = c == "e"
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stop = unescape(text)
        if stop:
            newline = False
    io.out(text + ("\n" if newline else ""))
    return 0


def _number(arg: str, io: IO) -> int:
    a = arg.strip()
    if a[:1] in ("'", '"') and len(a) > 1:
        return ord(a[1])
    try:
        return int(a, 0) if a[:2].lower() == "0x" else int(a or "0", 8 if a.startswith("0") and len(a) > 1 else 10)
    except ValueError:
        io.err(f"bash: printf: {arg}: invalid number\n")
        return 0


def printf_format(fmt: str, args: list[str], io: IO) -> str:
    out: list[str] = []
    pending = list(args)
    for _round in range(1000):
        used = False
        pos = 0
        for m in _SPEC.finditer(fmt):
            lit, stop = unescape(fmt[pos : m.start()], printf=True)
            out.append(lit)
            if stop:
                return "".join(out)
            pos = m.end()
            flags, width, prec, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue

            def take() -> str:
                nonlocal used
                used = True
                return pending.pop(0) if pending else ""

            if width == "*":
                width = str(_number(take() or "0", io))
            if prec == "*":
                prec = str(_number(take() or "0", io))
            w = min(abs(int(width)), MAX_WIDTH) if width and width.lstrip("-").isdigit() else 0
            p = min(int(prec), MAX_WIDTH) if prec and prec.isdigit() else None
            spec = "%" + flags + (str(w) if w else "") + (f".{p}" if p is not None else "")
            arg = take()
            if conv in "diouxX":
                out.append((spec + ("d" if conv in "iu" else conv)) % _number(arg or "0", io))
            elif conv in "feEgG":
                try:
                    out.append((spec + conv) % float(arg or "0"))
                except ValueError:
                    io.err(f"bash: printf: {arg}: invalid number\n")
                    out.append((spec + conv) % 0.0)
            elif conv == "c":
                out.append((spec + "s") % arg[:1])
            elif conv == "b":
                text, stop = unescape(arg)
                out.append((spec + "s") % text)
                if stop:
                    return "".join(out)
            else:
                out.append((spec + "s") % arg)
        lit, stop = unescape(fmt[pos:], printf=True)
        out.append(lit)
        if stop or not pending or not used:
            break
    return "".join(out)


@command("printf")
async def printf(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        io.err("printf: usage: printf [-v var] format [arguments]\n")
        return 2
    io.out(printf_format(argv[1], argv[2:], io))
    return 0


def _count_args(argv: list[str]) -> tuple[set[str], dict[str, str], list[str]]:
    fixed = [f"-n{a[1:]}" if re.fullmatch(r"-\d+", a) else a for a in argv[1:]]
    return split_opts(fixed, with_value="nc")


@command("head", "tail")
async def head_tail(sh: Shell, argv: list[str], io: IO) -> int:
    tail = argv[0].endswith("tail")
    _flags, values, files = _count_args(argv)
    inputs, status = read_inputs(sh, argv[0], files, io)
    for k, (name, text) in enumerate(inputs):
        if len(inputs) > 1:
            io.out(("\n" if k else "") + f"==> {'standard input' if name == '-' else name} <==\n")
        if "c" in values:
            n = _number(values["c"].lstrip("+-") or "0", io)
            data = encode(text)
            io.out(decode(data[-n:] if tail and n else b"" if tail else data[:n]))
            continue
        spec = values.get("n", "10")
        lines = text.splitlines(keepends=True)
        n = _number(spec.lstrip("+-") or "0", io)
        if tail:
            chosen = lines[max(n - 1, 0) :] if spec.startswith("+") else (lines[-n:] if n else [])
        else:
            chosen = lines[:-n] if spec.startswith("-") and n else lines[:n]
        io.out("".join(chosen))
    return status


@command("wc")
async def wc(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, files = split_opts(argv[1:])
    which = [c for c in "lwc" if c in flags or {"l": "lines", "w": "words", "c": "bytes"}[c] in flags]
    if "m" in flags:
        which.append("c")
    which = which or ["l", "w", "c"]
    inputs, status = read_inputs(sh, "wc", files, io)
    rows: list[tuple[list[int], str]] = []
    for name, text in inputs:
        counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(encode(text))}
        rows.append(([counts[c] for c in which], "" if name == "-" and not files else name))
    if len(rows) > 1:
        rows.append(([sum(r[0][i] for r in rows) for i in range(len(which))], "total"))
    if not rows:
        return status
    width = 7 if not files else max(len(str(v)) for r in rows for v in r[0])
    if len(which) == 1 and len(rows) == 1:
        width = 0
    for vals, name in rows:
        io.out(" ".join(str(v).rjust(width) for v in vals) + (f" {name}" if name else "") + "\n")
    return status


@command("yes")
async def yes(sh: Shell, argv: list[str], io: IO) -> int:
    line = (" ".join(argv[1:]) or "y") + "\n"
    room = io.budget.chars if io.tty else min(io.budget.chars, 65536)
    io.out(line * (room // len(line) + 1))
    io.budget.exhausted = True
    return 141  # killed by SIGPIPE / interrupted


@command("tee")
async def tee(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, files = split_opts(argv[1:])
    status = 0
    for f in files:
        try:
            sh.fs.write(f, sh.cwd, encode(io.stdin), append="a" in flags)
        except FSError as e:
            io.err(f"tee: {f}: {e.strerror}\n")
            status = 1
    io.out(io.stdin)
    return status


@command("sort")
async def sort(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, files = split_opts(argv[1:], with_value="ktTS")
    inputs, status = read_inputs(sh, "sort", files, io)
    lines = [line for _, text in inputs for line in text.splitlines()]

    def key(s: str) -> tuple[float, str]:
        m = re.match(r"\s*-?\d+(\.\d+)?", s) if "n" in flags else None
        return (float(m.group()) if m else 0.0, s.lower() if "f" in flags else s)

    lines.sort(key=key, reverse="r" in flags)
    if "u" in flags:
        lines = list(dict.fromkeys(lines))
    io.out("".join(line + "\n" for line in lines))
    return status


@command("uniq")
async def uniq(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, files = split_opts(argv[1:])
    inputs, status = read_inputs(sh, "uniq", files[:1], io)
    groups: list[list[str]] = []
    for line in inputs[0][1].splitlines() if inputs else []:
        if groups and groups[-1][0] == line:
            groups[-1].append(line)
        else:
            groups.append([line])
    for g in groups:
        if ("d" in flags and len(g) < 2) or ("u" in flags and len(g) > 1):
            continue
        io.out((f"{len(g):>7} " if "c" in flags else "") + g[0] + "\n")
    return status


@command("base64")
async def b64(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, files = split_opts(argv[1:], with_value="w")
    inputs, status = read_inputs(sh, "base64", files[:1], io)
    data = encode(inputs[0][1]) if inputs else b""
    if flags & {"d", "decode"}:
        try:
            io.out(decode(base64.b64decode(b"".join(data.split()) + b"==", validate=False)))
        except (binascii.Error, ValueError):
            io.err("base64: invalid input\n")
            return 1
        return status
    text = base64.b64encode(data).decode()
    io.out("".join(text[i : i + 76] + "\n" for i in range(0, len(text), 76)))
    return status


@command("md5sum", "sha256sum", "sha1sum", "sha512sum")
async def checksum(sh: Shell, argv: list[str], io: IO) -> int:
    algo = argv[0].rsplit("/", 1)[-1].removesuffix("sum")
    _, _, files = split_opts(argv[1:])
    inputs, status = read_inputs(sh, argv[0], files, io)
    for name, text in inputs:
        io.out(f"{hashlib.new(algo, encode(text)).hexdigest()}  {name}\n")
    return status


# Families in their own modules register on import (the shell imports this module). The help and
# version texts and the fallback for unemulated programs go on at the registry's first lookup.
from honeyfarm.sensor.shell.commands import (  # noqa: E402, F401
    awk,
    builtins,
    grep,
    interp,
    misc,
    net,
    od,
    pkg,
    sed,
    small,
    sys,
    sys2,
    text2,
)

COMMANDS.on_ready(misc.install)
