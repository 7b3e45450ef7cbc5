# SPDX-License-Identifier: MIT
"""What the SMB trap's DCE/RPC pipe (:mod:`.rpc`) and its operation handlers (:mod:`.rpc_ops`,
:mod:`.rpc_lsa`, :mod:`.rpc_exec`) share: the interfaces, the persona facts, a call and its reply, the
state of one pipe, fault statuses and caps. Kept apart so that the handlers, imported on the first
call, do not import the pipe that imports them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

MAX_DECODE_STUB = 40 * 1024  # a 16K-character command line in UTF-16, and the rest of its call
MAX_TEXT = 256  # names, shares, keys kept in events
MAX_COMMAND = 16384  # a binary path or command line (PowerShell -enc one-liners run to kilobytes)

# Fault statuses (MS-RPCE 2.2.2.11 / C706 appendix E)
NCA_S_OP_RNG_ERROR = 0x1C010002
NCA_S_UNK_IF = 0x1C010003
NCA_S_FAULT_INVALID_TAG = 0x1C000006  # a union level the interface does not define
RPC_X_BAD_STUB_DATA = 0x000006F7


@dataclass(frozen=True)
class Iface:
    """An RPC interface: its name in events, UUID, version, and the impacket modules naming its opnums."""

    name: str
    uuid: str
    version: tuple[int, int]
    modules: tuple[str, ...] = ()


_IFACE_LIST = (
    Iface("srvsvc", "4b324fc8-1670-01d3-1278-5a47bf6ee188", (3, 0), ("srvs",)),
    Iface("wkssvc", "6bffd098-a112-3610-9833-46c3f87e345a", (1, 0), ("wkst",)),
    Iface("svcctl", "367abb81-9844-35f1-ad32-98f038001003", (2, 0), ("scmr",)),
    Iface("samr", "12345778-1234-abcd-ef00-0123456789ac", (1, 0), ("samr",)),
    Iface("lsarpc", "12345778-1234-abcd-ef00-0123456789ab", (0, 0), ("lsad", "lsat")),
    Iface("netlogon", "12345678-1234-abcd-ef00-01234567cffb", (1, 0), ("nrpc",)),
    Iface("winreg", "338cd001-2244-31f1-aaaa-900038001003", (1, 0), ("rrp",)),
    Iface("spoolss", "12345678-1234-abcd-ef00-0123456789ab", (1, 0), ("rprn",)),
    Iface("atsvc", "1ff70682-0a51-30e8-076d-740be8cee98b", (1, 0), ("atsvc",)),
    Iface("tsch", "86d35949-83c9-4044-b424-db363231fd0c", (1, 0), ("tsch",)),
    # EFSRPC on the lsass pipes and on its own pipe (two UUIDs, one protocol); DFS namespaces.
    Iface("efsrpc", "c681d488-d850-11d0-8c52-00c04fd90f7e", (1, 0)),
    Iface("efsrpc", "df1941c5-fe89-4e79-bf10-463657acf44d", (1, 0)),
    Iface("netdfs", "4fc742e0-4a10-11cf-8273-00aa004ae673", (3, 0)),
    # Not served on any pipe here; named so that a bind to them is logged by name.
    Iface("epmapper", "e1af8308-5d1f-11c9-91a4-08002b14a0fa", (3, 0)),
    Iface("mgmt", "afa8bd80-7d8a-11c9-bef4-08002b102989", (1, 0)),
    Iface("drsuapi", "e3514235-4b06-11d1-ab04-00c04fc2dcd2", (4, 0)),
    Iface("dssetup", "3919286a-b10c-11d0-9ba8-00c04fd92ef5", (0, 0)),
    Iface("eventlog", "82273fdc-e32a-18c3-3f78-827929dc23ea", (0, 0)),
)
IFACES: dict[str, Iface] = {i.uuid: i for i in _IFACE_LIST}


@dataclass(frozen=True)
class RPCFacts:
    """What the RPC answers say about the host (from the SMB trap's persona)."""

    netbios_name: str
    domain: str
    shares: list[tuple[str, int, str]]  # (name, STYPE type e.g. 0 disk/3 IPC/0x80000000 special, comment)
    os_major: int = 10
    os_minor: int = 0
    os_build: int = 14393


@dataclass
class Reply:
    """What an operation answers: a stub, or a fault status; plus what the request event records."""

    stub: bytes | None = None
    fault: int = 0
    command: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    """One reassembled request as an operation handler sees it."""

    pipe: str
    iface: Iface
    opnum: int
    stub: bytes
    facts: RPCFacts
    state: PipeState


@dataclass
class PipeState:
    """What one pipe remembers between calls: its context handles and the services it created."""

    handles: dict[bytes, tuple[str, str]] = field(default_factory=dict)  # handle -> (kind, name)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case name -> facts
    username: str = ""  # the SMB session's user (Pipe.username), "" for a null session
    MAX_HANDLES = 256
    MAX_SERVICES = 64

    def new_handle(self, kind: str, name: str = "") -> bytes:
        if len(self.handles) >= self.MAX_HANDLES:  # a client that never closes: forget the oldest
            del self.handles[next(iter(self.handles))]
        h = b"\x00" * 4 + os.urandom(16)
        self.handles[h] = (kind, name)
        return h


def text(v: Any, cap: int = MAX_TEXT) -> str:
    """A string field decoded by impacket (NUL-terminated str, or b"" for a NULL pointer) as a capped str."""
    if isinstance(v, bytes):
        v = v.decode("utf-16-le", "replace")
    if not isinstance(v, str):
        return ""
    return v.split("\x00", 1)[0][:cap]


def err_fields(err: int) -> dict[str, int]:
    """The ``extra.error`` of an operation that failed (Win32 error or NTSTATUS); nothing on success."""
    return {"error": err} if err else {}


def handle_bytes(v: Any) -> bytes:
    """A 20-byte context handle field as bytes (impacket returns the packed handle, or the structure)."""
    if isinstance(v, bytes):
        return v
    data = v["Data"]
    return data if isinstance(data, bytes) else b""
