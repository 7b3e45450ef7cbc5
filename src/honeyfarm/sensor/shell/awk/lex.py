# SPDX-License-Identifier: MIT
"""Lexer of the awk subset (tokens for :mod:`honeyfarm.sensor.shell.awk.parse`).

awk's lexing depends on context (``/`` starts a regex only where an operand may start, a name
followed by ``(`` is a function call), so it is a small hand-written scanner, capped in size.
"""

from __future__ import annotations

import re
from typing import Any

MAX_PROGRAM = 64 * 1024
KEYWORDS = {"BEGIN", "END", "function", "func", "if", "else", "while", "for", "do", "break", "continue", "next",
            "nextfile", "exit", "return", "delete", "in", "getline", "print", "printf"}  # fmt: skip
BUILTINS = {"length", "substr", "index", "split", "sub", "gsub", "match", "sprintf", "tolower", "toupper", "int",
            "sqrt", "exp", "log", "sin", "cos", "atan2", "rand", "srand", "system", "close", "fflush"}  # fmt: skip
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r]+|\\\n|\#[^\n]*)
    |(?P<nl>\n)
    |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    |(?P<str>"(?:[^"\\\n]|\\.)*")
    |(?P<name>[A-Za-z_][A-Za-z_0-9]*)
    |(?P<op>\+\+|--|\+=|-=|\*=|/=|%=|\^=|==|<=|>=|!=|!~|&&|\|\||>>|[-+*/%^!<>~?:=,;{}()\[\]$|])
    """,
    re.X,
)
_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "/": "/", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


class AwkSyntaxError(Exception):
    """The program does not parse; the message is mawk's."""


def unescape(s: str) -> str:
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            d = s[i + 1]
            if d in _ESC:
                out.append(_ESC[d])
                i += 2
                continue
            m = re.match(r"[0-7]{1,3}", s[i + 1 :])
            if m:
                out.append(chr(int(m.group(), 8)))
                i += 1 + m.end()
                continue
            out.append("\\" + d)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def tokenize(src: str) -> list[tuple[str, Any]]:
    """Tokens as (kind, value); kind is num, str, ere, name, func (name followed by '('), kw, op, nl, eof."""
    if len(src) > MAX_PROGRAM:
        raise AwkSyntaxError("program too long")
    toks: list[tuple[str, Any]] = []
    i = 0
    while i < len(src):
        prev = toks[-1] if toks else ("nl", "")
        operand = prev[0] in ("num", "str", "ere", "name") or prev[1] in (")", "]", "$", "++", "--")
        if src[i] == "/" and not operand:
            j = i + 1
            in_br = False
            while j < len(src) and (src[j] != "/" or in_br) and src[j] != "\n":
                if src[j] == "\\":
                    j += 1
                elif src[j] == "[":
                    in_br = True
                elif src[j] == "]":
                    in_br = False
                j += 1
            if j >= len(src) or src[j] != "/":
                raise AwkSyntaxError("line 1: runaway regular expression /" + src[i + 1 : i + 11] + " ...")
            toks.append(("ere", src[i + 1 : j].replace("\\/", "/")))
            i = j + 1
            continue
        m = _TOKEN.match(src, i)
        if not m:
            raise AwkSyntaxError(f"line {src.count(chr(10), 0, i) + 1}: syntax error at or near {src[i]}")
        i = m.end()
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "ws":
            continue
        if kind == "num":
            toks.append(("num", float(text)))
        elif kind == "str":
            toks.append(("str", unescape(text[1:-1])))
        elif kind == "name":
            if text in KEYWORDS:
                toks.append(("kw", text))
            elif (i < len(src) and src[i] == "(") or text in BUILTINS:
                toks.append(("func", text))
            else:
                toks.append(("name", text))
        elif kind == "nl":
            toks.append(("nl", "\n"))
        else:
            toks.append(("op", text))  # mawk has no ** operator
    toks.append(("eof", ""))
    return toks
