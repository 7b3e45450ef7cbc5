# SPDX-License-Identifier: MIT
"""DCE/RPC (connection-oriented, C706 chapter 12 / MS-RPCE) on the SMB trap's named pipes.

The SMB server opens a :class:`Pipe` per named-pipe handle (``\\PIPE\\srvsvc``, ``svcctl``, ...) and
passes it what the client WRITEs, READs and TRANSACTs. The pipe answers like the RPC runtime of a
Windows Server 2016 host: ``bind``/``alter_context`` acknowledged for the interfaces that endpoint
serves (NDR accepted, NDR64 refused as Windows does when NDR is offered too, bind-time feature
negotiation acknowledged), calls reassembled from fragments, answered by :mod:`.rpc_ops`, and every
bind and call logged (``smb.dcerpc.bind``, ``smb.dcerpc.request``): that is where PsExec-style tools
show what they run (svcctl ``CreateServiceW`` with the binary path).

The PDU headers are packed and parsed here with :mod:`struct`: every length the client sends is
checked against the PDU before anything is sliced, and impacket's ``Structure`` packs an empty
secondary address with a stray NUL. The stubs (NDR) are impacket's request/response classes, in
:mod:`.rpc_ops`, imported on the first call: ``impacket.dcerpc.v5.rpcrt`` pulls in Kerberos and
pycryptodome (~17 MB RSS alone, ~11 MB beside the SMB trap's own imports), which a sensor nobody
calls over a pipe should not pay for
(:func:`preload` lets the SMB server take that cost off the event loop ahead of time).
"""

from __future__ import annotations

import os
import struct
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from honeyfarm.sensor.traps.smb.rpc_types import (
    IFACES,
    MAX_TEXT,
    NCA_S_OP_RNG_ERROR,
    NCA_S_UNK_IF,
    RPC_X_BAD_STUB_DATA,
    Call,
    Iface,
    PipeState,
    Reply,
    RPCFacts,
)
from honeyfarm.sensor.traps.stream import Malformed

__all__ = ["PIPES", "Pipe", "RPCFacts", "preload"]

# Pipe name (lower case, no leading backslash) -> the endpoint's secondary address in bind_ack, and
# the interfaces served on it. Windows serves the lsass interfaces on all of samr/lsarpc/netlogon
# (one endpoint, "\pipe\lsass"), and svcctl is an alias of ntsvcs.
_LSASS = ("samr", "lsarpc", "netlogon", "efsrpc")
_ENDPOINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "srvsvc": ("\\PIPE\\srvsvc", ("srvsvc",)),
    "wkssvc": ("\\PIPE\\wkssvc", ("wkssvc",)),
    "browser": ("\\PIPE\\browser", ("srvsvc", "wkssvc")),
    "svcctl": ("\\PIPE\\ntsvcs", ("svcctl",)),
    "ntsvcs": ("\\PIPE\\ntsvcs", ("svcctl",)),
    "samr": ("\\PIPE\\lsass", _LSASS),
    "lsarpc": ("\\PIPE\\lsass", _LSASS),
    "lsass": ("\\PIPE\\lsass", _LSASS),
    "netlogon": ("\\PIPE\\lsass", _LSASS),
    "efsrpc": ("\\PIPE\\efsrpc", ("efsrpc",)),
    "netdfs": ("\\PIPE\\netdfs", ("netdfs",)),
    "winreg": ("\\PIPE\\winreg", ("winreg",)),
    "spoolss": ("\\PIPE\\spoolss", ("spoolss",)),
    "atsvc": ("\\PIPE\\atsvc", ("atsvc", "tsch")),
}
PIPES: frozenset[str] = frozenset(_ENDPOINTS)


NDR = ("8a885d04-1ceb-11c9-9fe8-08002b104860", 2)
NDR64 = ("71710533-beba-4937-8319-b5dbef9ccc36", 1)
BTFN_PREFIX = "6cb71c2c-9812-4540-"  # bind time feature negotiation: the last 8 octets are the bitmask

# PDU types and flags (C706 12.6.3.1)
REQUEST, RESPONSE, FAULT, BIND, BIND_ACK, BIND_NAK, ALTER, ALTER_RESP, AUTH3, SHUTDOWN, CO_CANCEL, ORPHANED = (
    0, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19,
)  # fmt: skip
FIRST_FRAG, LAST_FRAG, DID_NOT_EXECUTE, OBJECT_UUID = 0x01, 0x02, 0x20, 0x80

# Caps: a call is at most MAX_CALL_BYTES in MAX_FRAGMENTS fragments; answers a client leaves unread
# are capped too (stubs are decoded only up to rpc_ops.max_stub bytes).
MAX_CALL_BYTES = 1 << 20
MAX_FRAGMENTS = 64
MAX_PENDING_OUT = 1 << 20
MAX_CONTEXTS = 64
MAX_XMIT = 4280  # what Windows offers on ncacn_np
HEADER = struct.Struct("<BBBB4sHHI")  # rpc_vers, minor, type, flags, drep, frag_len, auth_len, call_id


@dataclass
class _PendingCall:
    call_id: int
    ctx_id: int
    opnum: int
    obj: bytes | None
    stub: bytearray
    fragments: int = 1


def preload() -> None:
    """Import the NDR stubs now (e.g. in a thread at trap start) rather than on the first call."""
    from honeyfarm.sensor.traps.smb import rpc_ops

    rpc_ops.preload()


def _uuid(raw: bytes) -> str:
    return str(uuidlib.UUID(bytes_le=raw))


def _syntax(raw: bytes) -> tuple[str, int, int]:
    major, minor = struct.unpack_from("<HH", raw, 16)
    return _uuid(raw[:16]), major, minor


def _syntax_bytes(syn: tuple[str, int]) -> bytes:
    return uuidlib.UUID(syn[0]).bytes_le + struct.pack("<HH", syn[1], 0)


def _fmt(s: tuple[str, int, int]) -> str:
    return f"{s[0]} v{s[1]}.{s[2]}"


class Pipe:
    """One open named pipe of the SMB trap: bytes in from WRITE, bytes out through READ."""

    def __init__(self, name: str, emit: Callable[..., None], facts: RPCFacts) -> None:
        self.name = name.lower().lstrip("\\")
        if self.name.startswith("pipe\\"):
            self.name = self.name[5:]
        self.emit = emit
        self.facts = facts
        self.secondary_addr, self.served = _ENDPOINTS.get(self.name, ("", ()))
        self.state = PipeState()
        self._in = bytearray()
        self._out: deque[bytes] = deque()  # whole fragments: a message-mode pipe reads one at a time
        self._out_bytes = 0
        self._contexts: dict[int, Iface] = {}
        self._call: _PendingCall | None = None  # the request whose fragments are arriving
        self._max_xmit = MAX_XMIT
        self._assoc = 0
        self.message_left = 0  # bytes of the message the last read() cut short (STATUS_BUFFER_OVERFLOW)

    @property
    def username(self) -> str:
        """The SMB session's user, if the SMB server sets it (LsarGetUserName answers with it)."""
        return self.state.username

    @username.setter
    def username(self, value: str) -> None:
        self.state.username = value[:MAX_TEXT]

    # -- the SMB server's side ------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Bytes the client wrote; complete PDUs are answered at once (read them with :meth:`read`)."""
        # Taken 64 KiB at a time, so a write holding many PDUs is served while at most one
        # unfinished PDU (frag_len is 16 bits) is ever buffered.
        for i in range(0, len(data), 0x10000):
            self._in += data[i : i + 0x10000]
            self._drain()
            if len(self._in) > 0xFFFF:
                raise Malformed("DCE/RPC: more buffered than one PDU can hold")

    def _drain(self) -> None:
        while len(self._in) >= HEADER.size:
            ver, minor, ptype, flags, drep, frag_len, auth_len, call_id = HEADER.unpack_from(self._in)
            if ver != 5 or minor > 1:
                raise Malformed(f"DCE/RPC: version {ver}.{minor}")
            if drep[0] & 0xF0 != 0x10:
                raise Malformed("DCE/RPC: big-endian data representation")
            if frag_len < HEADER.size or (auth_len and auth_len + 8 > frag_len - HEADER.size):
                raise Malformed(f"DCE/RPC: fragment length {frag_len} (auth {auth_len})")
            if len(self._in) < frag_len:
                return
            pdu = bytes(self._in[:frag_len])
            del self._in[:frag_len]
            body = pdu[HEADER.size : frag_len - (auth_len + 8 if auth_len else 0)]
            self._pdu(ptype, flags, call_id, body, auth_len)

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of the next answer fragment (b"" if none); the rest stays for the next read."""
        self.message_left = 0
        if not self._out or max_bytes <= 0:
            return b""
        msg = self._out[0]
        if len(msg) <= max_bytes:
            self._out.popleft()
        else:
            self._out[0] = msg[max_bytes:]
            msg = msg[:max_bytes]
            self.message_left = len(self._out[0])
        self._out_bytes -= len(msg)
        return msg

    def transact(self, data: bytes, max_out: int) -> bytes:
        """FSCTL_PIPE_TRANSCEIVE / TransactNmPipe: write, then read the answer's first fragment."""
        self.write(data)
        return self.read(max_out)

    @property
    def pending(self) -> int:
        """Answer bytes not read yet."""
        return self._out_bytes

    # -- PDUs -----------------------------------------------------------------------------------
    def _send(self, ptype: int, flags: int, call_id: int, body: bytes) -> None:
        frag_len = HEADER.size + len(body)
        pdu = HEADER.pack(5, 0, ptype, flags, b"\x10\x00\x00\x00", frag_len, 0, call_id) + body
        if self._out_bytes + len(pdu) > MAX_PENDING_OUT:
            raise Malformed("DCE/RPC: client does not read its answers")
        self._out.append(pdu)
        self._out_bytes += len(pdu)

    def _fault(self, call_id: int, ctx_id: int, status: int) -> None:
        # Windows sets did-not-execute on faults raised before the manager routine ran.
        body = struct.pack("<IHBBII", 0, ctx_id, 0, 0, status, 0)
        self._send(FAULT, FIRST_FRAG | LAST_FRAG | DID_NOT_EXECUTE, call_id, body)

    def _pdu(self, ptype: int, flags: int, call_id: int, body: bytes, auth_len: int) -> None:
        if ptype in (BIND, ALTER):
            self._bind(ptype, flags, call_id, body, auth_len)
        elif ptype == REQUEST:
            self._request(flags, call_id, body)
        elif ptype in (AUTH3, CO_CANCEL, ORPHANED):
            return  # no answer is due; an orphaned call is dropped
        elif ptype == SHUTDOWN:
            return
        else:
            raise Malformed(f"DCE/RPC: unexpected PDU type {ptype} from the client")

    def _bind(self, ptype: int, flags: int, call_id: int, body: bytes, auth_len: int) -> None:
        if len(body) < 12:
            raise Malformed("DCE/RPC: bind too short")
        max_xmit, max_recv, assoc, n_ctx = struct.unpack_from("<HHIB", body)
        if ptype == BIND:
            # Our fragments must fit what the client receives; Windows never goes below 1024.
            self._max_xmit = max(1024, min(MAX_XMIT, max_recv or MAX_XMIT, max_xmit or MAX_XMIT))
            self._assoc = assoc or self._assoc or (int.from_bytes(os.urandom(2), "little") | 0x10000)
        off = 12
        results: list[bytes] = []
        for _ in range(n_ctx):
            if off + 24 > len(body):
                raise Malformed("DCE/RPC: bind context list past the PDU")
            ctx_id, n_syn = struct.unpack_from("<HB", body, off)
            abstract = _syntax(body[off + 4 : off + 24])
            off += 24
            if n_syn == 0 or off + 20 * n_syn > len(body):
                raise Malformed("DCE/RPC: bind transfer syntaxes past the PDU")
            syns = [_syntax(body[off + 20 * i : off + 20 * (i + 1)]) for i in range(n_syn)]
            off += 20 * n_syn
            results.append(self._context(ptype, ctx_id, abstract, syns, auth_len))
        if auth_len:
            # Authenticated binds (NTLMSSP/Kerberos over the pipe) are not served; Windows clients
            # bind unauthenticated on ncacn_np, the SMB session being the authentication.
            self._send(BIND_NAK, FIRST_FRAG | LAST_FRAG, call_id, struct.pack("<HB", 8, 0))  # auth type not recognized
            return
        sec = (self.secondary_addr.encode() + b"\x00") if ptype == BIND and self.secondary_addr else b""
        ack = struct.pack("<HHIH", MAX_XMIT, MAX_XMIT, self._assoc, len(sec)) + sec
        ack += b"\x00" * (-(HEADER.size + len(ack)) % 4)
        ack += struct.pack("<BBH", len(results), 0, 0) + b"".join(results)
        self._send(BIND_ACK if ptype == BIND else ALTER_RESP, FIRST_FRAG | LAST_FRAG | (flags & 0x04), call_id, ack)

    def _context(
        self, ptype: int, ctx_id: int, abstract: tuple[str, int, int], syns: list[tuple[str, int, int]], auth: int
    ) -> bytes:
        iface = IFACES.get(abstract[0])
        name = iface.name if iface else "unknown"
        zero = b"\x00" * 20
        served = iface is not None and iface.name in self.served and iface.version[0] == abstract[1]
        if syns[0][0].startswith(BTFN_PREFIX):
            # Bind time feature negotiation (MS-RPCE 3.3.1.5.3): acknowledge security-context
            # multiplexing and keep-connection-on-orphan, the two bits Windows Server 2016 supports.
            offered = int.from_bytes(bytes.fromhex(syns[0][0][19:].replace("-", "")), "little")
            result, reason, answer = 3, offered & 0x3, zero
            outcome = "negotiate_ack"
        elif not served:
            result, reason, answer = 2, 1, zero
            outcome = "abstract syntax not supported"
        elif any(s[:2] == NDR for s in syns):
            result, reason, answer = 0, 0, _syntax_bytes(NDR)
            outcome = "accepted"
            if len(self._contexts) < MAX_CONTEXTS or ctx_id in self._contexts:
                self._contexts[ctx_id] = iface  # type: ignore[assignment]  # served implies iface
        else:
            result, reason, answer = 2, 2, zero
            outcome = "transfer syntax not supported"
        syn_names = ["ndr" if s[:2] == NDR else "ndr64" if s[:2] == NDR64 else _fmt(s) for s in syns]
        self.emit(
            "smb.dcerpc.bind",
            extra={
                "pipe": self.name,
                "uuid": abstract[0],
                "interface": name,
                "version": f"{abstract[1]}.{abstract[2]}",
                "transfer_syntax": ",".join(syn_names),
                "context_id": ctx_id,
                "alter_context": ptype == ALTER,
                "result": outcome,
                **({"auth_len": auth} if auth else {}),
            },
        )
        return struct.pack("<HH", result, reason) + answer

    def _request(self, flags: int, call_id: int, body: bytes) -> None:
        if len(body) < 8:
            raise Malformed("DCE/RPC: request too short")
        _alloc_hint, ctx_id, opnum = struct.unpack_from("<IHH", body)
        off = 8
        obj = None
        if flags & OBJECT_UUID:
            if len(body) < off + 16:
                raise Malformed("DCE/RPC: object UUID past the PDU")
            obj = body[off : off + 16]
            off += 16
        stub = body[off:]
        if flags & FIRST_FRAG:
            self._call = _PendingCall(call_id, ctx_id, opnum, obj, bytearray(stub))
        elif self._call is None or self._call.call_id != call_id:
            raise Malformed("DCE/RPC: a middle fragment of no call")
        else:
            call = self._call
            if call.fragments >= MAX_FRAGMENTS or len(call.stub) + len(stub) > MAX_CALL_BYTES:
                raise Malformed(f"DCE/RPC: call over {MAX_FRAGMENTS} fragments or {MAX_CALL_BYTES} bytes")
            call.stub += stub
            call.fragments += 1
        done = self._call
        if flags & LAST_FRAG and done is not None:
            self._call = None
            self._dispatch(done.call_id, done.ctx_id, done.opnum, done.obj, bytes(done.stub))

    def _dispatch(self, call_id: int, ctx_id: int, opnum: int, obj: bytes | None, stub: bytes) -> None:
        iface = self._contexts.get(ctx_id)
        extra: dict[str, Any] = {"pipe": self.name, "opnum": opnum, "stub_size": len(stub), "context_id": ctx_id}
        if obj is not None:
            extra["object_uuid"] = _uuid(obj)
        if iface is None:
            self.emit("smb.dcerpc.request", extra={**extra, "interface": "unbound", "fault": f"0x{NCA_S_UNK_IF:08x}"})
            self._fault(call_id, ctx_id, NCA_S_UNK_IF)
            return
        from honeyfarm.sensor.traps.smb import rpc_ops

        call = Call(self.name, iface, opnum, stub, self.facts, self.state)
        operation = rpc_ops.operation_name(iface, opnum)
        if operation is None:
            reply = Reply(fault=NCA_S_OP_RNG_ERROR)
        elif len(stub) > rpc_ops.max_stub(iface, opnum):
            reply = Reply(fault=RPC_X_BAD_STUB_DATA, extra={"decoded": False})
        else:
            reply = rpc_ops.handle(call)
        extra.update(uuid=iface.uuid, interface=iface.name, operation=operation or f"opnum {opnum}")
        extra.update(reply.extra)
        if reply.stub is None:
            extra["fault"] = f"0x{reply.fault:08x}"
        self.emit("smb.dcerpc.request", command=reply.command, extra=extra)
        if reply.stub is None:
            self._fault(call_id, ctx_id, reply.fault)
        else:
            self._respond(call_id, ctx_id, reply.stub)

    def _respond(self, call_id: int, ctx_id: int, stub: bytes) -> None:
        # Fragments of at most max_xmit bytes; alloc_hint is what is left of the stub (C706 12.6.4.10).
        room = self._max_xmit - HEADER.size - 8
        off = 0
        while True:
            chunk = stub[off : off + room]
            flags = (FIRST_FRAG if off == 0 else 0) | (LAST_FRAG if off + len(chunk) >= len(stub) else 0)
            self._send(RESPONSE, flags, call_id, struct.pack("<IHBB", len(stub) - off, ctx_id, 0, 0) + chunk)
            off += len(chunk)
            if off >= len(stub):
                return
