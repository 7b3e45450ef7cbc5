# SPDX-License-Identifier: MIT
"""Parser for the fake shell's command language (a useful subset of bash), over :mod:`shtoken`.

Hand-written, deliberately. ``bashlex`` (idank/bashlex, a port of bash's own parser) is GPL-3.0+
and this project is MIT. ``tree-sitter-bash`` (MIT) is error-tolerant by design: it turns broken
input into ERROR nodes where bash prints ``syntax error near unexpected token `X'`` with a line
number, and a probe's first test is exactly such an error. Both parse a whole input up front,
while bash runs a script up to the line that is broken. ``shlex`` only splits words. This parser
keeps each word's quoting (expansion happens at run time: ``export A=1; echo $A``), hands out one
complete top-level command at a time, and words its errors as bash 5.2 does.
Supported: quotes and escapes, ``;`` ``&&`` ``||`` ``|`` ``&`` ``!`` ``time``, redirections
(``>`` ``>>`` ``<`` ``2>&1`` ``&>`` here-documents ``<<``/``<<-`` and here-strings ``<<<``),
``$VAR`` ``${VAR}`` ``$(...)`` ``$((...))`` and backticks, ``( list )``, ``{ list; }``,
``if``/``for`` (and ``for ((;;))``)/``while``/``until``/``case``, ``[[ ]]``, ``(( ))``, arrays
(``a=(1 2)``, ``a[3]=x``), functions (``f() {...}``, ``function f {...}``).
Anything else is reported the way bash reports it (``syntax error near unexpected token ...``).
Parsing is linear in the input and the nesting depth is bounded, so no input can make it recurse
or allocate without limit.
"""

from __future__ import annotations

import re

from honeyfarm.sensor.shell.compound import CompoundParser, let_command
from honeyfarm.sensor.shell.diag import ParseError
from honeyfarm.sensor.shell.nodes import (
    Case,
    Command,
    For,
    FuncDef,
    Group,
    If,
    ListNode,
    Part,
    Pipeline,
    Redir,
    Simple,
    While,  # fmt: skip
    Word,
)
from honeyfarm.sensor.shell.tokens import scan, tokenize

MAX_DEPTH = 32
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ELEMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[[^\]]{1,64}\]=")
_RESERVED = ("then", "elif", "else", "fi", "do", "done", "esac", "}", "in")
_TERMINATORS = (";;", ";&", ";;&")

__all__ = ["Case", "Command", "For", "FuncDef", "Group", "If", "ListNode", "ParseError", "Parser", "Part", "Pipeline",
           "Redir", "Simple", "While", "Word", "incomplete", "parse", "tokenize"]  # fmt: skip


class Parser(CompoundParser):
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks, self.error = scan(src)
        self.i = 0
        self.depth = 0
        self._nl = [k for k, c in enumerate(src) if c == "\n"]
        self.warnings: list[str] = []  # bash's "warning: here-document at line N delimited by end-of-file"

    # --- helpers -------------------------------------------------------------------------------------------------

    # --- grammar -------------------------------------------------------------------------------------------------

    def parse(self) -> ListNode:
        node = self.parse_list(set())
        if self.peek() is not None or self.error is not None:
            raise self.unexpected()
        return node

    def next_command(self) -> ListNode | None:
        """The next complete top-level command (one line's worth), or ``None`` at the end."""
        while self.op_is("\n"):
            self.i += 1
        if self.peek() is None:
            if self.error is not None:
                raise self.error
            return None
        node = self.parse_list(set(), top=True)
        if self.peek() is None and self.error is not None:
            raise self.error  # `echo 'a`: the broken word belongs to this command; nothing of it runs
        return node

    def parse_list(self, stop: set[str], *, top: bool = False) -> ListNode:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("syntax error: nesting too deep", self.line_at(self.toks[self.i - 1].end if self.i else 0))
        node = ListNode()
        conn = ""
        while True:
            while self.op_is("\n") and not (top and node.items):
                self.i += 1
            t = self.peek()
            if (
                t is None
                or self.op_is(")", *_TERMINATORS)
                or (top and node.items and self.op_is("\n"))
                or (t.kind == "word" and t.word is not None and t.word.plain() in stop)
            ):
                if conn in ("&&", "||") or (top and t is not None and not self.op_is("\n")):
                    raise self.unexpected()
                break
            pipe = self.parse_pipeline()
            node.items.append((conn, pipe))
            if self.op_is(";", "\n", "&"):
                pipe.background = self.op_is("&")
                if top and self.op_is("\n"):
                    self.i += 1
                    break
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
                if top and self.peek() is not None:
                    raise self.unexpected()
                break
        self.depth -= 1
        return node

    def parse_pipeline(self) -> Pipeline:
        negate = timed = posix = False
        while self.word_is("!", "time"):
            if self.word_is("time"):
                timed = True
                self.i += 1
                if self.word_is("-p"):
                    posix = True
                    self.i += 1
            else:
                negate = not negate
                self.i += 1
        if (timed or negate) and (self.peek() is None or self.op_is("\n", ";", "&")):
            return Pipeline([Simple([], [], [], "")], negate, timed=timed, posix_time=posix)  # `time` alone
        cmds = [self.parse_command()]
        while self.op_is("|", "|&"):
            self.i += 1
            while self.op_is("\n"):
                self.i += 1
            cmds.append(self.parse_command())
        return Pipeline(cmds, negate, timed=timed, posix_time=posix)

    def parse_command(self) -> Command:
        """A command; a compound command followed by redirections becomes a redirected group."""
        t = self.peek()
        cmd = self._command()
        if isinstance(cmd, Simple | FuncDef) or (isinstance(cmd, Group) and cmd.redirs):
            return cmd
        redirs = self.parse_redirs()
        if not redirs:
            return cmd
        start = t.start if t is not None else 0
        return Group(ListNode([("", Pipeline([cmd]))]), redirs, self.src[start : self.end_of()])

    def _command(self) -> Command:
        t = self.peek()
        if t is None:
            raise self.unexpected()
        start = t.start
        span = self.arith_span()
        if span is not None:
            self.skip_to(span[1])
            return let_command(span[0], self.src[start : span[1]], self.line_at(start))
        if t.kind == "op" and t.value == "(":
            self.i += 1
            body = self.parse_list(set())
            if not self.op_is(")") or not body.items:
                raise self.unexpected()
            self.i += 1
            return Group(body, self.parse_redirs(), self.src[start : self.end_of()], subshell=True)
        if self.word_is("{"):
            self.i += 1
            body = self.parse_list({"}"})
            if not body.items:
                raise self.unexpected()
            self.expect_word("}")
            return Group(body, self.parse_redirs(), self.src[start : self.end_of()])
        if self.word_is("if"):
            return self.parse_if(start)
        if self.word_is("for"):
            return self.parse_for(start)
        if self.word_is("case"):
            return self.parse_case(start)
        if self.word_is("function"):
            self.i += 1
            name = self.peek()
            if name is None or name.kind != "word":
                raise self.unexpected()
            self.i += 1
            if self.op_is("(") and (nxt := self.peek_at(1)) is not None and nxt.value == ")":
                self.i += 2
            return self.parse_funcdef(name.value, start)
        if self.word_is("while", "until"):
            until = self.word_is("until")
            self.i += 1
            cond = self.parse_list({"do"})
            self.expect_word("do")
            body = self.parse_list({"done"})
            self.expect_word("done")
            return While(cond, body, until, self.src[start : self.end_of()])
        if self.word_is(*_RESERVED, "select"):
            raise ParseError(f"syntax error near unexpected token `{t.value}'", self.line_at(t.start), t.value)
        if self.word_is("[["):
            return self.parse_cond(start)
        nxt = self.peek_at(1)
        if t.kind == "word" and nxt is not None and nxt.kind == "op" and nxt.value == "(" and not t.value.endswith("="):
            after = self.peek_at(2)
            if after is None or after.value != ")" or t.word is None or t.word.plain() is None:
                self.i += 2  # bash reads `name (` as the start of a function definition
                raise self.unexpected()
            self.i += 3
            return self.parse_funcdef(t.value, start)
        return self.parse_simple()

    def parse_redirs(self) -> list[Redir]:
        out: list[Redir] = []
        while (r := self.parse_redir()) is not None:
            out.append(r)
        return out

    def parse_redir(self) -> Redir | None:
        t = self.peek()
        if t is None or t.kind != "op":
            return None
        m = re.fullmatch(r"(\d*)(>>|>&|>\||<>|<<<|<<-|<<|<&|&>>|&>|>|<)", t.value)
        if m is None:
            return None
        self.i += 1
        target = self.peek()
        if target is None or target.kind != "word" or target.word is None:
            raise self.unexpected()
        self.i += 1
        op = {">|": ">", "<>": "<", "<<-": "<<"}.get(m.group(2), m.group(2))
        fd = int(m.group(1)) if m.group(1) else (0 if op.startswith("<") else 1)
        if op == "<<" and t.unterminated is not None:
            self.warnings.append(
                f"warning: here-document at line {self.line_at(t.start)} delimited by end-of-file "
                f"(wanted `{t.unterminated}')"
            )
        if op == "<<":
            return Redir(min(fd, 9), op, target.word, t.body or Word([Part("lit", "", True)], ""))
        return Redir(min(fd, 9), op, target.word)

    def parse_simple(self) -> Simple:
        words: list[Word] = []
        redirs: list[Redir] = []
        assigns: list[tuple[str, Word]] = []
        arrays: list[tuple[str, list[Word]]] = []
        first = self.peek()
        last_end = first.start if first is not None else 0
        while (t := self.peek()) is not None:
            if t.kind == "word" and t.word is not None:
                w = t.word
                head = w.parts[0] if w.parts else None
                m = _NAME.match(head.text) if head is not None and head.kind == "bare" else None
                if not words and m and head is not None and head.text[m.end() : m.end() + 1] == "=":
                    nxt = self.peek_at(1)
                    if w.raw == m.group() + "=" and nxt is not None and nxt.value == "(" and nxt.start == t.end:
                        self.i += 2
                        arrays.append((m.group(), self.array_items()))
                        last_end = self.end_of()
                        continue
                    value = Word([Part("bare", head.text[m.end() + 1 :]), *w.parts[1:]], w.raw[m.end() + 1 :])
                    assigns.append((m.group(), value))
                elif not words and head is not None and head.kind == "bare" and (e := _ELEMENT.match(head.text)):
                    value = Word([Part("bare", head.text[e.end() :]), *w.parts[1:]], w.raw[e.end() :])
                    assigns.append((e.group()[:-1], value))  # a[1]=x: the name keeps its subscript
                else:
                    words.append(w)
                self.i += 1
                last_end = t.end
                continue
            r = self.parse_redir()
            if r is None:
                break
            redirs.append(r)
            last_end = self.end_of()
        if not words and not redirs and not assigns and not arrays:
            raise self.unexpected()
        start = first.start if first is not None else 0
        return Simple(words, redirs, assigns, self.src[start:last_end], self.line_at(start), arrays)

    def array_items(self) -> list[Word]:
        """The words of ``name=( ... )`` up to the closing parenthesis."""
        items: list[Word] = []
        while True:
            t = self.peek()
            if t is None:
                raise self.unexpected()
            if t.kind == "op" and t.value == "\n":
                self.i += 1
                continue
            if t.kind == "op" and t.value == ")":
                self.i += 1
                return items
            if t.kind != "word" or t.word is None:
                raise self.unexpected()
            items.append(t.word)
            self.i += 1


def incomplete(src: str) -> bool:
    """Whether bash would ask for more input (PS2 ``> ``) after ``src`` was typed: an open quote,
    compound command, here-document, or a trailing ``|``/``&&``/``||``/backslash."""
    parser = Parser(src if src.endswith("\n") else src + "\n")
    if (len(src) - len(src.rstrip("\\"))) % 2:  # a line ending in an unescaped backslash goes on
        return True
    try:
        while parser.next_command() is not None:
            pass
    except ParseError as e:
        return e.quote or e.token is None
    return any(t.unterminated is not None for t in parser.toks)


def parse(src: str) -> ListNode:
    """Parse one input line (or a ``sh -c`` string / script body) in one go."""
    return Parser(src).parse()
