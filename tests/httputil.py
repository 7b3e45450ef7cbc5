# SPDX-License-Identifier: MIT
"""Real peers and raw-socket helpers for the web trap's tests.

:func:`run_real_apache` starts Debian's ``/usr/sbin/apache2`` on a free loopback port with a copy
of the stock ``/etc/apache2`` (every module and conf Debian enables, ``envvars`` values passed in the
environment), its DocumentRoot a temp copy of the default page, pid file, lock and logs in the temp
dir, as user ``nobody`` when the test runs as root. One change to the stock settings:
``/server-status`` is ``Require local`` on Debian, which a loopback client satisfies; the copy asks
for an address no test uses, so the test sees what a remote client sees (403).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sensorutil import free_port, stop_process, wait_port

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"

APACHE = Path("/usr/sbin/apache2")
DEFAULT_PAGE = Path("/usr/share/apache2/default-site/index.html")


@dataclass
class RealApache:
    port: int
    root: Path
    proc: subprocess.Popen[bytes]
    tls_port: int | None = None


def apache_available() -> str | None:
    if not APACHE.exists() or not Path("/etc/apache2/apache2.conf").exists():
        return "apache2 is not installed (scripts/install-system-deps.sh installs it)"
    return None


@contextlib.contextmanager
def run_real_apache(workdir: Path, tls: bool = False) -> Iterator[RealApache]:
    """``tls``: also Debian's ``default-ssl`` site (mod_ssl, a self-signed certificate) on a second port."""
    port = free_port()
    tls_port = free_port() if tls else None
    unprivileged = os.geteuid() == 0
    # pytest's temp dirs are private to root: user nobody gets a directory of its own under /tmp.
    root = Path(tempfile.mkdtemp(prefix="hf-apache-")) if unprivileged else workdir / "apache"
    shutil.copytree("/etc/apache2", root / "conf", symlinks=False)
    conf = root / "conf"
    html = root / "www" / "html"
    html.mkdir(parents=True)
    shutil.copy2(DEFAULT_PAGE, html / "index.html")
    (conf / "ports.conf").write_text(f"Listen 127.0.0.1:{port}\n", encoding="utf-8")
    site = (conf / "sites-enabled" / "000-default.conf").read_text(encoding="utf-8")
    site = site.replace("/var/www/html", str(html)).replace("<VirtualHost *:80>", f"<VirtualHost *:{port}>")
    site += (
        f"<Directory {root}/www/>\n\tOptions Indexes FollowSymLinks\n\tAllowOverride None\n"
        "\tRequire all granted\n</Directory>\n"
    )
    (conf / "sites-enabled" / "000-default.conf").write_text(site, encoding="utf-8")
    if tls_port is not None:
        from honeyfarm.sensor.traps.http.cert import ensure_cert

        for m in ("ssl.load", "ssl.conf", "socache_shmcb.load"):
            shutil.copy(conf / "mods-available" / m, conf / "mods-enabled" / m)
        cert, key = ensure_cert(root / "tls", "web-01")
        with (conf / "ports.conf").open("a", encoding="utf-8") as f:
            f.write(f"Listen 127.0.0.1:{tls_port}\n")
        ssl_site = (conf / "sites-available" / "default-ssl.conf").read_text(encoding="utf-8")
        ssl_site = ssl_site.replace("/var/www/html", str(html))
        ssl_site = ssl_site.replace("<VirtualHost *:443>", f"<VirtualHost *:{tls_port}>")
        ssl_site = ssl_site.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", str(cert))
        ssl_site = ssl_site.replace("/etc/ssl/private/ssl-cert-snakeoil.key", str(key))
        (conf / "sites-enabled" / "default-ssl.conf").write_text(ssl_site, encoding="utf-8")
    status = conf / "mods-enabled" / "status.conf"
    status.write_text(status.read_text(encoding="utf-8").replace("Require local", "Require ip 192.0.2.1"))
    for d in ("run", "lock", "log"):
        (root / d).mkdir()
    if unprivileged:
        for p in [root, *root.rglob("*")]:
            os.chown(p, 65534, 65534)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C",
        "APACHE_CONFDIR": str(conf),
        "APACHE_RUN_USER": "nobody",
        "APACHE_RUN_GROUP": "nogroup",
        "APACHE_PID_FILE": str(root / "run" / "apache2.pid"),
        "APACHE_RUN_DIR": str(root / "run"),
        "APACHE_LOCK_DIR": str(root / "lock"),
        "APACHE_LOG_DIR": str(root / "log"),
    }
    cmd = [str(APACHE), "-d", str(conf), "-f", str(conf / "apache2.conf"), "-DFOREGROUND"]
    if unprivileged:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    with (root / "stderr.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
        try:
            wait_port(port, proc=proc)
            if tls_port is not None:
                wait_port(tls_port, proc=proc)
            yield RealApache(port, root, proc, tls_port)
        finally:
            stop_process(proc)
            if unprivileged:
                shutil.copytree(root / "log", workdir / "apache-log", dirs_exist_ok=True)
                shutil.rmtree(root, ignore_errors=True)


def raw_request(port: int, data: bytes, *, timeout: float = 10.0, host: str = "127.0.0.1") -> bytes:
    """Send ``data`` and read until the server closes (or ``timeout``): the whole answer, bytes."""
    out = bytearray()
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        deadline = time.monotonic() + timeout
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
    return bytes(out)


@dataclass
class Answer:
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def parse_answer(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return Answer(lines[0], headers, body)


# Ports, and the time-dependent headers of a pipelined request's later answers (in the first answer's body):
# the real server and the trap answer a moment apart, sometimes on either side of a second.
_VOLATILE = re.compile(
    rb"(Port )\d+|(127\.0\.0\.1:)\d+|(\r\nDate: )[^\r\n]*|(\r\nETag: )[^\r\n]*|(\r\nLast-Modified: )[^\r\n]*"
)


def normalise(a: Answer) -> tuple[str, list[tuple[str, str]], bytes]:
    """What must be equal: status line, header names in order with values (time-dependent ones
    blanked), body with ports blanked."""
    hs = []
    for k, v in a.headers:
        if k.lower() in ("date", "etag", "last-modified"):
            v = "*"
        if k.lower() == "keep-alive":
            v = re.sub(r"max=\d+", "max=*", v)
        hs.append((k, v))
    return a.status_line, hs, _VOLATILE.sub(lambda m: next(g for g in m.groups() if g is not None) + b"*", a.body)


# --- probes for the differential test: raw requests, as a scanner or a broken client sends them -----------

C = b"Connection: close\r\n"
PROBES: list[tuple[str, bytes]] = [
    ("get", b"GET / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("index.html", b"GET /index.html HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("query", b"GET /?x=1 HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("http/1.0", b"GET / HTTP/1.0\r\n\r\n"),
    ("keep-alive 1.0", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    ("head", b"HEAD / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("head 404", b"HEAD /nope HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("http/2.0 line", b"GET / HTTP/2.0\r\nHost: x\r\n" + C + b"\r\n"),
    ("lf only", b"GET / HTTP/1.1\nHost: x\nConnection: close\n\n"),
    ("pipelined", b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    (
        "chunked post",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + C + b"\r\n3\r\nabc\r\n0\r\n\r\n",
    ),
    ("space in uri", b"GET /a b HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("header without colon", b"GET / HTTP/1.1\r\nHost: x\r\nBroken\r\n" + C + b"\r\n"),
    (
        "if-modified-since",
        b"GET / HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sat, 01 Jan 2050 00:00:00 GMT\r\n" + C + b"\r\n",
    ),
    ("gzip", b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n" + C + b"\r\n"),
    ("304", b"GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n" + C + b"\r\n"),
    ("206", b"GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n" + C + b"\r\n"),
    ("post", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n" + C + b"\r\nabc"),
    ("404", b"GET /nope HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("404 host port", b"GET /nope HTTP/1.1\r\nHost: x:8080\r\n" + C + b"\r\n"),
    ("404 no host", b"GET /nope?a=<b> HTTP/1.0\r\n\r\n"),
    ("404 post", b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n" + C + b"\r\nabc"),
    ("404 absolute", b"GET http://example.com/zz HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("404 icons", b"GET /icons HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("404 nul", b"GET /a%00b HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("404 path info", b"GET /index.html/foo HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("404 cgi-bin", b"GET /cgi-bin/ HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("404 gzip", b"GET /nope HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n" + C + b"\r\n"),
    ("400 garbage", b"garbage\r\n\r\n"),
    ("400 no host", b"GET / HTTP/1.1\r\n\r\n"),
    ("400 bad host", b"GET / HTTP/1.1\r\nHost: bad host\r\n" + C + b"\r\n"),
    ("400 traversal", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("400 encoded traversal", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("400 long header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Foo: " + b"a" * 9000 + b"\r\n" + C + b"\r\n"),
    ("400 many headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n"),
    ("414", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("403 server-status", b"GET /server-status HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("403 htaccess", b"GET /.htaccess HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("403 htpasswd", b"GET /.htpasswd HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("403 icons/", b"GET /icons/ HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("options", b"OPTIONS / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("options 404", b"OPTIONS /nope HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("options *", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("405 trace", b"TRACE / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("405 put", b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n" + C + b"\r\nx"),
    ("405 delete", b"DELETE / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("405 propfind", b"PROPFIND / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("405 connect", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n" + C + b"\r\n"),
    ("405 patch", b"PATCH / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("501 purge", b"PURGE / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("400 star get", b"GET * HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("501 odd method", b"FOO / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
    ("501 lower-case", b"get / HTTP/1.1\r\nHost: x\r\n" + C + b"\r\n"),
]


def comparable(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    status, headers, body = normalise(parse_answer(raw))
    # Apache lists allowed methods from a hash with a per-process seed: the set is what is fixed.
    headers = [(k, ",".join(sorted(v.split(","))) if k == "Allow" else v) for k, v in headers]
    return status, headers, body


TLS_PROBES: list[tuple[str, bytes]] = [
    ("tls get", b"GET / HTTP/1.1\r\nHost: web-01\r\n" + C + b"\r\n"),
    ("tls 404", b"GET /nope HTTP/1.1\r\nHost: web-01\r\n" + C + b"\r\n"),
    ("tls 400", b"GET /../x HTTP/1.1\r\nHost: web-01\r\n" + C + b"\r\n"),
]


@contextlib.contextmanager
def payload_server(root: Path) -> Iterator[int]:
    """A loopback HTTP server with the attacker's files (the download the trap should make)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield int(srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()


def sample_requests() -> list[tuple[str, str, str]]:
    """(method, target, user agent) of the tanner_report and Suricata http samples."""
    out: list[tuple[str, str, str]] = []
    for f in sorted((SAMPLES / "tanner_report").glob("*.json")):
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                e = json.loads(line)
                out.append((e["method"], e["path"], (e.get("headers") or {}).get("user-agent", "")))
    for f in sorted((SAMPLES / "suricata_eve").glob("*.json")):
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                e = json.loads(line)
                if e.get("event_type") == "http" and e["http"].get("url"):
                    h = e["http"]
                    out.append((h.get("http_method") or "GET", h["url"], h.get("http_user_agent") or ""))
    return out
