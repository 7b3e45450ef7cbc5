# SPDX-License-Identifier: MIT
"""Pure helpers of the fake shell's word expansion: ``${...}`` parameter forms and ``$((...))``.

Kept out of :mod:`honeyfarm.sensor.shell` so they can be read (and tested) on their own. The
arithmetic evaluator is a tiny recursive-descent parser over integers: no ``eval``, input cut
to 128 characters (bounding recursion), results clamped to 64 bits as bash does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"\s*(\d+|[A-Za-z_]\w*|[-+*/%()])")
_MAX = 2**63 - 1


def parameter(spec: str, env: Mapping[str, str], special: Mapping[str, str]) -> tuple[str, tuple[str, str] | None]:
    """Value of ``${spec}`` (``NAME``, ``#NAME``, ``NAME:-x``, ``NAME-x``, ``NAME:=x``, ``NAME:+x``).

    Returns the value and, for ``:=``, the assignment to make."""
    if spec.startswith("#") and len(spec) > 1:
        return str(len(parameter(spec[1:], env, special)[0])), None
    m = _NAME.match(spec)
    name = m.group() if m else spec[:1]
    rest = spec[len(name) :]
    value = special.get(name, "himBHs" if name == "-" else env.get(name, ""))
    if rest.startswith(":-") or rest.startswith("-"):
        default = rest[2:] if rest.startswith(":") else rest[1:]
        present = bool(value) if rest.startswith(":") else name in env or name in special
        return (value if present else default), None
    if rest.startswith(":=") and not value:
        return rest[2:], (name, rest[2:])
    if rest.startswith(":+"):
        return (rest[2:] if value else ""), None
    return value, None


def arith(expr: str, env: Mapping[str, str]) -> str:
    """``$((expr))`` with + - * / % and parentheses; "0" on any error."""
    toks = _TOKEN.findall(expr[:128])
    pos = 0

    def atom() -> int:
        nonlocal pos
        t = toks[pos]
        pos += 1
        if t == "(":
            v = add()
            pos += 1
            return v
        if t == "-":
            return -atom()
        if t == "+":
            return atom()
        if t.isdigit():
            return min(int(t[:20]), _MAX)
        value = env.get(t, "0").strip()
        return int(value) if value.lstrip("-").isdigit() and len(value) < 20 else 0

    def mul() -> int:
        nonlocal pos
        v = atom()
        while pos < len(toks) and toks[pos] in "*/%":
            op = toks[pos]
            pos += 1
            r = atom()
            if op == "*":
                v = max(min(v * r, _MAX), -_MAX - 1)
            elif r == 0:
                raise ZeroDivisionError
            else:
                q = abs(v) // abs(r) * (1 if (v < 0) == (r < 0) else -1)
                v = q if op == "/" else v - r * q
        return v

    def add() -> int:
        nonlocal pos
        v = mul()
        while pos < len(toks) and toks[pos] in "+-":
            op = toks[pos]
            pos += 1
            v = max(min(v + mul() if op == "+" else v - mul(), _MAX), -_MAX - 1)
        return v

    try:
        return str(add())
    except (ValueError, IndexError, ZeroDivisionError, RecursionError):
        return "0"
