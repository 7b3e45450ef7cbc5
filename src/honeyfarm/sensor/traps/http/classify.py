# SPDX-License-Identifier: MIT
"""What a web request is trying: attack classes by pattern, known exploit routes by rule.

Classes (``extra.attack``): ``traversal`` (path traversal / local file inclusion), ``rfi``,
``sqli``, ``xss``, ``cmd_injection``, ``log4shell``, ``scanner`` (a scanner's user agent or
probe), ``crawler`` (a search engine's bot), plus the class of each matching rule (``exploit``,
``probe``, ``login``). Rules (``extra.rule``, ``extra.cve``) come from the bundled
``data/web_rules.toml`` and an optional user file merged over it (same ``id`` replaces), so a new
exploit route is one TOML table, not code.

Every pattern runs on text already capped in size (the trap reads at most
``max_body_bytes``; classification looks at the first 64 KiB of it) with Python's ``re``; the
patterns here bound every repetition that could backtrack (``[^>]{0,256}``, not ``[^>]*``), so a
hostile request cannot make matching slow (``tests/test_trap_http.py`` times the worst inputs).
A user's rules should do the same.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, unquote_plus

SCAN_BYTES = 64 * 1024
RULE_FIELDS = ("method", "path", "query", "body", "header", "any")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    cls: str
    cve: tuple[str, ...]
    patterns: dict[str, re.Pattern[str]]


@dataclass
class Verdict:
    attack: list[str] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)
    cve: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RequestText:
    """The parts of a request classification looks at, each as sent and once decoded."""

    method: str
    path: tuple[str, ...]
    query: tuple[str, ...]
    body: tuple[str, ...]
    headers: str  # "name: value" lines, names lower-cased
    user_agent: str

    @classmethod
    def of(cls, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes) -> RequestText:
        text = body[:SCAN_BYTES].decode("latin-1")
        ua = next((v for k, v in headers if k.lower() == "user-agent"), "")
        return cls(
            method=method,
            path=_forms(path, unquote),
            query=_forms(query, unquote_plus),
            body=_forms(text, unquote_plus),
            headers="\n".join(f"{k.lower()}: {v}" for k, v in headers[:200]),
            user_agent=ua,
        )

    def everything(self) -> str:
        return "\n".join((self.method, *self.path, *self.query, self.headers, *self.body))


def _forms(raw: str, decode: Callable[[str], str]) -> tuple[str, ...]:
    dec = decode(raw)
    return (raw,) if dec == raw else (raw, dec)


def load_rules(extra: Path | None = None) -> list[Rule]:
    """The bundled rules, with a user's rules file merged over them (same id replaces)."""
    bundled = resources.files("honeyfarm.sensor").joinpath("data/web_rules.toml").read_text(encoding="utf-8")
    tables = {t["id"]: t for t in tomllib.loads(bundled).get("rule", [])}
    if extra is not None:
        for t in tomllib.loads(extra.read_text(encoding="utf-8")).get("rule", []):
            tables[str(t["id"])] = t
    return [_rule(t) for t in tables.values()]


def _rule(t: dict[str, object]) -> Rule:
    pats: dict[str, re.Pattern[str]] = {}
    for f in RULE_FIELDS:
        if f in t:
            flags = re.IGNORECASE | (re.MULTILINE if f == "header" else 0)
            pats[f] = re.compile(str(t[f]), flags)
    if not pats:
        raise ValueError(f"web rule {t.get('id')!r} has no pattern")
    cve = t.get("cve", [])
    return Rule(
        id=str(t["id"]),
        name=str(t.get("name", t["id"])),
        cls=str(t.get("class", "exploit")),
        cve=tuple(str(c) for c in (cve if isinstance(cve, list) else [cve])),
        patterns=pats,
    )


def _rule_matches(rule: Rule, rt: RequestText, everything: str) -> bool:
    for f, pat in rule.patterns.items():
        if f == "method":
            ok = pat.fullmatch(rt.method) is not None
        elif f == "header":
            ok = pat.search(rt.headers) is not None
        elif f == "any":
            ok = pat.search(everything) is not None
        else:
            ok = any(pat.search(s) for s in getattr(rt, f))
        if not ok:
            return False
    return True


# --- attack classes -------------------------------------------------------------------------------

_CLASSES: dict[str, re.Pattern[str]] = {
    "traversal": re.compile(
        r"\.\.[/\\]|[/\\]\.\.(?:$|[?;])|%2e%2e|\.%2e|%2e\.|%c0%ae|/etc/(?:passwd|shadow|hosts)\b|/proc/self/"
        r"|(?:boot|win)\.ini|php://(?:filter|input)|file:///|\bwindows[/\\]system32",
        re.I,
    ),
    "rfi": re.compile(r"=\s*(?:https?|ftps?|data|expect|phar)(?::|%3a)(?://|%2f%2f)?[^&\s]*\??", re.I),
    "sqli": re.compile(
        r"\bunion\b(?:\s|\+|/\*[^*]{0,64}\*/|%20|%0a){1,16}(?:all(?:\s|\+|%20)+)?select\b|\bselect\b.{0,80}\bfrom\b"
        r"|\b(?:and|or)\b(?:\s|\+|%20)+['\"(]?\d+['\")]?(?:\s|\+|%20)*=(?:\s|\+|%20)*['\"(]?\d+"
        r"|'(?:\s|\+)*(?:or|and)(?:\s|\+)+'?\w*'?\s*=|\b(?:sleep|pg_sleep|benchmark)\s*\(|waitfor(?:\s|\+)+delay"
        r"|information_schema|\b(?:extractvalue|updatexml)\s*\(|@@version|\border(?:\s|\+)+by(?:\s|\+)+\d+"
        r"|dbms_pipe\.|\bchr\(\d+\)\|\||\bconcat\s*\(\s*0x|'\s*(?:--|#|/\*)|\bcast\s*\(.{0,40}\bas\b|\bcase(?:\s|\+)+when\b|\bxp_cmdshell\b",
        re.I,
    ),
    "xss": re.compile(
        r"<\s*script|javascript:|\bon(?:error|load|mouseover|focus|click)\s*=|<\s*(?:svg|iframe|img|body)\b[^>]{0,256}="
        r"|\balert\s*\(|document\.(?:cookie|domain)|<\s*/?\s*script",
        re.I,
    ),
    "cmd_injection": re.compile(
        r"(?:[;|`&\n]|\$\(|\|\||&&)\s*(?:/bin/|/usr/bin/)?(?:wget|curl|tftp|ftpget|busybox|sh|bash|nc|ncat|"
        r"chmod|cd|rm|echo|cat|id|uname|whoami|ping|powershell|python3?|perl|telnet|expr|mkdir)\b"
        r"|\$\{IFS\}|\$IFS\b|`[^`]{1,200}`|\$\([^)]{1,200}\)",
        re.I,
    ),
}

# `${lower:j}`, `${::-j}`, `${env:X:-j}`: Log4j lookups attackers nest to hide `jndi`.
_LOOKUP = re.compile(r"\$\{(?:(?:lower|upper):([^${}]*)|[^${}]*:-([^${}]*))\}", re.I)
_JNDI = re.compile(r"\$\{jndi:", re.I)

SCANNERS = (
    "nikto", "zgrab", "masscan", "nmap", "sqlmap", "nuclei", "gobuster", "dirbuster", "dirb", "wpscan",
    "ffuf", "feroxbuster", "wfuzz", "acunetix", "nessus", "openvas", "qualys", "censys", "shodan",
    "internet-measurement", "expanse", "l9explore", "l9tcpid", "leakix", "zmap", "netsystemsresearch",
    "onyphe", "binaryedge", "httpx", "whatweb", "jaeles", "paloaltonetworks", "stretchoid", "odin",
    "fuzz faster", "keydrop", "hello, world", "custom-asynchttpclient", "modatscanner", "cypex",
)  # fmt: skip
CRAWLERS = (
    "googlebot", "bingbot", "yandexbot", "baiduspider", "duckduckbot", "applebot", "ahrefsbot", "semrushbot",
    "mj12bot", "dotbot", "petalbot", "bytespider", "gptbot", "claudebot", "ccbot", "facebookexternalhit",
    "amazonbot", "dataforseobot", "blexbot", "seznambot", "crawler", "spider",
)  # fmt: skip
# Paths only scanners ask for: nmap's service probes, Nessus' and nikto's markers.
_SCANNER_PATHS = re.compile(
    r"nice%20ports|/nmaplowercheck|/evox/about|/sdk$|/nessus|/nikto|/<script>|/\.svn/|/cgi-bin/test-cgi",
    re.I,
)


def deobfuscate_lookups(text: str, rounds: int = 6) -> str:
    for _ in range(rounds):
        new = _LOOKUP.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
        if new == text:
            break
        text = new
    return text


# The field a rule is first tried on, most selective first: one combined pattern per field tells
# at once whether any rule keyed on it can match, so a plain `GET /` does not run 55 rules.
_KEY_FIELDS = ("path", "query", "body", "header", "any")


def _prefilter(rules: list[Rule], field: str) -> re.Pattern[str] | None:
    """Any of the rules' ``field`` patterns, as one regex (None: they do not combine; try each)."""
    flags = re.IGNORECASE | (re.MULTILINE if field == "header" else 0)
    try:
        return re.compile("|".join(f"(?:{r.patterns[field].pattern})" for r in rules), flags)
    except re.error:  # e.g. a user's rule with a global inline flag or a numbered back-reference
        return None


class Classifier:
    """Classes and rules of one request (one instance per trap: the rules are compiled once)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._order = {r.id: i for i, r in enumerate(rules)}
        groups: dict[str, list[Rule]] = {}
        self._unkeyed: list[Rule] = []  # method-only rules
        for rule in rules:
            key = next((f for f in _KEY_FIELDS if f in rule.patterns), None)
            if key is None:
                self._unkeyed.append(rule)
            else:
                groups.setdefault(key, []).append(rule)
        self._groups = [(f, _prefilter(rs, f), rs) for f, rs in groups.items()]

    def _candidates(self, rt: RequestText, everything: str) -> list[Rule]:
        out = list(self._unkeyed)
        for key, pat, rules in self._groups:
            if pat is not None:
                if key == "header":
                    hit = pat.search(rt.headers) is not None
                elif key == "any":
                    hit = pat.search(everything) is not None
                else:
                    hit = any(pat.search(s) for s in getattr(rt, key))
                if not hit:
                    continue
            out.extend(rules)
        return out

    def classify(self, rt: RequestText) -> Verdict:
        v = Verdict()
        everything = rt.everything()
        # NUL between the parts: a part's start is not a command separator (the query "id=1" is not `id`).
        target = "\0".join((*rt.path, *rt.query, *rt.body))
        for name, pat in _CLASSES.items():
            hay = target if name != "cmd_injection" else target + "\0" + rt.headers.replace("\n", "\0")
            if pat.search(hay):
                v.attack.append(name)
        if ("${" in everything or "%24%7b" in everything.lower()) and (
            _JNDI.search(deobfuscate_lookups(everything)) or _JNDI.search(deobfuscate_lookups(unquote(everything)))
        ):
            v.attack.append("log4shell")
        ua = rt.user_agent.lower()
        if any(s in ua for s in SCANNERS) or any(_SCANNER_PATHS.search(p) for p in rt.path):
            v.attack.append("scanner")
        elif any(s in ua for s in CRAWLERS):
            v.attack.append("crawler")
        for rule in sorted(self._candidates(rt, everything), key=lambda r: self._order[r.id]):  # rules' order
            if _rule_matches(rule, rt, everything):
                v.rule.append(rule.id)
                v.cve.extend(c for c in rule.cve if c not in v.cve)
                if rule.cls not in v.attack:
                    v.attack.append(rule.cls)
        return v
