# SPDX-License-Identifier: MIT
"""Lexer and parser of the awk subset the fake shell runs (the AST is plain tuples).

Bots pipe ``/proc/cpuinfo`` through ``awk '{print $4,$5}'`` and parse ``/etc/passwd`` with
``awk -F:``; a missing or wrong awk is a one-line honeypot test. This parser covers POSIX awk's
grammar apart from ``getline`` from commands and range patterns: patterns and actions, BEGIN/END,
user functions, every operator, and the control statements. Input is hostile: the program text
is capped, and nesting is bounded so that recursion cannot overflow the stack.
"""

from __future__ import annotations

from typing import Any

from honeyfarm.sensor.shell.awk.lex import BUILTINS, AwkSyntaxError, tokenize

Node = tuple[Any, ...]
MAX_NEST = 120  # parser depth (~6 Python frames each); parse runs in a worker thread's fresh stack


class Parser:
    """Recursive descent over the token list; ``parse()`` returns the program as a dict."""

    def __init__(self, src: str) -> None:
        self.toks = tokenize(src)
        self.i = 0
        self.depth = 0
        self.no_gt = False  # inside print's expression list, '>' is a redirection
        self.no_in = False  # inside for( ; ; ) init, 'in' is not an operator

    # --- token helpers ---

    def peek(self, k: int = 0) -> tuple[str, Any]:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, value: str) -> bool:
        kind, v = self.peek()
        return kind in ("op", "kw") and v == value

    def take(self, value: str) -> bool:
        if self.at(value):
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.take(value):
            self.fail()

    def fail(self) -> None:
        kind, v = self.peek()
        line = 1 + sum(1 for t in self.toks[: self.i] if t[0] == "nl")
        if kind == "eof" and self.depth:
            raise AwkSyntaxError(f"line {line + 1}: missing }} near end of file")
        near = "end of file" if kind == "eof" else "end of line" if kind == "nl" else str(v)
        if kind == "num":
            near = f"{v:g}"
        raise AwkSyntaxError(f"line {line}: syntax error at or near {near}")

    def newlines(self) -> None:
        while self.peek()[0] == "nl":
            self.i += 1

    def terminators(self) -> None:
        while self.peek()[0] == "nl" or self.at(";"):
            self.i += 1

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NEST:
            raise AwkSyntaxError("program too deeply nested")

    # --- program ---

    def parse(self) -> dict[str, Any]:
        prog: dict[str, Any] = {"begin": [], "end": [], "rules": [], "funcs": {}}
        self.terminators()
        while self.peek()[0] != "eof":
            if self.take("BEGIN"):
                self.newlines()
                prog["begin"].append(self.block())
            elif self.take("END"):
                self.newlines()
                prog["end"].append(self.block())
            elif self.take("function") or self.take("func"):
                kind, name = self.peek()
                if kind not in ("name", "func"):
                    self.fail()
                self.i += 1
                self.expect("(")
                params: list[str] = []
                while not self.take(")"):
                    kind, p = self.peek()
                    if kind != "name":
                        self.fail()
                    params.append(p)
                    self.i += 1
                    self.take(",")
                    self.newlines()
                self.newlines()
                prog["funcs"][name] = (params, self.block())
            else:
                pattern = None if self.at("{") else self.expr()
                if self.take(","):
                    self.newlines()
                    pattern = ("range", pattern, self.expr(), [False])
                action = self.block() if self.at("{") else None
                prog["rules"].append((pattern, action))
            self.terminators()
        return prog

    def block(self) -> Node:
        self.expect("{")
        self.nest()
        stmts = []
        self.terminators()
        while not self.take("}"):
            if self.peek()[0] == "eof":
                self.fail()
            stmts.append(self.statement())
            self.terminators()
        self.depth -= 1
        return ("block", stmts)

    def simple_end(self) -> None:
        if self.at("}") or self.peek()[0] == "eof":
            return
        if not (self.take(";") or self.peek()[0] == "nl"):
            self.fail()

    def body(self) -> Node:
        self.newlines()
        if self.take(";"):
            return ("block", [])
        return self.statement()

    def statement(self) -> Node:
        self.nest()
        try:
            return self._statement()
        finally:
            self.depth -= 1

    def _statement(self) -> Node:
        if self.at("{"):
            return self.block()
        if self.take("if"):
            self.expect("(")
            cond = self.expr()
            self.expect(")")
            then = self.body()
            save = self.i
            self.terminators()
            if self.take("else"):
                return ("if", cond, then, self.body())
            self.i = save
            return ("if", cond, then, None)
        if self.take("while"):
            self.expect("(")
            cond = self.expr()
            self.expect(")")
            if self.take(";"):
                return ("while", cond, ("block", []))
            return ("while", cond, self.body())
        if self.take("do"):
            body = self.body()
            self.terminators()
            self.expect("while")
            self.expect("(")
            cond = self.expr()
            self.expect(")")
            self.simple_end()
            return ("do", body, cond)
        if self.take("for"):
            self.expect("(")
            kind, name = self.peek()
            if kind == "name" and self.peek(1) == ("kw", "in") and self.peek(3) == ("op", ")"):
                arr = self.peek(2)[1]
                self.i += 4
                return ("forin", name, arr, self.body())
            self.no_in = True
            init = None if self.at(";") else self.simple_statement()
            self.no_in = False
            self.expect(";")
            self.newlines()
            test: Node | None = None if self.at(";") else self.expr()
            self.expect(";")
            self.newlines()
            step = None if self.at(")") else self.simple_statement()
            self.expect(")")
            if self.take(";"):
                return ("for", init, test, step, ("block", []))
            return ("for", init, test, step, self.body())
        for word in ("break", "continue", "next", "nextfile"):
            if self.take(word):
                self.simple_end()
                return (word,)
        if self.take("exit") or self.take("return"):
            word = self.toks[self.i - 1][1]
            value = None if self.at(";") or self.at("}") or self.peek()[0] in ("nl", "eof") else self.expr()
            self.simple_end()
            return (word, value)
        node = self.simple_statement()
        self.simple_end()
        return node

    def simple_statement(self) -> Node:
        if self.take("print") or self.take("printf"):
            word = self.toks[self.i - 1][1]
            self.no_gt = True
            args: list[Node] = []
            if self.at("(") and self._paren_list_ends():
                self.i += 1
                self.no_gt = False
                args = self.expr_list(")")
                self.expect(")")
                self.no_gt = True
            elif not any(self.at(t) for t in (";", "}", ">", ">>", "|")) and self.peek()[0] not in ("nl", "eof"):
                args = self.expr_list("")
            self.no_gt = False
            redir = None
            for op in (">", ">>", "|"):
                if self.take(op):
                    redir = (op, self.concat())
                    break
            if word == "printf" and not args:
                self.fail()
            return (word, args, redir)
        if self.take("delete"):
            kind, name = self.peek()
            if kind != "name":
                self.fail()
            self.i += 1
            if self.take("["):
                keys = self.expr_list("]")
                self.expect("]")
                return ("delete", name, keys)
            return ("delete", name, None)
        return ("expr", self.expr())

    def _paren_list_ends(self) -> bool:
        """True if the '(' at point closes just before the end of the print statement."""
        depth = 0
        for k in range(self.i, len(self.toks)):
            kind, v = self.toks[k]
            if kind == "op" and v in ("(", "["):
                depth += 1
            elif kind == "op" and v in (")", "]"):
                depth -= 1
                if depth == 0:
                    nk, nv = self.toks[k + 1]
                    return nk in ("nl", "eof") or (nk == "op" and nv in (";", "}", ">", ">>", "|"))
        return False

    def expr_list(self, closer: str) -> list[Node]:
        items = [self.expr()]
        while self.take(","):
            self.newlines()
            items.append(self.expr())
        return items

    # --- expressions, lowest precedence first ---

    def expr(self) -> Node:
        self.nest()
        try:
            return self.ternary()
        finally:
            self.depth -= 1

    def ternary(self) -> Node:
        cond = self.or_()
        if self.take("?"):
            self.newlines()
            a = self.ternary()
            self.newlines()
            self.expect(":")
            self.newlines()
            return ("cond", cond, a, self.ternary())
        kind, op = self.peek()
        if kind == "op" and op in ("=", "+=", "-=", "*=", "/=", "%=", "^=") and cond[0] in ("var", "field", "idx"):
            self.i += 1
            self.newlines()
            return ("assign", op, cond, self.ternary())
        return cond

    def or_(self) -> Node:
        left = self.and_()
        while self.take("||"):
            self.newlines()
            left = ("or", left, self.and_())
        return left

    def and_(self) -> Node:
        left = self.in_()
        while self.take("&&"):
            self.newlines()
            left = ("and", left, self.in_())
        return left

    def in_(self) -> Node:
        left = self.match()
        while not self.no_in and self.at("in"):
            self.i += 1
            kind, name = self.peek()
            if kind != "name":
                self.fail()
            self.i += 1
            keys = list(left[1]) if left[0] == "group" else [left]
            left = ("in", keys, name)
        return left

    def match(self) -> Node:
        left = self.compare()
        while self.at("~") or self.at("!~"):
            neg = self.peek()[1] == "!~"
            self.i += 1
            left = ("match", neg, left, self.compare())
        return left

    def compare(self) -> Node:
        left = self.concat()
        kind, v = self.peek()
        if (kind == "op" and v in ("<", "<=", "!=", "==", ">=")) or (v == ">" and kind == "op" and not self.no_gt):
            self.i += 1
            return ("cmp", v, left, self.concat())
        return left

    def concat(self) -> Node:
        left = self.additive()
        while self._starts_operand():
            left = ("concat", left, self.additive())
        while self.at("|") and self.peek(1) == ("kw", "getline"):
            self.i += 2  # "cmd" | getline [var]: parsed, never run (reads as end of input)
            dest = self.primary() if self.peek()[0] == "name" or self.at("$") else None
            left = ("getline", dest, ("cmd", left))
        return left

    def _starts_operand(self) -> bool:
        kind, v = self.peek()
        if kind in ("num", "str", "ere", "name", "func"):
            return True
        return (kind == "op" and v in ("$", "!", "(", "-", "+", "++", "--")) or (kind == "kw" and v == "getline")

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.at("+") or self.at("-"):
            op = self.peek()[1]
            self.i += 1
            left = ("bin", op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Node:
        left = self.unary()
        while self.at("*") or self.at("/") or self.at("%"):
            op = self.peek()[1]
            self.i += 1
            left = ("bin", op, left, self.unary())
        return left

    def unary(self) -> Node:
        self.nest()
        try:
            if self.take("!"):
                return ("not", self.unary())
            if self.take("-"):
                return ("neg", self.unary())
            if self.take("+"):
                return ("pos", self.unary())
            return self.power()
        finally:
            self.depth -= 1

    def power(self) -> Node:
        base = self.postfix()
        if self.take("^"):
            return ("bin", "^", base, self.unary())  # right associative
        return base

    def postfix(self) -> Node:
        node = self.primary()
        if node[0] in ("var", "field", "idx") and (self.at("++") or self.at("--")):
            op = self.peek()[1]
            self.i += 1
            return ("incdec", op, False, node)
        return node

    def primary(self) -> Node:
        self.nest()
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> Node:
        kind, v = self.peek()
        self.i += 1
        if kind == "num":
            return ("num", v)
        if kind == "str":
            return ("str", v)
        if kind == "ere":
            return ("re", v)
        if kind == "op" and v == "$":
            return ("field", self.incdec_or_primary())
        if kind == "op" and v in ("++", "--"):
            target = self.incdec_or_primary()
            if target[0] not in ("var", "field", "idx"):
                self.fail()
            return ("incdec", v, True, target)
        if kind == "op" and v == "(":
            save_gt, self.no_gt = self.no_gt, False
            items = self.expr_list(")")
            self.expect(")")
            self.no_gt = save_gt
            return ("group", items) if len(items) > 1 else items[0]
        if kind == "op" and v == "-":
            return ("neg", self.unary())
        if kind == "op" and v == "!":
            return ("not", self.unary())
        if kind == "kw" and v == "getline":
            dest: Node | None = None
            if self.peek()[0] == "name" or self.at("$"):
                dest = self.postfix_target()
            src = None
            if self.take("<"):
                src = self.primary()
            return ("getline", dest, src)
        if kind == "func":
            args: list[Node] = []
            if self.take("("):
                save_gt, self.no_gt = self.no_gt, False
                self.newlines()
                if not self.at(")"):
                    args = self.expr_list(")")
                self.newlines()
                self.expect(")")
                self.no_gt = save_gt
            elif v != "length":
                self.fail()
            return ("call" if v in BUILTINS else "ufunc", v, args)
        if kind == "name":
            if self.take("["):
                keys = self.expr_list("]")
                self.expect("]")
                return ("idx", v, keys)
            return ("var", v)
        self.i -= 1
        self.fail()
        raise AssertionError

    def incdec_or_primary(self) -> Node:
        if self.at("++") or self.at("--") or self.at("-") or self.at("+") or self.at("!"):
            return self.unary()
        return self.primary()

    def postfix_target(self) -> Node:
        return self.primary()


def parse(src: str) -> dict[str, Any]:
    try:
        return Parser(src).parse()
    except RecursionError:
        raise AwkSyntaxError("line 1: program too deeply nested") from None
