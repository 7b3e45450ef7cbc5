# SPDX-License-Identifier: MIT
"""dockerd 20.10's router: path cleaning, ``/v1.xx`` prefixes, the version middleware, the routes.

As gorilla/mux in dockerd: an unclean path (``//version``) is redirected (301) to its clean
form; every route answers with and without a ``/v<version>`` prefix; a wrong method or an unknown
path is the bare JSON 404 ``{"message":"page not found"}`` without dockerd's headers; OPTIONS on
any path is 200. Routed answers carry the middlewares' headers, also on errors, whose bodies are
``{"message": ...}`` in dockerd's words.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiMapping

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.traps.docker.documents import container_summary
from honeyfarm.sensor.traps.docker.persona import image_summary
from honeyfarm.sensor.traps.docker.state import AddressState, parse_ref
from honeyfarm.sensor.traps.docker.wire import go_json, send

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.docker.server import DockerProtocol, DockerTrap

Handler = Callable[["Call"], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error a handler returns: dockerd writes it as ``{"message": ...}`` with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Call:
    """One routed request, as a handler sees it."""

    request: web.BaseRequest
    proto: DockerProtocol
    trap: DockerTrap
    vars: dict[str, str]
    version: str
    body: bytes
    state: AddressState
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def query(self) -> MultiMapping[str]:
        return self.request.query

    @property
    def middleware(self) -> dict[str, str]:
        return self.trap.engine.middleware_headers()

    def flag(self, name: str) -> bool:
        """Go's httputils.BoolValue: anything but "", "0", "no", "false", "none" is true."""
        return self.query.get(name, "").strip().lower() not in ("", "0", "no", "false", "none")

    async def json(self, status: int, doc: Any) -> web.StreamResponse:
        return await send(self.request, status, {**self.middleware, "Content-Type": "application/json"}, go_json(doc))

    async def empty(self, status: int) -> web.StreamResponse:
        return await send(self.request, status, self.middleware)

    def json_body(self) -> Any:
        """The request body as JSON; dockerd's CheckForJSON and decoder errors otherwise."""
        ct = self.request.headers.get("Content-Type", "")
        if not self.body:
            return None
        if ct.split(";", 1)[0].strip().lower() != "application/json":
            raise ApiError(400, f"Content-Type specified ({ct}) must be 'application/json'")
        try:
            return json.loads(self.body)
        except RecursionError:
            raise ApiError(400, "exceeded max depth") from None
        except ValueError:
            text = self.body.lstrip()
            ch = chr(text[0]) if text and text[0] < 128 else "\\x" + (f"{text[0]:02x}" if text else "00")
            if text[:1] in (b"{", b"["):
                raise ApiError(400, "unexpected EOF") from None
            raise ApiError(400, f"invalid character '{ch}' looking for beginning of value") from None

    def lenient_json(self) -> tuple[Any, ApiError | None]:
        """The body as JSON even when dockerd refuses it (the attacker's intent is logged), and the refusal."""
        try:
            return self.json_body(), None
        except ApiError as exc:
            try:
                return json.loads(self.body), exc
            except (ValueError, RecursionError):
                return None, exc


def version_less(a: str, b: str) -> bool:
    """moby's versions.LessThan: dot-separated integers, missing parts are 0."""
    pa, pb = a.split("."), b.split(".")
    for i in range(max(len(pa), len(pb))):
        x = int(pa[i]) if i < len(pa) and pa[i].isdigit() else 0
        y = int(pb[i]) if i < len(pb) and pb[i].isdigit() else 0
        if x != y:
            return x < y
    return False


def clean_path(path: str) -> str:
    """gorilla/mux's cleanPath: posix clean, the trailing slash kept."""
    if not path:
        return "/"
    p = path if path.startswith("/") else "/" + path
    np = posixpath.normpath(p)
    if np.startswith("//"):
        np = "/" + np.lstrip("/")
    if p.endswith("/") and np != "/":
        np += "/"
    return np


_VERSIONED = re.compile(r"^/v(?P<version>[0-9.]+)(?P<rest>/.*)$")


class Router:
    """Routes by method and path pattern, as dockerd registers them (first match wins)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        # dockerd's `{name:.*}` spans slashes (image names do); an exec id is one segment.
        rx = re.sub(r"\{name\}", r"(?P<name>.+)", pattern)
        rx = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", rx)
        self.routes.append((method, re.compile(f"^{rx}$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for m, rx, h in self.routes:
            if m == method:
                hit = rx.match(path)
                if hit:
                    return h, hit.groupdict()
        return None


async def not_found(request: web.BaseRequest) -> web.StreamResponse:
    """dockerd's NotFoundHandler (also its MethodNotAllowedHandler): no middleware headers."""
    return await send(request, 404, {"Content-Type": "application/json"}, go_json({"message": "page not found"}))


async def dispatch(
    router: Router, request: web.BaseRequest, make_call: Callable[[Handler, dict[str, str], str], Call]
) -> web.StreamResponse:
    """Clean, unprefix, match, check the API version, run the handler, turn its error into dockerd's JSON."""
    raw = request.path
    cleaned = clean_path(raw)
    if cleaned != raw:
        target = cleaned + (("?" + request.query_string) if request.query_string else "")
        return await send(request, 301, {"Location": target})
    version = ""
    path = cleaned
    m = _VERSIONED.match(cleaned)
    if m:
        version, path = m["version"], m["rest"]
    method = request.method
    if method == "OPTIONS":
        found: tuple[Handler, dict[str, str]] | None = (_options, {})
    else:
        found = router.match(method, path)
    if found is None:
        return await not_found(request)
    handler, vars_ = found
    call = make_call(handler, vars_, version)
    engine = call.trap.engine
    try:
        if version and version_less(version, engine.min_api_version):
            raise ApiError(
                400,
                f"client version {version} is too old. Minimum supported API version is "
                f"{engine.min_api_version}, please upgrade your client to a newer version",
            )
        if version and version_less(engine.api_version, version):
            raise ApiError(
                400, f"client version {version} is too new. Maximum supported API version is {engine.api_version}"
            )
        return await handler(call)
    except ApiError as exc:
        return await call.json(exc.status, {"message": exc.message})


async def _options(call: Call) -> web.StreamResponse:
    return await call.empty(200)


# --- system ----------------------------------------------------------------------------------------


async def ping(call: Call) -> web.StreamResponse:
    own = {**call.middleware, "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}
    if call.request.method == "HEAD":
        own.update({"Content-Type": "text/plain; charset=utf-8", "Content-Length": "0"})
        return await send(call.request, 200, own)
    return await send(call.request, 200, own, b"OK", sniffed="text/plain; charset=utf-8")


async def version(call: Call) -> web.StreamResponse:
    return await call.json(200, call.trap.engine.version_doc())


async def info(call: Call) -> web.StreamResponse:
    st = call.state
    listen = f"0.0.0.0:{call.proto.log.dst_port}"
    doc = call.trap.engine.info_doc(list(st.containers.values()), len(st.images), listen)
    return await call.json(200, doc)


# --- images ----------------------------------------------------------------------------------------


async def images_list(call: Call) -> web.StreamResponse:
    return await call.json(200, [image_summary(r) for r in reversed(call.state.images.values())])


async def image_inspect(call: Call) -> web.StreamResponse:
    name = call.vars["name"]
    ref = parse_ref(name)
    if ref is None or ref.familiar not in call.state.images:
        raise ApiError(404, f"No such image: {name}")
    s = image_summary(ref)
    return await call.json(
        200,
        {
            "Id": s["Id"],
            "RepoTags": s["RepoTags"],
            "RepoDigests": s["RepoDigests"],
            "Parent": "",
            "Comment": "",
            "Created": "2024-01-01T00:00:00.000000000Z",
            "DockerVersion": "20.10.23",
            "Author": "",
            "Architecture": "amd64",
            "Os": "linux",
            "Size": s["Size"],
            "VirtualSize": s["Size"],
            "RootFS": {"Type": "layers", "Layers": [ref.digest]},
        },
    )


async def image_delete(call: Call) -> web.StreamResponse:
    name = call.vars["name"]
    ref = parse_ref(name)
    if ref is None or ref.familiar not in call.state.images:
        raise ApiError(404, f"No such image: {name}")
    del call.state.images[ref.familiar]
    return await call.json(200, [{"Untagged": ref.familiar}, {"Deleted": ref.image_id}])


# --- containers (listing) --------------------------------------------------------------------------


async def containers_list(call: Call) -> web.StreamResponse:
    now = time.time()
    show_all = call.flag("all")
    cs = [c for c in reversed(call.state.containers.values()) if show_all or c.running]
    return await call.json(200, [container_summary(c, now) for c in cs])


async def networks(call: Call) -> web.StreamResponse:
    def net(name: str, driver: str, scope: str = "local") -> dict[str, Any]:
        return {
            "Name": name,
            "Id": hashlib.sha256(name.encode()).hexdigest(),
            "Created": "2026-10-21T09:14:03.512398171Z",
            "Scope": scope,
            "Driver": driver,
            "EnableIPv6": False,
            "IPAM": {
                "Driver": "default",
                "Options": None,
                "Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}] if name == "bridge" else [],
            },
            "Internal": False,
            "Attachable": False,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": {},
            "Options": {},
            "Labels": {},
        }

    return await call.json(200, [net("bridge", "bridge"), net("host", "host"), net("none", "null")])


async def volumes(call: Call) -> web.StreamResponse:
    return await call.json(200, {"Volumes": [], "Warnings": None})


async def system_df(call: Call) -> web.StreamResponse:
    imgs = [image_summary(r) for r in reversed(call.state.images.values())]
    return await call.json(
        200,
        {
            "LayersSize": sum(i["Size"] for i in imgs),
            "Images": imgs,
            "Containers": [container_summary(c, time.time()) for c in reversed(call.state.containers.values())],
            "Volumes": [],
            "BuildCache": [],
            "BuilderSize": 0,
        },
    )


SWARM_INACTIVE = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to '
    "swarm and try again."
)


async def not_a_swarm_manager(call: Call) -> web.StreamResponse:
    """Swarm endpoints of a node that never joined a swarm (services are a way to run a miner, too)."""
    if call.body:
        capture_payload(call.trap.ctx, call.proto.log, call.body, trap="docker", request=call.request.path[:64])
    raise ApiError(503, SWARM_INACTIVE)
