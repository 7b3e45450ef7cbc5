# SPDX-License-Identifier: MIT
"""Emulated commands, part 6: coreutils filters bots chain in pipelines (tr, cut, seq, expr...).

``echo a:b | cut -d: -f1`` or ``tr -d '\\n'`` are how scripts pick apart what the machine says;
a filter that echoes its input back is an instant tell. Options and messages copy GNU coreutils
9.1 (Debian 12). Work is bounded by the per-line output budget and explicit iteration caps.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, command, read_inputs, split_opts
from honeyfarm.sensor.shell.posixre import Pattern, PatternError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

MAX_SEQ = 500_000
_CLASSES = {
    "alpha": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "digit": "0123456789",
    "lower": "abcdefghijklmnopqrstuvwxyz", "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "space": " \t\n\r\f\v",
    "blank": " \t", "punct": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "xdigit": "0123456789ABCDEFabcdef",
    "cntrl": "".join(map(chr, range(32))) + "\x7f", "print": "".join(map(chr, range(32, 127))),
    "graph": "".join(map(chr, range(33, 127))),
}  # fmt: skip
_CLASSES["alnum"] = _CLASSES["alpha"] + _CLASSES["digit"]
_TR_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def usage(io: IO, prog: str, msg: str) -> int:
    io.err(f"{prog}: {msg}\nTry '{prog} --help' for more information.\n")
    return 1


# --- tr -----------------------------------------------------------------------------------------------------------


def tr_set(spec: str) -> list[str]:
    """Expand a tr SET: escapes, ranges ``a-z``, classes ``[:alpha:]``, repeats ``[x*n]``."""
    chars: list[str] = []
    i = 0
    while i < len(spec) and len(chars) < 65536:
        if spec.startswith("[:", i) and (end := spec.find(":]", i + 2)) > 0 and spec[i + 2 : end] in _CLASSES:
            chars.extend(_CLASSES[spec[i + 2 : end]])
            i = end + 2
            continue
        if (m := re.match(r"\[(.)\*(\d*)\]", spec[i:])) is not None:
            chars.extend(m.group(1) * min(int(m.group(2) or 0) or 1, 65536))
            i += m.end()
            continue
        c = spec[i]
        if c == "\\" and i + 1 < len(spec):
            d = spec[i + 1]
            if (m := re.match(r"[0-7]{1,3}", spec[i + 1 :])) is not None:
                c, i = chr(int(m.group(), 8) & 0xFF), i + 1 + m.end()
            else:
                c, i = _TR_ESC.get(d, d), i + 2
        else:
            i += 1
        if i + 1 < len(spec) and spec[i] == "-":
            hi = spec[i + 1]
            if ord(hi) >= ord(c):
                chars.extend(chr(x) for x in range(ord(c), ord(hi) + 1))
                i += 2
                continue
        chars.append(c)
    return chars


@command("tr")
async def tr(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, sets = split_opts(argv[1:])
    comp = bool(flags & {"c", "C", "complement"})
    delete, squeeze = bool(flags & {"d", "delete"}), bool(flags & {"s", "squeeze-repeats"})
    if not sets:
        return usage(io, "tr", "missing operand")
    if delete and not squeeze and len(sets) > 1:
        return usage(io, "tr", f"extra operand ‘{sets[1]}’\nOnly one string may be given when deleting without "
                               "squeezing repeats.")  # fmt: skip
    if not delete and not squeeze and len(sets) < 2:
        return usage(io, "tr", f"missing operand after ‘{sets[0]}’\nTwo strings must be given when translating.")
    if delete and squeeze and len(sets) < 2:
        return usage(io, "tr", f"missing operand after ‘{sets[0]}’\nTwo strings must be given when both deleting "
                               "and squeezing repeats.")  # fmt: skip
    s1 = tr_set(sets[0])
    s2 = tr_set(sets[1]) if len(sets) > 1 else []
    in1 = set(s1)

    def member(ch: str) -> bool:
        return (ch in in1) != comp

    text = io.stdin
    if delete:
        text = "".join(ch for ch in text if not member(ch))
        squeeze_set = set(s2)
    elif len(sets) > 1:
        if not s2:
            io.err("tr: when not truncating set1, string2 must be non-empty\n")
            return 1
        if comp:
            text = "".join(s2[-1] if member(ch) else ch for ch in text)
        else:
            table: dict[str, str] = {}
            for k, ch in enumerate(s1):
                table[ch] = s2[min(k, len(s2) - 1)] if "t" not in flags else s2[k] if k < len(s2) else ch
            text = "".join(table.get(ch, ch) for ch in text)
        squeeze_set = set(s2)
    else:
        squeeze_set = {chr(c) for c in range(256) if member(chr(c))} if comp else in1
    if squeeze:
        out: list[str] = []
        for ch in text:
            if out and ch == out[-1] and ch in squeeze_set:
                continue
            out.append(ch)
        text = "".join(out)
    io.out(text)
    return 0


# --- cut ----------------------------------------------------------------------------------------------------------


def parse_list(spec: str, kind: str) -> list[tuple[int, int]] | str:
    """``1,3-5,7-`` as inclusive ranges; a coreutils message on error."""
    ranges: list[tuple[int, int]] = []
    for part in spec.replace(" ", ",").split(","):
        m = re.fullmatch(r"(\d*)(-?)(\d*)", part)
        if not m or not part or part == "-":
            bad = part if part else spec
            return f"invalid {kind} value ‘{bad}’" if part != "-" else "invalid range with no endpoint: -"
        lo = int(m.group(1)) if m.group(1) else 1
        hi = (int(m.group(3)) if m.group(3) else 1 << 30) if m.group(2) else lo
        if lo == 0 or (m.group(3) and int(m.group(3)) == 0 and m.group(2)):
            return f"{kind}s are numbered from 1"
        if hi < lo:
            return "invalid decreasing range"
        ranges.append((lo, hi))
    return ranges


@command("cut")
async def cut(sh: Shell, argv: list[str], io: IO) -> int:
    flags, values, files = split_opts(argv[1:], "dfcb", long_value=("delimiter", "fields", "characters", "bytes"))
    for long, short in (("delimiter", "d"), ("fields", "f"), ("characters", "c"), ("bytes", "b")):
        if long in values:
            values[short] = values.pop(long)
    for opt in "dfcb":
        if opt in flags:
            io.err(f"cut: option requires an argument -- '{opt}'\nTry 'cut --help' for more information.\n")
            return 1
    modes = [m for m in "bcf" if m in values]
    if not modes:
        return usage(io, "cut", "you must specify a list of bytes, characters, or fields")
    if len(modes) > 1:
        return usage(io, "cut", "only one type of list may be specified")
    mode = modes[0]
    delim = values.get("d", "\t")
    if mode != "f" and "d" in values:
        return usage(io, "cut", "an input delimiter may be specified only when operating on fields")
    if len(delim) != 1:
        return usage(io, "cut", "the delimiter must be a single character")
    ranges = parse_list(values[mode], "field" if mode == "f" else "byte/character")
    if isinstance(ranges, str):
        return usage(io, "cut", ranges)
    complement = "complement" in flags
    out_delim = values.get("output-delimiter", delim if mode == "f" else "")

    def chosen(n: int) -> bool:
        return any(lo <= n <= hi for lo, hi in ranges) != complement

    inputs, status = read_inputs(sh, "cut", files, io)
    out: list[str] = []
    for _name, text in inputs:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for line in lines:
            if mode == "f":
                if delim not in line:
                    if "s" not in flags:
                        out.append(line + "\n")
                    continue
                parts = line.split(delim)
                out.append(out_delim.join(p for i, p in enumerate(parts, 1) if chosen(i)) + "\n")
            else:
                picked = [c for i, c in enumerate(line, 1) if chosen(i)]
                out.append("".join(picked) + "\n")
            if len(out) > 4096:
                io.out("".join(out))
                out.clear()
    io.out("".join(out))
    return status


# --- seq, expr ----------------------------------------------------------------------------------------------------


def _seq_num(arg: str, io: IO) -> float | None:
    try:
        return float(arg)
    except ValueError:
        usage(io, "seq", f"invalid floating point argument: ‘{arg}’")
        return None


@command("seq")
async def seq(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    sep, fmt, width = "\n", "", False
    while args and args[0].startswith("-") and not re.fullmatch(r"-[\d.]+(e[-+]?\d+)?", args[0]):
        a = args.pop(0)
        if a in ("-s", "-f") and args:
            val = args.pop(0)
        elif a[:2] in ("-s", "-f") and len(a) > 2:
            val = a[2:]
        elif a in ("-w", "--equal-width"):
            width = True
            continue
        elif a == "--":
            break
        else:
            return usage(io, "seq", f"invalid option -- '{a[1:2]}'")
        sep, fmt = (val, fmt) if a.startswith("-s") else (sep, val)
    if not args:
        return usage(io, "seq", "missing operand")
    if len(args) > 3:
        return usage(io, "seq", f"extra operand ‘{args[3]}’")
    nums = [_seq_num(a, io) for a in args]
    if any(n is None for n in nums):
        return 1
    vals = [n for n in nums if n is not None]
    first, step, last = (1.0, 1.0, vals[0]) if len(vals) == 1 else (vals[0], 1.0, vals[1]) if len(vals) == 2 else vals
    if step == 0:
        return usage(io, "seq", f"invalid Zero increment value: ‘{args[1]}’")
    decimals = max((len(a.split(".")[1]) if "." in a and "e" not in a.lower() else 0) for a in args[:-1] or ["1"])
    count = 0
    out: list[str] = []
    x = first
    while (x <= last if step > 0 else x >= last) and count < MAX_SEQ and not io.budget.exhausted:
        if fmt:
            try:
                out.append(fmt % x)
            except (TypeError, ValueError):
                return usage(io, "seq", f"format ‘{fmt}’ has no % directive")
        else:
            out.append(f"{x:.{decimals}f}" if decimals else f"{x:g}" if abs(x) >= 1e6 else str(int(x)))
        count += 1
        x = first + count * step
        if len(out) >= 4096:
            io.out(sep.join(out) + sep)
            out.clear()
    if width and out and not fmt:
        w = max(len(s) for s in out)
        out = [s.zfill(w) if not s.startswith("-") else "-" + s[1:].zfill(w - 1) for s in out]
    if out:
        io.out(sep.join(out) + "\n")
    return 0


class _ExprError(Exception):
    def __init__(self, msg: str, status: int = 2) -> None:
        super().__init__(msg)
        self.status = status


def _int(v: str) -> int:
    if not re.fullmatch(r"[-+]?\d+", v.strip()):
        raise _ExprError("non-integer argument")
    return int(v)


def _expr(tokens: list[str], pos: int, level: int) -> tuple[str, int]:
    """Precedence climbing over expr's grammar: | & comparisons +- */% : then primaries."""
    ops = [("|",), ("&",), ("<", "<=", "=", "==", "!=", ">=", ">"), ("+", "-"), ("*", "/", "%"), (":",)]
    if level == len(ops):
        if pos >= len(tokens):
            raise _ExprError(f"syntax error: missing argument after ‘{tokens[pos - 1]}’" if pos else "missing operand")
        tok = tokens[pos]
        if tok == "(":
            val, pos = _expr(tokens, pos + 1, 0)
            if pos >= len(tokens) or tokens[pos] != ")":
                raise _ExprError("syntax error: expecting ‘)’ after ‘" + tokens[pos - 1] + "’")
            return val, pos + 1
        fn = {"length": 1, "substr": 3, "index": 2, "match": 2, "+": 1}.get(tok)
        if fn and pos + fn < len(tokens):
            a = tokens[pos + 1 : pos + 1 + fn]
            if tok == "length":
                return str(len(a[0])), pos + 2
            if tok == "+":
                return a[0], pos + 2
            if tok == "index":
                return str(next((i + 1 for i, c in enumerate(a[0]) if c in a[1]), 0)), pos + 3
            if tok == "substr":
                s, p, n = a[0], _int(a[1]), _int(a[2])
                return (s[p - 1 : p - 1 + n] if p > 0 and n > 0 else ""), pos + 4
            return _match(a[0], a[1]), pos + 3
        return tok, pos + 1
    left, pos = _expr(tokens, pos, level + 1)
    while pos < len(tokens) and tokens[pos] in ops[level]:
        op = tokens[pos]
        right, pos = _expr(tokens, pos + 1, level + 1)
        left = _apply(op, left, right)
    return left, pos


def _match(s: str, pat: str) -> str:
    try:
        m = Pattern("^" + pat if not pat.startswith("^") else pat).search(s)
    except PatternError as e:
        raise _ExprError(str(e)) from None
    if m is None:
        return "" if "\\(" in pat else "0"
    return m.group(1) if m.groups() else str(m.end())


def _null(v: str) -> bool:
    return v == "" or bool(re.fullmatch(r"[-+]?0+", v))


def _apply(op: str, a: str, b: str) -> str:
    if op == "|":
        return b if _null(a) else a
    if op == "&":
        return "0" if _null(a) or _null(b) else a
    if op == ":":
        return _match(a, b)
    if op in ("+", "-", "*", "/", "%"):
        x, y = _int(a), _int(b)
        if op in "/%" and y == 0:
            raise _ExprError("division by zero")
        if op == "/":
            return str(abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1))
        if op == "%":
            r = abs(x) % abs(y)
            return str(r if x >= 0 else -r)
        return str(x + y if op == "+" else x - y if op == "-" else x * y)
    try:
        cx: int | str = int(a)
        cy: int | str = int(b)
    except ValueError:
        cx, cy = a, b
    res = {"<": cx < cy, "<=": cx <= cy, "=": cx == cy, "==": cx == cy, "!=": cx != cy, ">=": cx >= cy,  # type: ignore[operator]
           ">": cx > cy}[op]  # type: ignore[operator]  # fmt: skip
    return "1" if res else "0"


@command("expr")
async def expr(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        return usage(io, "expr", "missing operand") + 1
    try:
        val, pos = _expr(args, 0, 0)
        if pos < len(args):
            raise _ExprError(f"syntax error: unexpected argument ‘{args[pos]}’")
    except _ExprError as e:
        io.err(f"expr: {e}\n")
        return e.status
    io.out(val + "\n")
    return 1 if _null(val) else 0
