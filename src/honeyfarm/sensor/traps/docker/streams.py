# SPDX-License-Identifier: MIT
"""The long answers: a pull's progress stream, a flushed /wait, and the hijacked attach/exec stream.

An attach or exec start asks to upgrade (``Connection: Upgrade``, ``Upgrade: tcp``); dockerd
hijacks the connection and writes ``HTTP/1.1 101 UPGRADED`` by hand, then the headers its
middlewares had set (sorted), then raw or multiplexed output (8-byte frame headers when the
container has no TTY; 20.10 labels both ``application/vnd.docker.raw-stream``). The client's
standard input is read from the same connection, bounded, and handed back for the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import TYPE_CHECKING, Any

from aiohttp import web

from honeyfarm.sensor.traps.docker.persona import progress_bar, pull_layers
from honeyfarm.sensor.traps.docker.state import ImageRef
from honeyfarm.sensor.traps.docker.wire import ExactResponse, framed, go_json, go_marshal

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.docker.server import DockerProtocol

RAW_STREAM = "application/vnd.docker.raw-stream"


class StdinSink:
    """Takes the place of aiohttp's payload parser once a connection is hijacked: keeps the
    first ``limit`` bytes of the client's input and notes when it ends."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.total = 0
        self.ended = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.total += len(data)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += data[:room]
        return False, b""

    def feed_eof(self) -> None:
        self.ended.set()


def frame(stream: int, data: bytes) -> bytes:
    """stdcopy's multiplexed frame: stream id, three zero bytes, big-endian length."""
    return struct.pack(">BxxxI", stream, len(data)) + data


async def hijack(
    request: web.BaseRequest, proto: DockerProtocol, middleware: dict[str, str], stdin_limit: int
) -> tuple[ExactResponse, StdinSink]:
    """Answer as dockerd's hijack: 101 UPGRADED (or 200 OK without an upgrade) and raw bytes after.

    The client's input is read into a bounded sink from then on; the CLI half-closes at once when
    it has no stdin to send, and still reads the output: the connection stays open for writing.
    """
    if "Upgrade" in request.headers:
        line = "HTTP/1.1 101 UPGRADED"
        head = [("Content-Type", RAW_STREAM), ("Connection", "Upgrade"), ("Upgrade", "tcp")]
    else:
        line = "HTTP/1.1 200 OK"
        head = [("Content-Type", RAW_STREAM)]
    resp = ExactResponse(line, head + sorted(middleware.items()), length=None, keep_alive=False, immediate=True)
    await resp.prepare(request)
    sink = StdinSink(stdin_limit)
    proto.hijacked = sink
    with contextlib.suppress(AssertionError):
        proto.set_parser(sink)  # type: ignore[arg-type]  # duck-typed: feed_data/feed_eof
    return resp, sink


async def write_output(resp: ExactResponse, tty: bool, stdout: bytes, stderr: bytes = b"") -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        if tty:
            if stdout or stderr:
                await resp.write(stdout + stderr)
        else:
            if stdout:
                await resp.write(frame(1, stdout))
            if stderr:
                await resp.write(frame(2, stderr))


async def pull_stream(
    request: web.BaseRequest, middleware: dict[str, str], ref: ImageRef, present: bool, step: float
) -> ExactResponse:
    """POST /images/create: the progress lines of a pull, flushed one by one (``\\r\\n`` after each)."""
    own = {**middleware, "Content-Type": "application/json"}
    resp, _ = framed(request, 200, own, b"", stream=True)
    await resp.prepare(request)

    async def line(doc: dict[str, Any]) -> None:
        await resp.write(go_marshal(doc) + b"\r\n")

    with contextlib.suppress(ConnectionError, RuntimeError):
        await line({"status": f"Pulling from {ref.remote}", "id": ref.tag})
        if not present:
            layers = pull_layers(ref)
            for lid, _size in layers:
                await line({"status": "Pulling fs layer", "progressDetail": {}, "id": lid})
            for lid, size in layers:
                for frac in (0.01, 0.35, 0.8):
                    cur = int(size * frac)
                    await line(
                        {
                            "status": "Downloading",
                            "progressDetail": {"current": cur, "total": size},
                            "progress": progress_bar(cur, size),
                            "id": lid,
                        }
                    )
                    await asyncio.sleep(step)
                await line({"status": "Verifying Checksum", "progressDetail": {}, "id": lid})
                await line({"status": "Download complete", "progressDetail": {}, "id": lid})
            for lid, size in layers:
                for frac in (0.02, 1.0):
                    cur = int(size * frac)
                    await line(
                        {
                            "status": "Extracting",
                            "progressDetail": {"current": cur, "total": size},
                            "progress": progress_bar(cur, size),
                            "id": lid,
                        }
                    )
                    await asyncio.sleep(step)
                await line({"status": "Pull complete", "progressDetail": {}, "id": lid})
        await line({"status": f"Digest: {ref.digest}"})
        verb = "Image is up to date for" if present else "Downloaded newer image for"
        await line({"status": f"Status: {verb} {ref.familiar}"})
    return resp


async def wait_stream(
    request: web.BaseRequest, middleware: dict[str, str], event: asyncio.Event, timeout: float, code: Any
) -> ExactResponse:
    """POST /containers/{id}/wait: headers flushed at once, the status once ``event`` is set."""
    own = {**middleware, "Content-Type": "application/json"}
    resp, _ = framed(request, 200, own, b"", stream=True)
    await resp.prepare(request)  # stream=True: the headers leave at once, as Go's Flush
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        resp.force_close()
        return resp
    with contextlib.suppress(ConnectionError, RuntimeError):
        await resp.write(go_json({"Error": None, "StatusCode": code()}))
    return resp
