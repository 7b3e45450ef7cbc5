# SPDX-License-Identifier: MIT
"""``od`` (coreutils 9.1): how scripts look at the bytes of ``/bin/echo`` or ``/dev/urandom``.

Bots read an ELF header (``dd bs=52 count=1 if=/bin/echo | od -An -tx1``) to choose which
architecture's payload to fetch, so the dump must be the real layout: offsets (``-A``), types
(``-t x1``/``o2``/``d4``/``c``...), ``-N``/``-j``, and ``*`` for repeated lines unless ``-v``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, command, encode
from honeyfarm.sensor.shell.commands.text2 import usage
from honeyfarm.sensor.shell.fs import tree as vfs_tree
from honeyfarm.sensor.shell.fs.vfs import FSError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

MAX_BYTES = 64 * 1024
_NAMED = {0: "nul", 7: "bel", 8: "bs", 9: "ht", 10: "nl", 11: "vt", 12: "ff", 13: "cr", 27: "esc", 32: "sp",
          127: "del"}  # fmt: skip
_C_ESC = {0: "\\0", 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


def _field(kind: str, size: int, chunk: bytes) -> tuple[list[str], int]:
    """Formatted values of one line and the column width of one value."""
    if kind in ("c", "a"):
        out = []
        for b in chunk:
            if kind == "a":
                out.append(_NAMED.get(b & 0x7F, chr(b & 0x7F)))
            elif b in _C_ESC:
                out.append(_C_ESC[b])
            else:
                out.append(chr(b) if 32 <= b < 127 else f"{b:03o}")
        return out, 4
    chunk = chunk + b"\0" * (-len(chunk) % size)
    vals = [int.from_bytes(chunk[i : i + size], "little", signed=kind == "d") for i in range(0, len(chunk), size)]
    if kind == "x":
        return [f"{v:0{size * 2}x}" for v in vals], size * 2 + 1
    if kind == "o":
        digits = {1: 3, 2: 6, 4: 11, 8: 22}[size]
        return [f"{v:0{digits}o}" for v in vals], digits + 1
    width = {1: 4, 2: 6, 4: 11, 8: 20}[size] + (1 if kind == "d" else 0)
    return [str(v) for v in vals], width


@command("od")
async def od(sh: Shell, argv: list[str], io: IO) -> int:
    radix, types, skip, limit, verbose = "o", [], 0, None, False
    files: list[str] = []
    args = argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        m = re.fullmatch(r"-([AtjN])(.*)", a)
        if m:
            val = m.group(2)
            if not val:
                if i >= len(args):
                    return usage(io, "od", f"option requires an argument -- '{m.group(1)}'")
                val = args[i]
                i += 1
            opt = m.group(1)
            if opt == "A":
                if val not in ("d", "o", "x", "n"):
                    return usage(
                        io, "od", f"invalid output address radix '{val}'; it must be one character from [doxn]"
                    )
                radix = val
            elif opt == "t":
                types.append(val)
            else:
                n = int(val, 0) if re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", val) else None
                if n is None:
                    return usage(io, "od", f"invalid {'skip' if opt == 'j' else 'limit'} argument ‘{val}’")
                if opt == "j":
                    skip = n
                else:
                    limit = n
        elif a in ("-c", "-x", "-o", "-d", "-b", "-v"):
            verbose = verbose or a == "-v"
            types += {"-c": ["c"], "-x": ["x2"], "-o": ["o2"], "-d": ["u2"], "-b": ["o1"]}.get(a, [])
        elif a.startswith("-") and a != "-":
            return usage(io, "od", f"invalid option -- '{a[1:2]}'")
        else:
            files.append(a)
    data = b""
    status = 0
    for f in files or ["-"]:
        try:
            data += encode(io.stdin) if f == "-" else vfs_tree.full_content(sh.fs, f, sh.cwd)
        except FSError as e:
            io.err(f"od: {f}: {e.strerror}\n")
            status = 1
    data = data[skip:][: limit if limit is not None else MAX_BYTES][:MAX_BYTES]
    specs = []
    for t in types or ["o2"]:
        m = re.fullmatch(r"([xodu])([1248]?)|([ca])", t)
        if not m:
            return usage(io, "od", f"invalid type string ‘{t}’")
        kind = m.group(3) or m.group(1)
        specs.append((kind, int(m.group(2) or (1 if kind in "ca" else 4))))
    out: list[str] = []
    fmt = {"d": "{:07d}", "o": "{:07o}", "x": "{:06x}", "n": ""}[radix]
    prev = None
    starred = False
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        if chunk == prev and not verbose and len(chunk) == 16:
            if not starred:
                out.append("*\n")
                starred = True
            continue
        prev, starred = chunk, False
        for n, (kind, size) in enumerate(specs):
            vals, width = _field(kind, size, chunk)
            prefix = fmt.format(skip + off) if n == 0 else " " * len(fmt.format(0))
            out.append(prefix + "".join(v.rjust(width) for v in vals) + "\n")
    if fmt:
        out.append(fmt.format(skip + len(data)) + "\n")
    io.out("".join(out))
    return status
