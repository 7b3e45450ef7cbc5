# SPDX-License-Identifier: MIT
"""The awk interpreter of the fake shell: runs a parsed program over in-memory text.

A tree walker over :mod:`honeyfarm.sensor.shell.awk.parse`'s tuples. Every statement and expression
spends one step of a fixed budget, strings are capped, and regexes go through
:mod:`honeyfarm.sensor.shell.posixre` (time-bounded), so ``BEGIN{while(1)x=x x}`` ends quickly with
the output it had. Nothing reaches the host: ``system()`` and ``| "cmd"`` run nothing, and
``print > file`` is handed back to the caller, which writes the session's virtual filesystem.
Values follow mawk (Debian's awk): numbers print as integers when integral, else with ``%.6g``.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import Any

from honeyfarm.sensor.shell.awk.builtins import call
from honeyfarm.sensor.shell.awk.parse import Node
from honeyfarm.sensor.shell.awk.values import (
    UNINIT,
    AwkError,
    AwkLimit,
    StrNum,
    Value,
    arith,
    format_awk,
    looks_numeric,
    num_str,
    to_num,
    to_str,
    truth,
)
from honeyfarm.sensor.shell.fs.vfs import FSError
from honeyfarm.sensor.shell.posixre import Pattern

MAX_STEPS = 200_000  # for the program itself (~0.5 s of CPU, in a worker thread: see commands_awk)
STEPS_PER_RECORD = 20
MAX_RECORD_STEPS = 1_000_000
MAX_STRING = 1 << 20
MAX_DEPTH = 64


class _Next(Exception):
    pass


class _Exit(Exception):
    pass


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    def __init__(self, value: Value) -> None:
        self.value = value


class Interp:
    """One run of a program. ``out(fd_or_path, text)`` receives output: 1 stdout, 2 stderr, or a file name."""

    def __init__(self, prog: dict[str, Any], out: Callable[[str, str], None], read_file: Callable[[str], str]) -> None:
        self.prog = prog
        self.out = out
        self.read_file = read_file
        self.open_files: dict[str, deque[str]] = {}  # getline < file
        self.vars: dict[str, Value] = {"FS": " ", "OFS": " ", "ORS": "\n", "RS": "\n", "NR": 0.0, "NF": 0.0,
                                       "FNR": 0.0, "SUBSEP": "\x1c", "CONVFMT": "%.6g", "OFMT": "%.6g",
                                       "RSTART": 0.0, "RLENGTH": -1.0, "FILENAME": ""}  # fmt: skip
        self.arrays: dict[str, dict[str, Value]] = {"ENVIRON": {}}
        self.frames: list[dict[str, Any]] = []
        self.fields: list[str] = [""]
        self.steps = MAX_STEPS
        self.exit_code = 0
        self.pending: deque[str] | None = None  # records not read yet (None: input not split yet)
        self.read: Callable[[str], list[str]] = lambda rs: []
        self.rng = random.Random(0)
        self.builtin = call

    def step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise AwkLimit

    # --- records and fields ---

    def set_record(self, text: str) -> None:
        self.fields = [text, *self.split_fields(text, to_str(self.vars["FS"]))]
        self.vars["NF"] = float(len(self.fields) - 1)

    def split_fields(self, text: str, fs: str) -> list[str]:
        if fs == " ":
            return text.split()
        if fs == "":
            return list(text)
        if len(fs) == 1 and fs != "\\":
            return text.split(fs) if text else []
        if not text:
            return []
        parts: list[str] = []
        pos = 0
        for m in Pattern(fs, extended=True).finditer(text):
            if m.end() == m.start():
                continue
            parts.append(text[pos : m.start()])
            pos = m.end()
        parts.append(text[pos:])
        return parts

    def get_field(self, i: int) -> Value:
        if i < 0:
            raise AwkError(f"$: negative field index ${i}")
        return StrNum(self.fields[i]) if i < len(self.fields) else UNINIT

    def set_field(self, i: int, v: str) -> None:
        if i < 0 or i > 100_000:
            raise AwkError(f"$: bad field index ${i}")
        if i == 0:
            self.set_record(v)
            return
        while len(self.fields) <= i:
            self.fields.append("")
        self.fields[i] = v
        self.vars["NF"] = float(len(self.fields) - 1)
        self.rebuild()

    def rebuild(self) -> None:
        self.fields[0] = self.cap(to_str(self.vars["OFS"]).join(self.fields[1:]))

    def cap(self, s: str) -> str:
        if len(s) > MAX_STRING:
            raise AwkLimit
        return s

    # --- variables ---

    def scope(self, name: str) -> dict[str, Any] | None:
        if self.frames and name in self.frames[-1]:
            return self.frames[-1]
        return None

    def get_var(self, name: str) -> Value:
        frame = self.scope(name)
        if frame is not None:
            v = frame[name]
            return v if not isinstance(v, dict) else ""
        if name == "NF":
            return self.vars["NF"]
        v = self.vars.get(name, UNINIT)
        return v

    def set_var(self, name: str, v: Value) -> None:
        frame = self.scope(name)
        if frame is not None:
            frame[name] = v
            return
        self.vars[name] = v
        if name == "NF":
            n = max(0, min(int(to_num(v)), 100_000))
            self.fields = (self.fields + [""] * n)[: n + 1]
            self.vars["NF"] = float(n)
            self.rebuild()

    def array(self, name: str) -> dict[str, Value]:
        frame = self.scope(name)
        if frame is not None:
            if not isinstance(frame[name], dict):
                frame[name] = {}
            arr: dict[str, Value] = frame[name]
            return arr
        return self.arrays.setdefault(name, {})

    def key(self, keys: list[Node]) -> str:
        return to_str(self.vars["SUBSEP"]).join(self.str_of(k) for k in keys)

    # --- running ---

    def run(self, read: Callable[[str], list[str]], filename: str = "") -> int:
        """Run BEGIN, the rules over ``read(RS)`` (split after BEGIN, which may set RS), then END."""
        self.vars["FILENAME"] = filename
        self.read = read
        try:
            for b in self.prog["begin"]:
                self.exec(b)
            if self.prog["rules"] or self.prog["end"]:
                pending = self.records()
                while pending:
                    rec = pending.popleft()
                    self.vars["NR"] = to_num(self.vars["NR"]) + 1
                    self.vars["FNR"] = to_num(self.vars["FNR"]) + 1
                    self.set_record(rec)
                    try:
                        self.rules()
                    except _Next:
                        continue
        except _Exit:
            pass
        except RecursionError:  # a very long chain like 1+1+...+1 nests deeper than Python's stack
            raise AwkLimit from None
        try:
            for e in self.prog["end"]:
                self.exec(e)
        except _Exit:
            pass
        except RecursionError:
            raise AwkLimit from None
        return self.exit_code

    def records(self) -> deque[str]:
        if self.pending is None:
            self.pending = deque(self.read(to_str(self.vars["RS"])))
            self.steps += min(STEPS_PER_RECORD * len(self.pending), MAX_RECORD_STEPS)  # real input, real work
        return self.pending

    def rules(self) -> None:
        for pattern, action in self.prog["rules"]:
            self.step()
            if pattern is not None:
                if pattern[0] == "range":
                    state = pattern[3]
                    if not state[0]:
                        if not truth(self.eval(pattern[1])):
                            continue
                        state[0] = True
                    if truth(self.eval(pattern[2])):
                        state[0] = False
                elif not truth(self.eval(pattern)):
                    continue
            if action is None:
                self.out("1", self.fields[0] + to_str(self.vars["ORS"]))
            else:
                self.exec(action)

    def exec(self, s: Node) -> None:
        self.step()
        kind = s[0]
        if kind == "block":
            for st in s[1]:
                self.exec(st)
        elif kind == "expr":
            self.eval(s[1])
        elif kind in ("print", "printf"):
            self.print_(s)
        elif kind == "if":
            if truth(self.eval(s[1])):
                self.exec(s[2])
            elif s[3] is not None:
                self.exec(s[3])
        elif kind in ("while", "do", "for"):
            self.loop(s)
        elif kind == "forin":
            for k in list(self.array(s[2])):
                self.set_var(s[1], StrNum(k))
                try:
                    self.exec(s[3])
                except _Break:
                    break
                except _Continue:
                    continue
        elif kind == "next" or kind == "nextfile":
            raise _Next
        elif kind == "exit":
            if s[1] is not None:
                self.exit_code = int(to_num(self.eval(s[1]))) & 255
            raise _Exit
        elif kind == "return":
            raise _Return(self.eval(s[1]) if s[1] is not None else UNINIT)
        elif kind == "break":
            raise _Break
        elif kind == "continue":
            raise _Continue
        elif kind == "delete":
            arr = self.array(s[1])
            if s[2] is None:
                arr.clear()
            else:
                arr.pop(self.key(s[2]), None)

    def loop(self, s: Node) -> None:
        kind = s[0]
        if kind == "for" and s[1] is not None:
            self.exec(s[1])
        first = True
        while True:
            self.step()
            if kind == "while" and not truth(self.eval(s[1])):
                return
            if kind == "for" and s[2] is not None and not truth(self.eval(s[2])):
                return
            if kind == "do" and not first and not truth(self.eval(s[2])):
                return
            first = False
            try:
                self.exec(s[1] if kind == "do" else s[2] if kind == "while" else s[4])
            except _Break:
                return
            except _Continue:
                pass
            if kind == "for" and s[3] is not None:
                self.exec(s[3])

    def print_(self, s: Node) -> None:
        kind, args, redir = s
        if kind == "print":
            vals = [self.eval(a) for a in args] if args else [self.fields[0]]
            ofmt = to_str(self.vars["OFMT"])
            text = to_str(self.vars["OFS"]).join(num_str(v, ofmt) if isinstance(v, float) else v for v in vals)
            text += to_str(self.vars["ORS"])
        else:
            vals = [self.eval(a) for a in args]
            text = format_awk(to_str(vals[0]), vals[1:])
        dest = "1"
        if redir is not None:
            target = self.str_of(redir[1])
            if redir[0] == "|":
                return  # piping into a command runs nothing
            dest = {"/dev/stdout": "1", "-": "1", "/dev/stderr": "2"}.get(target, target)
            if dest not in ("1", "2"):
                dest = (">>" if redir[0] == ">>" else ">") + dest
        self.out(dest, text)

    def str_of(self, node: Node) -> str:
        return to_str(self.eval(node))

    def regex_of(self, node: Node) -> Pattern:
        src = node[1] if node[0] == "re" else self.str_of(node)
        return Pattern(src, extended=True)

    def eval(self, e: Node) -> Value:
        self.step()
        kind = e[0]
        if kind == "num":
            return float(e[1])
        if kind == "str":
            return str(e[1])
        if kind == "re":
            return 1.0 if Pattern(e[1], extended=True).search(self.fields[0]) else 0.0
        if kind == "var":
            return self.get_var(e[1])
        if kind == "field":
            return self.get_field(int(to_num(self.eval(e[1]))))
        if kind == "idx":
            arr = self.array(e[1])
            key = self.key(e[2])
            if key not in arr:
                arr[key] = UNINIT
            return arr[key]
        if kind == "group":
            return self.eval(e[1][-1])
        if kind == "assign":
            return self.assign(e)
        if kind == "cond":
            return self.eval(e[2]) if truth(self.eval(e[1])) else self.eval(e[3])
        if kind == "or":
            return 1.0 if truth(self.eval(e[1])) or truth(self.eval(e[2])) else 0.0
        if kind == "and":
            return 1.0 if truth(self.eval(e[1])) and truth(self.eval(e[2])) else 0.0
        if kind == "in":
            return 1.0 if self.key(e[1]) in self.array(e[2]) else 0.0
        if kind == "match":
            hit = self.regex_of(e[3]).search(self.str_of(e[2])) is not None
            return 1.0 if hit != e[1] else 0.0
        if kind == "cmp":
            return self.compare(e[1], self.eval(e[2]), self.eval(e[3]))
        if kind == "concat":
            return self.cap(self.str_of(e[1]) + self.str_of(e[2]))
        if kind == "bin":
            return arith(e[1], to_num(self.eval(e[2])), to_num(self.eval(e[3])))
        if kind == "neg":
            return -to_num(self.eval(e[1]))
        if kind == "pos":
            return to_num(self.eval(e[1]))
        if kind == "not":
            return 0.0 if truth(self.eval(e[1])) else 1.0
        if kind == "incdec":
            old = to_num(self.eval(e[3]))
            new = old + (1 if e[1] == "++" else -1)
            self.store(e[3], new)
            return new if e[2] else old
        if kind == "getline":
            return self.getline(e)
        if kind == "call":
            return self.builtin(self, e[1], e[2])
        if kind == "ufunc":
            return self.call_user(e[1], e[2])
        raise AwkError(f"unknown node {kind}")

    def compare(self, op: str, a: Value, b: Value) -> float:
        if looks_numeric(a) and looks_numeric(b):
            x: Any = to_num(a)
            y: Any = to_num(b)
        else:
            x, y = to_str(a), to_str(b)
        result = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y}[op]
        return 1.0 if result else 0.0

    def assign(self, e: Node) -> Value:
        op, target, rhs = e[1], e[2], e[3]
        value = self.eval(rhs)
        if op != "=":
            value = arith(op[0], to_num(self.eval(target)), to_num(value))
        elif isinstance(value, str) and not isinstance(value, StrNum):
            value = str(value)
        self.store(target, value)
        return value

    def store(self, target: Node, value: Value) -> None:
        if target[0] == "var":
            self.set_var(target[1], value)
        elif target[0] == "field":
            self.set_field(int(to_num(self.eval(target[1]))), to_str(value))
        else:
            self.array(target[1])[self.key(target[2])] = value

    def getline(self, e: Node) -> float:
        _, target, src = e
        if src is not None:
            if src[0] == "cmd":
                return 0.0  # `"cmd" | getline`: nothing is run, the command reads as empty
            name = self.str_of(src)
            if name not in self.open_files:
                if len(self.open_files) >= 16:
                    return -1.0
                try:
                    self.open_files[name] = deque(self.read_file(name).split("\n")[:-1])
                except FSError:
                    return -1.0
            lines = self.open_files[name]
            if not lines:
                return 0.0
            rec = lines.popleft()
        else:
            pending = self.records()
            if not pending:
                return 0.0
            rec = pending.popleft()
            self.vars["NR"] = to_num(self.vars["NR"]) + 1
        if target is None:
            self.set_record(rec)
        else:
            self.store(target, StrNum(rec))
        return 1.0

    def call_user(self, name: str, args: list[Node]) -> Value:
        if name not in self.prog["funcs"]:
            raise AwkError(f"function {name} never defined")
        if len(self.frames) >= MAX_DEPTH:
            raise AwkLimit
        params, body = self.prog["funcs"][name]
        frame: dict[str, Any] = {}
        for i, p in enumerate(params):
            if i < len(args):
                a = args[i]
                if a[0] == "var" and (a[1] in self.arrays or isinstance((self.scope(a[1]) or {}).get(a[1]), dict)):
                    frame[p] = self.array(a[1])
                else:
                    frame[p] = self.eval(a)
            else:
                frame[p] = UNINIT
        self.frames.append(frame)
        try:
            self.exec(body)
        except _Return as r:
            return r.value
        finally:
            self.frames.pop()
        return UNINIT
