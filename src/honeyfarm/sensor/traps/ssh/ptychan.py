# SPDX-License-Identifier: MIT
"""Interactive SSH sessions with a pty: bash's prompt loop over :class:`~honeyfarm.sensor.shell.lineedit.LineEditor`.

Kept apart from :mod:`honeyfarm.sensor.traps.ssh.session` (channel requests) so the terminal's bytes —
what bash and the pty's line discipline write — live in one place. Output goes to the channel
as the pty would turn it (``\\n`` → ``\\r\\n``); asyncssh's own line editor is switched off for
the channel, so nothing is redrawn behind the emulation's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
from collections.abc import Callable
from typing import Any

import asyncssh

from honeyfarm.sensor.capture.ttylog import TTYLog
from honeyfarm.sensor.context import SessionContext
from honeyfarm.sensor.shell.fs.vfs import FSError
from honeyfarm.sensor.shell.lineedit import PASTE_OFF, PASTE_ON, LineEditor

__all__ = ["BASH_WORDS", "Completions", "raw_writer", "run_pty_session"]

# `compgen -b -k` of Debian 12's bash 5.2.15
BASH_WORDS = [
    ".",
    ":",
    "[",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "echo",
    "enable",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "getopts",
    "hash",
    "help",
    "history",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "case",
    "esac",
    "for",
    "select",
    "while",
    "until",
    "do",
    "done",
    "in",
    "function",
    "time",
    "{",
    "}",
    "!",
    "[[",
    "]]",
    "coproc",
]
MAX_LISTED = 4096


class Completions:
    """TAB candidates from the session's fake filesystem (never the host's)."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def __call__(self, word: str, command_pos: bool) -> list[str]:
        if command_pos:
            return self._commands(word)
        return self._paths(word)

    def _commands(self, word: str) -> list[str]:
        found = {w for w in BASH_WORDS if w.startswith(word)}
        fs = self.shell.fs
        for d in self.shell.env.get("PATH", "").split(":")[:32]:
            try:
                names = fs.listdir(d or ".", self.shell.cwd)
            except FSError:
                continue
            for name in names:
                if name.startswith(word) and len(found) < MAX_LISTED:
                    with contextlib.suppress(FSError):
                        _, node = fs.lookup(posixpath.join(d, name), self.shell.cwd)
                        if fs.can_execute(node):
                            found.add(name)
        if not found:  # `./scr<TAB>` and the like: paths, as bash falls back to
            return [p for p in self._paths(word) if p.endswith("/") or "/" in p]
        return sorted(found)

    def _paths(self, word: str) -> list[str]:
        home = self.shell.env.get("HOME", "/")
        shown_dir, _, prefix = word.rpartition("/")
        if "/" in word:
            shown_dir += "/"
        real_dir = shown_dir or "."
        if real_dir.startswith("~"):
            real_dir = home + real_dir[1:]
        fs = self.shell.fs
        try:
            names = fs.listdir(real_dir, self.shell.cwd)
        except FSError:
            return []
        out = []
        for name in names:
            if not name.startswith(prefix) or (name.startswith(".") and not prefix.startswith(".")):
                continue
            full = shown_dir + name
            if fs.is_dir(posixpath.join(real_dir, name), self.shell.cwd):
                full += "/"
            out.append(full)
            if len(out) >= MAX_LISTED:
                break
        return out


def raw_writer(process: asyncssh.SSHServerProcess[str]) -> Callable[[str], None]:
    """Write to the channel as is: asyncssh's line editor (on in the options) must not touch the bytes."""
    chan: Any = process.channel
    with contextlib.suppress(Exception):
        chan.set_line_mode(False)
    raw = getattr(chan, "_orig_chan", chan)  # the editor's wrapper keeps the real channel here
    return lambda text: raw.write(text)


async def run_pty_session(
    process: asyncssh.SSHServerProcess[str],
    shell: Any,
    session: SessionContext,
    *,
    width: int,
    tty: TTYLog | None,
    motd: str,
) -> int:
    """bash's interactive loop until ``exit``, Ctrl-D, the idle deadline or a hang-up; returns the status."""
    limits = session.sensor.cfg.limits
    write_raw = raw_writer(process)
    editor = LineEditor(Completions(shell), max_line=limits.max_line_bytes, width=width)
    status = 0

    def out(text: str) -> None:
        if not text:
            return
        write_raw(text)
        if tty is not None:
            tty.output(text)

    pending = ""  # lines of a command bash would ask more for (`if true; then`, an open quote, `<<EOF`)

    def prompt() -> None:
        p = "> " if pending else shell.prompt()  # PS2, bash's continuation prompt
        editor.new_prompt(p)
        out(PASTE_ON + p)

    loop = asyncio.get_running_loop()
    out(motd.replace("\n", "\r\n"))
    prompt()
    deadline = loop.time() + limits.idle_timeout
    while True:
        text, ev = editor.step()
        out(text)
        if ev is None:
            try:
                async with asyncio.timeout_at(deadline):
                    data = await process.stdin.read(4096)
            except asyncssh.TerminalSizeChanged as exc:
                session.log.emit("cowrie.client.size", width=exc.width, height=exc.height)
                editor.width = exc.width or 80
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                editor.feed("\x03")
                continue
            except TimeoutError:
                out(PASTE_OFF + "\r\ntimed out waiting for input: auto-logout\r\n")
                break
            if not data:  # the client closed its side
                break
            if tty is not None:
                tty.input(data)
            editor.feed(data)
            continue
        if ev.kind == "eof":
            out(PASTE_OFF + "\r\nlogout\r\n")
            break
        if ev.kind == "intr":
            out(PASTE_OFF + PASTE_ON + PASTE_OFF + "\r\n")
            shell.last_status = 130
            pending = ""
            prompt()
            deadline = loop.time() + limits.idle_timeout
            continue
        out(PASTE_OFF)
        text = pending + ev.text
        if len(text) < limits.max_line_bytes and shell.incomplete(text + "\n"):
            pending = text + "\n"
            prompt()
            deadline = loop.time() + limits.idle_timeout
            continue
        pending = ""
        result = await shell.run_line(text)
        status = result.status
        chunks = getattr(result, "chunks", None)
        body = "".join(t for _, t in chunks) if chunks is not None else result.output
        out(body.replace("\n", "\r\n"))
        if result.exit:
            break
        prompt()
        deadline = loop.time() + limits.idle_timeout
    return status
