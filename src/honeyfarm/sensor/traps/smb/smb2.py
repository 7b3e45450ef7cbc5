# SPDX-License-Identifier: MIT
"""SMB 2.0.2-3.1.1 (MS-SMB2) as the persona's server speaks it: NEGOTIATE, SESSION_SETUP (NTLMSSP in
SPNEGO), TREE_CONNECT and the dispatch of one (possibly compounded) message; the file and pipe
commands are in :mod:`.smb2files`.

Responses are built with ``impacket.smb3structs``; requests are read with :mod:`struct` at the
offsets MS-SMB2 gives, every client offset and length checked against the message first (impacket's
request structures trust them). The trap never signs: it cannot know the session key without the
password, so a named login is granted as a guest session (MS-SMB2 3.2.5.3.1: no signing, no 3.1.1
pre-auth signature), which is what Windows does for a guest and what worms accept.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from impacket import smb3structs as s3

from honeyfarm.sensor.traps.smb import ntlm, smb2files, status
from honeyfarm.sensor.traps.smb.state import SMBState, Tree
from honeyfarm.sensor.traps.stream import Malformed

HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")
DIALECT_NAMES = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1", 0x02FF: "2.???"}
MAX_DIALECTS = 64
MAX_CONTEXTS = 16
MAX_CREDITS = 512


@dataclass
class Request:
    """One SMB2 request of a message: its header fields and its bytes (offsets are relative to it)."""

    command: int
    flags: int
    message_id: int
    tree_id: int
    session_id: int
    credits: int
    msg: bytes

    @property
    def related(self) -> bool:
        return bool(self.flags & s3.SMB2_FLAGS_RELATED_OPERATIONS)

    def body(self, size: int) -> bytes:
        """The fixed part of the body (``StructureSize - 1`` bytes), or Malformed when short."""
        if len(self.msg) < 64 + size:
            raise Malformed(f"SMB2 command 0x{self.command:x} body shorter than {size}")
        return self.msg[64 : 64 + size]

    def buffer(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` from the header, checked to lie inside the message."""
        if length == 0:
            return b""
        if offset < 64 or offset + length > len(self.msg):
            raise Malformed(f"SMB2 buffer {offset}+{length} outside the message of {len(self.msg)}")
        return self.msg[offset : offset + length]


@dataclass
class Session:
    sid: int
    challenge: bytes
    wrapped: bool
    valid: bool = False
    flags: int = 0


# NTSTATUS and response body, and for SESSION_SETUP / TREE_CONNECT the new session or tree id
Reply = tuple[int, bytes] | tuple[int, bytes, int]


def error_body() -> bytes:
    return struct.pack("<HHI", 9, 0, 0) + b"\x00"


class SMB2:
    """The SMB2 side of one connection."""

    def __init__(self, st: SMBState) -> None:
        self.st = st
        self.dialect = 0
        self.client_caps = 0
        self.sessions: dict[int, Session] = {}
        self._next_sid = (int.from_bytes(os.urandom(2), "little") << 32) | 1
        self.files = smb2files.Files(st, self)
        self.handlers: dict[int, Callable[[Request], Reply]] = {
            s3.SMB2_NEGOTIATE: self.negotiate,
            s3.SMB2_SESSION_SETUP: self.session_setup,
            s3.SMB2_LOGOFF: self.logoff,
            s3.SMB2_TREE_CONNECT: self.tree_connect,
            s3.SMB2_TREE_DISCONNECT: self.tree_disconnect,
            s3.SMB2_ECHO: lambda r: (status.SUCCESS, struct.pack("<HH", 4, 0)),
            **self.files.handlers(),
        }

    # --- negotiate ----------------------------------------------------------------------------

    def capabilities(self, dialect: int) -> int:
        if dialect == 0x0202:
            return int(s3.SMB2_GLOBAL_CAP_DFS)
        caps: int = s3.SMB2_GLOBAL_CAP_DFS | s3.SMB2_GLOBAL_CAP_LEASING | s3.SMB2_GLOBAL_CAP_LARGE_MTU
        if dialect >= 0x0300 and self.st.persona.name == "windows-2016":
            # The 3.x capabilities are offered back only to a client that announced them, as Windows
            # does (impacket's client, which announces none of them, trips over directory leasing).
            extra = s3.SMB2_GLOBAL_CAP_MULTI_CHANNEL | s3.SMB2_GLOBAL_CAP_DIRECTORY_LEASING
            if dialect < 0x0311:  # 3.1.1 negotiates its cipher in a context instead
                extra |= s3.SMB2_GLOBAL_CAP_ENCRYPTION
            caps |= extra & self.client_caps
        return caps

    @property
    def max_io(self) -> int:
        """Largest READ/WRITE offered: Windows says 8 MiB; ours stays within ``max_message_bytes``."""
        size = 1 << 16
        while size * 2 <= self.st.cfg.max_message_bytes - 4096 and size < 8 * 1024 * 1024:
            size *= 2
        return size

    def negotiate_response(self, dialect: int, contexts: bytes = b"", n_contexts: int = 0) -> bytes:
        resp = s3.SMB2Negotiate_Response()
        token = ntlm.neg_token_init()
        resp["SecurityMode"] = s3.SMB2_NEGOTIATE_SIGNING_ENABLED
        resp["DialectRevision"] = dialect
        resp["ServerGuid"] = self.st.persona.server_guid
        resp["Capabilities"] = self.capabilities(dialect)
        resp["MaxTransactSize"] = resp["MaxReadSize"] = resp["MaxWriteSize"] = self.max_io
        resp["SystemTime"] = ntlm.filetime()
        resp["ServerStartTime"] = 0  # Windows 10 / Server 2016 and Samba 4 no longer tell their boot time
        resp["SecurityBufferOffset"] = 128
        resp["SecurityBufferLength"] = len(token)
        resp["AlignPad"] = b""
        resp["Buffer"] = token
        if n_contexts:
            pad = -(128 + len(token)) % 8
            resp["NegotiateContextCount"] = n_contexts
            resp["NegotiateContextOffset"] = 128 + len(token) + pad
            resp["Padding"] = b"\x00" * pad
            resp["NegotiateContextList"] = contexts
        else:
            resp["Padding"] = b""
            resp["NegotiateContextList"] = b""
        return bytes(resp.getData())

    def negotiate(self, r: Request) -> Reply:
        _size, count, secmode, _res, caps, guid = struct.unpack("<HHHHI16s", r.body(28))
        if count == 0 or count > MAX_DIALECTS:
            raise Malformed(f"SMB2 NEGOTIATE with {count} dialects")
        offered = list(struct.unpack(f"<{count}H", r.buffer(100, 2 * count)))
        common = [d for d in self.st.persona.dialects if d in offered]
        self.st.emit(
            "smb.protocol.negotiate",
            extra={
                "smb_version": 2,
                "dialects": [DIALECT_NAMES.get(d, f"0x{d:04x}") for d in offered[:32]],
                "dialect": DIALECT_NAMES.get(max(common), "") if common else "",
                "client_guid": guid.hex(),
                "capabilities": f"0x{caps:08x}",
                "security_mode": secmode,
            },
        )
        if not common:
            return status.NOT_SUPPORTED, error_body()
        self.dialect = max(common)
        self.client_caps = caps
        self.st.conn.extra["dialect"] = DIALECT_NAMES[self.dialect]
        if self.dialect != 0x0311:
            return status.SUCCESS, self.negotiate_response(self.dialect)
        ctx_off, ctx_count = struct.unpack_from("<IH", r.msg, 64 + 28)
        contexts, n = self.contexts(r, ctx_off, min(ctx_count, MAX_CONTEXTS))
        return status.SUCCESS, self.negotiate_response(self.dialect, contexts, n)

    def contexts(self, r: Request, offset: int, count: int) -> tuple[bytes, int]:
        """Answer 3.1.1 negotiate contexts as Windows does: SHA-512 pre-auth integrity, and the
        client's preferred cipher among AES-128-GCM/CCM."""
        cipher = 0
        for _ in range(count):
            if offset + 8 > len(r.msg):
                break
            ctype, length = struct.unpack_from("<HH", r.msg, offset)
            data = r.buffer(offset + 8, length)
            if ctype == s3.SMB2_ENCRYPTION_CAPABILITIES and len(data) >= 2:
                n = min(struct.unpack_from("<H", data)[0], (len(data) - 2) // 2, 16)
                for c in struct.unpack_from(f"<{n}H", data, 2):
                    if c in (1, 2) and not cipher:
                        cipher = c
            offset += 8 + length + (-length % 8)
        pre = struct.pack("<HHH", 1, 32, 1) + os.urandom(32)
        out = struct.pack("<HHI", s3.SMB2_PREAUTH_INTEGRITY_CAPABILITIES, len(pre), 0) + pre
        if not cipher:
            return out, 1
        out += b"\x00" * (-len(out) % 8)
        enc = struct.pack("<HH", 1, cipher)
        return out + struct.pack("<HHI", s3.SMB2_ENCRYPTION_CAPABILITIES, len(enc), 0) + enc, 2

    # --- sessions -------------------------------------------------------------------------------

    def session_setup(self, r: Request) -> Reply:
        _size, _flags, _mode, _caps, _chan, off, length, _prev = struct.unpack("<HBBIIHHQ", r.body(24))
        blob = r.buffer(off, length)
        msg, wrapped = ntlm.extract(blob)
        mtype = ntlm.message_type(msg)
        pending = self.sessions.get(r.session_id)
        if pending is not None and pending.valid:
            pending = None  # a re-authentication starts a new session here
        if mtype == 1 or (mtype == 0 and wrapped and blob and pending is None):
            if pending is None and len(self.sessions) >= self.st.cfg.max_sessions:
                return status.INSUFF_SERVER_RESOURCES, error_body()
            new = pending or Session(self._next_sid, os.urandom(8), wrapped)
            if pending is None:
                self._next_sid += 1
                self.sessions[new.sid] = new
            if mtype == 0:
                # An optimistic token of another mechanism (a domain client's Kerberos ticket):
                # SPNEGO says pick NTLMSSP and let the client start over with it.
                return status.MORE_PROCESSING_REQUIRED, self._setup_body(0, ntlm.neg_token_resp(1, mech=True)), new.sid
            token = ntlm.challenge_message(self.st.persona.host, new.challenge, ntlm.parse_negotiate(msg))
            if wrapped:
                token = ntlm.neg_token_resp(1, token, mech=True)
            return status.MORE_PROCESSING_REQUIRED, self._setup_body(0, token), new.sid
        sess = self.sessions.get(r.session_id)
        if mtype != 3 or sess is None or sess.valid:
            if sess is not None and not sess.valid:
                del self.sessions[sess.sid]
            return status.LOGON_FAILURE, error_body()
        try:
            auth = ntlm.parse_authenticate(msg)
        except ntlm.NTLMError as e:
            raise Malformed(str(e)) from None
        if not self.st.login(auth, sess.challenge, 2):
            del self.sessions[sess.sid]
            return status.LOGON_FAILURE, error_body()
        sess.valid = True
        sess.flags = s3.SMB2_SESSION_FLAG_IS_NULL if auth.anonymous else s3.SMB2_SESSION_FLAG_IS_GUEST
        token = ntlm.neg_token_resp(0) if sess.wrapped else b""
        return status.SUCCESS, self._setup_body(sess.flags, token)

    @staticmethod
    def _setup_body(flags: int, token: bytes) -> bytes:
        resp = s3.SMB2SessionSetup_Response()
        resp["SessionFlags"] = flags
        resp["SecurityBufferOffset"] = 72 if token else 0
        resp["SecurityBufferLength"] = len(token)
        resp["AlignPad"] = b""
        resp["Buffer"] = token
        return bytes(resp.getData())

    def logoff(self, r: Request) -> Reply:
        self.sessions.pop(r.session_id, None)
        return status.SUCCESS, struct.pack("<HH", 4, 0)

    # --- trees ----------------------------------------------------------------------------------

    def tree_connect(self, r: Request) -> Reply:
        _size, _flags, off, length = struct.unpack("<HHHH", r.body(8))
        path = r.buffer(off, length).decode("utf-16-le", "replace")
        tree = self.st.tree_connect(path)
        if isinstance(tree, int):
            return tree, error_body()
        resp = s3.SMB2TreeConnect_Response()
        if tree.share.ipc:
            resp["ShareType"], resp["ShareFlags"] = s3.SMB2_SHARE_TYPE_PIPE, s3.SMB2_SHAREFLAG_NO_CACHING
        else:
            resp["ShareType"] = s3.SMB2_SHARE_TYPE_PRINT if tree.share.printer else s3.SMB2_SHARE_TYPE_DISK
        resp["MaximalAccess"] = 0x001F01FF
        return status.SUCCESS, bytes(resp.getData()), tree.tid

    def tree_disconnect(self, r: Request) -> Reply:
        self.st.tree_disconnect(r.tree_id)
        return status.SUCCESS, struct.pack("<HH", 4, 0)

    def tree(self, r: Request) -> Tree:
        tree = self.st.trees.get(r.tree_id)
        if tree is None:
            raise status.Refused(status.NETWORK_NAME_DELETED)
        return tree

    # --- one message ------------------------------------------------------------------------------

    def message(self, data: bytes) -> bytes:
        """Answer one SMB2 message (one request, or a compounded chain of them)."""
        out: list[bytes] = []
        pos = 0
        last: dict[str, Any] = {"sid": 0, "tid": 0}
        for _ in range(self.st.cfg.max_compound):
            if len(data) - pos < 64:
                raise Malformed("SMB2 header truncated")
            proto, hsize, _charge, _chan, cmd, credits, flags, nxt, mid, _r, tid, sid, _sig = HEADER.unpack_from(
                data, pos
            )
            if proto != b"\xfeSMB" or hsize != 64:
                raise Malformed("not an SMB2 header in a compound")
            if nxt and (nxt < 64 or nxt % 8 or pos + nxt > len(data)):
                raise Malformed(f"SMB2 NextCommand {nxt} invalid")
            end = pos + nxt if nxt else len(data)
            req = Request(cmd, flags, mid, tid, sid, credits, data[pos:end])
            if req.related:
                req.session_id, req.tree_id = last["sid"], last["tid"]
            reply = self.one(req)
            last["sid"], last["tid"] = req.session_id, req.tree_id
            if reply is not None:
                out.append(reply)
            if not nxt:
                break
            pos = end
        else:
            raise Malformed(f"more than {self.st.cfg.max_compound} compounded SMB2 requests")
        for i in range(len(out) - 1):
            pad = -len(out[i]) % 8
            out[i] = out[i][:20] + struct.pack("<I", len(out[i]) + pad) + out[i][24:] + b"\x00" * pad
        return b"".join(out)

    def one(self, r: Request) -> bytes | None:
        self.st.requests += 1
        if self.st.requests > self.st.cfg.max_requests:
            raise Malformed("request limit reached")
        if r.command == s3.SMB2_CANCEL:
            return None
        handler = self.handlers.get(r.command)
        result: Reply
        if handler is None:
            result = (status.NOT_IMPLEMENTED, error_body())
        elif r.command not in (s3.SMB2_NEGOTIATE, s3.SMB2_SESSION_SETUP, s3.SMB2_ECHO) and not self._authed(r):
            result = (status.USER_SESSION_DELETED, error_body())
        elif r.command != s3.SMB2_NEGOTIATE and not self.dialect:
            raise Malformed("SMB2 request before NEGOTIATE")
        else:
            try:
                result = handler(r)
            except status.Refused as e:
                result = (e.status, error_body())
            except (struct.error, ntlm.NTLMError) as e:
                raise Malformed(f"SMB2 command 0x{r.command:x}: {e}") from None
        code, body = result[0], result[1]
        if len(result) == 3:  # a new session or tree id for this response (and related requests)
            if r.command == s3.SMB2_SESSION_SETUP:
                r.session_id = result[2]
            else:
                r.tree_id = result[2]
        return self.header(r, code) + body

    def _authed(self, r: Request) -> bool:
        sess = self.sessions.get(r.session_id)
        return sess is not None and sess.valid

    def header(self, r: Request, code: int) -> bytes:
        pkt = s3.SMB2Packet()
        pkt["Status"] = code
        pkt["Command"] = r.command
        pkt["CreditCharge"] = 1 if self.dialect > 0x0202 else 0
        pkt["CreditRequestResponse"] = max(1, min(r.credits, MAX_CREDITS))
        pkt["Flags"] = s3.SMB2_FLAGS_SERVER_TO_REDIR | (r.flags & s3.SMB2_FLAGS_RELATED_OPERATIONS)
        pkt["MessageID"] = r.message_id
        pkt["TreeID"] = r.tree_id
        pkt["SessionID"] = r.session_id
        pkt["Signature"] = b"\x00" * 16
        pkt["Data"] = b""
        return bytes(pkt.getData())

    def wildcard_response(self, smb1_dialects: list[str]) -> bytes:
        """The SMB2 answer to an SMB1 NEGOTIATE that offers SMB2 (MS-SMB2 3.3.5.3.1): dialect 0x02FF
        when "SMB 2.???" is offered (the client then negotiates again in SMB2), 2.0.2 otherwise."""
        self.dialect = 0x02FF if "SMB 2.???" in smb1_dialects else 0x0202
        if self.dialect == 0x0202:
            self.st.conn.extra["dialect"] = "2.0.2"
        r = Request(s3.SMB2_NEGOTIATE, 0, 0, 0, 0, 1, b"")
        return self.header(r, status.SUCCESS) + self.negotiate_response(self.dialect)
