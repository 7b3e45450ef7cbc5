"""AWS formats: VPC Flow Logs (default and custom with header), Route 53 query logs, Route 53 Resolver logs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lakeutil import query

import honeyfarm.formats
from honeyfarm.collect.files import first_lines, read_head
from honeyfarm.config import Config, GeoIPConfig, IngestConfig
from honeyfarm.formats import detect_format
from honeyfarm.formats.cowrie import CowrieFormat
from honeyfarm.formats.honeyfarm import HoneyfarmFormat
from honeyfarm.formats.route53 import Route53QueryFormat, Route53ResolverFormat
from honeyfarm.formats.vpcflow import VPCFlowFormat
from honeyfarm.pipeline import ingest

NO_GEO = Config(geoip=GeoIPConfig(enabled=False))
SAMPLES = Path("/work/shared/samples")
VPC = SAMPLES / "aws_vpc_flow"
V2 = VPC / "awsdocs-flow-log-examples_v2-default.log"
V3 = VPC / "awsdocs-flow-log-examples_v3-custom-tcp-flags.log"
V5 = VPC / "awsdocs-flow-log-examples_v5-custom-traffic-path.log"
R53 = SAMPLES / "aws_route53_query_log" / "awsdocs-route53-public-query-log-example.log"
RESOLVER = (
    SAMPLES / "aws_route53_resolver_query_log" / "elastic-integrations-route53_resolver_logs-test-route53.part1.log"
)
# sample -> format name
SAMPLE_FORMATS = {V2: "vpcflow", V3: "vpcflow", V5: "vpcflow", R53: "route53", RESOLVER: "route53resolver"}

V3_HEADER = (
    "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport "
    "pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"
)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared sample {path} is absent (samples live outside the project)")
    return path


@pytest.fixture(autouse=True)
def aws_formats(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Register fresh instances (the VPC detector remembers headers) for this test only."""
    fmts = {"vpcflow": VPCFlowFormat(), "route53": Route53QueryFormat(), "route53resolver": Route53ResolverFormat()}
    for name, fmt in fmts.items():
        monkeypatch.setitem(honeyfarm.formats.FORMATS, name, fmt)
    yield fmts


def records(path: Path) -> int:
    """Records in a sample: non-blank lines that are not a VPC flow log header (first field ``version``)."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    return sum(1 for f in lines if f[0] != "version")


def events(lake: Path, where: str = "true") -> list[dict[str, Any]]:
    cols = "ts, eventid, source_format, src_ip, src_port, dst_ip, dst_port, transport, protocol, duration, extra"
    rows = query(lake, f"SELECT {cols} FROM events WHERE {where} ORDER BY ts, src_port, src_ip")
    out = []
    for r in rows:
        d = dict(zip([c.strip() for c in cols.split(",")], r, strict=True))
        d["extra"] = json.loads(d["extra"]) if d["extra"] else {}
        out.append(d)
    return out


def dead(lake: Path) -> list[tuple[int, str, str]]:
    return [
        (int(a), b, c) for a, b, c in query(lake, "SELECT line, source_format, reason FROM dead_letter ORDER BY line")
    ]


# --------------------------------------------------------------------------- samples end to end


@pytest.mark.parametrize("sample", list(SAMPLE_FORMATS), ids=lambda p: p.name)
def test_sample_one_event_per_record_no_dead_letter_reingest_adds_nothing(sample: Path, tmp_path: Path) -> None:
    need(sample)
    lake = tmp_path / "lake"
    n = records(sample)
    assert n >= 2
    r = ingest([str(sample)], NO_GEO, lake)
    assert not r.errors
    assert r.dead_letter == 0
    assert r.ingested == n
    assert r.by_format[SAMPLE_FORMATS[sample]].ingested == n
    assert query(lake, "SELECT count(*), count(DISTINCT event_id) FROM events")[0] == (n, n)
    assert query(lake, "SELECT DISTINCT source_format FROM events") == [(SAMPLE_FORMATS[sample],)]
    assert query(lake, "SELECT count(*) FROM dead_letter")[0][0] == 0
    again = ingest([str(sample)], NO_GEO, lake)
    assert (again.ingested, again.dead_letter) == (0, 0)
    # A copy with another head (a leading blank line: no checkpoint matches it) is all duplicates.
    copy = tmp_path / "copy.log"
    copy.write_bytes(b"\n" + sample.read_bytes())
    dup = ingest([str(copy)], NO_GEO, lake, force_format=SAMPLE_FORMATS[sample])
    assert (dup.ingested, dup.duplicates, dup.dead_letter) == (0, n, 0)
    assert query(lake, "SELECT count(*) FROM events")[0][0] == n


# --------------------------------------------------------------------------- VPC flow mappings


def test_vpc_v2_default_mappings_and_nodata_skipdata(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([str(need(V2))], NO_GEO, lake)
    ev = events(lake)
    accept = next(e for e in ev if e["src_port"] == 20641)
    assert accept["ts"] == dt.datetime(2014, 12, 14, 4, 6, 50)  # 1418530010 UTC
    assert (accept["src_ip"], accept["dst_ip"], accept["dst_port"]) == ("172.31.16.139", "172.31.16.21", 22)
    assert (accept["eventid"], accept["transport"], accept["duration"]) == ("aws.vpcflow.accept", "tcp", 60.0)
    assert accept["extra"] == {
        "version": "2",
        "account-id": "123456789010",
        "interface-id": "eni-1235b8ca123456789",
        "packets": "20",
        "bytes": "4249",
    }
    reject = next(e for e in ev if e["src_port"] == 49761)
    assert (reject["eventid"], reject["dst_port"]) == ("aws.vpcflow.reject", 3389)
    icmp = next(e for e in ev if e["src_ip"] == "203.0.113.12")
    assert (icmp["transport"], icmp["src_port"], icmp["dst_port"], icmp["duration"]) == ("icmp", 0, 0, 115.0)
    # NODATA / SKIPDATA: kept, status as eventid, `-` fields NULL (and absent from extra).
    for status in ("nodata", "skipdata"):
        e = next(e for e in ev if e["eventid"] == f"aws.vpcflow.{status}")
        assert e["ts"] == dt.datetime(2015, 5, 10, 18, 1, 16)
        assert e["duration"] == 58.0
        assert [e[k] for k in ("src_ip", "dst_ip", "src_port", "dst_port", "transport")] == [None] * 5
        assert set(e["extra"]) == {"version", "account-id", "interface-id"}
    assert next(e for e in ev if e["eventid"] == "aws.vpcflow.skipdata")["extra"]["interface-id"] == (
        "eni-11111111aaaaaaaaa"
    )


def test_vpc_v3_custom_header_tcp_flags_and_double_space(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([str(need(V3))], NO_GEO, lake)
    ev = events(lake)
    big = next(e for e in ev if e["extra"].get("bytes") == "23294588")
    assert (big["src_ip"], big["src_port"], big["dst_ip"], big["dst_port"]) == (
        "52.213.180.42",
        43418,
        "10.0.0.62",
        5001,
    )
    assert big["ts"] == dt.datetime(2019, 8, 26, 19, 48, 53)  # 1566848933
    assert big["eventid"] == "aws.vpcflow.accept"
    assert big["extra"]["tcp-flags"] == "1"
    assert big["extra"]["vpc-id"] == "vpc-abcdefab012345678"
    assert big["extra"]["instance-id"] == "i-01234567890123456"
    assert big["extra"]["pkt-srcaddr"] == "52.213.180.42"
    assert big["extra"]["type"] == "IPv4"
    assert "srcaddr" not in big["extra"] and "start" not in big["extra"] and "log-status" not in big["extra"]
    # The record written with two spaces between fields parses like the others.
    double = [ln for ln in V3.read_text().splitlines() if "  " in ln.strip()]
    assert double, "sample no longer has its double-space record"
    fields = double[0].split()
    assert any(e["extra"].get("bytes") == fields[14] and e["src_port"] == int(fields[9]) for e in ev)
    assert {e["extra"]["tcp-flags"] for e in ev} == {"1", "2", "3", "18", "19"}


def test_vpc_v5_traffic_path_and_dash_fields(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([str(need(V5))], NO_GEO, lake)
    ingress, egress = sorted(events(lake), key=lambda e: e["extra"]["flow-direction"] != "ingress")
    assert (ingress["src_ip"], ingress["src_port"], ingress["dst_port"]) == ("52.95.128.179", 80, 34210)
    assert ingress["ts"] == dt.datetime(2021, 3, 26, 3, 28, 12) and ingress["duration"] == 57.0
    assert ingress["extra"]["pkt-src-aws-service"] == "S3"
    assert ingress["extra"]["region"] == "ap-southeast-2" and ingress["extra"]["az-id"] == "apse2-az3"
    # `-` values are left out of extra: no traffic path on the ingress record, no sublocation on either.
    assert "traffic-path" not in ingress["extra"] and "pkt-dst-aws-service" not in ingress["extra"]
    assert "sublocation-type" not in ingress["extra"] and "sublocation-id" not in egress["extra"]
    assert egress["extra"]["traffic-path"] == "8" and egress["extra"]["pkt-dst-aws-service"] == "S3"
    assert egress["extra"]["tcp-flags"] == "3"


def test_vpc_custom_nodata_and_malformed_rows_go_to_dead_letter(tmp_path: Path) -> None:
    good = (
        "3 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 198.51.100.7 10.0.0.5 40000 22 198.51.100.7 10.0.0.5 "
        "6 120 2 1700000000 1700000030 REJECT 2 OK"
    )
    nodata = "3 vpc-1 subnet-1 - eni-1 123456789010 - - - - - - - - - - 1700000000 1700000060 - - NODATA"
    udp = (
        "3 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv6 2001:db8::7 2001:db8::1 5353 53 - - "
        "17 80 1 1700000100 1700000100 ACCEPT - OK"
    )
    gre = (
        "3 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 198.51.100.8 10.0.0.5 0 0 - - "
        "47 80 1 1700000200 1700000201 ACCEPT - OK"
    )
    bad = {
        # line number in the file -> expected reason (prefix)
        6: "20 fields; the header line has 21",
        7: "srcport: not INTEGER",
        8: "action: unknown: DROP",
        9: "start: not BIGINT",
        10: "dstport: out of range",
        11: "end before start",
        12: "srcaddr: not an IP address",
    }
    lines = [
        V3_HEADER,
        good,
        nodata,
        udp,
        gre,
        good.rsplit(" ", 1)[0],  # 20 fields
        good.replace(" 40000 ", " http "),
        good.replace(" REJECT ", " DROP "),
        good.replace("1700000000", "soon"),
        good.replace(" 22 ", " 70000 "),
        good.replace(" 1700000030 ", " 1600000000 "),
        good.replace("198.51.100.7 10.0.0.5 40000", "not-an-ip 10.0.0.5 40000"),
    ]
    path = tmp_path / "custom.log"
    path.write_text("\n".join(lines) + "\n")
    lake = tmp_path / "lake"
    r = ingest([str(path)], NO_GEO, lake)
    assert not r.errors
    assert (r.ingested, r.dead_letter) == (4, len(bad))
    got = dead(lake)
    assert [ln for ln, _, _ in got] == list(bad)
    for (ln, fmt, reason), want in zip(got, bad.values(), strict=True):
        assert fmt == "vpcflow"
        assert reason.startswith(want), (ln, reason)
    ev = {e["eventid"]: e for e in events(lake)}
    assert set(ev) == {"aws.vpcflow.reject", "aws.vpcflow.nodata", "aws.vpcflow.accept"}
    nd = ev["aws.vpcflow.nodata"]
    assert nd["src_ip"] is None and nd["transport"] is None and nd["duration"] == 60.0
    assert nd["extra"] == {"version": "3", "vpc-id": "vpc-1", "subnet-id": "subnet-1", "interface-id": "eni-1",
                           "account-id": "123456789010"}  # fmt: skip
    by_port = {e["dst_port"]: e for e in events(lake, "eventid = 'aws.vpcflow.accept'")}
    assert by_port[53]["transport"] == "udp" and by_port[53]["src_ip"] == "2001:db8::7"
    assert by_port[0]["transport"] == "47"  # GRE: the IANA number as text
    assert "tcp-flags" not in by_port[53]["extra"]
    assert ev["aws.vpcflow.reject"]["ts"] == dt.datetime(2023, 11, 14, 22, 13, 20)


def test_vpc_v2_malformed_rows(tmp_path: Path) -> None:
    ok = "2 123456789010 eni-1 198.51.100.7 10.0.0.5 40000 22 6 2 120 1700000000 1700000030 REJECT OK"
    path = tmp_path / "v2.log"
    path.write_text(
        "\n".join([ok, ok.replace(" 22 ", " ssh "), ok.rsplit(" ", 2)[0], ok.replace(" OK", " MAYBE")]) + "\n"
    )
    lake = tmp_path / "lake"
    r = ingest([str(path)], NO_GEO, lake, force_format="vpcflow")
    assert (r.ingested, r.dead_letter) == (1, 3)
    reasons = [reason for _, _, reason in dead(lake)]
    assert reasons[0] == "dstport: not INTEGER"
    assert reasons[1].startswith("12 fields, not the 14 of the version 2 default format")
    assert reasons[2].startswith("log-status: unknown: MAYBE")


# --------------------------------------------------------------------------- headers and batches


def _big_custom(tmp_path: Path, n: int = 200) -> Path:
    rows = [
        f"3 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 198.51.100.{i % 250} 10.0.0.5 {20000 + i} 22 - - "
        f"6 120 2 {1700000000 + i} {1700000030 + i} ACCEPT 2 OK"
        for i in range(n)
    ]
    path = tmp_path / "a_custom.log"
    path.write_text(V3_HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def test_vpc_header_before_batch_boundary_uses_the_detected_header(tmp_path: Path) -> None:
    """A file split over several batches: later batches lack the header; the detector's copy fills in."""
    path = _big_custom(tmp_path)
    assert path.stat().st_size > 3 * 4096
    lake = tmp_path / "lake"
    cfg = Config(geoip=GeoIPConfig(enabled=False), ingest=IngestConfig(batch_bytes=4096))
    r = ingest([str(path)], cfg, lake)
    assert (r.ingested, r.dead_letter) == (200, 0)
    assert query(lake, "SELECT count(*) FROM events WHERE extra->>'tcp-flags' = '2' AND dst_port = 22")[0][0] == 200


def test_vpc_forced_format_split_file_dead_letters_rather_than_guesses(tmp_path: Path) -> None:
    """With --format (no detection) a later batch has no header: its lines are dead letters saying why."""
    path = _big_custom(tmp_path)
    assert path.stat().st_size > 3 * 4096
    lake = tmp_path / "lake"
    cfg = Config(geoip=GeoIPConfig(enabled=False), ingest=IngestConfig(batch_bytes=4096))
    r = ingest([str(path)], cfg, lake, force_format="vpcflow")
    assert r.ingested + r.dead_letter == 200
    assert r.ingested > 0 and r.dead_letter > 0
    reasons = {reason for _, _, reason in dead(lake)}
    assert reasons == {
        "21 fields, not the 14 of the version 2 default format, and no header line naming the fields "
        "before it in this batch"
    }


def test_vpc_headerless_default_after_custom_file_in_one_batch(tmp_path: Path) -> None:
    custom = _big_custom(tmp_path, 5)
    default = tmp_path / "b_default.log"
    default.write_text("2 123456789010 eni-9 198.51.100.9 10.0.0.5 40000 23 6 2 120 1700000000 1700000030 REJECT OK\n")
    lake = tmp_path / "lake"
    r = ingest([str(custom), str(default)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter) == (6, 0)
    e = events(lake, "dst_port = 23")[0]
    assert e["extra"]["interface-id"] == "eni-9" and e["eventid"] == "aws.vpcflow.reject"


def test_vpc_concatenated_files_switch_layout_at_each_header(tmp_path: Path) -> None:
    v3, v5 = need(V3).read_text(), need(V5).read_text()
    path = tmp_path / "cat.log"
    path.write_text(v3 + v5)
    lake = tmp_path / "lake"
    r = ingest([str(path)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter) == (records(V3) + records(V5), 0)
    assert query(lake, "SELECT count(*) FROM events WHERE extra->>'version' = '5'")[0][0] == records(V5)


# --------------------------------------------------------------------------- Route 53


def test_route53_query_log_mappings(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([str(need(R53))], NO_GEO, lake)
    ev = events(lake)
    assert {e["eventid"] for e in ev} == {"aws.route53.query"}
    tcp = next(e for e in ev if e["transport"] == "tcp")
    assert tcp["ts"] == dt.datetime(2017, 12, 13, 8, 15, 50, 235000)
    assert (tcp["src_ip"], tcp["protocol"], tcp["src_port"]) == ("192.168.3.1", "dns", None)
    assert tcp["extra"] == {
        "version": "1.0",
        "hosted_zone_id": "Z123412341234",
        "query_name": "example.com",
        "query_type": "AAAA",
        "rcode": "NOERROR",
        "edge_location": "Region",
        "edns_client_subnet": "192.168.222.0/24",
    }
    v6 = next(e for e in ev if e["extra"]["query_type"] == "ANY")
    assert v6["src_ip"] == "2001:db8::1234" and v6["extra"]["edns_client_subnet"] == "2001:db8:abcd::/48"
    nx = next(e for e in ev if e["extra"]["rcode"] == "NXDOMAIN")
    assert nx["extra"]["query_name"] == "bad.example.com"
    first = next(e for e in ev if e["ts"] == dt.datetime(2017, 12, 13, 8, 16, 2, 130000))
    assert "edns_client_subnet" not in first["extra"]  # `-`
    assert first["transport"] == "udp"


def test_route53_query_log_offsets_and_malformed(tmp_path: Path) -> None:
    ok = "1.0 2024-03-01T12:00:00+02:00 Z1 example.com A NOERROR UDP FRA6 198.51.100.1 -"
    path = tmp_path / "q.log"
    path.write_text(
        "\n".join([ok, ok.rsplit(" ", 1)[0], ok.replace("2024-03-01T12", "2024-13-01T12"), ok.replace("UDP", "SCTP")])
        + "\n"
    )
    lake = tmp_path / "lake"
    r = ingest([str(path)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter) == (1, 3)
    assert events(lake)[0]["ts"] == dt.datetime(2024, 3, 1, 10, 0)
    reasons = [reason for _, _, reason in dead(lake)]
    assert reasons[0] == "9 fields, expected 10"
    assert reasons[1].startswith("unparseable timestamp")
    assert reasons[2].startswith("protocol: unknown: SCTP")


def test_route53_resolver_mappings(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest([str(need(RESOLVER))], NO_GEO, lake)
    ev = events(lake)
    assert {e["eventid"] for e in ev} == {"aws.route53resolver.query"}
    ptr = next(e for e in ev if e["src_port"] == 47924)
    assert ptr["ts"] == dt.datetime(2021, 12, 11, 22, 46, 23)
    assert (ptr["src_ip"], ptr["transport"], ptr["protocol"]) == ("172.31.86.159", "udp", "dns")
    x = ptr["extra"]
    assert (x["query_name"], x["query_type"], x["query_class"], x["rcode"]) == (
        "159.86.31.172.in-addr.arpa.", "PTR", "IN", "NOERROR"
    )  # fmt: skip
    assert x["answers"] == [{"Rdata": "ip-172-31-86-159.ec2.internal.", "Type": "PTR", "Class": "IN"}]
    assert (x["vpc_id"], x["account_id"], x["region"], x["version"]) == (
        "vpc-01e31a7c", "626345947581", "us-east-1", "1.100000"
    )  # fmt: skip
    assert x["srcids"] == {}
    for mapped in ("query_timestamp", "srcaddr", "srcport", "transport"):
        assert mapped not in x


def test_route53_resolver_malformed(tmp_path: Path) -> None:
    rec = {"version": "1.100000", "query_timestamp": "2024-03-01T10:00:00Z", "query_name": "a.example.",
           "srcaddr": "10.0.0.1", "srcport": 5353, "transport": "DoH", "vpc_id": "vpc-1"}  # fmt: skip
    lines = [
        json.dumps(rec),
        json.dumps({**rec, "srcport": "abc"}),
        json.dumps({**rec, "query_timestamp": "yesterday"}),
        '{"query_timestamp": "2024-03-01T10:00:00Z", "query_name": ',
    ]
    path = tmp_path / "r.log"
    path.write_text("\n".join(lines) + "\n")
    lake = tmp_path / "lake"
    r = ingest([str(path)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter) == (1, 3)
    e = events(lake)[0]
    assert (e["src_port"], e["transport"], e["extra"]["transport"]) == (5353, None, "DoH")
    reasons = [reason for _, _, reason in dead(lake)]
    assert reasons == ["srcport: not INTEGER", "unparseable query_timestamp: yesterday", "invalid JSON"]


# --------------------------------------------------------------------------- detection


def _cowrie_lines() -> list[bytes]:
    real = sorted((SAMPLES / "cowrie_json").glob("*.json"))
    if real:
        lines: list[bytes] = first_lines(read_head(real[0]))
        return lines
    rec = {"eventid": "cowrie.session.connect", "timestamp": "2024-03-01T10:00:00Z", "src_ip": "198.51.100.7"}
    return [json.dumps(rec).encode()]


def _honeyfarm_lines() -> list[bytes]:
    rec = {"ts": "2024-03-01T10:00:00Z", "eventid": "honeyfarm.ssh.connect", "src_ip": "198.51.100.7"}
    return [json.dumps(rec).encode()]


@pytest.mark.parametrize("sample", list(SAMPLE_FORMATS), ids=lambda p: p.name)
def test_each_detector_claims_only_its_own_samples(sample: Path, aws_formats: dict[str, Any]) -> None:
    lines = first_lines(read_head(need(sample)))
    found = detect_format(lines)
    assert found is not None and found.name == SAMPLE_FORMATS[sample]
    for name, fmt in aws_formats.items():
        assert fmt.detect(lines) == (name == SAMPLE_FORMATS[sample]), name
    assert not CowrieFormat().detect(lines)
    assert not HoneyfarmFormat().detect(lines)


@pytest.mark.parametrize("lines", [_cowrie_lines(), _honeyfarm_lines()], ids=["cowrie", "honeyfarm"])
def test_aws_detectors_do_not_claim_json_honeypot_logs(lines: list[bytes], aws_formats: dict[str, Any]) -> None:
    for fmt in aws_formats.values():
        assert not fmt.detect(lines), fmt.name
    found = detect_format(lines)
    assert found is not None and found.name in ("cowrie", "honeyfarm")


def test_priorities_and_eventids(aws_formats: dict[str, Any]) -> None:
    assert [aws_formats[n].priority for n in ("route53resolver", "route53", "vpcflow")] == [45, 55, 60]
    assert aws_formats["vpcflow"].eventids == {
        "aws.vpcflow.accept", "aws.vpcflow.reject", "aws.vpcflow.nodata", "aws.vpcflow.skipdata", "aws.vpcflow.flow"
    }  # fmt: skip


def test_vpc_custom_format_without_action_is_a_flow(tmp_path: Path) -> None:
    path = tmp_path / "noaction.log"
    path.write_text("version srcaddr dstaddr srcport dstport protocol start end\n"
                    "5 198.51.100.7 10.0.0.5 40000 22 6 1700000000 1700000001\n")  # fmt: skip
    lake = tmp_path / "lake"
    r = ingest([str(path)], NO_GEO, lake)
    assert (r.ingested, r.dead_letter) == (1, 0)
    assert events(lake)[0]["eventid"] == "aws.vpcflow.flow"
