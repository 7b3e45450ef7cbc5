# SPDX-License-Identifier: MIT
"""Tokenizer of the fake shell: words with their quoting kept as parts, operators, here-documents.

Split from :mod:`honeyfarm.sensor.shell.parse` to keep each module small. Expansion happens at run time
(``export A=1; echo $A``), so a word is a list of parts saying what may be expanded, split or
globbed. Here-document bodies are read when the newline that ends their command is reached, as
bash does, and attached to the ``<<`` token. A syntax error does not discard the tokens before
it: bash runs the complete commands before a broken line, so the parser does too.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from honeyfarm.sensor.shell.diag import ParseError
from honeyfarm.sensor.shell.nodes import Part, Word

__all__ = ["Tok", "heredoc_word", "matching", "scan", "tokenize"]

_OPS = ("&&", "||", "|&", ";;&", ";;", ";&", "<<<", "<<-", ">>", ">&", ">|", "&>>", "&>", "<<", "<>", "<&",
        ";", "&", "|", ">", "<", "(", ")", "\n")  # fmt: skip
_REDIR_OPS = (">", ">>", "<", ">&", "<>", ">|", "<<", "<<-", "<<<", "<&")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = "?$#!@*-0123456789"
_BARE_RUN = re.compile(r"[^ \t\r\n\\'\"$`;&|<>()]+")  # plain text up to the next special character
_DQ_RUN = re.compile(r'[^"\\$`]+')
_HD_RUN = re.compile(r"[^\\$`]+")
MAX_HEREDOCS = 64


@dataclass
class Tok:
    kind: str  # "op" or "word"
    value: str
    start: int
    end: int
    word: Word | None = None
    body: Word | None = None  # here-document text, on a "<<"/"<<-" token
    unterminated: str | None = None  # the delimiter, when the input ended before it


class _Lines:
    """1-based line number of an offset in the source."""

    def __init__(self, src: str) -> None:
        self.nl = [i for i, c in enumerate(src) if c == "\n"]

    def at(self, pos: int) -> int:
        return bisect.bisect_left(self.nl, pos) + 1


def matching(src: str, i: int, open_: str, close: str) -> int:
    """Index of the ``close`` matching the ``open_`` just before ``i``, skipping quotes. -1 if none."""
    depth = 1
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = src.find("'", i + 1)
            if j < 0:
                return -1
            i = j + 1
            continue
        if c == '"':
            j = i + 1
            while j < len(src) and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _eof(what: str, line: int) -> ParseError:
    return ParseError(f"unexpected EOF while looking for matching `{what}'", line, None, quote=True)


def _dollar(src: str, i: int, quoted: bool, parts: list[Part], line: int = 1) -> int:
    """Parse an expansion starting at ``src[i] == "$"``; append its part; return the next index."""
    nxt = src[i + 1 : i + 2]
    if nxt == "(":
        end = matching(src, i + 2, "(", ")")
        if end < 0:
            raise _eof(")", line)
        inner = src[i + 2 : end]
        if inner.startswith("(") and inner.endswith(")"):
            parts.append(Part("arith", inner[1:-1], quoted))
        else:
            parts.append(Part("sub", inner, quoted))
        return end + 1
    if nxt == "[":  # $[ expr ]: old arithmetic form
        end = src.find("]", i + 2)
        if end >= 0:
            parts.append(Part("arith", src[i + 2 : end], quoted))
            return end + 1
    if nxt == "{":
        end = src.find("}", i + 2)
        if end < 0:
            raise _eof("}", line)
        parts.append(Part("var", src[i + 2 : end], quoted))
        return end + 1
    m = _NAME.match(src, i + 1)
    if m:
        parts.append(Part("var", m.group(), quoted))
        return m.end()
    if nxt and nxt in _SPECIAL:
        parts.append(Part("var", nxt, quoted))
        return i + 2
    if nxt == "'" and not quoted:  # $'...' ANSI-C quoting: handled as a literal with escapes done by the caller
        j = i + 2
        while j < len(src) and src[j] != "'":
            j += 2 if src[j] == "\\" else 1
        if j >= len(src):
            raise _eof("'", line)
        parts.append(Part("ansi", src[i + 2 : j], True))
        return j + 1
    parts.append(Part("lit" if quoted else "bare", "$", quoted))
    return i + 1


def _backtick(src: str, i: int, quoted: bool, parts: list[Part], line: int = 1) -> int:
    j = src.find("`", i + 1)
    if j < 0:
        raise _eof("`", line)
    parts.append(Part("sub", src[i + 1 : j], quoted))
    return j + 1


def heredoc_word(body: str, expand: bool) -> Word:
    """A here-document body as a word: literal if the delimiter was quoted, else like ``"..."``
    without the quotes (``$x``, ``$(...)``, backticks and ``\\$`` ``\\``` ``\\\\`` ``\\<newline>``)."""
    if not expand:
        return Word([Part("lit", body, True)], body)
    parts: list[Part] = []
    i = 0
    while i < len(body):
        d = body[i]
        try:
            if d == "\\" and i + 1 < len(body) and body[i + 1] in "$`\\\n":
                if body[i + 1] != "\n":
                    parts.append(Part("lit", body[i + 1], True))
                i += 2
            elif d == "$":
                i = _dollar(body, i, True, parts)
            elif d == "`":
                i = _backtick(body, i, True, parts)
            else:
                m = _HD_RUN.match(body, i)
                run = m.group() if m else d
                parts.append(Part("lit", run, True))
                i += len(run)
        except ParseError:
            parts.append(Part("lit", body[i:], True))
            break
    return Word(parts or [Part("lit", "", True)], body)


def tokenize(src: str) -> list[Tok]:
    """All tokens of ``src``; raises :class:`ParseError` on an unterminated quote."""
    toks, err = scan(src)
    if err is not None:
        raise err
    return toks


def scan(src: str) -> tuple[list[Tok], ParseError | None]:
    """Tokens of ``src`` up to the first lexical error, and that error (or ``None``)."""
    toks: list[Tok] = []
    lines = _Lines(src)
    i, n = 0, len(src)
    parts: list[Part] = []
    start = -1
    pending: list[tuple[Tok, bool]] = []  # here-doc operators waiting for their body: (token, strip tabs)

    def add(kind: str, text: str, quoted: bool = False) -> None:
        if parts and parts[-1].kind == kind and kind in ("lit", "bare"):
            parts[-1].text += text
        else:
            parts.append(Part(kind, text, quoted))

    def flush(end: int) -> None:
        nonlocal parts, start
        if start >= 0:
            raw = src[start:end]
            tok = Tok("word", raw, start, end, Word(parts, raw))
            prev = toks[-1] if toks else None
            heredoc = prev is not None and prev.kind == "op" and prev.value.lstrip("0123456789") in ("<<", "<<-")
            if heredoc and prev is not None and len(pending) < MAX_HEREDOCS:
                pending.append((prev, prev.value.endswith("-")))
            toks.append(tok)
        parts, start = [], -1

    def bodies(pos: int) -> int:
        """Read the pending here-document bodies starting at ``pos``; return where the input resumes."""
        for op, strip in pending:
            delim_tok = toks[toks.index(op) + 1]
            assert delim_tok.word is not None
            quoted = any(p.quoted for p in delim_tok.word.parts)
            delim = "".join(p.text for p in delim_tok.word.parts)
            body: list[str] = []
            op.unterminated = delim
            while pos < n:
                j = src.find("\n", pos)
                line = src[pos : n if j < 0 else j]
                pos = n if j < 0 else j + 1
                if strip:
                    line = line.lstrip("\t")
                if line == delim:
                    op.unterminated = None
                    break
                body.append(line + "\n")
            op.body = heredoc_word("".join(body), not quoted)
        pending.clear()
        return pos

    try:
        while i < n:
            c = src[i]
            if c in " \t\r":
                flush(i)
                i += 1
                continue
            if c == "#" and start < 0:
                j = src.find("\n", i)
                i = n if j < 0 else j
                continue
            op = next((o for o in _OPS if src.startswith(o, i)), None)
            if op is not None:
                if op in _REDIR_OPS and start >= 0 and src[start:i].isdigit() and all(p.kind == "bare" for p in parts):
                    toks.append(Tok("op", src[start:i] + op, start, i + len(op)))
                    parts, start = [], -1
                    i += len(op)
                    continue
                flush(i)
                toks.append(Tok("op", op, i, i + len(op)))
                i += len(op)
                if op == "\n" and pending:
                    i = bodies(i)
                continue
            if start < 0:
                start = i
            if c == "\\":
                if i + 1 < n and src[i + 1] == "\n":
                    i += 2
                    continue
                add("lit", src[i + 1 : i + 2], True)
                i += 2
            elif c == "'":
                j = src.find("'", i + 1)
                if j < 0:
                    raise _eof("'", lines.at(i))
                add("lit", src[i + 1 : j], True)
                i = j + 1
            elif c == '"':
                q = i
                i += 1
                while True:
                    if i >= n:
                        raise _eof('"', lines.at(q))
                    d = src[i]
                    if d == '"':
                        i += 1
                        break
                    if d == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
                        if src[i + 1] != "\n":
                            add("lit", src[i + 1], True)
                        i += 2
                    elif d == "$":
                        i = _dollar(src, i, True, parts, lines.at(i))
                    elif d == "`":
                        i = _backtick(src, i, True, parts, lines.at(i))
                    else:
                        m = _DQ_RUN.match(src, i)
                        run = m.group() if m else d
                        add("lit", run, True)
                        i += len(run)
                if not parts:
                    parts.append(Part("lit", "", True))
            elif c == "$":
                i = _dollar(src, i, False, parts, lines.at(i))
            elif c == "`":
                i = _backtick(src, i, False, parts, lines.at(i))
            else:
                m = _BARE_RUN.match(src, i)
                run = m.group() if m else c
                add("bare", run)
                i += len(run)
        flush(n)
        if pending:
            bodies(n)
    except ParseError as e:
        return toks, e
    return toks, None
