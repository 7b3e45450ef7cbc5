# SPDX-License-Identifier: MIT
"""What a persona is given (one parsed request) and what it gives back (one reply).

A persona answers with the header list in the order and case its real server writes them, and
says whether the connection ends; the server only puts it on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Req:
    method: str
    target: str  # as sent: path and query, percent-encoded
    path: str  # raw path (absolute-form targets reduced to their path)
    query: str
    version: tuple[int, int]
    headers: list[tuple[str, str]]
    body: bytes
    local_port: int
    tls: bool
    nth: int = 1  # this request's number on its connection
    uri_host: str | None = None  # host of an absolute-form target (GET http://h/ ...)
    body_too_large: bool = False

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def tokens(self, name: str) -> set[str]:
        """Comma-separated tokens of every ``name`` header, lower-cased (Connection, Accept-Encoding)."""
        low = name.lower()
        values = [v for k, v in self.headers if k.lower() == low]
        return {t.split(";")[0].strip().lower() for v in values for t in v.split(",")}


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    close: bool = False
    reason: str | None = None
    send_body: bool = True  # False for HEAD: headers as for GET, no body
    extra: dict[str, object] = field(default_factory=dict)  # what the event should add (e.g. credentials)


class Persona(Protocol):
    """A web server the trap claims to be."""

    server: str

    def respond(self, req: Req, outputs: list[str], now: float) -> Reply:
        """The answer to a well-formed request; ``outputs`` is what an exploit's probe command would print."""
        ...

    def bad_request(self, kind: str, local_port: int, now: float) -> Reply:
        """The answer to a request that could not be parsed (``kind``: "line", "uri_too_long",
        "field_too_long", "too_many_fields", "body_too_large", "timeout", "plain_on_tls")."""
        ...
