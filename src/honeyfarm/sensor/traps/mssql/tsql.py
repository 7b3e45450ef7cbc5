# SPDX-License-Identifier: MIT
"""Just enough T-SQL lexing to answer scanners and read attackers' command lines.

Not a parser: a batch is cut into statements at ``;`` and at the keywords that start one
(outside strings, comments, brackets and parentheses), and each statement's arguments are
split at top-level commas. Variables set to a literal (``DECLARE @c varchar(99) = 'whoami'``,
``SET @c = 0x77686f616d69``, ``CAST(0x.. AS varchar)``) are remembered, so an
``EXEC xp_cmdshell @c`` or ``EXEC(@c)`` is read as its text. Everything is bounded by the
batch, which the caller caps.
"""

from __future__ import annotations

import re

STARTS = {
    "select",
    "exec",
    "execute",
    "declare",
    "set",
    "use",
    "reconfigure",
    "insert",
    "update",
    "delete",
    "create",
    "drop",
    "alter",
    "if",
    "begin",
    "end",
    "print",
    "go",
    "waitfor",
    "while",
    "return",
    "grant",
    "revoke",
    "deny",
    "truncate",
    "backup",
    "restore",
    "dbcc",
    "kill",
    "shutdown",
}
MAX_STATEMENTS = 256
_WORD = re.compile(r"[A-Za-z_@#][\w@#$]*")
_HEX = re.compile(r"0x([0-9a-fA-F]{2,})")
_AS = re.compile(r"\sas\s", re.I)
# where the scanners below must look; everything between is skipped in C, not character by character
_STMT_STOP = re.compile(r"['\"\[();]|--|/\*|(?<![\w@#.])[^\W\d]")
_ARG_STOP = re.compile(r"['\"\[(),]|--|/\*")
_PLUS_STOP = re.compile(r"['\"\[()+]|--|/\*")


def _skip(text: str, i: int) -> int:
    """Index after the string, bracket name or comment starting at ``i`` (else ``i``)."""
    c = text[i]
    if c in "'\"":
        j = i + 1
        while True:
            j = text.find(c, j)
            if j < 0:
                return len(text)
            if text.startswith(c, j + 1):  # a doubled quote inside the string
                j += 2
                continue
            return j + 1
    if c == "[":
        j = text.find("]", i + 1)
        return len(text) if j < 0 else j + 1
    if text.startswith("--", i):
        j = text.find("\n", i)
        return len(text) if j < 0 else j + 1
    if text.startswith("/*", i):
        j = text.find("*/", i + 2)
        return len(text) if j < 0 else j + 2
    return i


def statements(text: str) -> list[str]:
    """The batch cut into statements (at most :data:`MAX_STATEMENTS`)."""
    out: list[str] = []
    start = i = depth = 0
    n = len(text)

    def cut(at: int) -> None:
        piece = text[start:at].strip()
        if piece and len(out) < MAX_STATEMENTS:
            out.append(piece)

    while i < n:
        nxt = _STMT_STOP.search(text, i)  # jump over what cannot start or end anything
        if nxt is None:
            break
        i = nxt.start()
        j = _skip(text, i)
        if j != i:
            i = j
            continue
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == ";" and depth == 0:
            cut(i)
            start = i + 1
        elif (c.isalpha() or c == "_") and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_@#.")):
            m = _WORD.match(text, i)
            if m is None:  # a letter the word pattern does not start with (non-ASCII)
                i += 1
                continue
            if depth == 0 and m.group().lower() in STARTS and i > start and not _continues(text, start, i):
                cut(i)
                start = i
            i = m.end()
            continue
        i += 1
    cut(n)
    return out


def _continues(text: str, start: int, at: int) -> bool:
    """Keywords that do not start a statement here: ``INSERT ... SELECT``, ``IF ... SELECT``,
    ``UPDATE ... SET``, ``... EXEC`` after ``INSERT INTO t``."""
    first = text[start:at].split(None, 1)[0].lower() if text[start:at].strip() else ""
    word = text[at : at + 8].lower()
    if first in {"insert", "if", "while", "create", "alter"} and word.startswith(("select", "exec")):
        return True
    return first == "update" and word.startswith("set")


def first_word(stmt: str) -> str:
    m = _WORD.match(stmt)
    return m.group().lower() if m else ""


def split_args(text: str) -> list[str]:
    """Top-level comma-separated pieces of ``text``."""
    out: list[str] = []
    start = i = depth = 0
    while i < len(text) and len(out) < 64:
        nxt = _ARG_STOP.search(text, i)
        if nxt is None:
            break
        i = nxt.start()
        j = _skip(text, i)
        if j != i:
            i = j
            continue
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail or out:
        out.append(tail)
    return out


def literal(expr: str, variables: dict[str, str] | None = None) -> str | None:
    """The text of a string/hex literal, a ``CAST``/``CONVERT`` of one, a ``+`` concatenation of
    them or a remembered variable; ``None`` for anything else."""
    expr = expr.strip()
    if expr[-7:-6].isspace() and expr[-6:].lower() == "output":
        expr = expr[:-6].strip()
    parts = _plus(expr)
    if len(parts) > 1:
        texts = [literal(p, variables) for p in parts]
        return None if any(t is None for t in texts) else "".join(t or "" for t in texts)
    if len(expr) >= 2 and expr[0] in "nN" and expr[1] == "'":
        expr = expr[1:]
    if len(expr) >= 2 and expr[0] == "'" and expr[-1] == "'":
        return expr[1:-1].replace("''", "'")
    m = _HEX.fullmatch(expr)
    if m:
        return hex_text(m.group(1))
    inner = _cast(expr)
    if inner is not None:
        return literal(inner, variables)
    if expr.startswith("@") and variables is not None:
        return variables.get(expr.lower())
    return None


def _cast(expr: str) -> str | None:
    """The value inside ``CAST(value AS type)`` / ``CONVERT(type, value)``. Found by scanning, not
    by a backtracking pattern: a regex here was quadratic on a long attacker batch."""
    low = expr.lower()
    head = "cast" if low.startswith("cast") else "convert" if low.startswith("convert") else ""
    open_ = expr.find("(")
    if not head or open_ < 0 or expr[len(head) : open_].strip() or not expr.endswith(")"):
        return None
    inner = expr[open_ + 1 : -1]
    if head == "convert":
        args = split_args(inner)
        return args[1] if len(args) >= 2 else None
    last = None
    for m in _AS.finditer(inner):
        last = m
    return inner[: last.start()] if last else None


def _plus(expr: str) -> list[str]:
    parts: list[str] = []
    start = i = depth = 0
    while i < len(expr) and len(parts) < 64:
        nxt = _PLUS_STOP.search(expr, i)
        if nxt is None:
            break
        i = nxt.start()
        j = _skip(expr, i)
        if j != i:
            i = j
            continue
        c = expr[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == "+" and depth == 0:
            parts.append(expr[start:i].strip())
            start = i + 1
        i += 1
    parts.append(expr[start:].strip())
    return parts


def hex_text(digits: str) -> str:
    raw = bytes.fromhex(digits[: len(digits) // 2 * 2])
    # nvarchar casts of hex are UTF-16: every other byte zero
    if len(raw) >= 4 and raw[1::2].count(0) >= len(raw) // 2 - 1 and raw[1] == 0:
        return raw.decode("utf-16-le", "replace")
    return raw.decode("latin-1")


def assignment(stmt: str) -> tuple[str, str] | None:
    """``(variable, text)`` of ``SET @v = <literal>`` or ``DECLARE @v type = <literal>``."""
    m = re.match(r"(?is)set\s+(@\w+)\s*=\s*(.+)$", stmt) or re.match(
        r"(?is)declare\s+(@\w+)\s+(?:as\s+)?[\w]+(?:\s*\([^)]*\))?\s*=\s*(.+)$", stmt
    )
    if not m:
        return None
    value = literal(m.group(2))
    return None if value is None else (m.group(1).lower(), value)


def proc_call(stmt: str) -> tuple[str, list[str]] | None:
    """``(procedure, args)`` of ``EXEC [@ret =] [db.schema.]proc args`` or a bare ``proc args``."""
    m = re.match(r"(?is)(?:exec(?:ute)?\s+)?(?:@\w+\s*=\s*)?((?:\[?\w*\]?\.){0,3}\[?[\w#]+\]?)\s*(.*)$", stmt)
    if not m:
        return None
    name = m.group(1).split(".")[-1].strip("[]").lower()
    return name, split_args(m.group(2)) if m.group(2).strip() else []


def named(arg: str) -> tuple[str, str]:
    """``@name = value`` → (``@name``, value); a positional arg has no name."""
    m = re.match(r"(?s)(@\w+)\s*=\s*(.+)$", arg)
    return (m.group(1).lower(), m.group(2).strip()) if m else ("", arg)
