# SPDX-License-Identifier: MIT
"""awk values for the interpreter: strings, numbers, "strnums" from input, and their conversions.

mawk's rules (Debian's awk): a field that looks like a number compares as one, integral numbers
print without a fraction, others through ``%.6g``; arithmetic never raises (``1/0`` is ``inf``).
Apart from :mod:`honeyfarm.sensor.shell.awk.run` to keep both modules small.
"""

from __future__ import annotations

import math
import re

_NUM = re.compile(r"[ \t\n]*[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)")
_FMT = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?([cdiouxXeEfgGs%])")
Value = str | float


class AwkLimit(Exception):
    """The step budget or call depth ran out."""


class AwkError(Exception):
    """A run-time error with mawk's message."""


class StrNum(str):
    """A string from input (a field, split(), getline): compares as a number when it looks like one."""


UNINIT = StrNum("")


def to_num(v: Value) -> float:
    if isinstance(v, float):
        return v
    m = _NUM.match(v)
    return float(m.group()) if m else 0.0


def looks_numeric(v: Value) -> bool:
    if isinstance(v, float):
        return True
    if isinstance(v, StrNum):
        if v is UNINIT:
            return True
        m = _NUM.match(v)
        return m is not None and not v[m.end() :].strip(" \t\n")
    return False


def num_str(n: float, fmt: str = "%.6g") -> str:
    if math.isfinite(n) and n == int(n) and abs(n) < 2**63:
        return str(int(n))
    if math.isnan(n):
        return "nan" if math.copysign(1, n) > 0 else "-nan"
    if math.isinf(n):
        return "inf" if n > 0 else "-inf"
    try:
        return fmt % n
    except (TypeError, ValueError):
        return f"{n:.6g}"


def to_str(v: Value) -> str:
    return v if isinstance(v, str) else num_str(v)


def truth(v: Value) -> bool:
    if isinstance(v, float):
        return v != 0
    if isinstance(v, StrNum) and looks_numeric(v):
        return to_num(v) != 0
    return v != ""


def format_awk(fmt: str, args: list[Value]) -> str:
    """awk's printf/sprintf: C conversions on awk values, widths capped."""
    out: list[str] = []
    pos = 0
    k = 0

    def nxt() -> Value:
        nonlocal k
        k += 1
        return args[k - 1] if k - 1 < len(args) else UNINIT

    for m in _FMT.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, conv = m.groups()
        if conv == "%":
            out.append("%")
            continue
        if width == "*":
            width = str(int(to_num(nxt())))
        if prec == "*":
            prec = str(int(to_num(nxt())))
        w = min(abs(int(width)), 4096) if width and width.lstrip("-").isdigit() else 0
        if width and width.startswith("-"):
            flags += "-"
        spec = "%" + flags + (str(w) if w else "") + (f".{min(int(prec or 0), 4096)}" if prec is not None else "")
        v = nxt()
        if conv == "c":
            ch = chr(int(to_num(v)) % 0x110000) if isinstance(v, float) else to_str(v)[:1]
            out.append((spec.split(".")[0] + "s") % ch)
        elif conv == "s":
            out.append((spec + "s") % to_str(v))
        elif conv in "diouxX":
            n = to_num(v)
            iv = int(n) if math.isfinite(n) else 0
            if conv == "u":
                iv &= (1 << 64) - 1 if iv < 0 else iv
            out.append((spec + ("d" if conv in "iu" else conv)) % iv)
        else:
            out.append((spec + conv) % to_num(v))
    out.append(fmt[pos:])
    return "".join(out)


def arith(op: str, a: float, b: float) -> float:
    """mawk's arithmetic: IEEE results (``1/0`` is inf, ``0/0`` nan), never an exception."""
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
            return a / b
        if op == "%":
            return math.fmod(a, b) if b != 0 and math.isfinite(a) else math.nan
        if a < 0 and b != int(b):
            return math.nan
        if abs(b) > 4096 and abs(a) > 1:
            return math.inf if b > 0 else 0.0
        return float(a**b)
    except (OverflowError, ZeroDivisionError):
        return math.inf
