# SPDX-License-Identifier: MIT
"""What one SMB connection holds, whichever dialect it speaks: logins, tree connects, open files and
pipes, and the uploads being written into the content store.

SMB1 (:mod:`.smb1`) and SMB2/3 (:mod:`.smb2`) parse their own packets and call in here, so a file
written with ``smbclient -m NT1`` and one written by a worm over SMB 3.1.1 are logged the same way.
Nothing here touches the host filesystem: attacker paths are only logged, and file contents go to the
content store under their hash.
"""

from __future__ import annotations

import fnmatch
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.traps.smb import ntlm, status
from honeyfarm.sensor.traps.smb.config import SMBConfig

if TYPE_CHECKING:
    from honeyfarm.sensor.capture.store import BlobWriter
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.stream import Conn

try:  # the DCE/RPC pipes are written beside this trap; without them a pipe is "not found"
    from honeyfarm.sensor.traps.smb.rpc import PIPES, Pipe, RPCFacts
except ImportError:  # pragma: no cover - only while rpc.py does not exist
    PIPES = frozenset()
    Pipe = None  # type: ignore[assignment,misc]
    RPCFacts = None  # type: ignore[assignment,misc]

MAX_PATH = 1024  # characters of an attacker path kept
ZERO_CHUNK = 64 * 1024
MAX_WRITERS = 8  # files being written at once per connection (worms copy one or two)
MAX_KNOWN = 256  # paths created in this connection, answered as existing on a later open
STYPE_DISK, STYPE_PRINT, STYPE_IPC, STYPE_SPECIAL = 0, 1, 3, 0x80000000
# CREATE dispositions (MS-SMB2 2.2.13) and the actions answered (2.2.14)
SUPERSEDE, OPEN, CREATE, OPEN_IF, OVERWRITE, OVERWRITE_IF = range(6)
DIRECTORY_FILE = 0x1
NON_DIRECTORY_FILE = 0x40
DELETE_ON_CLOSE = 0x1000
DISPOSITIONS = ("supersede", "open", "create", "open_if", "overwrite", "overwrite_if")


@dataclass(frozen=True)
class Share:
    name: str
    stype: int
    comment: str

    @property
    def ipc(self) -> bool:
        return self.stype & 0xFF == STYPE_IPC

    @property
    def printer(self) -> bool:
        return self.stype & 0xFF == STYPE_PRINT


@dataclass(frozen=True)
class Persona:
    """The facts one server build tells every client (the same on every connection of a sensor)."""

    name: str
    host: ntlm.HostFacts
    server_guid: bytes
    shares: tuple[Share, ...]
    smb1: bool
    dialects: tuple[int, ...]
    native_os: str
    native_lanman: str

    def share(self, name: str) -> Share | None:
        low = name.lower()
        return next((s for s in self.shares if s.name.lower() == low), None)


def computer_name(cfg: SMBConfig, hostname: str) -> str:
    """``netbios_name``, or the persona's host name as Windows derives its NetBIOS name (first label, 15)."""
    return (cfg.netbios_name or hostname.split(".")[0])[:15].upper()


def make_persona(cfg: SMBConfig, sensor_name: str, hostname: str = "web-01") -> Persona:
    name = computer_name(cfg, hostname)
    guid = uuid.uuid5(uuid.NAMESPACE_DNS, f"{sensor_name}.{name}.smb.honeyfarm").bytes_le
    extra = tuple(Share(s.name, STYPE_PRINT if s.type == "print" else STYPE_DISK, s.comment) for s in cfg.shares)
    if cfg.persona == "samba":
        host = ntlm.HostFacts(name, cfg.domain.upper(), cfg.dns_domain, 6, 1, 0)
        ipc = Share("IPC$", STYPE_IPC | STYPE_SPECIAL, "IPC Service (Samba 4.17.12-Debian)")
        return Persona(
            "samba", host, guid, (*extra, ipc), False, (0x0202, 0x0210, 0x0300, 0x0302, 0x0311), "Unix", "Samba"
        )
    host = ntlm.HostFacts(name, cfg.domain.upper(), cfg.dns_domain, 10, 0, 14393)
    admin = (
        Share("ADMIN$", STYPE_DISK | STYPE_SPECIAL, "Remote Admin"),
        Share("C$", STYPE_DISK | STYPE_SPECIAL, "Default share"),
        Share("IPC$", STYPE_IPC | STYPE_SPECIAL, "Remote IPC"),
    )
    return Persona(
        "windows-2016",
        host,
        guid,
        (*admin, *extra),
        True,
        (0x0202, 0x0210, 0x0300, 0x0302, 0x0311),
        "Windows Server 2016 Standard 14393",
        "Windows Server 2016 Standard 6.3",
    )


def clean_path(raw: str) -> str:
    """An attacker path as logged: one separator, no leading one, bounded, no NULs."""
    p = raw.replace("\x00", "").replace("/", "\\").strip("\\")
    while "\\\\" in p:
        p = p.replace("\\\\", "\\")
    return p[:MAX_PATH]


@dataclass
class Tree:
    tid: int
    share: Share
    path: str


@dataclass
class Node:
    """A file or directory created in this connection (so a later open, stat or listing finds it)."""

    path: str
    directory: bool
    size: int = 0


@dataclass
class Open:
    fid: int
    tree: Tree
    path: str
    directory: bool
    pipe: Any = None  # a rpc.Pipe on IPC$
    writer: BlobWriter | None = None
    size: int = 0  # end of file as the client sees it
    kept: int = 0  # bytes written into the store (sequential)
    out_of_order: bool = False
    truncated: bool = False
    delete_on_close: bool = False


@dataclass
class SMBState:
    """One connection's SMB world."""

    ctx: SensorContext
    cfg: SMBConfig
    persona: Persona
    conn: Conn
    trees: dict[int, Tree] = field(default_factory=dict)
    opens: dict[int, Open] = field(default_factory=dict)
    known: dict[tuple[str, str], Node] = field(default_factory=dict)  # (share, lower path) created here
    stored_bytes: int = 0
    uploads: int = 0
    opens_logged: int = 0
    opens_total: int = 0
    requests: int = 0
    user: str = ""
    _next_tid: int = 1
    _next_fid: int = 1

    @property
    def emit(self) -> Callable[..., None]:
        return self.conn.log.emit

    # --- logins ---------------------------------------------------------------------------

    def login(self, auth: ntlm.Auth, challenge: bytes, smb_version: int) -> bool:
        """Log an NTLM AUTHENTICATE and decide it (see ``accept_logins``)."""
        if auth.anonymous or self.cfg.accept_logins == "any":
            ok = True
        elif self.cfg.accept_logins == "none":
            ok = False
        else:
            ok = self.ctx.policy.check(self.conn.log.src_ip, auth.user, "")
        extra: dict[str, Any] = {
            "domain": auth.domain,
            "workstation": auth.workstation,
            "ntlm_version": auth.version,
            "smb_version": smb_version,
        }
        if auth.client_os:
            extra["client_os"] = auth.client_os
        hc = auth.hashcat(challenge)
        if hc is not None:
            extra["hashcat"], extra["hashcat_mode"] = hc
        self.emit("smb.login.success" if ok else "smb.login.failed", username=auth.user, extra=extra)
        if ok:
            self.user = auth.user
            self.conn.fields["username"] = auth.user
        return ok

    # --- trees ----------------------------------------------------------------------------

    def tree_connect(self, unc: str) -> Tree | int:
        """A Tree, or the NTSTATUS refusing it."""
        path = unc.replace("\x00", "")[:MAX_PATH]
        name = path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]
        share = self.persona.share(name)
        self.emit("smb.tree.connect", extra={"share": name[:256], "path": path, "found": share is not None})
        trees = self.conn.extra.setdefault("trees", [])
        if len(trees) < 32 and name[:80] not in trees:
            trees.append(name[:80])
        if share is None:
            return status.BAD_NETWORK_NAME
        if len(self.trees) >= self.cfg.max_trees:
            return status.INSUFF_SERVER_RESOURCES
        tree = Tree(self._next_tid, share, path)
        self._next_tid = self._next_tid % 0xFFFE + 1
        self.trees[tree.tid] = tree
        return tree

    def tree_disconnect(self, tid: int) -> None:
        tree = self.trees.pop(tid, None)
        if tree is not None:
            for o in [o for o in self.opens.values() if o.tree is tree]:
                self.close(o)

    # --- opens ----------------------------------------------------------------------------

    def open(self, tree: Tree, raw_path: str, access: int, disposition: int, options: int) -> tuple[Open, int] | int:
        """(Open, create action) or the NTSTATUS refusing it."""
        path = clean_path(raw_path)
        pipe_name = path.lower().removeprefix("pipe\\")
        self.opens_total += 1
        if self.opens_logged < self.cfg.max_logged_opens:
            self.opens_logged += 1
            self.emit(
                "smb.file.open",
                extra={
                    "share": tree.share.name,
                    "path": path,
                    "access": f"0x{access:08x}",
                    "disposition": DISPOSITIONS[disposition] if 0 <= disposition < 6 else str(disposition),
                    "pipe": tree.share.ipc,
                },
            )
        if len(self.opens) >= self.cfg.max_opens:
            return status.INSUFF_SERVER_RESOURCES
        if tree.share.ipc:
            if Pipe is None or pipe_name not in PIPES:
                return status.OBJECT_NAME_NOT_FOUND
            facts = RPCFacts(
                netbios_name=self.persona.host.netbios_name,
                domain=self.persona.host.domain,
                shares=[(s.name, s.stype, s.comment) for s in self.persona.shares],
                os_major=self.persona.host.os_major,
                os_minor=self.persona.host.os_minor,
                os_build=self.persona.host.os_build,
            )
            o = Open(self._fid(), tree, pipe_name, False, pipe=Pipe(pipe_name, self.emit, facts))
            self.opens[o.fid] = o
            return o, 1
        key = (tree.share.name, path.lower())
        node = self.known.get(key)
        exists = not path or node is not None
        if disposition == OPEN and not exists:
            return status.OBJECT_NAME_NOT_FOUND
        if disposition == CREATE and exists:
            return status.OBJECT_NAME_COLLISION
        directory = not path or (node.directory if node else bool(options & DIRECTORY_FILE))
        if directory and options & NON_DIRECTORY_FILE:
            return status.FILE_IS_A_DIRECTORY
        if node is None and path and len(self.known) < MAX_KNOWN:
            self.known[key] = node = Node(path, directory)
        keep = disposition in (OPEN, OPEN_IF)
        action = 1 if exists and keep else (3 if exists else 2)
        o = Open(self._fid(), tree, path, directory, size=node.size if node and keep else 0)
        o.delete_on_close = bool(options & DELETE_ON_CLOSE) and bool(path)
        self.opens[o.fid] = o
        return o, action

    def mkdir(self, tree: Tree, raw_path: str) -> int:
        """SMB1's CREATE_DIRECTORY: the NTSTATUS."""
        path = clean_path(raw_path)
        key = (tree.share.name, path.lower())
        if not path or key in self.known:
            return status.OBJECT_NAME_COLLISION
        if len(self.known) < MAX_KNOWN:
            self.known[key] = Node(path, True)
        return status.SUCCESS

    def rename(self, o: Open, raw_path: str) -> None:
        """A rename of an open file or directory (the upload is logged under the new name)."""
        path = clean_path(raw_path)
        node = self.known.pop((o.tree.share.name, o.path.lower()), None)
        o.path = path
        if node is not None and path:
            node.path = path
            self.known[(o.tree.share.name, path.lower())] = node

    def listing(self, share: str, directory: str) -> list[tuple[str, bool, int]]:
        """What this connection created in a directory: (name, is directory, size)."""
        parent = directory.lower()
        out = []
        for (sh, _), node in self.known.items():
            head, _, name = node.path.rpartition("\\")
            if sh == share and head.lower() == parent:
                out.append((name, node.directory, node.size))
        return out

    def _fid(self) -> int:
        fid = self._next_fid
        self._next_fid = self._next_fid % 0xFFFE + 1
        while fid in self.opens:
            fid = fid % 0xFFFE + 1
        return fid

    def write(self, o: Open, offset: int, data: bytes) -> None:
        """Bytes written to a file: kept in order (a gap is zero-filled, a rewrite of kept bytes is
        dropped and flagged), within the per-file and per-connection caps."""
        if o.pipe is not None:
            o.pipe.write(data)
            return
        if o.directory or not data:
            return
        o.size = max(o.size, offset + len(data))
        if offset < o.kept:
            o.out_of_order = True
            data = data[o.kept - offset :]
            offset = o.kept
            if not data:
                return
        if self.ctx.store is None:
            return
        room = min(self.cfg.max_file_bytes - o.kept, self.cfg.max_connection_bytes - self.stored_bytes)
        gap = offset - o.kept
        if gap + len(data) > room:
            o.truncated = True
            if gap >= room:
                return
            data = data[: room - gap]
        if o.writer is None:
            if sum(1 for x in self.opens.values() if x.writer is not None) >= MAX_WRITERS:
                o.truncated = True  # each writer holds a temp file open: a few at a time per connection
                return
            o.writer = self.ctx.store.open_writer(max_bytes=self.cfg.max_file_bytes)
        if gap:
            o.out_of_order = True
            for at in range(0, gap, ZERO_CHUNK):  # a sparse write: zeros, a chunk at a time
                o.writer.write(bytes(min(ZERO_CHUNK, gap - at)))
        o.writer.write(data)
        o.kept += gap + len(data)
        self.stored_bytes += gap + len(data)

    def close(self, o: Open) -> None:
        """Close an open; a written file goes into the content store and is logged."""
        self.opens.pop(o.fid, None)
        key = (o.tree.share.name, o.path.lower())
        node = self.known.pop(key, None) if o.delete_on_close else self.known.get(key)
        if node is not None and not node.directory:
            node.size = o.size
        if o.writer is None:
            return
        writer, o.writer = o.writer, None
        blob = writer.commit()
        self.uploads += 1
        self.conn.extra["uploads"] = self.uploads
        self.emit(
            "smb.session.file_upload",
            sha256=blob.sha256,
            extra={
                "share": o.tree.share.name,
                "path": o.path,
                "size": o.size,
                "stored": blob.size,
                "truncated": o.truncated or blob.truncated,
                "out_of_order": o.out_of_order,
            },
        )

    def close_all(self) -> None:
        """At the end of the connection: what a worm wrote and never closed is kept too."""
        for o in list(self.opens.values()):
            self.close(o)
        self.conn.extra.setdefault("opens", self.opens_total)


def matching(entries: list[tuple[str, bool, int]], mask: str) -> list[tuple[str, bool, int]]:
    """``.``, ``..`` and the entries whose name matches a Windows search mask (``*``, ``?``)."""
    low = mask.lower()
    every = [(".", True, 0), ("..", True, 0), *entries]
    return [e for e in every if low in ("*", "*.*") or fnmatch.fnmatchcase(e[0].lower(), low)]


def stable_id(*parts: str) -> int:
    """A 64-bit id that is the same for the same inputs (e.g. a file id per path)."""
    return int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest()[:8], "little")
