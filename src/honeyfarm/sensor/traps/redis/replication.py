# SPDX-License-Identifier: MIT
"""The replica side of SLAVEOF/REPLICAOF: fetch what the attacker's 'master' pushes.

A rogue master answers the replica handshake with ``+FULLRESYNC`` and sends a shared object
(a Redis module that adds ``system.exec``) where an RDB file should be; the attacker then runs
``MODULE LOAD`` on the file the replica wrote. Here the handshake is the one redis 7.0 sends
(``PING``, ``REPLCONF listening-port``, ``REPLCONF capa eof capa psync2``, ``PSYNC <replid>
<offset>``), the payload (``$<len>`` or the diskless ``$EOF:<mark>`` form) is streamed into the
content store, capped, and nothing of it is ever loaded.

The master address is attacker input: it goes through the download address policy (the same
:class:`~honeyfarm.sensor.capture.netpolicy.AddressPolicy` and ``[sensor.downloads]`` switches as
the downloader), resolved once, checked, and connected to by the checked address.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass

from honeyfarm.sensor.capture.netpolicy import AddressPolicy
from honeyfarm.sensor.capture.store import ContentStore, StoredBlob
from honeyfarm.sensor.traps.redis.config import RedisConfig

MAX_LINE = 1024
MAX_KEEPALIVES = 100_000  # newlines a master may send while it 'prepares' the RDB
CHUNK = 64 * 1024
EOF_MARK_LEN = 40


class ReplicationError(Exception):
    """Why no payload was captured (the reason of ``redis.replication.failed``)."""


@dataclass
class Payload:
    blob: StoredBlob
    declared: int | None  # the $<len> the master announced (None: EOF-marked)
    replid: str
    kind: str  # "elf" (a module), "rdb", "other"
    address: str
    complete: bool


def command(*parts: str | int) -> bytes:
    enc = [str(p).encode() for p in parts]
    return b"*%d\r\n" % len(enc) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in enc)


async def resolve_checked(host: str, port: int, policy: AddressPolicy) -> str:
    """The first address of ``host`` if every address it resolves to is allowed."""
    reason = policy.check_literal(host)
    if reason is not None:
        raise ReplicationError(reason)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ReplicationError(f"resolve: {type(exc).__name__}") from None
    addrs = [str(i[4][0]) for i in infos]
    if not addrs:
        raise ReplicationError("resolve: no address")
    for a in addrs:
        reason = policy.check(a)
        if reason is not None:
            raise ReplicationError(reason)
    return addrs[0]


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        raw = await reader.readuntil(b"\n")
        if len(raw) > MAX_LINE:
            raise ReplicationError("line too long")
    except asyncio.IncompleteReadError:
        raise ReplicationError("master closed the connection") from None
    except asyncio.LimitOverrunError:
        raise ReplicationError("line too long") from None
    return raw.rstrip(b"\r\n")


async def _reply(reader: asyncio.StreamReader) -> bytes:
    """The next non-empty line (masters send bare newlines as keepalives)."""
    for _ in range(MAX_KEEPALIVES):
        line = await _line(reader)
        if line:
            return line
    raise ReplicationError("only keepalives")


def _kind(head: bytes) -> str:
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head.startswith(b"REDIS"):
        return "rdb"
    return "other"


async def fetch(
    cfg: RedisConfig, policy: AddressPolicy, store: ContentStore, host: str, port: int, my_port: int, replid: str
) -> Payload:
    """Handshake with ``host:port`` as a 7.0 replica and store its full-resync payload."""
    address = await resolve_checked(host, port, policy)
    try:
        async with asyncio.timeout(cfg.replication_connect_timeout):
            reader, writer = await asyncio.open_connection(address, port, limit=CHUNK)
    except (OSError, TimeoutError) as exc:
        raise ReplicationError(f"connect: {type(exc).__name__}: {exc}"[:200]) from None
    try:
        writer.write(command("PING"))
        await _reply(reader)  # +PONG, or -NOAUTH: redis carries on either way
        writer.write(
            command("REPLCONF", "listening-port", my_port) + command("REPLCONF", "capa", "eof", "capa", "psync2")
        )
        await _reply(reader)
        await _reply(reader)
        writer.write(command("PSYNC", replid, 1))
        answer = await _reply(reader)
        if answer.startswith(b"+CONTINUE"):
            raise ReplicationError("master offered a partial resync (no payload)")
        if not answer.startswith(b"+FULLRESYNC"):
            raise ReplicationError(f"unexpected PSYNC reply {answer[:80]!r}")
        parts = answer.split()
        master_replid = parts[1].decode("latin-1")[:40] if len(parts) > 1 else ""
        header = await _reply(reader)
        if not header.startswith(b"$"):
            raise ReplicationError(f"unexpected payload header {header[:80]!r}")
        blob, declared, complete = await _payload(cfg, store, reader, header)
        return Payload(blob, declared, master_replid, _kind(blob.head), address, complete)
    finally:
        writer.transport.abort()


async def _payload(
    cfg: RedisConfig, store: ContentStore, reader: asyncio.StreamReader, header: bytes
) -> tuple[StoredBlob, int | None, bool]:
    cap = cfg.max_replication_bytes
    w = store.open_writer(max_bytes=cap)
    complete = True  # False: the master hung up before the end (what came is kept)
    try:
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            if len(mark) != EOF_MARK_LEN:
                raise ReplicationError("bad EOF mark")
            declared = None
            tail = b""
            while True:
                chunk = await reader.read(CHUNK)
                if not chunk:
                    w.write(tail)
                    complete = False
                    break
                data = tail + chunk
                if data.endswith(mark):
                    w.write(data[:-EOF_MARK_LEN])
                    break
                tail = data[-EOF_MARK_LEN:]
                if not w.write(data[:-EOF_MARK_LEN]):
                    break  # past the cap: keep what fits, stop reading
        else:
            try:
                declared = int(header[1:])
            except ValueError:
                raise ReplicationError(f"bad payload length {header[:40]!r}") from None
            if declared < 0:
                raise ReplicationError("negative payload length")
            left = declared
            while left > 0:
                chunk = await reader.read(min(CHUNK, left))
                if not chunk:
                    complete = False
                    break
                left -= len(chunk)
                if not w.write(chunk):
                    break
        return await asyncio.to_thread(w.commit), declared, complete
    finally:
        with contextlib.suppress(Exception):
            w.abort()
