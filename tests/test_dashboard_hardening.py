# SPDX-License-Identifier: MIT
"""Timestamps nobody should believe, and a dashboard served off loopback (issue 10, items 4 and 6).

The API refuses time ranges outside ingest's window (``[ingest.min_timestamp,
ingest time + ingest.max_future_seconds]``; ingest's side is in
``tests/test_ingest_time_window.py``) with a 4xx and keeps working on a lake
that already holds such events (written before the window existed); ``honeyfarm
serve`` refuses plain HTTP off loopback without ``--insecure``, rate-limits
wrong credentials, refuses weak secrets without ever printing them, and says
what is wrong in one line. Real ``honeyfarm serve`` subprocesses where the
behaviour is the CLI's; in-process ``TestClient`` for the API.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lakeutil import cowrie, hf, query, write_jsonl, z
from pydantic import ValidationError
from webutil import (
    ABSURD,
    TOTAL_EVENTS,
    TestClient,
    add_event,
    build_lake,
    free_port,
    listening,
    serve_env,
    serving,
    start_serve,
    stop_serve,
)

from honeyfarm.config import Config
from honeyfarm.pipeline import ingest
from honeyfarm.timewindow import TimeWindow
from honeyfarm.validation import describe
from honeyfarm.views.web.app import create_app
from honeyfarm.views.web.live import LiveFeed
from honeyfarm.views.web.ratelimit import AuthFailures
from honeyfarm.views.web.reader import LakeReader
from honeyfarm.views.web.settings import PASSWORD_ENV, TOKEN_ENV, ServeConfig, weak_secret

BASE = "http://127.0.0.1"
TOKEN = "tok-" + "A1b2C3d4" * 4
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


# ------------------------------------------------------------- API: time ranges


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("hard"))


@pytest.fixture(scope="module")
def client(lake: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lake, ServeConfig()), base_url=BASE) as c:
        yield c


#: A value for each required query parameter an endpoint with a time range may have (the IP page, the credential
#: search): the range checks are what is tested, so any valid value does. A new required parameter fails loudly.
REQUIRED_VALUES = {"ip": "203.0.113.7", "q": "root"}
#: Endpoints whose parameters are optional one by one but not all together (the credential drill-down).
ONE_OF_VALUES = {"/api/credentials/detail": "username=root"}


def time_range_urls(client: TestClient) -> list[str]:
    """Every endpoint that takes ``since``/``until``, from the OpenAPI description (a new one is covered too),
    with its required query parameters filled in."""
    spec = client.get("/api/openapi.json").json()
    urls = []
    for path, ops in spec["paths"].items():
        params = ops["get"].get("parameters", [])
        names = {p["name"] for p in params}
        if {"since", "until"} <= names:
            required = [p["name"] for p in params if p.get("required") and p["in"] == "query"]
            query = "&".join(f"{k}={REQUIRED_VALUES[k]}" for k in required) or ONE_OF_VALUES.get(path, "")
            names = ("malware-files", "malware-timeline") if "/malware/" in path else ("overview", "timeline")
            paths = [path.replace("{name}", n) for n in names] if "{name}" in path else [path]
            urls += [f"{p}?{query}" if query else p for p in paths]
    return urls


def get(client: TestClient, url: str, params: dict[str, str]) -> Any:
    """GET ``url`` (which may carry required parameters) with ``params`` added: httpx replaces a URL's query."""
    path, _, query = url.partition("?")
    fixed = dict(kv.split("=", 1) for kv in query.split("&")) if query else {}
    return client.get(path, params={**fixed, **params})


BAD_RANGES = [
    ({"since": "9999-12-31T23:00:01Z"}, 422, "since"),
    ({"since": "0001-01-01T00:00:00+01:00"}, 422, "since"),
    ({"since": "0001-01-01T00:00:00Z"}, 422, "since"),
    ({"since": "1989-12-31T23:59:59Z"}, 422, "since"),
    ({"since": "2262-04-11T23:47:16Z"}, 422, "since"),
    ({"until": "9999-12-31T23:59:59.999999Z"}, 422, "until"),
    ({"until": "9999-12-31T23:00:01"}, 422, "until"),
    ({"until": "0001-01-01T00:00:00+01:00"}, 422, "until"),
    ({"until": "0001-01-01T00:00:00-01:00"}, 422, "until"),  # year 1 in UTC, but before the window
    ({"until": "1970-01-01T00:00:00Z"}, 422, "until"),
    ({"until": "+10000-01-01T00:00:00Z"}, 422, "until"),  # not a datetime Python can hold
    ({"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"}, 400, "since"),
    ({"since": "9999-12-31T23:00:01Z", "until": "0001-01-01T00:00:00+01:00"}, 422, "since"),
]


def test_every_time_range_endpoint_refuses_absurd_ranges(client: TestClient) -> None:
    urls = time_range_urls(client)
    assert {"/api/panels/overview", "/api/panels/timeline", "/api/map", "/api/sensors", "/api/sessions",
            "/api/network/vpc", "/api/network/route53", "/api/live/recent", "/api/live"} <= set(urls)  # fmt: skip
    for url in urls:
        for params, status, name in BAD_RANGES:
            r = get(client, url, params)
            assert r.status_code == status, (url, params, r.status_code, r.text)
            detail = r.json()["detail"]
            assert name in json.dumps(detail), (url, params, detail)


def test_the_window_edges_are_accepted(client: TestClient) -> None:
    window = client.get("/api/meta").json()["window"]
    assert window["since"] == "1990-01-01T00:00:00"
    until = dt.datetime.fromisoformat(window["until"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # not NOW: the module may have been collected long ago
    assert until.time() == dt.time() and now + dt.timedelta(days=1) <= until <= now + dt.timedelta(days=2)
    for url in time_range_urls(client):
        if url == "/api/live":
            continue  # a stream: its refusals are tested above, its answers by the live-feed tests
        for params in ({"since": "1990-01-01T00:00:00Z"}, {"until": window["until"]},
                       {"since": "1990-01-01T00:00:00Z", "until": window["until"]}):  # fmt: skip
            r = get(client, url, params)
            assert r.status_code == 200, (url, params, r.text)
    r = client.get("/api/panels/overview", params={"since": "1990-01-01T00:00:00Z", "until": window["until"]})
    assert r.json()["rows"][0][1] == TOTAL_EVENTS


# ------------------------------------------- a lake written before the window existed


@pytest.fixture(scope="module")
def old_lake(tmp_path_factory: pytest.TempPathFactory, lake: Path) -> Path:
    root = tmp_path_factory.mktemp("old") / "lake"
    shutil.copytree(lake, root)
    for i, ts in enumerate(ABSURD):
        add_event(root, ts, 1_000 + i)
    assert query(root, "SELECT count(*) FROM events")[0][0] == TOTAL_EVENTS + len(ABSURD)
    return root


def test_meta_keeps_now_within_the_window(old_lake: Path) -> None:
    with TestClient(create_app(old_lake, ServeConfig()), base_url=BASE) as c:
        r = c.get("/api/meta")
        assert r.status_code == 200, r.text
        m = r.json()
        assert m["events"] == TOTAL_EVENTS + len(ABSURD) and m["outside_window"] == len(ABSURD)
        # The presets end with the newest hour of believable data, not in 9999.
        assert (m["first_seen"], m["last_seen"]) == ("2026-11-20T08:00:00", "2026-11-21T14:00:00")
        assert "cow-old" in m["sensors"]


def test_every_view_answers_on_a_lake_with_absurd_dates(old_lake: Path) -> None:
    with TestClient(create_app(old_lake, ServeConfig()), base_url=BASE) as c:
        last = dt.datetime.fromisoformat(c.get("/api/meta").json()["last_seen"])
        presets = [{}, *({"since": (last - dt.timedelta(days=d)).isoformat(), "until": last.isoformat()}
                         for d in (1, 7, 30))]  # fmt: skip
        for url in time_range_urls(c):
            if url == "/api/live":
                continue
            for params in presets:
                r = get(c, url, params)
                assert r.status_code == 200, (url, params, r.text)
        for bucket in ("auto", "hour", "day"):
            assert c.get("/api/panels/timeline", params={"bucket": bucket}).status_code == 200
        assert c.get("/api/session", params={"sensor": "cow-old", "session": "c0ffee01"}).status_code == 200
        newest = c.get("/api/live/recent").json()["events"]
        assert newest and all(e["ts"] < "2027" for e in newest)  # the far-future events are not "the newest"
        assert c.get("/api/sensors").json()["totals"]["last_seen"].startswith("9999-12-31")  # shown, not fatal


def test_live_feed_still_delivers_after_a_far_future_event(old_lake: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(old_lake, lake)
    reader = LakeReader(lake)
    try:
        feed = LiveFeed(reader, 1.0, TimeWindow())
        reader.run(feed._start_state)
        assert feed._newest is not None and feed._newest < dt.datetime(2027, 1, 1)
        feed._known = feed._files()
        records = [cowrie(z(NOW + dt.timedelta(seconds=i)), i, "feed0001") for i in range(3)]
        assert ingest([str(write_jsonl(tmp_path / "new.json", records))], Config(), lake).ingested == 3
        got = feed._poll()
        assert [e["command"] for e in got] == ["echo 0", "echo 1", "echo 2"]
        assert feed._newest == NOW + dt.timedelta(seconds=2)
        add_event(lake, "2262-04-12 00:00:00", 7_000)  # a far-future file appears: not news, not "newest"
        assert feed._poll() == [] and feed._newest == NOW + dt.timedelta(seconds=2)
        # Even a "newest" that is somehow at datetime's edge makes no overflow.
        feed._newest, feed._known = dt.datetime.min, set()
        assert len(feed._poll()) > 0
    finally:
        reader.close()


class SSE:
    """The ``events`` of a Server-Sent Events stream, read in a thread."""

    def __init__(self, url: str) -> None:
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()
        threading.Thread(target=self._run, args=(url,), daemon=True).start()

    def _run(self, url: str) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=40.0)) as c,
                c.stream("GET", url) as r,
            ):
                kind = "message"
                for line in r.iter_lines():
                    if line.startswith("retry:"):
                        self.items.put(("retry", None))
                    elif line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        self.items.put((kind, json.loads(line.split(":", 1)[1])))
        except (httpx.HTTPError, OSError) as exc:
            self.items.put(("error", repr(exc)))

    def events(self, n: int, timeout: float) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        end = time.monotonic() + timeout
        while len(got) < n and (left := end - time.monotonic()) > 0:
            try:
                kind, data = self.items.get(timeout=left)
            except queue.Empty:
                break
            assert kind != "error", data
            if kind == "events":
                got += data
        return got


def test_real_server_live_feed_on_a_lake_with_a_2262_event(old_lake: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(old_lake, lake)
    (tmp_path / "honeyfarm.toml").write_text("[serve]\nlive_interval_seconds = 0.25\n")
    with serving("--lake", str(lake), "--port", "0", cwd=tmp_path, env=serve_env()) as srv:
        sse = SSE(f"{srv.url}/api/live")
        assert sse.items.get(timeout=15)[0] == "retry"
        time.sleep(1.0)  # the poller has listed the lake once
        records = [cowrie(z(NOW + dt.timedelta(seconds=i)), i, "feed0002") for i in range(2)]
        p = hf("ingest", str(write_jsonl(tmp_path / "n.json", records)), "--lake", str(lake), cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        got = sse.events(2, timeout=20)
        assert [e["command"] for e in got] == ["echo 0", "echo 1"]


# ---------------------------------------------------------------- serve: the CLI


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "input_value" not in stderr and "http" not in stderr.lower(), stderr
    return lines[0]


def test_plain_http_off_loopback_is_refused_without_insecure(lake: Path, tmp_path: Path) -> None:
    port = free_port()
    p = hf("serve", "--lake", str(lake), "--host", "0.0.0.0", "--port", str(port), cwd=tmp_path,
           env=serve_env(**{TOKEN_ENV: TOKEN}), timeout=60)  # fmt: skip
    assert p.returncode == 2
    line = p.stderr.strip()
    assert "refusing to serve on 0.0.0.0 over plain HTTP" in line and "--insecure" in line and "\n" not in line
    assert TOKEN not in p.stderr and not listening(port)


def test_insecure_starts_with_a_loud_warning(lake: Path, tmp_path: Path) -> None:
    srv = start_serve("--lake", str(lake), "--host", "0.0.0.0", "--port", "0", "--insecure", cwd=tmp_path,
                      env=serve_env(**{TOKEN_ENV: TOKEN}))  # fmt: skip
    try:
        warning = [ln for ln in srv.stderr if ln.startswith("WARNING:")]
        assert len(warning) == 1 and "plain HTTP on 0.0.0.0" in warning[0], srv.output()
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            assert c.get("/api/meta").status_code == 401
            assert c.get("/api/meta", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        stop_serve(srv)
    assert TOKEN not in srv.output()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--port", "99999"], ["serve.port", "65535", "99999"]),
        (["--port", "-1"], ["serve.port"]),
        (["--tls-cert", "missing.pem", "--tls-key", "key.pem"], ["missing.pem"]),
        (["--tls-cert", "cert.pem", "--tls-key", "nokey.pem"], ["nokey.pem"]),
        (["--tls-cert", "cert.pem", "--tls-key", "cert.pem"], ["cannot use TLS certificate", "cert.pem"]),
        (["--tls-cert", "cert.pem"], ["serve.tls_key"]),
    ],
)
def test_argument_errors_are_one_clear_line(lake: Path, tmp_path: Path, args: list[str], names: list[str]) -> None:
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    p = hf("serve", "--lake", str(lake), *args, cwd=tmp_path, env=serve_env(), timeout=60)
    assert p.returncode == 2, p.stderr
    line = one_line(p.stderr)
    for name in names:
        assert name in line, line


WEAK = [
    ("token", "a" * 30, "one character repeated"),
    ("token", "ab" * 15, "fewer than 6 different characters"),
    ("token", "tok en-" + "A1b2C3d4" * 3, "whitespace"),
    ("token", "short", "at least 24 characters"),
    ("password", "\tcorrect horse battery", "whitespace"),
    ("password", "correct horse battery\n", "whitespace"),
    ("password", "            ", "one character repeated"),
    ("password", "aaaa1111aaaa", "fewer than 6 different characters"),
    ("password", "short", "at least 12 characters"),
]


@pytest.mark.parametrize(("field", "secret", "why"), WEAK, ids=[f"{w[0]}-{i}" for i, w in enumerate(WEAK)])
@pytest.mark.parametrize("where", ["env", "config"])
def test_weak_secrets_are_refused_and_never_echoed(
    lake: Path, tmp_path: Path, field: str, secret: str, why: str, where: str
) -> None:
    env_name = TOKEN_ENV if field == "token" else PASSWORD_ENV
    env = serve_env(**{env_name: secret}) if where == "env" else serve_env()
    if where == "config":
        (tmp_path / "honeyfarm.toml").write_text(f"[serve]\n{field} = {json.dumps(secret)}\n")
    p = hf("serve", "--lake", str(lake), "--port", str(free_port()), cwd=tmp_path, env=env, timeout=60)
    assert p.returncode == 2, p.stderr
    line = one_line(p.stderr)
    assert f"serve.{field}" in line and why in line, line
    if secret.strip():
        assert secret.strip() not in p.stderr


def test_validation_messages_never_carry_a_secret() -> None:
    secret = "hunter2hunter2hunter2hunter2 "
    with pytest.raises(ValidationError) as exc:
        ServeConfig(token=secret, port=70000)
    text = describe(exc.value, "serve.")
    assert secret.strip() not in text and "errors.pydantic.dev" not in text
    assert text == (
        "serve.port: Input should be less than or equal to 65535 (got 70000); serve.token: must not contain whitespace"
    )
    assert weak_secret(TOKEN) is None and weak_secret("correct horse battery staple", allow_spaces=True) is None


def test_meta_names_the_lake_without_its_path(client: TestClient, lake: Path) -> None:
    r = client.get("/api/meta")
    assert r.json()["lake"] == lake.name == "lake"
    assert str(lake.parent) not in r.text


# ------------------------------------------------------------- failed logins


def test_failed_logins_are_rate_limited_per_address(lake: Path) -> None:
    app = create_app(lake, ServeConfig(host="0.0.0.0", token=TOKEN, insecure=True))
    good = {"Authorization": f"Bearer {TOKEN}"}
    with (
        TestClient(app, base_url=BASE, client=("203.0.113.7", 5000)) as attacker,
        TestClient(app, base_url=BASE, client=("198.51.100.9", 5000)) as other,
    ):
        for i in range(10):
            r = attacker.get("/api/meta", headers={"Authorization": f"Bearer guess-{i:030d}"})
            assert r.status_code == 401, i
        for headers in ({"Authorization": "Bearer guess-11"}, good, {}):
            r = attacker.get("/api/meta", headers=headers)
            assert r.status_code == 429, headers  # locked out, the right token included
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert r.headers["content-security-policy"] and "events" not in r.text
        assert other.get("/api/meta", headers=good).status_code == 200  # another address is not affected


def test_requests_without_credentials_are_not_guesses(lake: Path) -> None:
    app = create_app(lake, ServeConfig(host="0.0.0.0", token=TOKEN, insecure=True))
    with TestClient(app, base_url=BASE) as c:
        for _ in range(30):  # a browser asks without credentials first, for every asset
            assert c.get("/api/meta").status_code == 401
        for _ in range(9):
            assert c.get("/api/meta", headers={"Authorization": "Bearer nope-nope-nope"}).status_code == 401
        assert c.get("/api/meta", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        for _ in range(9):  # a success cleared the count
            assert c.get("/api/meta", headers={"Authorization": "Bearer nope-nope-nope"}).status_code == 401
        assert c.get("/api/meta", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_lockout_ends_and_memory_stays_bounded() -> None:
    now = [1000.0]
    limiter = AuthFailures(limit=3, window=60, max_clients=100, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
        now[0] += 1
    assert limiter.retry_after("a") == 57  # until the oldest of the three (at 1000, now 1003) is a minute old
    now[0] += 57
    assert limiter.retry_after("a") is None and len(limiter) == 1
    for i in range(1_000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100 and limiter.retry_after("a") is None  # the oldest were forgotten
    assert AuthFailures(limit=0).retry_after("x") is None


def test_config_errors_are_one_line_and_hide_secrets(tmp_path: Path) -> None:
    p = tmp_path / "honeyfarm.toml"
    p.write_text('[serve]\nport = 99999\ntoken = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n[ingest]\nthreads = "many"\n')
    out = hf("serve", "--lake", str(tmp_path / "lake"), cwd=tmp_path, env=serve_env(), timeout=60)
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert re.search(r"serve\.port: .*65535 \(got 99999\)", line), line
    assert "serve.token: is one character repeated" in line and "aaaaaaaa" not in line
    assert "ingest.threads: " in line and "(got 'many')" in line
