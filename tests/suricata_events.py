# SPDX-License-Identifier: MIT
"""A lake of the real Suricata EVE samples plus a few hostile records, and the panels' answers counted in plain
Python from the raw lines (not collected: no test_ prefix).

The samples (``../shared/samples/suricata_eve``) are read in place; :func:`write_hostile` adds one small EVE
file (written to a temporary directory) whose rule text, URL, user agent and file name are markup, terminal
escapes and bidi controls, with a ``host`` (the sensor), ``metadata.cve`` and a public source address, since
the samples have no host, no CVE metadata and hardly any public address. Every expectation is computed here
from the JSON lines; the lake's own GeoIP answers are only used to know an address's country and AS.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from honeyfarm.config import Config
from honeyfarm.pipeline import ingest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "suricata_eve"
CLEAN = (
    "oisf-suricata-pr-commit-26a62aea_2025-10-09.eve.json",
    "surevego-testdata_2017-01-30.eve.json",
    "tharshithgoud-Vikrant-tpot_2023-02-03.eve.json",
)
NO_SENSOR = "(no sensor)"
SENSOR = "ids-<i>edge</i>"
ATTACKER = "45.33.32.156"
HOSTILE_SIG = (
    "ET EXPLOIT <img src=x onerror=window.__xss=1> Log4j \x1b]0;pwned\x07 \u202egnp.exe CVE-2021-44228 Attempt"
)
HOSTILE_PATH = "/<script>window.__xss=1</script>?x=${jndi:ldap://x}"
HOSTILE_UA = "<b onmouseover=window.__xss=1>curl</b>"
HOSTILE_FILE = "/<b onmouseover=window.__xss=1>x.sh"
HOSTILE_SHA = "ef" * 32
HOSTILE_CATEGORY = "Attempted <i>Administrator</i> Privilege Gain"


def require_samples() -> None:
    if not all((SAMPLES / n).is_file() for n in CLEAN):
        pytest.skip(f"../shared/samples not present: {SAMPLES} lacks the Suricata EVE samples", allow_module_level=True)


def _eve(ts: str, event_type: str, fid: int, **fields: Any) -> dict[str, Any]:
    rec = {"timestamp": f"2026-11-20T{ts}.000001+0000", "flow_id": fid, "event_type": event_type, "host": SENSOR,
           "src_ip": ATTACKER, "src_port": 40000 + fid % 1000, "dest_ip": "198.51.100.7", "dest_port": 80,
           "proto": "TCP"}  # fmt: skip
    rec.update(fields)
    return rec


def hostile_records() -> list[dict[str, Any]]:
    http = {"hostname": "victim.example", "url": HOSTILE_PATH, "http_user_agent": HOSTILE_UA, "http_method": "GET",
            "status": 404}  # fmt: skip
    alert = {"action": "allowed", "gid": 1, "signature_id": 2034647, "rev": 3, "signature": HOSTILE_SIG,
             "category": HOSTILE_CATEGORY, "severity": 1,
             "metadata": {"cve": ["CVE_2021_44228", "CVE_2021_45046"], "signature_severity": ["Major"]}}  # fmt: skip
    probe = {"action": "allowed", "gid": 1, "signature_id": 2024364, "rev": 1, "signature": "ET SCAN Possible Nmap",
             "category": "Attempted Information Leak", "severity": 2, "metadata": {"cve": "cve-2019-0708"}}  # fmt: skip
    return [
        _eve("10:00:00", "alert", 701, alert=alert, http=http, app_proto="http"),
        _eve("10:00:00", "http", 701, http=http, app_proto="http"),
        _eve(
            "10:00:01",
            "fileinfo",
            701,
            http=http,
            app_proto="http",
            src_ip="198.51.100.7",
            dest_ip=ATTACKER,
            fileinfo={
                "filename": HOSTILE_FILE,
                "sha256": HOSTILE_SHA.upper(),
                "size": 4242,
                "magic": "ELF <x>",
                "state": "CLOSED",
                "stored": False,
                "tx_id": 0,
            },
        ),
        _eve(
            "10:00:05",
            "flow",
            701,
            app_proto="http",
            flow={"pkts_toserver": 5, "pkts_toclient": 4, "bytes_toserver": 700, "bytes_toclient": 5000},
        ),
        _eve("11:30:00", "alert", 702, alert=alert, http=http, app_proto="http"),
        _eve("12:00:00", "alert", 703, alert=probe, dest_port=3389),
    ]


def write_hostile(d: Path) -> Path:
    p = d / "hostile.eve.json"
    p.write_text("".join(json.dumps(r) + "\n" for r in hostile_records()), encoding="utf-8")
    return p


def files(d: Path, samples: tuple[str, ...] = CLEAN) -> list[Path]:
    return [*(SAMPLES / n for n in samples), write_hostile(d)]


def build_lake(root: Path, samples: tuple[str, ...] = CLEAN) -> Path:
    """The clean samples (or some) and the hostile file ingested with GeoIP into ``root/lake``."""
    root.mkdir(parents=True, exist_ok=True)
    lake = root / "lake"
    r = ingest([str(p) for p in files(root, samples)], Config(), lake)
    assert r.errors == [] and r.dead_letter == 0, r
    return lake


def records(d: Path) -> list[dict[str, Any]]:
    """Every record of the lake's files, identical lines once (the parser keys an event by its line)."""
    seen: dict[bytes, dict[str, Any]] = {}
    for p in files(d):
        for raw in p.read_bytes().split(b"\n"):
            if raw.strip():
                seen.setdefault(raw, json.loads(raw))
    return list(seen.values())


def utc(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts).astimezone(dt.UTC).replace(tzinfo=None)


def ip(rec: dict[str, Any]) -> str | None:
    v = rec.get("src_ip")
    return v.removeprefix("::ffff:") if isinstance(v, str) else None


_CVE = re.compile(r"CVE[-_ ]?(\d{4})[-_ ](\d{4,})", re.IGNORECASE)


def cves_of(alert: dict[str, Any]) -> set[str]:
    """CVE ids of an alert, computed independently of honeyfarm.analysis.suricata."""
    texts = [alert.get("signature") or "", json.dumps((alert.get("metadata") or {}).get("cve"))]
    return {f"CVE-{y}-{n}" for t in texts for y, n in _CVE.findall(t)}


def url_of(rec: dict[str, Any]) -> str | None:
    http = rec.get("http") or {}
    url, host = http.get("url"), http.get("hostname")
    if url is None:
        return None
    if url.startswith("/") and host is not None:
        port = f":{http['http_port']}" if "http_port" in http else ""
        return f"http://{host}{port}{url}"
    return str(url)


def counted(recs: list[dict[str, Any]], key: Any, where: Any = lambda r: True) -> dict[Any, tuple[int, int]]:
    """Per ``key(record)``: (records, distinct source IPs) over the records ``where`` keeps."""
    n: collections.Counter[Any] = collections.Counter()
    ips: dict[Any, set[str]] = collections.defaultdict(set)
    for r in recs:
        if where(r):
            k = key(r)
            n[k] += 1
            if ip(r):
                ips[k].add(ip(r))  # type: ignore[arg-type]
    return {k: (v, len(ips[k])) for k, v in n.items()}
