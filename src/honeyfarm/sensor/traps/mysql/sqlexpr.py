# SPDX-License-Identifier: MIT
"""The few SQL expressions a file-writing attack needs, evaluated to bytes.

A UDF or webshell upload puts its blob in a literal: ``0x7f454c46...``, ``X'...'``,
``UNHEX('...')``, ``FROM_BASE64('...')``, a quoted string, a user variable set before
(``SET @a = 0x...``), or a ``CONCAT()`` of those. Anything else evaluates to ``None`` (the
blob is then not known). Input is at most one packet; every output is capped by the caller's
``limit`` before it is built, so a decoded blob never grows past it.
"""

from __future__ import annotations

import base64
import binascii
import re

_HEX = re.compile(r"0x([0-9a-fA-F]*)\b")
_XSTR = re.compile(r"[xX]'([0-9a-fA-F]*)'")
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.S)
_SPECIAL_COMMA = re.compile(r"[()'\"`,]")
_VAR = re.compile(r"@([A-Za-z0-9_$.]+)|@`([^`]{1,64})`")
MAX_ARGS = 4096  # arguments of one CONCAT() evaluated (uploaders use a handful)
_ESC = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "\\": "\\", "'": "'", '"': '"'}


def string_literal(text: str, i: int) -> tuple[str, int] | None:
    """The quoted string starting at ``text[i]`` (``'`` or ``"``) with MySQL's escapes; its end."""
    quote = text[i]
    out: list[str] = []
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "\\" and j + 1 < len(text):
            out.append(_ESC.get(text[j + 1], text[j + 1]))
            j += 2
            continue
        if ch == quote:
            if j + 1 < len(text) and text[j + 1] == quote:  # '' inside '...'
                out.append(quote)
                j += 2
                continue
            return "".join(out), j + 1
        out.append(ch)
        j += 1
    return None


def split_top(text: str, sep: str = ",", max_parts: int = 1 << 20) -> list[str]:
    """``text`` split at ``sep`` outside quotes and parentheses (at most ``max_parts``, the last one
    holding the rest). Only the special characters are visited (a regex scan in C), so a megabyte of
    hex costs a few milliseconds."""
    parts: list[str] = []
    depth = 0
    start = 0
    pos = 0
    special = _SPECIAL_COMMA if sep == "," else re.compile(r"[()'\"`" + re.escape(sep) + "]")
    while len(parts) < max_parts - 1 and (m := special.search(text, pos)) is not None:
        ch = m.group()
        i = m.start()
        pos = i + 1
        if ch in "'\"`":
            end = text.find(ch, pos)
            while end > 0 and ch != "`" and _escaped(text, end):
                end = text.find(ch, end + 1)
            if end < 0:
                break
            pos = end + 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            parts.append(text[start:i].strip())
            start = pos
    parts.append(text[start:].strip())
    return parts


def _escaped(text: str, i: int) -> bool:
    """Whether the quote at ``i`` is escaped by an odd run of backslashes before it."""
    n = 0
    while i - n - 1 >= 0 and text[i - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _unhex(digits: str, limit: int) -> bytes | None:
    if len(digits) % 2:
        digits = "0" + digits  # MariaDB reads 0xABC as 0x0ABC
    try:
        return bytes.fromhex(digits[: 2 * limit])
    except ValueError:
        return None


def evaluate(expr: str, variables: dict[str, bytes], limit: int, depth: int = 0) -> bytes | None:
    """The bytes ``expr`` stands for, at most ``limit`` of them; None when it is not one we know."""
    expr = expr.strip()
    if not expr or depth > 8:
        return None
    if m := _HEX.fullmatch(expr):
        return _unhex(m.group(1), limit)
    if m := _XSTR.fullmatch(expr):
        return _unhex(m.group(1), limit)
    if expr[0] in "'\"":
        lit = string_literal(expr, 0)
        if lit is not None and lit[1] == len(expr):
            return lit[0].encode("utf-8", "surrogateescape")[:limit]
        return None
    if m := _VAR.fullmatch(expr):
        return variables.get((m.group(1) or m.group(2)).lower(), b"")[:limit]
    m = _CALL.match(expr)
    if m is None or not expr.endswith(")"):
        return None
    name = m.group(1).lower()
    args = split_top(expr[m.end() : -1], max_parts=MAX_ARGS)
    if name == "concat":
        out = bytearray()
        for a in args:
            part = evaluate(a, variables, limit - len(out), depth + 1)
            if part is None:
                return None
            out += part
            if len(out) >= limit:
                break
        return bytes(out[:limit])
    if name in ("unhex", "from_base64", "binary", "convert", "cast") and args:
        inner = evaluate(args[0].split(" using ")[0].split(" USING ")[0], variables, 4 * limit + 4, depth + 1)
        if inner is None:
            return None
        if name == "unhex":
            return _unhex(inner.decode("latin-1"), limit)
        if name == "from_base64":
            try:
                return base64.b64decode(inner[: 4 * (limit // 3 + 1)], validate=False)[:limit]
            except (binascii.Error, ValueError):
                return None
        return inner[:limit]
    if name == "char" and args:
        try:
            return bytes(int(a) & 0xFF for a in args[:limit])
        except ValueError:
            return None
    return None
