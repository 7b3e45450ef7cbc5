# SPDX-License-Identifier: MIT
"""``[sensor.docker]``: the Docker Engine API trap (an unauthenticated dockerd on tcp/2375).

The persona defaults to Debian 12's ``docker.io`` 20.10.24+dfsg1 (API 1.41) on a small cloud VM.
Every size an attacker controls has a cap here; connections per address are capped for all
traps at once by ``[sensor.limits]`` (``max_per_ip``, ``max_connections``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from honeyfarm.sensor.trap import TrapConfig

KiB = 1024


class DockerConfig(TrapConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:2375"], description="`host:port` addresses.")
    # --- persona (what /version, /info and the headers claim) -------------------------------------
    version: str = Field("20.10.24+dfsg1", description="Engine version (`Server: Docker/<version> (linux)`).")
    api_version: str = Field("1.41", pattern=r"^1\.\d{2}$", description="Highest API version (`Api-Version`).")
    min_api_version: str = Field("1.12", pattern=r"^1\.\d{2}$", description="Lowest API version accepted.")
    git_commit: str = Field("5d6db84", description="`GitCommit` of the engine in /version.")
    go_version: str = Field("go1.19.8", description="`GoVersion` in /version.")
    containerd_version: str = Field("1.6.20~ds1", description="containerd version in /version and /info.")
    runc_version: str = Field("1.1.5+ds1", description="runc version in /version and /info.")
    hostname: str = Field(
        "", pattern=r"^([A-Za-z0-9][A-Za-z0-9.-]{0,62})?$", description="/info `Name`; empty = the persona's hostname."
    )
    operating_system: str = Field("Debian GNU/Linux 12 (bookworm)", description="/info `OperatingSystem`.")
    os_version: str = Field("12", description="/info `OSVersion`.")
    kernel_version: str = Field("", description="/version and /info `KernelVersion`; empty = the persona's kernel.")
    cpus: Annotated[int, Field(ge=0, le=1024)] = Field(0, description="/info `NCPU`; 0 = the persona's CPU count.")
    mem_bytes: Annotated[int, Field(ge=0)] = Field(0, description="/info `MemTotal`; 0 = the persona's memory.")
    images: list[str] = Field(
        default_factory=lambda: ["nginx:latest", "redis:7"],
        description="Images every visitor finds already present (`docker images`); others are 'pulled' on demand.",
    )
    # --- caps --------------------------------------------------------------------------------------
    max_body_bytes: Annotated[int, Field(ge=4 * KiB, le=64 * 1024 * KiB)] = Field(
        256 * KiB, description="Largest request body read (JSON of a create); past it the connection is closed."
    )
    max_log_body_bytes: Annotated[int, Field(ge=256)] = Field(
        8 * KiB, description="Request body bytes kept in `docker.request.received`."
    )
    max_stdin_bytes: Annotated[int, Field(ge=1024)] = Field(
        256 * KiB, description="Standard input read from an attach or exec stream (a piped script)."
    )
    max_line_size: Annotated[int, Field(ge=1024, le=1024 * KiB)] = Field(
        8190, description="Longest request line (dockerd: headers up to 1 MiB in all)."
    )
    max_field_size: Annotated[int, Field(ge=1024, le=1024 * KiB)] = Field(16 * KiB, description="Longest header.")
    max_headers: Annotated[int, Field(ge=8, le=1000)] = Field(100, description="Most headers in one request.")
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        120.0, description="Close a connection with no complete request this long (dockerd has none)."
    )
    stream_timeout: Annotated[float, Field(gt=0)] = Field(
        300.0, description="Longest a hijacked attach/exec stream or a /wait stays open."
    )
    max_requests: Annotated[int, Field(ge=1)] = Field(10_000, description="Requests per connection before it closes.")
    max_containers: Annotated[int, Field(ge=1, le=10_000)] = Field(
        20, description="Fake containers (and as many execs) kept per source address; the oldest are forgotten."
    )
    max_addresses: Annotated[int, Field(ge=1)] = Field(
        500, description="Source addresses whose fake state (containers, pulled images) is kept; LRU."
    )
