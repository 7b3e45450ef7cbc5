# SPDX-License-Identifier: MIT
"""``[sensor.elasticsearch]``: the Elasticsearch trap.

The defaults describe a real release (8.11.3, its build hash, date and Lucene version as the
real ``GET /`` prints them), so that a scanner comparing the version with its build finds
nothing odd. Change ``version`` and the build fields together.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from honeyfarm.sensor.trap import Strict, TrapConfig


class FakeIndex(Strict):
    """One index the trap claims to hold (``_cat/indices``, ``_mapping``, ``_search`` hits)."""

    name: str = Field(min_length=1, max_length=255, description="Index name.")
    docs: Annotated[int, Field(ge=0)] = Field(0, description="`docs.count` shown.")
    store_bytes: Annotated[int, Field(ge=0)] = Field(249, description="`store.size` shown, in bytes.")


def _default_indices() -> list[FakeIndex]:
    return [
        FakeIndex(name="customers", docs=1842, store_bytes=812_544),
        FakeIndex(name="orders-2024", docs=25_318, store_bytes=9_437_184),
        FakeIndex(name="logs-app", docs=318_204, store_bytes=77_594_624),
    ]


class ElasticsearchConfig(TrapConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:9200"], description="`host:port` addresses.")
    cluster_name: str = Field(
        "docker-cluster",
        min_length=1,
        max_length=128,
        description="`cluster_name` shown (the official Docker image's default; `elasticsearch` for deb/rpm).",
    )
    node_name: str = Field(
        "",
        max_length=128,
        description="`name` of the node. Empty: a container id (`build_type` docker), else the persona's hostname.",
    )
    cluster_uuid: str = Field(
        "", max_length=64, description="`cluster_uuid`. Empty: derived from the sensor's name (stable per sensor)."
    )
    version: str = Field("8.11.3", pattern=r"^\d+\.\d+\.\d+$", description="Elasticsearch version claimed.")
    build_type: Literal["docker", "deb", "rpm", "tar", "zip"] = Field("docker", description="`version.build_type`.")
    build_hash: str = Field(
        "64cf052f3b56b1fd4449f5454cb88aca7e739d9a", max_length=64, description="`version.build_hash` of `version`."
    )
    build_date: str = Field(
        "2023-12-08T11:33:53.634979452Z", max_length=64, description="`version.build_date` of `version`."
    )
    lucene_version: str = Field("9.8.0", max_length=32, description="`version.lucene_version` of `version`.")
    minimum_wire_compatibility_version: str = Field("7.17.0", max_length=32, description="As the real `GET /`.")
    minimum_index_compatibility_version: str = Field("7.0.0", max_length=32, description="As the real `GET /`.")
    indices: list[FakeIndex] = Field(
        default_factory=_default_indices, max_length=64, description="Indices the node claims to hold."
    )
    legacy_http10_headers: bool = Field(
        False,
        description="Answer HTTP/1.0 requests with 7.x's headers (no `X-elastic-product`, JSON with "
        "`charset=UTF-8`): what nmap 7.93's probes name \"Elasticsearch REST API\". Off: 8.x's headers, "
        "which nmap does not recognise, for this trap as for a real 8.x node.",
    )
    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        256 * 1024, description="Largest request body read; a longer one is answered 413 (its start is logged)."
    )
    max_inflight_body_bytes: Annotated[int, Field(ge=65536)] = Field(
        16 * 1024 * 1024,
        description="Request bodies held by all connections at once; past it a body is read only to its "
        "first 16 KiB and answered 413 (bounds memory under a flood of large bodies).",
    )
    max_line_bytes: Annotated[int, Field(ge=256)] = Field(
        4096, description="Longest request line (Elasticsearch's default)."
    )
    max_header_bytes: Annotated[int, Field(ge=256)] = Field(
        8192, description="Longest header field (Elasticsearch's default)."
    )
    max_headers: Annotated[int, Field(ge=8)] = Field(64, description="Most header fields in one request.")
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Close a connection that sends nothing this long (also mid-request: no slowloris)."
    )
    max_connection_time: Annotated[float, Field(gt=0)] = Field(
        600.0, description="Close any connection this old, however busy."
    )
    max_requests_per_connection: Annotated[int, Field(ge=1)] = Field(
        1000, description="Requests served on one keep-alive connection before it is closed."
    )
