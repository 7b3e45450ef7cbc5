# SPDX-License-Identifier: MIT
"""One FTP control connection: vsftpd 3.0.3's command loop, replies and login rules.

Reply texts are vsftpd's (``prelogin.c``, ``postlogin.c``), as Debian 12's build answers with
this persona's settings: anonymous allowed (``anonymous_enable``), uploads allowed
(``write_enable``, ``anon_upload_enable``), ``chroot_local_user`` (every session sees ``/``),
no TLS, passive mode answered, active mode accepted only toward the client and then failing
(the trap never connects out). Before login only USER, PASS, FEAT, OPTS and QUIT work.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.traps.ftp import transfer
from honeyfarm.sensor.traps.ftp.data import DataRefused, Passive, parse_eprt, parse_port, pasv_reply
from honeyfarm.sensor.traps.ftp.vfs import VirtualFS, listing, normalise
from honeyfarm.sensor.traps.stream import Closed, Conn

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.ftp.server import FTPTrap

BANNER = "220 (vsFTPd 3.0.3)"
ANON_NAMES = ("anonymous", "ftp")
FTP_OWNER = (107, 111)  # Debian's `ftp` user and group own anonymous uploads (as on a minimal install)
USER_OWNER = (1000, 1000)  # the first adduser account
LINE_CEILING = 64 * 1024  # the StreamReader limit: longer lines close the connection
MAX_LOGGED_ARG = 1024

FEAT = "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End"
HELP = (
    "214-The following commands are recognized.\r\n"
    " ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n"
    " MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n"
    " RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n"
    " XPWD XRMD\r\n"
    "214 Help OK."
)
WRITE_VERBS = {"DELE", "MKD", "XMKD", "RMD", "XRMD", "RNFR", "RNTO", "SITE"}


class FTPSession:
    def __init__(self, trap: FTPTrap, conn: Conn) -> None:
        self.trap = trap
        self.cfg = trap.ftp
        self.conn = conn
        self.log = conn.log
        self.pending_user: str | None = None
        self.user: str | None = None
        self.anonymous = False
        self.fails = 0
        self.cwd = "/"
        self.binary = False
        self.rest = 0
        self.rnfr: str | None = None
        self.epsv_all = False
        self.passive: Passive | None = None
        self.port_set = False
        self.uploads = 0
        self.commands = 0
        self.logged = 0
        self.clients_at_start = len(trap.conns)
        self.fs = VirtualFS(trap.files, trap.files_mtime)
        self.refused: list[str] = []  # addresses whose data connection was closed (not the client)

    # --- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self.conn.write(f"{BANNER}\r\n".encode())
            while await self.one():
                pass
        except Closed as e:
            if e.reason == "idle timeout":
                # vsftpd says goodbye to a silent client; a reset peer makes this write fail quietly.
                with contextlib.suppress(Closed):
                    await self.conn.write(b"421 Timeout.\r\n")
            raise
        finally:
            self.drop_passive()
            self.conn.extra.update(commands=self.commands, uploads=self.uploads)
            if self.refused:  # data connections from other addresses (closed unanswered)
                self.conn.extra["data_refused"] = self.refused
            if self.user is not None:
                self.conn.fields["username"] = self.user[:256]

    async def one(self) -> bool:
        raw = await self.conn.read_line(LINE_CEILING)
        self.commands += 1
        if self.commands > self.cfg.max_commands:
            self.conn.reason = "max_commands"
            return False
        line = raw[: self.cfg.max_line_bytes].rstrip(b"\r\n").replace(b"\xff", b"")
        text = line.decode("utf-8", "surrogateescape")
        verb, _, arg = text.partition(" ")
        verb = verb.upper()
        if not verb and not arg:
            return True  # vsftpd ignores empty lines ("to avoid NAT device bugs")
        reply, go_on = await self.dispatch(verb, arg)
        self.record(text, verb, arg, reply)
        if "://" in text and verb != "PASS":  # a password is no request to fetch anything
            capture_payload(self.trap.ctx, self.log, text[: MAX_LOGGED_ARG * 4], trap="ftp")
        return go_on

    def record(self, text: str, verb: str, arg: str, reply: str) -> None:
        if self.logged >= self.cfg.max_logged_commands:
            return
        self.logged += 1
        if verb == "PASS":
            text, arg = "PASS ********", "********"
        self.log.emit(
            "ftp.command.input",
            command=_safe(text),
            extra={"verb": _safe(verb[:32]), "argument": _safe(arg), "reply": int(reply[:3] or 0)},
        )

    async def say(self, reply: str) -> str:
        await self.conn.write(reply.encode("utf-8", "surrogateescape") + b"\r\n")
        return reply

    async def dispatch(self, verb: str, arg: str) -> tuple[str, bool]:
        if verb == "QUIT":
            self.conn.reason = "quit"
            return await self.say("221 Goodbye."), False
        if verb == "USER":
            return await self.cmd_user(arg), True
        if verb == "PASS":
            reply = await self.cmd_pass(arg)
            if self.fails >= self.cfg.max_login_fails:
                self.conn.reason = "too many failed logins"
                return reply, False
            return reply, True
        if verb == "FEAT":
            return await self.say(FEAT), True
        if verb == "OPTS":
            ok = arg.upper() in ("UTF8 ON", "UTF8")
            return await self.say("200 Always in UTF8 mode." if ok else "501 Option not understood."), True
        if self.user is None:
            return await self.say("530 Please login with USER and PASS."), True
        handler = COMMANDS.get(verb)
        if handler is None:
            return await self.say("500 Unknown command."), True
        return await handler(self, arg), True

    # --- login ----------------------------------------------------------------------------------

    async def cmd_user(self, arg: str) -> str:
        if self.user is not None:
            text = "530 Can't change from guest user." if self.anonymous else "530 Can't change to another user."
            return await self.say(text)
        self.pending_user = arg or None  # an empty name is answered 331, then PASS gets 503
        return await self.say("331 Please specify the password.")

    async def cmd_pass(self, password: str) -> str:
        if self.user is not None:
            return await self.say("230 Already logged in.")
        if self.pending_user is None:
            return await self.say("503 Login with USER first.")
        user, self.pending_user = self.pending_user, None
        anonymous = self.cfg.anonymous and user.lower() in ANON_NAMES
        ok = anonymous or self.trap.ctx.policy.check(self.log.src_ip, user, password)
        fields: dict[str, Any] = {"username": _safe(user), "password": _safe(password)}
        if ok:
            self.user, self.anonymous = user, anonymous
            self.fs.owner = FTP_OWNER if anonymous else USER_OWNER
            self.log.emit("ftp.login.success", **fields, extra={"anonymous": anonymous})
            return await self.say("230 Login successful.")
        self.fails += 1
        self.log.emit("ftp.login.failed", **fields)
        await asyncio.sleep(self.cfg.fail_delay)
        return await self.say("530 Login incorrect.")

    # --- simple commands ------------------------------------------------------------------------

    async def cmd_syst(self, arg: str) -> str:
        return await self.say("215 UNIX Type: L8")

    async def cmd_noop(self, arg: str) -> str:
        return await self.say("200 NOOP ok.")

    async def cmd_help(self, arg: str) -> str:
        return await self.say(HELP)

    async def cmd_pwd(self, arg: str) -> str:
        return await self.say(f'257 "{self.cwd}" is the current directory')

    async def cmd_cwd(self, arg: str) -> str:
        path = normalise(self.cwd, arg)
        if not arg or not self.fs.is_dir(path):  # chdir("") fails
            return await self.say("550 Failed to change directory.")
        self.cwd = path
        return await self.say("250 Directory successfully changed.")

    async def cmd_cdup(self, arg: str) -> str:
        return await self.cmd_cwd("..")

    async def cmd_type(self, arg: str) -> str:
        kind = arg.upper()
        if kind in ("I", "L8", "L 8"):
            self.binary = True
            return await self.say("200 Switching to Binary mode.")
        if kind in ("A", "A N"):
            self.binary = False
            return await self.say("200 Switching to ASCII mode.")
        return await self.say("500 Unrecognised TYPE command.")

    async def cmd_mode(self, arg: str) -> str:
        return await self.say("200 Mode set to S." if arg.upper() == "S" else "504 Bad MODE command.")

    async def cmd_stru(self, arg: str) -> str:
        return await self.say("200 Structure set to F." if arg.upper() == "F" else "504 Bad STRU command.")

    async def cmd_rest(self, arg: str) -> str:
        digits = "".join(c for c in arg[:20] if c.isdigit()) if arg[:1].isdigit() else ""
        self.rest = int(digits) if digits else 0
        return await self.say(f"350 Restart position accepted ({self.rest}).")

    async def cmd_tls(self, arg: str) -> str:
        return await self.say("550 Permission denied.")  # PBSZ/PROT without ssl_enable

    async def not_implemented(self, verb: str) -> str:
        return await self.say(f"502 {verb} not implemented.")

    async def cmd_abor(self, arg: str) -> str:
        return await self.say("225 No transfer to ABOR.")

    async def cmd_allo(self, arg: str) -> str:
        return await self.say("202 ALLO command ignored.")

    async def cmd_size(self, arg: str) -> str:
        node = self.fs.get(normalise(self.cwd, arg))
        if node is None or node.is_dir:
            return await self.say("550 Could not get file size.")
        return await self.say(f"213 {node.size}")

    async def cmd_mdtm(self, arg: str) -> str:
        node = self.fs.get(normalise(self.cwd, arg))
        if node is None or node.is_dir:
            return await self.say("550 Could not get file modification time.")
        return await self.say("213 " + time.strftime("%Y%m%d%H%M%S", time.gmtime(node.mtime)))

    async def cmd_stat(self, arg: str) -> str:
        if arg:
            body = listing(self.fs, normalise(self.cwd, arg), arg, names_only=False, show_hidden=True)
            return await self.say(f"213-Status follows:\r\n{body.decode('utf-8', 'surrogateescape')}213 End of status")
        return await self.say(
            "211-FTP server status:\r\n"
            f"     Connected to {self.log.src_ip}\r\n"
            f"     Logged in as {'ftp' if self.anonymous else self.user}\r\n"
            f"     TYPE: {'BINARY' if self.binary else 'ASCII'}\r\n"
            "     No session bandwidth limit\r\n"
            f"     Session timeout in seconds is {int(self.cfg.idle_timeout)}\r\n"
            "     Control connection is plain text\r\n"
            "     Data connections will be plain text\r\n"
            f"     At session startup, client count was {self.clients_at_start}\r\n"
            "     vsFTPd 3.0.3 - secure, fast, stable\r\n"
            "211 End of status"
        )

    async def cmd_write(self, verb: str, arg: str) -> str:
        """DELE, MKD, RMD, RNFR, RNTO, SITE: refused to anonymous users, failing for the rest
        (the persona's files are not theirs), except what the session uploaded itself."""
        if self.anonymous:
            return await self.say("550 Permission denied.")
        path = normalise(self.cwd, arg)
        node = self.fs.get(path)
        if verb == "DELE":
            if node is not None and node.sha256 is not None:
                del self.fs.nodes[path]
                return await self.say("250 Delete operation successful.")
            return await self.say("550 Delete operation failed.")
        if verb in ("MKD", "XMKD"):
            return await self.say("550 Create directory operation failed.")
        if verb in ("RMD", "XRMD"):
            return await self.say("550 Remove directory operation failed.")
        if verb == "RNFR":
            self.rnfr = path if node is not None else None
            return await self.say("350 Ready for RNTO." if node is not None else "550 RNFR command failed.")
        if verb == "RNTO":
            if self.rnfr is None:
                return await self.say("503 RNFR required first.")
            self.rnfr = None
            return await self.say("550 Rename failed.")
        sub = arg.split(" ", 1)[0].upper()
        if sub == "HELP":
            return await self.say("214 CHMOD UMASK HELP")
        if sub == "UMASK":
            return await self.say("200 Your current UMASK is 077")
        if sub == "CHMOD":
            return await self.say("550 SITE CHMOD command failed.")
        return await self.say("500 Unknown SITE command.")

    # --- data channel ---------------------------------------------------------------------------

    def drop_passive(self) -> None:
        if self.passive is not None:
            if self.passive.refused:
                self.refused = [*self.refused, *self.passive.refused][:16]
            self.passive.close()
            self.passive = None

    def _local_ip(self) -> str:
        return self.log.dst_ip

    async def cmd_pasv(self, arg: str) -> str:
        if self.epsv_all:
            return await self.say("550 Permission denied.")
        return await self._open_passive(extended=False)

    async def cmd_epsv(self, arg: str) -> str:
        if arg.upper() == "ALL":
            self.epsv_all = True
            return await self.say("200 EPSV ALL ok.")
        family = "2" if ":" in self._local_ip() else "1"
        if arg and arg != family:
            return await self.say("522 Bad network protocol.")
        return await self._open_passive(extended=True)

    async def _open_passive(self, extended: bool) -> str:
        self.drop_passive()
        self.port_set = False
        local = self.conn.writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        try:
            self.passive = Passive.open(
                str(local[0]), self.log.src_ip, self.trap.slots, self.cfg.pasv_min_port, self.cfg.pasv_max_port
            )
        except DataRefused as e:
            return await self.say(e.reply)
        port = self.passive.port
        if extended:
            return await self.say(f"229 Entering Extended Passive Mode (|||{port}|)")
        if ":" in self._local_ip():
            self.drop_passive()
            return await self.say("550 Permission denied.")
        return await self.say(pasv_reply(self._local_ip(), port))

    async def cmd_port(self, arg: str) -> str:
        target = parse_port(arg)
        return await self._active(target, "500 Illegal PORT command.", "PORT", "PASV")

    async def cmd_eprt(self, arg: str) -> str:
        parsed = parse_eprt(arg)
        if parsed is None:
            return await self.say("500 Bad EPRT command.")
        proto, host, port = parsed
        if proto not in ("1", "2"):
            return await self.say("500 Bad EPRT protocol.")
        return await self._active((host, port), "500 Illegal EPRT command.", "EPRT", "EPSV")

    async def _active(self, target: tuple[str, int] | None, illegal: str, verb: str, alt: str) -> str:
        """Accepted only toward the client itself on an unprivileged port (vsftpd's
        ``port_promiscuous=NO``); even then the trap never connects (425 at the transfer)."""
        self.drop_passive()
        self.port_set = False
        if target is None or target[0] != self.log.src_ip or target[1] < 1024:
            return await self.say(illegal)
        self.port_set = True
        return await self.say(f"200 {verb} command successful. Consider using {alt}.")

    def data_missing(self) -> str | None:
        """vsftpd checks for PASV/PORT before anything else a transfer command does."""
        return None if self.passive is not None or self.port_set else "425 Use PORT or PASV first."

    async def data_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
        """The accepted passive connection, or the 425 reply to give instead."""
        if self.passive is None:
            if self.port_set:
                self.port_set = False
                return "425 Failed to establish connection."
            return "425 Use PORT or PASV first."
        try:
            return await self.passive.accept(self.cfg.accept_timeout)
        except DataRefused as e:
            return e.reply


COMMANDS: dict[str, Any] = {
    "SYST": FTPSession.cmd_syst,
    "NOOP": FTPSession.cmd_noop,
    "HELP": FTPSession.cmd_help,
    "PWD": FTPSession.cmd_pwd,
    "XPWD": FTPSession.cmd_pwd,
    "CWD": FTPSession.cmd_cwd,
    "XCWD": FTPSession.cmd_cwd,
    "CDUP": FTPSession.cmd_cdup,
    "XCUP": FTPSession.cmd_cdup,
    "TYPE": FTPSession.cmd_type,
    "MODE": FTPSession.cmd_mode,
    "STRU": FTPSession.cmd_stru,
    "REST": FTPSession.cmd_rest,
    "ABOR": FTPSession.cmd_abor,
    "ALLO": FTPSession.cmd_allo,
    "SIZE": FTPSession.cmd_size,
    "MDTM": FTPSession.cmd_mdtm,
    "STAT": FTPSession.cmd_stat,
    "PASV": FTPSession.cmd_pasv,
    "EPSV": FTPSession.cmd_epsv,
    "PORT": FTPSession.cmd_port,
    "EPRT": FTPSession.cmd_eprt,
    "PBSZ": FTPSession.cmd_tls,
    "PROT": FTPSession.cmd_tls,
    **{v: (lambda verb: lambda s, a: s.not_implemented(verb))(v) for v in ("REIN", "ACCT", "SMNT")},
    "LIST": transfer.cmd_list,
    "NLST": transfer.cmd_nlst,
    "RETR": transfer.cmd_retr,
    "STOR": transfer.cmd_stor,
    "APPE": transfer.cmd_appe,
    "STOU": transfer.cmd_stou,
    **{v: (lambda verb: lambda s, a: s.cmd_write(verb, a))(v) for v in WRITE_VERBS},
}


def _safe(text: str) -> str:
    """Attacker bytes kept in a str (surrogate escapes) made valid UTF-8, capped, for the spool."""
    return text[:MAX_LOGGED_ARG].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
