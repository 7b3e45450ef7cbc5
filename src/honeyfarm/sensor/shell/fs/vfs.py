# SPDX-License-Identifier: MIT
"""The fake shell's filesystem: a read-only Debian tree plus a per-session copy-on-write overlay.

Why a virtual tree and not a chroot: nothing an attacker types may ever name a host path. Paths
here are plain strings normalised with :mod:`posixpath` (``..`` stops at ``/``); no function of
this module opens, stats or lists anything on the host. The base tree is generated from the
:class:`~honeyfarm.sensor.shell.persona.Persona` (so ``/proc/cpuinfo`` agrees with ``lscpu``) and never
changes; a session's writes (redirections, ``mkdir``, downloads...) go to its overlay, whose size
is capped: past the cap writes fail with ``No space left on device`` as on a full disk.
"""

from __future__ import annotations

import posixpath
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from honeyfarm.sensor.model import Account
from honeyfarm.sensor.shell.fs import tree as vfs_tree
from honeyfarm.sensor.shell.fs.node import Node
from honeyfarm.sensor.shell.persona import Persona

__all__ = ["FSError", "Node", "Overlay", "SessionFS", "normpath", "wildcard_match"]

ENOENT = "No such file or directory"
EACCES = "Permission denied"
EISDIR = "Is a directory"
ENOTDIR = "Not a directory"
EEXIST = "File exists"
ENOSPC = "No space left on device"
ENOTEMPTY = "Directory not empty"
EINVAL = "Invalid argument"
ELOOP = "Too many levels of symbolic links"
EBUSY = "Device or resource busy"

ENAMETOOLONG = "File name too long"
MAX_PATH = 4096
MAX_DEPTH = 64  # path components in the overlay: keeps recursive rm/cp shallow
NODE_OVERHEAD = 96  # bytes charged per overlay entry besides its path and data
MAX_GLOB = 4096


_PSEUDO = (("/proc/", ENOENT), ("/sys/", EACCES), ("/dev/pts/", EACCES))


class FSError(Exception):
    """A failed file operation; ``strerror`` is the libc message a real tool would print."""

    def __init__(self, strerror: str) -> None:
        super().__init__(strerror)
        self.strerror = strerror


def normpath(path: str, cwd: str = "/") -> str:
    """Absolute virtual path of ``path`` seen from ``cwd``: pure string work, ``..`` never escapes ``/``."""
    if not path.startswith("/"):
        path = cwd.rstrip("/") + "/" + path
    out = posixpath.normpath(path)
    return "/" + out.lstrip("/")


def _parent(path: str) -> str:
    return posixpath.dirname(path) or "/"


def wildcard_match(pattern: str, name: str) -> bool:
    """Shell glob match of one path component (``*``, ``?``, ``[...]``), linear-ish, no regex cache."""
    p = n = 0
    star_p, star_n = -1, 0
    while n < len(name):
        if p < len(pattern):
            c = pattern[p]
            if c == "*":
                star_p, star_n = p, n
                p += 1
                continue
            if c == "[":
                end = pattern.find("]", p + 2)
                if end != -1:
                    body = pattern[p + 1 : end]
                    neg = body[:1] in ("!", "^")
                    if neg:
                        body = body[1:]
                    if _in_class(body, name[n]) != neg:
                        p, n = end + 1, n + 1
                        continue
                elif name[n] == "[":
                    p, n = p + 1, n + 1
                    continue
            elif c == "?" or c == name[n]:
                p, n = p + 1, n + 1
                continue
        if star_p < 0:
            return False
        star_n += 1
        p, n = star_p + 1, star_n
    return all(c == "*" for c in pattern[p:])


def _in_class(body: str, ch: str) -> bool:
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            if body[i] <= ch <= body[i + 2]:
                return True
            i += 3
        else:
            if body[i] == ch:
                return True
            i += 1
    return False


_Tree = tuple[dict[str, Node], dict[str, list[str]]]
_TREES: weakref.WeakKeyDictionary[Persona, OrderedDict[Account, _Tree]] = weakref.WeakKeyDictionary()


def _base_tree(persona: Persona, account: Account) -> _Tree:
    """The read-only base tree, built once per (persona, account) and shared by sessions.

    Building it costs ~1.5 ms, a large share of a bot's whole session; nodes are frozen and
    sessions only read the two dicts (their changes live in the overlay), so sharing is safe.
    """
    trees = _TREES.setdefault(persona, OrderedDict())
    tree = trees.get(account)
    if tree is None:
        tree = trees[account] = vfs_tree.build(persona, account)
        if len(trees) > 256:
            trees.popitem(last=False)
    else:
        trees.move_to_end(account)
    return tree


class Overlay:
    """The changes on top of the base tree: ``path -> Node`` (``None``: deleted), capped at ``max_bytes``.

    One per session, or — when the sensor keeps an address's files between logins
    (:mod:`honeyfarm.sensor.shell.fs.overlays`) — one shared by every session from that address, as the
    sessions of a real machine share its disk. ``on_change`` is called after every change.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nodes: dict[str, Node | None] = {}
        self.children: dict[str, set[str]] = {}
        self.used = 0
        self.on_change: Callable[[], None] | None = None

    def load(self, nodes: dict[str, Node | None], used: int) -> None:
        """Replace the contents (a restored snapshot); children are derived from the paths."""
        self.nodes = dict(nodes)
        self.children = {}
        for path, node in self.nodes.items():
            if node is not None:
                self.children.setdefault(_parent(path), set()).add(posixpath.basename(path))
        self.used = used

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


class SessionFS:
    """What one session sees: the persona's base tree with this session's changes on top."""

    def __init__(self, persona: Persona, account: Account, *, max_bytes: int, overlay: Overlay | None = None) -> None:
        self.persona = persona
        self.account = account
        self.uid = account.uid
        self.gids = {g for g, _ in persona.groups_of(account)}
        self.overlay = overlay if overlay is not None else Overlay(max_bytes)
        self.max_bytes = self.overlay.max_bytes
        self._base, self._base_children = _base_tree(persona, account)
        self._over = self.overlay.nodes  # None: deleted
        self._over_children = self.overlay.children

    @property
    def used(self) -> int:
        """Bytes charged to the overlay (paths, data, a fixed cost per entry)."""
        return self.overlay.used

    @used.setter
    def used(self, value: int) -> None:
        self.overlay.used = max(0, value)

    # --- lookups -------------------------------------------------------------------------------------------------

    def _get(self, path: str) -> Node | None:
        if path in self._over:
            return self._over[path]
        return self._base.get(path)

    def _can(self, node: Node, bit: int) -> bool:
        if self.uid == 0:
            return not (bit == 1 and node.kind == "f" and not node.mode & 0o111)
        if node.uid == self.uid:
            return bool((node.mode >> 6) & bit)
        if node.gid in self.gids:
            return bool((node.mode >> 3) & bit)
        return bool(node.mode & bit)

    def resolve(self, path: str, cwd: str = "/", *, follow: bool = True) -> str:
        """Canonical path (symlinks followed; the last one only if ``follow``). Checks search permission."""
        path = normpath(path, cwd)
        for _hop in range(40):
            parts = [p for p in path.split("/") if p]
            cur = "/"
            restart = None
            for i, comp in enumerate(parts):
                parent = self._get(cur)
                if parent is None:
                    raise FSError(ENOENT)
                if parent.kind != "d":
                    raise FSError(ENOTDIR)
                if not self._can(parent, 1):
                    raise FSError(EACCES)
                nxt = posixpath.join(cur, comp)
                node = self._get(nxt)
                last = i == len(parts) - 1
                if node is not None and node.kind == "l" and (follow or not last):
                    rest = "/".join(parts[i + 1 :])
                    restart = normpath(posixpath.join(node.target, rest) if rest else node.target, cur)
                    break
                cur = nxt
            if restart is None:
                return cur
            path = restart
        raise FSError(ELOOP)

    def lookup(self, path: str, cwd: str = "/", *, follow: bool = True) -> tuple[str, Node]:
        real = self.resolve(path, cwd, follow=follow)
        node = self._get(real)
        if node is None:
            raise FSError(ENOENT)
        return real, node

    def exists(self, path: str, cwd: str = "/") -> bool:
        try:
            self.lookup(path, cwd)
        except FSError:
            return False
        return True

    def is_dir(self, path: str, cwd: str = "/") -> bool:
        try:
            return self.lookup(path, cwd)[1].kind == "d"
        except FSError:
            return False

    def read(self, path: str, cwd: str = "/") -> bytes:
        real, node = self.lookup(path, cwd)
        if node.kind == "d":
            raise FSError(EISDIR)
        if not self._can(node, 4):
            raise FSError(EACCES)
        if node.kind == "c":
            return vfs_tree.device_read(real)
        return node.content()

    def listdir(self, path: str, cwd: str = "/") -> list[str]:
        real, node = self.lookup(path, cwd)
        if node.kind != "d":
            raise FSError(ENOTDIR)
        if not self._can(node, 4):
            raise FSError(EACCES)
        return self._children(real)

    def _children(self, real: str) -> list[str]:
        names = set(self._base_children.get(real, ()))
        names.update(self._over_children.get(real, ()))
        return sorted(n for n in names if self._get(posixpath.join(real, n)) is not None)

    def is_base(self, real: str) -> bool:
        """True if ``real`` is untouched by this session (an original file of the image)."""
        return real not in self._over and real in self._base

    def can_execute(self, node: Node) -> bool:
        return node.kind == "f" and self._can(node, 1)

    # --- overlay writes ------------------------------------------------------------------------------------------

    def _cost(self, path: str, node: Node | None) -> int:
        if node is None:
            return 0
        data = node.data if isinstance(node.data, bytes) and path not in self._base else b""
        return len(path) + NODE_OVERHEAD + len(data)

    def _set(self, path: str, node: Node | None) -> None:
        if node is not None and path not in self._base:
            comps = path.split("/")
            if len(path) > MAX_PATH or len(comps) > MAX_DEPTH or max(len(c) for c in comps) > 255:
                raise FSError(ENAMETOOLONG)
        old = self._over.get(path)
        delta = self._cost(path, node) - (self._cost(path, old) if path in self._over else 0)
        if delta > 0 and self.used + delta > self.max_bytes:
            raise FSError(ENOSPC)
        self.used += delta
        if node is None and path not in self._base:
            self._over.pop(path, None)
            self._over_children.get(_parent(path), set()).discard(posixpath.basename(path))
        else:
            self._over[path] = node
            self._over_children.setdefault(_parent(path), set()).add(posixpath.basename(path))
        self.overlay.changed()

    def _writable_parent(self, real: str) -> None:
        # Kernel filesystems take no new entries, even from root: proc says ENOENT, sysfs and devpts EACCES
        # (`echo x > /proc/.x`, `> /dev/pts/.x`: probes that tell a honeypot's plain directories apart).
        for top, err in _PSEUDO:
            if real.startswith(top):
                raise FSError(err)
        parent = self._get(_parent(real))
        if parent is None:
            raise FSError(ENOENT)
        if parent.kind != "d":
            raise FSError(ENOTDIR)
        if not self._can(parent, 2):
            raise FSError(EACCES)

    def _target(self, path: str, cwd: str) -> tuple[str, Node | None]:
        """Where a write to ``path`` lands (following a final symlink) and what is there now."""
        real = self.resolve(path, cwd, follow=True)
        return real, self._get(real)

    def write(self, path: str, cwd: str, data: bytes, *, append: bool = False) -> None:
        real, node = self._target(path, cwd)
        if node is not None and node.kind == "c":
            return  # /dev/null and friends swallow everything
        if node is not None and node.kind == "d":
            raise FSError(EISDIR)
        now = self.persona.now()
        if node is None:
            self._writable_parent(real)
            self._set(real, Node("f", 0o644, self.uid, self.account.gid, now, data))
            return
        if not self._can(node, 2):
            raise FSError(EACCES)
        old = node.content() if append else b""
        self._set(real, replace(node, data=old + data, size=None, mtime=now))

    def write_download(self, path: str, cwd: str, head: bytes, size: int) -> str:
        """Store the first bytes of a fetched file, remembering its full size. Returns the path written."""
        real, node = self._target(path, cwd)
        if node is not None and node.kind == "d":
            raise FSError(EISDIR)
        if node is None:
            self._writable_parent(real)
        elif not self._can(node, 2):
            raise FSError(EACCES)
        mode = node.mode if node is not None else 0o644
        self._set(
            real, Node("f", mode, self.uid, self.account.gid, self.persona.now(), head, size=max(size, len(head)))
        )
        return real

    def touch(self, path: str, cwd: str) -> None:
        real, node = self._target(path, cwd)
        if node is None:
            self.write(path, cwd, b"")
        elif self._can(node, 2) or node.uid == self.uid:
            self._set(real, replace(node, mtime=self.persona.now()))
        else:
            raise FSError(EACCES)

    def mkdir(self, path: str, cwd: str = "/", *, parents: bool = False) -> None:
        real = normpath(path, cwd)
        if parents:
            cur = ""
            for comp in [p for p in real.split("/") if p]:
                cur += "/" + comp
                if not self.is_dir(cur):
                    self.mkdir(cur)
            return
        parent = self.resolve(_parent(real))
        real = posixpath.join(parent, posixpath.basename(real)) if real != "/" else "/"
        if self._get(real) is not None:
            raise FSError(EEXIST)
        self._writable_parent(real)
        self._set(real, Node("d", 0o755, self.uid, self.account.gid, self.persona.now()))

    def remove(self, path: str, cwd: str = "/", *, recursive: bool = False) -> None:
        real, node = self.lookup(path, cwd, follow=False)
        if real == "/":
            raise FSError(EBUSY)
        if node.kind == "d":
            if not recursive:
                raise FSError(EISDIR)
            for name in self._children(real):
                self.remove(posixpath.join(real, name), "/", recursive=True)
        self._writable_parent(real)
        self._set(real, None)

    def rmdir(self, path: str, cwd: str = "/") -> None:
        real, node = self.lookup(path, cwd, follow=False)
        if node.kind != "d":
            raise FSError(ENOTDIR)
        if self._children(real):
            raise FSError(ENOTEMPTY)
        self._writable_parent(real)
        self._set(real, None)

    def chmod(self, path: str, cwd: str, mode: int) -> None:
        real, node = self.lookup(path, cwd)
        if self.uid not in (0, node.uid):
            raise FSError("Operation not permitted")
        self._set(real, replace(node, mode=mode & 0o7777))

    def copy(self, src: str, dst: str, cwd: str) -> str:
        """Copy a file (directories: recursively). ``dst`` may be an existing directory. Returns the target."""
        real, node = self.lookup(src, cwd)
        if not self._can(node, 4):
            raise FSError(EACCES)
        target = normpath(dst, cwd)
        if self.is_dir(target):
            target = posixpath.join(self.resolve(target), posixpath.basename(real))
        if node.kind == "d":
            if target == real or target.startswith(real.rstrip("/") + "/"):
                raise FSError(EINVAL)  # a directory into itself
            if not self.is_dir(target):
                self.mkdir(target)
            for name in self._children(real):
                self.copy(posixpath.join(real, name), posixpath.join(target, name), "/")
            return target
        data = vfs_tree.device_read(real) if node.kind == "c" else node.content()
        if node.size is not None and not callable(node.data):
            self.write_download(target, "/", data, node.size)
        else:
            self.write(target, "/", data)
        _, new = self.lookup(target)
        self._set(self.resolve(target), replace(new, mode=node.mode))
        return target

    def move(self, src: str, dst: str, cwd: str) -> str:
        real, _node = self.lookup(src, cwd, follow=False)
        target = self.copy(src, dst, cwd)
        if self.resolve(target) != real:
            self.remove(real, "/", recursive=True)
        return target

    # --- globbing ------------------------------------------------------------------------------------------------

    def glob(self, pattern: str, cwd: str) -> list[str]:
        """Expand ``pattern`` (``*``, ``?``, ``[..]`` per component) as bash would, sorted; [] if no match."""
        absolute = pattern.startswith("/")
        comps = [c for c in pattern.split("/") if c]
        found: list[str] = ["/" if absolute else ""]
        for comp in comps:
            nxt: list[str] = []
            for base in found:
                if any(ch in comp for ch in "*?[") and len(comp) <= 255:
                    try:
                        names = self.listdir(base or ".", cwd)
                    except FSError:
                        continue
                    for name in names:
                        if name.startswith(".") and not comp.startswith("."):
                            continue
                        if wildcard_match(comp, name):
                            nxt.append(posixpath.join(base, name) if base else name)
                else:
                    cand = posixpath.join(base, comp) if base else comp
                    if self._get_quiet(cand, cwd):
                        nxt.append(cand)
                if len(nxt) > MAX_GLOB:
                    break
            found = nxt[:MAX_GLOB]
        return sorted(found)

    def _get_quiet(self, path: str, cwd: str) -> bool:
        try:
            self.lookup(path, cwd, follow=False)
        except FSError:
            return False
        return True
