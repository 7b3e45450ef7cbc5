# SPDX-License-Identifier: MIT
"""Tokenizer and parser for the fake shell's command language (a useful subset of bash).

Hand-written rather than :mod:`shlex`: expansion happens at run time (``export A=1; echo $A``),
so words keep their quoting, as parts saying what may be expanded, split or globbed.
Supported: quotes and escapes, ``;`` ``&&`` ``||`` ``|`` ``&``, redirections (``>`` ``>>``
``<`` ``2>&1`` ``&>``), ``$VAR`` ``${VAR}`` ``$(...)`` and backticks, ``( list )`` and
``{ list; }``, ``if``/``for``/``while``/``until``. Anything else is reported the way bash
reports it (``syntax error near unexpected token ...``). Parsing is linear in the input and
the nesting depth is bounded, so no input can make it recurse or allocate without limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from honeyfarm.sensor.shast import Command, For, Group, If, ListNode, Part, Pipeline, Redir, Simple, While, Word

MAX_DEPTH = 32
_OPS = ("&&", "||", ";;", ">>", ">&", ">|", "&>", "<<", "<>", ";", "&", "|", ">", "<", "(", ")", "\n")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = "?$#!@*-0123456789"
_BARE_RUN = re.compile(r"[^ \t\r\n\\'\"$`;&|<>()]+")  # plain text up to the next special character
_DQ_RUN = re.compile(r'[^"\\$`]+')


__all__ = ["Command", "For", "Group", "If", "ListNode", "ParseError", "Part", "Pipeline", "Redir", "Simple", "While",
           "Word", "parse", "tokenize"]  # fmt: skip


class ParseError(Exception):
    """A bash syntax error; ``str(e)`` is bash's message without the ``bash: `` prefix."""


@dataclass
class Tok:
    kind: str  # "op" or "word"
    value: str
    start: int
    end: int
    word: Word | None = None


def _matching(src: str, i: int, open_: str, close: str) -> int:
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


def _dollar(src: str, i: int, quoted: bool, parts: list[Part]) -> int:
    """Parse an expansion starting at ``src[i] == "$"``; append its part; return the next index."""
    nxt = src[i + 1 : i + 2]
    if nxt == "(":
        end = _matching(src, i + 2, "(", ")")
        if end < 0:
            raise ParseError("unexpected EOF while looking for matching `)'")
        inner = src[i + 2 : end]
        if inner.startswith("(") and inner.endswith(")"):
            parts.append(Part("arith", inner[1:-1], quoted))
        else:
            parts.append(Part("sub", inner, quoted))
        return end + 1
    if nxt == "{":
        end = src.find("}", i + 2)
        if end < 0:
            raise ParseError("unexpected EOF while looking for matching `}'")
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
        end = src.find("'", i + 2)
        if end < 0:
            raise ParseError("unexpected EOF while looking for matching `''")
        parts.append(Part("ansi", src[i + 2 : end], True))
        return end + 1
    parts.append(Part("lit" if quoted else "bare", "$", quoted))
    return i + 1


def _backtick(src: str, i: int, quoted: bool, parts: list[Part]) -> int:
    j = src.find("`", i + 1)
    if j < 0:
        raise ParseError("unexpected EOF while looking for matching ``'")
    parts.append(Part("sub", src[i + 1 : j], quoted))
    return j + 1


def tokenize(src: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(src)
    parts: list[Part] = []
    start = -1

    def add(kind: str, text: str, quoted: bool = False) -> None:
        if parts and parts[-1].kind == kind and kind in ("lit", "bare"):
            parts[-1].text += text
        else:
            parts.append(Part(kind, text, quoted))

    def flush(end: int) -> None:
        nonlocal parts, start
        if start >= 0:
            raw = src[start:end]
            toks.append(Tok("word", raw, start, end, Word(parts, raw)))
        parts, start = [], -1

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
            if (
                op in (">", ">>", "<", ">&", "<>", ">|", "<<")
                and start >= 0
                and src[start:i].isdigit()
                and all(p.kind == "bare" for p in parts)
            ):
                toks.append(Tok("op", src[start:i] + op, start, i + len(op)))
                parts, start = [], -1
                i += len(op)
                continue
            flush(i)
            toks.append(Tok("op", op, i, i + len(op)))
            i += len(op)
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
                raise ParseError("unexpected EOF while looking for matching `''")
            add("lit", src[i + 1 : j], True)
            i = j + 1
        elif c == '"':
            i += 1
            while True:
                if i >= n:
                    raise ParseError("unexpected EOF while looking for matching `\"'")
                d = src[i]
                if d == '"':
                    i += 1
                    break
                if d == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
                    if src[i + 1] != "\n":
                        add("lit", src[i + 1], True)
                    i += 2
                elif d == "$":
                    i = _dollar(src, i, True, parts)
                elif d == "`":
                    i = _backtick(src, i, True, parts)
                else:
                    m = _DQ_RUN.match(src, i)
                    run = m.group() if m else d
                    add("lit", run, True)
                    i += len(run)
            if not parts:
                parts.append(Part("lit", "", True))
        elif c == "$":
            i = _dollar(src, i, False, parts)
        elif c == "`":
            i = _backtick(src, i, False, parts)
        else:
            m = _BARE_RUN.match(src, i)
            run = m.group() if m else c
            add("bare", run)
            i += len(run)
    flush(n)
    return toks


class Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = tokenize(src)
        self.i = 0
        self.depth = 0

    # --- helpers -------------------------------------------------------------------------------------------------

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def word_is(self, *names: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "word" and t.word is not None and t.word.plain() in names

    def op_is(self, *ops: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "op" and t.value in ops

    def unexpected(self) -> ParseError:
        t = self.peek()
        if t is None:
            return ParseError("syntax error: unexpected end of file")
        value = "newline" if t.value == "\n" else t.value
        return ParseError(f"syntax error near unexpected token `{value}'")

    def expect_word(self, name: str) -> None:
        self.skip_newlines()
        if not self.word_is(name):
            raise self.unexpected()
        self.i += 1

    def skip_newlines(self) -> None:
        while self.op_is("\n", ";"):
            prev = self.toks[self.i - 1] if self.i else None
            if self.op_is(";") and (prev is None or (prev.kind == "op" and prev.value in ("\n", ";"))):
                raise self.unexpected()
            self.i += 1

    # --- grammar -------------------------------------------------------------------------------------------------

    def parse(self) -> ListNode:
        node = self.parse_list(set())
        if self.peek() is not None:
            raise self.unexpected()
        return node

    def parse_list(self, stop: set[str]) -> ListNode:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("syntax error: nesting too deep")
        node = ListNode()
        conn = ""
        while True:
            while self.op_is("\n"):
                self.i += 1
            t = self.peek()
            if t is None or self.op_is(")") or (t.kind == "word" and t.word is not None and t.word.plain() in stop):
                if conn in ("&&", "||"):
                    raise self.unexpected()
                break
            pipe = self.parse_pipeline()
            node.items.append((conn, pipe))
            if self.op_is(";", "\n", "&"):
                pipe.background = self.op_is("&")
                self.i += 1
                conn = ";"
            elif self.op_is("&&", "||"):
                conn = self.toks[self.i].value
                self.i += 1
                while self.op_is("\n"):
                    self.i += 1
                if self.peek() is None:
                    raise self.unexpected()
            else:
                break
        self.depth -= 1
        return node

    def parse_pipeline(self) -> Pipeline:
        negate = False
        if self.word_is("!"):
            negate = True
            self.i += 1
        cmds = [self.parse_command()]
        while self.op_is("|"):
            self.i += 1
            while self.op_is("\n"):
                self.i += 1
            cmds.append(self.parse_command())
        return Pipeline(cmds, negate)

    def parse_command(self) -> Command:
        t = self.peek()
        if t is None:
            raise self.unexpected()
        start = t.start
        if t.kind == "op" and t.value == "(":
            self.i += 1
            body = self.parse_list(set())
            if not self.op_is(")") or not body.items:
                raise self.unexpected()
            self.i += 1
            return Group(body, self.parse_redirs(), self.src[start : self.toks[self.i - 1].end])
        if self.word_is("{"):
            self.i += 1
            body = self.parse_list({"}"})
            self.expect_word("}")
            return Group(body, self.parse_redirs(), self.src[start : self.toks[self.i - 1].end])
        if self.word_is("if"):
            return self.parse_if(start)
        if self.word_is("for"):
            return self.parse_for(start)
        if self.word_is("while", "until"):
            until = self.word_is("until")
            self.i += 1
            cond = self.parse_list({"do"})
            self.expect_word("do")
            body = self.parse_list({"done"})
            self.expect_word("done")
            return While(cond, body, until, self.src[start : self.toks[self.i - 1].end])
        if self.word_is("then", "elif", "else", "fi", "do", "done", "esac", "}", "in", "case", "function", "select"):
            raise ParseError(f"syntax error near unexpected token `{t.value}'")
        return self.parse_simple()

    def parse_if(self, start: int) -> If:
        clauses: list[tuple[ListNode, ListNode]] = []
        orelse: ListNode | None = None
        self.i += 1
        while True:
            cond = self.parse_list({"then"})
            self.expect_word("then")
            body = self.parse_list({"elif", "else", "fi"})
            clauses.append((cond, body))
            if self.word_is("elif"):
                self.i += 1
                continue
            if self.word_is("else"):
                self.i += 1
                orelse = self.parse_list({"fi"})
            self.expect_word("fi")
            return If(clauses, orelse, self.src[start : self.toks[self.i - 1].end])

    def parse_for(self, start: int) -> For:
        self.i += 1
        t = self.peek()
        name = t.word.plain() if t is not None and t.word is not None else None
        if name is None or not _NAME.fullmatch(name):
            raise self.unexpected()
        self.i += 1
        items: list[Word] | None = None
        while self.op_is("\n"):
            self.i += 1
        if self.word_is("in"):
            self.i += 1
            items = []
            while (t := self.peek()) is not None and t.kind == "word" and t.word is not None:
                items.append(t.word)
                self.i += 1
        self.skip_newlines()
        self.expect_word("do")
        body = self.parse_list({"done"})
        self.expect_word("done")
        return For(name, items, body, self.src[start : self.toks[self.i - 1].end])

    def parse_redirs(self) -> list[Redir]:
        out: list[Redir] = []
        while (r := self.parse_redir()) is not None:
            out.append(r)
        return out

    def parse_redir(self) -> Redir | None:
        t = self.peek()
        if t is None or t.kind != "op":
            return None
        m = re.fullmatch(r"(\d*)(>>|>&|>\||<>|<<|&>|>|<)", t.value)
        if m is None:
            return None
        self.i += 1
        target = self.peek()
        if target is None or target.kind != "word" or target.word is None:
            raise self.unexpected()
        self.i += 1
        op = {">|": ">", "<>": "<", "<<": "<"}.get(m.group(2), m.group(2))
        fd = int(m.group(1)) if m.group(1) else (0 if op == "<" else 1)
        return Redir(min(fd, 9), op, target.word)

    def parse_simple(self) -> Simple:
        words: list[Word] = []
        redirs: list[Redir] = []
        assigns: list[tuple[str, Word]] = []
        first = self.peek()
        last_end = first.start if first is not None else 0
        while (t := self.peek()) is not None:
            if t.kind == "word" and t.word is not None:
                w = t.word
                head = w.parts[0] if w.parts else None
                m = _NAME.match(head.text) if head is not None and head.kind == "bare" else None
                if not words and m and head is not None and head.text[m.end() : m.end() + 1] == "=":
                    value = Word([Part("bare", head.text[m.end() + 1 :]), *w.parts[1:]], w.raw[m.end() + 1 :])
                    assigns.append((m.group(), value))
                else:
                    words.append(w)
                self.i += 1
                last_end = t.end
                continue
            r = self.parse_redir()
            if r is None:
                break
            redirs.append(r)
            last_end = self.toks[self.i - 1].end
        if not words and not redirs and not assigns:
            raise self.unexpected()
        start = first.start if first is not None else 0
        return Simple(words, redirs, assigns, self.src[start:last_end])


def parse(src: str) -> ListNode:
    """Parse one input line (or a ``sh -c`` string / script body)."""
    return Parser(src).parse()
