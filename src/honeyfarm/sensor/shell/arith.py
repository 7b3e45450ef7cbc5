# SPDX-License-Identifier: MIT
"""Bash arithmetic (``$(( ))``, ``$[ ]``) for the fake shell: integers only, no ``eval``.

Bots use it for ``$((RANDOM % 100))``, counters and bit masks; a wrong answer or a Python error
would give the trap away. Precedence and error texts follow bash 5.2 (``division by 0 (error token
is "0")``, ``syntax error: operand expected``). Input is cut to 256 characters and recursion is
bounded by the grammar's depth, values wrap to signed 64 bits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["evaluate"]

_TOKEN = re.compile(
    r"\s*(0[xX][0-9a-fA-F]+|\d+#[0-9a-zA-Z@_]+|\d+|[A-Za-z_]\w*|\*\*=?|<<=?|>>=?|\+\+|--|&&|\|\||[=!<>]="
    r"|[-+*/%&|^]=|[-+*/%()<>=!~?:,&|^])"
)
_BIN = [  # lowest to highest precedence, after assignment, ?: and ,
    ("||",),
    ("&&",),
    ("|",),
    ("^",),
    ("&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
]
_ASSIGN = ("=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^=", "**=")
_MAXDEPTH = 64


class _Err(Exception):
    def __init__(self, msg: str, rest: str) -> None:
        super().__init__(msg)
        self.text = f'{msg} (error token is "{rest}")'


def _wrap(v: int) -> int:
    return (v + 2**63) % 2**64 - 2**63


def _number(tok: str) -> int | None:
    if tok.isdigit():
        octal = len(tok) > 1 and tok[0] == "0" and all(c in "01234567" for c in tok)
        return int(tok[:22], 8) if octal else int(tok[:20])
    if tok[:2] in ("0x", "0X"):
        return int(tok[2:18], 16)
    if "#" in tok:
        base_s, digits = tok.split("#", 1)
        base = int(base_s[:3])
        if not 2 <= base <= 64:
            return None
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@_"
        if base <= 36:
            digits = digits.lower()
        v = 0
        for c in digits[:64]:
            d = alphabet.find(c)
            if d < 0 or d >= base:
                return None
            v = v * base + d
        return _wrap(v)
    return None


def _binop(op: str, a: int, b: int, rest: str) -> int:
    if op in ("/", "%") and b == 0:
        raise _Err("division by 0", rest)
    if op == "/":
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    if op == "%":
        return a - b * _binop("/", a, b, rest)
    if op == "**":
        if b < 0:
            raise _Err("exponent less than 0", rest)
        return _wrap(pow(a, min(b, 4096), 2**64))
    ops = {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "<<": lambda: a << min(b & 63, 63),
        ">>": lambda: a >> min(b & 63, 63), "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b), "<=": lambda: int(a <= b),
        ">": lambda: int(a > b), ">=": lambda: int(a >= b), "&&": lambda: int(bool(a and b)),
        "||": lambda: int(bool(a or b)),
    }  # fmt: skip
    return _wrap(ops[op]())


def evaluate(expr: str, env: Mapping[str, str]) -> tuple[str, dict[str, str], str | None]:
    """Value of ``expr``, the assignments it made, and bash's error message (``None`` if fine)."""
    text = expr[:256]
    toks: list[tuple[str, int]] = []  # token and its offset in text
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip():
                return "0", {}, f'{text}: syntax error: invalid arithmetic operator (error token is "{text[pos:]}")'
            break
        toks.append((m.group(1), m.start(1)))
        pos = m.end()
    assigned: dict[str, str] = {}
    i = 0
    depth = 0

    def rest() -> str:
        return text[toks[i][1] :] if i < len(toks) else ""

    def peek() -> str:
        return toks[i][0] if i < len(toks) else ""

    def var(name: str) -> int:
        raw = assigned.get(name, env.get(name, "")).strip()
        if not raw:
            return 0
        v = _number(raw) if re.fullmatch(r"-?\w+(#\w+)?", raw) else None
        if raw.startswith("-") and raw[1:].isdigit():
            return -int(raw[1:20])
        if v is None:
            raise _Err("syntax error: operand expected" if not raw[:1].isalnum() else "value too great for base", raw)
        return v

    def set_(name: str, v: int) -> int:
        assigned[name] = str(v)
        return v

    def primary() -> int:
        nonlocal i, depth
        tok = peek()
        if not tok:
            raise _Err("syntax error: operand expected", text[toks[i - 1][1] :] if i else text)
        if tok == "(":
            i += 1
            depth += 1
            if depth > _MAXDEPTH:
                raise _Err("expression recursion level exceeded", rest())
            v = comma()
            depth -= 1
            if peek() != ")":
                raise _Err("missing `)'", rest())
            i += 1
            return v
        if tok in ("-", "+", "!", "~"):
            i += 1
            v = unary_power()
            return {"-": -v, "+": v, "!": int(v == 0), "~": ~v}[tok]
        if tok in ("++", "--"):
            i += 1
            name = peek()
            if not re.fullmatch(r"[A-Za-z_]\w*", name):
                raise _Err("syntax error: operand expected", rest())
            i += 1
            return set_(name, _wrap(var(name) + (1 if tok == "++" else -1)))
        num = _number(tok)
        if num is not None:
            i += 1
            return num
        if re.fullmatch(r"[A-Za-z_]\w*", tok):
            i += 1
            if peek() in _ASSIGN:
                op = peek()
                i += 1
                v = assign()
                if op != "=":
                    v = _binop(op[:-1], var(tok), v, rest())
                return set_(tok, v)
            if peek() in ("++", "--"):
                op = peek()
                i += 1
                old = var(tok)
                set_(tok, _wrap(old + (1 if op == "++" else -1)))
                return old
            return var(tok)
        if tok[0].isdigit():
            raise _Err("value too great for base", rest())
        raise _Err("syntax error: operand expected", rest())

    def unary_power() -> int:
        nonlocal i
        v = primary()
        if peek() == "**":
            i += 1
            return _binop("**", v, unary_power(), rest())
        return v

    def binary(level: int) -> int:
        nonlocal i
        if level == len(_BIN):
            return unary_power()
        v = binary(level + 1)
        while peek() in _BIN[level]:
            op = peek()
            i += 1
            where = rest()
            if op in ("&&", "||") and ((op == "&&" and not v) or (op == "||" and v)):
                binary(level + 1)  # evaluated for syntax only; bash short-circuits side effects
                v = int(op == "||")
                continue
            v = _binop(op, v, binary(level + 1), where)
        return v

    def ternary() -> int:
        nonlocal i
        cond = binary(0)
        if peek() != "?":
            return cond
        i += 1
        a = assign()
        if peek() != ":":
            raise _Err("`:' expected for conditional expression", rest())
        i += 1
        b = assign()
        return a if cond else b

    def assign() -> int:
        return ternary()

    def comma() -> int:
        nonlocal i
        v = assign()
        while peek() == ",":
            i += 1
            v = assign()
        return v

    if not toks:
        return "0", {}, None
    try:
        value = comma()
        if i < len(toks):
            raise _Err("syntax error in expression", rest())
    except _Err as e:
        return "0", {}, f"{text}: {e.text}"
    except (RecursionError, ValueError, OverflowError):
        return "0", {}, f'{text}: syntax error: operand expected (error token is "{text}")'
    return str(value), assigned, None
