# SPDX-License-Identifier: MIT
"""What a Telnet daemon emulation needs from a session, and what it must provide.

A fingerprinting scanner tells a Telnet server by its first bytes (which options it offers,
in which order, whether it waits for answers), by its answer to ``IAC AYT`` and by the login
program's prompts, failure texts, delays and tries. Each real daemon the trap imitates is one
``TelnetDaemon`` subclass, measured against the real program on loopback
(``tests/test_diff_telnetd.py``); the session (``telnet.py``) does the I/O, the logging and
the shell, and never decides what goes on the wire before the shell prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from honeyfarm.sensor.context import SessionContext
from honeyfarm.sensor.traps.telnet.proto import Event

#: What ``readline`` does with ^C: raise ``KeyboardInterrupt``, echo ``^C`` and clear the line
#: (a tty with ISIG whose reader ignores SIGINT), or end the line (BusyBox's password prompt).
Intr = Literal["raise", "clear", "end"]


class Interrupted(Exception):
    """^C ended a read that was told to stop there (``intr="end"``)."""


class LoginIO(Protocol):
    """The session primitives a daemon's login dialogue runs on."""

    host: str  # the persona's host name
    peer_name: str  # the client's address as the daemon prints it
    pty: str  # "pts/N"
    kernel_release: str  # the persona's `uname -r`
    login_deadline: float  # loop time: login(1)'s LOGIN_TIMEOUT, from the connection

    def write(self, data: bytes) -> None: ...

    async def wait(self, done: Callable[[], bool], deadline: float) -> None: ...

    async def readline(self, deadline: float, echo: bool | None, intr: Intr) -> str: ...

    async def pause(self, seconds: float) -> None: ...

    async def sleep(self, seconds: float) -> None: ...

    def now(self) -> float: ...

    def attempt(self, username: str, password: str) -> SessionContext | None: ...


@dataclass
class Settings:
    """Per-daemon figures a deployment (or a test) may override."""

    max_tries: int | None = None
    fail_delay: float | None = None


class TelnetDaemon:
    """Base class: the option engine (``on_event``) and the login program (``login``)."""

    name = "telnetd"
    #: ``IAC IP`` reaches the login program as SIGINT (as ^C does).
    ip_is_interrupt = False
    #: Each answer of ``on_event`` is its own write (else answers wait for the daemon's next write).
    separate_writes = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def echo(self) -> bool:
        """Whether the server echoes what the client types (before the shell)."""
        return True

    def on_event(self, ev: Event) -> list[bytes]:
        """Answer one command from the client: a list of separate writes (possibly empty)."""
        raise NotImplementedError

    async def negotiate(self, io: LoginIO) -> None:
        """Everything before the first prompt."""
        raise NotImplementedError

    async def login(self, io: LoginIO) -> SessionContext | None:
        """The login program: a session on success, None when it hangs up."""
        raise NotImplementedError

    def timeout_text(self, seconds: int) -> bytes:
        """What the login program prints when its LOGIN_TIMEOUT alarm fires."""
        raise NotImplementedError

    def after_login(self) -> bytes:
        """Bytes between a successful password and the shell's banner."""
        return b""
