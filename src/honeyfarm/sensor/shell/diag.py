# SPDX-License-Identifier: MIT
"""Who is talking when the fake shell complains: bash's, dash's and BusyBox ash's error prefixes.

Scanners tell shells apart by the first words of an error. Real bash says ``-bash: foo: command
not found`` at a login prompt, ``bash: line 3: foo: command not found`` under ``ssh host 'cmd'``
(``bash -c``), ``s.sh: line 3: ...`` in a script; Debian's ``sh`` (dash) says ``sh: 3: foo: not
found``; BusyBox ash says ``-sh: foo: not found`` / ``sh: foo: not found``. A :class:`Frame` is one
running script (the prompt, an exec command, ``sh -c``, a script file) and knows its prefix and
the line being run; the shell keeps a stack of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ExpandAbort", "Frame", "ParseError", "rewrite_builtin"]

_BASH_PLAIN = re.compile(r"bash: (?!line \d+: )")


class ExpandAbort(Exception):
    """An expansion error (``$((1/0))``, ``set -u``): bash abandons the command, and a script stops."""


class ParseError(Exception):
    """A syntax error: ``msg`` is bash's text, ``line`` the 1-based line of the source it is on.

    ``token`` is the offending token (``None`` at end of input), ``quote`` is set for an
    unterminated quote (bash then prints no second line with the source text)."""

    def __init__(self, msg: str, line: int = 1, token: str | None = None, quote: bool = False) -> None:
        super().__init__(msg)
        self.msg = msg
        self.line = line
        self.token = token
        self.quote = quote


@dataclass
class Frame:
    """One running script. ``style``: ``bash``, ``dash`` or ``ash``; ``kind``: ``tty`` (the prompt),
    ``c`` (``-c`` string or SSH exec), ``stdin`` (script read from input) or ``file``."""

    name: str
    style: str = "bash"
    kind: str = "c"
    lineno: int = 1
    base: int = 0  # line offset of the source being run (``$(...)`` inside line 3 reports line 3)
    in_function: bool = False
    label: str = ""  # "eval": its syntax errors read ``bash: eval: line 1: ...``

    @property
    def interactive(self) -> bool:
        return self.kind == "tty"

    def prefix(self) -> str:
        """Text before a shell diagnostic, e.g. ``bash: line 2: ``."""
        if self.style == "ash" or self.interactive:
            return f"{self.name}: "
        line = self.base + self.lineno
        if self.style == "dash":
            return f"{self.name}: {line}: "
        name = self.name
        if self.in_function and self.kind in ("c", "stdin"):
            name = "environment" if self.kind == "c" else "main"  # bash 5.2 says so inside functions
        return f"{name}: line {line}: "

    def not_found(self, cmd: str) -> str:
        if self.style == "bash":
            return f"{self.prefix()}{cmd}: command not found\n"
        return f"{self.prefix()}{cmd}: not found\n"

    def syntax(self, e: ParseError, src: str) -> str:
        """A parse error as this shell prints it (one or two lines)."""
        if self.style == "dash":
            what = "end of file" if e.token is None else e.token
            text = "Unterminated quoted string" if e.quote else f"Syntax error: {what} unexpected"
            if not e.quote:
                text = text if e.token is None else f'Syntax error: "{what}" unexpected'
                if e.token == "newline":
                    text = "Syntax error: newline unexpected"
            else:
                text = "Syntax error: " + text
            return f"{self.name}: {self.base + e.line}: {text}\n"
        if self.style == "ash":
            what = "end of file" if e.token is None else "newline" if e.token == "newline" else f'"{e.token}"'
            return f"{self.name}: syntax error: {'unterminated quoted string' if e.quote else 'unexpected ' + what}\n"
        if self.interactive:
            return f"{self.name}: {e.msg}\n"
        line = self.base + e.line
        label = self.label or ("-c" if self.kind == "c" else "")
        if label == "eval":
            line = e.line
        where = f"{self.name}: {label}: line {line}: " if label else f"{self.name}: line {line}: "
        if e.quote or e.token is None:
            return where + e.msg + "\n"
        lines = src.split("\n")
        text = lines[e.line - 1] if 0 < e.line <= len(lines) else ""  # e.line counts within src
        return f"{where}{e.msg}\n{where}`{text}'\n"


def rewrite_builtin(text: str, frame: Frame) -> str:
    """A builtin's ``bash: cd: ...`` message with the running shell's real prefix."""
    m = _BASH_PLAIN.match(text)
    return frame.prefix() + text[m.end() :] if m else text
