# SPDX-License-Identifier: MIT
"""The dashboard's security: headers, the bind check, authentication, TLS.

In process (TestClient) for the header and credential matrix; real
``honeyfarm serve`` subprocesses for what only a real server shows (refusing
to bind, no ``Server`` header, auth on the SSE stream, HTTPS). Every network
test talks to 127.0.0.1 only, with bounded waits, and stops its servers.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lakeutil import hf
from pydantic import ValidationError
from webutil import (
    TOTAL_EVENTS,
    Served,
    TestClient,
    build_lake,
    free_port,
    listening,
    serve_env,
    start_serve,
    stop_serve,
)

from honeyfarm.config import ConfigError, load_config
from honeyfarm.views.web.app import CSP, STATIC, create_app
from honeyfarm.views.web.settings import PASSWORD_ENV, TOKEN_ENV, ServeConfig, check_bind, is_loopback, with_env

BASE = "http://127.0.0.1"
TOKEN = "tok-" + "A1b2C3d4" * 4  # 36 characters
PASSWORD = "correct horse battery staple"
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def check_headers(headers: httpx.Headers, hsts: bool = False) -> None:
    for k, v in SECURITY_HEADERS.items():
        assert headers.get(k) == v, (k, headers.get(k))
    assert "permissions-policy" in headers
    assert "server" not in headers, headers.get("server")
    assert re.fullmatch(r"app;dur=\d+\.\d", headers.get("server-timing", "")), headers.get("server-timing")
    if hsts:
        assert headers.get("strict-transport-security") == "max-age=31536000"
    else:
        assert "strict-transport-security" not in headers


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("sec"))


@pytest.fixture(scope="module")
def open_client(lake: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lake, ServeConfig()), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def auth_client(lake: Path) -> Iterator[TestClient]:
    # The failed-login limit (tests/test_dashboard_hardening.py) is lifted: the matrix below fails on purpose.
    cfg = ServeConfig(host="0.0.0.0", token=TOKEN, password=PASSWORD, max_auth_failures=0)
    with TestClient(create_app(lake, cfg), base_url=BASE) as c:
        yield c


# ------------------------------------------------------------------------- headers


def test_csp_is_strict() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == directives["style-src"] == directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == directives["base-uri"] == "'none'"
    assert "unsafe" not in CSP and "*" not in CSP and "http" not in CSP


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/api/meta", 200),
        ("/api/openapi.json", 200),
        ("/api/panels/top-usernames?limit=2", 200),
        ("/static/js/api.js", 200),
        ("/static/vendor/world.geo.json", 200),
        ("/nope", 404),
        ("/api/nope", 404),
        ("/api/panels/no-such-panel", 404),
        ("/api/session?sensor=cow-fra&session=ffffffff", 404),
        ("/static/nope.js", 404),
        ("/api/panels/top-usernames?limit=999", 422),
        ("/api/panels/overview?since=2026-11-21T00:00:00Z&until=2026-11-20T00:00:00Z", 400),
    ],
)
def test_security_headers_on_every_answer(open_client: TestClient, path: str, status: int) -> None:
    if path == "/" and not (STATIC / "index.html").exists():
        pytest.skip("static/index.html is not there (yet)")
    r = open_client.get(path)
    assert r.status_code == status, r.text[:300]
    check_headers(r.headers)
    if status == 200 and path.startswith("/api/"):
        assert r.headers["content-type"].startswith("application/json")
    if path == "/":
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-store"


def test_security_headers_on_refusals(open_client: TestClient, auth_client: TestClient) -> None:
    r = open_client.get("/api/meta", headers={"Host": "evil.example"})
    assert r.status_code == 421
    check_headers(r.headers)
    r = auth_client.get("/api/meta")
    assert r.status_code == 401
    check_headers(r.headers)


def test_hsts_only_with_tls(lake: Path, tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    with TestClient(create_app(lake, ServeConfig(tls_cert=cert, tls_key=key)), base_url=BASE) as c:
        check_headers(c.get("/api/meta").headers, hsts=True)
        check_headers(c.get("/nope").headers, hsts=True)


@pytest.mark.parametrize(
    "path", ["/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/app.py", "/static/..%2f..%2fsettings.py"]
)
def test_static_files_stay_in_static(open_client: TestClient, path: str) -> None:
    r = open_client.get(path)
    assert r.status_code == 404
    assert "import" not in r.text


# ----------------------------------------------------------------------- bind check


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "[::]", "192.168.1.10", "10.1.2.3", "2001:db8::1", "dash.example", ""]
)
def test_check_bind_refuses_non_loopback_without_credentials(host: str) -> None:
    problem = check_bind(ServeConfig(host=host))
    assert problem is not None
    assert TOKEN_ENV in problem and PASSWORD_ENV in problem
    assert check_bind(ServeConfig(host=host, token=TOKEN, insecure=True)) is None
    assert check_bind(ServeConfig(host=host, password=PASSWORD, insecure=True)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_check_bind_allows_loopback(host: str) -> None:
    assert is_loopback(host)
    assert check_bind(ServeConfig(host=host)) is None


def test_credentials_validation_and_environment() -> None:
    for bad in ({"token": "x" * 23}, {"password": "x" * 11}, {"token": ""}, {"username": ""}):
        with pytest.raises(ValidationError):
            ServeConfig.model_validate(bad)
    cfg = with_env(ServeConfig(), {TOKEN_ENV: TOKEN, PASSWORD_ENV: PASSWORD})
    assert (cfg.token, cfg.password, cfg.auth_enabled) == (TOKEN, PASSWORD, True)
    mine = "mine-" + TOKEN
    assert with_env(ServeConfig(token=mine), {TOKEN_ENV: TOKEN}).token == mine  # the file wins
    assert with_env(ServeConfig(), {TOKEN_ENV: ""}).auth_enabled is False
    with pytest.raises(ValidationError):
        with_env(ServeConfig(), {TOKEN_ENV: "short"})
    with pytest.raises(ValidationError):
        with_env(ServeConfig(), {PASSWORD_ENV: "short"})


def test_config_file_serve_table(tmp_path: Path) -> None:
    p = tmp_path / "honeyfarm.toml"
    p.write_text(f'[serve]\nhost = "0.0.0.0"\ntoken = "{TOKEN}"\ntls_cert = "c.pem"\ntls_key = "k.pem"\n')
    cfg = load_config(p, env={}).serve
    assert (cfg.host, cfg.token, cfg.tls_cert, cfg.tls_key) == (
        "0.0.0.0",
        TOKEN,
        tmp_path / "c.pem",
        tmp_path / "k.pem",
    )
    assert check_bind(cfg) is None  # TLS: no --insecure needed
    for body in ('[serve]\ntoken = "short"\n', '[serve]\npassword = "short"\n', '[serve]\ntls_cert = "c.pem"\n',
                 '[serve]\nhots = "0.0.0.0"\n'):  # fmt: skip
        p.write_text(body)
        with pytest.raises(ConfigError):
            load_config(p, env={})


def test_tls_cert_and_key_go_together(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="tls_key"):
        ServeConfig(tls_cert=tmp_path / "c.pem")
    with pytest.raises(ValidationError, match="tls_key"):
        ServeConfig(tls_key=tmp_path / "k.pem")
    assert ServeConfig(tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem").tls_enabled


def lan_address() -> str:
    """A non-loopback address of this machine (no packet is sent), else a private one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            addr = str(s.getsockname()[0])
        except OSError:
            addr = ""
    return addr if addr and not ipaddress.ip_address(addr).is_loopback else "10.255.255.1"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "lan"])
def test_serve_refuses_public_bind_without_credentials(lake: Path, tmp_path: Path, host: str) -> None:
    host = lan_address() if host == "lan" else host
    port = free_port()
    p = hf("serve", "--lake", str(lake), "--host", host, "--port", str(port), cwd=tmp_path, env=serve_env(), timeout=60)
    assert p.returncode != 0
    assert f"refusing to serve on {host}" in p.stderr
    assert TOKEN_ENV in p.stderr and "Traceback" not in p.stderr
    assert "honeyfarm dashboard:" not in p.stderr
    assert not listening(port)


@pytest.mark.parametrize(
    ("args", "env", "config", "message"),
    [
        ([], {TOKEN_ENV: "too-short"}, "", "token"),
        ([], {PASSWORD_ENV: "short"}, "", "password"),
        ([], {}, '[serve]\ntoken = "too-short"\n', "token"),
        ([], {}, '[serve]\npassword = "short"\n', "password"),
        (["--tls-cert", "cert.pem"], {}, "", "tls_key"),
        (["--tls-key", "key.pem"], {}, "", "tls_key"),
    ],
)
def test_serve_rejects_bad_settings(
    lake: Path, tmp_path: Path, args: list[str], env: dict[str, str], config: str, message: str
) -> None:
    (tmp_path / "honeyfarm.toml").write_text(config)
    port = free_port()
    p = hf("serve", "--lake", str(lake), "--port", str(port), *args, cwd=tmp_path, env=serve_env(**env), timeout=60)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr
    assert "honeyfarm dashboard:" not in p.stderr
    assert not listening(port)


# ------------------------------------------------------------------ authentication

BAD_AUTH = [
    None,
    "Bearer wrong-token-wrong-token-wrong-token",
    f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}",
    f"Bearer {PASSWORD}",  # the password is not a token
    "Bearer",
    "Bearer ",
    basic("honeyfarm", "wrong password here"),
    basic("admin", PASSWORD),
    basic("admin", TOKEN),
    basic("honeyfarm", ""),
    basic("", PASSWORD),
    basic("honeyfarm", PASSWORD + "x"),
    "Basic",
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"honeyfarm" + PASSWORD.encode()).decode(),  # no colon
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
    "Basic " + base64.b64encode(f"honeyfarm:{PASSWORD}".encode()).decode()[:-2],  # truncated
    f"Token {TOKEN}",
    f"Digest {TOKEN}",
    TOKEN,
]
GOOD_AUTH = [
    f"Bearer {TOKEN}",
    f"bearer {TOKEN}",
    f"BEARER  {TOKEN} ",
    basic("honeyfarm", TOKEN),
    basic("honeyfarm", PASSWORD),
    "basic " + base64.b64encode(f"honeyfarm:{PASSWORD}".encode()).decode(),
]


@pytest.mark.parametrize("auth", BAD_AUTH, ids=[f"bad{i}" for i in range(len(BAD_AUTH))])
def test_wrong_or_malformed_credentials_are_401(auth_client: TestClient, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    for path in ("/api/meta", "/api/panels/overview", "/api/openapi.json", "/static/js/api.js", "/nope"):
        r = auth_client.get(path, headers=headers)
        assert r.status_code == 401, (path, r.status_code)
        assert r.headers["www-authenticate"].startswith("Basic ")
        assert 'realm="honeyfarm"' in r.headers["www-authenticate"]
        assert "events" not in r.text and "openapi" not in r.text


@pytest.mark.parametrize("auth", GOOD_AUTH, ids=[f"good{i}" for i in range(len(GOOD_AUTH))])
def test_token_and_password_are_accepted(auth_client: TestClient, auth: str) -> None:
    r = auth_client.get("/api/meta", headers={"Authorization": auth})
    assert r.status_code == 200, r.text
    assert r.json()["auth"] is True and r.json()["events"] == TOTAL_EVENTS
    # With credentials there is no Host check (a DNS-rebinding page has no credentials).
    assert auth_client.get("/api/meta", headers={"Authorization": auth, "Host": "dash.example"}).status_code == 200


def test_password_only_and_token_only(lake: Path) -> None:
    with TestClient(create_app(lake, ServeConfig(host="0.0.0.0", password=PASSWORD)), base_url=BASE) as c:
        assert c.get("/api/meta", auth=("honeyfarm", PASSWORD)).status_code == 200
        assert c.get("/api/meta", headers={"Authorization": f"Bearer {PASSWORD}"}).status_code == 401
        assert c.get("/api/meta").status_code == 401
    cfg = ServeConfig(host="0.0.0.0", token=TOKEN, username="ops")
    with TestClient(create_app(lake, cfg), base_url=BASE) as c:
        assert c.get("/api/meta", auth=("ops", TOKEN)).status_code == 200
        assert c.get("/api/meta", auth=("honeyfarm", TOKEN)).status_code == 401
        assert c.get("/api/meta", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_non_ascii_token_works_as_bearer_too(lake: Path) -> None:
    token = "jeton-très-secret-ünïcode-0123"
    with TestClient(create_app(lake, ServeConfig(host="0.0.0.0", token=token)), base_url=BASE) as c:
        basic_auth = b"Basic " + base64.b64encode(f"honeyfarm:{token}".encode())
        assert c.get("/api/meta", headers={"Authorization": basic_auth}).status_code == 200
        assert c.get("/api/meta", headers={"Authorization": b"Bearer " + token.encode()}).status_code == 200


# ------------------------------------------------------------- real servers: auth, TLS


@pytest.fixture(scope="module")
def auth_server(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``honeyfarm serve --host 0.0.0.0 --insecure`` with a token and a password from the environment; reached
    via 127.0.0.1 (its config file lifts the failed-login limit: the tests fail on purpose)."""
    env = serve_env(**{TOKEN_ENV: TOKEN, PASSWORD_ENV: PASSWORD})
    cwd = tmp_path_factory.mktemp("auth")
    (cwd / "honeyfarm.toml").write_text("[serve]\nmax_auth_failures = 0\n")
    srv = start_serve("--lake", str(lake), "--host", "0.0.0.0", "--port", "0", "--insecure", cwd=cwd, env=env)
    try:
        yield srv
    finally:
        stop_serve(srv)


def test_auth_server_starts_on_all_interfaces_with_a_token(auth_server: Served) -> None:
    assert "auth on" in auth_server.output()
    assert re.search(r"http://0\.0\.0\.0:\d+/", auth_server.output())
    with httpx.Client(base_url=auth_server.url, timeout=10) as c:
        r = c.get("/api/meta")
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Basic ")
        check_headers(r.headers)
        for auth in [a for a in BAD_AUTH if a is not None and a == a.strip()]:  # h11 refuses to send the others
            assert c.get("/api/meta", headers={"Authorization": auth}).status_code == 401, auth
        r = c.get("/api/meta", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["auth"] is True
        check_headers(r.headers)
        assert c.get("/api/meta", auth=("honeyfarm", TOKEN)).status_code == 200
        assert c.get("/api/meta", auth=("honeyfarm", PASSWORD)).status_code == 200
        assert c.get("/api/panels/overview", auth=("honeyfarm", PASSWORD)).json()["rows"][0][1] == TOTAL_EVENTS
        assert c.get("/static/js/api.js").status_code == 401
        assert c.get("/static/js/api.js", auth=("honeyfarm", PASSWORD)).status_code == 200


def first_sse_line(c: httpx.Client, headers: dict[str, str]) -> tuple[int, httpx.Headers, str]:
    with c.stream("GET", "/api/live", headers=headers) as r:
        if r.status_code != 200:
            r.read()
            return r.status_code, r.headers, r.text
        for line in r.iter_lines():
            return r.status_code, r.headers, line
    return r.status_code, r.headers, ""


def test_live_stream_requires_auth(auth_server: Served) -> None:
    with httpx.Client(base_url=auth_server.url, timeout=httpx.Timeout(10.0)) as c:
        for headers_sent in (
            {},
            {"Authorization": "Bearer nope-nope-nope-nope-nope-nope"},
            {"Authorization": basic("honeyfarm", "wrong password!")},
        ):
            status, headers, body = first_sse_line(c, headers_sent)
            assert status == 401, headers_sent
            assert headers["www-authenticate"].startswith("Basic ") and "data:" not in body
        status, headers, line = first_sse_line(c, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        assert line == "retry: 3000"
        check_headers(headers)
        status, _, line = first_sse_line(c, {"Authorization": basic("honeyfarm", PASSWORD)})
        assert (status, line) == (200, "retry: 3000")


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "honeyfarm test")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_tls(lake: Path, tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    srv = start_serve(
        "--lake", str(lake), "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key), cwd=tmp_path,
        env=serve_env(),
    )  # fmt: skip
    try:
        assert srv.scheme == "https"
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=srv.url, verify=trust, timeout=10) as c:
            r = c.get("/api/meta")
            assert r.status_code == 200 and r.json()["events"] == TOTAL_EVENTS
            check_headers(r.headers, hsts=True)
            check_headers(c.get("/api/nope").headers, hsts=True)
            assert c.get("/api/meta", headers={"Host": "evil.example"}).status_code == 421
        with httpx.Client(timeout=5) as plain, pytest.raises(httpx.HTTPError):
            plain.get(f"http://127.0.0.1:{srv.port}/api/meta")
        with httpx.Client(timeout=5) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"https://127.0.0.1:{srv.port}/api/meta")  # the system CAs do not know our cert
        assert srv.proc.poll() is None  # a plain-HTTP client does not take the server down
    finally:
        stop_serve(srv)
