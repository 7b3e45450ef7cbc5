# SPDX-License-Identifier: MIT
"""LIST, NLST, RETR and the uploads (STOR, APPE, STOU) of the FTP trap, over the passive channel.

Uploads stream into the content store (``max_upload_bytes`` kept, the rest cut off) and are
logged as ``ftp.session.file_upload``; the upload then shows in this session's listings and can be
fetched back (from the store, by its sha256: never by the attacker's name). Every transfer has
a stall timeout (``data_timeout``) and a whole-transfer limit (``max_transfer_time``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from honeyfarm.sensor.traps.ftp.vfs import listing, normalise

if TYPE_CHECKING:
    from honeyfarm.sensor.capture.store import BlobWriter
    from honeyfarm.sensor.traps.ftp.session import FTPSession

CHUNK = 64 * 1024


def _split_list_args(arg: str) -> tuple[str, bool]:
    """``LIST -la dir``: vsftpd drops the options (``-a`` shows dot files) and keeps the path."""
    show_hidden = False
    words = arg.split(" ")
    while words and words[0].startswith("-"):
        show_hidden |= "a" in words[0]
        words.pop(0)
    return " ".join(words), show_hidden


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 2)


async def _send(s: FTPSession, chunks: list[bytes] | None, opening: str, done: str, source: str | None = None) -> str:
    """Accept the data connection, say ``opening``, send ``chunks`` (or the stored file ``source``)."""
    got = await s.data_connection()
    s.drop_passive()
    if isinstance(got, str):
        return await s.say(got)
    _reader, writer = got
    try:
        await s.say(opening)
        try:
            async with asyncio.timeout(s.cfg.max_transfer_time):
                if source is not None:
                    await _send_stored(s, writer, source)
                for chunk in chunks or []:
                    writer.write(chunk)
                    async with asyncio.timeout(s.cfg.data_timeout):
                        await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            await _close(writer)
            return await s.say("426 Failure writing network stream.")
    finally:
        await _close(writer)  # also when the control connection went away meanwhile
    return await s.say(done)


async def _send_stored(s: FTPSession, writer: asyncio.StreamWriter, sha256: str) -> None:
    store = s.trap.ctx.store
    if store is None:
        return
    path = store.path_of(sha256)
    f = await asyncio.to_thread(open, path, "rb")
    try:
        if s.rest:
            await asyncio.to_thread(f.seek, s.rest)
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            writer.write(chunk)
            async with asyncio.timeout(s.cfg.data_timeout):
                await writer.drain()
    finally:
        f.close()


async def cmd_list(s: FTPSession, arg: str) -> str:
    if missing := s.data_missing():
        return await s.say(missing)
    path, hidden = _split_list_args(arg)
    body = listing(s.fs, normalise(s.cwd, path), path, names_only=False, show_hidden=hidden)
    return await _send(s, [body], "150 Here comes the directory listing.", "226 Directory send OK.")


async def cmd_nlst(s: FTPSession, arg: str) -> str:
    if missing := s.data_missing():
        return await s.say(missing)
    path, hidden = _split_list_args(arg)
    body = listing(s.fs, normalise(s.cwd, path), path, names_only=True, show_hidden=hidden)
    return await _send(s, [body], "150 Here comes the directory listing.", "226 Directory send OK.")


async def cmd_retr(s: FTPSession, arg: str) -> str:
    if missing := s.data_missing():
        return await s.say(missing)
    rest, s.rest = s.rest, 0
    node = s.fs.get(normalise(s.cwd, arg))
    if rest and not s.binary:
        return await s.say("550 No support for resume of ASCII transfer.")
    if node is None or node.is_dir or (s.anonymous and node.sha256 is not None):
        # anon_world_readable_only: an anonymous upload (mode 0600) cannot be fetched back
        return await s.say("550 Failed to open file.")
    store = s.trap.ctx.store
    if node.sha256 is not None and (store is None or node.sha256 not in store):
        return await s.say("550 Failed to open file.")
    # ascii_download_enable=NO: always sent as binary, and vsftpd says so even after TYPE A
    opening = f"150 Opening BINARY mode data connection for {arg} ({node.size} bytes)."
    s.rest = rest
    try:
        if node.sha256 is not None:
            return await _send(s, None, opening, "226 Transfer complete.", source=node.sha256)
        return await _send(s, [(node.content or b"")[rest:]], opening, "226 Transfer complete.")
    finally:
        s.rest = 0


async def cmd_stor(s: FTPSession, arg: str) -> str:
    return await _upload(s, normalise(s.cwd, arg), "150 Ok to send data.", append=False)


async def cmd_appe(s: FTPSession, arg: str) -> str:
    if s.anonymous:  # anon_other_write_enable=NO: anonymous users may not append
        return await s.say("550 Permission denied.")
    return await _upload(s, normalise(s.cwd, arg), "150 Ok to send data.", append=True)


async def cmd_stou(s: FTPSession, arg: str) -> str:
    base = normalise(s.cwd, arg or "STOU")
    path = s.fs.unique_name(base)
    name = (arg or "STOU") + path[len(base) :]
    return await _upload(s, path, f"150 FILE: {name}", append=False)


async def _receive(s: FTPSession, reader: asyncio.StreamReader, blob: BlobWriter) -> tuple[bool, str]:
    """Read the upload into ``blob``: (complete, the reply when it is not)."""
    try:
        async with asyncio.timeout(s.cfg.max_transfer_time):
            while True:
                async with asyncio.timeout(s.cfg.data_timeout):
                    chunk = await reader.read(CHUNK)
                if not chunk:
                    return True, ""
                if not blob.write(chunk):
                    return False, "451 Failure writing to local file."
    except (TimeoutError, ConnectionError, OSError):
        return False, "426 Failure reading network stream."


async def _upload(s: FTPSession, path: str, opening: str, append: bool) -> str:
    if missing := s.data_missing():
        return await s.say(missing)
    s.rest = 0
    store = s.trap.ctx.store
    if not s.cfg.allow_upload or store is None or s.uploads >= s.cfg.max_uploads:
        return await s.say("550 Permission denied.")
    if not s.fs.can_create(path):
        return await s.say("553 Could not create file.")
    got = await s.data_connection()
    s.drop_passive()
    if isinstance(got, str):
        return await s.say(got)
    reader, writer = got
    s.uploads += 1
    try:
        await s.say(opening)
        blob = store.open_writer(max_bytes=s.cfg.max_upload_bytes)
        try:
            complete, failure = await _receive(s, reader, blob)
            await _close(writer)  # vsftpd closes the data connection before its 226
            stored = await asyncio.to_thread(blob.commit)
        finally:
            blob.abort()  # a no-op after commit; drops the temp file if the session was cut off
    finally:
        await _close(writer)
    s.log.emit(
        "ftp.session.file_upload",
        sha256=stored.sha256,
        extra={
            "path": path,
            "size": stored.size,
            "truncated": stored.truncated,
            "complete": complete,
            "append": append,
            "kept": stored.kept,
        },
    )
    if stored.kept:
        s.fs.add_upload(path, stored.size, stored.sha256, append)
    return await s.say("226 Transfer complete." if complete else failure)
