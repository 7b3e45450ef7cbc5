# SPDX-License-Identifier: MIT
"""SFTP and SCP uploads, captured and never written where the attacker asked.

asyncssh's :class:`~asyncssh.SFTPServer` maps requests to the host's
filesystem; every method that would touch it is overridden here. Uploaded
bytes go to a capped temp file under the spool, then into the content-addressed
store (sha256 names), and a ``cowrie.session.file_upload`` event records the
virtual path the attacker chose (as text only), the sha256 and the size.
OpenSSH ≥ 9.0's ``scp`` speaks SFTP; the legacy ``scp -O`` protocol is served
by asyncssh's SCP server over the same object.

An upload also lands in the session's fake filesystem (its first bytes, with its full size),
so the shell sees it and, with ``[sensor.persistence]``, so does the address's next login:
a key copied with ``scp key.pub host:.ssh/authorized_keys`` is there when the bot checks.
"""

from __future__ import annotations

import contextlib
import posixpath
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import asyncssh
from asyncssh.connection import SSHServerConnection
from asyncssh.sftp import SFTPAttrs, SFTPName

from honeyfarm.sensor.capture.store import BlobWriter
from honeyfarm.sensor.context import SensorContext, SessionContext
from honeyfarm.sensor.shell.fs.vfs import FSError

# How SFTP finds the logged-in session of its connection; given by the SSH trap, so that this
# module needs nothing of the trap (no import circle between the two).
SessionOf = Callable[[SSHServerConnection], "SessionContext | None"]

_DIR = 0o040755
_FILE = 0o100644


class _Upload:
    def __init__(self, vpath: str, writer: BlobWriter) -> None:
        self.vpath = vpath
        self.writer = writer

    def write(self, offset: int, data: bytes) -> int:
        # Attackers write sequentially; past the cap bytes are acknowledged and dropped.
        self.writer.write(data)
        return len(data)


class HoneySFTPServer(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], ctx: SensorContext, session_of: SessionOf) -> None:
        super().__init__(chan)
        self.ctx = ctx
        self.session = session_of(cast(SSHServerConnection, chan.get_connection()))
        self.fs = ctx.new_fs(self.session) if self.session is not None else None
        self.home = self.session.account.home if self.session is not None else "/"
        self.dirs: set[str] = {"/", "/tmp", "/root", "/home", self.home, "/var", "/var/tmp", "/dev", "/dev/shm"}
        self.files: dict[str, int] = {}
        self.uploads = 0

    # --- paths (virtual, never mapped to the host) ---------------------------
    def _v(self, path: bytes) -> str:
        text = path.decode("utf-8", "replace")[:4096]
        if not text.startswith("/"):
            text = posixpath.join(self.home, text)
        return posixpath.normpath(text).replace("//", "/") or "/"

    def map_path(self, path: bytes) -> bytes:
        return self._v(path).encode()

    def realpath(self, path: bytes) -> bytes:
        return self._v(path).encode()

    def _attrs(self, vpath: str) -> SFTPAttrs:
        now = int(time.time())
        uid = self.session.account.uid if self.session is not None else 0
        if vpath in self.dirs:
            return SFTPAttrs(size=4096, uid=uid, gid=uid, permissions=_DIR, atime=now, mtime=now)
        if vpath in self.files:
            return SFTPAttrs(size=self.files[vpath], uid=uid, gid=uid, permissions=_FILE, atime=now, mtime=now)
        if self.fs is not None:  # what the fake machine holds (base image and kept files)
            with contextlib.suppress(FSError):
                _, node = self.fs.lookup(vpath)
                perms = (0o040000 if node.kind == "d" else 0o100000) | node.mode
                mtime = int(node.mtime)
                return SFTPAttrs(size=node.st_size(), uid=node.uid, gid=node.gid, permissions=perms, atime=mtime,
                                 mtime=mtime)  # fmt: skip
        raise asyncssh.SFTPNoSuchFile("No such file")

    def _is_dir(self, vpath: str) -> bool:
        return vpath in self.dirs or (self.fs is not None and self.fs.is_dir(vpath))

    def stat(self, path: bytes) -> SFTPAttrs:
        return self._attrs(self._v(path))

    def lstat(self, path: bytes) -> SFTPAttrs:
        return self._attrs(self._v(path))

    def fstat(self, file_obj: object) -> SFTPAttrs:
        if isinstance(file_obj, _Upload):
            return SFTPAttrs(size=file_obj.writer.size, permissions=_FILE)
        raise asyncssh.SFTPFailure("Failure")

    def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        self._attrs(self._v(path))

    def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        self._attrs(self._v(path))

    def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None:
        return None

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        vpath = self._v(path)
        self._attrs(vpath)
        for name in (".", ".."):
            yield SFTPName(name.encode(), attrs=self._attrs(vpath))
        prefix = vpath.rstrip("/") + "/"
        for f, size in list(self.files.items()):
            if posixpath.dirname(f) == vpath:
                yield SFTPName(f[len(prefix) :].encode(), attrs=SFTPAttrs(size=size, permissions=_FILE))

    def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        vpath = self._v(path)
        if not self._is_dir(posixpath.dirname(vpath)):
            raise asyncssh.SFTPNoSuchFile("No such file")
        if len(self.dirs) < 1000:
            self.dirs.add(vpath)
            if self.fs is not None:
                with contextlib.suppress(FSError):
                    self.fs.mkdir(vpath, "/", parents=True)

    # --- files ----------------------------------------------------------------
    def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        vpath = self._v(path)
        if not pflags & asyncssh.FXF_WRITE:
            if vpath in self.files or vpath in self.dirs:
                raise asyncssh.SFTPPermissionDenied("Permission denied")
            raise asyncssh.SFTPNoSuchFile("No such file")
        if not self._is_dir(posixpath.dirname(vpath)):
            raise asyncssh.SFTPNoSuchFile("No such file")
        if self.uploads >= 256:
            raise asyncssh.SFTPFailure("Failure")
        self.uploads += 1
        store = self.ctx.store
        if store is None:
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        return _Upload(vpath, store.open_writer(max_bytes=self.ctx.cfg.limits.max_upload_bytes))

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if not isinstance(file_obj, _Upload):
            raise asyncssh.SFTPFailure("Failure")
        return file_obj.write(offset, data)

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        raise asyncssh.SFTPPermissionDenied("Permission denied")

    def close(self, file_obj: object) -> None:
        if not isinstance(file_obj, _Upload):
            return
        blob = file_obj.writer.commit()
        self.files[file_obj.vpath] = blob.size
        if self.fs is not None:
            # e.g. no such directory in the fake tree: the upload is still captured and logged
            with contextlib.suppress(FSError):
                self.fs.write_download(file_obj.vpath, "/", blob.head, blob.size)
        if self.session is not None:
            self.session.emit(
                "cowrie.session.file_upload",
                filename=file_obj.vpath,
                sha256=blob.sha256,
                size=blob.size,
                truncated=blob.truncated or None,
            )

    # Everything else that would reach the host: refused.
    def remove(self, path: bytes) -> None:
        vpath = self._v(path)
        if self.files.pop(vpath, None) is None:
            raise asyncssh.SFTPNoSuchFile("No such file")

    def rmdir(self, path: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("Permission denied")

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        old, new = self._v(oldpath), self._v(newpath)
        if old not in self.files:
            raise asyncssh.SFTPNoSuchFile("No such file")
        self.files[new] = self.files.pop(old)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        self.rename(oldpath, newpath)

    def readlink(self, path: bytes) -> bytes:
        raise asyncssh.SFTPNoSuchFile("No such file")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("Permission denied")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("Permission denied")

    def statvfs(self, path: bytes) -> Any:
        raise asyncssh.SFTPOpUnsupported("statvfs not supported")

    def fstatvfs(self, file_obj: object) -> Any:
        raise asyncssh.SFTPOpUnsupported("fstatvfs not supported")

    def fsync(self, file_obj: object) -> None:
        return None

    def exit(self) -> None:
        # sshd's sftp-server exits 0 when the client closes; scp (SFTP mode) reports an error otherwise.
        # Legacy `scp -O` runs through asyncssh's SCP server, which sends its own status.
        if self.channel.get_subsystem() == "sftp":
            self.channel.exit(0)


def make_sftp_factory(
    ctx: SensorContext, session_of: SessionOf
) -> Callable[[asyncssh.SSHServerChannel[bytes]], HoneySFTPServer]:
    def factory(chan: asyncssh.SSHServerChannel[bytes]) -> HoneySFTPServer:
        return HoneySFTPServer(chan, ctx, session_of)

    return factory
