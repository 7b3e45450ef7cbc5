# SPDX-License-Identifier: MIT
"""URLs and fetch commands in any attacker payload: the one extractor every trap shares.

A payload (an HTTP path or body, Redis arguments, a Docker ``Cmd``, an Elasticsearch script,
a shell line) is read as text, at most :data:`MAX_INPUT` bytes of it, and searched in layers:
the text with its shell/escape/lookup obfuscation undone
(:mod:`~honeyfarm.sensor.capture.deobfuscate`), then each encoded layer inside it (percent
encoding, base64, PowerShell ``-enc``) as a text of its own, up to :data:`MAX_DEPTH` layers
deep and :data:`MAX_TEXTS` texts. Targets are found by
:mod:`~honeyfarm.sensor.capture.fetchcmds`, spelled one way by
:mod:`~honeyfarm.sensor.capture.urlnorm`, deduplicated and kept in order of appearance
(an encoded layer's targets sit where the layer sat).

Nothing is executed, evaluated, resolved or fetched here; the work is linear in the input
and bounded by the constants below, so a hostile payload costs milliseconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from honeyfarm.sensor.capture.deobfuscate import deobfuscate, encoded_blobs, percent_decoded
from honeyfarm.sensor.capture.fetchcmds import find_targets

__all__ = ["MAX_INPUT", "FoundURL", "PayloadScan", "extract_urls", "scan_payload"]

MAX_INPUT = 1 << 20  # bytes of a payload read; the rest is ignored
MAX_DEPTH = 4  # encodings inside encodings
MAX_TEXTS = 64  # texts (the payload and its decoded layers) scanned per payload
MAX_TEXT_BYTES = 4 << 20  # characters scanned (and held) per payload, all layers together
MAX_CANDIDATES = 1024
_CUTS = frozenset(" \t\r\n;|&'\"<>")  # where a decoded URL ends when it was part of a command line


@dataclass(frozen=True)
class FoundURL:
    url: str  # normalised absolute URL: http, https, ftp, tftp (and, when not fetchable, ldap/rmi/tcp/...)
    how: str  # the form it was in: wget, curl, tftp, ftpget, powershell, certutil, bitsadmin, mshta,
    #           regsvr32, php, python, perl, url (a plain URL), jndi, nc, devtcp
    # Details that do not change which download it is, so ``FoundURL(url, how)`` still compares equal:
    via: str = field(default="", compare=False)  # encodings undone, outermost first: "urlencode+base64"
    fetchable: bool = field(default=True, compare=False)  # False: an indicator (LDAP, raw TCP), never fetched


@dataclass(frozen=True)
class PayloadScan:
    urls: list[FoundURL] = field(default_factory=list)  # what the downloader may fetch
    others: list[FoundURL] = field(default_factory=list)  # indicators that are not downloads


@dataclass
class _Text:
    text: str
    via: tuple[str, ...]
    prefix: tuple[float, ...]  # order key of where this layer sat in its parent
    scale: float  # positions in this text -> positions in the parent (a whole-text decoding shrinks it)
    parent_len: int = 0


@dataclass
class _Cand:
    key: tuple[float, ...]
    url: str
    how: str
    via: tuple[str, ...]
    fetchable: bool

    @property
    def rank(self) -> tuple[int, int]:
        """Lower is the better description: a named tool over a plain URL, fewer layers over more."""
        return (1 if self.how == "url" else 0, len(self.via))


def _as_text(payload: str | bytes | bytearray | memoryview) -> str:
    if isinstance(payload, str):
        text = payload[:MAX_INPUT]
        if not text.isascii():
            try:
                text.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a lone surrogate (json.loads accepts "\ud800") cannot go into a URL
                text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return text
    # Undecodable bytes survive as surrogates and are percent-encoded back to themselves in URLs.
    return bytes(payload[:MAX_INPUT]).decode("utf-8", "surrogateescape")


def _collect(text: str) -> list[_Cand]:
    work = deque([_Text(text, (), (), 1.0)])
    cands: list[_Cand] = []
    budget = MAX_TEXT_BYTES - len(text)
    scanned = 0
    while work and scanned < MAX_TEXTS and len(cands) < MAX_CANDIDATES:
        item = work.popleft()
        scanned += 1
        norm = deobfuscate(item.text)
        if item.parent_len:  # a whole-text decoding: map positions back proportionally
            item.scale *= item.parent_len / max(1, len(norm))

        def key(pos: int, item: _Text = item) -> tuple[float, ...]:
            return (*item.prefix, pos * item.scale)

        for t in find_targets(norm):
            cands.append(_Cand(key(t.pos), t.url, t.how, item.via, t.fetchable))
            if len(cands) >= MAX_CANDIDATES:
                break
        if len(item.via) >= MAX_DEPTH:
            continue
        decoded = percent_decoded(norm)
        if decoded is not None and len(decoded) <= budget:
            budget -= len(decoded)  # charged when queued, so queued layers are bounded in memory too
            work.append(_Text(decoded, (*item.via, "urlencode"), item.prefix, item.scale, len(norm)))
        for pos, blob, via in encoded_blobs(norm):
            if len(blob) <= budget:
                budget -= len(blob)
                work.append(_Text(blob, (*item.via, via), (*key(pos), 0.5), 1.0))
    return cands


def _drop_split_urls(best: dict[str, _Cand]) -> None:
    """Of two URLs where one is the other cut at an (encoded) space, keep the right one.

    ``wget%20http://x/a.sh%20-O-`` reads raw as the URL ``http://x/a.sh%20-O-`` and decoded
    as ``wget http://x/a.sh``: the command wins. ``http://x/a%20b.sh`` decoded is cut to
    ``http://x/a``: with no command around it, the whole URL wins.
    """
    by_decoded = {unquote_plus(u): u for u in best}
    drop: set[str] = set()
    for long_dec, long_url in by_decoded.items():
        for i, ch in enumerate(long_dec):  # each place the longer one could have been cut
            if ch not in _CUTS or long_dec[:i] not in by_decoded:
                continue
            short_url = by_decoded[long_dec[:i]]
            long, short = best[long_url], best[short_url]
            if long.how != "url" and len(long.via) <= len(short.via):
                drop.add(short_url)  # a command's own URL; the shorter one is a decoding's cut
            else:
                drop.add(long_url if short.how != "url" else short_url)
    for u in drop:
        best.pop(u, None)


def scan_payload(payload: str | bytes, *, max_urls: int = 16, max_other: int = 8) -> PayloadScan:
    """Download URLs and non-download indicators in ``payload``, each distinct, in order of appearance."""
    cands = _collect(_as_text(payload))
    cands.sort(key=lambda c: c.key)
    first: dict[str, _Cand] = {}
    best: dict[str, _Cand] = {}
    for c in cands:
        first.setdefault(c.url, c)
        if c.url not in best or c.rank < best[c.url].rank:
            best[c.url] = c
    if len(best) > 1:
        _drop_split_urls(best)
    urls: list[FoundURL] = []
    others: list[FoundURL] = []
    for url in first:  # dict order: first appearance
        if url not in best:
            continue
        c = best[url]
        out, cap = (urls, max_urls) if c.fetchable else (others, max_other)
        if len(out) < cap:
            out.append(FoundURL(url, c.how, "+".join(c.via), c.fetchable))
    return PayloadScan(urls, others)


def extract_urls(payload: str | bytes, *, max_urls: int = 16) -> list[FoundURL]:
    """Every distinct download URL in ``payload``, in order of appearance, at most ``max_urls``."""
    return scan_payload(payload, max_urls=max_urls, max_other=0).urls
