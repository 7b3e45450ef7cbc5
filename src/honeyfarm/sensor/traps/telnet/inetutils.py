# SPDX-License-Identifier: MIT
"""Debian 12's ``inetutils-telnetd`` (2.4) running ``/bin/login`` (shadow 4.13 with PAM).

Measured against the real daemon on loopback (``tests/test_diff_telnetd.py``):

* It opens with ``WILL AUTHENTICATION, WILL ENCRYPT, DO TTYPE, DO TSPEED, DO XDISPLOC,
  DO NEW-ENVIRON, DO OLD-ENVIRON`` and then **waits** for the client's answers (a client that
  answers nothing never sees a prompt; the real daemon waits for ever, the trap until the
  login timeout, then hangs up without a word). It asks (``SB ... SEND``) for what the client
  agreed to send, waits for those, then offers ``WILL SGA, DO ECHO, DO LINEMODE, DO NAWS,
  WILL STATUS, DO LFLOW``, waits for the NAWS answer, and sends ``WILL ECHO, DO TIMING-MARK,
  DO BINARY`` (or the LINEMODE dance for a client that accepted LINEMODE).
* Its banner is not ``/etc/issue.net`` but ``\\r\\nLinux <release> (<client host>) (pts/N)``.
* ``IAC AYT`` is answered ``\\r\\n[Yes]\\r\\n`` at any time (Linux has no SIGINFO).
* login(1) then re-offers ``WILL SGA``/``WILL ECHO`` a client refused, prompts
  ``<host> login: `` (an empty name still gets ``Password: ``), waits pam_faildelay's 3 s
  (stretched 0.5-1.5x by Linux-PAM) after a failure, prints ``\\r\\nLogin incorrect``, and after
  5 failures (LOGIN_RETRIES) ``Maximum number of tries exceeded (5)`` and hangs up. ^C (or
  ``IAC IP``) at a prompt kills login: the daemon sends ``\\xf2`` (its IAC DM, the IAC lost)
  and hangs up. After 60 s: ``Login timed out after 60 seconds.``
"""

from __future__ import annotations

import contextlib

from honeyfarm.sensor.context import SessionContext
from honeyfarm.sensor.traps.ssh.openssh import auth_failure_delay
from honeyfarm.sensor.traps.telnet.daemon import LoginIO, Settings, TelnetDaemon
from honeyfarm.sensor.traps.telnet.proto import (
    AUTHENTICATION,
    AYT,
    BINARY,
    DO,
    DONT,
    ECHO,
    ENCRYPT,
    LFLOW,
    LINEMODE,
    NAWS,
    NEW_ENVIRON,
    OLD_ENVIRON,
    QUAL_SEND,
    SGA,
    STATUS,
    TM,
    TSPEED,
    TTYPE,
    WILL,
    WONT,
    XDISPLOC,
    Event,
    cmd,
    sub,
)

MAX_TRIES = 5  # /etc/login.defs LOGIN_RETRIES
FAIL_DELAY = 3.0  # /etc/pam.d/login: pam_faildelay.so delay=3000000
LOGIN_START = 0.003  # banner to login's first write (exec, PAM start)
USER_LOOKUP = 0.001  # user name to "Password: " (PAM's user lookup)
_TERMINAL = (TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON, OLD_ENVIRON)
# Options the daemon lets the client turn on (client WILL) and turns on itself (client DO).
_HIS_OK = {BINARY, ECHO, SGA, TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON, OLD_ENVIRON, NAWS, LFLOW, LINEMODE, TM}
_MY_OK = {BINARY, ECHO, SGA, STATUS, ENCRYPT, AUTHENTICATION}
# SB LINEMODE SLC as the daemon sends it to the telnet(1) client: its pty's special characters.
_SLC = (
    b'\xff\xfa"\x03\x03\xe2\x03\x04\x82\x0f\x07\xe2\x1c\x08\x82\x04\t\xc2\x1a\n\x82\x7f\x0b\x82\x15'
    b"\x0c\x82\x17\r\x82\x12\x0e\x82\x16\x0f\x82\x11\x10\x82\x13\xff\xf0"
)
LINEMODE_MODE_EDIT_TRAPSIG = sub(LINEMODE, 1, 3)
LINEMODE_MODE_LIT_ECHO = sub(LINEMODE, 1, 0x10)
LFLOW_RESTART_XON = sub(LFLOW, 3)


class Inetutils(TelnetDaemon):
    """The option state (Borman's: what the client does, what we do, what we still wait for)."""

    name = "inetutils-telnetd"
    ip_is_interrupt = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.his: dict[int, bool] = {}  # client's side of an option, once answered
        self.my: dict[int, bool] = {}  # our side
        self.asked: set[int] = set()  # we sent DO, no answer yet
        self.offered: set[int] = set()  # we sent WILL, no answer yet
        self.sb_seen: set[int] = set()
        self.mode_ack = False
        self.kludge = False

    @property
    def echo(self) -> bool:
        return self.my.get(ECHO, False)

    # --- option engine -------------------------------------------------------------------------

    def _do(self, opt: int) -> bytes:
        self.asked.add(opt)
        return cmd(DO, opt)

    def _will(self, opt: int) -> bytes:
        self.offered.add(opt)
        return cmd(WILL, opt)

    def on_event(self, ev: Event) -> list[bytes]:
        if ev.kind == "cmd":
            return [b"\r\n[Yes]\r\n"] if ev.verb == AYT else []
        if ev.kind == "sb":
            self.sb_seen.add(ev.opt)
            if ev.opt == LINEMODE and ev.data[:1] == b"\x01":
                self.mode_ack = True
            return []
        verb, opt = ev.verb, ev.opt
        if verb in (WILL, WONT):
            yes = verb == WILL
            if opt in self.asked:  # an answer: no reply, except the 4.2BSD ECHO probe and TM kludge
                self.asked.discard(opt)
                self.his[opt] = yes and opt != TM
                if yes and opt == ECHO:
                    self.his[opt] = False
                    return [cmd(DONT, ECHO)]
                if yes and opt == TM and not self.kludge:
                    self.kludge = True
                    self.my[SGA] = False
                    return [cmd(WONT, SGA)]
                return []
            if yes == self.his.get(opt, False):
                return []
            ok = yes and opt in _HIS_OK and opt != TM
            self.his[opt] = ok
            if ok and opt == LINEMODE:  # hydra's opening: telnetd states the mode of its (not yet made) pty
                return [cmd(DO, LINEMODE) + LINEMODE_MODE_LIT_ECHO + b"\x00"]
            return [cmd(DO if ok else DONT, opt)]
        yes = verb == DO
        if opt in self.offered:
            self.offered.discard(opt)
            self.my[opt] = yes
            return []
        if yes and opt == TM:
            return [cmd(WILL, TM)]
        if yes == self.my.get(opt, False):
            return []
        ok = yes and opt in _MY_OK
        self.my[opt] = ok
        return [cmd(WILL if ok else WONT, opt)]

    # --- before login ----------------------------------------------------------------------------

    async def negotiate(self, io: LoginIO) -> None:
        deadline = io.login_deadline
        io.write(
            self._will(AUTHENTICATION)
            + self._will(ENCRYPT)
            + b"".join(self._do(o) for o in (TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON, OLD_ENVIRON))
        )
        await io.wait(lambda: ENCRYPT not in self.offered and not self.asked.intersection(_TERMINAL), deadline)
        want = [o for o in (TSPEED, XDISPLOC) if self.his.get(o)]
        if self.his.get(NEW_ENVIRON):
            want.append(NEW_ENVIRON)
        elif self.his.get(OLD_ENVIRON):
            want.append(OLD_ENVIRON)
        if self.his.get(TTYPE):
            want.append(TTYPE)
        if want:
            io.write(b"".join(sub(o, QUAL_SEND) for o in want))
            await io.wait(lambda: self.sb_seen.issuperset(want), deadline)
        out = b"" if self.my.get(SGA) else self._will(SGA)
        out += self._do(ECHO)
        if not self.his.get(LINEMODE):
            out += self._do(LINEMODE)
        out += self._do(NAWS) + self._will(STATUS) + self._do(LFLOW)
        io.write(out)
        await io.wait(lambda: NAWS not in self.asked, deadline)
        if ECHO in self.asked and self.his.get(NAWS):
            await io.wait(lambda: ECHO not in self.asked, deadline)
        if ECHO in self.asked:  # never answered: telnetd simulates a WILL ECHO
            self.asked.discard(ECHO)
            io.write(cmd(DONT, ECHO))
        linemode = bool(self.his.get(LINEMODE))
        if linemode:
            io.write(LINEMODE_MODE_EDIT_TRAPSIG + b"\x00")
            await io.wait(lambda: self.mode_ack, deadline)
        tail = LFLOW_RESTART_XON + b"\x00" if self.his.get(LFLOW) else b""
        tail += self._will(ECHO)
        if not linemode:
            tail += cmd(DO, TM)
            self.asked.add(TM)
        tail += self._do(BINARY)
        if linemode:
            tail += cmd(DONT, LINEMODE) + _SLC
            self.his[LINEMODE] = False
        io.write(tail)
        io.write(f"\r\nLinux {io.kernel_release} ({io.peer_name}) ({io.pty})\r\n\r\n".encode())

    # --- /bin/login --------------------------------------------------------------------------------

    async def login(self, io: LoginIO) -> SessionContext | None:
        # telnetd reads the answers to its last offers while login(1) starts (fork, exec, PAM), so
        # they decide the echo and what it offers again when login changes the tty's modes.
        start = io.now()
        with contextlib.suppress(TimeoutError):
            await io.wait(lambda: not self.offered.intersection((ECHO,)) and BINARY not in self.asked, start + 0.04)
        await io.sleep(max(0.0, start + LOGIN_START - io.now()))
        again = b""
        for opt in (SGA, ECHO):  # login's termios change makes telnetd re-offer what was refused
            if not self.my.get(opt) and opt not in self.offered:
                again += self._will(opt)
        tries = self.settings.max_tries or MAX_TRIES
        mean = FAIL_DELAY if self.settings.fail_delay is None else self.settings.fail_delay
        prompt = f"{io.host} login: ".encode()
        io.write(again + prompt)
        deadline = io.login_deadline
        for attempt in range(1, tries + 1):
            try:
                username = await io.readline(deadline, None, "raise")
            except KeyboardInterrupt:
                io.write(b"\xf2^C" if self.echo else b"\xf2")
                return None
            await io.sleep(USER_LOOKUP)
            io.write(b"Password: ")
            try:
                password = await io.readline(deadline, False, "raise")
            except KeyboardInterrupt:
                io.write(b"\xf2")
                return None
            io.write(b"\r\n")
            session = io.attempt(username.strip(), password)
            if session is not None:
                return session
            await io.pause(auth_failure_delay(mean) if mean else 0.0)
            if attempt == tries:
                io.write(f"\r\nLogin incorrect\r\nMaximum number of tries exceeded ({tries})\r\n".encode())
                return None
            io.write(b"\r\nLogin incorrect\r\n" + prompt)
        return None

    def timeout_text(self, seconds: int) -> bytes:
        return f"\r\nLogin timed out after {seconds} seconds.\r\n".encode()
