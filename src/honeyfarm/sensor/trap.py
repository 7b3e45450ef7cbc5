# SPDX-License-Identifier: MIT
"""The one interface every trap implements, and what the runtime knows of each.

A trap is built from the shared :class:`~honeyfarm.sensor.context.SensorContext` once the
sensor has bound its sockets and dropped privileges, is started on those sockets and is
closed at shutdown. The runtime knows a trap only through its :class:`TrapSpec` in
:data:`honeyfarm.sensor.traps.TRAPS`: the name of its ``[sensor.<name>]`` table (which has
``enabled`` and ``listen``), the module holding its ``build()``, imported only when the trap
is enabled (a quiet sensor does not pay for the others), and the eventids it emits, which
``tests/test_registry.py`` checks against the code under ``traps/<name>/`` and the registry.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext


class Strict(BaseModel):
    """Base of every sensor config table: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TrapConfig(Strict):
    """What the runtime reads of every trap's table; each trap adds its own keys."""

    enabled: bool = Field(False, description="Run this trap.")
    listen: list[str] = Field(default_factory=list, description="`host:port` addresses.")

    def addresses(self) -> list[str]:
        """Every address the runtime binds for this trap before the privilege drop, in the order
        the trap's ``start()`` receives the sockets (a trap with a second kind of port adds it)."""
        return list(self.listen)


Port = Annotated[int, Field(ge=0, le=65535)]


class Trap(Protocol):
    """A running trap: serves connections on the sockets it is given, until closed."""

    async def start(self, socks: list[socket.socket]) -> None: ...

    async def close(self) -> None: ...


Builder = Callable[["SensorContext"], Awaitable[Trap]]


@dataclass(frozen=True)
class TrapSpec:
    name: str  # the [sensor.<name>] table, the key of `listen` in honeyfarm.sensor.start
    module: str  # defines `async def build(ctx) -> Trap`
    eventids: tuple[str, ...]  # every eventid the trap's own modules emit
    transport: Literal["tcp", "udp"] = "tcp"

    def builder(self) -> Builder:
        build: Builder = importlib.import_module(self.module).build
        return build
