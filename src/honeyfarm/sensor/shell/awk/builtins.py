# SPDX-License-Identifier: MIT
"""awk's built-in functions (length, substr, split, sub/gsub, match, sprintf...) for the interpreter.

Apart from :mod:`honeyfarm.sensor.shell.awk.run` to keep both modules small. Semantics copy mawk,
Debian's default awk (``substr`` rounding, ``&`` in replacements, ``srand`` returning the old
seed). ``system()`` runs nothing and reports success, as a quiet command would.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.shell.awk.parse import Node
from honeyfarm.sensor.shell.awk.values import UNINIT, AwkError, StrNum, Value, format_awk, to_num, to_str

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.awk.run import Interp


def _replacement(repl: str) -> Any:
    """sub/gsub replacement: ``&`` is the match, ``\\&`` a literal ampersand."""

    def expand(m: Any) -> str:
        out = []
        i = 0
        while i < len(repl):
            c = repl[i]
            if c == "\\" and i + 1 < len(repl) and repl[i + 1] in "&\\":
                out.append(repl[i + 1])
                i += 2
                continue
            out.append(m.group() if c == "&" else c)
            i += 1
        return "".join(out)

    return expand


def _substr(s: str, start: float, length: float | None) -> str:
    """mawk 1.3.4-20200120's substr, including its off-by-start answer when start < 1
    (``substr("hello", 0, 2)`` is "he" there, "h" in gawk): what Debian's awk really prints."""
    if math.isnan(start):
        return ""
    b = math.trunc(max(min(start, 1e9), -1e9))
    if length is None:
        n = len(s) + 1 - min(b, 1)
    elif math.isnan(length):
        return ""
    else:
        n = math.trunc(max(min(length, 1e9), -1e9))
    if b < 1:
        n -= b
        b = 1
    if n <= 0:
        return ""
    return s[b - 1 : b - 1 + n]


def call(it: Interp, name: str, args: list[Node]) -> Value:
    n = len(args)
    if name == "length":
        if not args:
            return float(len(it.fields[0]))
        a = args[0]
        if a[0] == "var" and (a[1] in it.arrays or isinstance((it.scope(a[1]) or {}).get(a[1]), dict)):
            return float(len(it.array(a[1])))
        return float(len(it.str_of(a)))
    if name == "substr":
        s = it.str_of(args[0]) if n else ""
        start = to_num(it.eval(args[1])) if n > 1 else 1.0
        return _substr(s, start, to_num(it.eval(args[2])) if n > 2 else None)
    if name == "index":
        return float(it.str_of(args[0]).find(it.str_of(args[1])) + 1) if n > 1 else 0.0
    if name == "split":
        if n < 2 or args[1][0] != "var":
            raise AwkError("split: second argument must be an array")
        s = it.str_of(args[0])
        sep = to_str(it.vars["FS"])
        if n > 2:
            sep = args[2][1] if args[2][0] == "re" else it.str_of(args[2])
        parts = it.split_fields(s, sep)
        arr = it.array(args[1][1])
        arr.clear()
        for i, p in enumerate(parts, 1):
            arr[str(i)] = StrNum(p)
        return float(len(parts))
    if name in ("sub", "gsub"):
        if n < 2:
            raise AwkError(f"{name}: not enough arguments")
        target = args[2] if n > 2 else ("field", ("num", 0.0))
        pat = it.regex_of(args[0])
        repl = it.str_of(args[1])
        text = it.str_of(target)
        new, count = pat.sub(_replacement(repl), text, count=0 if name == "gsub" else 1)
        if count:
            it.store(target, it.cap(new))
        return float(count)
    if name == "match":
        m = it.regex_of(args[1]).search(it.str_of(args[0])) if n > 1 else None
        it.vars["RSTART"] = float(m.start() + 1) if m else 0.0
        it.vars["RLENGTH"] = float(m.end() - m.start()) if m else -1.0
        return it.vars["RSTART"]
    if name == "sprintf":
        vals = [it.eval(a) for a in args]
        return it.cap(format_awk(to_str(vals[0]), vals[1:])) if vals else ""
    if name in ("tolower", "toupper"):
        s = it.str_of(args[0]) if n else ""
        return s.lower() if name == "tolower" else s.upper()
    nums = [to_num(it.eval(a)) for a in args]
    x = nums[0] if nums else 0.0
    if name == "int":
        return float(math.trunc(x)) if math.isfinite(x) else x
    if name == "sqrt":
        return math.sqrt(x) if x >= 0 else math.nan
    if name == "exp":
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    if name == "log":
        return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
    if name in ("sin", "cos"):
        return (math.sin if name == "sin" else math.cos)(x) if math.isfinite(x) else math.nan
    if name == "atan2":
        return math.atan2(x, nums[1] if n > 1 else 0.0)
    if name == "rand":
        return it.rng.random()
    if name == "srand":
        old = to_num(it.vars.get("_seed", 0.0))
        it.vars["_seed"] = x
        it.rng.seed(x)
        return old
    if name in ("system", "close", "fflush"):
        return 0.0
    return UNINIT
