# SPDX-License-Identifier: MIT
"""Exec channels (``ssh host CMD``): standard input, stdout/stderr and the exit status, as sshd.

Bots pipe scripts and files into exec channels (``echo ... | ssh host sh``, ``ssh host bash -s <
script``, ``cat > f``); the input is evidence, and a trap that ignores it shows itself when the
file is not there afterwards. So:

* stdin is read up to ``limits.max_stdin_bytes``, kept in the content store, logged as
  ``cowrie.session.stdin`` (sha256, size, the first bytes as text) and handed to the shell;
* the trap waits for the client's EOF only when the command reads its input (a shell with no
  script, ``cat``/``tee``/``dd`` without a file...), as the real command would block; any other
  command runs at once, like on sshd, and input that arrives meanwhile is logged all the same;
* stdout and stderr go to their own streams, in order; the exit status is the command's.

Nothing is ever executed: the command and its input only reach the fake shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
from typing import Any

import asyncssh

from honeyfarm.sensor.context import SessionContext
from honeyfarm.sensor.traps.ssh.ptychan import raw_writer

__all__ = ["reads_stdin", "run_exec_channel"]

_READERS = frozenset(
    [
        "sh",
        "bash",
        "dash",
        "ash",
        "zsh",
        "ksh",
        "busybox",
        "cat",
        "tee",
        "dd",
        "base64",
        "xxd",
        "gunzip",
        "gzip",
        "zcat",
        "bzip2",
        "xz",
        "tar",
        "xargs",
        "python",
        "python3",
        "perl",
        "php",
        "ruby",
        "node",
        "openssl",
        "sed",
        "awk",
        "grep",
        "head",
        "tail",
        "sort",
        "uniq",
        "wc",
        "tr",
        "cut",
        "md5sum",
        "sha256sum",
        "sha1sum",
        "read",
        "crontab",
        "mapfile",
        "readarray",
    ]
)
_WRAPPERS = frozenset(["sudo", "exec", "nohup", "nice", "command", "env", "time", "setsid", "stdbuf", "timeout"])
_SPLIT = re.compile(r"&&|\|\||[;&|\n]")
_REDIR = re.compile(r"^\d*(>>?|<|&>|>&)")
HEAD_CHARS = 4096
DRAIN_QUIET = 0.001  # "only what is already here": no delay a client could time


def reads_stdin(command: str) -> bool:
    """Whether some simple command of ``command`` reads its standard input (no file operand)."""
    for segment in _SPLIT.split(command[:8192])[:64]:
        try:
            words = shlex.split(segment, comments=True)
        except ValueError:
            words = segment.split()
        words = _strip_redirections(words)
        while words and ("=" in words[0].split("/")[0] or words[0] in _WRAPPERS):
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[1:]
        if not words:
            continue
        prog = words[0].rsplit("/", 1)[-1]
        if prog not in _READERS:
            continue
        args = words[1:]
        if prog == "busybox" and args:
            prog, args = args[0], args[1:]
        if prog in ("sh", "bash", "dash", "ash", "zsh", "ksh"):
            if "-c" in args or any(not a.startswith("-") for a in args):
                continue
            return True
        if prog in ("tee", "read", "mapfile", "readarray"):
            return True
        if prog == "dd":
            if not any(a.startswith("if=") for a in args):
                return True
            continue
        if prog in ("python", "python3", "perl", "php", "ruby", "node") and any(
            a in ("-c", "-e", "-r") or not a.startswith("-") for a in args
        ):
            continue
        operands = [a for a in args if not a.startswith("-") or a == "-"]
        if prog in ("sed", "awk", "grep") and operands:
            operands = operands[1:]  # the script / pattern
        if not operands or "-" in operands:
            return True
    return False


def _strip_redirections(words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        m = _REDIR.match(w)
        if m:
            skip = m.end() == len(w)  # `> file`: the target is the next word
            continue
        out.append(w)
    return out


class _Input:
    """What the client sent on stdin: bytes, capped, and whether EOF came.

    The channel hands text: on a ``latin-1`` channel (see :class:`~honeyfarm.sensor.traps.ssh.session.TrapProcess`)
    each character is one byte, exactly; otherwise it is UTF-8 text with lone surrogates for bytes
    that were not (or U+FFFD, if the channel replaced them before we could say otherwise).
    """

    def __init__(self, cap: int, latin: bool) -> None:
        self.cap = cap
        self.latin = latin
        self.data = bytearray()
        self.truncated = False
        self.eof = False

    def add(self, text: str) -> None:
        raw = text.encode("latin-1") if self.latin else text.encode("utf-8", "surrogateescape")
        room = self.cap - len(self.data)
        if len(raw) > room:
            self.truncated = True
            raw = raw[: max(room, 0)]
        self.data += raw

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def text(self) -> str:
        """What the shell reads: UTF-8, other bytes as lone surrogates (written back as the same bytes)."""
        return bytes(self.data).decode("utf-8", "surrogateescape")

    def raw(self) -> bytes:
        return bytes(self.data)


async def _read_until(process: asyncssh.SSHServerProcess[str], got: _Input, deadline: float | None) -> None:
    """Read stdin into ``got`` until EOF, the cap, or ``deadline`` (loop time; None: only what is buffered)."""
    loop = asyncio.get_running_loop()
    while not got.eof and not got.truncated:
        timeout = DRAIN_QUIET if deadline is None else deadline - loop.time()
        if timeout <= 0:
            return
        try:
            async with asyncio.timeout(timeout):
                data = await process.stdin.read(65536)
        except TimeoutError:
            return
        except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
            continue
        if not data:
            got.eof = True
            return
        got.add(data)


async def _log_input(session: SessionContext, command: str, got: _Input) -> None:
    if not got.size:
        return
    raw = got.raw()
    store = session.sensor.store
    sha256 = None
    if store is not None:
        with contextlib.suppress(OSError):
            sha256 = (await asyncio.to_thread(store.put, raw)).sha256
    if sha256 is None:
        import hashlib

        sha256 = hashlib.sha256(raw).hexdigest()
    session.emit(
        "cowrie.session.stdin",
        command=command,
        sha256=sha256,
        size=got.size,
        truncated=got.truncated or None,
        text=raw[:HEAD_CHARS].decode("utf-8", "replace"),
    )


async def run_exec_channel(
    process: asyncssh.SSHServerProcess[str], shell: Any, session: SessionContext, command: str, *, pty: bool
) -> int:
    """Run ``command`` on the fake shell with the channel's stdin; write its output; return its status."""
    limits = session.sensor.cfg.limits
    encoding = process.channel.get_encoding()[0]
    latin = encoding == "latin-1"
    got = _Input(limits.max_stdin_bytes, latin)
    write_pty = raw_writer(process) if pty else None  # before reading: no editor echoing the input
    loop = asyncio.get_running_loop()
    if reads_stdin(command):
        await _read_until(process, got, loop.time() + limits.idle_timeout)
    else:
        await _read_until(process, got, None)  # what came with the request; the rest is read below
    run_exec = getattr(shell, "run_exec", None)
    if run_exec is not None:
        result = await run_exec(command, got.text)
    else:  # the shell before run_exec existed: one interactive line, no stdin
        result = await shell.run_line(command)
        if result.exit and result.output.endswith("logout\n"):
            result.output = result.output[: -len("logout\n")]
    chunks: list[tuple[int, str]] | None = getattr(result, "chunks", None)
    if chunks is None:
        chunks = [(1, result.output)] if result.output else []
    for fd, text in chunks:
        if latin:  # bytes out as they are: the shell's text is UTF-8 with surrogate-escaped bytes
            text = text.encode("utf-8", "surrogateescape").decode("latin-1")
        if write_pty is not None:  # one stream, as the pty's line discipline turns it
            write_pty(text.replace("\n", "\r\n"))
        elif fd == 2:
            process.stderr.write(text)
        else:
            process.stdout.write(text)
    if not got.eof and not got.truncated:
        await _read_until(process, got, None)
    await _log_input(session, command, got)
    await session.sensor.flush_overlay(session)
    return int(result.status)
