# SPDX-License-Identifier: MIT
"""What an Asterisk 20 PBX (chan_pjsip, the SIP stack of Debian's and FreePBX's builds) answers.

The persona's facts come from pjsip's and Asterisk's behaviour:

* pjsip copies every ``Via`` (the top one gets ``received=`` always and ``rport=`` when the client
  asked for it, printed ``;rport=..;received=..;branch=..``), then ``Call-ID``, ``From``, ``To``
  and ``CSeq``; a ``To`` without a tag gets the Via branch as its tag, as
  ``pjsip_endpt_create_response`` does; ``Content-Length`` is printed with two spaces;
* an OPTIONS is answered 200 with res_pjsip's ``Accept`` (duplicates included), ``Allow`` and
  ``Supported``; every other request from an address that is no known endpoint is challenged by
  the "artificial" endpoint with ``401 Unauthorized`` (realm ``asterisk``, a ``<time>/<md5>``
  nonce, an opaque, ``algorithm=md5``, ``qop="auth"``) and a wrong digest is challenged again,
  the same answer for any extension: svwar finds nothing to enumerate;
* CANCEL/BYE outside a transaction get 481, ACK nothing, unknown methods 501 with ``Allow``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate

from honeyfarm.sensor.traps.sip.message import Request, has_tag

ALLOW = "OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, INFO, MESSAGE, REFER"
ACCEPT = (
    "application/dialog-info+xml, application/xpidf+xml, application/cpim-pidf+xml, "
    "application/simple-message-summary, application/pidf+xml, application/pidf+xml, "
    "application/dialog-info+xml, application/simple-message-summary, application/sdp, "
    "message/sipfrag;version=2.0"
)
SUPPORTED = "100rel, timer, replaces, norefersub, histinfo"
MAX_EXPIRES = 3600  # Asterisk's default_expiration; a longer requested Expires is cut to it
KNOWN_METHODS = frozenset(m.strip() for m in ALLOW.split(","))

# Scanner user agents (case-insensitive substrings) -> the tool's name.
SCANNERS = (
    ("friendly-scanner", "sipvicious"),
    ("sipvicious", "sipvicious"),
    ("sipcli", "sipcli"),
    ("vaxsipuseragent", "vaxsip"),
    ("pplsip", "sippts"),
    ("sippts", "sippts"),
    ("sundayddr", "sundayddr"),
    ("sipsak", "sipsak"),
    ("sip-scan", "sip-scan"),
    ("sipscan", "sip-scan"),
    ("iwar", "iwar"),
    ("smap", "smap"),
    ("nmap", "nmap"),
    ("sivus", "sivus"),
    ("voiper", "voiper"),
    ("sip-vicious", "sipvicious"),
    ("siparmyknife", "siparmyknife"),
    ("gulp", "gulp"),
)


def scanner(user_agent: str) -> str | None:
    ua = user_agent.lower()
    for needle, name in SCANNERS:
        if needle in ua:
            return name
    return None


def nonce() -> str:
    # res_pjsip_authenticator_digest's shape: "<unix time>/<md5 hex>".
    return f"{int(time.time())}/{secrets.token_hex(16)}"


def challenge(realm: str) -> tuple[str, str]:
    """(nonce, WWW-Authenticate value) of a fresh challenge."""
    n = nonce()
    return n, f'Digest realm="{realm}",nonce="{n}",opaque="{secrets.token_hex(8)}",algorithm=md5,qop="auth"'


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8", errors="replace"), usedforsecurity=False).hexdigest()


def digest_response(auth: dict[str, str], method: str, password: str) -> str:
    """What a client knowing ``password`` sends as ``response`` (RFC 2617 section 3.2.2.1)."""
    ha1 = _md5(f"{auth.get('username', '')}:{auth.get('realm', '')}:{password}")
    if auth.get("algorithm", "md5").lower() == "md5-sess":
        ha1 = _md5(f"{ha1}:{auth.get('nonce', '')}:{auth.get('cnonce', '')}")
    ha2 = _md5(f"{method}:{auth.get('uri', '')}")
    qop = auth.get("qop", "")
    if qop.lower() in ("auth", "auth-int"):
        return _md5(f"{ha1}:{auth.get('nonce', '')}:{auth.get('nc', '')}:{auth.get('cnonce', '')}:{qop}:{ha2}")
    return _md5(f"{ha1}:{auth.get('nonce', '')}:{ha2}")


def guess_password(auth: dict[str, str], method: str, candidates: list[str]) -> str | None:
    """The candidate the digest was computed with, if any (``{user}`` stands for the user name)."""
    got = auth.get("response", "").lower()
    if len(got) != 32:
        return None
    user = auth.get("username", "")
    for cand in candidates:
        pw = cand.replace("{user}", user)
        if digest_response(auth, method, pw) == got:
            return pw
    return None


def hashcat(auth: dict[str, str], method: str, server: str, client: str) -> str | None:
    """The digest as hashcat mode 11400 (``$sip$*server*client*user*realm*method*prefix*resource*suffix*
    nonce*cnonce*nc*qop*MD5*response``), or None when hashcat could not take it (MD5 only, its lengths)."""
    if auth.get("algorithm", "md5").lower() != "md5" or auth.get("qop", "").lower() not in ("", "auth"):
        return None  # hashcat's auth-int line would leave out the body's hash
    user, realm, uri, n = auth.get("username", ""), auth.get("realm", ""), auth.get("uri", ""), auth.get("nonce", "")
    resp = auth.get("response", "").lower()
    qop = auth.get("qop", "")
    cnonce, nc = (auth.get("cnonce", ""), auth.get("nc", "")) if qop else ("", "")
    prefix, sep, resource = uri.partition(":")
    if not sep:
        prefix, resource = "", uri
    fields = [server, client, user, realm, method, prefix, resource, "", n, cnonce, nc, qop]
    if any("*" in f for f in fields) or len(resp) != 32 or any(c not in "0123456789abcdef" for c in resp):
        return None
    limits = [512, 512, 116, 116, 246, 245, 246, 245, 1024, 1024, 1024, 1024]
    if any(len(f) > lim for f, lim in zip(fields, limits, strict=True)) or not resource or not n:
        return None
    if len(user) + len(realm) + 2 > 119:
        return None
    return "$sip$*" + "*".join(fields) + "*MD5*" + resp


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # after CSeq, before Server
    optional: tuple[str, ...] = ()  # header names dropped when the udp answer must be smaller


def via_with_source(via: str, src_ip: str, src_port: int) -> str:
    """The top Via as pjsip returns it: ``received`` = the packet's source, ``rport`` filled if asked
    (pjsip prints them first, then the other parameters as sent)."""
    proto, _, rest = via.partition(" ")
    parts = rest.strip().split(";")
    out = [f"{proto} {parts[0].strip()}"]
    params = [p.strip() for p in parts[1:] if p.strip()]
    names = [p.partition("=")[0].strip().lower() for p in params]
    if "rport" in names:
        out.append(f"rport={src_port}")
    out.append(f"received={src_ip}")
    out += [p for p, n in zip(params, names, strict=True) if n not in ("rport", "received")]
    return ";".join(out)


def branch(via: str) -> str:
    for p in via.split(";")[1:]:
        k, _, v = p.partition("=")
        if k.strip().lower() == "branch":
            return v.strip()
    return ""


def build(req: Request, ans: Answer, src: tuple[str, int], server_header: str, *, compact: bool = False) -> bytes:
    """The response bytes: Via (top one with the source filled), Call-ID, From, To (+tag), CSeq, then
    the answer's headers, Server and Content-Length as pjsip prints them."""
    vias = req.all("via")
    lines = [f"SIP/2.0 {ans.status} {ans.reason}"]
    for i, via in enumerate(vias):
        lines.append("Via: " + (via_with_source(via, *src) if i == 0 else via))
    lines.append("Call-ID: " + req.get("call-id"))
    lines.append("From: " + req.get("from"))
    to = req.get("to")
    if ans.status > 100 and not has_tag(to):
        to += ";tag=" + (branch(vias[0]) or secrets.token_hex(8))
    lines.append("To: " + to)
    lines.append("CSeq: " + req.get("cseq"))
    for name, value in ans.headers:
        if compact and name in ans.optional:
            continue
        lines.append(f"{name}: {value}")
    lines.append("Server: " + server_header)
    lines.append("Content-Length:  0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", errors="replace")


def options_ok() -> Answer:
    return Answer(
        200,
        "OK",
        [
            ("Accept", ACCEPT),
            ("Allow", ALLOW),
            ("Supported", SUPPORTED),
            ("Accept-Encoding", "text/plain"),
            ("Accept-Language", "en"),
        ],
        optional=("Accept", "Supported", "Accept-Encoding", "Accept-Language"),
    )


def unauthorized(www_authenticate: str) -> Answer:
    return Answer(401, "Unauthorized", [("WWW-Authenticate", www_authenticate)])


def register_ok(req: Request) -> Answer:
    asked = req.get("expires")
    expires = min(int(asked), MAX_EXPIRES) if asked.isdigit() and len(asked) < 10 else MAX_EXPIRES
    contact = req.get("contact") or req.get("to")
    headers = [("Date", formatdate(usegmt=True))]
    if contact and contact != "*":
        headers.append(("Contact", f"{contact.split(';expires', 1)[0]};expires={expires}"))
    headers.append(("Expires", str(expires)))
    return Answer(200, "OK", headers, optional=("Date",))


def simple(status: int, reason: str, allow: bool = False) -> Answer:
    return Answer(status, reason, [("Allow", ALLOW)] if allow else [], optional=("Allow",))
