# SPDX-License-Identifier: MIT
"""Syntax tree of the fake shell's command language, produced by :mod:`honeyfarm.sensor.shell.parse`.

Separate from the parser so the interpreter (:mod:`honeyfarm.sensor.shell.shell`) can be read against
the node types alone. Words keep their quoting as parts, because expansion happens at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Part:
    """``kind``: ``lit`` (quoted/escaped text), ``bare`` (unquoted text), ``var``, ``sub`` (command)."""

    kind: str
    text: str
    quoted: bool = False


@dataclass
class Word:
    parts: list[Part]
    raw: str

    def plain(self) -> str | None:
        """Text of an entirely unquoted, expansion-free word (reserved words must be plain)."""
        if len(self.parts) == 1 and self.parts[0].kind == "bare":
            return self.parts[0].text
        return None


@dataclass
class Redir:
    fd: int
    op: str  # ">", ">>", "<", ">&" (dup), "&>" (both), "<<" (here-doc, body in ``body``), "<<<" (here-string)
    target: Word
    body: Word | None = None  # here-document text (expanded unless the delimiter was quoted)


@dataclass
class Simple:
    words: list[Word]
    redirs: list[Redir]
    assigns: list[tuple[str, Word]]
    text: str
    line: int = 1  # line of the source it starts on (bash's ``line N:`` in messages)
    arrays: list[tuple[str, list[Word]]] = field(default_factory=list)  # ``a=(1 2 3)``


@dataclass
class Group:
    body: ListNode
    redirs: list[Redir]
    text: str
    subshell: bool = False  # ``( list )``: variables, cwd and ``exit`` stay inside


@dataclass
class If:
    clauses: list[tuple[ListNode, ListNode]]
    orelse: ListNode | None
    text: str


@dataclass
class For:
    var: str
    items: list[Word] | None
    body: ListNode
    text: str


@dataclass
class While:
    cond: ListNode
    body: ListNode
    until: bool
    text: str
    step: ListNode | None = None  # ``for ((init; cond; step))``: run after each iteration, ``continue`` too


@dataclass
class Case:
    word: Word
    arms: list[tuple[list[Word], ListNode, str]]  # patterns, body, terminator (";;", ";&", ";;&")
    text: str


@dataclass
class FuncDef:
    name: str
    body: Command
    text: str


Command = Simple | Group | If | For | While | Case | FuncDef


@dataclass
class Pipeline:
    cmds: list[Command]
    negate: bool = False
    background: bool = False
    timed: bool = False  # the ``time`` keyword: real/user/sys on stderr afterwards
    posix_time: bool = False  # ``time -p``: ``real 0.00`` format


@dataclass
class ListNode:
    items: list[tuple[str, Pipeline]] = field(default_factory=list)  # (connector before: "", ";", "&&", "||")
