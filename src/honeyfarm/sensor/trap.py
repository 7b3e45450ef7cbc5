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

    def binds(self, transport: str) -> list[tuple[str, str]]:
        """``(address, transport)`` of every socket, in :meth:`addresses` order; a trap that serves
        both transports (SIP) says which address is which, the others use their spec's."""
        return [(a, transport) for a in self.addresses()]


Port = Annotated[int, Field(ge=0, le=65535)]


class StreamConfig(TrapConfig):
    """Keys every TCP trap built on :class:`StreamTrap` has."""

    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Close a connection that sends nothing this long (also mid-message: no slowloris)."
    )
    max_connection_time: Annotated[float, Field(gt=0)] = Field(
        600.0, description="Close any connection this old, however busy."
    )


class DatagramConfig(TrapConfig):
    """Keys every UDP trap built on :class:`DatagramTrap` has."""

    max_datagram_bytes: Annotated[int, Field(ge=512, le=65535)] = Field(
        8192, description="Longer datagrams are dropped (counted in `honeyfarm.sensor.refused`-style stats)."
    )
    max_packets_per_second: Annotated[int, Field(ge=1)] = Field(
        50, description="Datagrams handled per source address per second; the rest are dropped unanswered."
    )


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
