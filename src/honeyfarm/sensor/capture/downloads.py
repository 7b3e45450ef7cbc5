# SPDX-License-Identifier: MIT
"""Malware download capture: fetch what an attacker's wget/curl/tftp/ftpget names.

Everything about the URL is hostile: :class:`Downloader` never raises for bad
input (failures are ``FetchResult(ok=False, reason=...)``) and holds each fetch
to an overall and a connect timeout, a size cap (bytes read so far are kept,
``truncated=True``), a concurrency cap with a bounded wait queue, and an
address policy checked for every connection.

Address policy: a target is refused when *any* address its host resolves to is
loopback or unspecified (unless ``allow_loopback``) or private, link-local,
unique-local, CGNAT, multicast, reserved or otherwise not global (unless
``allow_private``). IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 IPv6 addresses
are judged by the IPv4 address inside. For http(s) the check sits in the
connector's resolver (:class:`GuardedResolver`), so the address checked is the
address connected to (no DNS-rebinding window); IP-literal hosts, which aiohttp
does not resolve, are checked before each request, and so is every redirect
hop. TFTP and FTP resolve once, check, and connect to the checked address
(FTP's passive data connection goes to the control connection's peer, never to
the address in the PASV reply).

Content is streamed to a :class:`~honeyfarm.sensor.capture.store.ContentStore` (layout
and quota described there); only the first 64 KiB stay in memory (``head``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ftplib
import socket
import threading
from typing import Any
from urllib.parse import SplitResult, unquote, unquote_to_bytes, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from honeyfarm.sensor.capture.netpolicy import AddressPolicy, BlockedAddress, _clip
from honeyfarm.sensor.capture.store import BlobWriter, ContentStore
from honeyfarm.sensor.config import DownloadsConfig
from honeyfarm.sensor.model import FetchResult

__all__ = ["MAX_URL_LENGTH", "MAX_WAITING", "AddressPolicy", "BlockedAddress", "ContentStore", "Downloader"]

MAX_URL_LENGTH = 4096
MAX_WAITING = 64  # fetches queued behind max_concurrent; more fail at once with "busy"
CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTTP_SCHEMES = frozenset({"http", "https"})
_TFTP_BLOCK = 512


class _Refused(Exception):
    """Ends a fetch with ``ok=False`` and this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses hosts resolving to any address the policy forbids."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await self._inner.resolve(host, port, family)
        for info in infos:
            reason = self._policy.check(info["host"])
            if reason is not None:
                raise BlockedAddress(reason)
        return infos

    async def close(self) -> None:
        await self._inner.close()


class _TftpProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue(maxsize=256)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait((data, addr))


class _PeerOnlyFTP(ftplib.FTP):
    """Passive data connections go to the control connection's peer (the checked address),
    whatever host a hostile PASV reply names."""

    def makepasv(self) -> tuple[str, int]:
        _untrusted, port = super().makepasv()
        if self.sock is None:
            raise ftplib.error_proto("not connected")
        return str(self.sock.getpeername()[0]), port


class Downloader:
    """Fetches http(s)/tftp/ftp URLs into a :class:`ContentStore` under the limits of ``cfg``."""

    tftp_retry_timeout = 1.0  # seconds before a TFTP packet is sent again (capped by connect_timeout)
    tftp_retries = 5

    def __init__(self, cfg: DownloadsConfig, store: ContentStore) -> None:
        self.cfg = cfg
        self.store = store
        self.policy = AddressPolicy(allow_loopback=cfg.allow_loopback, allow_private=cfg.allow_private)
        self._sem = asyncio.Semaphore(cfg.max_concurrent)
        self._waiting = 0
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # -- public API -------------------------------------------------------------

    async def fetch(self, url: str) -> FetchResult:
        """Download ``url``; never raises for bad input or a failed download."""
        shown = url[:MAX_URL_LENGTH] if isinstance(url, str) else _clip(repr(url), MAX_URL_LENGTH)
        try:
            return await self._fetch(url)
        except _Refused as exc:
            return FetchResult(url=shown, ok=False, reason=exc.reason)
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a bug or an unforeseen input must not kill the session
            return FetchResult(url=shown, ok=False, reason=f"internal error: {type(exc).__name__}")

    async def aclose(self) -> None:
        """Close the HTTP session; later fetches fail with "downloader closed"."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> Downloader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- dispatch and limits ------------------------------------------------------

    async def _fetch(self, url: str) -> FetchResult:
        if not isinstance(url, str):
            raise _Refused("invalid URL")
        if not self.cfg.enabled:
            raise _Refused("downloads disabled")
        if self._closed:
            raise _Refused("downloader closed")
        if len(url) > MAX_URL_LENGTH:
            raise _Refused(f"URL too long ({len(url)} > {MAX_URL_LENGTH} characters)")
        scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
        handlers = {"http": self._http, "https": self._http, "tftp": self._tftp, "ftp": self._ftp}
        handler = handlers.get(scheme)
        if handler is None:
            raise _Refused("unsupported scheme")
        if self._sem.locked() and self._waiting >= MAX_WAITING:
            raise _Refused("busy")
        self._waiting += 1
        try:
            await self._sem.acquire()
        finally:
            self._waiting -= 1
        try:
            deadline = asyncio.timeout(self.cfg.timeout)
            try:
                async with deadline:
                    return await handler(url)
            except TimeoutError:
                if deadline.expired():
                    raise _Refused(f"timeout after {self.cfg.timeout:g} s") from None
                raise _Refused("connect timeout") from None
        finally:
            self._sem.release()

    async def _commit(self, url: str, w: BlobWriter, content_type: str | None, note: str | None) -> FetchResult:
        blob = await asyncio.to_thread(w.commit)
        if not blob.kept:
            note = "; ".join(x for x in (note, "not stored: larger than the store quota") if x)
        return FetchResult(
            url=url,
            ok=True,
            sha256=blob.sha256,
            size=blob.size,
            reason=note,
            truncated=blob.truncated,
            content_type=content_type,
            head=blob.head,
        )

    async def _resolve(self, host: str | None, port: int, socktype: int) -> tuple[int, Any]:
        """Resolve for TFTP/FTP, refuse if any address is blocked; ``(family, sockaddr)`` to use."""
        if not host:
            raise _Refused("invalid URL: no host")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.cfg.connect_timeout):
                infos = await loop.getaddrinfo(host, port, type=socktype)
        except TimeoutError:
            raise _Refused(f"DNS timeout for {_clip(host)}") from None
        except (OSError, UnicodeError, ValueError):
            raise _Refused(f"DNS resolution failed for {_clip(host)}") from None
        if not infos:
            raise _Refused(f"DNS resolution failed for {_clip(host)}")
        for _family, _type, _proto, _canon, sockaddr in infos:
            reason = self.policy.check(str(sockaddr[0]))
            if reason is not None:
                raise _Refused(reason)
        family, _type, _proto, _canon, sockaddr = infos[0]
        return int(family), sockaddr

    # -- HTTP(S) ------------------------------------------------------------------

    def _http_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy),
                ssl=False,  # malware hosts use self-signed certificates
                use_dns_cache=False,
                force_close=True,
                limit=self.cfg.max_concurrent,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,
                headers={"User-Agent": self.cfg.user_agent, "Accept": "*/*", "Accept-Encoding": "identity"},
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self.cfg.connect_timeout, sock_connect=self.cfg.connect_timeout
                ),
            )
        return self._session

    def _check_http_url(self, url: URL) -> None:
        if url.scheme not in _HTTP_SCHEMES:
            raise _Refused(f"unsupported scheme {_clip(url.scheme)!r}")
        if not url.host or not url.raw_host:
            raise _Refused("invalid URL: no host")
        for host in {url.host, url.raw_host}:
            reason = self.policy.check_literal(host)
            if reason is not None:
                raise _Refused(reason)

    async def _http(self, url: str) -> FetchResult:
        try:
            current = URL(url)
        except (ValueError, TypeError):
            raise _Refused("invalid URL") from None
        session = self._http_session()
        hops = 0
        while True:
            self._check_http_url(current)
            try:
                async with session.get(current, allow_redirects=False) as resp:
                    location = resp.headers.get("Location")
                    if resp.status in _REDIRECTS and location:
                        if hops >= self.cfg.max_redirects:
                            raise _Refused(f"too many redirects (more than {self.cfg.max_redirects})")
                        try:
                            nxt = current.join(URL(location))
                        except (ValueError, TypeError):
                            raise _Refused(f"invalid redirect location {_clip(location)}") from None
                        if nxt.scheme not in _HTTP_SCHEMES:
                            raise _Refused(f"redirect to unsupported scheme {_clip(nxt.scheme)!r}")
                        hops += 1
                        current = nxt
                        continue
                    if resp.status >= 400:
                        raise _Refused(f"HTTP {resp.status}")
                    note = f"redirected {hops}x to {_clip(str(current), 1024)}" if hops else None
                    content_type = resp.headers.get("Content-Type")
                    with self.store.open_writer(self.cfg.max_file_bytes) as w:
                        async for chunk in resp.content.iter_chunked(CHUNK):
                            if not w.write(chunk):
                                break
                        return await self._commit(url, w, _clip(content_type) if content_type else None, note)
            except aiohttp.ClientError as exc:
                raise _Refused(_client_error_reason(exc)) from None

    # -- TFTP (RFC 1350, octet mode) ------------------------------------------------

    async def _tftp(self, url: str) -> FetchResult:
        parts, port = _split(url, 69)
        name = unquote_to_bytes(parts.path).split(b";", 1)[0]  # RFC 3617 ";mode=" suffix ignored
        name = name[1:] if name.startswith(b"/") else name
        if not name or b"\0" in name or len(name) > 255:
            raise _Refused("invalid TFTP file name")
        family, server = await self._resolve(parts.hostname, port, socket.SOCK_DGRAM)
        loop = asyncio.get_running_loop()
        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        try:
            async with asyncio.timeout(self.cfg.connect_timeout):
                transport, proto = await loop.create_datagram_endpoint(_TftpProtocol, local_addr=local, family=family)
        except (OSError, TimeoutError) as exc:
            raise _Refused(f"TFTP socket error: {_clip(exc)}") from None
        try:
            with self.store.open_writer(self.cfg.max_file_bytes) as w:
                await self._tftp_transfer(transport, proto, server, name, w)
                return await self._commit(url, w, None, None)
        finally:
            transport.close()

    async def _tftp_transfer(
        self, transport: asyncio.DatagramTransport, proto: _TftpProtocol, server: Any, name: bytes, w: BlobWriter
    ) -> None:
        rto = min(self.tftp_retry_timeout, self.cfg.connect_timeout)
        last = b"\x00\x01" + name + b"\x00octet\x00"  # RRQ
        peer: Any = server  # becomes the server's transfer ID (its new port) on the first reply
        tid_known = False
        expected = 1
        retries = 0
        transport.sendto(last, server)
        while True:
            try:
                async with asyncio.timeout(rto):
                    data, src = await proto.queue.get()
            except TimeoutError:
                retries += 1
                if retries > self.tftp_retries:
                    raise _Refused("TFTP timeout") from None
                transport.sendto(last, peer)
                continue
            if src[0] != server[0] or len(data) < 4:
                continue
            if not tid_known:
                peer, tid_known = src, True
            elif src[1] != peer[1]:
                transport.sendto(b"\x00\x05\x00\x05unknown transfer ID\x00", src)
                continue
            opcode = int.from_bytes(data[:2], "big")
            if opcode == 5:
                code = int.from_bytes(data[2:4], "big")
                msg = data[4:].split(b"\x00", 1)[0].decode("latin-1")
                raise _Refused(f"TFTP error {code}: {_clip(msg)}")
            if opcode != 3:
                continue
            block = data[2:4]
            payload = data[4:]
            if len(payload) > _TFTP_BLOCK:
                raise _Refused("TFTP protocol error: oversized block")
            if int.from_bytes(block, "big") == expected & 0xFFFF:
                retries = 0
                if not w.write(payload):
                    transport.sendto(b"\x00\x05\x00\x00size limit reached\x00", peer)
                    return
                last = b"\x00\x04" + block
                transport.sendto(last, peer)
                if len(payload) < _TFTP_BLOCK:
                    return
                expected += 1
            elif int.from_bytes(block, "big") == (expected - 1) & 0xFFFF:
                transport.sendto(last, peer)  # our ACK was lost: repeat it

    # -- FTP ----------------------------------------------------------------------

    async def _ftp(self, url: str) -> FetchResult:
        parts, port = _split(url, 21)
        user = unquote(parts.username) if parts.username else "anonymous"
        password = unquote(parts.password) if parts.password is not None else ""
        path = unquote(parts.path)
        path = path[1:] if path.startswith("/") else path
        if path.lower().endswith((";type=i", ";type=a", ";type=d")):
            path = path[:-7]
        fields = (user, password, path)
        if not path or any(c in f for f in fields for c in "\r\n\0") or any(len(f) > 1024 for f in fields):
            raise _Refused("invalid FTP URL")
        _family, server = await self._resolve(parts.hostname, port, socket.SOCK_STREAM)
        stop = threading.Event()
        socks: list[socket.socket] = []
        timeout = self.cfg.connect_timeout

        def worker(w: BlobWriter) -> None:  # in a thread; every blocking call has a socket timeout
            ftp = _PeerOnlyFTP(timeout=timeout)
            try:
                ftp.connect(str(server[0]), port, timeout=timeout)
                socks.extend([ftp.sock] if ftp.sock is not None else [])
                ftp.login(user, password)
                ftp.set_pasv(True)
                ftp.voidcmd("TYPE I")
                with ftp.transfercmd("RETR " + path) as conn:
                    socks.append(conn)
                    conn.settimeout(timeout)
                    while not stop.is_set():
                        data = conn.recv(CHUNK)
                        if not data or not w.write(data):
                            break
                if not w.truncated and not stop.is_set():
                    ftp.voidresp()
            except ftplib.error_perm as exc:
                raise _Refused(f"FTP error: {_clip(str(exc).strip())}") from None
            except (ftplib.Error, OSError, EOFError) as exc:
                raise _Refused(f"FTP failed: {_clip(str(exc).strip() or type(exc).__name__)}") from None
            finally:
                ftp.close()

        with self.store.open_writer(self.cfg.max_file_bytes) as w:
            try:
                await asyncio.to_thread(worker, w)
            except BaseException:
                stop.set()
                for s in list(socks):  # unblock the worker thread's recv()
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                w.abort()
                raise
            return await self._commit(url, w, None, None)


def _split(url: str, default_port: int) -> tuple[SplitResult, int]:
    try:
        parts = urlsplit(url)
        return parts, parts.port or default_port
    except ValueError:
        raise _Refused("invalid URL") from None


def _client_error_reason(exc: BaseException) -> str:
    e: BaseException | None = exc
    for _ in range(8):  # aiohttp wraps our resolver's BlockedAddress
        if e is None or isinstance(e, BlockedAddress):
            break
        e = e.__cause__ or e.__context__
    if isinstance(e, BlockedAddress):
        return e.reason
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNS resolution failed"
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return "connect timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {_clip(exc.os_error.strerror or type(exc.os_error).__name__)}"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return "connection lost"
    return f"HTTP client error: {type(exc).__name__}"
