# SPDX-License-Identifier: MIT
"""Malware download capture: the content store and the downloader against real loopback servers.

Every server here is started by the test on 127.0.0.1 (HTTP with aiohttp.web, a
small TFTP server over asyncio UDP, a small FTP server over asyncio streams);
nothing is mocked and nothing leaves the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from honeyfarm.sensor.capture.downloads import MAX_WAITING, AddressPolicy, ContentStore, Downloader
from honeyfarm.sensor.config import DownloadsConfig
from honeyfarm.sensor.model import FetchResult

pytestmark = pytest.mark.timeout(60)

PAYLOAD = bytes(range(256)) * 400 + b"tail"  # 102_404 bytes, several chunks
OTHER = b"\x7fELF" + b"x" * 5000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stream_bytes(n: int) -> bytes:
    """The first n bytes of the endless body served at /big."""
    block = bytes(range(256)) * 64
    return (block * (n // len(block) + 1))[:n]


def make_cfg(**kw: Any) -> DownloadsConfig:
    base: dict[str, Any] = {"allow_loopback": True, "timeout": 5.0, "connect_timeout": 2.0}
    base.update(kw)
    return DownloadsConfig(**base)


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name.startswith(".tmp-")]


def stored_files(root: Path) -> list[Path]:
    return [p for d in root.iterdir() if d.is_dir() for p in d.iterdir()]


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(15):
            return await coro

    return asyncio.run(bounded())


async def with_downloader(
    tmp_path: Path, body: Callable[[Downloader], Awaitable[Any]], *, quota: int = 1 << 30, **kw: Any
) -> Any:
    dl = Downloader(make_cfg(**kw), ContentStore(tmp_path / "store", quota))
    try:
        return await body(dl)
    finally:
        await dl.aclose()


# -- HTTP server ------------------------------------------------------------------


@dataclass
class HttpState:
    base: str = ""
    port: int = 0
    hits: list[str] = field(default_factory=list)
    active: int = 0
    max_active: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def http_server() -> AsyncIterator[HttpState]:
    st = HttpState()

    async def track(request: web.Request) -> None:
        st.hits.append(request.path_qs)

    async def file(request: web.Request) -> web.Response:
        await track(request)
        return web.Response(body=PAYLOAD, content_type="application/octet-stream")

    async def other(request: web.Request) -> web.Response:
        await track(request)
        return web.Response(body=OTHER)

    async def exact(request: web.Request) -> web.Response:
        await track(request)
        return web.Response(body=stream_bytes(int(request.query["n"])))

    async def missing(request: web.Request) -> web.Response:
        await track(request)
        return web.Response(status=404, text="not here")

    async def redirect(request: web.Request) -> web.Response:
        await track(request)
        n = int(request.match_info["n"])
        raise web.HTTPFound("/file" if n == 0 else f"/r/{n - 1}")

    async def redirect_to(request: web.Request) -> web.Response:
        await track(request)
        raise web.HTTPFound(request.query["to"])

    async def big(request: web.Request) -> web.StreamResponse:
        await track(request)
        resp = web.StreamResponse()
        await resp.prepare(request)
        block = bytes(range(256)) * 64
        for _ in range(10_000):  # ~160 MB at most, the client stops long before
            await resp.write(block)
        return resp

    async def slow(request: web.Request) -> web.StreamResponse:
        await track(request)
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"first bytes")
        await asyncio.sleep(30)
        return resp

    async def hold(request: web.Request) -> web.Response:
        await track(request)
        st.active += 1
        st.max_active = max(st.max_active, st.active)
        try:
            await st.release.wait()
            await asyncio.sleep(0.01)
        finally:
            st.active -= 1
        return web.Response(body=b"held " + request.query.get("i", "").encode())

    app = web.Application()
    app.router.add_get("/file", file)
    app.router.add_get("/other", other)
    app.router.add_get("/exact", exact)
    app.router.add_get("/404", missing)
    app.router.add_get("/r/{n}", redirect)
    app.router.add_get("/to", redirect_to)
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/hold", hold)
    runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = runner.addresses
    st.port = int(sockets[0][1])
    st.base = f"http://127.0.0.1:{st.port}"
    try:
        yield st
    finally:
        await runner.cleanup()


# -- TFTP server ------------------------------------------------------------------


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait((data, addr))


@dataclass
class TftpState:
    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    drop_first_rrq: bool = False
    silent: bool = False
    rrqs: int = 0
    errors_received: list[bytes] = field(default_factory=list)


@contextlib.asynccontextmanager
async def tftp_server(files: dict[str, bytes], **opts: Any) -> AsyncIterator[TftpState]:
    st = TftpState(files=files, **opts)
    loop = asyncio.get_running_loop()
    transport, main = await loop.create_datagram_endpoint(_Udp, local_addr=("127.0.0.1", 0))
    st.port = transport.get_extra_info("sockname")[1]
    tasks: set[asyncio.Task[None]] = set()

    async def transfer(name: str, client: Any) -> None:
        t, proto = await loop.create_datagram_endpoint(_Udp, local_addr=("127.0.0.1", 0))  # new TID
        try:
            data = st.files.get(name)
            if data is None:
                t.sendto(b"\x00\x05\x00\x01File not found\x00", client)
                return
            block = 1
            while True:
                chunk = data[(block - 1) * 512 : block * 512]
                packet = b"\x00\x03" + (block & 0xFFFF).to_bytes(2, "big") + chunk
                for _attempt in range(5):
                    t.sendto(packet, client)
                    try:
                        async with asyncio.timeout(0.3):
                            reply, _ = await proto.queue.get()
                    except TimeoutError:
                        continue
                    if reply[:2] == b"\x00\x05":
                        st.errors_received.append(reply)
                        return
                    if reply[:2] == b"\x00\x04" and int.from_bytes(reply[2:4], "big") == block & 0xFFFF:
                        break
                else:
                    return
                if len(chunk) < 512:
                    return
                block += 1
        finally:
            t.close()

    async def serve() -> None:
        while True:
            data, addr = await main.queue.get()
            if data[:2] != b"\x00\x01":
                continue
            st.rrqs += 1
            if st.silent or (st.drop_first_rrq and st.rrqs == 1):
                continue
            name = data[2:].split(b"\x00")[0].decode()
            task = asyncio.create_task(transfer(name, addr))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server_task = asyncio.create_task(serve())
    try:
        yield st
    finally:
        server_task.cancel()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(server_task, *tasks, return_exceptions=True)
        transport.close()
        await asyncio.sleep(0)


# -- FTP server -------------------------------------------------------------------


@dataclass
class FtpState:
    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    pasv_host: str = "127,0,0,1"  # what the PASV reply claims; the client must ignore it
    stall: bool = False  # send a little data, then nothing


DataConn = asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]


def accept_into(fut: DataConn) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def accept(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if fut.done():
            w.close()
        else:
            fut.set_result((r, w))

    return accept


@contextlib.asynccontextmanager
async def ftp_server(files: dict[str, bytes], **opts: Any) -> AsyncIterator[FtpState]:
    st = FtpState(files=files, **opts)
    tasks: set[asyncio.Task[Any]] = set()

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        data_conn: DataConn | None = None
        data_server: asyncio.Server | None = None
        user = ""

        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        try:
            await reply("220 test FTP ready")
            while line := (await reader.readline()).decode().rstrip("\r\n"):
                cmd, _, arg = line.partition(" ")
                cmd = cmd.upper()
                if cmd == "USER":
                    user = arg
                    await reply("331 password please")
                elif cmd == "PASS":
                    st.logins.append((user, arg))
                    await reply("230 logged in")
                elif cmd == "TYPE":
                    await reply("200 type set")
                elif cmd == "PASV":
                    data_conn = asyncio.get_running_loop().create_future()
                    if data_server is not None:
                        data_server.close()
                    data_server = await asyncio.start_server(accept_into(data_conn), "127.0.0.1", 0)
                    port = data_server.sockets[0].getsockname()[1]
                    await reply(f"227 Entering Passive Mode ({st.pasv_host},{port >> 8},{port & 255})")
                elif cmd == "RETR":
                    body = st.files.get(arg)
                    if body is None:
                        await reply("550 no such file")
                        continue
                    if data_conn is None:
                        await reply("425 use PASV first")
                        continue
                    await reply("150 opening data connection")
                    async with asyncio.timeout(5):
                        _, dw = await data_conn
                    try:
                        if st.stall:
                            dw.write(body[:100])
                            await asyncio.sleep(30)
                        for i in range(0, len(body), 8192):
                            dw.write(body[i : i + 8192])
                            await dw.drain()
                    except ConnectionError:
                        pass
                    finally:
                        dw.close()
                        with contextlib.suppress(ConnectionError):
                            await dw.wait_closed()
                    data_conn = None
                    await reply("226 transfer complete")
                elif cmd == "QUIT":
                    await reply("221 bye")
                    break
                else:
                    await reply("502 not implemented")
        except (ConnectionError, TimeoutError):
            pass
        finally:
            if data_conn is not None and data_conn.done():
                data_conn.result()[1].close()
            if data_server is not None:
                data_server.close()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            tasks.discard(task)

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    st.port = server.sockets[0].getsockname()[1]
    try:
        yield st
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


# -- ContentStore -----------------------------------------------------------------


def test_store_put_layout_and_dedup(tmp_path: Path) -> None:
    store = ContentStore(tmp_path, 1 << 20)
    a = store.put([b"hello ", b"world"])
    assert a.sha256 == sha(b"hello world") and a.size == 11 and a.kept and not a.deduplicated
    assert a.path == store.path_of(a.sha256) == tmp_path / a.sha256[:2] / a.sha256
    assert a.path.read_bytes() == b"hello world"
    assert a.sha256 in store and "0" * 64 not in store and store.total_bytes == 11
    b = store.put(b"hello world")
    assert b.deduplicated and b.sha256 == a.sha256
    assert len(store) == 1 and store.total_bytes == 11
    assert stored_files(tmp_path) == [a.path] and temp_files(tmp_path) == []
    with pytest.raises(ValueError):
        store.path_of("../../etc/passwd")


def test_store_quota_evicts_oldest_first(tmp_path: Path) -> None:
    store = ContentStore(tmp_path, 300)
    a, b, c = (store.put(bytes([i]) * 100) for i in (1, 2, 3))
    assert store.total_bytes == 300
    store.put(bytes([1]) * 100)  # seen again: a becomes the newest
    d = store.put(bytes([4]) * 100)
    assert b.sha256 not in store and not store.path_of(b.sha256).exists()
    assert {a.sha256, c.sha256, d.sha256} == {s for s in (a.sha256, c.sha256, d.sha256) if s in store}
    assert store.total_bytes == 300
    # A file bigger than what is left evicts several, never itself.
    e = store.put(bytes([5]) * 250)
    assert e.kept and e.sha256 in store and store.total_bytes == 250 and len(store) == 1


def test_store_file_larger_than_quota_is_reported_not_kept(tmp_path: Path) -> None:
    store = ContentStore(tmp_path, 300)
    small = store.put(b"s" * 10)
    big = store.put(b"B" * 1000)
    assert not big.kept and big.path is None
    assert big.sha256 == sha(b"B" * 1000) and big.size == 1000
    assert big.sha256 not in store and small.sha256 in store and store.total_bytes == 10
    assert temp_files(tmp_path) == []


def test_store_writer_cap_and_abort(tmp_path: Path) -> None:
    store = ContentStore(tmp_path, 1 << 20)
    with store.open_writer(max_bytes=10) as w:
        assert w.write(b"12345") and w.write(b"67890")  # exactly the cap: not truncated
        assert not w.truncated
        assert not w.write(b"x")
        blob = w.commit()
    assert blob.truncated and blob.size == 10 and blob.sha256 == sha(b"1234567890")
    w2 = store.open_writer()
    w2.write(b"partial")
    assert len(temp_files(tmp_path)) == 1
    w2.abort()
    w2.abort()
    assert temp_files(tmp_path) == [] and len(store) == 1


def test_store_startup_scan_rebuilds_index_and_removes_temp_files(tmp_path: Path) -> None:
    store = ContentStore(tmp_path, 1 << 20)
    blobs = [store.put(bytes([i]) * (100 + i)) for i in range(3)]
    (tmp_path / ".tmp-deadbeef.part").write_bytes(b"left by a crash")
    (tmp_path / "README").write_text("not a blob")
    os.utime(store.path_of(blobs[1].sha256), ns=(1, 1))  # now the oldest: evicted first
    again = ContentStore(tmp_path, 1 << 20)
    assert temp_files(tmp_path) == []
    assert len(again) == 3 and again.total_bytes == sum(b.size for b in blobs)
    assert all(b.sha256 in again for b in blobs)
    assert (tmp_path / "README").exists()
    # A smaller quota at start evicts oldest-first right away.
    shrunk = ContentStore(tmp_path, 210)
    assert blobs[1].sha256 not in shrunk and blobs[0].sha256 in shrunk and blobs[2].sha256 in shrunk


# -- address policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("::ffff:10.1.2.3", "private"),
        ("fd00::1", "unique-local"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_policy_blocks_non_global_addresses(address: str, kind: str) -> None:
    reason = AddressPolicy().check(address)
    assert reason is not None and reason.startswith("blocked: ") and kind in reason


def test_policy_allows_global_and_opt_ins() -> None:
    assert AddressPolicy().check("93.184.216.34") is None
    assert AddressPolicy().check("2606:4700::1111") is None
    assert AddressPolicy(allow_loopback=True).check("127.0.0.1") is None
    assert AddressPolicy(allow_loopback=True).check("10.0.0.1") is not None
    assert AddressPolicy(allow_private=True).check("10.0.0.1") is None
    assert AddressPolicy(allow_private=True).check("::ffff:127.0.0.1") is not None
    assert AddressPolicy().check_literal("example.com") is None
    assert AddressPolicy().check_literal("127.1") is not None  # legacy forms never slip through


# -- Downloader: HTTP -------------------------------------------------------------


def test_http_success_and_dedup(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[FetchResult, FetchResult]:
        async with http_server() as srv:
            return await dl.fetch(srv.base + "/file"), await dl.fetch(srv.base + "/file")

    r1, r2 = run(with_downloader(tmp_path, body))
    assert r1.ok and r1.sha256 == sha(PAYLOAD) and r1.size == len(PAYLOAD) and not r1.truncated
    assert r1.content_type == "application/octet-stream"
    assert r1.head == PAYLOAD[: 64 * 1024] and r1.reason is None
    assert r2.ok and r2.sha256 == r1.sha256
    root = tmp_path / "store"
    assert [p.name for p in stored_files(root)] == [sha(PAYLOAD)] and temp_files(root) == []
    assert (root / r1.sha256[:2] / r1.sha256).read_bytes() == PAYLOAD


def test_http_404_not_stored(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> FetchResult:
        async with http_server() as srv:
            return await dl.fetch(srv.base + "/404")

    r = run(with_downloader(tmp_path, body))
    assert not r.ok and r.reason == "HTTP 404" and r.sha256 is None
    assert stored_files(tmp_path / "store") == [] and temp_files(tmp_path / "store") == []


def test_http_size_cap_truncates(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[FetchResult, FetchResult]:
        async with http_server() as srv:
            return await dl.fetch(srv.base + "/big"), await dl.fetch(srv.base + "/exact?n=4096")

    big, exact = run(with_downloader(tmp_path, body, max_file_bytes=4096))
    assert big.ok and big.truncated and big.size == 4096 and big.sha256 == sha(stream_bytes(4096))
    assert exact.ok and not exact.truncated and exact.size == 4096 and exact.sha256 == big.sha256


def test_http_quota_too_small_reports_but_does_not_keep(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[FetchResult, FetchResult]:
        async with http_server() as srv:
            return await dl.fetch(srv.base + "/other"), await dl.fetch(srv.base + "/file")

    small, big = run(with_downloader(tmp_path, body, quota=65536))
    assert small.ok and small.sha256 == sha(OTHER)
    assert big.ok and big.sha256 == sha(PAYLOAD) and big.size == len(PAYLOAD)
    assert big.reason is not None and "not stored" in big.reason
    assert [p.name for p in stored_files(tmp_path / "store")] == [sha(OTHER)]


def test_http_timeout_cleans_temp_file(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[FetchResult, float]:
        async with http_server() as srv:
            t0 = time.monotonic()
            r = await dl.fetch(srv.base + "/slow")
            return r, time.monotonic() - t0

    r, elapsed = run(with_downloader(tmp_path, body, timeout=0.5))
    assert not r.ok and r.reason is not None and "timeout" in r.reason
    assert elapsed < 2.0
    assert temp_files(tmp_path / "store") == [] and stored_files(tmp_path / "store") == []


def test_http_concurrency_cap_and_busy(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[list[FetchResult], FetchResult, int]:
        async with http_server() as srv:
            tasks = [asyncio.create_task(dl.fetch(f"{srv.base}/hold?i={i}")) for i in range(2 + MAX_WAITING)]
            for _ in range(200):
                await asyncio.sleep(0.01)
                if srv.active == 2:
                    break
            await asyncio.sleep(0.05)
            busy = await dl.fetch(srv.base + "/file")  # queue full: refused at once
            srv.release.set()
            results = await asyncio.gather(*tasks)
            return results, busy, srv.max_active

    results, busy, max_active = run(with_downloader(tmp_path, body, max_concurrent=2))
    assert busy.reason == "busy" and not busy.ok
    assert max_active == 2
    assert all(r.ok for r in results) and len({r.sha256 for r in results}) == len(results)


def test_loopback_blocked_without_connecting(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[list[FetchResult], list[str]]:
        async with http_server() as srv:
            urls = [
                srv.base + "/file",
                f"http://localhost:{srv.port}/file",  # by name: the resolver refuses it
                f"http://[::ffff:127.0.0.1]:{srv.port}/file",
                f"http://[::1]:{srv.port}/file",
                f"http://0.0.0.0:{srv.port}/file",
            ]
            return [await dl.fetch(u) for u in urls], srv.hits

    results, hits = run(with_downloader(tmp_path, body, allow_loopback=False))
    for r in results:
        assert not r.ok and r.reason is not None and r.reason.startswith("blocked: "), r
    assert "loopback" in (results[0].reason or "")
    assert "loopback" in (results[1].reason or "")
    assert "loopback" in (results[2].reason or "")
    assert hits == []


def test_mapped_loopback_blocked_even_with_private_allowed(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> FetchResult:
        return await dl.fetch("http://[::ffff:127.0.0.1]/")

    r = run(with_downloader(tmp_path, body, allow_loopback=False, allow_private=True))
    assert not r.ok and r.reason == "blocked: loopback address ::ffff:7f00:1"


def test_private_address_refused_without_connection_attempt(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[list[FetchResult], float]:
        t0 = time.monotonic()
        urls = ["http://10.0.0.1/", "https://192.168.0.1:8443/x", "tftp://10.0.0.1/bins.sh", "ftp://10.0.0.1/x"]
        rs = [await dl.fetch(u) for u in urls]
        return rs, time.monotonic() - t0

    results, elapsed = run(with_downloader(tmp_path, body, connect_timeout=5.0, timeout=10.0))
    for r in results:
        assert not r.ok and r.reason is not None and "private" in r.reason, r
    assert elapsed < 0.5


def test_redirects(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> dict[str, FetchResult]:
        async with http_server() as srv:
            out = {
                "chain": await dl.fetch(srv.base + "/r/3"),
                "file_scheme": await dl.fetch(srv.base + "/to?to=file:///etc/passwd"),
                "ftp_scheme": await dl.fetch(srv.base + "/to?to=ftp://127.0.0.1/x"),
                "private": await dl.fetch(srv.base + "/to?to=http://10.0.0.1/x"),
                "mapped_private": await dl.fetch(srv.base + "/to?to=http://[::ffff:192.168.1.1]/x"),
            }
            short = Downloader(make_cfg(max_redirects=2), dl.store)
            try:
                out["too_many"] = await short.fetch(srv.base + "/r/3")
                out["within"] = await short.fetch(srv.base + "/r/1")
            finally:
                await short.aclose()
            return out

    out = run(with_downloader(tmp_path, body, max_redirects=5))
    chain = out["chain"]
    assert chain.ok and chain.sha256 == sha(PAYLOAD) and chain.url.endswith("/r/3")
    assert chain.reason is not None and chain.reason.startswith("redirected 4x") and chain.reason.endswith("/file")
    assert not out["file_scheme"].ok and "unsupported scheme" in (out["file_scheme"].reason or "")
    assert not out["ftp_scheme"].ok and "unsupported scheme" in (out["ftp_scheme"].reason or "")
    assert out["private"].reason == "blocked: private address 10.0.0.1"
    assert not out["mapped_private"].ok and "private" in (out["mapped_private"].reason or "")
    assert not out["too_many"].ok and "too many redirects" in (out["too_many"].reason or "")
    assert out["within"].ok


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http",
        "http://",
        "http:///x",
        "http://[::1",
        "http://a b/",
        "http://host:99999/",
        "http://exa\x00mple.com/",
        "tftp://",
        "tftp://127.0.0.1/",
        "ftp://127.0.0.1:abc/x",
        "ftp://127.0.0.1/a%0d%0aDELE%20x",
        "http://" + "a" * 5000 + "/",
        "\udcff://x",
    ],
)
def test_garbage_urls_fail_cleanly(tmp_path: Path, url: str) -> None:
    r = run(with_downloader(tmp_path, lambda dl: dl.fetch(url), connect_timeout=1.0, timeout=2.0))
    assert isinstance(r, FetchResult) and not r.ok and r.reason
    assert temp_files(tmp_path / "store") == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)", "//x/y"])
def test_unsupported_scheme(tmp_path: Path, url: str) -> None:
    r = run(with_downloader(tmp_path, lambda dl: dl.fetch(url)))
    assert not r.ok and r.reason == "unsupported scheme"


def test_disabled(tmp_path: Path) -> None:
    r = run(with_downloader(tmp_path, lambda dl: dl.fetch("http://93.184.216.34/"), enabled=False))
    assert not r.ok and r.reason == "downloads disabled"


def test_closed_downloader_refuses(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> FetchResult:
        await dl.aclose()
        return await dl.fetch("http://93.184.216.34/")

    r = run(with_downloader(tmp_path, body))
    assert not r.ok and r.reason == "downloader closed"


# -- Downloader: TFTP -------------------------------------------------------------


def test_tftp_download(tmp_path: Path) -> None:
    exact = b"y" * 1024  # a multiple of 512: ends with an empty block

    async def body(dl: Downloader) -> tuple[list[FetchResult], TftpState]:
        dl.tftp_retry_timeout = 0.2
        async with tftp_server({"bins.sh": PAYLOAD[:5000], "exact": exact}, drop_first_rrq=True) as srv:
            base = f"tftp://127.0.0.1:{srv.port}"
            rs = [
                await dl.fetch(base + "/bins.sh"),  # first RRQ is lost: the client retransmits
                await dl.fetch(base + "/exact"),
                await dl.fetch(base + "/nope"),
            ]
            return rs, srv

    (ok, ex, missing), srv = run(with_downloader(tmp_path, body))
    assert ok.ok and ok.sha256 == sha(PAYLOAD[:5000]) and ok.size == 5000 and not ok.truncated
    assert srv.rrqs == 4
    assert ex.ok and ex.sha256 == sha(exact)
    assert not missing.ok and missing.reason == "TFTP error 1: File not found"
    assert temp_files(tmp_path / "store") == []


def test_tftp_size_cap_and_timeout(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[FetchResult, FetchResult, list[bytes]]:
        dl.tftp_retry_timeout = 0.1
        dl.tftp_retries = 2
        async with tftp_server({"big": stream_bytes(20_000)}) as srv:
            big = await dl.fetch(f"tftp://127.0.0.1:{srv.port}/big")
            await asyncio.sleep(0.05)
            errors = list(srv.errors_received)
        async with tftp_server({}, silent=True) as quiet:
            t0 = time.monotonic()
            lost = await dl.fetch(f"tftp://127.0.0.1:{quiet.port}/x")
            assert time.monotonic() - t0 < 2
        return big, lost, errors

    big, lost, errors = run(with_downloader(tmp_path, body, max_file_bytes=4096))
    assert big.ok and big.truncated and big.size == 4096 and big.sha256 == sha(stream_bytes(4096))
    assert errors and errors[0].startswith(b"\x00\x05")  # the client told the server it stopped
    assert not lost.ok and lost.reason == "TFTP timeout"
    assert temp_files(tmp_path / "store") == []


def test_tftp_loopback_blocked(tmp_path: Path) -> None:
    r = run(with_downloader(tmp_path, lambda dl: dl.fetch("tftp://localhost/x"), allow_loopback=False))
    assert not r.ok and "loopback" in (r.reason or "")


# -- Downloader: FTP --------------------------------------------------------------


def test_ftp_download(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> tuple[list[FetchResult], FtpState]:
        # The PASV reply names another host; the data connection must still go to the checked peer.
        async with ftp_server({"bins/x86": PAYLOAD, "big": stream_bytes(200_000)}, pasv_host="10,9,9,9") as srv:
            base = f"127.0.0.1:{srv.port}"
            rs = [
                await dl.fetch(f"ftp://{base}/bins/x86"),
                await dl.fetch(f"ftp://bot:s%40cret@{base}/bins/x86;type=i"),
                await dl.fetch(f"ftp://{base}/missing"),
                await dl.fetch(f"ftp://{base}/big"),
            ]
            return rs, srv

    (anon, creds, missing, big), srv = run(with_downloader(tmp_path, body, max_file_bytes=65536))
    assert anon.ok and anon.sha256 == sha(PAYLOAD[:65536]) and anon.truncated and anon.size == 65536
    assert creds.ok and creds.sha256 == anon.sha256
    assert not missing.ok and missing.reason is not None and "550" in missing.reason
    assert big.ok and big.truncated and big.size == 65536 and big.sha256 == sha(stream_bytes(65536))
    assert srv.logins[0] == ("anonymous", "anonymous@") and ("bot", "s@cret") in srv.logins
    assert temp_files(tmp_path / "store") == []


def test_ftp_full_file(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> FetchResult:
        async with ftp_server({"f": OTHER}) as srv:
            return await dl.fetch(f"ftp://127.0.0.1:{srv.port}/f")

    r = run(with_downloader(tmp_path, body))
    assert r.ok and r.sha256 == sha(OTHER) and r.size == len(OTHER) and not r.truncated
    assert r.head == OTHER


def test_ftp_loopback_blocked(tmp_path: Path) -> None:
    r = run(with_downloader(tmp_path, lambda dl: dl.fetch("ftp://127.0.0.1/x"), allow_loopback=False))
    assert not r.ok and r.reason == "blocked: loopback address 127.0.0.1"


def test_ftp_timeout_stops_the_worker_thread(tmp_path: Path) -> None:
    async def body(dl: Downloader) -> FetchResult:
        async with ftp_server({"f": OTHER}, stall=True) as srv:
            return await dl.fetch(f"ftp://127.0.0.1:{srv.port}/f")

    t0 = time.monotonic()
    r = run(with_downloader(tmp_path, body, timeout=0.5, connect_timeout=5.0))
    assert not r.ok and r.reason is not None and "timeout" in r.reason
    assert time.monotonic() - t0 < 2.0  # asyncio.run waited for the thread: it did not sit out its 5 s recv
    assert temp_files(tmp_path / "store") == [] and stored_files(tmp_path / "store") == []
