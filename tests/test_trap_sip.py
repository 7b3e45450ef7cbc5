# SPDX-License-Identifier: MIT
"""The SIP trap against real VoIP tools on loopback: SIPVicious (svmap, svwar), sipsak, nmap.

One sensor serves udp and tcp on the same port. svmap must read the Asterisk persona's ``Server``,
svwar must find no extension to enumerate, sipsak's digest REGISTER must be logged with a response
that verifies against the password it used (and as a hashcat 11400 line that does too), a raw tcp
OPTIONS is answered and framed by ``sip.session.*``, udp answers go only to the datagram's source
and stay under 3x its size, seeded fuzz over both transports leaves the trap answering, and nmap's
``sip-methods`` lists the Allow methods while ``-sV`` names Asterisk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sensorutil import SensorProc, free_port, need, run_sensor, stop_process, wait_port

PERSONA = "Asterisk PBX 20.6.0"
Sensor = tuple[SensorProc, int, "subprocess.Popen[bytes] | None"]


def _nmap_udp(port: int, out: Path) -> subprocess.Popen[bytes] | None:
    """nmap's udp service scan waits out every probe Asterisk ignores (~30 s): it runs beside the
    other tests and is read by the last one."""
    if need("nmap") is not None or os.geteuid() != 0:
        return None
    cmd = ["nmap", "-n", "-Pn", "-sU", "-sV", "-p", str(port), "--script", "+sip-methods", "-oN", str(out), "127.0.0.1"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sensor]:
    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.sip": {
            "enabled": True,
            "listen": [f"127.0.0.1:{port}"],
            "tcp_listen": [f"127.0.0.1:{port}"],
            "accept_register": True,
            "max_packets_per_second": 5000,  # the fuzz and the scanners share 127.0.0.1
        },
        "sensor.credentials": {"policy": "userdb", "userdb": ["200:x:200", "*:x:!*"]},
        "sensor.limits": {"max_per_ip": 400},
    }
    work = tmp_path_factory.mktemp("sip")
    with run_sensor(work, overrides) as sp:
        wait_port(port, proc=sp.proc)
        sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.start" for e in evs))
        nmap = _nmap_udp(port, work / "nmap.txt")
        try:
            yield sp, port, nmap
        finally:
            if nmap is not None:
                stop_process(nmap)


def sip_events(sp: SensorProc, eventid: str, **match: Any) -> list[dict[str, Any]]:
    out = []
    for e in sp.events():
        if e["eventid"] != eventid:
            continue
        extra = e.get("extra") or {}
        if all(e.get(k, extra.get(k)) == v for k, v in match.items()):
            out.append(e)
    return out


def wait_events(sp: SensorProc, eventid: str, timeout: float = 10.0, **match: Any) -> list[dict[str, Any]]:
    sp.wait_for(lambda _evs: bool(sip_events(sp, eventid, **match)), timeout=timeout)
    return sip_events(sp, eventid, **match)


def options(call_id: str, via: str = "SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-t1;rport", **extra: str) -> bytes:
    lines = [
        "OPTIONS sip:100@127.0.0.1 SIP/2.0",
        f"Via: {via}",
        "From: <sip:probe@127.0.0.1>;tag=abc123",
        "To: <sip:100@127.0.0.1>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        "Max-Forwards: 70",
        *(f"{k}: {v}" for k, v in extra.items()),
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def udp_exchange(port: int, data: bytes, timeout: float = 3.0) -> tuple[bytes, tuple[str, int]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, ("127.0.0.1", port))
        got, addr = s.recvfrom(65535)
        return got, addr


def tcp_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf


def run(cmd: list[str], timeout: float = 30.0) -> str:
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    return (p.stdout + p.stderr).decode(errors="replace")


# --- real tools ----------------------------------------------------------------------------------


@pytest.mark.skipif(need("svmap") is not None, reason=need("svmap") or "")
def test_svmap_reads_the_asterisk_persona(sensor: Sensor) -> None:
    sp, port, _ = sensor
    out = run(["svmap", "127.0.0.1", "-p", str(port)])
    assert PERSONA in out, out
    ev = wait_events(sp, "sip.request.received", method="OPTIONS", scanner="sipvicious")[-1]
    assert ev["client_version"] == "friendly-scanner"
    assert ev["transport"] == "udp" and ev["extra"]["answer"] == 200


@pytest.mark.skipif(need("svwar") is not None, reason=need("svwar") or "")
def test_svwar_finds_no_extension_to_enumerate(sensor: Sensor) -> None:
    """Asterisk's artificial endpoint challenges any user alike, so svwar has nothing to tell apart."""
    sp, port, _ = sensor
    for method in ("REGISTER", "INVITE", "OPTIONS"):
        out = run(["svwar", "-m", method, "-e100-110", "127.0.0.1", "-p", str(port)])
        assert "found nothing" in out, out
        assert "exists" not in out, out
    reg = wait_events(sp, "sip.request.received", method="REGISTER", scanner="sipvicious")
    assert {e["extra"]["answer"] for e in reg} == {401}
    wait_events(sp, "sip.request.received", method="INVITE", scanner="sipvicious", answer=401)


@pytest.mark.skipif(need("sipsak") is not None, reason=need("sipsak") or "")
def test_sipsak_options_gets_200_ok(sensor: Sensor) -> None:
    sp, port, _ = sensor
    out = run(["sipsak", "-vv", "-s", f"sip:100@127.0.0.1:{port}"])
    assert "SIP/2.0 200 OK" in out and f"Server: {PERSONA}" in out, out
    ev = wait_events(sp, "sip.request.received", method="OPTIONS", scanner="sipsak")[-1]
    assert ev["client_version"].startswith("sipsak")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _verify_hashcat(line: str, password: str) -> bool:
    """Recompute hashcat mode 11400 from its own fields (module_11400.c's construction)."""
    f = line.split("*")
    assert f[0] == "$sip$" and len(f) == 15 and f[13] == "MD5"
    user, realm, method, prefix, resource, suffix, nonce, cnonce, nc, qop = f[3:13]
    uri = ":".join(x for x in (prefix, resource, suffix) if x)
    ha1, ha2 = _md5(f"{user}:{realm}:{password}"), _md5(f"{method}:{uri}")
    want = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}" if qop else f"{ha1}:{nonce}:{ha2}")
    return want == f[14]


# hashcat's own self-test vector for mode 11400 (ST_HASH/ST_PASS in src/modules/module_11400.c).
HASHCAT_ST = (
    "$sip$*72087*1215344588738747***342210558720*737232616*1215344588738747*8867133055*65600****MD5*"
    "e9980869221f9d1182c83b0d5e56a7db"
)


def test_hashcat_check_follows_hashcat() -> None:
    assert _verify_hashcat(HASHCAT_ST, "hashcat") and not _verify_hashcat(HASHCAT_ST, "hashcax")


@pytest.mark.skipif(need("sipsak") is not None, reason=need("sipsak") or "")
def test_sipsak_register_digest_is_captured_and_verifies(sensor: Sensor) -> None:
    sp, port, _ = sensor
    out = run(["sipsak", "-vv", "-U", "-a", "secret", "-u", "100", "-s", f"sip:100@127.0.0.1:{port}"])
    assert "401 Unauthorized" in out and 'realm="asterisk"' in out, out
    ev = wait_events(sp, "sip.login.failed", username="100")[-1]
    x = ev["extra"]
    assert x["realm"] == "asterisk" and x["method"] == "REGISTER" and x["qop"] == "auth"
    ha1 = _md5("100:asterisk:secret")
    ha2 = _md5(f"REGISTER:{x['uri']}")
    assert _md5(f"{ha1}:{x['nonce']}:{x['nc']}:{x['cnonce']}:auth:{ha2}") == x["response"]
    assert ev["password"] == "secret"  # one of guess_passwords
    assert _verify_hashcat(x["hashcat"], "secret") and not _verify_hashcat(x["hashcat"], "secret2")
    assert ev["transport"] == "udp"


@pytest.mark.skipif(need("sipsak") is not None, reason=need("sipsak") or "")
def test_register_accepted_by_the_policy_gets_200(sensor: Sensor) -> None:
    sp, port, _ = sensor
    out = run(["sipsak", "-vv", "-U", "-a", "200", "-u", "200", "-s", f"sip:200@127.0.0.1:{port}"])
    assert "All usrloc tests completed successful" in out, out
    ev = wait_events(sp, "sip.login.success", username="200")[-1]
    assert ev["password"] == "200" and ev["extra"]["hashcat"].startswith("$sip$*")


@pytest.mark.skipif(need("svcrack") is not None, reason=need("svcrack") or "")
def test_svcrack_guesses_are_logged_with_their_passwords(sensor: Sensor) -> None:
    """svcrack tries the extension itself, then the range: each wrong digest is challenged again (as
    pjsip does), and the guesses in guess_passwords come out in clear."""
    sp, port, _ = sensor
    out = run(["svcrack", "-u", "101", "-r", "1233-1235", "127.0.0.1", "-p", str(port)])
    assert "found nothing" in out, out
    sp.wait_for(lambda _e: len(sip_events(sp, "sip.login.failed", username="101")) >= 4)
    tried = sip_events(sp, "sip.login.failed", username="101")
    assert {e.get("password") for e in tried} >= {"101", "1234"}
    for e in tried:
        if e.get("password"):
            assert _verify_hashcat(e["extra"]["hashcat"], e["password"])
    assert all(e["extra"]["hashcat"].startswith("$sip$*") for e in tried)


# --- tcp and the wire ----------------------------------------------------------------------------


def test_tcp_options_is_answered_inside_a_session(sensor: Sensor) -> None:
    sp, port, _ = sensor
    ans = tcp_exchange(port, options("tcp-1", via="SIP/2.0/TCP 198.51.100.7:5060;branch=z9hG4bK-tcp1"))
    text = ans.decode()
    assert text.startswith("SIP/2.0 200 OK\r\n"), text
    assert "Via: SIP/2.0/TCP 198.51.100.7:5060;received=127.0.0.1;branch=z9hG4bK-tcp1\r\n" in text
    assert "To: <sip:100@127.0.0.1>;tag=z9hG4bK-tcp1\r\n" in text
    assert "Call-ID: tcp-1\r\nFrom: <sip:probe@127.0.0.1>;tag=abc123\r\n" in text
    assert "CSeq: 1 OPTIONS\r\n" in text and "Allow: OPTIONS, REGISTER," in text
    assert text.endswith(f"Server: {PERSONA}\r\nContent-Length:  0\r\n\r\n")
    req = wait_events(sp, "sip.request.received", call_id="tcp-1")[-1]
    assert req["transport"] == "tcp"
    closed = wait_events(sp, "sip.session.closed", session=req["session"])[-1]
    assert closed["extra"]["requests"] == 1
    assert sip_events(sp, "sip.session.connect", session=req["session"])


def test_tcp_caps_close_the_connection(sensor: Sensor) -> None:
    sp, port, _ = sensor
    huge_head = b"OPTIONS sip:x SIP/2.0\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n"
    big_body = options("tcp-big").replace(b"Content-Length: 0", b"Content-Length: 999999")
    for data in (huge_head, big_body):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            with contextlib.suppress(ConnectionResetError):  # closed with our bytes unread: a reset
                assert s.recv(100) == b""  # closed without an answer

    def reasons() -> list[str]:
        return [e["extra"]["reason"] for e in sip_events(sp, "sip.session.closed")]

    sp.wait_for(lambda _e: any("header block over 8192" in r for r in reasons()))
    sp.wait_for(lambda _e: any("body of 999999 bytes" in r for r in reasons()))


def test_udp_answers_only_the_source_and_never_amplifies(sensor: Sensor) -> None:
    sp, port, _ = sensor
    # A Via naming someone else (a spoofing attacker's victim) changes nothing: the answer comes back here.
    req = options("udp-1", via="SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-u1;rport", **{"User-Agent": "sipcli/v1.8"})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.bind(("127.0.0.1", 0))
        s.sendto(req, ("127.0.0.1", port))
        ans, _ = s.recvfrom(65535)
        mine = s.getsockname()[1]
    text = ans.decode()
    assert f"Via: SIP/2.0/UDP 192.0.2.9:5060;rport={mine};received=127.0.0.1;branch=z9hG4bK-u1\r\n" in text
    assert len(ans) <= 3 * len(req)
    ev = wait_events(sp, "sip.request.received", call_id="udp-1")[-1]
    assert ev["extra"]["scanner"] == "sipcli"
    # A minimal request: the answer drops its optional headers, or is not sent at all.
    tiny = b"OPTIONS sip:a SIP/2.0\r\nv: SIP/2.0/UDP h\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\ni: ut\r\n"
    tiny += b"CSeq: 1 OPTIONS\r\n\r\n"
    small = tiny.replace(b"i: ut", b"i: udp-small-" + b"x" * 60)
    got, _ = udp_exchange(port, small)
    assert len(got) <= 3 * len(small) and b"Accept:" not in got and b"Allow:" in got
    with pytest.raises(TimeoutError):
        udp_exchange(port, tiny, timeout=1.0)
    wait_events(sp, "sip.request.received", call_id="ut", answer=200, suppressed=True)


# --- hostile input ---------------------------------------------------------------------------------

SEEDS = [
    options("fz"),
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-r;rport\r\n"
    b'From: "100" <sip:100@h>;tag=1\r\nTo: <sip:100@h>\r\nCall-ID: fz-r\r\nCSeq: 2 REGISTER\r\n'
    b'Authorization: Digest username="100", realm="asterisk", nonce="1/ab", uri="sip:h", response="'
    + b"0" * 32
    + b'", qop=auth, nc=00000001, cnonce="x"\r\nContent-Length: 0\r\n\r\n',
    b"INVITE sip:100@h SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1\r\nf: <sip:a@h>;tag=2\r\nt: <sip:100@h>\r\n"
    b"i: fz-i\r\nCSeq: 1 INVITE\r\nc: application/sdp\r\nl: 27\r\n\r\nv=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(6)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[i % len(b)] = rng.randrange(256)
        elif op == 1:
            b[i:i] = rng.choice([b"\r\n", b":", b";", b",", b'"', b"\x00", b" ", b"\r\n\r\n", b"\t"])
        elif op == 2:
            del b[i : i + rng.randint(1, 40)]
        elif op == 3:
            b[i:i] = rng.choice([b"Content-Length: 99999\r\n", b"l: -1\r\n", b"Via: \r\n", b"CSeq: x\r\n"])
        elif op == 4:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        else:
            b = b[: rng.randrange(len(b) + 1)]
    return bytes(b)


def test_fuzz_udp_and_tcp_leave_the_trap_answering(sensor: Sensor) -> None:
    sp, port, _ = sensor
    rng = random.Random(14_6)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        for n in range(600):
            data = mutate(rng, rng.choice(SEEDS)) if n % 5 else bytes(rng.randrange(256) for _ in range(200))
            s.sendto(data[:8000] or b"x", ("127.0.0.1", port))
            if n % 50 == 0:
                time.sleep(0.02)
    for _ in range(40):
        data = b"".join(mutate(rng, rng.choice(SEEDS)) for _ in range(rng.randint(1, 4)))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.settimeout(0.3)
            try:
                c.sendall(data)
                c.shutdown(socket.SHUT_WR)
                while c.recv(65536):
                    pass
            except (TimeoutError, ConnectionError):
                pass
    assert sp.proc is not None and sp.proc.poll() is None
    assert udp_exchange(port, options("after-fuzz-udp"))[0].startswith(b"SIP/2.0 200 OK")
    assert tcp_exchange(port, options("after-fuzz-tcp")).startswith(b"SIP/2.0 200 OK")
    evs = sip_events(sp, "sip.request.received")
    assert sum(1 for e in evs if e["extra"].get("malformed")) >= 100
    errors = [e for e in sip_events(sp, "sip.session.closed") if e["extra"]["reason"].startswith("error")]
    assert errors == []
    log = (sp.workdir / "sensor.log").read_text(errors="replace")
    assert "sip trap" not in log  # no parser exception reached the base class


# --- nmap (last: its udp service scan has been running since the sensor started) -----------------


def test_nmap_sip_methods_and_version_name_asterisk(sensor: Sensor) -> None:
    sp, port, nmap = sensor
    if nmap is None:
        pytest.skip(need("nmap") or "nmap's udp scan needs raw sockets (root)")
    nmap.wait(90)
    text = (sp.workdir / "nmap.txt").read_text(errors="replace")
    assert re.search(rf"{port}/udp\s+open\s+sip-proxy\s+Asterisk PBX 20\.6\.0", text), text
    assert "sip-methods: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE" in text, text
