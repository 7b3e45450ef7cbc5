# SPDX-License-Identifier: MIT
"""Plausible output for exploits that check their command ran before sending the payload.

Bots test a route with a harmless command whose output they know — ``echo <canary>``,
``expr 123 + 456``, PHP's ``echo md5("x")``, ``/bin/busybox NAME`` — and move on to
``cd /tmp; wget http://…/x.sh`` only if the answer holds it. This module computes that output
from the request text, never by running anything: a small fixed set of forms, recognised by
pattern, with bounded counts and sizes.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote_plus

MAX_OUTPUTS = 8
MAX_TEXT = 64 * 1024

_SEP = r"(?:^|[;|&`\n]|\$\(|\$\{IFS\}|&&|\|\||<\?php|\b(?:cmd|command|exec|c|ip|host)=)\s*"
_ECHO = re.compile(
    _SEP + r"echo(?:\s|\$\{IFS\})+(?:-[ne]+\s+)?(['\"]?)([A-Za-z0-9_.:@/+=-]{1,128})\1(?=$|[\s;|&`)'\"])"
)
_EXPR = re.compile(r"\bexpr(?:\s|\$\{IFS\})+(-?\d{1,12})(?:\s|\$\{IFS\})+(\\?[-+*/%])(?:\s|\$\{IFS\})+(-?\d{1,12})")
_PHP_MD5 = re.compile(r"\b(?:echo|print|die|exit|var_dump|print_r)\s*\(?\s*md5\s*\(\s*(['\"])(.{0,256}?)\1\s*\)")
_PHP_ECHO = re.compile(r"<\?php\s+(?:echo|print)\s*\(?\s*(['\"])([^'\"]{1,256})\1")
_BUSYBOX = re.compile(r"(?:/bin/)?busybox(?:\s|\$\{IFS\})+([A-Z][A-Z0-9]{2,15})\b")
_SIMPLE = {
    "id": "uid=33(www-data) gid=33(www-data) groups=33(www-data)",
    "whoami": "www-data",
    "pwd": "/var/www/html",
    "uname": "Linux",
    "uname -a": "Linux debian 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64 GNU/Linux",
}
_CMD = re.compile(r"(?:[;|`\n]|\$\(|&&|\|\||\bcmd=)\s*(id|whoami|pwd|uname(?: -a)?)\s*(?=$|[;|&`)])")


def _expr(a: int, op: str, b: int) -> str | None:
    op = op.lstrip("\\")
    if op == "+":
        return str(a + b)
    if op == "-":
        return str(a - b)
    if op == "*":
        return str(a * b)
    if b == 0:
        return None
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # expr truncates toward zero
    return str(q) if op == "/" else str(a - q * b)


def outputs(*payloads: str) -> list[str]:
    """The output lines a shell or PHP would print for the recognised commands, in order."""
    out: list[str] = []
    for raw in payloads:
        for text in dict.fromkeys((raw[:MAX_TEXT], unquote_plus(raw[:MAX_TEXT]))):
            found: list[tuple[int, str]] = []
            found += [(m.start(), m.group(2)) for m in _ECHO.finditer(text)]
            for m in _EXPR.finditer(text):
                r = _expr(int(m.group(1)), m.group(2), int(m.group(3)))
                if r is not None:
                    found.append((m.start(), r))
            found += [(m.start(), hashlib.md5(m.group(2).encode()).hexdigest()) for m in _PHP_MD5.finditer(text)]
            found += [(m.start(), m.group(2)) for m in _PHP_ECHO.finditer(text)]
            found += [(m.start(), f"{m.group(1)}: applet not found") for m in _BUSYBOX.finditer(text)]
            found += [(m.start(), _SIMPLE[m.group(1)]) for m in _CMD.finditer(text)]
            for _, line in sorted(found):
                if line not in out:
                    out.append(line)
            if found:
                break  # the decoded form adds nothing the raw one had
    return out[:MAX_OUTPUTS]
