# SPDX-License-Identifier: MIT
"""The FTP trap's virtual filesystem: the configured files, plus what this session uploaded.

Nothing here touches the host's filesystem: paths are strings normalised inside a virtual
root (``..`` never leaves ``/``), contents of the persona's files are held in memory, and an
upload is only a name pointing at its sha256 in the content store. Listings are formatted as
vsftpd's ``ls.c`` does (numeric uid/gid, ``%b %d %H:%M`` within six months, else ``%b %d  %Y``).
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass

MAX_PATH = 4096  # vsftpd's VSFTP_MAX_COMMAND_LINE bounds every path it sees
SIX_MONTHS = 182 * 86400


@dataclass
class Node:
    name: str
    is_dir: bool
    size: int = 0
    mtime: float = 0.0
    content: bytes | None = None  # persona file
    sha256: str | None = None  # uploaded in this session (content in the store)
    uid: int = 0
    gid: int = 0
    mode: str = ""  # "" = the default for its kind


def normalise(cwd: str, arg: str) -> str:
    """``arg`` (absolute or relative to ``cwd``) as an absolute virtual path; ``..`` stops at ``/``."""
    arg = arg[:MAX_PATH]
    path = posixpath.normpath(posixpath.join(cwd, arg) if arg else cwd)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    return "/" + "/".join(parts)


class VirtualFS:
    """One session's view: shared persona files (read-only) and its own uploads."""

    def __init__(self, files: dict[str, bytes], mtime: float, owner: tuple[int, int] = (0, 0)) -> None:
        self.nodes: dict[str, Node] = {"/": Node("/", True, 4096, mtime)}
        for raw, content in files.items():
            path = normalise("/", raw)
            if path == "/":
                continue
            self._mkdirs(posixpath.dirname(path), mtime)
            self.nodes[path] = Node(posixpath.basename(path), False, len(content), mtime, content=content)
        self.owner = owner  # uid, gid of the files this session uploads

    def _mkdirs(self, path: str, mtime: float) -> None:
        while path != "/" and path not in self.nodes:
            self.nodes[path] = Node(posixpath.basename(path), True, 4096, mtime)
            path = posixpath.dirname(path)

    def get(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def is_dir(self, path: str) -> bool:
        node = self.nodes.get(path)
        return node is not None and node.is_dir

    def children(self, path: str) -> list[Node]:
        out = [n for p, n in self.nodes.items() if p != "/" and posixpath.dirname(p) == path]
        return sorted(out, key=lambda n: n.name)

    def add_upload(self, path: str, size: int, sha256: str, append: bool) -> None:
        """Record an upload (directory must exist: the caller checked)."""
        # APPE's blob holds only the appended bytes: the listing shows what the store has.
        uid, gid = self.owner
        name = posixpath.basename(path)
        # vsftpd's default umask (anon_umask, local_umask) is 077
        self.nodes[path] = Node(name, False, size, time.time(), sha256=sha256, uid=uid, gid=gid, mode="-rw-------")

    def can_create(self, path: str) -> bool:
        parent = posixpath.dirname(path)
        node = self.nodes.get(path)
        return path != "/" and self.is_dir(parent) and (node is None or not node.is_dir)

    def unique_name(self, base: str) -> str:
        """STOU's name: vsftpd tries the name itself (``STOU`` without an argument), then
        ``<name>.1``, ``<name>.2`` ... until one is free."""
        for i in range(0, 1000):
            path = base if i == 0 else f"{base}.{i}"
            if path not in self.nodes:
                return path
        return f"{base}.{int(time.time())}"

    def nlink(self, node: Node, path: str) -> int:
        """As a real directory: 2, plus one per subdirectory (their ``..``)."""
        if not node.is_dir:
            return 1
        return 2 + sum(1 for n in self.children(path) if n.is_dir)


def ls_line(node: Node, nlink: int, now: float, name: str | None = None) -> str:
    perms = node.mode or ("drwxr-xr-x" if node.is_dir else "-rw-r--r--")
    t = time.gmtime(node.mtime)
    when = time.strftime("%b %d %H:%M", t) if abs(now - node.mtime) < SIX_MONTHS else time.strftime("%b %d  %Y", t)
    size = f"{node.uid:<8d} {node.gid:<8d} {node.size:8d}"
    return f"{perms} {nlink:4d} {size} {when} {node.name if name is None else name}\r\n"


def listing(fs: VirtualFS, path: str, shown: str, names_only: bool, show_hidden: bool = False) -> bytes:
    """LIST / NLST output for ``path`` (a directory's entries, or the file itself); ``shown`` is
    the path as the client typed it, which vsftpd's NLST puts before each name."""
    node = fs.get(path)
    if node is None:
        return b""  # vsftpd sends an empty listing for a missing path
    now = time.time()
    if not node.is_dir:
        if names_only:
            return f"{shown}\r\n".encode("utf-8", "surrogateescape")
        return ls_line(node, 1, now).encode("utf-8", "surrogateescape")
    entries = [(n.name, n, f"{path.rstrip('/')}/{n.name}") for n in fs.children(path)]
    if show_hidden:
        parent = posixpath.dirname(path)
        entries = [(".", node, path), ("..", fs.nodes[parent], parent), *entries]
    else:
        entries = [e for e in entries if not e[0].startswith(".")]
    if names_only:
        prefix = f"{shown.rstrip('/')}/" if shown else ""
        return "".join(f"{prefix}{name}\r\n" for name, _, _ in entries).encode("utf-8", "surrogateescape")
    lines = (ls_line(n, fs.nlink(n, p), now, name) for name, n, p in entries)
    return "".join(lines).encode("utf-8", "surrogateescape")
