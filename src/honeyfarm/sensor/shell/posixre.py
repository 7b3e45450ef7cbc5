# SPDX-License-Identifier: MIT
"""POSIX regular expressions (BRE and ERE, with GNU extensions) for the fake shell's text tools.

grep, sed and awk take patterns from the attacker, so a pattern must never stall the event loop:
patterns are translated to the syntax of the ``regex`` package and every match runs with a
timeout (``regex`` releases catastrophic backtracking with ``TimeoutError``, which callers see as
:class:`PatternError`). Python's ``re`` has no such bound, which is why it is not used here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import regex

MAX_PATTERN = 2048
TIMEOUT = 0.05  # seconds per match call

_CLASSES = {
    "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
    "space": r" \t\n\r\f\v", "blank": r" \t", "punct": r"!-/:-@\[-`{-~", "xdigit": "0-9A-Fa-f",
    "cntrl": r"\x00-\x1f\x7f", "print": r"\x20-\x7e", "graph": r"\x21-\x7e", "word": r"\w",
}  # fmt: skip


class PatternError(Exception):
    """The pattern does not compile, or a match ran out of time."""


def _bracket(p: str, i: int) -> tuple[str, int]:
    """Translate the bracket expression starting at p[i] == '['. Returns (text, index after ']')."""
    j = i + 1
    out = "["
    if j < len(p) and p[j] == "^":
        out += "^"
        j += 1
    first = True
    while j < len(p):
        c = p[j]
        if c == "]" and not first:
            return out + "]", j + 1
        was_first, first = first, False
        if c == "[" and j + 1 < len(p) and p[j + 1] in ":.=":
            end = p.find(p[j + 1] + "]", j + 2)
            if end < 0:
                raise PatternError("Unmatched [, [^, [:, [., or [=")
            name = p[j + 2 : end]
            if p[j + 1] == ":":
                if name not in _CLASSES:
                    raise PatternError("Invalid character class name")
                out += _CLASSES[name]
            else:
                out += regex.escape(name)
            j = end + 2
            continue
        if c == "-":
            out += "\\-" if was_first or p[j + 1 : j + 2] == "]" else "-"
        else:
            out += "\\" + c if c in "\\[]^&~|" else c
        j += 1
    raise PatternError("Unmatched [, [^, [:, [., or [=")


def translate(p: str, extended: bool) -> str:
    """POSIX BRE (``extended=False``) or ERE to ``regex`` syntax."""
    if len(p) > MAX_PATTERN:
        raise PatternError("Regular expression too big")
    out: list[str] = []
    i = 0
    depth = 0
    while i < len(p):
        c = p[i]
        at_start = not out or out[-1] in ("(", "|", "^")
        if c == "[":
            text, i = _bracket(p, i)
            out.append(text)
            continue
        if c == "\\" and i + 1 < len(p):
            d = p[i + 1]
            i += 2
            if not extended and d in "(){}|+?":
                if d == "(":
                    depth += 1
                elif d == ")":
                    depth -= 1
                    if depth < 0:
                        raise PatternError("Unmatched ) or \\)")
                out.append(d)
            elif d in "<>":
                out.append(r"\b")
            elif d in "wWsSbB" or d.isdigit():
                out.append("\\" + d)
            elif d == "n":
                out.append(r"\n")
            elif d == "t":
                out.append(r"\t")
            else:
                out.append(regex.escape(d))
            continue
        i += 1
        if c == "*" and at_start:
            out.append(r"\*")
        elif (extended and c in "+?{" and at_start) or (not extended and c in "(){}|+?"):
            out.append(regex.escape(c))
        elif c in "(){}|+?*.^$":
            if extended and c == "(":
                depth += 1
            elif extended and c == ")":
                if depth == 0:
                    out.append(r"\)")
                    continue
                depth -= 1
            if c == "^" and not extended and not at_start:
                out.append(r"\^")
            elif c == "$" and not extended and i < len(p) and not p[i:].startswith("\\)"):
                out.append(r"\$")
            else:
                out.append(c)
        else:
            out.append(regex.escape(c))
    if depth:
        raise PatternError("Unmatched ( or \\(")
    return "".join(out)


@lru_cache(maxsize=256)
def _compile(pattern: str, extended: bool, icase: bool, literal: bool) -> Any:
    src = regex.escape(pattern) if literal else translate(pattern, extended)
    try:
        return regex.compile(src, (regex.IGNORECASE if icase else 0) | regex.VERSION0)
    except (regex.error, OverflowError, RecursionError) as e:
        raise PatternError(str(e)) from None


class Pattern:
    """A compiled POSIX pattern whose every use is time-bounded."""

    def __init__(self, pattern: str, *, extended: bool = False, icase: bool = False, literal: bool = False) -> None:
        self.source = pattern
        self._re = _compile(pattern, extended, icase, literal)

    def search(self, text: str, pos: int = 0) -> Any:
        try:
            return self._re.search(text, pos, timeout=TIMEOUT)
        except TimeoutError:
            raise PatternError("timed out") from None

    def finditer(self, text: str) -> Iterator[Any]:
        try:
            yield from self._re.finditer(text, timeout=TIMEOUT)
        except TimeoutError:
            raise PatternError("timed out") from None

    def sub(self, repl: Callable[[Any], str], text: str, count: int = 0) -> tuple[str, int]:
        try:
            result: tuple[str, int] = self._re.subn(repl, text, count=count, timeout=TIMEOUT)
        except TimeoutError:
            raise PatternError("timed out") from None
        return result
