# SPDX-License-Identifier: MIT
"""One spelling per download target: URL validation and normalisation for the payload extractor.

Attackers write the same target many ways (``HTTP://Host:80/a``, ``host/a``, ``2130706433``,
``'http://x/a';``); the extractor dedupes and the downloader fetches the one spelling made
here. Hosts that cannot be a download server (``5.0``, ``bins.sh`` given without a path,
``a..b``) are dropped so plain text and file names never become fetches. Nothing here
resolves names: the downloader's address policy judges the host when it connects.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

__all__ = ["FETCHABLE", "clean_token", "norm_host", "normalise"]

FETCHABLE = frozenset({"http", "https", "ftp", "tftp"})
_DEFAULT_PORT = {"http": 80, "https": 443, "ftp": 21, "tftp": 69, "ldap": 389, "ldaps": 636, "rmi": 1099}
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\Z")
_NUMERIC = re.compile(r"(?:0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})(?:\.(?:0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})){0,3}\Z")
# Names that are far likelier a file than a server when given with no scheme, path or port.
_FILE_TLDS = frozenset({"sh", "pl", "py", "so", "rb", "js", "md", "pm", "ps", "zip", "mov", "rs", "bin", "txt"})
# Kept in a path as they are; everything else (spaces, quotes, non-ASCII) is percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~[]"
_TRAIL = ".,;:!?'\"`>"
_PAIRS = {")": "(", "]": "[", "}": "{"}
MAX_URL = 2048


def clean_token(s: str) -> str:
    """Strip what surrounds a URL in prose and code: quotes, trailing punctuation, unbalanced brackets."""
    s = s.strip().lstrip("'\"`<([{")
    for _ in range(8):
        before = s
        s = s.rstrip(_TRAIL)
        if s and s[-1] in _PAIRS and s.count(s[-1]) > s.count(_PAIRS[s[-1]]):
            s = s[:-1]
        if s == before:
            break
    return s


def _ipv4(host: str, *, strict: bool) -> str | None:
    """inet_aton's reading of a numeric host (what wget and curl connect to), as a dotted quad.

    ``strict`` (no scheme was given) accepts only four parts: ``5.0`` in text is a version.
    """
    parts = host.split(".")
    if strict and len(parts) != 4:
        return None
    if len(parts) in (2, 3):
        return None  # legal for inet_aton, but in payloads these are versions and decimals
    try:
        nums = [
            int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if len(p) > 1 and p[0] == "0" else int(p) for p in parts
        ]
    except ValueError:
        return None
    if len(nums) == 1:
        if not 1 << 24 <= nums[0] < 1 << 32:
            return None
        return str(ipaddress.IPv4Address(nums[0]))
    if any(n > 255 for n in nums):
        return None
    return ".".join(str(n) for n in nums)


def norm_host(host: str, *, no_scheme: bool = False, no_path: bool = False) -> str | None:
    """The host as the URL should name it, or ``None`` when it cannot be a server.

    Stricter when no scheme was given (only dotted-quad addresses) and when neither scheme
    nor path nor port was (a name ending like a file, ``bins.sh``, is a file).
    """
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > 253:
        return None
    if host.startswith("["):
        if not host.endswith("]"):
            return None
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    if _NUMERIC.match(host):
        return _ipv4(host, strict=no_scheme)
    if host == "localhost":
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(x) for x in labels) or not _TLD.match(labels[-1]):
        return None
    if no_scheme and no_path and labels[-1] in _FILE_TLDS:
        return None
    return host


def normalise(text: str, *, default_scheme: str | None = None, schemes: frozenset[str] = FETCHABLE) -> str | None:
    """``text`` as one absolute URL (scheme and host lower case, default port and fragment dropped,
    unsafe path characters percent-encoded), or ``None`` when it is not a URL of ``schemes``.

    ``default_scheme`` is used when ``text`` has none (``wget 1.2.3.4/x``); such bare targets
    must name an IPv4 address, a path or a port unless they are a plausible domain name.
    """
    text = clean_token(text.split("#", 1)[0])  # the fragment is never sent; drop it before trimming
    if not text or len(text) > MAX_URL:
        return None
    head, sep, _rest = text.partition("://")
    bare = not sep
    if bare:
        if default_scheme is None or text.startswith(("/", ".", "-", "~")):
            return None
        text = f"{default_scheme}://{text}"
    elif not head.isascii() or not head.isalpha():
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return None
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    raw_host = hostport.rsplit(":", 1)[0] if not hostport.endswith("]") and ":" in hostport else hostport
    host = norm_host(raw_host, no_scheme=bare, no_path=not parts.path.strip("/") and port is None)
    if host is None or port == 0:
        return None
    path = quote(parts.path, safe=_PATH_SAFE, errors="surrogateescape") or "/"
    if scheme in ("tftp", "ftp") and path in ("", "/"):
        return None  # a file transfer names a file
    query = f"?{quote(parts.query, safe=_PATH_SAFE + '?', errors='surrogateescape')}" if parts.query else ""
    auth = f"{quote(userinfo, safe='%:!$&()*+,;=-._~', errors='surrogateescape')}@" if userinfo else ""
    show_port = f":{port}" if port is not None and port != _DEFAULT_PORT.get(scheme) else ""
    url = f"{scheme}://{auth}{host}{show_port}{path}{query}"
    return url if len(url) <= MAX_URL else None
