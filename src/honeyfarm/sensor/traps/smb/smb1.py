# SPDX-License-Identifier: MIT
"""SMB1 (MS-CIFS, MS-SMB) as Windows Server 2016 still answers it with SMB1 enabled: NEGOTIATE
"NT LM 0.12" (or the switch to SMB2 when the client offers "SMB 2.002"/"SMB 2.???"),
SESSION_SETUP_ANDX with NTLMSSP (extended security) or the older challenge/response form,
TREE_CONNECT_ANDX, NT_CREATE_ANDX/WRITE_ANDX/READ_ANDX/CLOSE, AndX chains; the transactions (named
pipes, the MS17-010 check, the DoublePulsar ping, TRANS2 file queries) are in :mod:`.smb1trans`.

Parsed with :mod:`struct` at MS-CIFS offsets, every count and offset checked against the message.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

from honeyfarm.sensor.traps.smb import fileinfo, ntlm, smb1trans, status
from honeyfarm.sensor.traps.smb.state import SMBState, Tree, clean_path
from honeyfarm.sensor.traps.stream import Malformed

HEADER = struct.Struct("<4sBIBHH8sHHHHH")
NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT = 0x72, 0x73, 0x74, 0x75, 0x71
NT_CREATE, READ, WRITE, CLOSE, ECHO = 0xA2, 0x2E, 0x2F, 0x04, 0x2B
TRANS, TRANS2, TRANS2_SECONDARY, NT_TRANS, FIND_CLOSE2 = 0x25, 0x32, 0x33, 0xA0, 0x34
CREATE_DIRECTORY, DELETE_DIRECTORY, DELETE, RENAME, CHECK_DIRECTORY = 0x00, 0x01, 0x06, 0x07, 0x10
ANDX = {SESSION_SETUP, LOGOFF, TREE_CONNECT, NT_CREATE, READ, WRITE}
MAX_ANDX = 8
FLAGS2_UNICODE, FLAGS2_NT_STATUS, FLAGS2_EXT_SEC = 0x8000, 0x4000, 0x0800
CAPS = 0x0001F3FC  # Unicode, large files, NT SMBs, RPC, status32, oplocks, NT find, DFS, pass-through, large read/write
CAP_EXT_SEC = 0x80000000
MAX_BUFFER = 16644  # Windows' MaxBufferSize


@dataclass
class Cmd:
    """One command of a (possibly AndX-chained) SMB1 message."""

    command: int
    words: bytes
    data: bytes  # the byte block
    data_at: int  # offset of ``data`` from the header (Unicode strings are aligned to it)
    msg: bytes
    tid: int
    uid: int
    mid: int
    flags2: int

    def word(self, fmt: str, at: int = 0) -> tuple[int, ...]:
        if at + struct.calcsize(fmt) > len(self.words):
            raise Malformed(f"SMB1 command 0x{self.command:02x}: {len(self.words)} parameter bytes")
        return struct.unpack_from(fmt, self.words, at)

    def text(self, at: int) -> tuple[str, int]:
        """A NUL-terminated string of the byte block (Unicode when the header says so) and the offset after it."""
        if self.flags2 & FLAGS2_UNICODE:
            at += (self.data_at + at) % 2
            end = at
            while end + 1 < len(self.data) and self.data[end : end + 2] != b"\x00\x00":
                end += 2
            return self.data[at:end].decode("utf-16-le", "replace"), end + 2
        end = self.data.find(b"\x00", at)
        end = len(self.data) if end < 0 else end
        return self.data[at:end].decode("latin-1"), end + 1


Reply = tuple[int, bytes, bytes]  # NTSTATUS, parameter words, byte block


def block(words: bytes, data: bytes) -> bytes:
    return bytes([len(words) // 2]) + words + struct.pack("<H", len(data)) + data


def utf16z(text: str) -> bytes:
    return (text + "\x00").encode("utf-16-le")


class SMB1:
    """The SMB1 side of one connection."""

    def __init__(self, st: SMBState) -> None:
        self.st = st
        self.switch_to_smb2: list[str] | None = None
        self.hangup = ""
        self.extended = True
        self.unicode = True
        self.challenge = os.urandom(8)  # for the non-extended (NTLM in the negotiate) form
        self.uids: dict[int, tuple[bytes, bool]] = {}  # uid -> (challenge, logged in)
        self._next_uid = 0x0800
        self.tid = 0  # the tree of the chain being answered (TREE_CONNECT_ANDX sets it)
        self.uid = 0
        self.trans = smb1trans.Trans(st, self)
        self.handlers: dict[int, Callable[[Cmd], Reply | None]] = {
            NEGOTIATE: self.negotiate,
            SESSION_SETUP: self.session_setup,
            LOGOFF: self.logoff,
            TREE_CONNECT: self.tree_connect,
            TREE_DISCONNECT: self.tree_disconnect,
            NT_CREATE: self.nt_create,
            WRITE: self.write,
            READ: self.read,
            CLOSE: self.close,
            ECHO: lambda c: (status.SUCCESS, struct.pack("<H", 1), c.data),
            TRANS: self.trans.trans,
            TRANS2: self.trans.trans2,
            TRANS2_SECONDARY: self.trans.trans2_secondary,
            NT_TRANS: self.trans.nt_trans,
            FIND_CLOSE2: lambda c: (status.SUCCESS, b"", b""),
            DELETE: self.path_command,
            CREATE_DIRECTORY: self.path_command,
            DELETE_DIRECTORY: self.path_command,
            RENAME: self.path_command,
            CHECK_DIRECTORY: self.path_command,
        }

    # --- the message and its AndX chain -----------------------------------------------------------

    def message(self, msg: bytes) -> bytes:
        if len(msg) < 35:
            raise Malformed("SMB1 message shorter than its header")
        _p, cmd, _st, _fl, flags2, pid_high, _sec, _r, tid, pid, uid, mid = HEADER.unpack_from(msg)
        self.st.requests += 1
        if self.st.requests > self.st.cfg.max_requests:
            raise Malformed("request limit reached")
        self.tid, self.uid = tid, uid
        self.unicode = bool(flags2 & FLAGS2_UNICODE)
        out = b""
        at = 32
        code = status.SUCCESS
        for _ in range(MAX_ANDX):
            wc = msg[at] if at < len(msg) else -1
            if wc < 0 or at + 1 + 2 * wc + 2 > len(msg):
                raise Malformed(f"SMB1 command 0x{cmd:02x} parameters past the message")
            words = msg[at + 1 : at + 1 + 2 * wc]
            (bc,) = struct.unpack_from("<H", msg, at + 1 + 2 * wc)
            data_at = at + 3 + 2 * wc
            c = Cmd(cmd, words, msg[data_at : data_at + bc], data_at, msg, self.tid, self.uid, mid, flags2)
            reply = self.one(c)
            if reply is None:
                return b""
            code, rwords, rdata = reply
            nxt, nxt_off = (words[0], struct.unpack_from("<H", words, 2)[0]) if cmd in ANDX and wc >= 2 else (0xFF, 0)
            chain = code == status.SUCCESS and nxt != 0xFF and cmd in ANDX
            if cmd in ANDX and rwords:
                here = 32 + len(out)
                after = here + 1 + len(rwords) + 2 + len(rdata)
                after += -after % 4 if chain else 0
                rwords = struct.pack("<BBH", nxt if chain else 0xFF, 0, after if chain else 0) + rwords[4:]
                rblock = block(rwords, rdata)
                out += rblock + b"\x00" * ((after - here - len(rblock)) if chain else 0)
            else:
                out += block(rwords, rdata)
            if not chain:
                break
            if nxt_off <= at or nxt_off >= len(msg):
                raise Malformed(f"SMB1 AndX offset {nxt_off} not forward in the message")
            cmd, at = nxt, nxt_off
        else:
            raise Malformed(f"SMB1 AndX chain longer than {MAX_ANDX}")
        return self.header(msg[4], code, flags2, pid_high, pid, mid) + out

    def header(self, cmd: int, code: int, flags2: int, pid_high: int, pid: int, mid: int) -> bytes:
        # Strings are answered Unicode only to a client that asked for it (nmap does not)
        f2 = 0x4003 | (flags2 & FLAGS2_UNICODE) | (flags2 & FLAGS2_EXT_SEC if self.extended else 0)
        return HEADER.pack(b"\xffSMB", cmd, code, 0x98, f2, pid_high, b"\x00" * 8, 0, self.tid, pid, self.uid, mid)

    def one(self, c: Cmd) -> Reply | None:
        handler = self.handlers.get(c.command)
        if handler is None:
            return status.NOT_IMPLEMENTED, b"", b""
        if c.command not in (NEGOTIATE, SESSION_SETUP, ECHO) and not self.uids.get(self.uid, (b"", False))[1]:
            return status.SMB_BAD_UID, b"", b""
        try:
            return handler(c)
        except (struct.error, ntlm.NTLMError) as e:
            raise Malformed(f"SMB1 command 0x{c.command:02x}: {e}") from None

    def tree(self, c: Cmd) -> Tree | None:
        return self.st.trees.get(self.tid)

    # --- negotiate and logins ----------------------------------------------------------------------

    def negotiate(self, c: Cmd) -> Reply:
        dialects = [d.decode("latin-1") for d in c.data.split(b"\x02")[1:65]]
        dialects = [d.rstrip("\x00") for d in dialects]
        smb2 = [d for d in dialects if d in ("SMB 2.002", "SMB 2.???")]
        chosen = "NT LM 0.12" if "NT LM 0.12" in dialects and self.st.persona.smb1 else ""
        self.st.emit(
            "smb.protocol.negotiate",
            extra={
                "smb_version": 1,
                "dialects": [d[:64] for d in dialects[:32]],
                "dialect": "SMB 2.???" if smb2 else chosen,
                "flags2": f"0x{c.flags2:04x}",
            },
        )
        if smb2:
            self.switch_to_smb2 = smb2
            return status.SUCCESS, b"", b""
        if not chosen:
            self.hangup = "no common dialect"
            return status.SUCCESS, struct.pack("<H", 0xFFFF), b""
        self.st.conn.extra["dialect"] = "NT LM 0.12"
        self.extended = bool(c.flags2 & FLAGS2_EXT_SEC)
        index = dialects.index(chosen)
        words = struct.pack(
            "<HBHHIIIIQhB",
            index,
            0x03,  # user level, encrypted passwords; SMB1 signing is off on a Windows member server
            50,
            1,
            MAX_BUFFER,
            65536,
            0,
            CAPS | (CAP_EXT_SEC if self.extended else 0),
            ntlm.filetime(),
            0,
            0 if self.extended else 8,
        )
        if self.extended:
            data = self.st.persona.server_guid + ntlm.neg_token_init()
        else:
            host = self.st.persona.host
            data = self.challenge + utf16z(host.domain) + utf16z(host.netbios_name)  # Unicode whatever Flags2 says
        return status.SUCCESS, words, data

    def session_setup(self, c: Cmd) -> Reply:
        wc = len(c.words) // 2
        if wc == 12:
            return self._setup_extended(c)
        if wc == 13:
            return self._setup_plain(c)
        raise Malformed(f"SMB1 SESSION_SETUP_ANDX with {wc} words")

    def _os_strings(self, at: int, domain: bool) -> bytes:
        p = self.st.persona
        pad = b"\x00" if at % 2 and self.unicode else b""
        return pad + self.z(p.native_os) + self.z(p.native_lanman) + (self.z(p.host.domain) if domain else b"")

    def z(self, text: str) -> bytes:
        """A NUL-terminated string in the encoding the client's Flags2 asked for."""
        return utf16z(text) if self.unicode else text.encode("ascii", "replace") + b"\x00"

    def _setup_extended(self, c: Cmd) -> Reply:
        (blob_len,) = c.word("<H", 14)
        blob = c.data[:blob_len]
        native_os, _ = c.text(blob_len)
        if native_os:
            self.st.conn.fields["client_version"] = native_os[:200]
        msg, wrapped = ntlm.extract(blob)
        mtype = ntlm.message_type(msg)
        if mtype == 1:
            if len(self.uids) >= self.st.cfg.max_sessions:
                return status.INSUFF_SERVER_RESOURCES, b"", b""
            self.uid = self._next_uid
            self._next_uid = self._next_uid % 0xFFFE + 1
            challenge = os.urandom(8)
            self.uids[self.uid] = (challenge, False)
            token = ntlm.challenge_message(self.st.persona.host, challenge, ntlm.parse_negotiate(msg))
            if wrapped:
                token = ntlm.neg_token_resp(1, token, mech=True)
            words = struct.pack("<BBHHH", 0xFF, 0, 0, 0, len(token))
            return status.MORE_PROCESSING_REQUIRED, words, token + self._os_strings(32 + 9 + 2 + len(token), False)
        pending = self.uids.get(self.uid)
        if mtype != 3 or pending is None or pending[1]:
            return status.LOGON_FAILURE, b"", b""
        try:
            auth = ntlm.parse_authenticate(msg)
        except ntlm.NTLMError as e:
            raise Malformed(str(e)) from None
        if not self.st.login(auth, pending[0], 1):
            del self.uids[self.uid]
            return status.LOGON_FAILURE, b"", b""
        self.uids[self.uid] = (pending[0], True)
        token = ntlm.neg_token_resp(0) if wrapped else b""
        words = struct.pack("<BBHHH", 0xFF, 0, 0, 0 if auth.anonymous else 1, len(token))
        return status.SUCCESS, words, token + self._os_strings(32 + 9 + 2 + len(token), False)

    def _setup_plain(self, c: Cmd) -> Reply:
        """NT LM 0.12 without extended security: the LM/NT responses to the negotiate's challenge."""
        oem_len, uni_len = c.word("<HH", 14)
        if oem_len + uni_len > len(c.data):
            raise Malformed("SMB1 SESSION_SETUP_ANDX passwords past the message")
        lm, nt = c.data[:oem_len], c.data[oem_len : oem_len + uni_len]
        user, at = c.text(oem_len + uni_len)
        domain, at = c.text(at)
        native_os, at = c.text(at)
        if native_os:
            self.st.conn.fields["client_version"] = native_os[:200]
        auth = ntlm.Auth(user[: ntlm.MAX_FIELD], domain[: ntlm.MAX_FIELD], "", lm, nt, 0)
        if not user and len(nt) == 0 and len(lm) <= 1:
            auth.lm = b""
        if not self.st.login(auth, self.challenge, 1):
            return status.LOGON_FAILURE, b"", b""
        self.uid = self._next_uid
        self._next_uid = self._next_uid % 0xFFFE + 1
        if len(self.uids) >= self.st.cfg.max_sessions:
            return status.INSUFF_SERVER_RESOURCES, b"", b""
        self.uids[self.uid] = (self.challenge, True)
        words = struct.pack("<BBHH", 0xFF, 0, 0, 0 if auth.anonymous else 1)
        return status.SUCCESS, words, self._os_strings(32 + 7 + 2, True)

    def logoff(self, c: Cmd) -> Reply:
        self.uids.pop(self.uid, None)
        return status.SUCCESS, struct.pack("<BBH", 0xFF, 0, 0), b""

    # --- trees and files ---------------------------------------------------------------------------

    def tree_connect(self, c: Cmd) -> Reply:
        flags, pw_len = c.word("<HH", 4)
        path, _ = c.text(pw_len)
        tree = self.st.tree_connect(path)
        if isinstance(tree, int):
            return tree, b"", b""
        self.tid = tree.tid
        service = b"IPC\x00" if tree.share.ipc else b"A:\x00"
        fs = b"" if tree.share.ipc else self.z("NTFS")
        pad = b"\x00" if (32 + 15 + 2 + len(service)) % 2 and fs and self.unicode else b""
        if flags & 0x0008:  # TREE_CONNECT_ANDX_EXTENDED_RESPONSE
            words = struct.pack("<BBHHII", 0xFF, 0, 0, 0x0001, 0x001F01FF, 0x001F01FF)
            return status.SUCCESS, words, service + pad + fs
        pad = b"\x00" if (32 + 7 + 2 + len(service)) % 2 and fs and self.unicode else b""
        return status.SUCCESS, struct.pack("<BBHH", 0xFF, 0, 0, 0x0001), service + pad + fs

    def tree_disconnect(self, c: Cmd) -> Reply:
        self.st.tree_disconnect(self.tid)
        return status.SUCCESS, b"", b""

    def nt_create(self, c: Cmd) -> Reply:
        f = c.word("<BHIIIQIIIIIB", 4)
        access, disposition, options = f[4], f[8], f[9]
        name, _ = c.text(0)
        tree = self.tree(c)
        if tree is None:
            return status.SMB_BAD_TID, b"", b""
        result = self.st.open(tree, name, access, disposition, options)
        if isinstance(result, int):
            return result, b"", b""
        o, action = result
        when = 0 if o.pipe is not None else fileinfo.INSTALLED
        attrs = fileinfo.ATTR_NORMAL if o.pipe is not None else fileinfo.ATTR_DIRECTORY if o.directory else 0x20
        words = struct.pack(
            "<BBHBHIQQQQIQQHHB",
            0xFF,
            0,
            0,
            0,
            o.fid,
            action,
            when,
            when,
            when,
            when,
            attrs,
            4096 if o.pipe is not None else 0,
            0,
            2 if o.pipe is not None else 0,  # message-mode named pipe / disk file
            0x05FF if o.pipe is not None else 0,
            1 if o.directory else 0,
        )
        return status.SUCCESS, words, b""

    def write(self, c: Cmd) -> Reply:
        fid, offset = c.word("<HI", 4)
        length_high, length, data_off = c.word("<HHH", 18)
        offset_high = c.word("<I", 24)[0] if len(c.words) >= 28 else 0
        length |= length_high << 16
        if data_off < 32 or data_off + length > len(c.msg):
            raise Malformed(f"SMB1 WRITE_ANDX data {data_off}+{length} outside the message")
        o = self.st.opens.get(fid)
        if o is None:
            return status.INVALID_HANDLE, b"", b""
        self.st.write(o, offset | offset_high << 32, c.msg[data_off : data_off + length])
        return status.SUCCESS, struct.pack("<BBHHHHH", 0xFF, 0, 0, length & 0xFFFF, 0xFFFF, length >> 16, 0), b""

    def read(self, c: Cmd) -> Reply:
        fid, offset, max_count, _min, max_high = c.word("<HIHHI", 4)
        o = self.st.opens.get(fid)
        if o is None:
            return status.INVALID_HANDLE, b"", b""
        want = min(max_count | ((max_high & 0xFFFF) << 16 if max_high != 0xFFFFFFFF else 0), 65535)
        if o.pipe is not None:
            data = o.pipe.read(want)
        elif offset >= o.size:
            return status.END_OF_FILE, b"", b""
        else:
            data = b"\x00" * min(want, o.size - offset)
        data_off = 32 + 1 + 24 + 2 + 1
        words = struct.pack(
            "<BBHHHHHHH8s", 0xFF, 0, 0, 0xFFFF if o.pipe is not None else 0, 0, 0, len(data), data_off, 0, b""
        )
        return status.SUCCESS, words, b"\x00" + data

    def path_command(self, c: Cmd) -> Reply:
        """CREATE_DIRECTORY, DELETE, RENAME, DELETE_DIRECTORY, CHECK_DIRECTORY (nmap's smb-enum-shares
        deletes its test file) on the paths created in this connection; the root always exists."""
        tree = self.tree(c)
        if tree is None:
            return status.SMB_BAD_TID, b"", b""
        name, after = c.text(1)  # after the 0x04 buffer format byte
        if c.command == CREATE_DIRECTORY:
            return self.st.mkdir(tree, name), b"", b""
        key = (tree.share.name, clean_path(name).lower())
        if key[1] and key not in self.st.known:
            return status.OBJECT_NAME_NOT_FOUND, b"", b""
        if c.command in (DELETE, DELETE_DIRECTORY):
            self.st.known.pop(key, None)
        elif c.command == RENAME and key in self.st.known:
            new, _ = c.text(after + 1)
            node = self.st.known.pop(key)
            node.path = clean_path(new)
            self.st.known[(tree.share.name, node.path.lower())] = node
        return status.SUCCESS, b"", b""

    def close(self, c: Cmd) -> Reply:
        (fid,) = c.word("<H")
        o = self.st.opens.get(fid)
        if o is None:
            return status.INVALID_HANDLE, b"", b""
        self.st.close(o)
        return status.SUCCESS, b"", b""
