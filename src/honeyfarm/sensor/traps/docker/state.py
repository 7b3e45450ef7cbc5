# SPDX-License-Identifier: MIT
"""What a visitor has done to the fake engine: images pulled, containers and execs created.

State is kept per source address (a bot's pull on one connection and its create on the next
see each other, other addresses see nothing of it), in bounded LRU tables: at most
``max_addresses`` addresses, ``max_containers`` containers and as many execs each, every
attacker string cut to a few KiB, so the worst case stays within a few tens of MB.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.docker.streams import StdinSink

MAX_ITEMS = 32  # entries kept of one list (Cmd, Env, Binds, CapAdd)
MAX_ITEM = 1024  # characters kept of one entry
MAX_NAME = 128

# docker/distribution's reference grammar, enough to answer "invalid reference format" as dockerd does.
_REF = re.compile(
    r"^(?:(?P<domain>[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_HUB = re.compile(r"^(?:index\.)?docker\.io/")  # Docker Hub's own name is dropped from the familiar name
_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def strings(value: Any, limit: int = MAX_ITEMS) -> list[str]:
    """A JSON string list as kept: ``limit`` entries of ``MAX_ITEM`` characters at most; a string is a list of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [str(v)[:MAX_ITEM] for v in value[:limit] if isinstance(v, (str, int, float))]


@dataclass(frozen=True)
class ImageRef:
    """An image reference as dockerd normalises it: ``alpine`` is ``docker.io/library/alpine:latest``."""

    repo: str  # familiar name: "alpine", "user/miner", "ghcr.io/x/y"
    tag: str

    @property
    def familiar(self) -> str:
        return f"{self.repo}:{self.tag}"

    @property
    def remote(self) -> str:
        """The repository path a pull prints: ``library/alpine``."""
        first = self.repo.split("/", 1)[0]
        if "/" not in self.repo:
            return f"library/{self.repo}"
        if "." in first or ":" in first or first == "localhost":
            return self.repo.split("/", 1)[1]
        return self.repo

    @property
    def image_id(self) -> str:
        return "sha256:" + hashlib.sha256(b"image:" + self.familiar.encode()).hexdigest()

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(b"digest:" + self.familiar.encode()).hexdigest()


def parse_ref(text: str, tag: str = "") -> ImageRef | None:
    """``name[:tag]`` (and an optional separate ``tag`` query value); None if dockerd would refuse it."""
    if not text or len(text) > 255:
        return None
    m = _REF.match(text)
    if m is None:
        return None
    repo = (m["domain"] + "/" if m["domain"] else "") + m["path"]
    repo = _HUB.sub("", repo)
    if repo.startswith("library/") and repo.count("/") == 1:
        repo = repo[len("library/") :]
    return ImageRef(repo, tag or m["tag"] or "latest")


STORED_BYTES = 2048  # attacker strings kept per stored container or exec (events keep more)


def budget(kept: dict[str, Any], limit: int = STORED_BYTES) -> dict[str, Any]:
    """A copy of ``kept`` whose string lists hold at most ``limit`` characters in all (state stays small)."""
    out = dict(kept)
    left = limit
    for key in ("Cmd", "Entrypoint", "Env", "Binds", "CapAdd", "Devices"):
        items: list[str] = []
        for item in out.get(key) or []:
            if left <= 0:
                break
            items.append(item[:left])
            left -= len(items[-1])
        out[key] = items
    if "Mounts" in out:
        out["Mounts"] = out["Mounts"][:4] if left > 0 else []
    return out


def new_id() -> str:
    return secrets.token_hex(32)


@dataclass
class Container:
    id: str
    name: str
    image: str  # as the client wrote it
    ref: ImageRef
    config: dict[str, Any]  # the kept (trimmed) Config and HostConfig fields
    created: float = field(default_factory=time.time)
    started: float = 0.0
    finished: float = 0.0
    running: bool = False
    exit_code: int = 0
    pid: int = 0
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    removed: asyncio.Event = field(default_factory=asyncio.Event)
    stdin: StdinSink | None = None  # an attach's standard input, read while the container "runs"

    @property
    def command(self) -> list[str]:
        return list(self.config.get("Entrypoint") or []) + list(self.config.get("Cmd") or [])


@dataclass
class Exec:
    id: str
    container: Container
    cmd: list[str]
    tty: bool
    attach_stdin: bool
    running: bool = False
    exit_code: int | None = None
    pid: int = 0


class AddressState:
    """One source address's images, containers and execs."""

    def __init__(self, max_containers: int) -> None:
        self.max = max_containers
        self.images: OrderedDict[str, ImageRef] = OrderedDict()
        self.containers: OrderedDict[str, Container] = OrderedDict()
        self.execs: OrderedDict[str, Exec] = OrderedDict()

    def add_image(self, ref: ImageRef) -> None:
        self.images[ref.familiar] = ref
        self.images.move_to_end(ref.familiar)
        while len(self.images) > self.max:
            self.images.popitem(last=False)

    def add_container(self, c: Container) -> None:
        self.containers[c.id] = c
        while len(self.containers) > self.max:
            _, old = self.containers.popitem(last=False)
            old.exited.set()
            old.removed.set()

    def add_exec(self, e: Exec) -> None:
        self.execs[e.id] = e
        while len(self.execs) > self.max:
            self.execs.popitem(last=False)

    def find(self, ident: str) -> Container | None:
        """By full id, name (with or without the slash) or unique id prefix, as dockerd looks one up."""
        if not ident:
            return None
        if ident in self.containers:
            return self.containers[ident]
        name = ident.lstrip("/")
        for c in self.containers.values():
            if c.name == name:
                return c
        hits = [c for c in self.containers.values() if c.id.startswith(ident)]
        return hits[0] if len(hits) == 1 else None

    def by_name(self, name: str) -> Container | None:
        for c in self.containers.values():
            if c.name == name:
                return c
        return None

    def remove(self, c: Container) -> None:
        self.containers.pop(c.id, None)
        for eid in [eid for eid, e in self.execs.items() if e.container is c]:
            del self.execs[eid]
        c.exited.set()
        c.removed.set()


class EngineState:
    """Every address's state, least recently used forgotten first."""

    def __init__(self, max_addresses: int, max_containers: int, images: list[str]) -> None:
        self.max_addresses = max_addresses
        self.max_containers = max_containers
        self.by_ip: OrderedDict[str, AddressState] = OrderedDict()
        self.base_images = [r for r in (parse_ref(i) for i in images) if r is not None]
        self.pid = 2400 + secrets.randbelow(20000)

    def get(self, ip: str) -> AddressState:
        st = self.by_ip.get(ip)
        if st is None:
            st = AddressState(self.max_containers)
            for ref in self.base_images:
                st.add_image(ref)
            self.by_ip[ip] = st
            while len(self.by_ip) > self.max_addresses:
                _, old = self.by_ip.popitem(last=False)
                for c in old.containers.values():
                    c.exited.set()
                    c.removed.set()
        else:
            self.by_ip.move_to_end(ip)
        return st

    def next_pid(self) -> int:
        self.pid += 1 + secrets.randbelow(40)
        return self.pid


def valid_name(name: str) -> bool:
    return len(name) <= MAX_NAME and _NAME.match(name) is not None


_ADJ = ("admiring", "brave", "eager", "festive", "focused", "happy", "jolly", "keen", "nifty", "quirky", "vibrant")
_NOUN = ("archimedes", "bohr", "curie", "darwin", "euler", "feynman", "hopper", "lovelace", "noether", "turing")


def random_name() -> str:
    """``adjective_surname`` as dockerd's namesgenerator."""
    return f"{secrets.choice(_ADJ)}_{secrets.choice(_NOUN)}"
