# SPDX-License-Identifier: MIT
"""Emulated commands, part 5: the download tools (wget, curl, tftp, ftpget).

These matter most to the honeypot: each parses its real argument syntax to find the URL the
attacker wants, hands it to ``ShellContext.download`` (which fetches and stores the payload under
its own limits, and logs the event), and answers with the client's real progress or error text.
The fetched bytes never touch a host path: only their head is kept in the session's virtual
filesystem, with the reported size, so ``ls -l`` and ``chmod +x; ./file`` stay consistent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import quote as urlquote
from urllib.parse import urlsplit

from honeyfarm.sensor.model import FetchResult
from honeyfarm.sensor.shell.commands.base import IO, command, decode, split_opts
from honeyfarm.sensor.shell.commands.helptexts import answer_help
from honeyfarm.sensor.shell.fs.vfs import FSError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

_HTTP_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
                 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}  # fmt: skip
_WGET_VALUE = set("OoaPtTUeiBlQwD")
_WGET_LONG_VALUE = {"output-document", "output-file", "append-output", "directory-prefix", "tries", "timeout",
                    "user-agent", "header", "execute", "input-file", "user", "password", "http-user", "http-password",
                    "referer", "post-data", "method", "body-data", "wait", "limit-rate"}  # fmt: skip
_CURL_VALUE = set("oAHdXuemxbcrTwKEFYyzQCPt")
_CURL_LONG_VALUE = {"output", "user-agent", "header", "data", "request", "user", "referer", "max-time", "url",
                    "connect-timeout", "proxy", "cookie", "cookie-jar", "retry", "write-out", "range", "data-binary",
                    "data-raw", "form", "upload-file", "limit-rate", "resolve", "interface", "retry-delay",
                    "max-redirs", "output-dir", "data-urlencode", "config", "cert", "cacert",
                    "retry-max-time"}  # fmt: skip


_METER_HEAD = ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
               "                                 Dload  Upload   Total   Spent    Left  Speed\n")  # fmt: skip
_METER_ZERO = "  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0"


def classify(result: FetchResult | None) -> tuple[str, int]:
    """How a failed fetch looks to a client: ("dns"|"refused"|"timeout"|"reset"|"http", http status)."""
    if result is None:
        return "refused", 0
    reason = (result.reason or "").lower()
    m = re.search(r"(?:http|status|error)\D{0,12}([1-5]\d\d)\b", reason) or re.match(r"\s*([1-5]\d\d)\b", reason)
    if m:
        return "http", int(m.group(1))
    if any(k in reason for k in ("resolve", "dns", "name or service", "nodename", "getaddrinfo", "no address")):
        return "dns", 0
    if "timed out" in reason or "timeout" in reason:
        return "timeout", 0
    if "reset" in reason:
        return "reset", 0
    return "refused", 0


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _fake_addr(host: str) -> str:
    """A stable public-looking address shown for a name we did not actually resolve here."""
    h = hashlib.sha256(host.encode()).digest()
    return f"{h[0] % 180 + 23}.{h[1]}.{h[2]}.{h[3] % 250 + 2}"


def _split(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    default = {"https": 443, "ftp": 21, "tftp": 69}.get(parts.scheme, 80)
    return parts.hostname or "", parts.port or default, parts.path


def _stamp(sh: Shell) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sh.persona.now()))


def _wget_size(n: int) -> str:
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= div:
            v = n / div
            return f"{v:.1f}{unit}" if v < 10 else f"{round(v)}{unit}"
    return str(n)


def _local_name(sh: Shell, url_path: str, prefix: str = "") -> str:
    name = posixpath.basename(url_path) or "index.html"
    base = posixpath.join(prefix, name) if prefix else name
    candidate = base
    for n in range(1, 100):
        if not sh.fs.exists(candidate, sh.cwd):
            break
        candidate = f"{base}.{n}"
    return candidate


def _save(sh: Shell, path: str, result: FetchResult) -> str | None:
    """Store a download in the overlay; the error text on failure."""
    try:
        sh.fs.write_download(path, sh.cwd, result.head, result.size)
    except FSError as e:
        return e.strerror
    return None


_WGET_LITERAL = ("-nv", "-nc", "-nd", "-nH")  # wget's two-letter short options


@command("wget")
async def wget(sh: Shell, argv: list[str], io: IO) -> int:
    flags, values, urls = split_opts(argv[1:], _WGET_VALUE, _WGET_LONG_VALUE, _WGET_LITERAL)
    output = values.get("O", values.get("output-document"))
    quiet = bool(flags & {"q", "quiet"}) or "o" in values or "output-file" in values
    prefix = values.get("P", values.get("directory-prefix", ""))
    if not urls:
        io.err("wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n")
        return 1
    say = (lambda text: None) if quiet else io.err
    status = 0
    for url in urls[:16]:
        if "://" not in url:
            url = "http://" + url
        try:
            host, port, path = _split(url)
        except ValueError:
            say(f"{url}: Invalid URL {url}: Bad port number\n")
            status = 1
            continue
        if output and output != "-":
            _save(sh, output, FetchResult(url=url, ok=True))
        result = await sh.ctx.download(url, command=sh.command_text)
        say(f"--{_stamp(sh)}--  {url}\n")
        addr = host if _is_ip(host) else _fake_addr(host)
        kind, code = ("ok", 0) if result is not None and result.ok else classify(result)
        where = f"{host}:{port}" if _is_ip(host) else f"{host} ({host})|{addr}|:{port}"
        if kind == "dns" or (result is None and not _is_ip(host)):
            say(f"Resolving {host} ({host})... failed: Name or service not known.\n")
            say(f"wget: unable to resolve host address ‘{host}’\n")
            status = 4
            continue
        if not _is_ip(host):
            say(f"Resolving {host} ({host})... {addr}\n")
        if kind in ("refused", "timeout", "reset"):
            msg = {
                "refused": "Connection refused",
                "timeout": "Connection timed out",
                "reset": "Connection reset by peer",
            }
            say(f"Connecting to {where}... failed: {msg[kind]}.\n")
            status = 4
            continue
        say(f"Connecting to {where}... connected.\n")
        if kind == "http":
            phrase = _HTTP_REASONS.get(code, "Error")
            say(f"HTTP request sent, awaiting response... {code} {phrase}\n{_stamp(sh)} ERROR {code}: {phrase}.\n\n")
            status = 8
            continue
        assert result is not None
        size = result.size
        ctype = f" [{result.content_type.split(';')[0]}]" if result.content_type else ""
        human = f" ({_wget_size(size)})" if size >= 1024 else ""
        target = output or _local_name(sh, path, prefix)
        shown = "STDOUT" if target == "-" else target
        say(f"HTTP request sent, awaiting response... 200 OK\nLength: {size}{human}{ctype}\nSaving to: ‘{shown}’\n\n")
        if target == "-":
            io.out(decode(result.head))
        else:
            error = _save(sh, target, result)
            if error is not None:
                io.err(f"{target}: {error}\n\nCannot write to ‘{target}’ ({error}).\n")
                status = 3
                continue
        bar = (
            f"{posixpath.basename(shown)[:19]:<19} 100%[===================>] {_wget_size(size):>7}  --.-KB/s    in 0s"
        )
        say(f"{bar}      \n\n")
        done = "written to stdout" if target == "-" else f"‘{shown}’ saved"
        say(f"{_stamp(sh)} ({max(size, 1) / 1024 / 1024 * 40:.1f} MB/s) - {done} [{size}/{size}]\n\n")
    return status


@command("curl")
async def curl(sh: Shell, argv: list[str], io: IO) -> int:
    flags, values, urls = split_opts(argv[1:], _CURL_VALUE, _CURL_LONG_VALUE)
    if "url" in values:
        urls.append(values["url"])
    if "V" in flags or "version" in flags:
        return answer_help("curl", "--version", io) or 0  # Debian 12's curl 7.88.1-10+deb12u14, as captured
    if not urls:
        io.err("curl: try 'curl --help' or 'curl --manual' for more information\n")
        return 2
    silent = bool(flags & {"s", "silent"})
    show_err = not silent or bool(flags & {"S", "show-error"})
    fail = bool(flags & {"f", "fail"})
    output = values.get("o", values.get("output"))
    remote_name = bool(flags & {"O", "remote-name"})
    status = 0
    for url in urls[:16]:
        if "://" not in url:
            url = "http://" + url
        try:
            host, port, path = _split(url)
        except ValueError:
            if show_err:
                io.err("curl: (3) URL using bad/illegal format or missing URL\n")
            status = 3
            continue
        result = await sh.ctx.download(url, command=sh.command_text)
        kind, code = ("ok", 0) if result is not None and result.ok else classify(result)
        err = ""
        if kind == "dns":
            err, status = f"curl: (6) Could not resolve host: {host}\n", 6
        elif kind == "timeout":
            err, status = (
                f"curl: (28) Failed to connect to {host} port {port} after 10001 ms: Timeout was reached\n",
                28,
            )
        elif kind == "reset":
            err, status = "curl: (56) Recv failure: Connection reset by peer\n", 56
        elif kind == "refused":
            ms = 1 + len(host) % 5
            err, status = (
                f"curl: (7) Failed to connect to {host} port {port} after {ms} ms: Couldn't connect to server\n",
                7,
            )
        elif kind == "http" and fail:
            err, status = f"curl: (22) The requested URL returned error: {code}\n", 22
        if err:
            if not silent and kind in ("dns", "refused") and (not io.tty or output is not None or remote_name):
                io.err(_METER_HEAD + "\r" + _METER_ZERO + ("" if kind == "dns" else "\n"))
            if show_err:
                io.err(err)
            continue
        body = result.head if result is not None and kind == "ok" else b""
        size = result.size if result is not None and kind == "ok" else 0
        target = output if output is not None else (posixpath.basename(path) if remote_name else None)
        if remote_name and not target:
            io.err("curl: Remote file name has no length!\ncurl: (23) Failure writing output to destination\n")
            status = 23
            continue
        if target is None or target == "-":
            io.out(decode(body))
            continue
        if not silent:
            io.err(_METER_HEAD + f"100 {size:>5}  100 {size:>5}    0     0  {size * 9:>5}      0 --:--:-- --:--:-- "
                   f"--:--:-- {size * 9:>5}\n")  # fmt: skip
        error = _save(sh, target, FetchResult(url=url, ok=True, size=size, head=body))
        if error is not None:
            if show_err:
                io.err(f"Warning: Failed to open the file {target}: {error}\n")
                io.err("curl: (23) Failure writing output to destination\n")
            status = 23
    return status


@command("tftp")
async def tftp(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if "-c" in args:  # tftp-hpa: tftp [-m mode] host [port] -c get remote [local]
        k = args.index("-c")
        head = [a for a in args[:k] if not a.startswith("-")]
        cmd = args[k + 1 :]
        if len(head) >= 1 and len(cmd) >= 2 and cmd[0] == "get":
            host, port, remote = head[0], head[1] if len(head) > 1 else "69", cmd[1]
            local = cmd[2] if len(cmd) > 2 else posixpath.basename(remote)
            return await _tftp_get(sh, io, host, port, remote, local, hpa=True)
        io.err("Transfer timed out.\n\n")
        return 1
    flags, values, rest = split_opts(args, "lrb")
    if not rest:
        io.err("BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.\n\nUsage: tftp [OPTIONS] HOST [PORT]\n\n"
               "Transfer a file from/to tftp server\n")  # fmt: skip
        return 1
    remote = values.get("r", values.get("l", ""))
    if "g" not in flags or not remote:
        io.err("tftp: timeout\n")
        return 1
    local = values.get("l", posixpath.basename(remote))
    return await _tftp_get(sh, io, rest[0], rest[1] if len(rest) > 1 else "69", remote, local, hpa=False)


async def _tftp_get(sh: Shell, io: IO, host: str, port: str, remote: str, local: str, *, hpa: bool) -> int:
    url = f"tftp://{host}:{port if port.isdigit() else '69'}/{remote.lstrip('/')}"
    result = await sh.ctx.download(url, command=sh.command_text)
    if result is None or not result.ok:
        kind, _ = classify(result)
        if hpa:
            io.err(f"tftp: {host}: Name or service not known\n" if kind == "dns" else "Transfer timed out.\n\n")
        else:
            io.err(f"tftp: bad address '{host}'\n" if kind == "dns" else "tftp: timeout\n")
        return 1
    error = _save(sh, local, result)
    if error is not None:
        io.err(f"tftp: can't open '{local}': {error}\n")
        return 1
    return 0


@command("ftpget")
async def ftpget(sh: Shell, argv: list[str], io: IO) -> int:
    flags, values, rest = split_opts(argv[1:], "upP", {"username", "password", "port"})
    user = values.get("u", values.get("username"))
    password = values.get("p", values.get("password"))
    port = values.get("P", values.get("port"))
    if len(rest) < 2:
        io.err("BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.\n\n"
               "Usage: ftpget [OPTIONS] HOST [LOCAL_FILE] REMOTE_FILE\n\nDownload a file via FTP\n")  # fmt: skip
        return 1
    host, remote = rest[0], rest[-1]
    local = rest[1] if len(rest) > 2 else posixpath.basename(remote)
    auth = ""
    if user is not None:
        auth = urlquote(user, safe="") + (f":{urlquote(password, safe='')}" if password is not None else "") + "@"
    netloc = host + (f":{port}" if port else "")
    url = f"ftp://{auth}{netloc}/{remote.lstrip('/')}"
    result = await sh.ctx.download(url, command=sh.command_text)
    if result is None or not result.ok:
        kind, _ = classify(result)
        if kind == "dns":
            io.err(f"ftpget: bad address '{host}'\n")
        elif kind == "http":
            io.err("ftpget: unexpected server response to RETR: 550 Failed to open file.\n")
        else:
            reason = "Connection timed out" if kind == "timeout" else "Connection refused"
            io.err(f"ftpget: can't connect to remote host ({host}): {reason}\n")
        return 1
    error = _save(sh, local, result)
    if error is not None:
        io.err(f"ftpget: can't create '{local}': {error}\n")
        return 1
    if "v" in flags:
        io.err(f"Connecting to {host} ({host}:{port or 21})\nftpget: cmd (null) (null)\n")
    return 0
