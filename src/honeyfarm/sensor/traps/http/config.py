# SPDX-License-Identifier: MIT
"""``[sensor.http]``: the web trap (HTTP and HTTPS).

Every size an attacker controls has a cap here; connections per address are capped for all
traps at once by ``[sensor.limits]`` (``max_per_ip``, ``max_connections``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from honeyfarm.sensor.trap import TrapConfig

KiB = 1024


class HTTPConfig(TrapConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:8080"], description="`host:port` addresses.")
    tls_listen: list[str] = Field(
        default_factory=list,
        description="`host:port` addresses served over TLS (e.g. `0.0.0.0:443`); bound with `listen`, "
        "before the privilege drop.",
    )
    persona: Literal["apache-debian", "router"] = Field(
        "apache-debian",
        description="`apache-debian`: Debian 12's Apache 2.4 default site; `router`: a home router's login page.",
    )
    server_header: str = Field(
        "", description="`Server` header. Default: the persona's (`Apache/2.4.71 (Debian)`, `lighttpd/1.4.59`)."
    )
    server_name: str = Field(
        "127.0.1.1",
        description="Apache's ServerName, printed in error pages when a request has no Host header "
        "(Debian's apache without ServerName uses the address its host name resolves to: 127.0.1.1).",
    )
    cert_host: str = Field(
        "", description="Subject CN and DNS name of the self-signed certificate. Default: the persona's host name."
    )
    cert_dir: Annotated[Path, Field(strict=False)] | None = Field(
        None, description="Where the certificate and key are made on first start. Default: spool/state/http."
    )
    rules_file: Annotated[Path, Field(strict=False)] | None = Field(
        None,
        description="A TOML file of extra exploit rules (`[[rule]]` tables as in the bundled web_rules.toml), "
        "merged over the bundled ones (same `id` replaces).",
    )
    max_line_bytes: Annotated[int, Field(ge=256, le=65536)] = Field(
        8190, description="Longest request line (Apache's LimitRequestLine: 8190)."
    )
    max_field_bytes: Annotated[int, Field(ge=256, le=65536)] = Field(
        8190, description="Longest header line (Apache's LimitRequestFieldSize: 8190)."
    )
    max_headers: Annotated[int, Field(ge=8, le=1000)] = Field(
        100, description="Most header lines in one request (Apache's LimitRequestFields: 100)."
    )
    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        1024 * KiB, description="Largest request body read; larger ones get 413 and the connection is closed."
    )
    log_body_bytes: Annotated[int, Field(ge=0)] = Field(
        4 * KiB, description="Bytes of each body kept in the event (its sha256 covers all of it)."
    )
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        5.0, description="Close a kept-alive connection idle this long (Apache's KeepAliveTimeout: 5)."
    )
    request_timeout: Annotated[float, Field(gt=0)] = Field(
        20.0,
        description="Time to receive a connection's first request head, and any request body "
        "(mod_reqtimeout's 20 s); a slow-loris client is closed after it (later requests: `idle_timeout`).",
    )
    max_requests: Annotated[int, Field(ge=1)] = Field(
        100, description="Requests per connection (Apache's MaxKeepAliveRequests: 100)."
    )
    tls_hello_timeout: Annotated[float, Field(gt=0)] = Field(
        10.0, description="Time for a TLS client to send its ClientHello (fingerprinted: JA3, JA4)."
    )

    def addresses(self) -> list[str]:
        return [*self.listen, *self.tls_listen]  # start() splits them again: HTTP first, then TLS
