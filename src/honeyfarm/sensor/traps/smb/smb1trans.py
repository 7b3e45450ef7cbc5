# SPDX-License-Identifier: MIT
"""SMB1 transactions: TRANS on named pipes (TransactNmPipe into the DCE/RPC pipes; PeekNamedPipe on
FID 0, the MS17-010 check of nmap and Metasploit, answered STATUS_INSUFF_SERVER_RESOURCES like an
unpatched host), TRANS2 (the DoublePulsar ping, answered like a clean host; the file and volume
queries ``smbclient -m NT1`` needs), NT_TRANS and TRANS2_SECONDARY (the EternalBlue exploit's
transaction pair, logged).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from honeyfarm.sensor.traps.smb import fileinfo, status
from honeyfarm.sensor.traps.smb.state import clean_path, matching, stable_id
from honeyfarm.sensor.traps.stream import Malformed

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.smb.smb1 import SMB1, Cmd, Reply
    from honeyfarm.sensor.traps.smb.state import SMBState

TRANS_FIXED = struct.Struct("<HHHHBBHIHHHHHBB")  # the 14 words every TRANS/TRANS2 request starts with
PEEK_NMPIPE, TRANSACT_NMPIPE, SET_NMPIPE_STATE, WAIT_NMPIPE = 0x23, 0x26, 0x01, 0x53
FIND_FIRST2, FIND_NEXT2, QUERY_FS_INFO, QUERY_PATH_INFO = 0x01, 0x02, 0x03, 0x05
SET_PATH_INFO, QUERY_FILE_INFO, SET_FILE_INFO, SESSION_SETUP, GET_DFS_REFERRAL = 0x06, 0x07, 0x08, 0x0E, 0x10
CREATE_DIRECTORY = 0x0D
DOUBLEPULSAR = {0x23: "ping", 0xC8: "exec", 0x77: "kill"}
PASSTHROUGH = 0x3E8  # SMB_INFO_PASSTHROUGH: level - 1000 is an MS-FSCC information class
FIND_LEVELS = {0x101: 1, 0x102: 2, 0x103: 12, 0x104: 3, 0x105: 38, 0x106: 37}
QUERY_LEVELS = {0x101: 4, 0x102: 5, 0x103: 7, 0x104: 21, 0x107: 18, 0x108: 21, 0x109: 22, 0x10B: 28}
FS_LEVELS = {0x102: 1, 0x103: 3, 0x104: 4, 0x105: 5}


class Transaction:
    """The parts of one TRANS/TRANS2 request, checked against the message."""

    def __init__(self, c: Cmd) -> None:
        if len(c.words) < TRANS_FIXED.size:
            raise Malformed("SMB1 transaction with too few parameter words")
        f = TRANS_FIXED.unpack_from(c.words)
        self.total_params, self.total_data, self.max_params, self.max_data = f[0], f[1], f[2], f[3]
        self.timeout = f[7]
        p_count, p_off, d_count, d_off, setup_count = f[9], f[10], f[11], f[12], f[13]
        if len(c.words) < TRANS_FIXED.size + 2 * setup_count:
            raise Malformed(f"SMB1 transaction claims {setup_count} setup words")
        self.setup = struct.unpack_from(f"<{setup_count}H", c.words, TRANS_FIXED.size)
        for off, count in ((p_off, p_count), (d_off, d_count)):
            if count and (off < 32 or off + count > len(c.msg)):
                raise Malformed(f"SMB1 transaction block {off}+{count} outside the message")
        self.params = c.msg[p_off : p_off + p_count]
        self.data = c.msg[d_off : d_off + d_count]


def response(params: bytes, data: bytes, words_before: int = 10) -> tuple[bytes, bytes]:
    """The words and byte block of a TRANS/TRANS2 response carrying ``params`` and ``data``."""
    start = 32 + 1 + 2 * words_before + 2
    p_off = start + (-start % 4)
    d_off = p_off + len(params)
    d_off += -d_off % 4
    words = struct.pack("<HHHHHHHHHBB", len(params), len(data), 0, len(params), p_off, 0, len(data), d_off, 0, 0, 0)
    body = b"\x00" * (p_off - start) + params + b"\x00" * (d_off - p_off - len(params)) + data
    return words, body


class Trans:
    """Transactions of one SMB1 connection."""

    def __init__(self, st: SMBState, smb1: SMB1) -> None:
        self.st = st
        self.smb1 = smb1
        self.eternalblue_logged = False

    def trans(self, c: Cmd) -> Reply:
        t = Transaction(c)
        tree = self.smb1.tree(c)
        if tree is None:
            return status.SMB_BAD_TID, b"", b""
        if not t.setup:
            return status.NOT_SUPPORTED, b"", b""  # RAP on \PIPE\LANMAN, mailslots: not served
        function, fid = t.setup[0], t.setup[1] if len(t.setup) > 1 else 0
        if function == PEEK_NMPIPE and fid == 0:
            self.st.emit(
                "smb.exploit.ms17-010",
                extra={
                    "command": "TRANS PeekNamedPipe",
                    "share": tree.share.name,
                    "fid": fid,
                    "answer": "STATUS_INSUFF_SERVER_RESOURCES",
                    # nmap's script packs its byte count and name into the parameters, then adds an
                    # empty byte block of its own: one stray byte after the message's byte block
                    "tool": "nmap smb-vuln-ms17-010"
                    if len(c.msg) > c.data_at + len(c.data) and t.max_params == 0xFFFF
                    else "",
                    "max_parameter_count": t.max_params,
                },
            )
            return status.INSUFF_SERVER_RESOURCES, b"", b""
        o = self.st.opens.get(fid)
        if o is None or o.pipe is None:
            return status.INVALID_HANDLE, b"", b""
        if function == TRANSACT_NMPIPE:
            out = o.pipe.transact(t.data, min(t.max_data, 65535))
            code = status.SUCCESS
            if len(out) > t.max_data:
                out, code = out[: t.max_data], status.BUFFER_OVERFLOW
            words, body = response(b"", out)
            return code, words, body
        if function == PEEK_NMPIPE:
            words, body = response(struct.pack("<HHH", 0, 0, 3), b"")
            return status.SUCCESS, words, body
        if function in (SET_NMPIPE_STATE, WAIT_NMPIPE):
            words, body = response(b"", b"")
            return status.SUCCESS, words, body
        return status.NOT_SUPPORTED, b"", b""

    def trans2(self, c: Cmd) -> Reply:
        t = Transaction(c)
        sub = t.setup[0] if t.setup else -1
        if sub == SESSION_SETUP:
            return self.doublepulsar(t)
        tree = self.smb1.tree(c)
        if tree is None:
            return status.SMB_BAD_TID, b"", b""
        out: tuple[int, bytes, bytes]
        if sub == FIND_FIRST2 and len(t.params) >= 12:
            _attrs, _count, _flags, level = struct.unpack_from("<HHHH", t.params)
            raw = t.params[12:]
            pattern = clean_path(
                raw[: len(raw) & ~1].decode("utf-16-le", "replace") if c.flags2 & 0x8000 else raw.decode("latin-1")
            )
            folder, _, mask = pattern.rpartition("\\")
            names = matching(self.st.listing(tree.share.name, folder), mask or "*")
            cls = FIND_LEVELS.get(level)
            entries = fileinfo.dir_entries(cls, names) if cls else None
            if entries is None:
                return status.INVALID_PARAMETER, b"", b""
            if not names:
                return status.NO_SUCH_FILE, b"", b""
            out = (status.SUCCESS, struct.pack("<HHHHH", 1, len(names), 1, 0, 0), entries)
        elif sub == FIND_NEXT2:
            return status.NO_MORE_FILES, b"", b""
        elif sub == QUERY_FS_INFO and len(t.params) >= 2:
            (level,) = struct.unpack_from("<H", t.params)
            cls = level - PASSTHROUGH if level > PASSTHROUGH else FS_LEVELS.get(level, -1)
            blob = fileinfo.fs_info(cls)
            if level == 1:  # SMB_INFO_ALLOCATION
                blob = struct.pack("<IIIIH", 0, 8, fileinfo.TOTAL_UNITS, fileinfo.FREE_UNITS, 512)
            if blob is None:
                return status.INVALID_PARAMETER, b"", b""
            out = (status.SUCCESS, b"", blob)
        elif sub in (QUERY_PATH_INFO, QUERY_FILE_INFO) and len(t.params) >= 2:
            return self.query_info(c, t, sub)
        elif sub == CREATE_DIRECTORY and len(t.params) >= 4:
            raw = t.params[4:]
            name = raw[: len(raw) & ~1].decode("utf-16-le", "replace") if c.flags2 & 0x8000 else raw.decode("latin-1")
            code = self.st.mkdir(tree, name)
            if code:
                return code, b"", b""
            out = (status.SUCCESS, struct.pack("<H", 0), b"")
        elif sub in (SET_FILE_INFO, SET_PATH_INFO):
            out = (status.SUCCESS, struct.pack("<H", 0), b"")
        elif sub == GET_DFS_REFERRAL:
            return 0xC0000225, b"", b""  # STATUS_NOT_FOUND: not a DFS server
        else:
            return status.NOT_SUPPORTED, b"", b""
        words, body = response(out[1], out[2])
        return out[0], words, body

    def query_info(self, c: Cmd, t: Transaction, sub: int) -> Reply:
        if sub == QUERY_FILE_INFO:
            fid, level = struct.unpack_from("<HH", t.params) if len(t.params) >= 4 else (0, 0)
            o = self.st.opens.get(fid)
            if o is None:
                return status.INVALID_HANDLE, b"", b""
            path, size, directory = o.path, o.size, o.directory
        else:
            if len(t.params) < 6:
                raise Malformed("TRANS2 QUERY_PATH_INFORMATION parameters")
            (level,) = struct.unpack_from("<H", t.params)
            raw = t.params[6:]
            text = raw[: len(raw) & ~1].decode("utf-16-le", "replace") if c.flags2 & 0x8000 else raw.decode("latin-1")
            path = clean_path(text)
            tree = self.smb1.tree(c)
            share = tree.share.name if tree else ""
            node = self.st.known.get((share, path.lower()))
            if path and node is None:
                return status.OBJECT_NAME_NOT_FOUND, b"", b""
            size, directory = (node.size, node.directory) if node else (0, True)
        cls = level - PASSTHROUGH if level > PASSTHROUGH else QUERY_LEVELS.get(level, -1)
        blob = fileinfo.file_info(cls, path, size, directory, stable_id(path))
        if blob is None:
            return status.INVALID_PARAMETER, b"", b""
        # SMB_QUERY_FILE_STANDARD_INFO is 22 bytes in MS-CIFS, but Windows sends 24 (and Samba wants them)
        if level == 0x107:  # SMB_QUERY_FILE_ALL_INFO: basic, standard, EA size, name
            name = ("\\" + path).encode("utf-16-le")
            blob = (
                fileinfo.basic(directory) + fileinfo.standard(size, directory) + struct.pack("<II", 0, len(name)) + name
            )
        words, body = response(struct.pack("<H", 0), blob)
        return status.SUCCESS, words, body

    def doublepulsar(self, t: Transaction) -> Reply:
        """The implant's ping/exec/kill: the opcode is the byte sum of the timeout field. A clean
        host answers STATUS_NOT_IMPLEMENTED with the request's multiplex id (0x41 from the public
        checkers); an infected one would answer 0x51."""
        key = t.timeout
        opcode = (key & 0xFF) + (key >> 8 & 0xFF) + (key >> 16 & 0xFF) + (key >> 24 & 0xFF) & 0xFF
        self.st.emit(
            "smb.exploit.doublepulsar",
            extra={
                "subcommand": DOUBLEPULSAR.get(opcode, f"0x{opcode:02x}"),
                "timeout": f"0x{key:08x}",
                "data_size": len(t.data),
                "answer": "STATUS_NOT_IMPLEMENTED (not infected)",
            },
        )
        return status.NOT_IMPLEMENTED, b"", b""

    def trans2_secondary(self, c: Cmd) -> Reply | None:
        """EternalBlue's exploit sends an NT_TRANS and continues it with TRANS2_SECONDARY packets
        (the type confusion of MS17-010); a normal client never mixes them. Logged once, unanswered,
        as Windows does not answer a secondary."""
        if not self.eternalblue_logged:
            self.eternalblue_logged = True
            tree = self.smb1.tree(c)
            self.st.emit(
                "smb.exploit.ms17-010",
                extra={
                    "command": "TRANS2_SECONDARY",
                    "share": tree.share.name if tree else "",
                    "fid": 0,
                    "answer": "none (exploit attempt)",
                    "tool": "eternalblue",
                    "size": len(c.msg),
                },
            )
        return None

    def nt_trans(self, c: Cmd) -> Reply:
        if len(c.words) < 38:
            raise Malformed("SMB1 NT_TRANSACT with too few parameter words")
        total_data, data_count = struct.unpack_from("<I", c.words, 7)[0], struct.unpack_from("<I", c.words, 27)[0]
        if total_data > data_count:  # more to come: the interim response asks for it
            return status.SUCCESS, b"", b""
        return status.NOT_SUPPORTED, b"", b""
