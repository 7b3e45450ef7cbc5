# SPDX-License-Identifier: MIT
"""Persona ``router``: a home router's web admin behind lighttpd, asking for a password.

The page is a generic "Router Login" form posting to ``/login`` (also accepted: the
``/cgi-bin/luci``, ``/boaform/admin/formLogin`` and ``/goform/login`` routes bots try with default
credentials). Every POSTed username/password is logged (the ``username``/``password`` columns)
and refused with the form again. Headers and error pages are lighttpd 1.4's.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl

from honeyfarm.sensor.traps.http.apache import http_date
from honeyfarm.sensor.traps.http.model import Reply, Req

SERVER = "lighttpd/1.4.59"
LOGIN_PATHS = (
    "/login",
    "/login.cgi",
    "/cgi-bin/luci",
    "/boaform/admin/formLogin",
    "/goform/login",
    "/userRpm/LoginRpm.htm",
)
PAGE_PATHS = ("/", "/index.html", "/login.html", "/login.htm")
USER_FIELDS = ("username", "user", "login", "usr", "name", "admin_name", "luci_username", "userName")
PASS_FIELDS = ("password", "pass", "pwd", "psw", "passwd", "admin_pwd", "luci_password", "pws")
_STATUS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
           411: "Length Required", 413: "Payload Too Large", 414: "URI Too Long", 501: "Not Implemented"}  # fmt: skip

_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Router Login</title>
<style>
body{{font-family:Arial,Helvetica,sans-serif;background:#eef1f5;margin:0}}
.box{{width:320px;margin:120px auto;background:#fff;border:1px solid #cfd6df;border-radius:4px;padding:24px 28px}}
h1{{font-size:20px;color:#1d3f72;margin:0 0 18px}}
label{{display:block;font-size:13px;color:#444;margin:10px 0 4px}}
input[type=text],input[type=password]{{width:100%;box-sizing:border-box;padding:7px;border:1px solid #b9c2cc}}
input[type=submit]{{margin-top:18px;width:100%;padding:8px;background:#1d3f72;color:#fff;border:0;cursor:pointer}}
.err{{color:#c0392b;font-size:13px;margin-top:12px}}
.foot{{font-size:11px;color:#888;margin-top:18px;text-align:center}}
</style>
</head>
<body>
<div class="box">
<h1>Router Login</h1>
<form method="post" action="/login">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{user}" autocomplete="off">
<label for="password">Password</label>
<input type="password" id="password" name="password">
<input type="submit" value="Login">
</form>
{error}<div class="foot">Firmware Version: V1.0.8 Build 20210615</div>
</div>
</body>
</html>
"""


def _error_page(status: int) -> bytes:
    text = f"{status} {_STATUS.get(status, 'Error')}"
    return (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
        '         "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
        " <head>\n"
        f"  <title>{text}</title>\n"
        " </head>\n"
        " <body>\n"
        f"  <h1>{text}</h1>\n"
        " </body>\n"
        "</html>\n"
    ).encode()


def credentials(req: Req) -> tuple[str | None, str | None]:
    """The username and password of a login form (urlencoded body, or the query string)."""
    text = req.body[:65536].decode("utf-8", "replace")
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=100) if "=" in text else []
    pairs += parse_qsl(req.query, keep_blank_values=True, max_num_fields=100)
    fields = {k.lower(): v for k, v in pairs}
    user = next((fields[f.lower()] for f in USER_FIELDS if f.lower() in fields), None)
    pw = next((fields[f.lower()] for f in PASS_FIELDS if f.lower() in fields), None)
    return user, pw


class RouterPersona:
    def __init__(self, server: str) -> None:
        self.server = server or SERVER

    def _reply(self, req: Req | None, status: int, body: bytes, ctype: str, now: float, close: bool = False) -> Reply:
        if req is not None and not close:
            tokens = req.tokens("Connection")
            close = "close" in tokens or (req.version < (1, 1) and "keep-alive" not in tokens) or req.nth >= 100
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        if close or (req is not None and req.version < (1, 1)):
            headers.append(("Connection", "close" if close else "keep-alive"))
        headers += [("Date", http_date(now)), ("Server", self.server)]
        send = req is None or req.method != "HEAD"
        return Reply(status, headers, body, close=close, reason=_STATUS.get(status), send_body=send)

    def page(self, req: Req, now: float, user: str = "", error: str = "") -> Reply:
        err = f'<div class="err">{html.escape(error)}</div>\n' if error else ""
        body = _PAGE.format(user=html.escape(user), error=err).encode()
        return self._reply(req, 200, body, "text/html; charset=utf-8", now)

    def bad_request(self, kind: str, local_port: int, now: float) -> Reply:
        status = {"uri_too_long": 414, "body_too_large": 413, "timeout": 408}.get(kind, 400)
        return self._reply(None, status, _error_page(status), "text/html", now, close=True)

    def respond(self, req: Req, outputs: list[str], now: float) -> Reply:
        if req.body_too_large:
            return self._reply(req, 413, _error_page(413), "text/html", now, close=True)
        if req.method not in ("GET", "POST", "HEAD", "OPTIONS"):
            return self._reply(req, 501, _error_page(501), "text/html", now, close=True)
        path = req.path.split(";")[0]
        if outputs:
            body = ("\n".join(outputs) + "\n").encode("utf-8", "replace")
            return self._reply(req, 200, body, "text/html", now)
        if (req.method == "POST" and path in LOGIN_PATHS) or path in LOGIN_PATHS[1:]:
            user, pw = credentials(req)
            reply = self.page(req, now, user or "", "Invalid username or password." if req.method == "POST" else "")
            if user is not None or pw is not None:
                reply.extra = {"username": user, "password": pw}
            return reply
        if path in PAGE_PATHS or path in LOGIN_PATHS:
            return self.page(req, now)
        return self._reply(req, 404, _error_page(404), "text/html", now)
