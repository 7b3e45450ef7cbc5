# SPDX-License-Identifier: MIT
"""A local VirusTotal-compatible API server for the tests (and the benchmark).

Why a stand-in: VirusTotal cannot be reached from here and has no
self-hostable server. This one speaks the v3 JSON shapes vt-py reads
(``{"data": {"type", "id", "attributes"}}``, errors as
``{"error": {"code", "message"}}``), checks the ``x-apikey`` header, and
*enforces* the quota (default 4 per sliding minute, 500 per UTC day) against
an injectable clock, answering 429 ``QuotaExceededError`` like the real API,
so a test fails if the client ever overruns it. Every request is logged.

Endpoints: ``GET /api/v3/files/{sha256}``, ``POST /api/v3/files`` (multipart),
``GET /api/v3/files/upload_url`` and ``POST /_upload/{token}``,
``GET /api/v3/analyses/{id}`` (queued on the first poll, then completed).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

EICAR_MARK = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
ENGINES = ("Avast", "BitDefender", "ClamAV", "ESET-NOD32", "Kaspersky", "Microsoft")


class FakeClock:
    """Time that moves only when someone sleeps: a simulated day takes seconds."""

    def __init__(self, start: float) -> None:
        self.now = float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)


@dataclass
class Hit:
    t: float
    method: str
    path: str
    status: int


def file_attributes(
    sha256: str, *, malicious: int = 0, suspicious: int = 0, label: str | None = None
) -> dict[str, Any]:
    """The attributes of a file object, as ``GET /files/{id}`` returns them."""
    results: dict[str, Any] = {}
    for i, eng in enumerate(ENGINES):
        cat = "malicious" if i < malicious else "suspicious" if i < malicious + suspicious else "undetected"
        name = (label or "Trojan.Generic") if cat != "undetected" else None
        results[eng] = {"category": cat, "engine_name": eng, "result": name, "method": "blacklist"}
    attrs: dict[str, Any] = {
        "sha256": sha256,
        "md5": hashlib.md5(sha256.encode()).hexdigest(),
        "size": 1234,
        "type_description": "ELF",
        "last_analysis_date": 1_700_000_000,
        "last_analysis_stats": {
            "malicious": malicious,
            "suspicious": suspicious,
            "undetected": len(ENGINES) - malicious - suspicious,
            "harmless": 0,
            "timeout": 0,
            "type-unsupported": 0,
            "failure": 0,
        },
        "last_analysis_results": results,
    }
    if label:
        attrs["popular_threat_classification"] = {
            "suggested_threat_label": label,
            "popular_threat_name": [{"count": malicious, "value": label.split(".")[-1]}],
        }
    return attrs


@dataclass
class _Analysis:
    sha256: str
    attrs: dict[str, Any]
    polls: int = 0


@dataclass
class VTServer:
    """Start with ``with VTServer(...) as srv:``; point vt-py at ``srv.url``."""

    api_key: str = "test-key"
    per_minute: int = 4
    per_day: int = 500
    clock: Callable[[], float] = time.time
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)  # shas whose lookup is held (to kill a client mid-request)
    fail_5xx: dict[str, int] = field(default_factory=dict)  # sha -> number of 503s to answer first
    log: list[Hit] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._accepted: list[float] = []  # times of requests that counted against the quota
        self._analyses: dict[str, _Analysis] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> VTServer:
        self._thread = threading.Thread(target=self._serve, name="vtserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("vtserver did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(15)

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/api/v3/files/upload_url", self._upload_url)
        app.router.add_get("/api/v3/files/{id}", self._get_file)
        app.router.add_post("/api/v3/files", self._post_file)
        app.router.add_post("/_upload/{token}", self._post_file)
        app.router.add_get("/api/v3/analyses/{id}", self._get_analysis)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stopped.wait()
        await runner.cleanup()

    # -- quota and auth ------------------------------------------------------

    def requests_in_window(self, end: float) -> int:
        return sum(1 for t in self._accepted if end - 60.0 < t <= end)

    def _gate(self, request: web.Request) -> web.Response | None:
        """401 for a wrong key, 429 over quota; otherwise count the request (VirusTotal counts it)."""
        now = self.clock()
        if request.headers.get("x-apikey") != self.api_key:
            return _error(401, "WrongCredentialsError", "Wrong API key")
        day = (now // 86_400) * 86_400
        in_day = sum(1 for t in self._accepted if t >= day)
        if self.requests_in_window(now) >= self.per_minute or in_day >= self.per_day:
            return _error(429, "QuotaExceededError", "Quota exceeded")
        self._accepted.append(now)
        return None

    def _record(self, request: web.Request, resp: web.Response) -> web.Response:
        self.log.append(Hit(self.clock(), request.method, request.path, resp.status))
        return resp

    # -- handlers ----------------------------------------------------------

    async def _get_file(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return self._record(request, refused)
        sha = request.match_info["id"].lower()
        if sha in self.hold:
            self.held.append(sha)
            for _ in range(1500):  # at most 30 s: the test kills the client meanwhile
                if self._release.is_set():
                    break
                await asyncio.sleep(0.02)
            return _error(503, "TransientError", "held")
        if self.fail_5xx.get(sha, 0) > 0:
            self.fail_5xx[sha] -= 1
            return self._record(request, _error(503, "TransientError", "try again"))
        attrs = self.files.get(sha)
        if attrs is None:
            return self._record(request, _error(404, "NotFoundError", f'File "{sha}" not found'))
        body = {
            "data": {
                "type": "file",
                "id": sha,
                "links": {"self": f"{self.url}/api/v3/files/{sha}"},
                "attributes": attrs,
            }
        }
        return self._record(request, web.json_response(body))

    async def _upload_url(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return self._record(request, refused)
        return self._record(request, web.json_response({"data": f"{self.url}/_upload/{uuid.uuid4().hex}"}))

    async def _post_file(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return self._record(request, refused)
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != "file":
            return self._record(request, _error(400, "BadRequestError", "no file"))
        content = await part.read()  # type: ignore[union-attr]
        sha = hashlib.sha256(content).hexdigest()
        self.uploads.append(sha)
        bad = EICAR_MARK in content
        attrs = file_attributes(sha, malicious=3 if bad else 0, label="eicar/test" if bad else None)
        attrs["size"] = len(content)
        aid = uuid.uuid4().hex
        self._analyses[aid] = _Analysis(sha, attrs)
        return self._record(request, web.json_response({"data": {"type": "analysis", "id": aid}}))

    async def _get_analysis(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return self._record(request, refused)
        an = self._analyses.get(request.match_info["id"])
        if an is None:
            return self._record(request, _error(404, "NotFoundError", "no such analysis"))
        an.polls += 1
        done = an.polls > 1
        if done:
            self.files[an.sha256] = an.attrs  # VirusTotal knows the file from now on
        attributes = {
            "status": "completed" if done else "queued",
            "stats": an.attrs["last_analysis_stats"] if done else {},
            "results": an.attrs["last_analysis_results"] if done else {},
            "date": int(self.clock()),
        }
        body = {
            "data": {"type": "analysis", "id": request.match_info["id"], "attributes": attributes},
            "meta": {"file_info": {"sha256": an.sha256, "size": an.attrs["size"]}},
        }
        return self._record(request, web.json_response(body))

    def answered(self, sha256: str) -> int:
        """How many lookups of ``sha256`` got a 200 or 404 answer."""
        path = f"/api/v3/files/{sha256}"
        return sum(1 for h in self.log if h.path == path and h.status in (200, 404))


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
