# SPDX-License-Identifier: MIT
"""Download targets in one (deobfuscated) text: fetch commands, plain URLs and non-HTTP indicators.

Three kinds of evidence, each with the ``how`` the extractor reports:

* fetch commands read like their tools read their arguments (``wget``/``curl`` options that
  take a value, ``busybox tftp -g -r FILE HOST``, tftp-hpa's ``-c get``, Windows ``tftp -i
  HOST GET FILE``, ``ftpget -u -p HOST LOCAL REMOTE``), so schemeless targets
  (``wget -qO- 1.2.3.4/x``) are found and option values (``-O bins.sh``) are not;
* plain URLs, attributed to the code around them (PowerShell ``DownloadString``/``IWR``,
  ``certutil``, ``bitsadmin``, ``mshta``, PHP, Python, Perl) or ``url``;
* targets no downloader fetches, reported with ``fetchable=False``: ``${jndi:ldap://...}``
  (``jndi``), ``nc HOST PORT`` (``nc``) and ``/dev/tcp/HOST/PORT`` (``devtcp``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import quote

from honeyfarm.sensor.capture.urlnorm import norm_host, normalise

__all__ = ["Target", "find_targets"]

MAX_SPANS = 64  # fetch commands read per text
MAX_SPAN_CHARS = 2048
MAX_WORDS = 64
MAX_PLAIN = 256  # plain URLs read per text

# Matched on the ASCII-lowercased text, literal first (fast); the word boundary before is checked in Python.
_TOOL = re.compile(
    r"(wget|curl|tftp|ftpget|nc|ncat|netcat|certutil(?:\.exe)?|bitsadmin(?:\.exe)?|mshta(?:\.exe)?"
    r"|regsvr32(?:\.exe)?|iwr|invoke-webrequest|invoke-restmethod|irm|start-bitstransfer|lwp-download)(?=[ \t\r\n\"'])"
)
MAX_TOOL_HITS = 4096  # keyword hits examined per text (most are inside other words)
_URL_CHARS = r"[^\s'\"<>`;|&(){}\\^$,]"
# Literal first (fast); the scheme before it is checked in Python. A plain URL may hold "&" (a query
# string): "&&" and a final "&" are the shell's, cut in Python.
_URL_TAIL = re.compile(r"://[^\s'\"<>`;|(){}\\^$,]{1,2048}")
_SCHEMES = ("https", "http", "tftp", "ftp")
_WORD_TARGET = re.compile(r"(?i)(?:(?:https?|t?ftp)://)?" + _URL_CHARS + "{1,2048}")
_JNDI = re.compile(r"\$\{jndi:([a-z]{2,8}):/{0,2}([^\s}'\"/]{1,255})(/[^\s}'\"]{0,512})?")
_DEVTCP = re.compile(r"/dev/(tcp|udp)/([A-Za-z0-9.:\[\]-]{1,255})/([0-9]{1,5})\b")
_STOP = frozenset(";&|\n)`<>")
_CONTEXT = [
    (re.compile(p, re.I), how)
    for p, how in (
        (r"download(?:string|file|data)|net\.webclient|invoke-webrequest|\biwr\b|invoke-restmethod|\birm\b"
         r"|start-bitstransfer|\biex\b|invoke-expression|-uri\b|openread|powershell", "powershell"),
        (r"\bcertutil", "certutil"),
        (r"\bbitsadmin", "bitsadmin"),
        (r"\bmshta", "mshta"),
        (r"\bregsvr32", "regsvr32"),
        (r"file_get_contents|\bfopen\s*\(|\bcopy\s*\(|curl_init|\bphp\s+-r\b", "php"),
        (r"urllib|urlopen|urlretrieve|requests\.get|\bpython[0-9.]*\b", "python"),
        (r"\blwp\b|lwp::|getstore|http::tiny|lwp-download|\bperl\b", "perl"),
    )
]  # fmt: skip
_WINDOWS_TOOLS = {
    "certutil": "certutil",
    "bitsadmin": "bitsadmin",
    "mshta": "mshta",
    "regsvr32": "regsvr32",
    "lwp-download": "perl",
}
# Options that take a value (the next word, or the rest of a short-option cluster).
_WGET_SHORT = set("OoaiPUtTweQBlDARIXY")
_WGET_LONG = {
    "output-document", "output-file", "append-output", "input-file", "directory-prefix", "user-agent", "tries",
    "timeout", "wait", "execute", "quota", "base", "level", "domains", "accept", "reject", "header", "post-data",
    "post-file", "referer", "user", "password", "http-user", "http-password", "ftp-user", "ftp-password",
    "load-cookies", "save-cookies", "bind-address", "limit-rate", "method", "body-data", "body-file",
    "ca-certificate", "certificate", "private-key", "dns-timeout", "connect-timeout", "read-timeout",
    "proxy-user", "proxy-password", "local-encoding", "remote-encoding", "restrict-file-names", "waitretry",
}  # fmt: skip
_CURL_SHORT = set("oAHdXuexTbcmwFKrCEUyYzDQtP")
_CURL_LONG = {
    "output", "user-agent", "header", "data", "data-binary", "data-raw", "data-urlencode", "data-ascii", "request",
    "user", "referer", "proxy", "upload-file", "cookie", "cookie-jar", "max-time", "write-out", "form", "config",
    "range", "continue-at", "cert", "key", "proxy-user", "connect-timeout", "retry", "retry-delay",
    "retry-max-time", "resolve", "interface", "limit-rate", "output-dir", "cacert", "capath", "dump-header",
    "trace", "trace-ascii", "url", "max-filesize", "speed-limit", "speed-time", "local-port", "create-file-mode",
}  # fmt: skip
_NC_SHORT = set("ecpswiqXxoOIMmTV")


def _q(s: str, safe: str = "") -> str:
    return quote(s, safe=safe, errors="surrogateescape")  # bytes that were not UTF-8 stay as they were


class Target(NamedTuple):
    pos: int  # where in the text it was found
    url: str
    how: str
    fetchable: bool = True


def _words(text: str, start: int) -> list[str]:
    """Shell words from ``start`` to the end of the simple command (quotes join, ``;|&`` end it)."""
    out: list[str] = []
    cur: list[str] = []
    quote_char = ""
    has = False
    end = min(len(text), start + MAX_SPAN_CHARS)
    for i in range(start, end):
        c = text[i]
        if quote_char:
            if c == quote_char:
                quote_char = ""
            else:
                cur.append(c)
        elif c in "'\"":
            quote_char, has = c, True
        elif c in _STOP:
            break
        elif c.isspace():
            if cur or has:
                out.append("".join(cur))
                cur, has = [], False
                if len(out) >= MAX_WORDS:
                    return out
        else:
            cur.append(c)
    if cur or has:
        out.append("".join(cur))
    return out


def _options(words: list[str], short: set[str], long: set[str]) -> tuple[list[str], dict[str, str]]:
    """``(positional words, {option: value})`` as getopt_long would split them."""
    pos: list[str] = []
    opts: dict[str, str] = {}
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w == "--":
            pos.extend(words[i:])
            break
        if w.startswith("--") and len(w) > 2:
            name, eq, value = w[2:].partition("=")
            name = name.lower()
            if not eq and name in long and i < len(words):
                value, i = words[i], i + 1
            opts[name] = value
        elif w.startswith("-") and len(w) > 1:
            for k, c in enumerate(w[1:], 1):
                if c in short:
                    value = w[k + 1 :]
                    if not value and i < len(words):
                        value, i = words[i], i + 1
                    opts[c] = value
                    break
                opts[c] = ""
        else:
            pos.append(w)
    return pos, opts


def _target(word: str, default_scheme: str | None) -> str | None:
    m = _WORD_TARGET.match(word)
    return normalise(m.group(0), default_scheme=default_scheme) if m else None


def _http_tool(pos: int, words: list[str], how: str) -> Iterator[Target]:
    short, long = (_WGET_SHORT, _WGET_LONG) if how == "wget" else (_CURL_SHORT, _CURL_LONG)
    args, opts = _options(words, short, long)
    if how == "wget" and "g" in opts:
        # Satori's Huawei HG532 payload: "busybox wget -g HOST -l /tmp/x -r /mips", tftp's flags given to wget.
        args, opts = _options(words, set("lrb"), set())
        if args and opts.get("r"):
            args = [f"{args[0]}/{opts['r'].lstrip('/')}"]
    if "url" in opts:
        args.insert(0, opts["url"])
    for k, word in enumerate(args[:16]):
        # Only the first operand may be a bare name (``curl example.com``); later ones must look like
        # a target (``host/path``, ``host:port``, an address, a scheme) so prose is not a download.
        if k and "://" not in word and "/" not in word and ":" not in word:
            continue
        url = _target(word, "http")
        if url is not None:
            yield Target(pos, url, how)


def _tftp(pos: int, words: list[str]) -> Iterator[Target]:
    host = port = remote = ""
    lowered = [w.lower() for w in words]
    if "-c" in lowered:  # tftp-hpa: tftp [-m mode] host [port] -c get remote [local]
        k = lowered.index("-c")
        head = [w for w in words[:k] if not w.startswith("-")]
        cmd = words[k + 1 :]
        if head and len(cmd) >= 2 and cmd[0].lower() == "get":
            host, port, remote = head[0], head[1] if len(head) > 1 else "", cmd[1]
    elif "get" in lowered:  # Windows: tftp [-i] host GET remote [local]
        k = lowered.index("get")
        head = [w for w in words[:k] if not w.startswith("-")]
        if head and k + 1 < len(words):
            host, remote = head[0], words[k + 1]
    else:  # BusyBox: tftp -g -r remote [-l local] host [port]
        args, opts = _options(words, set("lrbm"), set())
        if "g" in opts and args:
            host, port, remote = args[0], args[1] if len(args) > 1 else "", opts.get("r") or opts.get("l", "")
    if host and remote:
        url = normalise(f"tftp://{host}{':' + port if port.isdigit() else ''}/{remote.lstrip('/')}")
        if url is not None:
            yield Target(pos, url, "tftp")


def _ftpget(pos: int, words: list[str]) -> Iterator[Target]:
    args, opts = _options(words, set("upP"), {"username", "password", "port"})
    if len(args) < 2:
        return
    host, remote = args[0], args[-1]
    user, password = opts.get("u", opts.get("username")), opts.get("p", opts.get("password"))
    port = opts.get("P", opts.get("port", ""))
    auth = ""
    if user is not None:
        auth = _q(user) + (f":{_q(password)}" if password is not None else "") + "@"
    url = normalise(f"ftp://{auth}{host}{':' + port if port.isdigit() else ''}/{remote.lstrip('/')}")
    if url is not None:
        yield Target(pos, url, "ftpget")


def _tcp(pos: int, host: str, port: str, how: str) -> Iterator[Target]:
    name = norm_host(host)
    if name is not None and port.isdigit() and 0 < int(port) < 65536:
        yield Target(pos, f"tcp://{name}:{int(port)}", how, fetchable=False)


def _nc(pos: int, words: list[str]) -> Iterator[Target]:
    args, opts = _options(words, _NC_SHORT, set())
    if "l" not in opts and len(args) >= 2:
        yield from _tcp(pos, args[0], args[1], "nc")


def _scheme_urls(pos: int, words: list[str], how: str) -> Iterator[Target]:
    for word in words:
        for _at, found in _plain_urls(word, _lower(word)):
            url = normalise(found)
            if url is not None:
                yield Target(pos, url, how)


def _lower(text: str) -> str:
    """ASCII lower case with every position kept (``str.lower`` may lengthen some characters)."""
    low = text.lower()
    return low if len(low) == len(text) else text.encode("ascii", "replace").decode("ascii").lower()


def _commands(text: str, low: str) -> Iterator[Target]:
    spans = 0
    for n, m in enumerate(_TOOL.finditer(low)):
        if n >= MAX_TOOL_HITS or spans >= MAX_SPANS:
            return
        at = m.start()
        if at and (low[at - 1].isalnum() or low[at - 1] in "_.$-"):
            continue  # inside a word: "once", "firm", "/w/wget_1.18"
        spans += 1
        tool = m.group(1).removesuffix(".exe")
        words = _words(text, m.end())
        if tool in ("wget", "curl"):
            yield from _http_tool(at, words, tool)
        elif tool == "tftp":
            yield from _tftp(at, words)
        elif tool == "ftpget":
            yield from _ftpget(at, words)
        elif tool in ("nc", "ncat", "netcat"):
            yield from _nc(at, words)
        else:
            yield from _scheme_urls(at, words, _WINDOWS_TOOLS.get(tool, "powershell"))


def _plain_urls(text: str, low: str) -> Iterator[tuple[int, str]]:
    """``(position, text)`` of each URL with a fetchable scheme written out."""
    if "://" not in text:
        return
    for n, m in enumerate(_URL_TAIL.finditer(text)):
        if n >= MAX_PLAIN:
            return
        at = m.start()
        for scheme in _SCHEMES:
            start = at - len(scheme)
            if start >= 0 and low.startswith(scheme, start):
                if start == 0 or not (low[start - 1].isalnum() or low[start - 1] == "_"):
                    found = text[start : m.end()].split("&&", 1)[0].rstrip("&")
                    yield start, found
                break


def _context(text: str, pos: int) -> str:
    """What code a plain URL sits in: the last download API named before it on its line."""
    start = max(text.rfind("\n", max(0, pos - 240), pos) + 1, pos - 240, 0)
    window = text[start:pos]
    best, best_at = "url", -1
    for rx, how in _CONTEXT:
        for m in rx.finditer(window):
            if m.start() > best_at:
                best, best_at = how, m.start()
    return best


def find_targets(text: str) -> Iterator[Target]:
    """Every download target in ``text`` (already deobfuscated), fetch commands first."""
    low = _lower(text)
    yield from _commands(text, low)
    for at, found in _plain_urls(text, low):
        if at and text[at - 1] == "+":
            continue  # a crawler's "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        url = normalise(found)
        if url is not None:
            yield Target(at, url, _context(text, at))
    for n, m in enumerate(_JNDI.finditer(low) if "${jndi:" in low else ()):
        if n >= MAX_PLAIN:
            break
        scheme, hostport = m.group(1), text[m.start(2) : m.end(2)]
        path = text[m.start(3) : m.end(3)] if m.group(3) else "/"
        host, _, port = (
            hostport.rpartition(":") if ":" in hostport and not hostport.endswith("]") else (hostport, "", "")
        )
        name = norm_host(host)
        if name is not None and (not port or port.isdigit()):
            url = f"{scheme}://{name}{':' + port if port else ''}{_q(path, '/%:@!$&()*+,;=-._~?')}"
            yield Target(m.start(), url[:2048], "jndi", fetchable=False)
    for n, m in enumerate(_DEVTCP.finditer(text) if "/dev/" in text else ()):
        if n >= MAX_PLAIN:
            break
        yield from _tcp(m.start(), m.group(2), m.group(3), "devtcp")
