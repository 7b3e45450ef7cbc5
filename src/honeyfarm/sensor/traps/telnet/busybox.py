# SPDX-License-Identifier: MIT
"""BusyBox 1.35 ``telnetd`` running BusyBox ``login``: the Telnet of most routers and IoT devices.

Measured against the real pair on loopback (``tests/test_diff_telnetd.py``; Debian's
``busybox-static``, ``telnetd -l <busybox as login>``):

* It sends ``DO ECHO, DO NAWS, WILL ECHO, WILL SGA`` at once and never answers or waits for
  anything the client negotiates (it only reads NAWS); it echoes whatever the client says.
* Then the issue file through the pty: ``\\r\\r\\n`` and each line of ``/etc/issue.net`` ending
  ``\\r\\n\\r`` (routers usually have none: just ``\\r\\r\\n``), and ``<host> login: ``.
* ``IAC AYT`` gets ``\\xff\\xff`` then ``\\xf1``: the daemon means ``IAC NOP`` but escapes its IAC.
* An empty name re-prompts (10 times, then it hangs up); ^C at ``login:`` echoes ``^C`` and
  kills login (hang-up); ``IAC IP`` is ignored. At ``Password: `` ^C ends the input (a failed
  attempt).
* A failure waits exactly 3 s, prints ``Login incorrect`` and prompts again; after the 3rd it
  hangs up. After 60 s: ``\\r\\r\\nLogin timed out after 60 seconds\\r\\r\\n`` (no full stop).
"""

from __future__ import annotations

from honeyfarm.sensor.context import SessionContext
from honeyfarm.sensor.traps.telnet.daemon import Interrupted, LoginIO, Settings, TelnetDaemon
from honeyfarm.sensor.traps.telnet.proto import AYT, DO, ECHO, IAC, NAWS, NOP, SGA, WILL, Event, cmd

MAX_TRIES = 3
FAIL_DELAY = 3.0  # LOGIN_FAIL_DELAY, not randomised
EMPTY_USERNAME_COUNT = 10
LOGIN_START = 0.001  # issue to login's first write (exec)
USER_LOOKUP = 0.001  # user name to "Password: "
OPENING = cmd(DO, ECHO) + cmd(DO, NAWS) + cmd(WILL, ECHO) + cmd(WILL, SGA)


def issue_bytes(issue: str | None) -> bytes:
    """``print_login_issue``: ``puts("\\r")`` then the file with each ``\\n`` written ``\\n\\r``, via onlcr."""
    out = "\r\n" + (issue or "").replace("\n", "\n\r")
    return out.replace("\n", "\r\n").encode("utf-8", "replace")


class BusyBox(TelnetDaemon):
    name = "busybox-telnetd"
    separate_writes = True

    def __init__(self, settings: Settings, issue: str | None = None) -> None:
        super().__init__(settings)
        self.issue = issue

    def on_event(self, ev: Event) -> list[bytes]:
        if ev.kind == "cmd" and ev.verb == AYT:
            return [bytes([IAC, IAC]), bytes([NOP])]
        return []

    async def negotiate(self, io: LoginIO) -> None:
        io.write(OPENING)
        await io.sleep(0.002)  # the child's fork before it prints the issue
        io.write(issue_bytes(self.issue))

    async def login(self, io: LoginIO) -> SessionContext | None:
        await io.sleep(LOGIN_START)  # exec of login
        tries = self.settings.max_tries or MAX_TRIES
        delay = FAIL_DELAY if self.settings.fail_delay is None else self.settings.fail_delay
        prompt = f"{io.host} login: ".encode()
        deadline = io.login_deadline
        failures = empties = 0
        while True:
            io.write(prompt)
            try:
                line = await io.readline(deadline, True, "raise")
            except KeyboardInterrupt:  # SIGINT kills login; the tty echoes ^C first
                io.write(b"^C")
                await io.sleep(0.01)
                return None
            words = line.split()
            if not words:
                empties += 1
                if empties >= EMPTY_USERNAME_COUNT:
                    return None
                continue
            await io.sleep(USER_LOOKUP)
            io.write(b"Password: ")
            try:
                password: str | None = await io.readline(deadline, False, "end")
            except Interrupted:
                password = None
            io.write(b"\r\n")
            if password is not None:
                session = io.attempt(words[0], password)
                if session is not None:
                    return session
            await io.pause(delay)
            io.write(b"Login incorrect\r\n")
            failures += 1
            if failures >= tries:
                return None

    def timeout_text(self, seconds: int) -> bytes:
        return f"\r\r\nLogin timed out after {seconds} seconds\r\r\n".encode()
