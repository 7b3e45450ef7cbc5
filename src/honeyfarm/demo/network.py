# SPDX-License-Identifier: MIT
"""Synthetic AWS VPC Flow Logs and Route 53 query logs for the demo's Network view.

Labelled like the rest of the demo data (``synthetic-*`` files, the
``honeyfarm-demo.example`` zone); the formats are AWS's documented ones, so
they go through the same parsers as real logs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from pathlib import Path

from honeyfarm.demo.synthetic import SENSORS

VPC_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
# dst port, weight, accepted (a honeypot listens) or rejected by the security group
PORTS = ((22, 30, True), (23, 18, True), (80, 10, True), (443, 6, False), (445, 9, False), (3389, 8, False),
         (8080, 5, False), (6379, 4, False), (5900, 3, False), (1433, 3, False), (25, 2, False))  # fmt: skip
ZONE = "honeyfarm-demo.example"
LABELS = ("", "www.", "mail.", "admin.", "vpn.", "dev.", "api.", "ssh.", "backup.", "git.")
QTYPES = (("A", 50), ("AAAA", 20), ("MX", 8), ("TXT", 8), ("ANY", 6), ("NS", 4), ("SOA", 4))
EDGES = ("FRA56-C1", "IAD89-C3", "SIN2-C1", "GRU3-C2", "NRT57-C4", "LHR61-C2")


def _ip(rng: random.Random) -> str:
    while True:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global and not ip.is_multicast:
            return str(ip)


def write_network_logs(directory: Path, events: int, seed: int = 11, start: dt.datetime | None = None) -> list[Path]:
    """About ``events`` flow records and ``events // 4`` DNS queries over the demo's week."""
    rng = random.Random(seed)
    start = start or dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    span = 7 * 86400
    t0 = int(start.timestamp())
    directory.mkdir(parents=True, exist_ok=True)
    sources = [_ip(rng) for _ in range(400)]
    weights = [1.0 / (i + 1) ** 1.1 for i in range(len(sources))]
    flows = [VPC_HEADER]
    for _ in range(events):
        port, _, accepted = rng.choices(PORTS, [p[1] for p in PORTS])[0]
        sensor = rng.randrange(len(SENSORS))
        dst = SENSORS[sensor][1]
        t = t0 + rng.randrange(span)
        packets = rng.randint(1, 40)
        flows.append(
            f"2 123456789012 eni-0demo{sensor:04d} "
            f"{rng.choices(sources, weights)[0]} {dst} {rng.randint(1024, 65535)} {port} 6 {packets} "
            f"{packets * rng.randint(40, 120)} {t} {t + 60} {'ACCEPT' if accepted else 'REJECT'} OK"
        )
    vpc = directory / "synthetic-vpcflow.log"
    vpc.write_text("\n".join(flows) + "\n", encoding="utf-8")
    dns = []
    for _ in range(max(events // 4, 1)):
        at = start + dt.timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))
        qtype = rng.choices([q[0] for q in QTYPES], [q[1] for q in QTYPES])[0]
        name = rng.choice(LABELS) + ZONE
        rcode = "NOERROR" if rng.random() < 0.8 else "NXDOMAIN"
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        resolver = rng.choices(sources, weights)[0]
        dns.append(f"1.0 {stamp} Z0DEMO0HONEYFARM {name} {qtype} {rcode} UDP {rng.choice(EDGES)} {resolver} -")
    r53 = directory / "synthetic-route53.log"
    r53.write_text("\n".join(dns) + "\n", encoding="utf-8")
    return [vpc, r53]
