# SPDX-License-Identifier: MIT
"""Compound commands of the fake shell's parser: ``if``, ``for`` (both forms), ``case``, ``[[ ]]``
and function bodies, with the token cursor they share. The base class of
:class:`honeyfarm.sensor.shell.parse.Parser`, split out to keep modules small.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.diag import ParseError
from honeyfarm.sensor.shell.nodes import Case, For, FuncDef, Group, If, ListNode, Part, Pipeline, Simple, While, Word
from honeyfarm.sensor.shell.tokens import matching

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.nodes import Command
    from honeyfarm.sensor.shell.tokens import Tok

__all__ = ["CompoundParser", "let_command"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TERMINATORS = (";;", ";&", ";;&")


class CompoundParser:
    """The token cursor and the compound commands; :class:`~honeyfarm.sensor.shell.parse.Parser` adds
    lists, pipelines, simple commands and redirections."""

    src: str
    toks: list[Tok]
    i: int
    error: ParseError | None
    _nl: list[int]

    def parse_list(self, stop: set[str], *, top: bool = False) -> ListNode:
        raise NotImplementedError

    def parse_command(self) -> Command:
        raise NotImplementedError

    # --- cursor --------------------------------------------------------------------------------------------------

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self._nl, pos) + 1

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def peek_at(self, k: int) -> Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def word_is(self, *names: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "word" and t.word is not None and t.word.plain() in names

    def op_is(self, *ops: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "op" and t.value in ops

    def unexpected(self) -> ParseError:
        t = self.peek()
        if t is None:
            if self.error is not None:
                return self.error
            lines = self.src.count("\n") + (0 if self.src.endswith("\n") else 1)
            return ParseError("syntax error: unexpected end of file", lines + 1)
        value = "newline" if t.value == "\n" else t.value
        return ParseError(f"syntax error near unexpected token `{value}'", self.line_at(t.start), value)

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

    def end_of(self) -> int:
        return self.toks[self.i - 1].end

    def arith_span(self) -> tuple[str, int] | None:
        """``((expr))`` at the current ``(`` token: the expression and the offset after ``))``."""
        t, nxt = self.peek(), self.peek_at(1)
        if t is None or nxt is None or nxt.value != "(" or nxt.start != t.start + 1 or t.value != "(":
            return None
        end = matching(self.src, t.start + 1, "(", ")")
        if end < 1 or self.src[end - 1] != ")":
            return None
        return self.src[t.start + 2 : end - 1], end + 1

    def skip_to(self, pos: int) -> None:
        while (t := self.peek()) is not None and t.start < pos:
            self.i += 1

    # --- compound commands ---------------------------------------------------------------------------------------

    def parse_cond(self, start: int) -> Simple:
        """``[[ ... ]]``: words up to ``]]``, operators taken as words, nothing split or globbed."""
        words = [Word([Part("bare", "[[")], "[[")]
        self.i += 1
        while not self.word_is("]]"):
            t = self.peek()
            if t is None or (t.kind == "op" and t.value in ("\n", ";", ";;", "&", "|")) or len(words) > 256:
                raise self.unexpected()
            parts = [Part("lit", t.value, True)] if t.word is None else [_unsplit(p) for p in t.word.parts]
            words.append(Word(parts, t.value))
            self.i += 1
        self.i += 1
        words.append(Word([Part("bare", "]]")], "]]"))
        return Simple(words, [], [], self.src[start : self.end_of()], self.line_at(start))

    def parse_funcdef(self, name: str, start: int) -> FuncDef:
        while self.op_is("\n"):
            self.i += 1
        if not (self.op_is("(") or self.word_is("{", "if", "for", "while", "until", "case")):
            raise self.unexpected()
        body = self.parse_command()
        return FuncDef(name, body, self.src[start : self.end_of()])

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
            return If(clauses, orelse, self.src[start : self.end_of()])

    def parse_for(self, start: int) -> For | Group:
        self.i += 1
        span = self.arith_span()
        if span is not None:
            return self.parse_arith_for(start, *span)
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
        if self.word_is("{"):  # for x in a b; { ...; }: bash's undocumented brace form
            self.i += 1
            body = self.parse_list({"}"})
            self.expect_word("}")
        else:
            self.expect_word("do")
            body = self.parse_list({"done"})
            self.expect_word("done")
        return For(name, items, body, self.src[start : self.end_of()])

    def parse_arith_for(self, start: int, expr: str, end: int) -> Group:
        """``for ((init; cond; step))``: a ``while`` with an init and a step, as bash runs it."""
        self.skip_to(end)
        parts = [*expr.split(";"), "", ""][:3]
        if expr.count(";") != 2:
            raise ParseError("syntax error: arithmetic expression required", self.line_at(start))
        line = self.line_at(start)
        init, cond, step = (let_command(p.strip() or d, p, line) for p, d in zip(parts, ("0", "1", "0"), strict=True))
        self.skip_newlines()
        close = "}" if self.word_is("{") else "done"
        if close == "}":
            self.i += 1
        else:
            self.expect_word("do")
        body = self.parse_list({close})
        self.expect_word(close)
        text = self.src[start : self.end_of()]
        loop = While(ListNode([("", Pipeline([cond]))]), body, False, text, ListNode([("", Pipeline([step]))]))
        return Group(ListNode([("", Pipeline([init])), (";", Pipeline([loop]))]), [], text)

    def parse_case(self, start: int) -> Case:
        self.i += 1
        t = self.peek()
        if t is None or t.kind != "word" or t.word is None:
            raise self.unexpected()
        word = t.word
        self.i += 1
        while self.op_is("\n"):
            self.i += 1
        if not self.word_is("in"):
            raise self.unexpected()
        self.i += 1
        arms: list[tuple[list[Word], ListNode, str]] = []
        while True:
            while self.op_is("\n"):
                self.i += 1
            if self.word_is("esac"):
                self.i += 1
                return Case(word, arms, self.src[start : self.end_of()])
            if self.op_is("("):
                self.i += 1
            patterns: list[Word] = []
            while True:
                p = self.peek()
                if p is None or p.kind != "word" or p.word is None:
                    raise self.unexpected()
                patterns.append(p.word)
                self.i += 1
                if self.op_is("|"):
                    self.i += 1
                    continue
                if not self.op_is(")"):
                    raise self.unexpected()
                self.i += 1
                break
            body = self.parse_list({"esac"})
            term = ";;"
            if self.op_is(*_TERMINATORS):
                term = self.toks[self.i].value
                self.i += 1
            elif not self.word_is("esac"):
                raise self.unexpected()
            arms.append((patterns, body, term))


def let_command(expr: str, text: str, line: int) -> Simple:
    """``((expr))`` runs as ``let "expr"`` (status 1 when the value is 0)."""
    return Simple([Word([Part("bare", "let")], "let"), Word([Part("lit", expr, True)], expr)], [], [], text, line)


def _unsplit(p: Part) -> Part:
    """A part of a ``[[`` word: expanded but never split or globbed (``[[ $x == a* ]]``)."""
    return Part("lit" if p.kind == "bare" else p.kind, p.text, True)
