# SPDX-License-Identifier: MIT
"""bash 5.2's readline, as it looks on the wire of an SSH pty.

asyncssh's own line editor answers keys differently from readline (Ctrl-C keeps the line, no
bracketed paste, no completion, its own redraw sequences), which a script can see. This editor
writes what bash on Debian 12 writes, byte for byte where a probe compares it:

* bracketed paste (bash advertises it with ``ESC[?2004h`` before each prompt): text between
  ``ESC[200~`` and ``ESC[201~`` is inserted as typed, newlines included, shown in reverse video
  until the next key, as bash 5.2's active region;
* Ctrl-C prints ``^C`` and drops the line; Ctrl-D on an empty line ends the session;
* TAB completes command names (builtins, keywords, programs on ``PATH``) and paths of the fake
  filesystem: a single match is inserted (``/`` after a directory, a space after a file), several
  insert their common prefix, ring the bell, and a second TAB lists them in readline's columns;
* the usual Emacs keys and arrows, and history.

The editor is pure: :meth:`LineEditor.step` turns buffered input into output text and at most
one :class:`Event`, so the session can run a line before the next keys are read. Input waiting
to be processed is capped, and so is the line.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PASTE_OFF", "PASTE_ON", "Event", "LineEditor", "column_listing"]

PASTE_ON = "\x1b[?2004h"
PASTE_OFF = "\x1b[?2004l\r"
BELL = "\x07"
MAX_PENDING = 65536
MAX_HISTORY = 500


@dataclass(frozen=True)
class Event:
    """``line`` (Enter: ``text`` is the line), ``eof`` (Ctrl-D on an empty line) or ``intr`` (Ctrl-C)."""

    kind: str
    text: str = ""


def column_listing(names: list[str], width: int) -> str:
    """Possible completions as readline prints them: padded columns filled top to bottom."""
    size = max(len(n) for n in names) + 2
    cols = max(1, width // size) if width > size else 1
    rows = (len(names) + cols - 1) // cols
    lines = []
    for r in range(rows):
        cells = [names[c * rows + r] for c in range(cols) if c * rows + r < len(names)]
        lines.append("".join(c.ljust(size) for c in cells))
    return "\r\n".join(lines)


Completer = Callable[[str, bool], list[str]]


class LineEditor:
    """One prompt's worth of readline state; ``complete(word, command_position)`` lists candidates.

    A candidate ending in ``/`` is a directory. Candidates are full words (what replaces ``word``).
    """

    def __init__(self, complete: Completer, *, max_line: int = 16384, width: int = 80) -> None:
        self.complete = complete
        self.max_line = max_line
        self.width = width or 80
        self.prompt = ""
        self.line = ""
        self.pos = 0
        self.pending = ""
        self.history: list[str] = []
        self._hist_index = 0
        self._last_tab = False
        self._region: str | None = None  # text of a paste still shown highlighted
        self._killed = ""

    # --- input ---------------------------------------------------------------------------------------------------

    def feed(self, data: str) -> None:
        room = MAX_PENDING - len(self.pending)
        if room > 0:
            self.pending += data[:room]

    def new_prompt(self, prompt: str) -> None:
        self.prompt = prompt
        self.line, self.pos = "", 0
        self._hist_index = len(self.history)
        self._last_tab = False
        self._region = None

    def step(self) -> tuple[str, Event | None]:
        """Process buffered keys up to the first event; return the output to write and the event."""
        out: list[str] = []
        while self.pending:
            key = self._next_key()
            if key is None:
                break  # an escape sequence still incomplete
            ev = self._key(key, out)
            if ev is not None:
                return "".join(out), ev
        return "".join(out), None

    def _next_key(self) -> str | None:
        p = self.pending
        if p.startswith("\x1b[200~"):
            end = p.find("\x1b[201~", 6)
            if end < 0:
                if len(p) >= MAX_PENDING:  # a paste that never ends: take what came
                    self.pending = ""
                    return p
                return None
            self.pending = p[end + 6 :]
            return p[: end + 6]
        if p[0] != "\x1b":
            self.pending = p[1:]
            return p[0]
        if len(p) == 1:
            return None
        if p[1] == "[":
            for i in range(2, min(len(p), 32)):
                if "\x40" <= p[i] <= "\x7e":
                    self.pending = p[i + 1 :]
                    return p[: i + 1]
            if len(p) < 32:
                return None
        elif p[1] == "O" and len(p) < 3:
            return None
        n = 3 if p[1] == "O" else 2
        self.pending = p[n:]
        return p[:n]

    # --- keys ----------------------------------------------------------------------------------------------------

    def _key(self, key: str, out: list[str]) -> Event | None:
        if self._region is not None:
            self._deactivate(out)
        tab, self._last_tab = self._last_tab, False
        if key.startswith("\x1b[200~"):
            self._paste(key[6:].removesuffix("\x1b[201~"), out)
        elif key in ("\r", "\n", "\x1bOM"):
            line = self.line
            out.append(self._to_end() + "\r\n")
            if line.strip():
                self.history.append(line)
                del self.history[:-MAX_HISTORY]
            self.line, self.pos = "", 0
            return Event("line", line)
        elif key == "\x03":
            out.append(self._to_end() + "^C")
            self.line, self.pos = "", 0
            return Event("intr")
        elif key == "\x04":
            if not self.line:
                return Event("eof")
            self._delete(out)
        elif key == "\t":
            self._last_tab = self._tab(out, again=tab)
        elif key in ("\x7f", "\x08"):
            if self.pos == 0:
                out.append(BELL)
            else:
                self._cut(self.pos - 1, self.pos, out)
        elif key == "\x1b[3~":
            self._delete(out)
        elif key == "\x15":  # C-u
            self._killed = self.line[: self.pos]
            self._cut(0, self.pos, out)
        elif key == "\x0b":  # C-k
            self._killed = self.line[self.pos :]
            self._cut(self.pos, len(self.line), out)
        elif key == "\x17":  # C-w
            start = self.pos
            while start > 0 and self.line[start - 1] == " ":
                start -= 1
            while start > 0 and self.line[start - 1] != " ":
                start -= 1
            self._killed = self.line[start : self.pos]
            self._cut(start, self.pos, out)
        elif key == "\x19":  # C-y
            self._insert(self._killed, out)
        elif key in ("\x01", "\x1b[H", "\x1bOH", "\x1b[1~", "\x1b[7~"):
            out.append("\b" * self.pos)
            self.pos = 0
        elif key in ("\x05", "\x1b[F", "\x1bOF", "\x1b[4~", "\x1b[8~"):
            out.append(self._to_end())
        elif key in ("\x02", "\x1b[D", "\x1bOD"):
            if self.pos:
                self.pos -= 1
                out.append("\b")
        elif key in ("\x06", "\x1b[C", "\x1bOC"):
            if self.pos < len(self.line):
                out.append(self.line[self.pos])
                self.pos += 1
        elif key in ("\x10", "\x1b[A", "\x1bOA", "\x0e", "\x1b[B", "\x1bOB"):
            self._history(-1 if key in ("\x10", "\x1b[A", "\x1bOA") else 1, out)
        elif key == "\x0c":  # C-l
            out.append("\x1b[H\x1b[2J\x1b[3J" + self.prompt + self.line + "\b" * (len(self.line) - self.pos))
        elif len(key) == 1 and (key.isprintable() or ord(key) >= 0x80):
            self._insert(key, out)
        return None

    # --- editing -------------------------------------------------------------------------------------------------

    def _to_end(self) -> str:
        tail = self.line[self.pos :]
        self.pos = len(self.line)
        return tail

    def _insert(self, text: str, out: list[str]) -> None:
        text = text[: max(0, self.max_line - len(self.line))]
        if not text:
            out.append(BELL)
            return
        rest = self.line[self.pos :]
        self.line = self.line[: self.pos] + text + rest
        self.pos += len(text)
        out.append(text + rest + "\b" * len(rest))

    def _cut(self, start: int, end: int, out: list[str]) -> None:
        if start == end:
            return
        rest = self.line[end:]
        out.append("\b" * (self.pos - start) + rest + "\x1b[K" + "\b" * len(rest))
        self.line = self.line[:start] + rest
        self.pos = start

    def _delete(self, out: list[str]) -> None:
        if self.pos >= len(self.line):
            out.append(BELL)
        else:
            self._cut(self.pos, self.pos + 1, out)

    def _history(self, direction: int, out: list[str]) -> None:
        idx = self._hist_index + direction
        if idx < 0 or idx > len(self.history):
            out.append(BELL)
            return
        self._hist_index = idx
        new = self.history[idx] if idx < len(self.history) else ""
        out.append("\b" * self.pos + new + "\x1b[K")
        self.line, self.pos = new, len(new)

    def _paste(self, text: str, out: list[str]) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = "".join(c for c in text if c == "\n" or c == "\t" or c.isprintable() or ord(c) >= 0x80)
        text = text[: max(0, self.max_line - len(self.line))]
        if not text:
            return
        rest = self.line[self.pos :]
        self.line = self.line[: self.pos] + text + rest
        self.pos += len(text)
        shown = "\x1b[7m" + "\x1b[27m\r\n\r\x1b[7m".join(text.split("\n")) + "\x1b[27m"
        out.append(shown + rest + "\b" * len(rest))
        self._region = text

    def _deactivate(self, out: list[str]) -> None:
        """The first key after a paste redraws it without highlighting (bash 5.2's active region)."""
        text, self._region = self._region or "", None
        rest = self.line[self.pos :]
        if "\n" in text:
            lines = self.line.split("\n")
            out.append("\x1b[A" * text.count("\n") + "\r" + self.prompt + "\r\n\r".join(lines))
            out.append("\b" * len(rest))
        else:
            out.append("\b" * len(text) + text + rest + "\b" * len(rest))

    # --- completion ----------------------------------------------------------------------------------------------

    def _tab(self, out: list[str], *, again: bool) -> bool:
        """Complete the word before the cursor; True if nothing was inserted (a next TAB may list)."""
        before = self.line[: self.pos]
        start = max(before.rfind(c) for c in " \t;|&<>(") + 1
        word = before[start:]
        head = before[:start].rstrip()
        command_pos = not head or head[-1] in ";|&(" or head.endswith("&&")
        if "/" in word or word.startswith("~") or word.startswith("."):
            command_pos = command_pos and "/" not in word and not word.startswith(("~", "."))
        cands = sorted(set(self.complete(word, command_pos)))[:4096]
        if not cands:
            out.append(BELL)
            return True
        if len(cands) == 1:
            full = cands[0]
            add = full[len(word) :] if full.startswith(word) else ""
            if not full.endswith("/"):
                add += " "
            self._insert(add, out)
            return False
        common = posixpath.commonprefix(cands)
        if len(common) > len(word):  # readline rings first, then inserts the common part
            out.append(BELL)
            self._insert(common[len(word) :], out)
            return False
        if not again:
            out.append(BELL)
            return True
        names = [c[c.rstrip("/").rfind("/") + 1 :] if "/" in c.rstrip("/") else c for c in cands]
        out.append(
            "\r\n"
            + column_listing(names, self.width)
            + "\r\n"
            + self.prompt
            + self.line
            + "\b" * (len(self.line) - self.pos)
        )
        return True
